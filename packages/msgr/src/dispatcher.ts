/**
 * Dispatchers and the dispatch queue: fast dispatch runs on the receive path; everything else
 * goes through a queue ordered by priority (FIFO within a priority), drained on timer turns.
 *
 * @module
 */
import type { EntityName } from './entity.ts'
import type { MessageType } from './message.ts'
import type { Connection } from './session.ts'

/** A received message. */
export interface ReceivedMessage<T = unknown> {
  readonly type: MessageType<T>
  readonly payload: T
  readonly middle: Uint8Array
  readonly data: Uint8Array
  readonly priority: number
  readonly seq: bigint
  readonly tid: bigint
  /** The sender. */
  readonly source: EntityName
  /** The session it came on (reply through it). */
  readonly connection: Connection
  /**
   * Keeps the message's throttle budget after `dispatch` returns (for work that finishes later);
   * call the returned function once when done. Without it the budget is released on return.
   */
  retain(): () => void
}

/** What releases a received message's throttle budget (the messenger). */
export interface BudgetOwner {
  /** Gives `bytes` back to the throttle. */
  releaseBudget(bytes: number): void
}

/**
 * @internal A received message as the messenger builds it: the throttle budget it holds is
 * released once, on return from dispatch or, when retained, by the function `retain` returned.
 * A class rather than an object literal with closures: the receive path builds one per message.
 */
export class InboundMessage<T = unknown> implements ReceivedMessage<T> {
  /** @internal the budget's owner, set on dispatch. */
  owner: BudgetOwner | undefined
  private retained = false
  private released = false

  constructor(
    readonly type: MessageType<T>,
    readonly payload: T,
    readonly middle: Uint8Array,
    readonly data: Uint8Array,
    readonly priority: number,
    readonly seq: bigint,
    readonly tid: bigint,
    readonly source: EntityName,
    readonly connection: Connection,
    /** @internal the throttle budget the message holds. */
    readonly budgetBytes: number,
  ) {}

  retain(): () => void {
    this.retained = true
    return () => this.releaseOnce()
  }

  /** @internal the dispatcher returned: release the budget unless retained. */
  dispatched(): void {
    if (!this.retained) this.releaseOnce()
  }

  private releaseOnce(): void {
    if (this.released) return
    this.released = true
    this.owner?.releaseBudget(this.budgetBytes)
  }
}

/** Receives messages and session events. Methods must not throw (errors are logged). */
export interface Dispatcher {
  /** Whether `message` may be handled on the receive path, without queueing. */
  canFastDispatch?(message: ReceivedMessage): boolean
  /** Handles a message on the receive path (only when `canFastDispatch` said yes). */
  fastDispatch?(message: ReceivedMessage): void
  /** Handles a queued message; returns whether it was handled (else the next dispatcher gets it). */
  dispatch?(message: ReceivedMessage): boolean
  /** A session became ready (either side). */
  onConnect?(connection: Connection): void
  /** A lossy session ended, or a session was marked down. */
  onReset?(connection: Connection): void
  /** The peer lost our session (it restarted, or reset it): queued messages were discarded. */
  onRemoteReset?(connection: Connection): void
  /** An authentication or protocol refusal ended a session for good. */
  onRefused?(connection: Connection, reason: Error): void
}

interface Queued {
  readonly message: ReceivedMessage
  readonly order: number
  readonly release: () => void
}

/** A priority queue of received messages: higher priority first, arrival order within one. */
export class DispatchQueue {
  private readonly heap: Queued[] = []
  private order = 0

  get size(): number {
    return this.heap.length
  }

  push(message: ReceivedMessage, release: () => void): void {
    this.heap.push({ message, order: this.order++, release })
    let i = this.heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): { message: ReceivedMessage; release: () => void } | undefined {
    const top = this.heap[0]
    const last = this.heap.pop()
    if (top === undefined || last === undefined) return undefined
    if (this.heap.length > 0) {
      this.heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.heap.length && this.before(l, m)) m = l
        if (r < this.heap.length && this.before(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a] as Queued
    const y = this.heap[b] as Queued
    return x.message.priority > y.message.priority || (x.message.priority === y.message.priority && x.order < y.order)
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a] as Queued
    this.heap[a] = this.heap[b] as Queued
    this.heap[b] = t
  }
}
