/**
 * The replicated state machine: a deterministic {@link ServiceMachine} behind a dedup table of
 * client sessions ({@link RsmCore}, pure), run on a Raft group by {@link ReplicatedService}
 * (proposals answered with the command's own result or typed error, leader-only writes with a
 * leader hint, read-index reads, periodic snapshots and log compaction).
 *
 * @module
 */
import { DecodeError, DerError, type DerName, type Runtime, type StructCodec, decodeStruct, encodeStruct, isDerError, isDerName, toDerError } from '@x/common'
import { type Entry, type Message, RaftDriver, type RaftDriverOptions, type RaftTicker, type Snapshot, type SoftState, type Storage } from '@x/raft'
import { type Value, ValueReader, decodeValue, encodeValue } from './value.ts'

/**
 * A deterministic service state machine. `apply` must give the same result and the same state on
 * every replica for the same sequence of commands, and must leave the state untouched when it
 * throws (a typed `DerError`).
 */
export interface ServiceMachine {
  /** Leader-side check of a command against the current state, before it enters the log. No state change. */
  validate(command: Uint8Array): void
  /** Applies a committed command; returns its result bytes, or throws a `DerError` with no state change. */
  apply(command: Uint8Array): Uint8Array
  /** The whole state as bytes (equal states give equal bytes). */
  snapshot(): Uint8Array
  /** Replaces the state with a snapshot's; throws a `DecodeError` on bad bytes, leaving the state as it was. */
  restore(bytes: Uint8Array): void
}

/** Identifies a client request for exactly-once application: retries reuse the same id. */
export interface RequestId {
  /** The client's session id (non-empty, at most 128 characters). */
  readonly clientId: string
  /** The request's sequence number within the session (>= 1, increasing; one request at a time). */
  readonly seq: number
}

/** The outcome of an applied command. */
export type Outcome = { readonly ok: true; readonly result: Uint8Array } | { readonly ok: false; readonly error: DerName; readonly message: string }

/** A log entry's payload: the request id (empty client id: none) and the command. */
export interface RsmEntry {
  readonly clientId: string
  readonly seq: number
  readonly command: Uint8Array
}

/** The versioned codec of {@link RsmEntry} (struct `x.engine.rsm-entry`, version 1). */
export const rsmEntryCodec: StructCodec<RsmEntry> = {
  name: 'x.engine.rsm-entry',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => {
    e.string(v.clientId).varuint(v.seq).bytes(v.command)
  },
  decodeFields: (d) => {
    const clientId = d.string()
    const seq = d.varuint()
    const command = d.bytes().slice()
    if (clientId.length > 128) d.malformed('client id longer than 128 characters')
    return { clientId, seq, command }
  },
}

/** Throws the error of a failed outcome, or returns the result of a successful one. */
export function unwrapOutcome(outcome: Outcome): Uint8Array {
  if (outcome.ok) return outcome.result
  throw new DerError(outcome.error, outcome.message)
}

function checkRequestId(request: RequestId): void {
  if (request.clientId.length === 0 || request.clientId.length > 128) throw new DerError('DER_INVAL', `client id must have 1..128 characters, got ${request.clientId.length}`)
  if (!Number.isSafeInteger(request.seq) || request.seq < 1) throw new DerError('DER_INVAL', `request seq must be an integer >= 1, got ${request.seq}`)
}

interface Session {
  seq: number
  outcome: Outcome
  lastIndex: number
}

function outcomeToValue(o: Outcome): Value {
  return o.ok ? { ok: true, result: o.result } : { ok: false, error: o.error, message: o.message }
}

function outcomeFromValue(v: Value): Outcome {
  const r = ValueReader.of(v, 'outcome')
  if (r.bool('ok')) return { ok: true, result: r.bytes('result') }
  const error = r.string('error')
  if (!isDerName(error)) throw new DecodeError('malformed', `outcome: unknown error ${error}`, 0)
  return { ok: false, error, message: r.string('message') }
}

/**
 * The pure core of the replicated state machine: decodes log entries, deduplicates requests by
 * client session (the last outcome of each session is kept, and in snapshots), applies the rest.
 */
export class RsmCore {
  private sessions = new Map<string, Session>()

