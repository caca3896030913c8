/**
 * The engine's services: its targets and object I/O path, and the replicated management and pool
 * services, each a deterministic state machine run on a Raft group:
 *
 * - **Runner** ({@link ReplicatedService} over {@link RsmCore}): a {@link ServiceMachine}
 *   (`validate`, `apply(command) -> result`, `snapshot`, `restore`) on an `@x/raft` `RaftDriver`.
 *   `submit` checks the command on the leader before it enters the log (a refusal is
 *   confirmed by a read-index round, never made on a lagging state) and answers with the
 *   command's own result or typed `DerError` once applied; non-leaders answer `DER_NOTLEADER`
 *   with `details.leaderHint`. Requests carrying a client id and sequence number are applied
 *   exactly once (the last outcome of each client session is kept, in snapshots too). Reads go
 *   through read-index. A snapshot is taken every N applied entries and the log compacted;
 *   lagging followers and restarted replicas restore from it.
 * - **Management service** ({@link ManagementMachine}): system members (rank, UUID, addresses,
 *   fault domain, incarnation, state joined / stopped / excluded / errored), join and rejoin with
 *   incarnation checks, exclude / stop / start, validated system properties, and pool bookkeeping
 *   (UUID, unique label, size, service and target ranks, state creating / ready / destroying).
 * - **Pool service** ({@link PoolServiceMachine}, one per pool): the pool map (opaque bytes, the
 *   version only grows), pool properties, the ACL (`A::OWNER@:rw` entries, {@link parseAclEntry}),
 *   pool handles (ro / rw / ex; a connect naming a user and groups is checked against the ACL
 *   with {@link aclPermissionsFor}) with disconnect and evict, and containers with properties,
 *   attributes, snapshots (epoch lists) and open handles (destroy refused with `DER_BUSY` while
 *   open, unless forced).
 *
 * - **Targets** ({@link Target}, {@link TargetSet}): one `@x/vos` VOS per target, on a blobstore
 *   over the target's device; create, open (the VOS recovers from its WAL), close, space query.
 * - **Object I/O** ({@link ObjectService}): update, fetch, punch, enumerate and query-key as a
 *   `@x/cart` protocol whose opcodes are `@x/protocol`'s `OBJ_*`. Every request carries the
 *   client's pool map version (older: `DER_STALE` with the engine's map). Replicated classes are
 *   written through the group leader: it takes an HLC epoch, prepares a DTX on every replica,
 *   acknowledges only when all have it durable, and sends commit records in batches; a read that
 *   meets a prepared write resolves it with the leader instead of failing. Erasure-coded classes
 *   (`EC_2P1G1`, `EC_4P2G1`, `EC_2P1GX`, ...) are written through the group's leader (the last
 *   parity shard): cells of the object's cell size, Reed-Solomon parity over GF(2^8)
 *   ({@link ErasureCodec}: XOR for one parity, ISA-L's Cauchy matrix beyond), read-modify-write
 *   of partial stripes under the object lock, every shard's part under one DTX; fetches gather
 *   the data cells and reconstruct around unavailable targets (`DER_DATA_LOSS` past the parity
 *   count, never wrong bytes). {@link ObjectClient} drives it from tests and tools.
 * - **Membership** ({@link MembershipAgent}): `@x/swim` between engine ranks over a cart protocol
 *   (CaRT's SWIM opcode base), reporting `alive` / `suspect` / `dead` with incarnations.
 * - **Rebuild** ({@link RebuildService}): after a pool map change every surviving engine scans
 *   its targets' VOS, plans which shards move (`layoutMoves`) and pushes each moved shard's full
 *   committed history (values, extents, punches with their epochs) to its new target, resolving
 *   prepared DTXs first; lost EC cells are reconstructed from the survivors at every epoch.
 *   The same path serves reintegration and drain; `progress` feeds `pool query`.
 * - **System node** ({@link SystemNode}): one engine of a multi-engine system on any fabric and
 *   runtime: Raft over cart for the management service (on the access points) and every pool
 *   service, joins and request forwarding to the right leader, pools across ranks, pool map
 *   pushes, SWIM-driven exclusion followed by rebuild, reintegration and drain. The daemon runs
 *   it on TCP with file storage; `@x/engine/testing` (`startTestSystem` there) runs N of
 *   them in one process on a `MemoryFabric` and a `VirtualRuntime` for tests and the simulator.
 * - **Caps** ({@link CapsService}): the `@x/caps` authority of each POSIX container's inodes
 *   behind a cart protocol (grants, revokes with eviction after the timeout, flush acks,
 *   renewals), used by `@x/dfs` for safe client caching.
 *
 * Every command is checked in full before any change, so a failed command changes nothing.
 * Commands are versioned structs ({@link mgmtCommandCodec}, {@link poolCommandCodec}); results
 * and snapshots are {@link Value} trees ({@link valueCodec}).
 *
 * @example
 * ```ts
 * import { VirtualRuntime } from '@x/common'
 * import { MemoryStorage } from '@x/raft'
 * import { ManagementMachine, ReplicatedService, decodeJoinResult, encodeMgmtCommand } from '@x/engine'
 *
 * const runtime = new VirtualRuntime({ seed: 1 })
 * const ms = new ReplicatedService({ id: 1, runtime, storage: MemoryStorage.withVoters([1]), send: () => {}, machine: new ManagementMachine(), tickMs: 10 })
 * ms.start()
 * await runtime.advance(500) // a single voter elects itself
 * const join = ms.submit(encodeMgmtCommand({ op: 'join', uuid: '6f1c4c3a-0d1e-4f7b-9a4e-2b1f1f0c0a01', addr: '10.0.0.1:10001', fabricUri: 'tcp://10.0.0.1:31416', faultDomain: '/host1', incarnation: 1 }), { clientId: 'engine-1', seq: 1 })
 * await runtime.advance(10)
 * console.log(decodeJoinResult(await join)) // { rank: 0, mapVersion: 1 }
 * ```
 *
 * @packageDocumentation
 */
