/**
 * The Raft state machine (one node): roles, elections with pre-vote and check-quorum, log
 * replication with flow control, snapshots, single-server membership changes, leadership transfer
 * and read-index. Pure: inputs are {@link Raft.tick} and {@link Raft.step}, outputs accumulate in
 * {@link Raft.msgs} and the log, and are drained by `RawNode`'s `Ready`.
 *
 * @module
 */
import { DerError, type Random, assert } from '@x/common'
import { RaftLog } from './raft-log.ts'
import { Progress } from './progress.ts'
import { type Storage, storageErrorKind } from './storage.ts'
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  NO_NODE,
  type RaftRole,
  type ReadState,
  type Snapshot,
  type SoftState,
  emptyBytes,
  message,
} from './types.ts'

/** Configuration of one Raft node. Times are counted in calls to `tick()`. */
export interface RaftConfig {
  /** This node's id (> 0). */
  readonly id: number
  /** Storage holding the node's durable state; the core reads it on start and for old entries. */
  readonly storage: Storage
  /** The node's random stream (randomized election timeouts). */
  readonly random: Random
  /** Ticks without hearing from a leader before campaigning: randomized in [n, 2n). Default 10. */
  readonly electionTicks?: number
  /** Ticks between leader heartbeats. Default 1. */
  readonly heartbeatTicks?: number
  /** The last index the application has applied (on restart); default: the snapshot's index. */
  readonly applied?: number
  /** Upper bound of entry bytes in one `MsgApp`. Default 1 MiB. */
  readonly maxSizePerMsgBytes?: number
  /** In-flight `MsgApp`s per follower in state replicate. Default 256. */
  readonly maxInflightMsgs?: number
  /** Upper bound of committed entry bytes per `Ready`. Default 64 MiB. */
  readonly maxApplyBytes?: number
  /** Pre-vote phase before real elections (thesis 9.6). Default true. */
  readonly preVote?: boolean
  /** Leaders step down without a quorum; followers ignore votes within a lease (thesis 6.2). Default true. */
  readonly checkQuorum?: boolean
  /** Size of one `MsgSnap` chunk. Default 1 MiB. */
  readonly maxSnapshotChunkBytes?: number
  /**
   * Randomize election timeouts in [electionTicks, 2 * electionTicks) (default true). Tests turn it
   * off to get exactly `electionTicks`.
   */
  readonly randomizedElectionTimeout?: boolean
  /**
   * How reads are confirmed: `'safe'` (default) sends a heartbeat round per read-index request;
   * `'lease'` lets a leader answer at once while it holds a lease (see {@link leaseTicksFor}),
   * falling back to a heartbeat round otherwise. Leases need `checkQuorum`.
   */
  readonly readOnly?: 'safe' | 'lease'
  /**
   * Lease mode: the largest relative rate difference between any two nodes' tick clocks (0.1 = a
   * follower's ticks may run up to 10% faster than the leader's). Default 0.1.
   */
  readonly maxClockDriftRatio?: number
  /** Receives human-readable trace lines (role changes, rejections). */
  readonly logger?: (line: string) => void
}

/**
 * The length of a leader lease in the leader's ticks: `floor((electionTicks - 1) / (1 + drift)) - 1`.
 *
 * A follower ignores (non-forced) vote requests for `electionTicks` of its own ticks after it last
 * heard from the leader, and it heard the heartbeat after the leader sent it. So from the send tick
 * of a heartbeat round acknowledged by a quorum, no other leader can be elected for
 * `electionTicks - 1` follower ticks (one tick of phase), which is at least
 * `(electionTicks - 1) / (1 + drift)` leader ticks when follower clocks run at most `1 + drift` times
 * faster; one more tick is taken off for the leader's own phase. Restarted nodes keep the promise by
 * ignoring votes for their first `electionTicks` (a startup lease). Transfers (forced elections)
 * end the lease: a leader with a transfer in progress confirms reads with a heartbeat round.
 */
export function leaseTicksFor(electionTicks: number, maxClockDriftRatio: number): number {
  return Math.floor((electionTicks - 1) / (1 + maxClockDriftRatio)) - 1
}

/** Marks an election forced by leadership transfer: voters ignore their leader lease. */
export const campaignTransferContext: Uint8Array = new TextEncoder().encode('transfer')

function isTransferContext(context: Uint8Array): boolean {
  if (context.length !== campaignTransferContext.length) return false
  for (let i = 0; i < context.length; i++) if (context[i] !== campaignTransferContext[i]) return false
  return true
}

