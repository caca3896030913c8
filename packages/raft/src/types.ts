/**
 * The data types of the Raft core: log entries, hard state, snapshots, configuration and messages.
 * Terms, indexes and node ids are plain safe integers; node id 0 means "none".
 *
 * @module
 */

/** Node id meaning "no node" (no leader known, no vote cast). */
export const NO_NODE = 0

/** The kind of a log entry: application data or a membership change (see {@link ConfChange}). */
export type EntryType = 'normal' | 'confChange'

/** One log entry. `index` starts at 1; an empty `normal` entry is appended by every new leader. */
export interface Entry {
  readonly term: number
  readonly index: number
  readonly type: EntryType
  readonly data: Uint8Array
}

/** What must be durable before a node answers anyone: its term, its vote and its commit index. */
export interface HardState {
  readonly term: number
  readonly vote: number
  readonly commit: number
}

/** The membership: voters decide, learners only receive the log. The two sets are disjoint. */
export interface ConfState {
  readonly voters: readonly number[]
  readonly learners: readonly number[]
}

/** What a snapshot covers: everything up to `index` (whose term is `term`) under `confState`. */
export interface SnapshotMetadata {
  readonly index: number
  readonly term: number
  readonly confState: ConfState
}

/** An application snapshot; `data` is opaque to Raft. An empty snapshot has index 0. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata
  readonly data: Uint8Array
}

/**
 * A single-server membership change, carried by a `confChange` entry and applied by the
 * application through `RawNode.applyConfChange` once the entry is committed.
 *
 * - `addNode`: adds a voter, or promotes a learner to voter.
 * - `addLearner`: adds a learner (or demotes a voter to learner).
 * - `removeNode`: removes a voter or learner; removing the leader makes it hand leadership to the
 *   most up-to-date remaining voter and step down.
 */
export interface ConfChange {
  readonly type: 'addNode' | 'addLearner' | 'removeNode'
  readonly nodeId: number
}

/** The message types, after etcd raft. Local ones (`hup`, `beat`, ...) never cross the wire. */
export const messageTypes = [
  'MsgHup',
  'MsgBeat',
  'MsgProp',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgSnap',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgUnreachable',
  'MsgSnapStatus',
  'MsgCheckQuorum',
  'MsgTransferLeader',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgPreVote',
  'MsgPreVoteResp',
] as const

/** One of {@link messageTypes}. */
export type MessageType = (typeof messageTypes)[number]

/** Chunk position of a `MsgSnap`: snapshots travel as ordered chunks of the snapshot data. */
export interface SnapshotChunk {
  /** Byte offset of this chunk's data within the whole snapshot data. */
  readonly offsetBytes: number
  /** Total size of the snapshot data. */
  readonly totalBytes: number
}

/**
 * A Raft message. Fields not used by a type are zero / empty. `index` and `logTerm` name the log
 * position a message refers to (the entry before `entries` for `MsgApp`, the candidate's last entry
 * for votes). `context` carries read-index request ids and the transfer marker of forced elections.
 */
export interface Message {
  readonly type: MessageType
  readonly to: number
  readonly from: number
  readonly term: number
  readonly logTerm: number
  readonly index: number
  readonly entries: readonly Entry[]
  readonly commit: number
  readonly reject: boolean
  readonly rejectHint: number
  readonly context: Uint8Array
  /** `MsgSnap` only: the snapshot, whose `data` is this chunk's bytes. */
  readonly snapshot?: Snapshot
  /** `MsgSnap` only: where the chunk sits in the snapshot data. */
  readonly chunk?: SnapshotChunk
}

/** Builds a message with zero defaults for every field not given. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: 0,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: emptyBytes,
    ...fields,
  }
}

/** A shared empty byte array. */
export const emptyBytes: Uint8Array = new Uint8Array(0)

/** The empty snapshot (index 0). */
export const emptySnapshot: Snapshot = { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: emptyBytes }

/** Whether two hard states are equal. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

/** The role of a node. */
export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile state reported by `Ready` when it changes: the known leader and this node's role. */
export interface SoftState {
  readonly lead: number
  readonly role: RaftRole
}

/** A linearizable read's answer: reads are safe once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number
  readonly requestContext: Uint8Array
}

/** Whether a message type is a response to a request (its sender is answering). */
export function isResponseMessage(type: MessageType): boolean {
  return type === 'MsgAppResp' || type === 'MsgVoteResp' || type === 'MsgHeartbeatResp' || type === 'MsgUnreachable' || type === 'MsgPreVoteResp'
}

/** Whether a message type is generated locally and never arrives from the network. */
export function isLocalMessage(type: MessageType): boolean {
  return type === 'MsgHup' || type === 'MsgBeat' || type === 'MsgUnreachable' || type === 'MsgCheckQuorum' || type === 'MsgProp'
}

/** Total payload size of entries, used for message size limits. */
export function entriesSizeBytes(entries: readonly Entry[]): number {
  let size = 0
  for (const e of entries) size += e.data.length + 16
  return size
}
