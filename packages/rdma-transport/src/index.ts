/**
 * The fabric contract of the `@x` storage system, modelled on libfabric and verbs as DAOS uses
 * them through Mercury's NA layer, with two providers.
 *
 * - **Addresses** are URIs: `tcp://127.0.0.1:31416`, `memory://engine-3` ({@link parseAddress}).
 * - A {@link Fabric} opens {@link Endpoint}s that listen and connect. Connection events
 *   (`established`, `refused`, `reset`, `closed`) arrive on the endpoint's {@link EventQueue}.
 * - **Two-sided messages** carry a u32 tag, are ordered per {@link Connection}, and either
 *   complete a posted `recv` with that tag or arrive as `unexpected` completions, up to the
 *   receiver's `maxUnexpectedBytes` (checked by the sender: `DER_OVERFLOW`).
 * - **Registered memory** ({@link MemoryRegion}) has a key and access flags; a peer that knows
 *   (address, key, offset, length) — a {@link RemoteMemory} — can `rdmaRead`/`rdmaWrite` it
 *   one-sidedly. A bad key (`DER_NONEXIST`), range (`DER_INVAL`) or access (`DER_NO_PERM`) fails
 *   the initiator's operation; the target carries on.
 * - Every posted {@link Operation} completes exactly once on the bounded {@link CompletionQueue}
 *   (`ok`, `error`, or `cancelled` after {@link Operation.cancel}). A full queue refuses posts with
 *   `DER_AGAIN` and stops taking unexpected messages off the wire (back-pressure).
 *
 * Rules for code built on the contract:
 * - Events and completions are delivered from provider callbacks, synchronously, to the handler
 *   set with `setHandler` (or queued for `poll`). Handlers must not throw; they may post new
 *   operations (re-entrant posts are queued, never lost).
 * - A `send` buffer may be reused once its completion arrives; received `data` belongs to the
 *   receiver. RMA buffers (`into`, `from`, and registered regions) must not be touched until the
 *   operation completes. A cancelled `rdmaWrite` may have been applied in part.
 * - When a connection goes down, every outstanding operation on it completes with `DER_UNREACH`
 *   before the `reset`/`closed` event is queued.
 *
 * Providers: {@link MemoryFabric} (in process, driven by a `Runtime`, so it runs under
 * `VirtualRuntime`, with seeded fault injection: drop, delay, duplicate, reorder, reset, partition,
 * crash) and {@link TcpFabric} (Node `net`; RMA emulated over the stream in 64 KiB chunks
 * interleaved with messages, so bulk transfers do not block small messages on the same peer).
 * `@x/rdma-transport/testing` exports the compliance suite both pass.
 *
 * @example
 * ```ts
 * import { VirtualRuntime } from '@x/common'
 * import { MemoryFabric } from '@x/rdma-transport'
 *
 * const runtime = new VirtualRuntime({ seed: 7 })
 * const fabric = new MemoryFabric({ runtime })
 * const server = await fabric.open({ listen: 'memory://server' })
 * const client = await fabric.open()
 * server.completions.setHandler((c) => console.log(c.kind, c.tag, c.data))
 * const region = server.registerMemory(new Uint8Array(4096), { remoteRead: true, remoteWrite: true })
 * const pending = client.connect(server.address)
 * await runtime.runUntilIdle()
 * const connection = await pending
 * connection.send(7, new TextEncoder().encode('hello'))
 * connection.rdmaWrite(region.key, 0, new Uint8Array([1, 2, 3]))
 * await runtime.runUntilIdle()
 * ```
 *
 * @packageDocumentation
 */
export { type FabricAddress, formatAddress, parseAddress } from './address.ts'
export type {
  AccessFlags,
  Completion,
  CompletionQueue,
  CompletionStatus,
  Connection,
  ConnectionState,
  Endpoint,
  EndpointOptions,
  EventQueue,
  EventSource,
  Fabric,
  FabricEvent,
  FabricEventType,
  MemoryRegion,
  Operation,
  OperationKind,
  PostOptions,
  RemoteMemory,
} from './types.ts'
export { defaultCompletionCapacity, defaultEventCapacity, defaultMaxUnexpectedBytes, maxTag } from './base.ts'
export { decodeRemoteMemory, encodeRemoteMemory } from './remote-memory.ts'
export { MemoryFabric, type MemoryFabricOptions, type MemoryFaultStats, type MemoryFaults } from './memory/memory-fabric.ts'
export { TcpFabric, type TcpFabricOptions, type TcpFabricStats } from './tcp/tcp-fabric.ts'
