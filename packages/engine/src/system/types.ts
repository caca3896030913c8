/**
 * Request and response types of {@link SystemNode}'s operations. They follow the daemon's
 * control API (`apps/daemon/src/control/control-api.ts`) so the daemon maps them one to one:
 * same names, same fields, with raw bytes where the control API uses base64.
 *
 * @module
 */
import type { TargetStateName } from '@x/protocol'

/** A member of the system as `dmg system query` shows it. */
export interface SystemMember {
  readonly rank: number
  readonly uuid: string
  /** The control address (`host:port`). */
  readonly addr: string
  /** The fabric URI of the engine's context 0. */
  readonly fabricUri: string
  /** The fabric URIs of every context (index = tag = target index). */
  readonly uris: readonly string[]
  readonly faultDomain: string
  /** `joined`, `stopped`, `excluded` or `errored`. */
  readonly state: string
  readonly incarnation: number
  /** Why the state last changed (empty when joined normally). */
  readonly info: string
}

/** SystemQuery's request: every member, or only the given ranks. */
export interface SystemQueryRequest {
  readonly ranks?: readonly number[]
}

/** SystemQuery's response. */
export interface SystemQueryResponse {
  readonly members: readonly SystemMember[]
  /** The system map version (bumped by every membership change). */
  readonly mapVersion: number
}

/** SystemStop's, SystemStart's and SystemExclude's request. */
export interface SystemRanksRequest {
  /** The ranks (default for stop and start: every member). */
  readonly ranks?: readonly number[]
}

/** SystemStop's, SystemStart's and SystemExclude's response. */
export interface SystemRanksResponse {
  readonly mapVersion: number
}

/** A pool as the management service records it. */
export interface PoolInfo {
  readonly uuid: string
  readonly label: string
  /** `creating`, `ready` or `destroying`. */
  readonly state: string
  readonly sizeBytes: number
  readonly svcRanks: readonly number[]
  readonly tgtRanks: readonly number[]
}

/** PoolCreate's request. */
export interface PoolCreateRequest {
  readonly label: string
  readonly sizeBytes: number
  /** Pool properties (`name -> value`). */
  readonly properties?: Readonly<Record<string, string>>
  /** ACL entries (`A::OWNER@:rw`); default: DAOS's default pool ACL. */
  readonly acl?: readonly string[]
  /** Owner user (`name@`); sets the `owner` property. */
  readonly user?: string
  /** Owner group (`name@`); sets the `group` property. */
  readonly group?: string
  /** Number of target ranks (default: every joined rank). */
  readonly nranks?: number
}

/** PoolCreate's response. */
export interface PoolCreateResponse {
  readonly pool: PoolInfo
}

/** PoolList's response. */
export interface PoolListResponse {
  readonly pools: readonly PoolInfo[]
}

/** A pool named by label or UUID. */
export interface PoolIdRequest {
  readonly id: string
}

/** Space of a pool. */
export interface PoolSpace {
  readonly usedBytes: number
  readonly capacityBytes: number
  readonly freeBytes: number
}

/** Rebuild state of a pool, as the pool service leader tracks it. */
export interface PoolRebuildStatus {
  /** `idle` (nothing to do), `busy` (ranks still rebuilding), `done`, or `unavailable` (no rebuild service: exclusions leave targets DOWN). */
  readonly state: 'idle' | 'busy' | 'done' | 'unavailable'
  /** The map version the rebuild runs for (0: none yet). */
  readonly version: number
  /** Ranks that reported completion / ranks expected to. */
  readonly ranksDone: number
  readonly ranksTotal: number
  readonly objects: number
  readonly records: number
  readonly bytes: number
  /** Ranks whose rebuild failed (they report again on the next map). */
  readonly failures: number
}

/** PoolQuery's response. */
export interface PoolQueryResponse {
  readonly pool: PoolInfo
  readonly mapVersion: number
  readonly totalTargets: number
  /** Targets taking I/O (UPIN, UP, DRAIN). */
  readonly activeTargets: number
  /** Targets out (DOWN, DOWNOUT). */
  readonly disabledTargets: number
  /** Target counts by state. */
  readonly targetStates: Readonly<Record<TargetStateName, number>>
  readonly space: PoolSpace
  readonly properties: Readonly<Record<string, string>>
  /** Open pool handles. */
  readonly handles: number
  readonly containers: number
  readonly rebuild: PoolRebuildStatus
}

/** PoolDestroy's request. */
export interface PoolDestroyRequest extends PoolIdRequest {
  /** Destroy even when the pool has open handles (`--force`). */
  readonly force?: boolean
}

/** PoolDestroy's response. */
export interface PoolDestroyResponse {
  readonly uuid: string
  readonly label: string
}

/** PoolConnect's request. */
export interface PoolConnectRequest extends PoolIdRequest {
  /** `ro`, `rw` (default) or `ex`. */
  readonly caps?: string
  /** The connecting user (checked against the ACL when given; `alice` or `alice@`). */
  readonly user?: string
  /** The user's groups (`staff` or `staff@`). */
  readonly groups?: readonly string[]
  /** The handle UUID (default: a new one). */
  readonly handle?: string
}

/** A rank and the fabric URIs of its contexts (index = tag = target index). */
export interface RankUris {
  readonly rank: number
  readonly uris: readonly string[]
}

