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
 *   meets a prepared write resolves it with the leader instead of failing. EC classes, rebuild and
 *   aggregation are not built yet (EC answers `DER_NOSYS`). {@link ObjectClient} drives it from
 *   tests and tools.
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
