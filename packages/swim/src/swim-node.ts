/**
 * `SwimNode`: one member's SWIM protocol state machine with Lifeguard, as a pure core. Time comes
 * in through `nowMs` arguments, randomness from an injected `Random`; messages and events go out
 * as return values. The adapter sends the messages, delivers the events, and calls
 * {@link SwimNode.tick} again at {@link SwimNode.nextDeadlineMs}.
 *
 * @module
 */
import { DerError, type Random, assert } from '@x/common'
import { Awareness } from './awareness.ts'
import { BroadcastQueue } from './broadcast-queue.ts'
import { type SwimConfig, resolveSwimConfig, retransmitLimit, suspicionConfirmationsNeeded, suspicionMaxTimeoutMs, suspicionMinTimeoutMs } from './config.ts'
import { checkSwimMessage } from './message-check.ts'
import { Suspicion } from './suspicion.ts'
import { type MemberId, type MemberState, type MemberUpdate, type MembershipEvent, type SwimBody, type SwimMessage, type SwimOutput } from './types.ts'

/** What one node knows about one other member. */
export interface MemberInfo {
  /** The member. */
  readonly id: MemberId
  /** The highest incarnation seen for it. */
  readonly incarnation: number
  /** Its state in this node's view. */
  readonly state: MemberState
  /** When this node last changed the member's state or incarnation. */
  readonly changedAtMs: number
}

/** Counters of what a node received and did, for tests, metrics and benchmarks. */
export interface SwimStats {
  /** Messages passed to `step`. */
  messagesIn: number
  /** Messages produced. */
  messagesOut: number
  /** Messages ignored because the sender is not a member (and the message is not a join). */
  ignoredNonMember: number
  /** Messages ignored because they were addressed to another member or came from this one. */
  ignoredMisdirected: number
  /** Acks and nacks ignored because no probe or relay was waiting for them. */
  ignoredUnexpected: number
  /** Updates ignored because their incarnation was older than the one known. */
  staleUpdates: number
  /** Non-alive updates ignored because they were about unknown members. */
  unknownMemberUpdates: number
  /** Times this node refuted a claim about itself by raising its incarnation. */
  refutations: number
  /** Direct probes started. */
  probes: number
  /** Probes that ended without an ack. */
  failedProbes: number
}

/** Options of a {@link SwimNode}. */
export interface SwimNodeInit {
  /** This member's id. */
  readonly self: MemberId
  /** This member's incarnation at start: a restarted member must use a higher one (default 0). */
  readonly incarnation?: number
  /** The configuration (default: the LAN profile). Build it with {@link resolveSwimConfig}. */
  readonly config?: SwimConfig
  /** The random stream for probe order and helper choice (`runtime.random.fork()`). */
  readonly random: Random
  /** The time of creation. */
  readonly nowMs: number
  /** A static initial group (the DAOS group map), all `alive` at incarnation 0; no events. */
  readonly members?: readonly MemberId[]
}

interface MemberRecord {
  readonly id: MemberId
  incarnation: number
  state: MemberState
  changedAtMs: number
}

interface Probe {
  readonly seq: number
  readonly target: MemberId
  /** `member`: a real probe; `dead`: a ping to a dead member, or any probe while leaving. */
  readonly kind: 'member' | 'dead'
  readonly directDeadlineMs: number
  finalDeadlineMs: number | undefined
  helpers: MemberId[]
  readonly nacks: Set<MemberId>
}

interface Relay {
  readonly origin: MemberId
  readonly originSeq: number
  readonly target: MemberId
  readonly nackAtMs: number
  readonly expireAtMs: number
  nackSent: boolean
}

/**
 * One member's SWIM state machine: randomized round-robin probing, ping-req through
 * `indirectChecks` helpers, suspicion with incarnations and refutation, confirm-dead,
 * piggybacked dissemination with a retransmit limit, join and graceful leave, and Lifeguard's
 * local health awareness, dynamic suspicion and buddy system.
 */