/** PoolConnect's response: what a client needs to do object I/O on the pool. */
export interface PoolConnectResponse {
  readonly uuid: string
  readonly label: string
  /** The pool handle. */
  readonly handle: string
  /** The pool map as `@x/protocol`'s `encodePoolMap` writes it. */
  readonly poolMap: Uint8Array
  readonly mapVersion: number
  /** Every rank of the map with its URIs. */
  readonly ranks: readonly RankUris[]
}

/** PoolDisconnect's request. */
export interface PoolDisconnectRequest extends PoolIdRequest {
  readonly handle: string
}

/** PoolGetProp's request (no names: every property). */
export interface PoolGetPropRequest extends PoolIdRequest {
  readonly names?: readonly string[]
}

/** Properties response. */
export interface PropertiesResponse {
  readonly properties: Readonly<Record<string, string>>
}

/** PoolSetProp's request. */
export interface PoolSetPropRequest extends PoolIdRequest {
  readonly properties: Readonly<Record<string, string>>
}

/** PoolUpdateAcl's and PoolOverwriteAcl's request. */
export interface PoolAclRequest extends PoolIdRequest {
  readonly entries: readonly string[]
}

/** PoolDeleteAcl's request. */
export interface PoolDeleteAclRequest extends PoolIdRequest {
  /** `OWNER@`, `GROUP@`, `EVERYONE@`, `u:name@` or `g:name@`. */
  readonly principal: string
}

/** An ACL response: canonical entries. */
export interface PoolAclResponse {
  readonly entries: readonly string[]
}

/** PoolEvict's request (no handles: every handle). */
export interface PoolEvictRequest extends PoolIdRequest {
  readonly handles?: readonly string[]
}

/** PoolEvict's response. */
export interface PoolEvictResponse {
  readonly evicted: number
}

/** PoolExclude's, PoolDrain's and PoolReintegrate's request. */
export interface PoolTargetsRequest extends PoolIdRequest {
  readonly rank: number
  /** Target indexes inside the rank (default: all). */
  readonly targetIndexes?: readonly number[]
}

/** A pool map change's response. */
export interface PoolMapResponse {
  readonly mapVersion: number
}

/** A container as the pool service records it. */
export interface ContainerInfo {
  readonly uuid: string
  readonly label: string
}

/** ContainerCreate's request. */
export interface ContainerCreateRequest {
  /** Pool label or UUID. */
  readonly pool: string
  readonly label: string
  /** `KV` (default) or `POSIX`. */
  readonly type?: string
  /** Object class of the container's KV object (default `S1`; EC classes included). */
  readonly oclass?: string
  /** Container properties (`name -> value`). */
  readonly properties?: Readonly<Record<string, string>>
}

/** ContainerCreate's response. */
export interface ContainerCreateResponse {
  readonly container: ContainerInfo
}

/** ContainerList's request. */
export interface ContainerListRequest {
  readonly pool: string
}

/** ContainerList's response. */
export interface ContainerListResponse {
  readonly containers: readonly ContainerInfo[]
}

/** A container named by pool and container label or UUID. */
export interface ContainerIdRequest {
  readonly pool: string
  readonly cont: string
}

/** ContainerQuery's response. */
export interface ContainerQueryResponse {
  readonly poolUuid: string
  readonly container: ContainerInfo
  /** `KV` or `POSIX`. */
  readonly type: string
  /** Object class of the container's KV object. */
  readonly oclass: string
  /** The container's KV object id (`hi.lo`, decimal), allocated at create. */
  readonly kvOid: string
  readonly properties: Readonly<Record<string, string>>
  readonly openHandles: number
  /** Snapshot epochs (decimal). */
  readonly snapshots: readonly string[]
}

/** ContainerDestroy's request. */
export interface ContainerDestroyRequest extends ContainerIdRequest {
  readonly force?: boolean
}

/** ContainerDestroy's response. */
export interface ContainerDestroyResponse {
  readonly container: ContainerInfo
}

/** ContainerGetProp's request (no names: every property). */
export interface ContainerGetPropRequest extends ContainerIdRequest {
  readonly names?: readonly string[]
}

/** ContainerSetProp's request. */
export interface ContainerSetPropRequest extends ContainerIdRequest {
  readonly properties: Readonly<Record<string, string>>
}

/** ContainerGetAttr's request. */
export interface ContainerGetAttrRequest extends ContainerIdRequest {
  readonly names: readonly string[]
}

/** Attributes: name -> value bytes. */
export interface ContainerAttrsResponse {
  readonly attributes: Readonly<Record<string, Uint8Array>>
}

/** ContainerSetAttr's request (string values are stored as UTF-8). */
export interface ContainerSetAttrRequest extends ContainerIdRequest {
  readonly attributes: Readonly<Record<string, Uint8Array | string>>
}

/** ContainerListAttrs' response. */
export interface ContainerListAttrsResponse {
  readonly names: readonly string[]
}

/** ContainerDelAttr's request. */
export interface ContainerDelAttrRequest extends ContainerIdRequest {
  readonly names: readonly string[]
}

/** ContainerCreateSnap's request (default epoch: the pool service leader's HLC now). */
export interface ContainerCreateSnapRequest extends ContainerIdRequest {
  /** The epoch, decimal. */
  readonly epoch?: string
}

/** ContainerCreateSnap's and ContainerDestroySnap's epoch. */
export interface ContainerSnapResponse {
  readonly epoch: string
}

/** ContainerDestroySnap's request. */
export interface ContainerDestroySnapRequest extends ContainerIdRequest {
  readonly epoch: string
}

/** ContainerListSnaps' response. */
export interface ContainerListSnapsResponse {
  /** Epochs ascending, decimal. */
  readonly epochs: readonly string[]
}
