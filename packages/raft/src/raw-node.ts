/**
 * `RawNode`: the synchronous, pure interface to one Raft node, after etcd's `RawNode`.
 *
 * @module
 */
import { DerError } from '@x/common'
import { Raft, type RaftConfig, encodeConfChange } from './raft.ts'
import type { Progress } from './progress.ts'
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  NO_NODE,
  type ReadState,
  type Snapshot,
  type SoftState,
  hardStateEqual,
  message,
} from './types.ts'

/**
 * A batch of work produced by the core. Handle it in this order, then call
 * {@link RawNode.advance} with it:
 *
 * 1. **Persist** `snapshot` (if any, `storage.applySnapshot`), then `entries` (`storage.append`,
 *    which replaces any conflicting suffix), then `hardState` (`storage.setHardState`). If
 *    `mustSync`, make them durable (`storage.sync()`, fsync) before step 2.
 * 2. **Send** `messages`. They may only leave after step 1: a vote or an append acknowledgement
 *    promises durable state. (Sending them in any order is fine; the network reorders anyway.)
 * 3. **Apply** `snapshot` (restore the state machine from it), then `committedEntries` in order;
 *    call {@link RawNode.applyConfChange} for each `confChange` entry. Committed entries may
 *    include some of this batch's `entries` (a leader counts its own log as soon as it appends):
 *    step 1 has persisted them by then. Answer `readStates`: a read is linearizable once the
 *    state machine has applied its `index`.
 * 4. Call `advance(ready)`. Do not call `ready()` again before that.
 */
export interface Ready {
  /** The leader and role, when they changed since the last `Ready`. */
  readonly softState?: SoftState
  /** The hard state to persist, when it changed. */
  readonly hardState?: HardState
  /** Entries to append to storage. */
  readonly entries: readonly Entry[]
  /** A snapshot received from the leader, to persist and apply. */
  readonly snapshot?: Snapshot
  /** Committed entries to apply to the state machine. */
  readonly committedEntries: readonly Entry[]
  /** Messages to send once step 1 is durable. */
  readonly messages: readonly Message[]
  /** Answers to `readIndex` requests. */
  readonly readStates: readonly ReadState[]
  /** Whether step 1 must be synced (new entries, term or vote) before sending. */
  readonly mustSync: boolean
}

/** A peer's replication state as seen by the leader. */
export interface PeerProgress {
  readonly id: number
  readonly match: number
  readonly next: number
  readonly state: Progress['state']
  readonly isLearner: boolean
  readonly recentActive: boolean
}

/** A node's status for inspection and tests. */
export interface RaftStatus {
  readonly id: number
  readonly hardState: HardState
  readonly softState: SoftState
  readonly applied: number
  readonly lastIndex: number
  readonly firstIndex: number
  readonly leadTransferee: number
  readonly confState: ConfState
  /** The leader's view of every peer (empty on followers). */
  readonly progress: readonly PeerProgress[]
}

/** The synchronous interface to a Raft node. All methods are pure state transitions. */
export class RawNode {
  readonly raft: Raft
  private prevSoftState: SoftState
  private prevHardState: HardState
  private readyInFlight = false

  constructor(config: RaftConfig) {
    this.raft = new Raft(config)
    this.prevSoftState = this.raft.softState()
    this.prevHardState = this.raft.hardState()
  }

  /** This node's id. */
  get id(): number {
    return this.raft.id
  }

  /** Advances logical time by one tick (drives elections and heartbeats). */
  tick(): void {
    this.raft.tick()
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(message({ type: 'MsgHup', from: this.raft.id }))
  }

  /**
   * Proposes data to be appended to the log. Only the leader accepts proposals: throws
   * DER_NOTLEADER elsewhere (`details.leader` names the known leader) and DER_BUSY during a
   * leadership transfer. Returns the index the entry got.
   */
  propose(data: Uint8Array): number {
    this.raft.step(message({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }))
    return this.raft.log.lastIndex()
  }