  constructor(
    readonly machine: ServiceMachine,
    /** Sessions kept; beyond it the least recently used one is forgotten (deterministically). */
    readonly maxSessions = 4096,
  ) {}

  /** The cached outcome of request `request` if it was already applied. */
  cached(request: RequestId): Outcome | undefined {
    const s = this.sessions.get(request.clientId)
    if (s === undefined || request.seq > s.seq) return undefined
    if (request.seq === s.seq) return s.outcome
    return { ok: false, error: 'DER_STALE', message: `request ${request.clientId}#${request.seq} is older than the session's last (${s.seq})` }
  }

  /** Applies the payload of the committed entry `index`; returns its outcome. */
  applyEntry(index: number, data: Uint8Array): Outcome {
    let entry: RsmEntry
    try {
      entry = decodeStruct(rsmEntryCodec, data)
    } catch (e) {
      const error = toDerError(e)
      return { ok: false, error: error.name, message: `undecodable entry ${index}: ${error.message}` }
    }
    const dedup = entry.clientId.length > 0
    if (dedup) {
      const cached = this.cached(entry)
      if (cached !== undefined) return cached
    }
    let outcome: Outcome
    try {
      outcome = { ok: true, result: this.machine.apply(entry.command) }
    } catch (e) {
      if (!isDerError(e)) throw e
      outcome = { ok: false, error: e.name, message: e.message }
    }
    if (dedup) {
      this.sessions.set(entry.clientId, { seq: entry.seq, outcome, lastIndex: index })
      if (this.sessions.size > this.maxSessions) this.evictOldest()
    }
    return outcome
  }

  private evictOldest(): void {
    let oldest: string | undefined
    let at = Infinity
    for (const [id, s] of this.sessions) {
      if (s.lastIndex < at || (s.lastIndex === at && oldest !== undefined && id < oldest)) {
        oldest = id
        at = s.lastIndex
      }
    }
    if (oldest !== undefined) this.sessions.delete(oldest)
  }

  /** Number of client sessions remembered. */
  get sessionCount(): number {
    return this.sessions.size
  }

  /** The sessions and the machine's state as bytes. */
  snapshot(): Uint8Array {
    const sessions = [...this.sessions.keys()].sort().map((id) => {
      const s = this.sessions.get(id) as Session
      return { id, seq: s.seq, lastIndex: s.lastIndex, outcome: outcomeToValue(s.outcome) }
    })
    return encodeValue({ sessions, machine: this.machine.snapshot() })
  }

  /** Restores sessions and machine from {@link RsmCore.snapshot} bytes; on bad bytes nothing changes. */
  restore(bytes: Uint8Array): void {
    const r = ValueReader.of(decodeValue(bytes), 'rsm snapshot')
    const sessions = new Map<string, Session>()
    for (const v of r.array('sessions')) {
      const s = ValueReader.of(v, 'session')
      sessions.set(s.string('id'), { seq: s.uint('seq'), lastIndex: s.uint('lastIndex'), outcome: outcomeFromValue(s.record['outcome'] ?? null) })
    }
    this.machine.restore(r.bytes('machine'))
    this.sessions = sessions
  }
}

/** A DER_NOTLEADER error carrying the known leader (0: unknown) in `details.leaderHint`. */
export function notLeaderError(nodeId: number, leaderHint: number): DerError {
  return new DerError('DER_NOTLEADER', `node ${nodeId} is not the leader${leaderHint === 0 ? ' (leader unknown)' : `; try ${leaderHint}`}`, { details: { leaderHint } })
}

/** The leader hint of a DER_NOTLEADER error (0 when unknown or not such an error). */
export function leaderHintOf(error: unknown): number {
  if (!isDerError(error, 'DER_NOTLEADER')) return 0
  const hint = error.details['leaderHint']
  return typeof hint === 'number' ? hint : 0
}