function contextKey(context: Uint8Array): string {
  let s = ''
  for (const b of context) s += b.toString(16).padStart(2, '0')
  return s
}

interface ReadIndexStatus {
  readonly request: Message
  readonly index: number
  readonly acks: Set<number>
}

/** Accumulates snapshot chunks on a follower. */
interface SnapshotAssembly {
  readonly from: number
  readonly term: number
  readonly index: number
  readonly parts: Uint8Array[]
  received: number
}

/** Encodes/decodes `confChange` entry data (a tiny fixed format). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const bytes = new Uint8Array(9)
  bytes[0] = cc.type === 'addNode' ? 1 : cc.type === 'addLearner' ? 2 : 3
  new DataView(bytes.buffer).setFloat64(1, cc.nodeId, true)
  return bytes
}

/** Decodes the data of a `confChange` entry; throws DER_INVAL on malformed bytes. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length !== 9) throw new DerError('DER_INVAL', `conf change: expected 9 bytes, got ${data.length}`)
  const kind = data[0]
  const nodeId = new DataView(data.buffer, data.byteOffset, data.length).getFloat64(1, true)
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) throw new DerError('DER_INVAL', `conf change: bad node id ${nodeId}`)
  const type = kind === 1 ? 'addNode' : kind === 2 ? 'addLearner' : kind === 3 ? 'removeNode' : undefined
  if (type === undefined) throw new DerError('DER_INVAL', `conf change: bad type ${kind}`)
  return { type, nodeId }
}

/** One Raft node's state machine. Not thread-safe, not re-entrant; use through `RawNode`. */
export class Raft {
  /** This node's id. */
  readonly id: number
  /** The current term (durable). */
  term = 0
  /** The candidate voted for in the current term (durable). */
  vote = NO_NODE
  /** The known leader of the current term, or `NO_NODE`. */
  lead = NO_NODE
  /** This node's role. */
  role: RaftRole = 'follower'
  /** The log (storage plus unstable suffix). */
  readonly log: RaftLog
  /** Peers (and self) by id, voters and learners. */
  progress = new Map<number, Progress>()
  /** Votes received in the current (pre-)campaign. */
  private votes = new Map<number, boolean>()
  /** Messages to send, drained by `Ready`. */
  msgs: Message[] = []
  /** Read-index answers for local requests, drained by `Ready`. */
  readStates: ReadState[] = []
  /** The target of a leadership transfer in progress, or `NO_NODE`. */
  leadTransferee = NO_NODE
  /** Index of the last conf change proposed; a new one waits until it is applied. */
  pendingConfIndex = 0
  /** Ticks since the last election timeout reset (heard from the leader, voted, campaigned). */
  electionElapsed = 0
  /** Leader: ticks since the last heartbeat broadcast. */
  heartbeatElapsed = 0
  private randomizedElectionTimeout: number
  /** Election timeout in ticks (the base of the randomized timeout, and the check-quorum period). */
  readonly electionTimeout: number
  /** Heartbeat period in ticks. */
  readonly heartbeatTimeout: number
  /** Whether elections start with a pre-vote phase. */
  readonly preVote: boolean
  /** Whether check-quorum and leader leases are on. */
  readonly checkQuorum: boolean
  /** Lease length in ticks when lease reads are on, else 0. */
  readonly leaseTicks: number
  /** Ticks since this node started (the leader's clock for leases). */
  private ticks = 0
  /** Lease mode: votes are ignored until this many ticks have passed since start. */
  private startupLeaseTicks = 0
  /** Leader: per peer, the send tick of the latest heartbeat round it acknowledged. */
  private ackedRoundTick = new Map<number, number>()
  private readonly maxMsgSize: number
  private readonly maxInflight: number
  private readonly maxSnapshotChunk: number
  private readonly random: Random
  private readonly jitter: boolean
  private readonly logger: ((line: string) => void) | undefined
  private readOnlyQueue: ReadIndexStatus[] = []
  private readOnlyByKey = new Map<string, ReadIndexStatus>()
  private pendingReadIndexMessages: Message[] = []
  private snapshotAssembly: SnapshotAssembly | undefined

