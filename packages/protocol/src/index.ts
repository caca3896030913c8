/**
 * What client and engine must agree on:
 *
 * - **Object ids** ({@link ObjectId}): 128 bits as two u64 halves with DAOS's layout of `hi`
 *   (object type, redundancy id, group count, 32 user bits), generation from a container's
 *   {@link ObjectIdAllocator}, `hi.lo` parse and format, validation with `DER_INVAL`.
 * - **Object classes** ({@link ObjectClass}): `S1`, `S2`, `SX`, `RP_2G1` ... `EC_4P2G1`, `EC_2P1GX`
 *   and the rest of DAOS's explicit-layout classes with DAOS's numeric ids
 *   (`redun << 24 | groups`); group counts and shard counts for a pool.
 * - **The pool map** ({@link PoolMap}): targets in failure domains root > host > rank > target,
 *   DAOS's target states (NEW, UP, UPIN, DOWN, DOWNOUT, DRAIN), a version bumped on every change,
 *   a versioned binary encoding ({@link poolMapCodec}), and its CRUSH form
 *   ({@link poolMapCrush}) built with `@x/crush`.
 * - **Placement** ({@link placeObject}): each group's shards on distinct ranks (or hosts) through
 *   CRUSH `chooseleaf indep`, with shards on unavailable targets remapped one by one, so an
 *   exclusion moves only the shards that were on the excluded target. Group leaders
 *   ({@link groupLeader}), the group of a dkey ({@link dkeyGroup}: MurmurHash64A and jump
 *   consistent hash, as DAOS) and the EC cell of a record ({@link ecRecordCell}).
 * - **RPC messages**: opcodes in DAOS's `module << 24 | version << 16 | opcode` shape
 *   ({@link rpcDefinitions}, {@link rpcByOpcode}) for the management service (system query,
 *   pool create, destroy, list, query, exclude, drain, reintegrate, evict), the pool service
 *   (connect, disconnect, query, properties, ACL, attributes, containers) and object I/O
 *   (update, fetch, punch, enumerate, query-key with epochs, dkeys, akeys, single values and
 *   extents); each message is a versioned `StructCodec` described by a schema
 *   ({@link defineMessage}, {@link t}); pool, container and object messages carry the map version.
 * - **The object I/O cart protocol** ({@link objectProtocol}): the OBJ_* formats as `@x/cart`
 *   RPCs, replies extended with the engine's pool map when the sender's is stale; the engine
 *   serves it and the client calls it, from this one definition.
 * - **Properties** ({@link parseProperties}): DAOS's pool and container property names,
 *   values, ranges and defaults.
 * - **ACLs** ({@link parseAclEntry}, {@link effectivePermissions}): `A::OWNER@:rw` entries,
 *   principals `OWNER@`, `GROUP@`, `EVERYONE@`, `name@` (or `u:name@` / `g:name@` alone), the
 *   permission letters `rwcdtTaAo`, and DAOS's enforcement order.
 *
 * @example
 * ```ts
 * import { ObjectIdAllocator, ObjectType, buildPoolMap, generateObjectId, parseObjectClass, placeObject, poolMapFit } from '@x/protocol'
 *
 * const map = buildPoolMap({ ranks: [0, 1, 2, 3].map((rank) => ({ rank, host: `node${rank}`, targets: 4 })) })
 * const oid = generateObjectId({ lo: new ObjectIdAllocator().allocate(), type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3GX'), fit: poolMapFit(map) })
 * for (const g of placeObject(map, oid).groups) console.log(g.shards.map((s) => `${s.rank}:${s.targetIndex}`))
 * ```
 *
 * @packageDocumentation
 */
