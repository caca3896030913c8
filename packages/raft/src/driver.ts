/**
 * `RaftDriver`: runs one Raft node with a `Runtime` (time), a {@link Storage} (durability) and a
 * send callback (transport), handling each `Ready` in the documented order. A shared
 * {@link RaftTicker} drives any number of drivers from one timer, and `Ready` processing is
 * coalesced into one microtask per burst of inputs, so thousands of groups per process are cheap.
 *
 * @module
 */
import { DerError, type Runtime, type TimerHandle, isDerError } from '@x/common'
import { type RaftConfig, decodeConfChange } from './raft.ts'
import { type RaftStatus, RawNode, type Ready } from './raw-node.ts'
import type { Storage } from './storage.ts'
import type { ConfChange, ConfState, Entry, Message, Snapshot, SoftState } from './types.ts'

/** One timer that ticks many drivers. */
export class RaftTicker {
  private readonly drivers = new Set<RaftDriver>()
  private handle: TimerHandle | undefined

  constructor(
    private readonly runtime: Runtime,
    /** Milliseconds per Raft tick. */
    readonly tickMs: number,
  ) {
    if (!(tickMs > 0)) throw new DerError('DER_INVAL', `RaftTicker: tickMs must be > 0, got ${tickMs}`)
  }

  /** Starts ticking `driver`. */
  add(driver: RaftDriver): void {
    this.drivers.add(driver)
    this.handle ??= this.runtime.timers.repeat(this.tickMs, () => {
      for (const d of this.drivers) d.tick()
    }, { unref: true })
  }

  /** Stops ticking `driver` (and the timer when none is left). */
  remove(driver: RaftDriver): void {
    this.drivers.delete(driver)
    if (this.drivers.size === 0 && this.handle !== undefined) {
      this.runtime.timers.cancel(this.handle)
      this.handle = undefined
    }
  }

  /** Number of drivers ticked. */
  get size(): number {
    return this.drivers.size
  }
}

/** The application's state machine, as the driver sees it. */
export interface StateMachine {
  /** Replaces the state with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void
  /** Applies one committed `normal` entry (empty ones are the leaders' no-ops). */
  apply(entry: Entry): void
}

/** Options of {@link RaftDriver}. */
export interface RaftDriverOptions {
  readonly id: number
  readonly runtime: Runtime
  readonly storage: Storage
  /** Sends messages to peers (best effort; loss is tolerated). Called after they are durable. */
  readonly send: (messages: readonly Message[]) => void
  readonly stateMachine: StateMachine
  /** Ticks this driver; default: a private ticker of `tickMs`. */
  readonly ticker?: RaftTicker
  /** Milliseconds per tick for a private ticker (default 100). */
  readonly tickMs?: number
  /** Core options (election and heartbeat ticks, limits, pre-vote, check-quorum). */
  readonly raft?: Omit<RaftConfig, 'id' | 'storage' | 'random'>
  /** Called when the leader or role changes. */
  readonly onSoftState?: (state: SoftState) => void
  /** Called when the node cannot go on (a storage error); the driver has stopped. */
  readonly onFatal?: (error: unknown) => void
  /** Default timeout of proposals and reads (default 10 s). */
  readonly requestTimeoutMs?: number
}

interface ProposalWaiter {
  readonly term: number
  readonly resolve: (index: number) => void
  readonly reject: (error: DerError) => void
  readonly timer: TimerHandle
}

interface ReadWaiter {
  index: number
  readonly resolve: (index: number) => void
  readonly reject: (error: DerError) => void
  readonly timer: TimerHandle
}

/** Runs a {@link RawNode}. */
export class RaftDriver {
  readonly node: RawNode
  private readonly options: RaftDriverOptions
  private readonly ticker: RaftTicker
  private scheduled = false
  private running = false
  private applied: number
  private readonly proposals = new Map<number, ProposalWaiter>()
  private readonly reads = new Map<string, ReadWaiter>()
  private readonly readsByIndex: ReadWaiter[] = []
  private nextReadId = 1
  private readonly requestTimeoutMs: number
  /** Messages refused by the core (misaddressed, malformed, contradicting the log). */
  droppedMessages = 0