/** Options of {@link ReplicatedService}. */
export interface ReplicatedServiceOptions<M extends ServiceMachine> {
  /** This replica's Raft node id. */
  readonly id: number
  readonly runtime: Runtime
  readonly storage: Storage
  /** Sends Raft messages to peers (best effort). */
  readonly send: (messages: readonly Message[]) => void
  /** The service's state machine (a fresh one: a snapshot in storage is restored into it). */
  readonly machine: M
  /** A shared ticker (default: a private one of `tickMs`). */
  readonly ticker?: RaftTicker
  /** Milliseconds per tick of a private ticker. */
  readonly tickMs?: number
  /** Raft core options. */
  readonly raft?: RaftDriverOptions['raft']
  /** A snapshot is taken when this many entries were applied since the last one (default 1000). */
  readonly snapshotEveryEntries?: number
  /** Entries kept in the log below a new snapshot, for slightly lagging followers (default 50). */
  readonly keepEntriesAfterSnapshot?: number
  /** Default timeout of submissions and reads (default 10 s). */
  readonly requestTimeoutMs?: number
  /** Sessions remembered for deduplication (default 4096). */
  readonly maxSessions?: number
  /** Called when the leader or role changes. */
  readonly onSoftState?: (state: SoftState) => void
  /** Called when the replica cannot go on (storage error); it has stopped. */
  readonly onFatal?: (error: unknown) => void
}

/** Options of {@link ReplicatedService.read}. */
export interface ReadOptions {
  /** Serve on a follower after a read-index round through the leader (default: leader only). */
  readonly followerRead?: boolean
  readonly timeoutMs?: number
}

const outcomeWindow = 4096

/** One replica of a replicated service: a {@link ServiceMachine} on an `@x/raft` `RaftDriver`. */
export class ReplicatedService<M extends ServiceMachine> {
  readonly core: RsmCore
  readonly driver: RaftDriver
  readonly machine: M
  private readonly options: ReplicatedServiceOptions<M>
  private readonly outcomes = new Map<number, Outcome>()
  private readonly snapshotEvery: number
  private readonly keepEntries: number
  private snapshotPending = false
  private running = false
  /** Snapshots this replica created. */
  snapshotsTaken = 0
  /** Snapshots this replica restored (at start or received from the leader). */
  snapshotsRestored = 0