export { type AclEntry, type AclIdentity, aclPermissionLetters, aclPermissionsFor, aclPrincipalKey, defaultPoolAcl, formatAclEntry, maxAclEntries, parseAcl, parseAclEntry, parseAclPrincipal } from './acl.ts'
export {
  type PropertySpec,
  type PropertyTable,
  type PropertyUse,
  checkLabel,
  checkProperties,
  checkUuid,
  containerProperties,
  isUuid,
  poolProperties,
  systemProperties,
  withDefaults,
} from './properties.ts'
export {
  type CommandSchema,
  type FieldKind,
  type Value,
  type ValueRecord,
  ValueReader,
  commandCodec,
  decodeValue,
  encodeValue,
  isRecord,
  mapToRecord,
  maxValueDepth,
  valueCodec,
} from './value.ts'
export {
  type Outcome,
  type ReadOptions,
  ReplicatedService,
  type ReplicatedServiceOptions,
  type RequestId,
  RsmCore,
  type RsmEntry,
  type ServiceMachine,
  leaderHintOf,
  notLeaderError,
  rsmEntryCodec,
  unwrapOutcome,
} from './rsm.ts'
export {
  type JoinResult,
  ManagementMachine,
  type Member,
  type MemberState,
  type MgmtCommand,
  type PoolRecord,
  type PoolState,
  decodeJoinResult,
  decodeMgmtCommand,
  encodeMgmtCommand,
  maxMembers,
  maxPools,
  mgmtCommandCodec,
} from './management-service.ts'
export {
  type ContainerOpenMode,
  type ContainerRecord,
  type PoolCommand,
  type PoolHandleCaps,
  type PoolMapBlob,
  PoolServiceMachine,
  type PoolServiceInfo,
  decodePoolCommand,
  encodePoolCommand,
  poolCommandCodec,
  poolServiceLimits,
} from './pool-service.ts'
export * from './object/index.ts'
export * from './target/index.ts'
export * from './system/index.ts'
export * from './rebuild/index.ts'
export * from './membership/index.ts'
export * from './caps/index.ts'
