/**
 * A throttle on bytes and messages in flight (Ceph's policy throttlers): received messages hold
 * budget until dispatched; when none is left the messenger stops reading from the fabric.
 *
 * @module
 */
import { DerError } from '@x/common'

/** Limits of a {@link Throttle}. */
export interface ThrottleLimits {
  /** Bytes held at most (default unlimited). */
  readonly maxBytes?: number
  /** Messages held at most (default unlimited). */
  readonly maxMessages?: number
}

/** Counts bytes and messages against limits. */
export class Throttle {
  readonly maxBytes: number
  readonly maxMessages: number
  /** Bytes currently held. */
  bytes = 0
  /** Messages currently held. */
  messages = 0
  private readonly waiters = new Set<() => void>()

  constructor(limits: ThrottleLimits = {}) {
    this.maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY
    this.maxMessages = limits.maxMessages ?? Number.POSITIVE_INFINITY
    if (!(this.maxBytes > 0) || !(this.maxMessages > 0)) throw new DerError('DER_INVAL', 'throttle limits must be > 0')
  }

  /** Takes budget if it fits (a single message larger than `maxBytes` fits an empty throttle). */
  tryAcquire(bytes: number): boolean {
    if (this.messages >= this.maxMessages) return false
    if (this.messages > 0 && this.bytes + bytes > this.maxBytes) return false
    this.bytes += bytes
    this.messages++
    return true
  }

  /** Gives budget back and wakes waiters. */
  release(bytes: number): void {
    this.bytes -= bytes
    this.messages--
    for (const waiter of [...this.waiters]) waiter()
  }

  /** Calls `waiter` after every release until the returned function is called. */
  onRelease(waiter: () => void): () => void {
    this.waiters.add(waiter)
    return () => this.waiters.delete(waiter)
  }
}