  constructor(options: ReplicatedServiceOptions<M>) {
    this.options = options
    this.machine = options.machine
    this.core = new RsmCore(options.machine, options.maxSessions)
    this.snapshotEvery = options.snapshotEveryEntries ?? 1000
    this.keepEntries = options.keepEntriesAfterSnapshot ?? 50
    if (!(Number.isSafeInteger(this.snapshotEvery) && this.snapshotEvery >= 1)) throw new DerError('DER_INVAL', `snapshotEveryEntries must be an integer >= 1, got ${this.snapshotEvery}`)
    if (!(Number.isSafeInteger(this.keepEntries) && this.keepEntries >= 0)) throw new DerError('DER_INVAL', `keepEntriesAfterSnapshot must be an integer >= 0, got ${this.keepEntries}`)
    const stateMachine = {
      restore: (snapshot: Snapshot): void => {
        this.core.restore(snapshot.data)
        this.snapshotsRestored++
      },
      apply: (entry: Entry): void => this.applyEntry(entry),
    }
    this.driver = new RaftDriver({
      id: options.id,
      runtime: options.runtime,
      storage: options.storage,
      send: options.send,
      stateMachine,
      ...(options.ticker !== undefined ? { ticker: options.ticker } : {}),
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.raft !== undefined ? { raft: options.raft } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.onSoftState !== undefined ? { onSoftState: options.onSoftState } : {}),
      onFatal: (e) => {
        this.running = false
        options.onFatal?.(e)
      },
    })
  }

  /** This replica's node id. */
  get id(): number {
    return this.options.id
  }

  /** Starts the replica. */
  start(): void {
    this.running = true
    this.driver.start()
  }

  /** Stops the replica; pending requests fail with DER_SHUTDOWN. */
  stop(): void {
    this.running = false
    this.driver.stop()
  }

  /** Delivers a Raft message from a peer. */
  receive(message: Message): void {
    this.driver.receive(message)
  }

  /** Whether the replica runs (false after `stop` or a fatal storage error). */
  get isRunning(): boolean {
    return this.running
  }

  /** Whether this replica is the leader now. */
  isLeader(): boolean {
    return this.driver.node.raft.softState().role === 'leader'
  }

  /** The leader this replica knows of (0: none). */
  leaderHint(): number {
    return this.driver.node.raft.softState().lead
  }

  private applyEntry(entry: Entry): void {
    if (entry.data.length === 0) return
    const outcome = this.core.applyEntry(entry.index, entry.data)
    this.outcomes.set(entry.index, outcome)
    this.outcomes.delete(entry.index - outcomeWindow)
    if (!this.snapshotPending && entry.index - this.options.storage.snapshot().metadata.index >= this.snapshotEvery) {
      this.snapshotPending = true
      queueMicrotask(() => {
        this.snapshotPending = false
        this.takeSnapshot()
      })
    }
  }

  /** Snapshots the state at the applied index and compacts the log (no-op if nothing is new). */
  takeSnapshot(): void {
    if (!this.running) return
    const storage = this.options.storage
    const index = this.driver.appliedIndex
    if (index <= storage.snapshot().metadata.index || index > storage.lastIndex()) return
    try {
      storage.createSnapshot(index, this.driver.confState(), this.core.snapshot())
      const compactTo = index - this.keepEntries
      if (compactTo >= storage.firstIndex()) storage.compact(compactTo)
      storage.sync()
      this.snapshotsTaken++
    } catch (e) {
      this.stop()
      this.options.onFatal?.(e)
    }
  }

  /**
   * Submits a command: validated here against the current state (a refusal is confirmed after a
   * read-index round, so it never rests on a lagging state, and nothing enters the log), proposed, and answered with its result once applied, or its typed
   * error. With a `request` id, a retry of an applied request returns the first outcome.
   * Non-leaders answer DER_NOTLEADER with `details.leaderHint`. After a DER_NOTLEADER or
   * DER_TIMEDOUT the outcome is unknown: retry with the same request id (it applies at most once).
   */
  async submit(command: Uint8Array, request?: RequestId, timeoutMs?: number): Promise<Uint8Array> {
    if (request !== undefined) checkRequestId(request)
    if (!this.running) throw new DerError('DER_SHUTDOWN', `replica ${this.id} is not running`)
    if (!this.isLeader()) throw notLeaderError(this.id, this.leaderHint())
    if (request !== undefined) {
      const cached = this.core.cached(request)
      if (cached !== undefined) return unwrapOutcome(cached)
    }
    try {
      this.machine.validate(command)
    } catch (e) {
      // This replica's state may lag the log (a new leader applies its predecessors' entries only
      // after its own first entry commits): refuse only against a state confirmed by a read-index
      // round, so a refusal never contradicts a write acknowledged before the request.
      if (!isDerError(e) || e instanceof DecodeError) throw e
      await this.driver.readIndex(timeoutMs)
      if (!this.isLeader()) throw notLeaderError(this.id, this.leaderHint())
      if (request !== undefined) {
        const cached = this.core.cached(request)
        if (cached !== undefined) return unwrapOutcome(cached)
      }
      this.machine.validate(command)
    }
    const data = encodeStruct(rsmEntryCodec, { clientId: request?.clientId ?? '', seq: request?.seq ?? 0, command })
    let index: number
    try {
      index = await this.driver.propose(data, timeoutMs)
    } catch (e) {
      if (isDerError(e, 'DER_NOTLEADER')) throw notLeaderError(this.id, this.leaderHint())
      throw e
    }
    const outcome = this.outcomes.get(index)
    this.outcomes.delete(index)
    if (outcome === undefined) throw new DerError('DER_NOTLEADER', `outcome of entry ${index} unknown here; retry with the same request id`, { details: { leaderHint: this.leaderHint() } })
    return unwrapOutcome(outcome)
  }

  /**
   * A linearizable read: waits for a read-index round, then runs `query` on the machine. Leader
   * only unless `followerRead` (then through the known leader).
   */
  async read<T>(query: (machine: M) => T, options: ReadOptions = {}): Promise<T> {
    if (!this.running) throw new DerError('DER_SHUTDOWN', `replica ${this.id} is not running`)
    const status = this.driver.node.raft.softState()
    if (status.role !== 'leader' && (options.followerRead !== true || status.lead === 0)) throw notLeaderError(this.id, status.lead)
    await this.driver.readIndex(options.timeoutMs)
    return query(this.machine)
  }
}
