/**
 * The leader's view of each follower: replication state (probe, replicate, snapshot), match and
 * next indexes, and the window of in-flight appends that bounds pipelining.
 *
 * ```
 *            +--------------------------------------------------------+
 *            |                  send snapshot                         |
 *            |                                                        v
 *   +-----------+  append accepted   +-------------+    snapshot    +----------+
 *   |   probe   | -----------------> |  replicate  |   needed       | snapshot |
 *   +-----------+ <----------------- +-------------+ -------------> +----------+
 *       ^   ^     append rejected                                        |
 *       |   +------------------------------------------------------------+
 *       |     snapshot acknowledged, failed or stalled
 * ```
 *
 * @module
 */
import { assert } from '@x/common'

/** The replication state of one follower. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** A ring of the last indexes of in-flight `MsgApp`s to one follower. */
export class Inflights {
  /** Ring storage. */
  private readonly buffer: number[]
  private start = 0
  /** Appends in flight. */
  count = 0

  constructor(readonly capacity: number) {
    this.buffer = new Array<number>(capacity).fill(0)
  }

  /** Records an append whose last entry is `index`. */
  add(index: number): void {
    assert(!this.full(), 'inflights: add() on a full window')
    this.buffer[(this.start + this.count) % this.capacity] = index
    this.count++
  }

  /** Frees every in-flight append up to and including `index`. */
  freeLE(index: number): void {
    while (this.count > 0 && (this.buffer[this.start] as number) <= index) {
      this.start = (this.start + 1) % this.capacity
      this.count--
    }
  }

  /** Frees the oldest in-flight append (a heartbeat answer proves the follower is alive). */
  freeFirstOne(): void {
    if (this.count === 0) return
    this.start = (this.start + 1) % this.capacity
    this.count--
  }

  /** Whether the window is full (the leader must wait). */
  full(): boolean {
    return this.count === this.capacity
  }

  /** Forgets every in-flight append. */
  reset(): void {
    this.start = 0
    this.count = 0
  }
}

/** What the leader knows about one peer. */
export class Progress {
  /** Highest index known to be replicated on the peer. */
  match = 0
  /** Next index to send. */
  next: number
  /** Replication state. */
  state: ProgressState = 'probe'
  /** Index of the snapshot being sent, in state `snapshot`. */
  pendingSnapshot = 0
  /** Heartbeat ticks spent in state `snapshot` (a stalled transfer falls back to probe). */
  snapshotTicks = 0
  /** Heard from since the last check-quorum round. */
  recentActive = false
  /** In state probe: one append is outstanding; wait for its answer or a heartbeat answer. */
  probeSent = false
  /** The window of in-flight appends (state replicate). */
  readonly inflights: Inflights

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next
    this.inflights = new Inflights(maxInflight)
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false
    this.pendingSnapshot = 0
    this.snapshotTicks = 0
    this.state = state
    this.inflights.reset()
  }

  /** Falls back to probing one append at a time. */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot
      this.resetState('probe')
      this.next = Math.max(this.match + 1, pending + 1)
    } else {
      this.resetState('probe')
      this.next = this.match + 1
    }
  }

  /** Streams appends optimistically (pipelining). */
  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  /** Waits for a snapshot transfer to finish. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
  }

  /** Records an acknowledged index; returns whether `match` moved. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /** Pipelining: assume the append of entries up to `index` will succeed. */
  optimisticUpdate(index: number): void {
    this.next = index + 1
  }

  /** Handles a rejection of the append at `rejected`; returns false if the rejection is stale. */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1)
    this.probeSent = false
    return true
  }

  /** Whether the leader must hold back appends to this peer (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }

  toString(): string {
    const extra = this.state === 'snapshot' ? ` pendingSnap=${this.pendingSnapshot}` : this.state === 'replicate' && this.inflights.count > 0 ? ` inflight=${this.inflights.count}` : ''
    return `${this.state} match=${this.match} next=${this.next}${this.isLearner ? ' learner' : ''}${extra}`
  }
}
