/**
 * The multi-engine system node: {@link SystemNode} runs one engine of a system on any
 * `@x/rdma-transport` fabric, driven by an injected `Runtime`, so the daemon (TCP, real time,
 * file storage) and the simulator (`MemoryFabric`, `VirtualRuntime`, memory storage) run the same
 * code.
 *
 * - **Raft over cart** ({@link RaftRouter}, the `rdb` protocol, base `0x05000000`): Raft messages
 *   of named groups (`ms`, `pool/<uuid>`) between engines, so a `ReplicatedService` has its peers
 *   on other engines.
 * - **Management service**: access-point nodes run a replica (`ms` group, Raft ids = `msId`s).
 *   Every node joins through the MS leader over the `mgmt` protocol (base `0x01000000`),
 *   following `DER_NOTLEADER` hints and moving to the next access point on `DER_UNREACH` /
 *   `DER_TIMEDOUT`, with bounded retries and backoff; it gets its rank, and keeps its cart
 *   primary group (rank -> URIs) in sync with the MS member list (pulled periodically and when
 *   a rank is unknown).
 * - **Pools across ranks**: a pool create on any node goes to the MS leader, which checks label,
 *   size against the ranks' capacity, properties and ACL, picks service ranks (up to 3, spread
 *   over fault domains) and target ranks (every joined rank, or `nranks`), records the pool
 *   `creating`, starts a pool service replica on each service rank (group `pool/<uuid>`, Raft id
 *   = rank + 1) and an object service on each target rank, initializes the pool service with
 *   the pool map (hosts = fault domains), then marks the pool `ready`; any failure rolls it all
 *   back; a create or destroy left halfway by an MS leader that died is rolled back or finished by
 *   the next leader. Logs live in the {@link RaftStorageFactory}; a restarted node reopens its pools.
 * - **Operations** (`systemQuery`, `poolCreate`, `poolQuery`, `poolConnect`, ACLs, properties,
 *   exclude / drain / reintegrate, containers with properties, attributes and snapshots) are
 *   methods that forward to the right leader (the MS, or the pool service over the `pool`
 *   protocol, base `0x02000000`); request and response types follow the daemon's control API.
 *   Every input is validated first: a `DerError` with a clear message and no state change.
 * - **Pool maps** are pushed by the pool service leader to every target rank after each change,
 *   and pulled periodically as a safety net; object services refresh on demand.
 * - **Failures**: SWIM ({@link MembershipAgent}) reports a dead rank; the MS leader confirms it
 *   does not answer, excludes it, and excludes its targets from every pool (map version bump,
 *   pushed). Each target rank then runs the pool's rebuild (`RebuildService` by default, any
 *   {@link RebuildFactory}) and reports to the pool service leader; when all have, the map moves DOWN -> DOWNOUT
 *   (and UP -> UPIN after a reintegration). With `rebuild: false` exclusions still work and
 *   `pool query` shows the rebuild as `unavailable`.
 *
 * Object I/O of several pools shares one cart: {@link PoolScopedCart} routes each request to the
 * pool named by its `poolUuid`.
 *
 * @example
 * ```ts
 * import { VirtualRuntime } from '@x/common'
 * import { MemoryStorage } from '@x/raft'
 * import { MemoryFabric } from '@x/rdma-transport'
 * import { MemoryBlockDevice } from '@x/spdk-io'
 * import { SystemNode, TargetSet } from '@x/engine'
 *
 * const runtime = new VirtualRuntime({ seed: 1 })
 * const fabric = new MemoryFabric({ runtime })
 * const accessPoints = [1, 2, 3].map((msId) => ({ msId, uri: `memory://engine-${msId}-tag-0` }))
 * const nodes = await runtime.settle(Promise.all(accessPoints.map(async (ap, i) => {
 *   const devices = [0, 1].map((t) => new MemoryBlockDevice({ name: `e${i}t${t}`, blockSizeBytes: 4096, blockCount: 4096 }))
 *   return SystemNode.start({
 *     runtime, fabric, accessPoints, msId: ap.msId,
 *     listen: (tag) => `memory://engine-${ap.msId}-tag-${tag}`,
 *     targets: await TargetSet.create(0, devices),
 *     storage: { open: (_group, voters) => MemoryStorage.withVoters(voters) },
 *     identity: { uuid: `00000000-0000-4000-8000-00000000000${i}`, incarnation: 1 },
 *     faultDomain: `/host${i}`, controlAddress: `127.0.0.${i + 1}:10001`,
 *   })
 * })), 60_000)
 * const { pool } = await runtime.settle(nodes[2]!.poolCreate({ label: 'tank', sizeBytes: 1 << 20 }), 60_000)
 * await runtime.settle(nodes[1]!.containerCreate({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' }), 60_000)
 * const connected = await runtime.settle(nodes[0]!.poolConnect({ id: pool.uuid }), 60_000)
 * console.log(connected.mapVersion, connected.ranks.length) // 1 3
 * ```
 *
 * A daemon gives each node file-backed Raft logs with {@link fileStorageFactory} (`{ dir, removeDir }`),
 * a `TcpFabric`, real time (`createRealRuntime()`), fixed fabric ports (the access points' URIs
 * are their context-0 URIs) and an identity it keeps across restarts with a growing incarnation.
 * `systemStop` / `systemStart` only record rank states in the management service; stopping the
 * engine process is the daemon's.
 *
 * `@x/engine/testing`'s `startTestSystem` does all of the above (and crash / restart) for tests.
 *
 * @module
 */
export {
  type AccessPoint,
  type RaftStorageFactory,
  type RebuildFactory,
  type RebuildRunStats,
  type RebuildRunner,
  defaultRebuildFactory,
  type SystemIdentity,
  SystemNode,
  type SystemNodeOptions,
  type SystemTiming,
  containerOclassAttribute,
  containerTypeAttribute,
  defaultSystemTiming,
  kvObjectLo,
  kvOidAttribute,
  mapChangeNeedsRebuild,
  spreadRanks,
} from './node.ts'
export { type FileRaftStorageFactory, type FileStorageFactoryOptions, fileStorageFactory } from './file-storage-factory.ts'
export { PoolRpcDispatcher, PoolScopedCart } from './pool-cart.ts'
export { RaftRouter, type RaftRouterOptions, type RaftRouterStats } from './raft-transport.ts'
export {
  type RdbMessageInput,
  type SystemCallInput,
  type SystemCallOutput,
  decodeArgs,
  encodeArgs,
  errorReply,
  isRetryable,
  mgmtCallRpc,
  mgmtProtocol,
  okReply,
  poolCallRpc,
  poolProtocol,
  rdbMessageRpc,
  rdbProtocol,
  unwrapReply,
} from './rpc.ts'
export type * from './types.ts'