  constructor(config: RaftConfig) {
    if (!Number.isSafeInteger(config.id) || config.id <= 0) throw new DerError('DER_INVAL', `raft: id must be a positive integer, got ${config.id}`)
    this.id = config.id
    this.electionTimeout = config.electionTicks ?? 10
    this.heartbeatTimeout = config.heartbeatTicks ?? 1
    if (!(Number.isSafeInteger(this.heartbeatTimeout) && Number.isSafeInteger(this.electionTimeout) && this.heartbeatTimeout > 0 && this.electionTimeout > this.heartbeatTimeout)) {
      throw new DerError('DER_INVAL', `raft: need 0 < heartbeatTicks < electionTicks, got ${this.heartbeatTimeout} and ${this.electionTimeout}`)
    }
    this.preVote = config.preVote ?? true
    this.checkQuorum = config.checkQuorum ?? true
    const drift = config.maxClockDriftRatio ?? 0.1
    if (config.readOnly === 'lease') {
      if (!this.checkQuorum) throw new DerError('DER_INVAL', 'raft: lease reads need checkQuorum')
      if (!(drift >= 0 && drift < 1)) throw new DerError('DER_INVAL', `raft: maxClockDriftRatio must be in [0, 1), got ${drift}`)
      this.leaseTicks = Math.max(0, leaseTicksFor(this.electionTimeout, drift))
      this.startupLeaseTicks = this.electionTimeout
    } else {
      this.leaseTicks = 0
    }
    this.maxMsgSize = config.maxSizePerMsgBytes ?? 1 << 20
    this.maxInflight = config.maxInflightMsgs ?? 256
    this.maxSnapshotChunk = config.maxSnapshotChunkBytes ?? 1 << 20
    for (const [name, value, min] of [
      ['maxSizePerMsgBytes', this.maxMsgSize, 0],
      ['maxInflightMsgs', this.maxInflight, 1],
      ['maxSnapshotChunkBytes', this.maxSnapshotChunk, 1],
      ['maxApplyBytes', config.maxApplyBytes ?? 1, 0],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) throw new DerError('DER_INVAL', `raft: ${name} must be an integer >= ${min}, got ${value}`)
    }
    this.random = config.random
    this.jitter = config.randomizedElectionTimeout ?? true
    this.logger = config.logger
    this.log = new RaftLog(config.storage, config.maxApplyBytes ?? 64 << 20)
    const { hardState, confState } = config.storage.initialState()
    this.applyConfState(confState)
    if (hardState.term !== 0 || hardState.vote !== 0 || hardState.commit !== 0) this.loadHardState(hardState)
    if (config.applied !== undefined && config.applied > 0) {
      if (config.applied < this.log.applied || config.applied > this.log.committed) {
        throw new DerError('DER_INVAL', `raft: applied ${config.applied} outside [${this.log.applied}, ${this.log.committed}]`)
      }
      this.log.appliedTo(config.applied)
    }
    this.randomizedElectionTimeout = this.electionTimeout
    this.becomeFollower(this.term, NO_NODE)
  }

  private trace(line: string): void {
    this.logger?.(`${this.id} ${line}`)
  }