export class SwimNode {
  /** The configuration in force. */
  readonly config: SwimConfig
  /** Counters. */
  readonly stats: SwimStats = {
    messagesIn: 0,
    messagesOut: 0,
    ignoredNonMember: 0,
    ignoredMisdirected: 0,
    ignoredUnexpected: 0,
    staleUpdates: 0,
    unknownMemberUpdates: 0,
    refutations: 0,
    probes: 0,
    failedProbes: 0,
  }
  private readonly selfId: MemberId
  private selfIncarnation: number
  private readonly random: Random
  private readonly records = new Map<MemberId, MemberRecord>()
  private readonly suspicions = new Map<MemberId, Suspicion>()
  private readonly probes = new Map<number, Probe>()
  private readonly relays = new Map<number, Relay>()
  private readonly queue = new BroadcastQueue()
  private readonly awareness: Awareness
  private probeOrder: MemberId[] = []
  private probeIndex = 0
  private periods = 0
  private nextSeq = 1
  private nowMs: number
  private lastReceivedAtMs: number
  private nextProbeAtMs: number
  private nextGossipAtMs: number
  private pendingJoinSeeds = new Set<MemberId>()
  private joinRetryAtMs = Number.POSITIVE_INFINITY
  private leaving = false
  /** Fresher updates owed to the sender of the message being handled (it sent stale accusations). */
  private corrections: MemberUpdate[] = []
  private correctionsFor: MemberId | undefined
  private outMessages: SwimMessage[] = []
  private outEvents: MembershipEvent[] = []

