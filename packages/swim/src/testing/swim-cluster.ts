/**
 * `SwimCluster`: a seeded simulation of a SWIM group on a virtual clock and a simulated network
 * with loss, delay, slow members, crashes and partitions. Tests and benchmarks use it; an engine
 * can use it to test its own reactions to membership events.
 *
 * @module
 */
import { DerError, type Random, type Seed, type TimerHandle, VirtualRuntime } from '@x/common'
import { decodeSwimMessage, encodeSwimMessage } from '../codec.ts'
import { type SwimConfig, resolveSwimConfig } from '../config.ts'
import { SwimNode } from '../swim-node.ts'
import { type MemberId, type MemberState, type MembershipEvent, type SwimMessage, type SwimOutput } from '../types.ts'

/** Options of a {@link SwimCluster}. */
export interface SwimClusterOptions {
  /** Members, numbered 0 to size - 1. */
  readonly size: number
  /** Seed of the virtual runtime (network and every node's randomness derive from it). */
  readonly seed: Seed
  /** Configuration of every node (default: the LAN profile). */
  readonly config?: SwimConfig
  /** Probability that the network drops a message (default 0). */
  readonly lossRate?: number
  /** Smallest one-way delay (default 1 ms). */
  readonly minDelayMs?: number
  /** Largest one-way delay (default 5 ms). */
  readonly maxDelayMs?: number
  /** Encode and decode every message with the wire codec (default true). */
  readonly wire?: boolean
  /** Called for every message handed to the network, with whether the network dropped it. */
  readonly onSend?: (message: SwimMessage, dropped: boolean, atMs: number) => void
  /** Called for every membership event. */
  readonly onEvent?: (event: ObservedEvent) => void
}

/** A membership event with the node that observed it. */
export interface ObservedEvent extends MembershipEvent {
  /** The node that emitted the event. */
  readonly observer: MemberId
}

interface SimMember {
  node: SwimNode
  up: boolean
  timer: TimerHandle | undefined
  timerDueMs: number
  inboundDelayMs: number
}

/**
 * A simulated group: every node is a {@link SwimNode} driven by timers at its
 * `nextDeadlineMs()`; messages go through a network that drops with `lossRate`, delays
 * uniformly between `minDelayMs` and `maxDelayMs` (plus a member's inbound delay), and drops
 * across partitions and to crashed members.
 */
export class SwimCluster {
  /** The virtual runtime; advance it with {@link SwimCluster.run}. */
  readonly runtime: VirtualRuntime
  /** Every membership event, in order. */
  readonly events: ObservedEvent[] = []
  /** Messages handed to the network. */
  messagesSent = 0
  /** Bytes handed to the network (when `wire` is on). */
  bytesSent = 0
  /** Messages the network dropped (loss or partition). */
  messagesDropped = 0
  /** The configuration of the nodes. */
  readonly config: SwimConfig
  private readonly members = new Map<MemberId, SimMember>()
  private readonly random: Random
  private lossRate: number
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly wire: boolean
  private partitionOf = new Map<MemberId, number>()
  private readonly onSend: SwimClusterOptions['onSend']
  private readonly onEvent: SwimClusterOptions['onEvent']

  constructor(options: SwimClusterOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new DerError('DER_INVAL', `SwimCluster: size must be a positive integer, got ${options.size}`)
    this.runtime = new VirtualRuntime({ seed: options.seed })
    this.random = this.runtime.random.fork()
    this.config = options.config ?? resolveSwimConfig()
    this.lossRate = checkRate(options.lossRate ?? 0)
    this.minDelayMs = options.minDelayMs ?? 1
    this.maxDelayMs = options.maxDelayMs ?? 5
    if (!(this.minDelayMs >= 0 && this.maxDelayMs >= this.minDelayMs)) throw new DerError('DER_INVAL', 'SwimCluster: need 0 <= minDelayMs <= maxDelayMs')
    this.wire = options.wire ?? true
    this.onSend = options.onSend
    this.onEvent = options.onEvent
    const ids = Array.from({ length: options.size }, (_, i) => i)
    for (const id of ids) {
      const node = new SwimNode({ self: id, config: this.config, random: this.runtime.random.fork(), nowMs: this.runtime.nowMs, members: ids })
      this.members.set(id, { node, up: true, timer: undefined, timerDueMs: Number.POSITIVE_INFINITY, inboundDelayMs: 0 })
    }
    for (const id of ids) this.reschedule(id)
  }

  /** The current virtual time. */
  get nowMs(): number {
    return this.runtime.nowMs
  }

  /** Ids of every member ever created. */
  get ids(): MemberId[] {
    return [...this.members.keys()]
  }

  /** Ids of the members that are up. */
  get upIds(): MemberId[] {
    return [...this.members].filter(([, m]) => m.up).map(([id]) => id)
  }

  /** The node of member `id`. */
  node(id: MemberId): SwimNode {
    return this.get(id).node
  }

  /** Whether member `id` is up. */
  isUp(id: MemberId): boolean {
    return this.get(id).up
  }

  /** How `observer` sees `member` (undefined when it does not know it). */
  view(observer: MemberId, member: MemberId): MemberState | undefined {
    return this.node(observer).member(member)?.state
  }

  /** Whether every up member other than `member` sees it in `state`. */
  allSee(member: MemberId, state: MemberState): boolean {
    return this.upIds.every((id) => id === member || this.view(id, member) === state)
  }

  /** Runs the simulation for `ms` of virtual time. */
  run(ms: number): void {
    this.runtime.advanceSync(ms)
  }

  /**
   * Runs in steps of `stepMs` until `predicate()` holds or `timeoutMs` passed; returns whether
   * it held.
   */
  runUntil(predicate: () => boolean, timeoutMs: number, stepMs = 100): boolean {
    const deadline = this.nowMs + timeoutMs
    while (!predicate()) {
      if (this.nowMs >= deadline) return false
      this.run(Math.min(stepMs, deadline - this.nowMs))
    }
    return true
  }