export {
  CLASS_REDUN_SHIFT,
  type ClassFit,
  type ClassSelection,
  checkClassRedundancy,
  defaultObjectClass,
  GROUPS_MAX,
  type ObjectClass,
  type Redundancy,
  checkFit,
  objectClassById,
  objectClassByRedun,
  objectClasses,
  parseObjectClass,
  redundancyName,
  resolveGroupCount,
  shardCount,
} from './object-class.ts'
export {
  type ObjectId,
  ObjectIdAllocator,
  type ObjectIdFields,
  ObjectType,
  type ObjectTypeId,
  checkObjectId,
  encodeObjectId,
  formatObjectId,
  formatObjectIdHex,
  generateObjectId,
  isArrayType,
  isDkeyLexicalType,
  isDkeyUint64Type,
  isKvType,
  objectIdEquals,
  oidClass,
  oidGroupCount,
  oidRedunId,
  oidType,
  oidUserHi,
  parseObjectId,
  validateObjectId,
} from './object-id.ts'
export {
  type PoolDomainLevel,
  PoolDomainType,
  type PoolMap,
  type PoolMapOperation,
  type PoolRank,
  type PoolRankSpec,
  type PoolTarget,
  type TargetSelector,
  TargetState,
  type TargetStateName,
  type MapVersionCheck,
  applyPoolMapOperation,
  buildPoolMap,
  checkMapVersion,
  compareMapVersions,
  domainCount,
  extendPoolMap,
  findRank,
  isTargetAvailable,
  isTargetInLayout,
  layoutTargetCount,
  poolMapCrush,
  poolMapFit,
  poolMapLimits,
  poolRuleIds,
  poolTargets,
  targetById,
  targetStateCodes,
  targetStateCounts,
  targetStateFromCode,
  validatePoolMap,
} from './pool-map.ts'
export { decodePoolMap, encodePoolMap, poolMapCodec } from './pool-map-codec.ts'
export {
  type GroupPlacement,
  type ObjectLayout,
  type PlacementOptions,
  type ShardPlacement,
  type ShardRole,
  type ShardMove,
  checkPlaceable,
  formatLayout,
  groupLeader,
  layoutMoves,
  layoutTable,
  placeObject,
  placementInput,
} from './placement.ts'
export { DKEY_HASH_SEED, dkeyGroup, dkeyHash, ecRecordCell, jumpConsistentHash, murmurHash64a } from './dkey.ts'
export { type RpcModuleName, RPC_PROTOCOL_VERSION, RpcModule, rpcOpcode, splitOpcode } from './rpc/opcodes.ts'
export {
  type AnyMessageCodec,
  type FieldType,
  type FieldValue,
  type Fields,
  type MessageCodec,
  type MessageValue,
  type StructValue,
  decodeField,
  decodeFields,
  defineMessage,
  encodeField,
  encodeFields,
  isUuid,
  t,
} from './rpc/schema.ts'
export {
  LABEL_MAX_LENGTH,
  aclType,
  attributeType,
  containerInfoType,
  credentialType,
  poolInfoType,
  propertyType,
  rebuildStatusType,
  snapshotType,
  statusFields,
  tierSpaceType,
} from './rpc/common-fields.ts'
export {
  MgmtPoolQueryReply,
  MgmtPoolQueryRequest,
  PoolCreateReply,
  PoolCreateRequest,
  PoolDestroyRequest,
  PoolEvictRequest,
  PoolListReply,
  PoolListRequest,
  PoolTargetsReply,
  PoolTargetsRequest,
  StatusReply,
  SystemQueryReply,
  SystemQueryRequest,
  SystemRanksRequest,
  poolSummaryType,
  systemMemberType,
} from './rpc/mgmt.ts'
export {
  AclReply,
  AttrsReply,
  PoolAttrsRequest,
  PoolConnectFlags,
  PoolConnectReply,
  PoolConnectRequest,
  PoolDeleteAclRequest,
  PoolDisconnectRequest,
  PoolGetAclRequest,
  PoolGetPropsRequest,
  PoolListContainersReply,
  PoolListContainersRequest,
  PoolModifyAclRequest,
  PoolQueryReply,
  PoolQueryRequest,
  PoolSetPropsRequest,
  PoolStatusReply,
  PropertiesReply,
  poolReplyFields,
  poolRequestFields,
} from './rpc/pool.ts'
export {
  ContAllocOidsReply,
  ContAllocOidsRequest,
  ContAttrsRequest,
  ContCloseRequest,
  ContCreateRequest,
  ContCreateSnapReply,
  ContCreateSnapRequest,
  ContDestroyRequest,
  ContDestroySnapRequest,
  ContGetPropsRequest,
  ContListSnapsReply,
  ContListSnapsRequest,
  ContOpenReply,
  ContOpenRequest,
  ContQueryReply,
  ContQueryRequest,
  ContSetPropsRequest,
  ContainerOpenFlags,
  containerRequestFields,
} from './rpc/container.ts'
export {
  KEY_MAX_LENGTH,
  ObjEnumerateReply,
  ObjEnumerateRequest,
  ObjFetchReply,
  ObjFetchRequest,
  ObjPunchReply,
  ObjPunchRequest,
  ObjQueryKeyReply,
  ObjQueryKeyRequest,
  ObjUpdateReply,
  ObjUpdateRequest,
  dtxIdType,
  forwardTargetType,
  iodType,
  objectReplyFields,
  objectRequestFields,
  recxType,
} from './rpc/object.ts'
export { Opcode, type RpcDefinition, type RpcName, rpcByName, rpcByOpcode, rpcDefinitions, rpcTable } from './rpc/registry.ts'
export {
  type PropertyDefinition,
  type PropertyKind,
  type PropertyScope,
  type PropertyValue,
  containerProperties,
  defaultProperties,
  findProperty,
  formatPropertyValue,
  parseProperties,
  parseProperty,
  poolProperties,
  propertiesFromWire,
  propertiesToWire,
  validateLabel,
} from './properties.ts'
export {
  type Acl,
  type AclEntry,
  type AclSubject,
  type Permission,
  type Principal,
  type PrincipalKind,
  checkPermissions,
  defaultContainerAclEntries,
  defaultPoolAclEntries,
  effectivePermissions,
  formatAcl,
  formatAclEntry,
  formatPermissions,
  formatPrincipal,
  mergeAclEntries,
  parseAclEntries,
  parseAclEntry,
  parsePermissions,
  parsePrincipal,
  permissionLetters,
  permissionMeanings,
  poolPermissionLetters,
  removeAclEntry,
  validatePoolAcl,
  validatePrincipalName,
} from './acl.ts'
export {
  type ObjEnumerateInput,
  type ObjEnumerateOutput,
  ObjEnumerateReplyMsg,
  type ObjFetchInput,
  type ObjFetchOutput,
  ObjFetchReplyMsg,
  type ObjPunchInput,
  type ObjPunchOutput,
  ObjPunchReplyMsg,
  type ObjQueryKeyInput,
  type ObjQueryKeyOutput,
  ObjQueryKeyReplyMsg,
  type ObjUpdateInput,
  type ObjUpdateOutput,
  ObjUpdateReplyMsg,
  objEnumerateRpc,
  objFetchRpc,
  objPunchRpc,
  objQueryKeyRpc,
  objReservedRpc,
  objUpdateRpc,
  objectMaxMessageBytes,
  objectProtocol,
} from './rpc/object-cart-protocol.ts'