  constructor(options: RaftDriverOptions) {
    this.options = options
    const snapshot = options.storage.snapshot()
    this.applied = snapshot.metadata.index
    this.node = new RawNode({ ...options.raft, id: options.id, storage: options.storage, random: options.runtime.random.fork(), applied: this.applied })
    this.ticker = options.ticker ?? new RaftTicker(options.runtime, options.tickMs ?? 100)
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000
    if (snapshot.metadata.index > 0) options.stateMachine.restore(snapshot)
  }

  /** Starts ticking and processing. */
  start(): void {
    if (this.running) return
    this.running = true
    this.ticker.add(this)
    this.schedule()
  }

  /** Stops ticking; pending requests fail with DER_SHUTDOWN. */
  stop(): void {
    if (!this.running) return
    this.running = false
    this.ticker.remove(this)
    const error = new DerError('DER_SHUTDOWN', `raft node ${this.options.id} stopped`)
    for (const w of this.proposals.values()) this.settle(w, error)
    this.proposals.clear()
    for (const w of this.reads.values()) this.settle(w, error)
    this.reads.clear()
    this.readsByIndex.length = 0
  }

  /** Called by the ticker. */
  tick(): void {
    if (!this.running) return
    this.node.tick()
    this.schedule()
  }

  /** Delivers a message from a peer; malformed or misaddressed messages are dropped. */
  receive(message: Message): void {
    if (!this.running) return
    try {
      this.node.step(message)
    } catch (e) {
      if (!isDerError(e)) throw e
      this.droppedMessages++
    }
    this.schedule()
  }

  /** Starts an election. */
  campaign(): void {
    this.node.campaign()
    this.schedule()
  }

  /** Asks the leader to transfer leadership to `id`. */
  transferLeadership(id: number): void {
    this.node.transferLeadership(id)
    this.schedule()
  }

  /** The node's status. */
  status(): RaftStatus {
    return this.node.status()
  }

  /**
   * Proposes `data`; resolves with its index once applied here. Rejects with DER_NOTLEADER (not the
   * leader, or the entry was overwritten by a new leader), DER_BUSY, DER_TIMEDOUT or DER_SHUTDOWN.
   */
  propose(data: Uint8Array, timeoutMs = this.requestTimeoutMs): Promise<number> {
    return this.track(() => this.node.propose(data), timeoutMs)
  }

  /** Proposes a membership change; resolves with the entry's index once applied here. */
  proposeConfChange(cc: ConfChange, timeoutMs = this.requestTimeoutMs): Promise<number> {
    return this.track(() => this.node.proposeConfChange(cc), timeoutMs)
  }

