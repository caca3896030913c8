/**
 * The fabric contract, modelled on libfabric and verbs as DAOS uses them through Mercury's NA
 * layer: endpoints that listen and connect, an event queue for connection events, a completion
 * queue for posted operations, two-sided tagged messages and one-sided RDMA on registered memory.
 *
 * @module
 */
import type { DerError } from '@x/common'

/** What a peer may do to a registered region (libfabric's `FI_REMOTE_READ` / `FI_REMOTE_WRITE`). */
export interface AccessFlags {
  /** Peers may `rdmaRead` from the region. */
  readonly remoteRead: boolean
  /** Peers may `rdmaWrite` into the region. */
  readonly remoteWrite: boolean
}

/**
 * A registered memory region (`fi_mr_reg` / `ibv_reg_mr`). Its `key` plus the endpoint's address
 * is everything a peer needs to reach it one-sidedly. The provider reads and writes `buffer` in
 * place: do not resize or reuse it for something else until {@link MemoryRegion.deregister}.
 */
export interface MemoryRegion {
  /** The remote key (a non-zero safe integer, unique within the endpoint). */
  readonly key: number
  /** The registered bytes. */
  readonly buffer: Uint8Array
  /** What peers may do. */
  readonly access: AccessFlags
  /** Whether {@link MemoryRegion.deregister} was called. */
  readonly registered: boolean
  /** Removes the registration; later remote accesses fail with `DER_NONEXIST` at the initiator. */
  deregister(): void
}

/**
 * Where a remote buffer lives: what the owner of a {@link MemoryRegion} sends to a peer (Mercury's
 * bulk handle). Encode it with {@link encodeRemoteMemory} to put it in a message.
 */
export interface RemoteMemory {
  /** The fabric address of the endpoint that registered the region. */
  readonly address: string
  /** The region's key. */
  readonly key: number
  /** Byte offset inside the region. */
  readonly offset: number
  /** Number of bytes. */
  readonly length: number
}

/** The kind of operation a {@link Completion} reports. */
export type OperationKind = 'send' | 'recv' | 'unexpected' | 'rdma-read' | 'rdma-write'

/** How an operation ended: `ok`, `cancelled` by {@link Operation.cancel}, or `error` (see `error`). */
export type CompletionStatus = 'ok' | 'cancelled' | 'error'

/**
 * One entry of a {@link CompletionQueue}. Every posted operation produces exactly one; an
 * unexpected incoming message produces one of kind `unexpected` without having been posted.
 */
export interface Completion {
  /** The operation's id (0 for `unexpected`). */
  readonly id: number
  readonly kind: OperationKind
  readonly status: CompletionStatus
  /** Set when `status` is `error`: `DER_NONEXIST` (bad key), `DER_INVAL` (bad range),
   * `DER_NO_PERM` (access), `DER_UNREACH` (connection lost), `DER_TRUNC` (message larger than the
   * posted receive), `DER_SHUTDOWN` (endpoint closed). */
  readonly error?: DerError
  /** The connection the operation ran on. */
  readonly connection: Connection
  /** The caller's context given when posting. */
  readonly context: unknown
  /** Message tag (`send`, `recv`, `unexpected`). */
  readonly tag: number
  /** Received bytes (`recv`, `unexpected`): owned by the receiver. */
  readonly data?: Uint8Array
  /** Bytes moved. */
  readonly bytes: number
}

/** A posted operation. */
export interface Operation {
  /** Unique within the endpoint; the `id` of its {@link Completion}. */
  readonly id: number
  /** Whether its completion was produced. */
  readonly done: boolean
  /**
   * Cancels it if it has not completed and can still be withdrawn: its completion then has status
   * `cancelled`. Returns whether it was cancelled. Either way the operation completes exactly once.
   */
  cancel(): boolean
}

/** Connection event types: `established` (both sides), `refused` (connect failed), `reset`
 * (lost without a close: peer crash, network failure, protocol error), `closed` (closed by either side). */
export type FabricEventType = 'established' | 'refused' | 'reset' | 'closed'

/** An entry of an {@link EventQueue}. */
export interface FabricEvent {
  readonly type: FabricEventType
  readonly connection: Connection
  /** Why, for `refused`, `reset` and `closed`. */
  readonly reason?: DerError
}

/** A bounded queue read either by polling or by a handler (push mode). */
export interface EventSource<T> {
  /** Maximum number of entries held (and, for a completion queue, of operations outstanding). */
  readonly capacity: number
  /** Entries waiting to be read. */
  readonly size: number
  /** Removes and returns up to `max` entries, oldest first. */
  poll(max?: number): T[]
  /** Resolves when at least one entry is waiting (at once if one already is). */
  wait(): Promise<void>
  /**
   * Push mode: `handler` receives every entry as it is produced (and the waiting ones at once),
   * so entries never pile up. `undefined` returns to polling. Handlers must not throw.
   */
  setHandler(handler: ((entry: T) => void) | undefined): void
}