  /** Sets the network's drop probability. */
  setLossRate(rate: number): void {
    this.lossRate = checkRate(rate)
  }

  /** Delays every message to `id` by `extraMs` more (a slow, overloaded member). */
  setInboundDelay(id: MemberId, extraMs: number): void {
    this.get(id).inboundDelayMs = extraMs
  }

  /** Crashes member `id`: it stops, and messages to it are lost. */
  crash(id: MemberId): void {
    const member = this.get(id)
    member.up = false
    if (member.timer !== undefined) this.runtime.timers.cancel(member.timer)
    member.timer = undefined
    member.timerDueMs = Number.POSITIVE_INFINITY
  }

  /**
   * Restarts crashed member `id` with `incarnation` (higher than before, as a restarted DAOS
   * engine's). With `seeds` it joins through them and knows nobody else; without, it starts from
   * the full static group.
   */
  restart(id: MemberId, incarnation: number, seeds?: readonly MemberId[]): void {
    const member = this.get(id)
    if (member.up) throw new DerError('DER_BUSY', `SwimCluster: member ${id} is up`)
    const node = new SwimNode({ self: id, incarnation, config: this.config, random: this.runtime.random.fork(), nowMs: this.nowMs, members: seeds === undefined ? this.ids : [] })
    member.node = node
    member.up = true
    if (seeds !== undefined) this.handle(id, node.join(seeds, this.nowMs))
    this.reschedule(id)
  }

  /** Adds a new member `id` (not yet in the group) that joins through `seeds`. */
  addMember(id: MemberId, seeds: readonly MemberId[], incarnation = 0): void {
    if (this.members.has(id)) throw new DerError('DER_EXIST', `SwimCluster: member ${id} exists`)
    const node = new SwimNode({ self: id, incarnation, config: this.config, random: this.runtime.random.fork(), nowMs: this.nowMs })
    this.members.set(id, { node, up: true, timer: undefined, timerDueMs: Number.POSITIVE_INFINITY, inboundDelayMs: 0 })
    this.handle(id, node.join(seeds, this.nowMs))
    this.reschedule(id)
  }

  /** Member `id` leaves gracefully. */
  leave(id: MemberId): void {
    const member = this.get(id)
    this.handle(id, member.node.leave(this.nowMs))
    this.reschedule(id)
  }

  /** Splits the network: messages between different groups are dropped; unlisted members form one more group. */
  partition(groups: readonly (readonly MemberId[])[]): void {
    this.partitionOf = new Map()
    groups.forEach((group, index) => {
      for (const id of group) this.partitionOf.set(id, index)
    })
  }

  /** Heals any partition. */
  heal(): void {
    this.partitionOf = new Map()
  }

  /** Events observed about `member`, optionally of one type. */
  eventsAbout(member: MemberId, type?: MemberState): ObservedEvent[] {
    return this.events.filter((e) => e.member === member && (type === undefined || e.type === type))
  }

  private get(id: MemberId): SimMember {
    const member = this.members.get(id)
    if (member === undefined) throw new DerError('DER_NONEXIST', `SwimCluster: no member ${id}`)
    return member
  }

  private handle(id: MemberId, output: SwimOutput): void {
    for (const event of output.events) {
      const observed = { ...event, observer: id }
      this.events.push(observed)
      this.onEvent?.(observed)
    }
    for (const message of output.messages) this.transmit(message)
  }

  private transmit(message: SwimMessage): void {
    this.messagesSent++
    let payload: SwimMessage | Uint8Array = message
    if (this.wire) {
      payload = encodeSwimMessage(message)
      this.bytesSent += payload.length
    }
    const partitionFrom = this.partitionOf.get(message.from) ?? -1
    const partitionTo = this.partitionOf.get(message.to) ?? -1
    const dropped = partitionFrom !== partitionTo || (this.lossRate > 0 && this.random.chance(this.lossRate))
    this.onSend?.(message, dropped, this.nowMs)
    if (dropped) {
      this.messagesDropped++
      return
    }
    const receiver = this.members.get(message.to)
    const extraMs = receiver?.inboundDelayMs ?? 0
    const delayMs = this.minDelayMs + this.random.float() * (this.maxDelayMs - this.minDelayMs) + extraMs
    this.runtime.timers.schedule(delayMs, () => this.deliver(message.to, payload))
  }

  private deliver(to: MemberId, payload: SwimMessage | Uint8Array): void {
    const member = this.members.get(to)
    if (member === undefined || !member.up) return
    const message = payload instanceof Uint8Array ? decodeSwimMessage(payload) : payload
    this.handle(to, member.node.step(message, this.nowMs))
    this.reschedule(to)
  }

  private fire(id: MemberId): void {
    const member = this.get(id)
    member.timer = undefined
    member.timerDueMs = Number.POSITIVE_INFINITY
    if (!member.up) return
    this.handle(id, member.node.tick(this.nowMs))
    this.reschedule(id)
  }

  private reschedule(id: MemberId): void {
    const member = this.get(id)
    if (!member.up) return
    const dueMs = Math.max(this.nowMs, member.node.nextDeadlineMs())
    if (!Number.isFinite(dueMs) || dueMs >= member.timerDueMs) return
    if (member.timer !== undefined) this.runtime.timers.cancel(member.timer)
    member.timerDueMs = dueMs
    member.timer = this.runtime.timers.schedule(dueMs - this.nowMs, () => this.fire(id))
  }
}

function checkRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new DerError('DER_INVAL', `SwimCluster: loss rate must be in [0, 1], got ${rate}`)
  return rate
}
