/**
 * The bounded event and completion queues shared by every provider.
 *
 * @module
 */
import type { Completion, CompletionQueue, EventSource, FabricEvent } from './types.ts'

/** A bounded queue with polling, waiting, and a re-entrancy-safe push-mode handler. */
export class BoundedQueue<T> implements EventSource<T> {
  private readonly entries: T[] = []
  private handler: ((entry: T) => void) | undefined
  private dispatching = false
  private waiters: (() => void)[] = []

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.length
  }

  poll(max = Number.POSITIVE_INFINITY): T[] {
    const taken = this.entries.splice(0, Math.min(max, this.entries.length))
    if (taken.length > 0) this.afterConsume()
    return taken
  }

  wait(): Promise<void> {
    if (this.entries.length > 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  setHandler(handler: ((entry: T) => void) | undefined): void {
    this.handler = handler
    this.dispatch()
  }

  /** @internal adds an entry (providers only). */
  push(entry: T): void {
    this.entries.push(entry)
    if (this.handler !== undefined) {
      this.dispatch()
      return
    }
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve()
  }

  /** Hook for subclasses: called after entries were consumed. */
  protected afterConsume(): void {}

  private dispatch(): void {
    if (this.dispatching) return
    this.dispatching = true
    try {
      while (this.handler !== undefined && this.entries.length > 0) {
        while (this.handler !== undefined && this.entries.length > 0) {
          const entry = this.entries.shift() as T
          this.handler(entry)
        }
        // Listeners may push more entries (held messages released by the room we made).
        this.afterConsume()
      }
    } finally {
      this.dispatching = false
    }
  }
}

/** The event queue of an endpoint. */
export class FabricEventQueue extends BoundedQueue<FabricEvent> {}

/** The completion queue of an endpoint: counts outstanding operations against its capacity. */
export class FabricCompletionQueue extends BoundedQueue<Completion> implements CompletionQueue {
  /** Operations posted and not yet completed. */
  outstanding = 0
  private readonly listeners = new Set<() => void>()

  get available(): number {
    return Math.max(0, this.capacity - this.outstanding - this.size)
  }

  onAvailable(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  protected override afterConsume(): void {
    this.notify()
  }

  /** @internal tells listeners room may have freed up. */
  notify(): void {
    if (this.available <= 0) return
    for (const listener of [...this.listeners]) listener()
  }
}