  constructor(init: SwimNodeInit) {
    checkMemberId(init.self, 'self')
    const incarnation = init.incarnation ?? 0
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) throw new DerError('DER_INVAL', `swim: incarnation must be a non-negative safe integer, got ${incarnation}`)
    if (!Number.isFinite(init.nowMs)) throw new DerError('DER_INVAL', `swim: nowMs must be finite, got ${init.nowMs}`)
    this.config = init.config ?? resolveSwimConfig()
    this.selfId = init.self
    this.selfIncarnation = incarnation
    this.random = init.random
    this.awareness = new Awareness(this.config.awarenessMaxMultiplier, this.config.lifeguard.localHealthAwareness)
    this.nowMs = init.nowMs
    this.lastReceivedAtMs = init.nowMs
    for (const id of init.members ?? []) {
      checkMemberId(id, 'members[]')
      if (id !== this.selfId) this.records.set(id, { id, incarnation: 0, state: 'alive', changedAtMs: init.nowMs })
    }
    this.reshuffle()
    // The first probe is spread over one period so that a group started together does not probe in lockstep.
    this.nextProbeAtMs = init.nowMs + this.random.int(this.config.probeIntervalMs)
    this.nextGossipAtMs = this.config.gossipFanout > 0 ? init.nowMs + this.random.int(this.config.gossipIntervalMs) : Number.POSITIVE_INFINITY
  }

  /** This member's id. */
  get self(): MemberId {
    return this.selfId
  }

  /** This member's current incarnation (raised by each refutation). */
  get incarnation(): number {
    return this.selfIncarnation
  }

  /** Lifeguard's local health score (0 is healthy). */
  get healthScore(): number {
    return this.awareness.score
  }

  /** Whether {@link SwimNode.leave} was called. */
  get isLeaving(): boolean {
    return this.leaving
  }

  /**
   * Whether a leave has been announced enough times (the `left` update used up its retransmit
   * budget): the adapter may stop this node.
   */
  get isLeaveComplete(): boolean {
    return this.leaving && this.queue.peek(this.selfId) === undefined
  }

  /** Whether a join is still waiting for a seed's answer. */
  get isJoining(): boolean {
    return this.pendingJoinSeeds.size > 0
  }

  /** What this node knows about `id` (undefined for itself and for strangers). */
  member(id: MemberId): MemberInfo | undefined {
    const record = this.records.get(id)
    return record === undefined ? undefined : { ...record }
  }

  /** Every other member this node knows, in id order. */
  members(): MemberInfo[] {
    return [...this.records.values()].sort((a, b) => a.id - b.id).map((r) => ({ ...r }))
  }

  /** Members in state `alive` or `suspect`, this node included. */
  get liveMemberCount(): number {
    let count = 1
    for (const record of this.records.values()) if (record.state === 'alive' || record.state === 'suspect') count++
    return count
  }

  /** The earliest time at which {@link SwimNode.tick} has work to do. */
  nextDeadlineMs(): number {
    let deadline = Math.min(this.nextProbeAtMs, this.joinRetryAtMs, this.queue.size > 0 ? this.nextGossipAtMs : Number.POSITIVE_INFINITY)
    for (const probe of this.probes.values()) deadline = Math.min(deadline, probe.finalDeadlineMs ?? probe.directDeadlineMs)
    for (const relay of this.relays.values()) deadline = Math.min(deadline, relay.nackSent ? relay.expireAtMs : relay.nackAtMs)
    for (const suspicion of this.suspicions.values()) deadline = Math.min(deadline, suspicion.deadlineMs)
    return deadline
  }

  /**
   * Advances time to `nowMs`: sends nacks for relays that timed out, turns timed-out direct probes
   * into ping-reqs, suspects targets of failed probes, confirms expired suspicions as dead,
   * retries a pending join, and starts the next protocol period when due.
   */
  tick(nowMs: number): SwimOutput {
    this.advanceTo(nowMs)
    for (const [seq, relay] of this.relays) {
      if (!relay.nackSent && nowMs >= relay.nackAtMs) {
        relay.nackSent = true
        this.send(relay.origin, { type: 'nack', seq: relay.originSeq })
      }
      if (nowMs >= relay.expireAtMs) this.relays.delete(seq)
    }
    for (const probe of [...this.probes.values()]) this.advanceProbe(probe)
    for (const [id, suspicion] of [...this.suspicions]) {
      if (nowMs < suspicion.deadlineMs) continue
      if (this.config.outageGuard && nowMs - this.lastReceivedAtMs > (2 / 3) * suspicionMinTimeoutMs(this.config, this.liveMemberCount)) {
        suspicion.postpone(this.config.probeIntervalMs)
        continue
      }
      this.suspicions.delete(id)
      this.applyUpdate({ member: id, incarnation: suspicion.incarnation, state: 'dead', reporter: this.selfId })
    }
    if (this.pendingJoinSeeds.size > 0 && nowMs >= this.joinRetryAtMs) {
      for (const seed of this.pendingJoinSeeds) this.send(seed, { type: 'join' })
      this.joinRetryAtMs = nowMs + this.config.probeIntervalMs
    }
    if (nowMs >= this.nextGossipAtMs) {
      this.gossip()
      this.nextGossipAtMs = nowMs + this.config.gossipIntervalMs
    }
    if (nowMs >= this.nextProbeAtMs) {
      this.startPeriod()
      this.nextProbeAtMs = nowMs + this.awareness.scale(this.config.probeIntervalMs)
    }
    return this.drain()
  }

  /**
   * Handles one received message at `nowMs`. Messages from non-members (other than joins),
   * messages for another member, and stale updates are ignored and counted in
   * {@link SwimNode.stats}. Throws `DER_INVAL` (with no state change) for a message that is not
   * well formed.
   */
  step(message: SwimMessage, nowMs: number): SwimOutput {
    checkSwimMessage(message)
    this.advanceTo(nowMs)
    this.stats.messagesIn++
    const { from, body } = message
    if (message.to !== this.selfId || from === this.selfId) {
      this.stats.ignoredMisdirected++
      return this.drain()
    }
    this.lastReceivedAtMs = nowMs
    const known = this.records.has(from)
    const expectedSync = body.type === 'sync' && this.pendingJoinSeeds.has(from)
    if (!known && body.type !== 'join' && !expectedSync) {
      this.stats.ignoredNonMember++
      return this.drain()
    }
    // A message is proof that its sender is alive at its incarnation.
    this.applyUpdate({ member: from, incarnation: message.fromIncarnation, state: 'alive', reporter: from })
    this.correctionsFor = from
    // A member we hold dead talks to us: tell it, so that it refutes (a healed partition).
    const sender = this.records.get(from)
    if (sender?.state === 'dead') this.correct({ member: from, incarnation: sender.incarnation, state: 'dead', reporter: this.selfId }, true)
    for (const update of message.updates) this.applyUpdate(update)
    switch (body.type) {
      case 'ping':
        this.send(from, { type: 'ack', seq: body.seq })
        break
      case 'ping-req':
        this.relayPing(from, body.seq, body.target)
        break
      case 'ack':
        this.handleAck(from, body.seq)
        break
      case 'nack': {
        const probe = this.probes.get(body.seq)
        if (probe !== undefined && probe.helpers.includes(from)) probe.nacks.add(from)
        else this.stats.ignoredUnexpected++
        break
      }
      case 'join':
        this.send(from, { type: 'sync', members: this.snapshot() })
        break
      case 'gossip':
        break
      case 'sync':
        if (this.pendingJoinSeeds.size > 0) {
          for (const update of body.members) this.applyUpdate(update)
          this.pendingJoinSeeds.clear()
          this.joinRetryAtMs = Number.POSITIVE_INFINITY
        }
        break
    }
    // Corrections no reply carried go back on their own.
    if (this.corrections.length > 0) this.send(from, { type: 'gossip' })
    this.correctionsFor = undefined
    return this.drain()
  }

  /**
   * Joins a group through `seeds`: sends each a join (retried every period until one answers with
   * its membership table) and queues this member's `alive` update for dissemination.
   */
  join(seeds: readonly MemberId[], nowMs: number): SwimOutput {
    for (const seed of seeds) checkMemberId(seed, 'seeds[]')
    this.advanceTo(nowMs)
    this.queue.push({ member: this.selfId, incarnation: this.selfIncarnation, state: 'alive', reporter: this.selfId })
    this.pendingJoinSeeds = new Set(seeds.filter((s) => s !== this.selfId))
    for (const seed of this.pendingJoinSeeds) this.send(seed, { type: 'join' })
    this.joinRetryAtMs = this.pendingJoinSeeds.size > 0 ? nowMs + this.config.probeIntervalMs : Number.POSITIVE_INFINITY
    return this.drain()
  }

  /**
   * Leaves gracefully: disseminates `left` at the current incarnation. The node keeps answering
   * and gossiping (its own probes no longer suspect anyone) until {@link SwimNode.isLeaveComplete}.
   */
  leave(nowMs: number): SwimOutput {
    this.advanceTo(nowMs)
    if (!this.leaving) {
      this.leaving = true
      this.queue.push({ member: this.selfId, incarnation: this.selfIncarnation, state: 'left', reporter: this.selfId })
      this.suspicions.clear()
    }
    return this.drain()
  }

  private advanceTo(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new DerError('DER_INVAL', `swim: nowMs must be finite, got ${nowMs}`)
    assert(nowMs >= this.nowMs, `swim: time went back from ${this.nowMs} to ${nowMs}`)
    this.nowMs = nowMs
  }

  private drain(): SwimOutput {
    const output = { messages: this.outMessages, events: this.outEvents }
    this.stats.messagesOut += this.outMessages.length
    this.outMessages = []
    this.outEvents = []
    return output
  }

  private allocateSeq(): number {
    const seq = this.nextSeq
    this.nextSeq = (this.nextSeq + 1) >>> 0
    return seq
  }

  private send(to: MemberId, body: SwimBody, first?: MemberUpdate): void {
    const updates: MemberUpdate[] = first === undefined ? [] : [first]
    if (to === this.correctionsFor && this.corrections.length > 0 && body.type !== 'sync' && body.type !== 'join') {
      updates.push(...this.corrections.slice(0, Math.max(1, this.config.maxPiggybackUpdates - updates.length)))
      this.corrections = []
    }
    if (body.type !== 'sync' && body.type !== 'join') {
      const limit = retransmitLimit(this.config.retransmitMult, this.liveMemberCount)
      updates.push(...this.queue.take(this.config.maxPiggybackUpdates - updates.length, limit, updates.map((u) => u.member)))
      if (body.type === 'gossip' && updates.length === 0) return
    } else if (body.type === 'join') {
      updates.push({ member: this.selfId, incarnation: this.selfIncarnation, state: this.leaving ? 'left' : 'alive', reporter: this.selfId })
    }
    this.outMessages.push({ from: this.selfId, fromIncarnation: this.selfIncarnation, to, body, updates })
  }

  private snapshot(): MemberUpdate[] {
    const updates: MemberUpdate[] = [{ member: this.selfId, incarnation: this.selfIncarnation, state: this.leaving ? 'left' : 'alive', reporter: this.selfId }]
    for (const record of this.records.values()) updates.push({ member: record.id, incarnation: record.incarnation, state: record.state, reporter: this.selfId })
    return updates
  }

  private isProbeable(id: MemberId): boolean {
    const state = this.records.get(id)?.state
    return state === 'alive' || state === 'suspect'
  }

  private reshuffle(): void {
    this.probeOrder = this.random.shuffle([...this.records.keys()].filter((id) => this.isProbeable(id)))
    this.probeIndex = 0
  }

  private nextProbeTarget(): MemberId | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.probeIndex < this.probeOrder.length) {
        const id = this.probeOrder[this.probeIndex++] as MemberId
        if (this.isProbeable(id)) return id
      }
      this.reshuffle()
    }
    return undefined
  }

  private startPeriod(): void {
    this.periods++
    const target = this.nextProbeTarget()
    if (target !== undefined) {
      const record = this.records.get(target) as MemberRecord
      const buddy = this.config.lifeguard.buddySystem && record.state === 'suspect'
      this.startProbe(target, this.leaving ? 'dead' : 'member', buddy ? { member: target, incarnation: record.incarnation, state: 'suspect', reporter: this.selfId } : undefined)
    }
    if (this.config.deadProbeEveryPeriods > 0 && this.periods % this.config.deadProbeEveryPeriods === 0) {
      const dead = [...this.records.values()].filter((r) => r.state === 'dead')
      if (dead.length > 0) {
        const record = this.random.pick(dead)
        this.startProbe(record.id, 'dead', { member: record.id, incarnation: record.incarnation, state: 'dead', reporter: this.selfId })
      }
    }
  }

  private gossip(): void {
    if (this.queue.size === 0) return
    const live = [...this.records.values()].filter((r) => r.state === 'alive' || r.state === 'suspect').map((r) => r.id)
    for (const id of this.random.shuffle(live).slice(0, this.config.gossipFanout)) {
      if (this.queue.size === 0) break
      this.send(id, { type: 'gossip' })
    }
  }

  private startProbe(target: MemberId, kind: Probe['kind'], first: MemberUpdate | undefined): void {
    const seq = this.allocateSeq()
    if (kind === 'member') this.stats.probes++
    this.probes.set(seq, { seq, target, kind, directDeadlineMs: this.nowMs + this.awareness.scale(this.config.probeTimeoutMs), finalDeadlineMs: undefined, helpers: [], nacks: new Set() })
    this.send(target, { type: 'ping', seq }, first)
  }

  private advanceProbe(probe: Probe): void {
    if (probe.finalDeadlineMs === undefined) {
      if (this.nowMs < probe.directDeadlineMs) return
      if (probe.kind !== 'member' || !this.isProbeable(probe.target)) {
        this.probes.delete(probe.seq)
        return
      }
      const candidates = [...this.records.values()].filter((r) => r.state === 'alive' && r.id !== probe.target).map((r) => r.id)
      probe.helpers = this.random.shuffle(candidates).slice(0, this.config.indirectChecks)
      for (const helper of probe.helpers) this.send(helper, { type: 'ping-req', seq: probe.seq, target: probe.target })
      probe.finalDeadlineMs = probe.directDeadlineMs + this.awareness.scale(this.config.indirectProbeTimeoutMs)
    }
    if (this.nowMs < probe.finalDeadlineMs) return
    this.probes.delete(probe.seq)
    this.stats.failedProbes++
    // Lifeguard: helpers that did not even nack point at our own poor health; without helpers a
    // failed probe counts against us too, since we cannot tell whose fault it was.
    const expectedNacks = probe.helpers.length
    this.awareness.applyDelta(expectedNacks > 0 ? expectedNacks - probe.nacks.size : 1)
    const record = this.records.get(probe.target)
    if (record === undefined || this.leaving || !this.isProbeable(probe.target)) return
    this.applyUpdate({ member: probe.target, incarnation: record.incarnation, state: 'suspect', reporter: this.selfId })
  }

  private handleAck(from: MemberId, seq: number): void {
    const probe = this.probes.get(seq)
    if (probe !== undefined && (from === probe.target || probe.helpers.includes(from))) {
      this.probes.delete(seq)
      if (probe.kind === 'member') this.awareness.applyDelta(-1)
      return
    }
    const relay = this.relays.get(seq)
    if (relay !== undefined && from === relay.target) {
      this.relays.delete(seq)
      this.send(relay.origin, { type: 'ack', seq: relay.originSeq })
      return
    }
    this.stats.ignoredUnexpected++
  }

  private relayPing(origin: MemberId, originSeq: number, target: MemberId): void {
    if (target === this.selfId || target === origin) {
      this.stats.ignoredUnexpected++
      return
    }
    const record = this.records.get(target)
    const seq = this.allocateSeq()
    const nackAfterMs = Math.max(1, Math.floor(this.config.indirectProbeTimeoutMs * 0.8))
    this.relays.set(seq, { origin, originSeq, target, nackAtMs: this.nowMs + nackAfterMs, expireAtMs: this.nowMs + this.config.indirectProbeTimeoutMs, nackSent: false })
    const buddy = this.config.lifeguard.buddySystem && record?.state === 'suspect'
    this.send(target, { type: 'ping', seq }, buddy ? { member: target, incarnation: record.incarnation, state: 'suspect', reporter: this.selfId } : undefined)
  }

  private correct(update: MemberUpdate, aboutSender = false): void {
    if (this.correctionsFor === undefined || (this.correctionsFor === update.member) !== aboutSender) return
    if (!this.corrections.some((u) => u.member === update.member)) this.corrections.push(update)
  }

  private emit(type: MemberState, member: MemberId, incarnation: number): void {
    this.outEvents.push({ type, member, incarnation, atMs: this.nowMs })
  }

  private refute(claimed: number): void {
    this.selfIncarnation = Math.max(this.selfIncarnation, claimed) + 1
    this.stats.refutations++
    this.awareness.applyDelta(1)
    this.queue.push({ member: this.selfId, incarnation: this.selfIncarnation, state: 'alive', reporter: this.selfId })
  }

  private startSuspicion(record: MemberRecord, originator: MemberId): void {
    const liveCount = this.liveMemberCount
    const dynamic = this.config.lifeguard.dynamicSuspicion
    const minMs = suspicionMinTimeoutMs(this.config, liveCount)
    const maxMs = dynamic ? suspicionMaxTimeoutMs(this.config, liveCount) : minMs
    this.suspicions.set(
      record.id,
      new Suspicion({
        incarnation: record.incarnation,
        startedAtMs: this.nowMs,
        originator,
        // Confirmations only matter when they can shorten the timeout.
        expectedConfirmations: maxMs > minMs ? suspicionConfirmationsNeeded(this.config, liveCount) : 0,
        minMs,
        maxMs,
      }),
    )
  }

  /** Applies one update with SWIM's precedence rules; the heart of the state machine. */
  private applyUpdate(update: MemberUpdate): void {
    if (update.member === this.selfId) {
      if (this.leaving) return
      const accusing = update.state !== 'alive'
      if ((accusing && update.incarnation >= this.selfIncarnation) || (!accusing && update.incarnation > this.selfIncarnation)) this.refute(update.incarnation)
      else if (accusing) this.correct({ member: this.selfId, incarnation: this.selfIncarnation, state: 'alive', reporter: this.selfId })
      return
    }
    const record = this.records.get(update.member)
    if (record === undefined) {
      if (update.state !== 'alive') {
        this.stats.unknownMemberUpdates++
        return
      }
      this.records.set(update.member, { id: update.member, incarnation: update.incarnation, state: 'alive', changedAtMs: this.nowMs })
      this.probeOrder.splice(this.random.int(this.probeOrder.length + 1), 0, update.member)
      this.emit('alive', update.member, update.incarnation)
      this.queue.push(update)
      return
    }
    if (update.incarnation < record.incarnation) {
      this.stats.staleUpdates++
      // The sender holds an outdated accusation; without a correction it would confirm a member
      // that refuted long ago (its suspicion expires alone, since nobody else repeats it).
      if (update.state !== 'alive' && update.state !== 'left' && (record.state === 'alive' || record.state === 'suspect')) {
        this.correct({ member: record.id, incarnation: record.incarnation, state: record.state, reporter: this.selfId })
      }
      return
    }
    const final = record.state === 'dead' || record.state === 'left'
    switch (update.state) {
      case 'alive': {
        if (update.incarnation === record.incarnation) return
        const wasLive = !final
        this.setState(record, 'alive', update.incarnation)
        this.suspicions.delete(record.id)
        if (!wasLive && !this.probeOrder.includes(record.id)) this.probeOrder.splice(this.random.int(this.probeOrder.length + 1), 0, record.id)
        this.queue.push(update)
        return
      }
      case 'suspect': {
        if (final && update.incarnation === record.incarnation) return
        if (record.state === 'suspect' && update.incarnation === record.incarnation) {
          const suspicion = this.suspicions.get(record.id)
          if (suspicion?.confirm(update.reporter) === true) this.queue.push(update)
          return
        }
        this.setState(record, 'suspect', update.incarnation)
        this.startSuspicion(record, update.reporter)
        this.queue.push(update)
        return
      }
      case 'dead':
      case 'left': {
        if (final && update.incarnation === record.incarnation) return
        this.setState(record, update.state, update.incarnation)
        this.suspicions.delete(record.id)
        this.queue.push(update)
        return
      }
    }
  }

  private setState(record: MemberRecord, state: MemberState, incarnation: number): void {
    const changed = record.state !== state
    record.state = state
    record.incarnation = incarnation
    record.changedAtMs = this.nowMs
    if (changed || state !== 'alive') this.emit(state, record.id, incarnation)
  }
}

function checkMemberId(id: unknown, what: string): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) {
    throw new DerError('DER_INVAL', `swim: ${what} must be a member id (u32), got ${String(id)}`)
  }
}