  private loadHardState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new DerError('DER_INVAL', `raft: hard state commit ${hs.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`)
    }
    this.log.committed = hs.commit
    this.term = hs.term
    this.vote = hs.vote
  }

  /** The durable state to persist. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  /** The volatile leader / role state. */
  softState(): SoftState {
    return { lead: this.lead, role: this.role }
  }

  /** The current membership. */
  confState(): ConfState {
    const voters: number[] = []
    const learners: number[] = []
    for (const [id, pr] of this.progress) (pr.isLearner ? learners : voters).push(id)
    return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) }
  }

  private voterIds(): number[] {
    const ids: number[] = []
    for (const [id, pr] of this.progress) if (!pr.isLearner) ids.push(id)
    return ids
  }

  private quorum(): number {
    return Math.floor(this.voterIds().length / 2) + 1
  }

  /** Whether this node may become leader: it is a voter in the configuration. */
  promotable(): boolean {
    const pr = this.progress.get(this.id)
    return pr !== undefined && !pr.isLearner
  }

  private applyConfState(cs: ConfState): void {
    this.progress = new Map()
    const next = this.log.lastIndex() + 1
    for (const id of cs.voters) this.progress.set(id, new Progress(next, this.maxInflight, false))
    for (const id of cs.learners) this.progress.set(id, new Progress(next, this.maxInflight, true))
    const self = this.progress.get(this.id)
    if (self !== undefined) self.match = this.log.lastIndex()
  }

  private send(fields: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    const m = message({ from: this.id, ...fields })
    let term = m.term
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      assert(term !== 0, `${m.type} must carry a term`)
    } else if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') {
      term = this.term
    }
    this.msgs.push(term === m.term ? m : { ...m, term })
  }

  // ---- replication (leader) ----

  /** Sends an append (or the snapshot) to `to` if flow control allows; returns whether it sent. */
  private maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.log.term(prevIndex)
    let entries: Entry[] | undefined
    if (prevTerm !== undefined) {
      try {
        entries = this.log.entriesFrom(pr.next, this.maxMsgSize)
      } catch (e) {
        if (storageErrorKind(e) === undefined) throw e
      }
    }
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr)
    if (entries.length === 0 && !sendIfEmpty) return false
    this.send({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed })
    if (entries.length > 0) {
      const last = (entries[entries.length - 1] as Entry).index
      if (pr.state === 'replicate') {
        pr.optimisticUpdate(last)
        pr.inflights.add(last)
      } else if (pr.state === 'probe') {
        pr.probeSent = true
      }
    } else if (pr.state === 'probe') {
      pr.probeSent = true
    }
    return true
  }

  private sendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) return false
    let snap: Snapshot
    try {
      snap = this.log.snapshot()
    } catch (e) {
      if (storageErrorKind(e) === 'snapshotTemporarilyUnavailable') return false
      throw e
    }
    assert(snap.metadata.index > 0, 'need a non-empty snapshot')
    pr.becomeSnapshot(snap.metadata.index)
    this.trace(`sends snapshot ${snap.metadata.index}/${snap.metadata.term} to ${to} (${pr.toString()})`)
    const total = snap.data.length
    let offset = 0
    do {
      const chunk = snap.data.subarray(offset, Math.min(total, offset + this.maxSnapshotChunk))
      this.send({ type: 'MsgSnap', to, snapshot: { metadata: snap.metadata, data: chunk }, chunk: { offsetBytes: offset, totalBytes: total } })
      offset += chunk.length
    } while (offset < total)
    return true
  }

  private sendAppend(to: number): void {
    this.maybeSendAppend(to, true)
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id)
  }

  private sendHeartbeat(to: number, context: Uint8Array): void {
    const pr = this.progress.get(to)
    const commit = Math.min(pr?.match ?? 0, this.log.committed)
    this.send({ type: 'MsgHeartbeat', to, commit, context, index: this.leaseTicks > 0 ? this.ticks : 0 })
  }

  private bcastHeartbeat(context: Uint8Array = emptyBytes): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, context)
  }

  /** Commit index by counting replicas: the largest index matched by a quorum of voters. */
  private quorumMatchIndex(): number {
    const matches = this.voterIds()
      .map((id) => (this.progress.get(id) as Progress).match)
      .sort((a, b) => b - a)
    if (matches.length === 0) return 0
    return matches[this.quorum() - 1] as number
  }

  private maybeCommit(): boolean {
    return this.log.maybeCommit(this.quorumMatchIndex(), this.term)
  }

  private appendEntries(entries: { type: Entry['type']; data: Uint8Array }[]): void {
    let index = this.log.lastIndex()
    const es: Entry[] = entries.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }))
    this.log.append(es)
    this.progress.get(this.id)?.maybeUpdate(this.log.lastIndex())
    this.maybeCommit()
  }

  // ---- role transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NO_NODE
    }
    this.lead = NO_NODE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.electionTimeout + (this.jitter ? this.random.int(this.electionTimeout) : 0)
    this.leadTransferee = NO_NODE
    this.votes = new Map()
    const last = this.log.lastIndex()
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(last + 1, this.maxInflight, pr.isLearner)
      if (id === this.id) fresh.match = last
      this.progress.set(id, fresh)
    }
    this.pendingConfIndex = 0
    this.readOnlyQueue = []
    this.readOnlyByKey = new Map()
    this.pendingReadIndexMessages = []
  }

  /** Becomes a follower of `lead` (or of nobody) in `term`. */
  becomeFollower(term: number, lead: number): void {
    this.reset(term)
    this.lead = lead
    this.role = 'follower'
    this.trace(`became follower at term ${this.term}`)
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition leader -> preCandidate')
    this.votes = new Map()
    this.lead = NO_NODE
    this.role = 'preCandidate'
    this.trace(`became pre-candidate at term ${this.term}`)
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition leader -> candidate')
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
    this.trace(`became candidate at term ${this.term}`)
  }

  private becomeLeader(): void {
    assert(this.role !== 'follower', 'invalid transition follower -> leader')
    this.reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    const self = this.progress.get(this.id)
    if (self !== undefined) self.becomeReplicate()
    // Conf changes wait until this term's first entry (and so every earlier one) is applied.
    this.pendingConfIndex = this.log.lastIndex()
    this.leaderSinceTick = this.ticks
    this.sentTimeoutNow = false
    this.ackedRoundTick = new Map()
    this.appendEntries([{ type: 'normal', data: emptyBytes }])
    this.trace(`became leader at term ${this.term}`)
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex())
    if (lo > this.log.committed) return false
    try {
      return this.log.slice(lo, this.log.committed + 1).some((e) => e.type === 'confChange')
    } catch (e) {
      if (storageErrorKind(e) !== undefined) return false
      throw e
    }
  }

  private campaign(kind: 'preElection' | 'election' | 'transfer'): void {
    if (!this.promotable()) return
    let voteType: MessageType
    let term: number
    if (kind === 'preElection') {
      this.becomePreCandidate()
      voteType = 'MsgPreVote'
      term = this.term + 1
    } else {
      this.becomeCandidate()
      voteType = 'MsgVote'
      term = this.term
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'preElection') this.campaign('election')
      else this.becomeLeader()
      return
    }
    const context = kind === 'transfer' ? campaignTransferContext : emptyBytes
    for (const id of this.voterIds()) {
      if (id === this.id) continue
      this.trace(`sent ${voteType} for term ${term} to ${id} (log ${this.log.lastTerm()}/${this.log.lastIndex()})`)
      this.send({ type: voteType, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), context })
    }
  }

  private poll(from: number, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted)
    let yes = 0
    let no = 0
    for (const id of this.voterIds()) {
      const v = this.votes.get(id)
      if (v === true) yes++
      else if (v === false) no++
    }
    const q = this.quorum()
    if (yes >= q) return 'won'
    if (no >= this.voterIds().length - q + 1) return 'lost'
    return 'pending'
  }

  // ---- inputs ----

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticks++
    if (this.role === 'leader') this.tickHeartbeat()
    else this.tickElection()
  }

  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.step(message({ type: 'MsgHup', from: this.id }))
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0
      if (this.checkQuorum) this.step(message({ type: 'MsgCheckQuorum', from: this.id }))
      if (this.role === 'leader' && this.leadTransferee !== NO_NODE) {
        this.trace(`abandons transfer to ${this.leadTransferee}`)
        this.leadTransferee = NO_NODE
      }
    }
    if (this.role !== 'leader') return
    for (const [id, pr] of this.progress) {
      if (id !== this.id && pr.state === 'snapshot' && ++pr.snapshotTicks >= this.electionTimeout) pr.becomeProbe()
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0
      this.step(message({ type: 'MsgBeat', from: this.id }))
    }
  }

  /**
   * Processes one message (local or from a peer). Stale-term messages are ignored (or answered so
   * the sender learns the term); messages from nodes outside the configuration are answered but never
   * counted. Throws DER_INVAL for messages not addressed to this node, and DER_PROTO (no change to
   * the log) for appends that contradict the committed log.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isTransferContext(m.context)
        const inLease = (this.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.electionTimeout) || this.ticks < this.startupLeaseTicks
        if (!force && inLease) {
          this.trace(`ignored ${m.type} from ${m.from} at term ${m.term}: lease not expired (leader ${this.lead})`)
          return
        }
      }
      if (m.type === 'MsgPreVote') {
        // never change term on a pre-vote
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // the term is bumped when the pre-vote wins
      } else {
        this.trace(`received ${m.type} from ${m.from} at higher term ${m.term}`)
        if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') this.becomeFollower(m.term, m.from)
        else this.becomeFollower(m.term, NO_NODE)
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // Tell a stale leader (e.g. one that was partitioned) about the newer term.
        this.send({ type: 'MsgAppResp', to: m.from })
      } else if (m.type === 'MsgPreVote') {
        this.send({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true })
      }
      return
    }

    switch (m.type) {
      case 'MsgHup':
        if (this.role === 'leader') return
        if (this.hasUnappliedConfChanges()) {
          this.trace('cannot campaign: committed conf changes not yet applied')
          return
        }
        this.campaign(this.preVote ? 'preElection' : 'election')
        return
      case 'MsgVote':
      case 'MsgPreVote': {
        const canVote = this.vote === m.from || (this.vote === NO_NODE && this.lead === NO_NODE) || (m.type === 'MsgPreVote' && m.term > this.term)
        const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp'
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.trace(`cast ${m.type} for ${m.from} at term ${m.term}`)
          this.send({ type: respType, to: m.from, term: m.term })
          if (m.type === 'MsgVote') {
            this.electionElapsed = 0
            this.vote = m.from
          }
        } else {
          this.trace(`rejected ${m.type} from ${m.from} at term ${m.term}`)
          this.send({ type: respType, to: m.from, term: this.term, reject: true })
        }
        return
      }
      default:
        break
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m)
        return
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m)
        return
      case 'follower':
        this.stepFollower(m)
        return
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat()
        return
      case 'MsgCheckQuorum': {
        let active = 0
        for (const [id, pr] of this.progress) {
          if (pr.isLearner) continue
          if (id === this.id || pr.recentActive) active++
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false
        if (active < this.quorum()) {
          this.trace('stepped down: no quorum heard from in an election timeout')
          this.becomeFollower(this.term, NO_NODE)
        }
        return
      }
      case 'MsgProp': {
        if (m.entries.length === 0) return
        if (!this.progress.has(this.id)) throw new DerError('DER_NOTLEADER', 'proposal dropped: this leader was removed from the configuration')
        if (this.leadTransferee !== NO_NODE) throw new DerError('DER_BUSY', `proposal dropped: leadership transfer to ${this.leadTransferee} in progress`)
        for (const e of m.entries) {
          if (e.type !== 'confChange') continue
          if (this.pendingConfIndex > this.log.applied) {
            throw new DerError('DER_BUSY', `conf change refused: the previous one (index ${this.pendingConfIndex}) is not applied yet (applied ${this.log.applied})`)
          }
          decodeConfChange(e.data)
        }
        const before = this.log.lastIndex()
        this.appendEntries(m.entries.map((e) => ({ type: e.type, data: e.data })))
        m.entries.forEach((e, i) => {
          if (e.type === 'confChange') this.pendingConfIndex = before + i + 1
        })
        this.bcastAppend()
        return
      }
      case 'MsgReadIndex':
        this.handleReadIndexAsLeader(m)
        return
      case 'MsgTransferLeader':
        this.handleTransferLeader(m)
        return
      default:
        break
    }
    const pr = this.progress.get(m.from)
    if (pr === undefined) {
      this.trace(`ignored ${m.type} from ${m.from}: not in the configuration`)
      return
    }
    switch (m.type) {
      case 'MsgAppResp': {
        pr.recentActive = true
        if (m.reject) {
          this.trace(`received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`)
          let nextProbe = m.rejectHint
          if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm)[0]
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === 'replicate') pr.becomeProbe()
            this.sendAppend(m.from)
          }
          return
        }
        const oldPaused = pr.isPaused()
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
          if (pr.state === 'probe') pr.becomeReplicate()
          else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
            pr.becomeProbe()
            pr.becomeReplicate()
          } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index)
          if (this.maybeCommit()) {
            this.releasePendingReadIndexMessages()
            this.bcastAppend()
          } else if (oldPaused) {
            this.sendAppend(m.from)
          }
          while (this.maybeSendAppend(m.from, false)) {
            // fill the pipeline
          }
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
            this.trace(`sent MsgTimeoutNow to ${m.from} after its log caught up`)
            this.sendTimeoutNow(m.from)
          }
        }
        return
      }
      case 'MsgHeartbeatResp':
        pr.recentActive = true
        if (m.index > (this.ackedRoundTick.get(m.from) ?? -1)) this.ackedRoundTick.set(m.from, m.index)
        pr.probeSent = false
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne()
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from)
        if (m.context.length > 0) this.ackReadIndex(m.from, m.context)
        return
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') return
        if (m.reject) {
          pr.becomeProbe()
          pr.probeSent = true // wait for a heartbeat answer before probing again
        } else {
          pr.becomeProbe()
        }
        return
      case 'MsgUnreachable':
        if (pr.state === 'replicate') pr.becomeProbe()
        return
      default:
        return
    }
  }

  private stepCandidate(m: Message): void {
    const myResp = this.role === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp'
    switch (m.type) {
      case 'MsgProp':
        throw new DerError('DER_NOTLEADER', 'proposal dropped: no leader (election in progress)')
      case 'MsgApp':
        this.becomeFollower(m.term, m.from)
        this.handleAppendEntries(m)
        return
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from)
        this.handleHeartbeat(m)
        return
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from)
        this.handleSnapshot(m)
        return
      case 'MsgPreVoteResp':
      case 'MsgVoteResp': {
        if (m.type !== myResp) return
        if (!this.progress.has(m.from)) return
        const result = this.poll(m.from, !m.reject)
        this.trace(`received ${m.type}${m.reject ? ' rejection' : ''} from ${m.from} at term ${this.term}`)
        if (result === 'won') {
          if (this.role === 'preCandidate') this.campaign('election')
          else {
            this.becomeLeader()
            this.bcastAppend()
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NO_NODE)
        }
        return
      }
      case 'MsgTimeoutNow':
        return
      case 'MsgReadIndex':
      case 'MsgTransferLeader':
        throw new DerError('DER_NOTLEADER', `${m.type} dropped: no leader (election in progress)`)
      default:
        return
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgProp':
        throw new DerError('DER_NOTLEADER', 'proposal dropped: this node is not the leader', { details: { leader: this.lead } })
      case 'MsgApp':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleAppendEntries(m)
        return
      case 'MsgHeartbeat':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        return
      case 'MsgSnap':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleSnapshot(m)
        return
      case 'MsgTransferLeader':
        if (this.lead === NO_NODE) throw new DerError('DER_NOTLEADER', 'transfer dropped: no leader known')
        this.send({ type: 'MsgTransferLeader', to: this.lead, from: m.from, index: m.index })
        return
      case 'MsgTimeoutNow':
        this.trace(`received MsgTimeoutNow from ${m.from}: campaigning at once`)
        this.campaign('transfer')
        return
      case 'MsgReadIndex':
        if (m.from === this.id) {
          if (this.lead === NO_NODE) throw new DerError('DER_NOTLEADER', 'read index dropped: no leader known')
          this.send({ type: 'MsgReadIndex', to: this.lead, entries: m.entries, context: m.context })
        }
        return
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, requestContext: m.context })
        return
      default:
        return
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.committed })
      return
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      this.send({ type: 'MsgAppResp', to: m.from, index: lastNew })
      return
    }
    const hintIndex = Math.min(m.index, this.log.lastIndex())
    const [index, term] = this.log.findConflictByTerm(hintIndex, m.logTerm)
    this.trace(`rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`)
    this.send({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: index, logTerm: term })
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit)
    this.send({ type: 'MsgHeartbeatResp', to: m.from, context: m.context, index: m.index })
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot
    const chunk = m.chunk
    if (snap === undefined || chunk === undefined) throw new DerError('DER_INVAL', 'MsgSnap without snapshot or chunk')
    const meta = snap.metadata
    let assembly = this.snapshotAssembly
    if (chunk.offsetBytes === 0) {
      assembly = { from: m.from, term: m.term, index: meta.index, parts: [], received: 0 }
      this.snapshotAssembly = assembly
    }
    if (assembly === undefined || assembly.from !== m.from || assembly.term !== m.term || assembly.index !== meta.index || assembly.received !== chunk.offsetBytes) {
      this.trace(`dropped snapshot chunk at ${chunk.offsetBytes} of ${meta.index}/${meta.term} from ${m.from}: out of order`)
      this.snapshotAssembly = undefined
      this.send({ type: 'MsgSnapStatus', to: m.from, reject: true })
      return
    }
    assembly.parts.push(snap.data)
    assembly.received += snap.data.length
    if (assembly.received < chunk.totalBytes) return
    this.snapshotAssembly = undefined
    const data = new Uint8Array(assembly.received)
    let at = 0
    for (const p of assembly.parts) {
      data.set(p, at)
      at += p.length
    }
    const whole: Snapshot = { metadata: meta, data }
    if (this.restore(whole)) {
      this.trace(`restored snapshot ${meta.index}/${meta.term}`)
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.lastIndex() })
    } else {
      this.trace(`ignored snapshot ${meta.index}/${meta.term}`)
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.committed })
    }
  }

  /** Installs a snapshot unless the log already has it; returns whether it was installed. */
  private restore(snap: Snapshot): boolean {
    const meta = snap.metadata
    if (meta.index <= this.log.committed) return false
    if (this.log.matchTerm(meta.index, meta.term)) {
      this.log.commitTo(meta.index)
      return false
    }
    this.log.restore(snap)
    this.applyConfState(meta.confState)
    return true
  }

  // ---- read index ----

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term
  }

  private handleReadIndexAsLeader(m: Message): void {
    if (this.voterIds().length === 1 && this.progress.has(this.id)) {
      this.answerReadIndex(m, this.log.committed)
      return
    }
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(m)
      return
    }
    if (this.inLeaderLease()) {
      this.answerReadIndex(m, this.log.committed)
      return
    }
    const key = contextKey(m.context)
    if (!this.readOnlyByKey.has(key)) {
      const status: ReadIndexStatus = { request: m, index: this.log.committed, acks: new Set([this.id]) }
      this.readOnlyByKey.set(key, status)
      this.readOnlyQueue.push(status)
    }
    this.bcastHeartbeat(m.context)
  }

  /** Lease mode: whether a quorum acknowledged a heartbeat round sent less than `leaseTicks` ago. */
  inLeaderLease(): boolean {
    if (this.leaseTicks === 0 || this.role !== 'leader' || this.leadTransferee !== NO_NODE || this.sentTimeoutNow) return false
    const sent = this.voterIds()
      .map((id) => (id === this.id ? this.ticks : (this.ackedRoundTick.get(id) ?? -1)))
      .sort((a, b) => b - a)
    const start = sent[this.quorum() - 1] ?? -1
    return start >= this.leaderSinceTick && this.ticks - start < this.leaseTicks
  }

  /** The tick this node last became leader (lease rounds must be of this leadership). */
  private leaderSinceTick = 0
  /** A `MsgTimeoutNow` left during this leadership: a forced election may follow, so no lease. */
  private sentTimeoutNow = false

  private answerReadIndex(m: Message, index: number): void {
    if (m.from === NO_NODE || m.from === this.id) this.readStates.push({ index, requestContext: m.context })
    else this.send({ type: 'MsgReadIndexResp', to: m.from, index, context: m.context })
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return
    const pending = this.pendingReadIndexMessages
    this.pendingReadIndexMessages = []
    for (const m of pending) this.handleReadIndexAsLeader(m)
  }

  private ackReadIndex(from: number, context: Uint8Array): void {
    const status = this.readOnlyByKey.get(contextKey(context))
    if (status === undefined) return
    status.acks.add(from)
    let yes = 0
    for (const id of this.voterIds()) if (status.acks.has(id)) yes++
    if (yes < this.quorum()) return
    // Releases this request and every earlier one (their heartbeats were sent before).
    const at = this.readOnlyQueue.indexOf(status)
    const released = this.readOnlyQueue.splice(0, at + 1)
    for (const s of released) {
      this.readOnlyByKey.delete(contextKey(s.request.context))
      this.answerReadIndex(s.request, s.index)
    }
  }

  // ---- leadership transfer ----

  private sendTimeoutNow(to: number): void {
    this.sentTimeoutNow = true
    this.send({ type: 'MsgTimeoutNow', to })
  }

  private handleTransferLeader(m: Message): void {
    const target = m.from
    const pr = this.progress.get(target)
    if (pr === undefined || pr.isLearner) {
      this.trace(`ignored transfer to ${target}: not a voter`)
      return
    }
    if (target === this.id) return
    if (this.leadTransferee === target) return
    this.leadTransferee = target
    this.electionElapsed = 0
    this.trace(`starts transferring leadership to ${target}`)
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target)
    else this.sendAppend(target)
  }

  // ---- membership ----

  /**
   * Applies a committed single-server conf change and returns the new configuration. Removing
   * this node while it leads makes it send `MsgTimeoutNow` to the most up-to-date remaining voter
   * and step down.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const id = cc.nodeId
    const last = this.log.lastIndex()
    const existing = this.progress.get(id)
    switch (cc.type) {
      case 'addNode':
        if (existing === undefined) this.progress.set(id, new Progress(last + 1, this.maxInflight, false))
        else existing.isLearner = false
        break
      case 'addLearner':
        if (existing === undefined) this.progress.set(id, new Progress(last + 1, this.maxInflight, true))
        else existing.isLearner = true
        break
      case 'removeNode':
        this.progress.delete(id)
        break
    }
    const pr = this.progress.get(id)
    if (id === this.id && pr !== undefined) pr.match = Math.max(pr.match, last)
    if (this.role === 'leader') {
      if (cc.type !== 'removeNode' && id !== this.id && pr !== undefined) pr.recentActive = true
      if (!this.promotable()) {
        let best = NO_NODE
        let bestMatch = -1
        for (const [pid, p] of this.progress) {
          if (!p.isLearner && p.match > bestMatch) {
            best = pid
            bestMatch = p.match
          }
        }
        if (best !== NO_NODE && bestMatch === last) this.sendTimeoutNow(best)
        this.trace(`removed from the configuration while leader: stepping down${best !== NO_NODE ? ` (handing over to ${best})` : ''}`)
        this.becomeFollower(this.term, NO_NODE)
      } else {
        if (this.leadTransferee === id && cc.type === 'removeNode') this.leadTransferee = NO_NODE
        if (this.maybeCommit()) this.bcastAppend()
        else if (pr !== undefined && id !== this.id) this.sendAppend(id)
      }
    }
    return this.confState()
  }
}
