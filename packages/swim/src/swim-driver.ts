/**
 * `SwimDriver`: the adapter between a pure {@link SwimNode} and the world: it decodes received
 * bytes, feeds the node, encodes and sends its messages, delivers its events, and keeps one
 * timer at the node's next deadline.
 *
 * @module
 */
import { type DerError, type Runtime, type TimerHandle, isDerError } from '@x/common'
import { decodeSwimMessage, encodeSwimMessage } from './codec.ts'
import { type SwimNode } from './swim-node.ts'
import { type MemberId, type MembershipEvent, type SwimOutput } from './types.ts'

/** Where a driver sends encoded messages (best effort, like SWIM's UDP or CaRT's unreliable RPCs). */
export interface SwimTransport {
  /** Sends `bytes` to member `to`; may drop them. Must not call back into the driver synchronously. */
  send(to: MemberId, bytes: Uint8Array): void
}

/** Options of a {@link SwimDriver}. */
export interface SwimDriverInit {
  /** The protocol core to drive. */
  readonly node: SwimNode
  /** Time and timers (`createRealRuntime()` in production, `VirtualRuntime` in tests). */
  readonly runtime: Runtime
  /** The network. */
  readonly transport: SwimTransport
  /** Receives membership events in order. */
  readonly onEvent?: (event: MembershipEvent) => void
  /** Told about each received payload that was refused (malformed bytes or message). */
  readonly onRefused?: (error: DerError) => void
}

/** Drives a {@link SwimNode} on a runtime and a transport. */
export class SwimDriver {
  /** The node driven. */
  readonly node: SwimNode
  private readonly runtime: Runtime
  private readonly transport: SwimTransport
  private readonly onEvent: SwimDriverInit['onEvent']
  private readonly onRefused: SwimDriverInit['onRefused']
  private timer: TimerHandle | undefined
  private timerDueMs = Number.POSITIVE_INFINITY
  private running = false
  /** Received payloads refused because they could not be decoded or were not well formed. */
  refusedPayloads = 0

  constructor(init: SwimDriverInit) {
    this.node = init.node
    this.runtime = init.runtime
    this.transport = init.transport
    this.onEvent = init.onEvent
    this.onRefused = init.onRefused
  }

  /** Starts ticking. */
  start(): void {
    this.running = true
    this.reschedule()
  }

  /** Stops ticking and ignores further input. */
  stop(): void {
    this.running = false
    if (this.timer !== undefined) this.runtime.timers.cancel(this.timer)
    this.timer = undefined
    this.timerDueMs = Number.POSITIVE_INFINITY
  }

  /** Handles bytes received from the transport; bad bytes are counted and dropped, never thrown. */
  receive(bytes: Uint8Array): void {
    if (!this.running) return
    let output: SwimOutput
    try {
      output = this.node.step(decodeSwimMessage(bytes), this.now())
    } catch (error) {
      if (!isDerError(error)) throw error
      this.refusedPayloads++
      this.onRefused?.(error)
      return
    }
    this.handle(output)
  }

  /** Joins through `seeds` (see {@link SwimNode.join}). */
  join(seeds: readonly MemberId[]): void {
    this.handle(this.node.join(seeds, this.now()))
  }

  /** Leaves gracefully (see {@link SwimNode.leave}); stop the driver once `node.isLeaveComplete`. */
  leave(): void {
    this.handle(this.node.leave(this.now()))
  }

  private now(): number {
    return this.runtime.clock.monotonicMs()
  }

  private handle(output: SwimOutput): void {
    for (const message of output.messages) this.transport.send(message.to, encodeSwimMessage(message))
    for (const event of output.events) this.onEvent?.(event)
    this.reschedule()
  }

  private fire(): void {
    this.timer = undefined
    this.timerDueMs = Number.POSITIVE_INFINITY
    if (!this.running) return
    this.handle(this.node.tick(this.now()))
  }

  private reschedule(): void {
    if (!this.running) return
    const nowMs = this.now()
    const dueMs = Math.max(nowMs, this.node.nextDeadlineMs())
    if (!Number.isFinite(dueMs) || dueMs >= this.timerDueMs) return
    if (this.timer !== undefined) this.runtime.timers.cancel(this.timer)
    this.timerDueMs = dueMs
    this.timer = this.runtime.timers.schedule(dueMs - nowMs, () => this.fire())
  }
}
