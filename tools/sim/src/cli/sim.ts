/**
 * `pnpm sim --seed S [--ticks T] [--engines N] [--faults profile] [--mutation m] [--json]`:
 * runs one simulation and prints the seed, the fault schedule summary and the checkers' verdicts;
 * a failing run prints the command that replays it and exits 1. Bad arguments exit 2.
 *
 * @module
 */
import { DerError, isDerError } from '@x/common'
import { formatRun, summarizeRun } from '../sim/report.ts'
import { runSimulation } from '../sim/run.ts'
import { intFlag, mutationFlag, parseFlags, profileFlag } from './args.ts'

const usage = 'usage: pnpm sim --seed S [--ticks T] [--engines N] [--faults none|net|disk|crash|all] [--mutation ack-before-replicated] [--json]'

async function main(argv: readonly string[]): Promise<number> {
  let flags: Map<string, string>
  let options
  try {
    flags = parseFlags(argv, { seed: 'value', ticks: 'value', engines: 'value', faults: 'value', mutation: 'value', json: 'flag', help: 'flag' })
    if (flags.has('help')) {
      console.log(usage)
      return 0
    }
    const seed = intFlag(flags, 'seed', 0, Number.MAX_SAFE_INTEGER)
    if (seed === undefined) throw new DerError('DER_INVAL', '--seed is required')
    const ticks = intFlag(flags, 'ticks', 10, 1_000_000)
    const engines = intFlag(flags, 'engines', 3, 16)
    const faults = profileFlag(flags)
    const mutation = mutationFlag(flags)
    options = { seed, ...(ticks === undefined ? {} : { ticks }), ...(engines === undefined ? {} : { engines }), ...(faults === undefined ? {} : { faults }), ...(mutation === undefined ? {} : { mutation }) }
  } catch (error) {
    console.error(`sim: ${isDerError(error) ? `${error.name}: ${error.message}` : String(error)}\n${usage}`)
    return 2
  }
  const result = await runSimulation(options)
  if (flags.has('json')) console.log(JSON.stringify(summarizeRun(result)))
  else console.log(formatRun(result))
  return result.ok ? 0 : 1
}

process.exitCode = await main(process.argv.slice(2))