  /** Proposes a membership change; throws DER_BUSY while a previous one is not applied. Returns its index. */
  proposeConfChange(cc: ConfChange): number {
    this.raft.step(message({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }] }))
    return this.raft.log.lastIndex()
  }

  /** Applies a committed conf change (see {@link Raft.applyConfChange}); returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc)
  }

  /** Processes a message from a peer. Local-only message types are refused with DER_INVAL. */
  step(m: Message): void {
    if (m.type === 'MsgHup' || m.type === 'MsgBeat' || m.type === 'MsgCheckQuorum' || m.type === 'MsgProp') {
      throw new DerError('DER_INVAL', `step(): ${m.type} is a local message`)
    }
    if (m.to !== this.raft.id) throw new DerError('DER_INVAL', `step(): message for ${m.to} delivered to ${this.raft.id}`)
    if (m.from === NO_NODE || m.from === this.raft.id) throw new DerError('DER_INVAL', `step(): bad sender ${m.from}`)
    if (m.term === 0 && m.type !== 'MsgReadIndex' && m.type !== 'MsgReadIndexResp') throw new DerError('DER_INVAL', `step(): ${m.type} from ${m.from} without a term`)
    if (m.type === 'MsgSnap') {
      const snap = m.snapshot
      const chunk = m.chunk
      if (snap === undefined || chunk === undefined || snap.metadata.index === 0 || snap.metadata.term === 0 || snap.metadata.term > m.term || chunk.offsetBytes + snap.data.length > chunk.totalBytes) {
        throw new DerError('DER_INVAL', `step(): malformed MsgSnap from ${m.from}`)
      }
    }
    let expected = m.index + 1
    for (const e of m.entries) {
      if (e.index !== expected++ || e.term > m.term || e.term < m.logTerm) {
        throw new DerError('DER_INVAL', `step(): ${m.type} from ${m.from} carries inconsistent entries (index ${e.index}, term ${e.term})`)
      }
    }
    this.raft.step(m)
  }

  /**
   * Requests a linearizable read. The answer arrives as a `ReadState` carrying `context` (which must
   * be unique among pending requests) in a later `Ready`.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step(message({ type: 'MsgReadIndex', from: this.raft.id, entries: [], context }))
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded when called on a follower). */
  transferLeadership(transferee: number): void {
    this.raft.step(message({ type: 'MsgTransferLeader', from: transferee, to: this.raft.id }))
  }

  /** Tells the leader that sending to `id` failed (its progress falls back to probing). */
  reportUnreachable(id: number): void {
    this.raft.step(message({ type: 'MsgUnreachable', from: id }))
  }

  /** Whether {@link ready} has anything. */
  hasReady(): boolean {
    const r = this.raft
    const soft = r.softState()
    if (soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role) return true
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true
    if (r.log.hasPendingSnapshot()) return true
    return r.msgs.length > 0 || r.log.unstableEntries().length > 0 || r.log.hasNextCommittedEntries() || r.readStates.length > 0
  }

  /** Takes the pending work; see {@link Ready} for how to handle it. */
  ready(): Ready {
    if (this.readyInFlight) throw new DerError('DER_INVAL', 'ready(): the previous Ready was not advanced')
    const r = this.raft
    const soft = r.softState()
    const hard = r.hardState()
    const entries = [...r.log.unstableEntries()]
    const snapshot = r.log.unstableSnapshot()
    const softChanged = soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role
    const hardChanged = !hardStateEqual(hard, this.prevHardState)
    const rd: Ready = {
      ...(softChanged ? { softState: soft } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      entries,
      ...(snapshot !== undefined ? { snapshot } : {}),
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote,
    }
    r.msgs = []
    r.readStates = []
    if (softChanged) this.prevSoftState = soft
    this.readyInFlight = true
    return rd
  }

  /** Acknowledges that a `Ready` was handled (persisted, sent, applied). */
  advance(rd: Ready): void {
    if (!this.readyInFlight) throw new DerError('DER_INVAL', 'advance(): no Ready in flight')
    this.readyInFlight = false
    const log = this.raft.log
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index)
      if (log.applied < rd.snapshot.metadata.index) log.applied = rd.snapshot.metadata.index
    }
    const lastEntry = rd.entries[rd.entries.length - 1]
    if (lastEntry !== undefined) log.stableTo(lastEntry.index, lastEntry.term)
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1]
    if (lastApplied !== undefined) log.appliedTo(lastApplied.index)
  }

  /** The node's status. */
  status(): RaftStatus {
    const r = this.raft
    const progress: PeerProgress[] = []
    if (r.role === 'leader') {
      for (const [id, pr] of [...r.progress].sort((a, b) => a[0] - b[0])) {
        progress.push({ id, match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive })
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      leadTransferee: r.leadTransferee,
      confState: r.confState(),
      progress,
    }
  }
}


