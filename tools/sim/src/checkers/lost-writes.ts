/**
 * The "no acknowledged write lost" checker: after the cluster healed, the state read back must
 * hold, for every key, the newest acknowledged write or a write that legitimately superseded it.
 *
 * Each write carries a version (an epoch, a log index, an HLC timestamp: any number that orders
 * the writes of one key). A write `w` acknowledged to a client is lost when the final state:
 *
 * - `missing`: has no entry for the key at all;
 * - `rolled-back`: holds an older version than `w`;
 * - `value-mismatch`: holds `w`'s version with another value;
 * - `superseded-by-earlier`: holds a newer version from a write acknowledged before `w` was even
 *   called (real-time order says `w` came later, so `w` should have won);
 * - `superseded-by-unknown`: holds a newer version that no recorded write produced (checked only
 *   when every attempted write is given).
 *
 * Two acknowledged writes of one key with the same version and different values are reported as
 * `conflicting-acks`. Deletes are writes of value `null`; the final state holds a tombstone
 * (`value: null` with its version) or nothing.
 *
 * @module
 */
import { DerError } from '@x/common'

/** A write as recorded by a client. */
export interface RecordedWrite {
  /** The key written. */
  readonly key: string
  /** The value written; null for a delete. */
  readonly value: string | null
  /** The version the system assigned (epoch, index, timestamp). */
  readonly version: number
  /** When the write was acknowledged (absent: attempted, never acknowledged). */
  readonly ackMs?: number | undefined
  /** When the write was called, if known: enables the `superseded-by-earlier` rule. */
  readonly callMs?: number | undefined
  /** The client that issued it, for reports. */
  readonly clientId?: number | string | undefined
}

/** One key of the final read-back state. */
export interface FinalEntry {
  /** The value; null for a tombstone. */
  readonly value: string | null
  /** Its version. */
  readonly version: number
}

/** Why an acknowledged write counts as lost; see the module comment. */
export type LostWriteKind = 'missing' | 'rolled-back' | 'value-mismatch' | 'superseded-by-earlier' | 'superseded-by-unknown' | 'conflicting-acks'

/** One lost or wrongly superseded acknowledged write. */
export interface LostWrite {
  /** The rule it breaks. */
  readonly kind: LostWriteKind
  /** The acknowledged write. */
  readonly write: RecordedWrite
  /** What the final state holds for its key (absent: nothing). */
  readonly found?: FinalEntry | undefined
  /** The write that superseded or conflicts with it, when known. */
  readonly other?: RecordedWrite | undefined
  /** A readable line. */
  readonly text: string
}

/** Input of {@link checkNoAcknowledgedWriteLost}. */
export interface LostWritesInput {
  /** Every acknowledged write (each with `ackMs`). */
  readonly acknowledged: readonly RecordedWrite[]
  /** The final state read back after healing. */
  readonly final: ReadonlyMap<string, FinalEntry>
  /** Every write attempted, acknowledged or not: enables `superseded-by-unknown`. */
  readonly attempted?: readonly RecordedWrite[]
}

/** The result of {@link checkNoAcknowledgedWriteLost}. */
export interface LostWritesResult {
  /** True when nothing was lost. */
  readonly ok: boolean
  /** Acknowledged writes checked. */
  readonly checked: number
  /** The findings, by key then version. */
  readonly lost: readonly LostWrite[]
  /** The findings as text, one a line. */
  readonly text: string
}

function show(w: RecordedWrite): string {
  const client = w.clientId === undefined ? '' : ` by client ${w.clientId}`
  const ack = w.ackMs === undefined ? 'not acked' : `acked at ${w.ackMs}`
  return `${JSON.stringify(w.value)}@v${w.version}${client} (${ack})`
}

function checkWrite(w: RecordedWrite, what: string): void {
  if (typeof w.key !== 'string' || !Number.isFinite(w.version)) throw new DerError('DER_INVAL', `${what}: a write needs a string key and a finite version`, { details: { key: w.key } })
}

/**
 * Checks that no acknowledged write was lost.
 *
 * @throws DerError `DER_INVAL` for a write without a key, version or (when acknowledged) `ackMs`.
 */
export function checkNoAcknowledgedWriteLost(input: LostWritesInput): LostWritesResult {
  const byKey = new Map<string, RecordedWrite[]>()
  for (const w of input.acknowledged) {
    checkWrite(w, 'acknowledged')
    if (w.ackMs === undefined || !Number.isFinite(w.ackMs)) throw new DerError('DER_INVAL', `acknowledged write of ${JSON.stringify(w.key)} needs a finite ackMs`)
    let list = byKey.get(w.key)
    if (list === undefined) byKey.set(w.key, (list = []))
    list.push(w)
  }
  for (const w of input.attempted ?? []) checkWrite(w, 'attempted')
  const known = new Map<string, RecordedWrite>()
  for (const w of [...(input.attempted ?? []), ...input.acknowledged]) known.set(`${w.key}\u0000${w.version}\u0000${JSON.stringify(w.value)}`, w)
  const byVersion = new Map<string, RecordedWrite>()
  for (const w of [...(input.attempted ?? []), ...input.acknowledged]) byVersion.set(`${w.key}\u0000${w.version}`, w)
  const findVersion = (key: string, version: number): RecordedWrite | undefined => byVersion.get(`${key}\u0000${version}`)

  const lost: LostWrite[] = []
  for (const key of [...byKey.keys()].sort()) {
    const writes = byKey.get(key)!.slice().sort((a, b) => a.version - b.version || a.ackMs! - b.ackMs!)
    const found = input.final.get(key)
    const k = JSON.stringify(key)
    for (let i = 0; i + 1 < writes.length; i++) {
      const a = writes[i]!
      const b = writes[i + 1]!
      if (a.version === b.version && a.value !== b.value) {
        lost.push({ kind: 'conflicting-acks', write: b, other: a, found, text: `key ${k}: ${show(a)} and ${show(b)} were both acknowledged with version ${a.version}` })
      }
    }
    for (const w of writes) {
      if (found === undefined) {
        if (w.value !== null) lost.push({ kind: 'missing', write: w, text: `key ${k}: acknowledged ${show(w)} is missing from the final state` })
        continue
      }
      if (found.version < w.version) {
        lost.push({ kind: 'rolled-back', write: w, found, text: `key ${k}: acknowledged ${show(w)} rolled back to ${JSON.stringify(found.value)}@v${found.version}` })
      } else if (found.version === w.version) {
        if (found.value !== w.value) lost.push({ kind: 'value-mismatch', write: w, found, text: `key ${k}: acknowledged ${show(w)} reads back as ${JSON.stringify(found.value)} with the same version` })
      } else {
        const winner = findVersion(key, found.version)
        if (winner !== undefined && winner.ackMs !== undefined && w.callMs !== undefined && winner.ackMs < w.callMs) {
          lost.push({ kind: 'superseded-by-earlier', write: w, found, other: winner, text: `key ${k}: acknowledged ${show(w)} (called at ${w.callMs}) superseded by ${show(winner)}, acknowledged before it was called` })
        } else if (input.attempted !== undefined && !known.has(`${key}\u0000${found.version}\u0000${JSON.stringify(found.value)}`)) {
          lost.push({ kind: 'superseded-by-unknown', write: w, found, text: `key ${k}: acknowledged ${show(w)} superseded by ${JSON.stringify(found.value)}@v${found.version}, which no recorded write produced` })
        }
      }
    }
  }
  return { ok: lost.length === 0, checked: input.acknowledged.length, lost, text: lost.map((l) => `${l.kind}: ${l.text}`).join('\n') }
}
