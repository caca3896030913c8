/**
 * The piggyback queue: membership updates waiting to ride on outgoing messages, each sent a
 * bounded number of times.
 *
 * @module
 */
import { type MemberId, type MemberUpdate } from './types.ts'

interface QueuedUpdate {
  readonly update: MemberUpdate
  transmits: number
  readonly order: number
}

/**
 * Holds at most one update per member (a newer update about a member replaces the queued one,
 * as memberlist's `Invalidates`). {@link BroadcastQueue.take} hands out the least-sent updates
 * first (newest first among equals) and drops an update once it has been sent `limit` times.
 */
export class BroadcastQueue {
  private readonly queued = new Map<MemberId, QueuedUpdate>()
  private nextOrder = 0

  /** Updates waiting. */
  get size(): number {
    return this.queued.size
  }

  /** Queues `update`, replacing any queued update about the same member. */
  push(update: MemberUpdate): void {
    this.queued.set(update.member, { update, transmits: 0, order: this.nextOrder++ })
  }

  /** The queued update about `member`, if any. */
  peek(member: MemberId): MemberUpdate | undefined {
    return this.queued.get(member)?.update
  }

  /**
   * Takes up to `count` updates for one message (skipping updates about the `exclude`d
   * members, which the message already carries), counts the transmission, and drops those sent
   * `limit` times.
   */
  take(count: number, limit: number, exclude: readonly MemberId[] = []): MemberUpdate[] {
    if (count <= 0 || this.queued.size === 0) return []
    const candidates = [...this.queued.values()].filter((q) => !exclude.includes(q.update.member))
    candidates.sort((a, b) => a.transmits - b.transmits || b.order - a.order)
    const chosen = candidates.slice(0, count)
    for (const q of chosen) {
      q.transmits++
      if (q.transmits >= limit) this.queued.delete(q.update.member)
    }
    return chosen.map((q) => q.update)
  }
}
