/**
 * A counting semaphore with FIFO waiters: the queue-depth limit of a device.
 *
 * @module
 */

/** `limit` slots; `acquire` waits in FIFO order when all are taken. */
export class SlotQueue {
  private used = 0
  private readonly waiters: (() => void)[] = []
  private waiterHead = 0

  constructor(readonly limit: number) {}

  /** Slots taken now. */
  get inUse(): number {
    return this.used
  }

  /** Submissions waiting for a slot. */
  get waiting(): number {
    return this.waiters.length - this.waiterHead
  }

  /** Takes a slot immediately if one is free (returns true), else returns false. */
  tryAcquire(): boolean {
    if (this.used < this.limit && this.waiting === 0) {
      this.used++
      return true
    }
    return false
  }

  /** Resolves once a slot is taken for the caller. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve)
    })
  }

  /** Returns a slot, handing it straight to the oldest waiter if any. */
  release(): void {
    if (this.waiterHead < this.waiters.length) {
      const next = this.waiters[this.waiterHead]
      this.waiters[this.waiterHead] = noop
      this.waiterHead++
      if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
        this.waiters.splice(0, this.waiterHead)
        this.waiterHead = 0
      }
      next?.()
      return
    }
    this.used--
  }
}

function noop(): void {}