  private track(propose: () => number, timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (!this.running) {
        reject(new DerError('DER_SHUTDOWN', `raft node ${this.options.id} is not running`))
        return
      }
      let index: number
      try {
        index = propose()
      } catch (e) {
        reject(e instanceof Error ? e : new DerError('DER_MISC', String(e)))
        return
      }
      const term = this.node.status().hardState.term
      const timer = this.options.runtime.timers.schedule(timeoutMs, () => {
        if (this.proposals.get(index) === waiter) this.proposals.delete(index)
        reject(new DerError('DER_TIMEDOUT', `proposal at index ${index} not applied within ${timeoutMs} ms`))
      })
      const waiter: ProposalWaiter = { term, resolve, reject, timer }
      this.proposals.get(index)?.reject(new DerError('DER_NOTLEADER', `index ${index} reused by term ${term}`))
      this.proposals.set(index, waiter)
      this.schedule()
    })
  }

  /** A linearizable read barrier: resolves with the read index once this node has applied it. */
  readIndex(timeoutMs = this.requestTimeoutMs): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const key = `${this.options.id}:${this.nextReadId++}`
      try {
        this.node.readIndex(new TextEncoder().encode(key))
      } catch (e) {
        reject(e instanceof Error ? e : new DerError('DER_MISC', String(e)))
        return
      }
      const timer = this.options.runtime.timers.schedule(timeoutMs, () => {
        this.reads.delete(key)
        const at = this.readsByIndex.indexOf(waiter)
        if (at >= 0) this.readsByIndex.splice(at, 1)
        reject(new DerError('DER_TIMEDOUT', `read index not confirmed within ${timeoutMs} ms`))
      })
      const waiter: ReadWaiter = { index: -1, resolve, reject, timer }
      this.reads.set(key, waiter)
      this.schedule()
    })
  }

  private settle(w: { reject: (e: DerError) => void; timer: TimerHandle }, error: DerError): void {
    this.options.runtime.timers.cancel(w.timer)
    w.reject(error)
  }

  private schedule(): void {
    if (this.scheduled || !this.running) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.process()
    })
  }

  /** Handles every pending `Ready`: persist, send, apply, advance. */
  process(): void {
    if (!this.running) return
    try {
      while (this.node.hasReady()) {
        const rd = this.node.ready()
        this.persist(rd)
        if (rd.messages.length > 0) this.options.send(rd.messages)
        this.applyReady(rd)
        this.node.advance(rd)
        if (rd.softState !== undefined) this.options.onSoftState?.(rd.softState)
      }
    } catch (e) {
      this.stop()
      this.options.onFatal?.(e)
      return
    }
  }

  private persist(rd: Ready): void {
    const storage = this.options.storage
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot)
    if (rd.entries.length > 0) storage.append(rd.entries)
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState)
    if (rd.mustSync || rd.snapshot !== undefined) storage.sync()
  }

  private applyReady(rd: Ready): void {
    if (rd.snapshot !== undefined) {
      this.options.stateMachine.restore(rd.snapshot)
      this.applied = rd.snapshot.metadata.index
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') this.node.applyConfChange(decodeConfChange(e.data))
      else this.options.stateMachine.apply(e)
      this.applied = e.index
      const waiter = this.proposals.get(e.index)
      if (waiter !== undefined) {
        this.proposals.delete(e.index)
        this.options.runtime.timers.cancel(waiter.timer)
        if (waiter.term === e.term) waiter.resolve(e.index)
        else waiter.reject(new DerError('DER_NOTLEADER', `entry ${e.index} was replaced by a new leader's (term ${e.term})`))
      }
    }
    if (this.proposals.size > 0) {
      for (const [index, waiter] of this.proposals) {
        if (index <= this.applied && rd.snapshot !== undefined) {
          this.proposals.delete(index)
          this.settle(waiter, new DerError('DER_NOTLEADER', `entry ${index} was covered by a snapshot; outcome unknown`))
        }
      }
    }
    for (const rs of rd.readStates) {
      const key = new TextDecoder().decode(rs.requestContext)
      const waiter = this.reads.get(key)
      if (waiter === undefined) continue
      this.reads.delete(key)
      waiter.index = rs.index
      this.readsByIndex.push(waiter)
    }
    if (this.readsByIndex.length > 0) {
      for (let i = this.readsByIndex.length - 1; i >= 0; i--) {
        const w = this.readsByIndex[i] as ReadWaiter
        if (w.index <= this.applied) {
          this.readsByIndex.splice(i, 1)
          this.options.runtime.timers.cancel(w.timer)
          w.resolve(w.index)
        }
      }
    }
  }

  /** The applied index (the state machine's position). */
  get appliedIndex(): number {
    return this.applied
  }

  /** The current membership. */
  confState(): ConfState {
    return this.node.raft.confState()
  }
}
