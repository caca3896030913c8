/**
 * The replica-convergence checker: once rebuild and transaction resolution are done, every
 * replica's dump (key to value, version, epoch: any comparable shape) must be equal. Reports each
 * differing key with every replica's view, in key order.
 *
 * @module
 */
import { DerError } from '@x/common'

/** One replica's view of a differing key: its value, or `absent`. */
export interface ReplicaView<V> {
  /** The replica. */
  readonly replica: string
  /** Whether the replica holds the key. */
  readonly present: boolean
  /** Its value when present. */
  readonly value?: V | undefined
}

/** A key on which the replicas differ. */
export interface Divergence<V> {
  /** The key. */
  readonly key: string
  /** Every replica's view, in replica order. */
  readonly views: readonly ReplicaView<V>[]
}

/** Options of {@link checkReplicaConvergence}. */
export interface ConvergenceOptions<V> {
  /** Value equality (default: equal JSON). */
  readonly equal?: (a: V, b: V) => boolean
  /** Value text for reports (default: JSON). */
  readonly format?: (value: V) => string
  /** Report at most this many keys (default: all); `truncated` says when more differed. */
  readonly maxReported?: number
}

/** The result of {@link checkReplicaConvergence}. */
export interface ConvergenceResult<V> {
  /** True when every replica holds the same keys with equal values. */
  readonly ok: boolean
  /** Distinct keys compared. */
  readonly keysChecked: number
  /** The differing keys, in key order. */
  readonly divergences: readonly Divergence<V>[]
  /** Whether more keys differed than were reported. */
  readonly truncated: boolean
  /** The divergences as text. */
  readonly text: string
}

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined'

/**
 * Compares per-replica dumps.
 *
 * @throws DerError `DER_INVAL` when fewer than one replica is given.
 */
export function checkReplicaConvergence<V>(dumps: ReadonlyMap<string, ReadonlyMap<string, V>>, options: ConvergenceOptions<V> = {}): ConvergenceResult<V> {
  if (dumps.size === 0) throw new DerError('DER_INVAL', 'convergence needs at least one replica dump')
  const equal = options.equal ?? ((a: V, b: V): boolean => json(a) === json(b))
  const format = options.format ?? json
  const maxReported = options.maxReported ?? Infinity
  const replicas = [...dumps.keys()].sort()
  const keys = new Set<string>()
  for (const dump of dumps.values()) for (const key of dump.keys()) keys.add(key)
  const divergences: Divergence<V>[] = []
  let differing = 0
  for (const key of [...keys].sort()) {
    const views: ReplicaView<V>[] = replicas.map((replica) => {
      const dump = dumps.get(replica)!
      return dump.has(key) ? { replica, present: true, value: dump.get(key) } : { replica, present: false }
    })
    const first = views[0]!
    const same = views.every((v) => v.present === first.present && (!v.present || equal(v.value as V, first.value as V)))
    if (same) continue
    differing++
    if (divergences.length < maxReported) divergences.push({ key, views })
  }
  const text = divergences
    .map((d) => `key ${JSON.stringify(d.key)}: ${d.views.map((v) => `${v.replica}=${v.present ? format(v.value as V) : 'absent'}`).join(', ')}`)
    .join('\n')
  return { ok: differing === 0, keysChecked: keys.size, divergences, truncated: differing > divergences.length, text }
}