/** The connection-event queue of an endpoint (`fi_eq`). */
export type EventQueue = EventSource<FabricEvent>

/**
 * The completion queue of an endpoint (`fi_cq`). Its capacity bounds the operations outstanding
 * (posted and not completed, plus completions not yet read): posting beyond it throws `DER_AGAIN`,
 * and while it is full the provider stops taking unexpected messages off the wire (back-pressure).
 */
export interface CompletionQueue extends EventSource<Completion> {
  /** Operations that may still be posted before `DER_AGAIN`. */
  readonly available: number
  /** Calls `listener` whenever room frees up (after completions are read or handled). */
  onAvailable(listener: () => void): () => void
}

/** Connection states. */
export type ConnectionState = 'connecting' | 'established' | 'closed'

/** Options of one posted operation. */
export interface PostOptions {
  /** Returned in the completion. */
  readonly context?: unknown
}

/**
 * A connection between two endpoints. Messages are delivered in order and exactly once while the
 * connection is up (fault injection aside); when it goes down every outstanding operation
 * completes with an error or `cancelled`, exactly once.
 */
export interface Connection {
  /** Unique within the endpoint. */
  readonly id: number
  /** Whether this side called `connect`. */
  readonly initiator: boolean
  readonly state: ConnectionState
  /** Our endpoint's address. */
  readonly localAddress: string
  /** The peer endpoint's address (its listening address if it has one). */
  readonly peerAddress: string
  /** The peer's maximum unexpected-message size: larger sends throw `DER_OVERFLOW`. */
  readonly peerMaxUnexpectedBytes: number
  /**
   * Sends a tagged message (two-sided). At the peer it completes the oldest posted receive with
   * that tag, or arrives as an `unexpected` completion. Completes when handed to the fabric. The
   * caller may reuse `data` after the completion. An array is a gather list (`fi_sendv`): its
   * parts arrive as one contiguous message. Throws `DER_OVERFLOW` above the peer's limit,
   * `DER_AGAIN` when the completion queue is full, `DER_UNREACH` when not established.
   */
  send(tag: number, data: Uint8Array | readonly Uint8Array[], options?: PostOptions): Operation
  /** Posts a receive for the next message with `tag` of at most `maxBytes` (larger: `DER_TRUNC`). */
  recv(tag: number, maxBytes: number, options?: PostOptions): Operation
  /** Reads `into.length` bytes of the peer's region `key` at `offset` into `into` (one-sided). */
  rdmaRead(key: number, offset: number, into: Uint8Array, options?: PostOptions): Operation
  /** Writes `from` into the peer's region `key` at `offset` (one-sided). */
  rdmaWrite(key: number, offset: number, from: Uint8Array, options?: PostOptions): Operation
  /** Stops delivering unexpected messages from this peer (they wait in the provider / socket). */
  pause(): void
  /** Resumes delivery after {@link Connection.pause}. */
  resume(): void
  /** Closes the connection; both sides get a `closed` event. Idempotent. */
  close(): void
}

/** Options of {@link Fabric.open}. */
export interface EndpointOptions {
  /** Address to listen on (`tcp://127.0.0.1:0` picks a port; `memory://name`). Omit for a
   * connect-only endpoint. */
  readonly listen?: string
  /** Largest unexpected message this endpoint accepts (default 1 MiB). */
  readonly maxUnexpectedBytes?: number
  /** Capacity of the completion queue (default 4096). */
  readonly completionCapacity?: number
  /** Capacity of the event queue (default 1024; incoming connections are refused beyond it). */
  readonly eventCapacity?: number
}

/** An endpoint (`fi_endpoint` plus its `fi_eq` and `fi_cq`). */
export interface Endpoint {
  /** Our address: the bound listening address (with the real port), or a generated one. */
  readonly address: string
  readonly maxUnexpectedBytes: number
  readonly events: EventQueue
  readonly completions: CompletionQueue
  /** Connections that are up or being set up. */
  readonly connections: readonly Connection[]
  /**
   * Connects to a listening endpoint. Resolves when established (an `established` event is also
   * queued); rejects with `DER_UNREACH` when refused (after a `refused` event).
   */
  connect(address: string): Promise<Connection>
  /** Registers `buffer` for remote access. */
  registerMemory(buffer: Uint8Array, access: AccessFlags): MemoryRegion
  /** Describes a slice of a registered region for a peer. */
  describe(region: MemoryRegion, offset?: number, length?: number): RemoteMemory
  /** Closes every connection and stops listening. Idempotent. */
  close(): Promise<void>
}

/** A provider's domain: opens endpoints (`fi_domain` plus `fi_fabric`). */
export interface Fabric {
  /** `memory` or `tcp`. */
  readonly provider: string
  /** Opens an endpoint, listening if asked. */
  open(options?: EndpointOptions): Promise<Endpoint>
  /** Closes every endpoint this fabric opened. */
  close(): Promise<void>
}
