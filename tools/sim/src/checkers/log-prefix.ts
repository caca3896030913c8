/**
 * The prefix-consistency checker for replicated logs (Raft's log matching property): for every
 * pair of replicas' committed logs, the entries at the same index have the same term and data.
 * Each log may start after a compacted prefix (`firstIndex > 1`). Also checks each log on its own:
 * contiguous indexes and non-decreasing terms.
 *
 * @module
 */

/** One committed log entry. */
export interface LogEntry {
  /** Its index (1-based in Raft; any integers work). */
  readonly index: number
  /** The term it was created in. */
  readonly term: number
  /** Its payload, compared by content. */
  readonly data: string | Uint8Array
}

/** A problem of the logs. */
export interface LogDivergence {
  /** `divergence`: two logs differ at an index; `malformed`: one log is broken on its own. */
  readonly kind: 'divergence' | 'malformed'
  /** The replica (first of the pair for a divergence). */
  readonly replica: string
  /** The other replica of a divergence. */
  readonly otherReplica?: string | undefined
  /** The index where it happens. */
  readonly index: number
  /** The entry of `replica` there. */
  readonly entry?: LogEntry | undefined
  /** The entry of `otherReplica` there. */
  readonly otherEntry?: LogEntry | undefined
  /** A readable line. */
  readonly text: string
}

/** The result of {@link checkLogPrefixConsistency}. */
export interface LogPrefixResult {
  /** True when every log is well formed and every pair is prefix-consistent. */
  readonly ok: boolean
  /** Entries compared across pairs. */
  readonly entriesCompared: number
  /** Malformed logs, then the first divergence of each differing pair, in replica order. */
  readonly problems: readonly LogDivergence[]
  /** The problems as text. */
  readonly text: string
}

function sameData(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function showEntry(e: LogEntry): string {
  const data = typeof e.data === 'string' ? JSON.stringify(e.data) : `<${e.data.length} bytes ${Array.from(e.data.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join('')}${e.data.length > 8 ? '..' : ''}>`
  return `(term ${e.term}, ${data})`
}

/** Checks the committed logs of one replicated group, given per replica in index order. */
export function checkLogPrefixConsistency(logs: ReadonlyMap<string, readonly LogEntry[]>): LogPrefixResult {
  const problems: LogDivergence[] = []
  const replicas = [...logs.keys()].sort()
  const wellFormed: string[] = []
  for (const replica of replicas) {
    const log = logs.get(replica)!
    let bad: LogDivergence | undefined
    for (let i = 1; i < log.length && bad === undefined; i++) {
      const prev = log[i - 1]!
      const e = log[i]!
      if (e.index !== prev.index + 1) bad = { kind: 'malformed', replica, index: e.index, entry: e, text: `${replica}: index ${e.index} follows ${prev.index} (not contiguous)` }
      else if (e.term < prev.term) bad = { kind: 'malformed', replica, index: e.index, entry: e, text: `${replica}: term ${e.term} at index ${e.index} is below term ${prev.term} before it` }
    }
    if (bad === undefined) wellFormed.push(replica)
    else problems.push(bad)
  }
  let entriesCompared = 0
  for (let x = 0; x < wellFormed.length; x++) {
    for (let y = x + 1; y < wellFormed.length; y++) {
      const a = logs.get(wellFormed[x]!)!
      const b = logs.get(wellFormed[y]!)!
      if (a.length === 0 || b.length === 0) continue
      const from = Math.max(a[0]!.index, b[0]!.index)
      const to = Math.min(a[a.length - 1]!.index, b[b.length - 1]!.index)
      for (let index = from; index <= to; index++) {
        const ea = a[index - a[0]!.index]!
        const eb = b[index - b[0]!.index]!
        entriesCompared++
        if (ea.term !== eb.term || !sameData(ea.data, eb.data)) {
          const [ra, rb] = [wellFormed[x]!, wellFormed[y]!]
          problems.push({ kind: 'divergence', replica: ra, otherReplica: rb, index, entry: ea, otherEntry: eb, text: `${ra} and ${rb} first diverge at index ${index}: ${showEntry(ea)} vs ${showEntry(eb)}` })
          break
        }
      }
    }
  }
  return { ok: problems.length === 0, entriesCompared, problems, text: problems.map((p) => p.text).join('\n') }
}
