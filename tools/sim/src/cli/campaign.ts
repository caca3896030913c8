/**
 * `pnpm sim:campaign --seeds K [--from S] [--faults profile] [--ticks T] [--jobs J] [--out file] [--log file]`:
 * runs K seeds (S, S+1, ...) in J child processes (default 1: in this process, one after
 * another) and summarizes: seeds run and passed, faults injected, operations checked, the
 * failing seeds with the command that replays each. Exits 1 when any seed failed. `--log` appends
 * each seed's summary as a JSON line as soon as it is done (long campaigns keep their progress);
 * `pnpm sim:campaign --summarize a.jsonl [b.jsonl ...]` summarizes such logs.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DerError, isDerError } from '@x/common'
import { type FaultProfile, type Mutation } from '../sim/config.ts'
import { type RunSummary, summarizeRun } from '../sim/report.ts'
import { runSimulation } from '../sim/run.ts'
import { intFlag, mutationFlag, parseFlags, profileFlag } from './args.ts'

const usage = 'usage: pnpm sim:campaign --seeds K [--from S] [--faults profile] [--ticks T] [--jobs J] [--out file.json] [--log file.jsonl] | --summarize file.jsonl...'

interface CampaignOptions {
  readonly seeds: number
  readonly from: number
  readonly faults: FaultProfile | undefined
  readonly ticks: number | undefined
  readonly mutation: Mutation | undefined
  readonly jobs: number
  readonly out: string | undefined
  readonly log: string | undefined
  readonly worker: readonly [number, number] | undefined
}

function parse(argv: readonly string[]): CampaignOptions {
  const flags = parseFlags(argv, { seeds: 'value', from: 'value', faults: 'value', ticks: 'value', mutation: 'value', jobs: 'value', out: 'value', log: 'value', worker: 'value' })
  const seeds = intFlag(flags, 'seeds', 1, 10_000_000)
  if (seeds === undefined) throw new DerError('DER_INVAL', '--seeds is required')
  const worker = flags.get('worker')
  let slice: [number, number] | undefined
  if (worker !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(worker)
    if (m === null || Number(m[1]) >= Number(m[2])) throw new DerError('DER_INVAL', `--worker must be i/n with i < n, got ${worker}`)
    slice = [Number(m[1]), Number(m[2])]
  }
  return {
    seeds,
    from: intFlag(flags, 'from', 0, Number.MAX_SAFE_INTEGER) ?? 1,
    faults: profileFlag(flags),
    ticks: intFlag(flags, 'ticks', 10, 1_000_000),
    mutation: mutationFlag(flags),
    jobs: intFlag(flags, 'jobs', 1, 64) ?? 1,
    out: flags.get('out'),
    log: flags.get('log'),
    worker: slice,
  }
}

async function runSeed(o: CampaignOptions, seed: number): Promise<RunSummary> {
  try {
    const result = await runSimulation({ seed, ...(o.faults === undefined ? {} : { faults: o.faults }), ...(o.ticks === undefined ? {} : { ticks: o.ticks }), ...(o.mutation === undefined ? {} : { mutation: o.mutation }) })
    return summarizeRun(result)
  } catch (error) {
    const replay = `pnpm sim --seed ${seed}${o.faults === undefined ? '' : ` --faults ${o.faults}`}${o.ticks === undefined ? '' : ` --ticks ${o.ticks}`}`
    return { seed, ok: false, failing: ['harness'], inconclusive: [], operations: 0, faults: 0, crashes: 0, partitions: 0, replay, firstFinding: `the run threw: ${String(error)}` }
  }
}

function seedsOf(o: CampaignOptions, slice: readonly [number, number] | undefined): number[] {
  const all = Array.from({ length: o.seeds }, (_, i) => o.from + i)
  return slice === undefined ? all : all.filter((_, i) => i % slice[1] === slice[0])
}

async function inChildren(o: CampaignOptions, argv: readonly string[], onRun: (r: RunSummary) => void): Promise<void> {
  const script = fileURLToPath(import.meta.url)
  const own = ['--jobs', '--out', '--log']
  const base = argv.filter((a, i) => !own.some((f) => a.startsWith(f)) && !own.includes(argv[i - 1] ?? ''))
  await Promise.all(
    Array.from({ length: o.jobs }, (_, j) => {
      const child = spawn(process.execPath, [...process.execArgv, script, ...base, '--worker', `${j}/${o.jobs}`], { stdio: ['ignore', 'pipe', 'inherit'] })
      const lines = createInterface({ input: child.stdout })
      lines.on('line', (line) => {
        if (line.startsWith('{')) onRun(JSON.parse(line) as RunSummary)
      })
      return new Promise<void>((resolve) => child.on('close', () => resolve()))
    }),
  )
}

function summarize(runs: RunSummary[], from: number, faults: string, out: string | undefined): number {
  runs.sort((a, b) => a.seed - b.seed)
  const failing = runs.filter((r) => !r.ok)
  const byChecker = new Map<string, number>()
  for (const r of failing) for (const c of r.failing) byChecker.set(c, (byChecker.get(c) ?? 0) + 1)
  const summary = {
    seeds: runs.length,
    from,
    faults,
    passed: runs.length - failing.length,
    failed: failing.length,
    failuresByChecker: Object.fromEntries(byChecker),
    inconclusive: runs.filter((r) => r.inconclusive.length > 0).length,
    operationsChecked: runs.reduce((n, r) => n + r.operations, 0),
    faultsInjected: runs.reduce((n, r) => n + r.faults, 0),
    crashes: runs.reduce((n, r) => n + r.crashes, 0),
    partitions: runs.reduce((n, r) => n + r.partitions, 0),
    failingSeeds: failing.map((r) => ({ seed: r.seed, checkers: r.failing, replay: r.replay, finding: r.firstFinding })),
  }
  console.log(
    `campaign: ${summary.seeds} seeds from ${summary.from} (faults ${summary.faults}): ${summary.passed} passed, ${summary.failed} failed ${JSON.stringify(summary.failuresByChecker)}; ` +
      `${summary.operationsChecked} operations checked, ${summary.faultsInjected} faults injected (${summary.crashes} crashes, ${summary.partitions} partitions), ${summary.inconclusive} inconclusive`,
  )
  if (out !== undefined) writeFileSync(out, `${JSON.stringify({ ...summary, runs }, null, 1)}\n`)
  return failing.length === 0 ? 0 : 1
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === '--summarize') {
    const runs = argv.slice(1).flatMap((file) => readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RunSummary))
    return summarize(runs, Math.min(...runs.map((r) => r.seed)), 'mixed', undefined)
  }
  let o: CampaignOptions
  try {
    o = parse(argv)
  } catch (error) {
    console.error(`sim:campaign: ${isDerError(error) ? `${error.name}: ${error.message}` : String(error)}\n${usage}`)
    return 2
  }
  if (o.worker !== undefined) {
    for (const seed of seedsOf(o, o.worker)) console.log(JSON.stringify(await runSeed(o, seed)))
    return 0
  }
  const runs: RunSummary[] = []
  const onRun = (r: RunSummary): void => {
    runs.push(r)
    if (o.log !== undefined) appendFileSync(o.log, `${JSON.stringify(r)}\n`)
    if (!r.ok) console.log(`FAIL seed ${r.seed} [${r.failing.join(', ')}]: ${r.firstFinding.slice(0, 200)}\n  replay: ${r.replay}`)
    if (runs.length % 100 === 0) console.log(`... ${runs.length}/${o.seeds} seeds, ${runs.filter((x) => !x.ok).length} failing`)
  }
  if (o.jobs > 1) await inChildren(o, argv, onRun)
  else for (const seed of seedsOf(o, undefined)) onRun(await runSeed(o, seed))
  return summarize(runs, o.from, o.faults ?? 'all', o.out)
}

process.exitCode = await main(process.argv.slice(2))
