/**
 * Raft consensus for the management and pool services, as a pure core in the manner of etcd raft.
 *
 * - **Core** ({@link RawNode}): inputs are `tick()`, `step(message)`, `propose`,
 *   `proposeConfChange`, `readIndex` and `transferLeadership`; the output is a {@link Ready} batch
 *   (hard state and entries to persist, a snapshot to install, messages to send, committed entries
 *   to apply), whose ordering rules are in its doc comment, acknowledged by `advance()`. No I/O, no
 *   clock; randomness only from the injected `Random`.
 * - **Elections** with randomized timeouts, pre-vote and check-quorum (a partitioned leader steps
 *   down; a rejoining node does not disrupt a healthy leader).
 * - **Replication** with pipelining and flow control (probe / replicate / snapshot progress,
 *   in-flight limits), fast backtracking by term on conflicts, commit of current-term entries only.
 * - **Snapshots**: the application creates them and compacts the log; lagging followers receive
 *   them as ordered chunks (`MsgSnap` with offsets).
 * - **Membership**: single-server changes (one voter added or removed at a time, applied when the
 *   committed entry is applied; a new change is refused until the previous one is applied, and a new
 *   leader accepts none until its first entry is applied), learners, and removal of the leader
 *   (it hands over with `MsgTimeoutNow` and steps down).
 * - **Leadership transfer** and **read-index** (linearizable reads confirmed by a heartbeat
 *   round), optionally with **leader leases** (`readOnly: 'lease'`): reads answered at once within
 *   `floor((electionTicks - 1) / (1 + maxClockDriftRatio)) - 1` ticks of a quorum-acknowledged
 *   heartbeat, safe while tick clocks differ in rate by at most `maxClockDriftRatio` (default 10%);
 *   see {@link leaseTicksFor}.
 * - **Storage**: the {@link Storage} contract (compliance suite at `@x/raft/testing`),
 *   {@link MemoryStorage} and the durable {@link FileStorage} (segmented write-ahead log, crc32c
 *   records, fsync on the write path, torn-tail recovery).
 * - **Driver** ({@link RaftDriver}): runs a node with a real `Runtime`, a `Storage` and a send
 *   callback; one shared {@link RaftTicker} timer drives any number of groups.
 *
 * @example
 * ```ts
 * import { Random } from '@x/common'
 * import { MemoryStorage, RawNode } from '@x/raft'
 *
 * const node = new RawNode({ id: 1, storage: MemoryStorage.withVoters([1]), random: new Random(1) })
 * node.campaign()
 * const rd = node.ready() // persist rd.entries / rd.hardState, send rd.messages, apply rd.committedEntries
 * node.advance(rd)
 * ```
 *
 * @packageDocumentation
 */
export {
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  NO_NODE,
  type RaftRole,
  type ReadState,
  type Snapshot,
  type SnapshotChunk,
  type SnapshotMetadata,
  type SoftState,
  emptyBytes,
  emptySnapshot,
  entriesSizeBytes,
  hardStateEqual,
  isLocalMessage,
  isResponseMessage,
  message,
  messageTypes,
} from './types.ts'
export { type InitialState, MemoryLog, MemoryStorage, type Storage, type StorageErrorKind, limitSize, storageError, storageErrorKind } from './storage.ts'
export { RaftLog } from './raft-log.ts'
export { Inflights, Progress, type ProgressState } from './progress.ts'
export { Raft, type RaftConfig, campaignTransferContext, decodeConfChange, encodeConfChange, leaseTicksFor } from './raft.ts'
export { type PeerProgress, type RaftStatus, RawNode, type Ready } from './raw-node.ts'
export { describeEntry, describeHardState, describeMessage, describeSnapshot } from './format.ts'
export {
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  decodeSnapshotMetadata,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
  encodeSnapshotMetadata,
  readMessage,
  writeMessage,
} from './codec.ts'
export { FileStorage, type FileStorageOptions, type RecoveryReport } from './file-storage.ts'
export { RaftDriver, type RaftDriverOptions, RaftTicker, type StateMachine } from './driver.ts'
