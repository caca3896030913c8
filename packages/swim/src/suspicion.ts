/**
 * Lifeguard's dynamic suspicion timeout as pure functions, and the per-member suspicion record.
 *
 * @module
 */
import { assert } from '@x/common'
import { type MemberId } from './types.ts'

/**
 * The total timeout of a suspicion with `confirmations` of `expectedConfirmations` independent
 * confirmations: it starts at `maxMs` and falls logarithmically to `minMs`,
 * `max(minMs, maxMs - (maxMs - minMs) * log(c + 1) / log(k + 1))`, reaching `minMs` at c = k.
 * With k = 0 it is `minMs`.
 */
export function suspicionTimeoutMs(confirmations: number, expectedConfirmations: number, minMs: number, maxMs: number): number {
  assert(confirmations >= 0 && expectedConfirmations >= 0 && minMs >= 0 && maxMs >= minMs, 'suspicionTimeoutMs: bad arguments')
  if (expectedConfirmations === 0) return minMs
  const fraction = Math.log(confirmations + 1) / Math.log(expectedConfirmations + 1)
  return Math.max(minMs, Math.floor(maxMs - fraction * (maxMs - minMs)))
}

/**
 * How long a suspicion still has to run after `elapsedMs`: the timeout for its confirmations
 * minus the time already spent (negative once expired). memberlist's
 * `remainingSuspicionTime(n, k, elapsed, min, max)`.
 */
export function remainingSuspicionTimeMs(confirmations: number, expectedConfirmations: number, elapsedMs: number, minMs: number, maxMs: number): number {
  return suspicionTimeoutMs(confirmations, expectedConfirmations, minMs, maxMs) - elapsedMs
}

/** One member's running suspicion on one node. */
export class Suspicion {
  /** The incarnation suspected. */
  readonly incarnation: number
  /** When this node started suspecting. */
  readonly startedAtMs: number
  private readonly originator: MemberId
  private readonly confirmers = new Set<MemberId>()
  private readonly expectedConfirmations: number
  private readonly minMs: number
  private readonly maxMs: number
  private postponedMs = 0

  constructor(init: { incarnation: number; startedAtMs: number; originator: MemberId; expectedConfirmations: number; minMs: number; maxMs: number }) {
    this.incarnation = init.incarnation
    this.startedAtMs = init.startedAtMs
    this.originator = init.originator
    this.expectedConfirmations = init.expectedConfirmations
    this.minMs = init.minMs
    this.maxMs = init.maxMs
  }

  /** Independent confirmations counted so far. */
  get confirmations(): number {
    return this.confirmers.size
  }

  /**
   * Counts `reporter` as a confirmation unless it is the originator, a repeat, or no more are
   * needed; returns whether it counted (only a counted confirmation is worth re-broadcasting).
   */
  confirm(reporter: MemberId): boolean {
    if (reporter === this.originator || this.confirmers.has(reporter)) return false
    if (this.confirmers.size >= this.expectedConfirmations) return false
    this.confirmers.add(reporter)
    return true
  }

  /** When the suspicion expires, given the confirmations so far (and any postponement). */
  get deadlineMs(): number {
    return this.startedAtMs + this.postponedMs + suspicionTimeoutMs(this.confirmers.size, this.expectedConfirmations, this.minMs, this.maxMs)
  }

  /** Moves the deadline `delayMs` later (DAOS's network-outage rule). */
  postpone(delayMs: number): void {
    assert(delayMs > 0, 'Suspicion.postpone: delay must be positive')
    this.postponedMs += delayMs
  }
}
