/**
 * Command-line parsing shared by `pnpm sim` and `pnpm sim:campaign`: every value is validated and
 * a bad one is a `DER_INVAL` naming the flag.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type FaultProfile, type Mutation, faultProfiles } from '../sim/config.ts'

/** Parses `--name value` pairs and bare `--flag`s; refuses anything not in `known`. */
export function parseFlags(argv: readonly string[], known: Readonly<Record<string, 'value' | 'flag'>>): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') continue
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (m === null) throw new DerError('DER_INVAL', `unexpected argument ${JSON.stringify(arg)}`)
    const name = m[1] as string
    const kind = known[name]
    if (kind === undefined) throw new DerError('DER_INVAL', `unknown option --${name} (known: ${Object.keys(known).map((k) => `--${k}`).join(', ')})`)
    if (kind === 'flag') {
      out.set(name, 'true')
      continue
    }
    const value = m[2] ?? argv[++i]
    if (value === undefined) throw new DerError('DER_INVAL', `--${name} needs a value`)
    out.set(name, value)
  }
  return out
}

/** A non-negative integer flag within bounds. */
export function intFlag(flags: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const raw = flags.get(name)
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw)) throw new DerError('DER_INVAL', `--${name} must be an integer, got ${JSON.stringify(raw)}`)
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new DerError('DER_INVAL', `--${name} must be in ${min}..${max}, got ${raw}`)
  return n
}

/** The `--faults` profile flag. */
export function profileFlag(flags: Map<string, string>): FaultProfile | undefined {
  const raw = flags.get('faults')
  if (raw === undefined) return undefined
  if (!(faultProfiles as readonly string[]).includes(raw)) throw new DerError('DER_INVAL', `--faults must be one of ${faultProfiles.join(', ')}, got ${JSON.stringify(raw)}`)
  return raw as FaultProfile
}

/** The `--mutation` flag. */
export function mutationFlag(flags: Map<string, string>): Mutation | undefined {
  const raw = flags.get('mutation')
  if (raw === undefined) return undefined
  if (raw !== 'none' && raw !== 'ack-before-replicated') throw new DerError('DER_INVAL', `--mutation must be none or ack-before-replicated, got ${JSON.stringify(raw)}`)
  return raw
}
