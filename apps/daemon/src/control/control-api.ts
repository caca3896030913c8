/**
 * The control API between `dmg` and the daemon's control server: gRPC method names, request and
 * response types, JSON serialization and DER error transport. No `.proto` files: both sides use
 * {@link controlServiceDefinition} with `@grpc/grpc-js`'s generic constructors.
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js'
import { DerError, isDerError, isDerName } from '@x/common'

/** Response shapes the control API shares with the engine's `SystemNode` (one definition, in `@x/engine`). */
export type { ContainerCreateResponse, ContainerDestroyResponse, ContainerInfo, ContainerListResponse, ContainerQueryResponse, PoolCreateResponse, PoolDestroyResponse, PoolEvictResponse, PoolInfo, PoolListResponse, PoolSpace, PropertiesResponse, RankUris } from '@x/engine'
import type { ContainerCreateResponse, ContainerDestroyResponse, ContainerListResponse, ContainerQueryResponse, PoolCreateResponse, PoolDestroyResponse, PoolEvictResponse, PoolInfo, PoolListResponse, PoolSpace, PropertiesResponse, RankUris } from '@x/engine'

/** A member of the system as `dmg system query` shows it. */
export interface SystemMember {
  readonly rank: number
  readonly uuid: string
  /** The control address (`host:port`). */
  readonly addr: string
  /** The fabric URI of the engine. */
  readonly fabricUri: string
  readonly faultDomain: string
  /** `joined`, `stopped`, `excluded` or `errored`. */
  readonly state: string
}

/** SystemQuery's request: optionally only some ranks. */
export interface SystemQueryRequest {
  readonly ranks?: readonly number[]
}

/** SystemQuery's response. */
export interface SystemQueryResponse {
  readonly members: readonly SystemMember[]
  /** The system map version. */
  readonly mapVersion: number
}

/** PoolCreate's request. */
export interface PoolCreateRequest {
  readonly label: string
  readonly sizeBytes: number
  /** Pool properties (`name -> value`). */
  readonly properties: Readonly<Record<string, string>>
  /** Number of ranks to spread over (default: every joined rank). */
  readonly nranks?: number
  /** The owner (`name@`; the CLI sends the caller's user by default). */
  readonly user?: string
  /** The owner group (`name@`; the CLI sends the caller's primary group by default). */
  readonly group?: string
  /** ACL entries (`A::OWNER@:rw`, ...; default: DAOS's default pool ACL). */
  readonly acl?: readonly string[]
}

/** PoolList's request (no fields yet). */
export type PoolListRequest = Record<string, never>

/** PoolQuery's and PoolDestroy's pool identifier: a label or a UUID. */
export interface PoolIdRequest {
  readonly id: string
}

/** PoolQuery's response. */
export interface PoolQueryResponse {
  readonly pool: PoolInfo
  readonly mapVersion: number
  readonly totalTargets: number
  readonly activeTargets: number
  readonly disabledTargets: number
  readonly space: PoolSpace
  /** The pool's properties. */
  readonly properties: Readonly<Record<string, string>>
  /** Target counts by state (`UPIN`, `DOWN`, ...). */
  readonly targetStates?: Readonly<Record<string, number>>
  /** Rebuild status (`idle`, `busy`, `done`) and counts. */
  readonly rebuild?: RebuildStatus
  /** Number of containers (user-visible). */
  readonly containers?: number
  /** Open pool handles. */
  readonly handles?: number
}

/** A pool's rebuild status as `pool query` shows it. */
export interface RebuildStatus {
  /** `idle` (nothing to do), `busy` (in progress), `done`, or `unavailable` (no rebuild service). */
  readonly state: string
  readonly objects: number
  readonly records: number
  /** Ranks that finished the current rebuild, of `ranksTotal` (multi-engine systems). */
  readonly ranksDone?: number
  readonly ranksTotal?: number
}

/** PoolDestroy's request. */
export interface PoolDestroyRequest extends PoolIdRequest {
  /** Destroy even when the pool has open handles (`--force`). */
  readonly force: boolean
}

/** PoolConnect's response: what a client needs to do object I/O on the pool. */
export interface PoolConnectResponse {
  readonly uuid: string
  readonly label: string
  /** The pool map as `@x/protocol`'s `encodePoolMap` writes it, base64. */
  readonly poolMap: string
  readonly mapVersion: number
  /** The engine rank serving the pool's object service (the first of `ranks`). */
  readonly rank: number
  /** The cart fabric URIs of the object service, one per target (index = cart tag), of `rank`. */
  readonly uris: readonly string[]
  /** Every rank of the pool map with its fabric URIs (index = cart tag). */
  readonly ranks?: readonly RankUris[]
  /** The pool handle to give back with PoolDisconnect (empty: none was opened). */
  readonly handle?: string
}

/** PoolConnect's request: the pool, the caller and the handle capabilities (`ro` or `rw`, default `rw`). */
export interface PoolConnectRequest extends PoolUserRequest {
  readonly caps?: string
  /**
   * Keep the pool handle open and return it (the caller then owes a PoolDisconnect). Default
   * false: the connect checks access and returns the map, and the handle is closed at once.
   */
  readonly keepHandle?: boolean
}

/** PoolDisconnect's request. */
export interface PoolDisconnectRequest extends PoolIdRequest {
  readonly handle: string
}

/** ContainerCreate's request. */
export interface ContainerCreateRequest extends IdentifiedRequest {
  /** Pool label or UUID. */
  readonly pool: string
  readonly label: string
  /** `KV` (default) or `POSIX`. */
  readonly type?: string
  /** Object class of the container's KV object (default `S1`). */
  readonly oclass?: string
  /** Container properties (`name -> value`). */
  readonly properties?: Readonly<Record<string, string>>
}

/** ContainerList's request. */
export interface ContainerListRequest extends IdentifiedRequest {
  readonly pool: string
}

/** ContainerQuery's request: a pool and a container label or UUID. */
export interface ContainerIdRequest extends IdentifiedRequest {
  readonly pool: string
  readonly cont: string
}

/** ContainerDestroy's request. */
export interface ContainerDestroyRequest extends ContainerIdRequest {
  /** Destroy even with open handles (`--force`). */
  readonly force: boolean
}

/**
 * Who asks, as the `daos` tool sends it: the OS user and its groups, as ACL principals
 * (`alice@`, `staff@`). Requests without one come from the administrator (`dmg`, authenticated by
 * the control plane's TLS) and are not checked against pool ACLs.
 */
export interface ClientIdentity {
  readonly user: string
  readonly groups: readonly string[]
}

/** Optional fields of every request `daos` makes on a pool: the caller's identity. */
export interface IdentifiedRequest {
  readonly identity?: ClientIdentity
}

/** The outcome of a rank operation (`system stop|start|exclude`). */
export interface RankResult {
  readonly rank: number
  /** `stop`, `start` or `exclude`. */
  readonly operation: string
  /** Whether the rank reached the requested state. */
  readonly ok: boolean
  /** Its state afterwards, and why when not ok. */
  readonly state: string
  readonly info: string
}

/** A rank operation's request: the ranks (none: every rank). */
export interface RankOperationRequest {
  readonly ranks?: readonly number[]
  /** `system stop --force`. */
  readonly force?: boolean
}

/** A rank operation's response. */
export interface RankOperationResponse {
  readonly results: readonly RankResult[]
  /** The system map version afterwards. */
  readonly mapVersion: number
}

/** One storage tier of an engine (`dmg storage scan`). */
export interface StorageTierInfo {
  /** `ram` or `file`. */
  readonly class: string
  /** The device path (file tiers). */
  readonly path: string
  readonly sizeBytes: number
  /** The target indexes on it. */
  readonly targets: readonly number[]
}

/** The storage of one engine. */
export interface HostStorage {
  /** The control address of the engine's daemon. */
  readonly host: string
  readonly rank: number
  readonly tiers: readonly StorageTierInfo[]
  /** Whether its targets are formatted. */
  readonly formatted: boolean
}

/** StorageScan's and StorageQueryUsage's request: `local` asks for this daemon's engine only (no fan-out). */
export interface StorageLocalRequest {
  readonly local?: boolean
}

/** StorageScan's response. */
export interface StorageScanResponse {
  readonly hosts: readonly HostStorage[]
}

/** StorageFormat's request. */
export interface StorageFormatRequest {
  /** Reformat formatted targets too (refused while pools exist: DER_BUSY). */
  readonly force?: boolean
}

/** One engine's format outcome. */
export interface FormatResult {
  readonly host: string
  readonly rank: number
  /** `formatted` or `already formatted`. */
  readonly status: string
  readonly targets: number
}

/** StorageFormat's response. */
export interface StorageFormatResponse {
  readonly results: readonly FormatResult[]
}

/** Space of one target (`dmg storage query usage`). */
export interface TargetUsage {
  readonly index: number
  readonly totalBytes: number
  readonly freeBytes: number
}

/** Space of one engine. */
export interface HostUsage {
  readonly host: string
  readonly rank: number
  readonly totalBytes: number
  readonly usedBytes: number
  readonly freeBytes: number
  readonly targets: readonly TargetUsage[]
}

/** StorageQueryUsage's response. */
export interface StorageUsageResponse {
  readonly hosts: readonly HostUsage[]
}

/** GetAttachInfo's response: what another daemon or a client needs to attach to this engine. */
export interface AttachInfo {
  readonly systemName: string
  /** The engine's rank, once joined (-1 before). */
  readonly rank: number
  /** The engine's cart URI on tag 0 (system protocols). */
  readonly fabricUri: string
  /** The control address. */
  readonly controlAddress: string
  /** Whether the engine runs a management service replica. */
  readonly accessPoint: boolean
}

/** Property names to read (none: all). */
export interface PoolGetPropRequest {
  readonly id: string
  readonly names?: readonly string[]
}

/** PoolSetProp's request. */
export interface PoolSetPropRequest {
  readonly id: string
  readonly properties: Readonly<Record<string, string>>
}

/** A pool's ACL (`dmg pool get-acl`). */
export interface AclResponse {
  /** The owner user (`name@`), or empty. */
  readonly owner: string
  /** The owner group (`name@`), or empty. */
  readonly ownerGroup: string
  /** Entries in canonical form and order (`A::OWNER@:rw`). */
  readonly entries: readonly string[]
}

/** PoolUpdateAcl's and PoolOverwriteAcl's request. */
export interface PoolAclEntriesRequest {
  readonly id: string
  readonly entries: readonly string[]
}

/** PoolDeleteAcl's request: `OWNER@`, `GROUP@`, `EVERYONE@`, `u:name@` or `g:name@`. */
export interface PoolDeleteAclRequest {
  readonly id: string
  readonly principal: string
}

/** PoolExclude's, PoolDrain's and PoolReintegrate's request. */
export interface PoolTargetsRequest {
  readonly id: string
  readonly rank: number
  /** Target indexes inside the rank (none: all its targets). */
  readonly targetIdx?: readonly number[]
}

/** A pool map change's response. */
export interface PoolMapChangeResponse {
  readonly mapVersion: number
}

/** A pool named by `daos`, with the caller's identity. */
export interface PoolUserRequest extends IdentifiedRequest {
  readonly id: string
}

/** PoolGetAttr's request. */
export interface PoolGetAttrRequest extends PoolUserRequest {
  readonly names: readonly string[]
}

/** PoolSetAttr's request: UTF-8 values. */
export interface PoolSetAttrRequest extends PoolUserRequest {
  readonly attrs: Readonly<Record<string, string>>
}

/** Attribute names. */
export interface AttrNamesResponse {
  readonly names: readonly string[]
}

/** Attribute values (UTF-8). */
export interface AttrValuesResponse {
  readonly attrs: Readonly<Record<string, string>>
}

/** ContainerGetProp's request. */
export interface ContainerGetPropRequest extends ContainerIdRequest {
  readonly names?: readonly string[]
}

/** ContainerSetProp's request. */
export interface ContainerSetPropRequest extends ContainerIdRequest {
  readonly properties: Readonly<Record<string, string>>
}

/** ContainerGetAttr's and ContainerDelAttr's request. */
export interface ContainerAttrNamesRequest extends ContainerIdRequest {
  readonly names: readonly string[]
}

/** ContainerSetAttr's request: UTF-8 values. */
export interface ContainerSetAttrRequest extends ContainerIdRequest {
  readonly attrs: Readonly<Record<string, string>>
}

/** ContainerCreateSnap's request: an optional snapshot name. */
export interface ContainerSnapRequest extends ContainerIdRequest {
  readonly name?: string
}

/** A snapshot: its epoch (decimal HLC timestamp) and name (may be empty). */
export interface SnapshotInfo {
  readonly epoch: string
  readonly name: string
}

/** ContainerListSnaps's response. */
export interface SnapshotListResponse {
  readonly snapshots: readonly SnapshotInfo[]
}

/** ContainerDestroySnap's request. */
export interface ContainerDestroySnapRequest extends ContainerIdRequest {
  /** The epoch (decimal) or the snapshot's name. */
  readonly snapshot: string
}

/** An empty response. */
export type EmptyResponse = Record<string, never>

/** Every control method with its request and response types. */
export interface ControlMethods {
  SystemQuery: { request: SystemQueryRequest; response: SystemQueryResponse }
  SystemStop: { request: RankOperationRequest; response: RankOperationResponse }
  SystemStart: { request: RankOperationRequest; response: RankOperationResponse }
  SystemExclude: { request: RankOperationRequest; response: RankOperationResponse }
  GetAttachInfo: { request: Record<string, never>; response: AttachInfo }
  StorageScan: { request: StorageLocalRequest; response: StorageScanResponse }
  StorageFormat: { request: StorageFormatRequest; response: StorageFormatResponse }
  StorageQueryUsage: { request: StorageLocalRequest; response: StorageUsageResponse }
  PoolCreate: { request: PoolCreateRequest; response: PoolCreateResponse }
  PoolList: { request: PoolListRequest; response: PoolListResponse }
  PoolQuery: { request: PoolUserRequest; response: PoolQueryResponse }
  PoolDestroy: { request: PoolDestroyRequest; response: PoolDestroyResponse }
  PoolGetProp: { request: PoolGetPropRequest; response: PropertiesResponse }
  PoolSetProp: { request: PoolSetPropRequest; response: PropertiesResponse }
  PoolGetAcl: { request: PoolIdRequest; response: AclResponse }
  PoolUpdateAcl: { request: PoolAclEntriesRequest; response: AclResponse }
  PoolDeleteAcl: { request: PoolDeleteAclRequest; response: AclResponse }
  PoolOverwriteAcl: { request: PoolAclEntriesRequest; response: AclResponse }
  PoolExclude: { request: PoolTargetsRequest; response: PoolMapChangeResponse }
  PoolDrain: { request: PoolTargetsRequest; response: PoolMapChangeResponse }
  PoolReintegrate: { request: PoolTargetsRequest; response: PoolMapChangeResponse }
  PoolEvict: { request: PoolIdRequest; response: PoolEvictResponse }
  PoolConnect: { request: PoolConnectRequest; response: PoolConnectResponse }
  PoolDisconnect: { request: PoolDisconnectRequest; response: EmptyResponse }
  PoolListAttrs: { request: PoolUserRequest; response: AttrNamesResponse }
  PoolGetAttr: { request: PoolGetAttrRequest; response: AttrValuesResponse }
  PoolSetAttr: { request: PoolSetAttrRequest; response: EmptyResponse }
  ContainerCreate: { request: ContainerCreateRequest; response: ContainerCreateResponse }
  ContainerList: { request: ContainerListRequest; response: ContainerListResponse }
  ContainerQuery: { request: ContainerIdRequest; response: ContainerQueryResponse }
  ContainerDestroy: { request: ContainerDestroyRequest; response: ContainerDestroyResponse }
  ContainerGetProp: { request: ContainerGetPropRequest; response: PropertiesResponse }
  ContainerSetProp: { request: ContainerSetPropRequest; response: PropertiesResponse }
  ContainerListAttrs: { request: ContainerIdRequest; response: AttrNamesResponse }
  ContainerGetAttr: { request: ContainerAttrNamesRequest; response: AttrValuesResponse }
  ContainerSetAttr: { request: ContainerSetAttrRequest; response: EmptyResponse }
  ContainerDelAttr: { request: ContainerAttrNamesRequest; response: EmptyResponse }
  ContainerCreateSnap: { request: ContainerSnapRequest; response: SnapshotInfo }
  ContainerListSnaps: { request: ContainerIdRequest; response: SnapshotListResponse }
  ContainerDestroySnap: { request: ContainerDestroySnapRequest; response: SnapshotInfo }
}

/** A control method name. */
export type ControlMethodName = keyof ControlMethods

/** The method names, in a stable order. */
export const controlMethodNames: readonly ControlMethodName[] = [
  'SystemQuery',
  'SystemStop',
  'SystemStart',
  'SystemExclude',
  'GetAttachInfo',
  'StorageScan',
  'StorageFormat',
  'StorageQueryUsage',
  'PoolCreate',
  'PoolList',
  'PoolQuery',
  'PoolDestroy',
  'PoolGetProp',
  'PoolSetProp',
  'PoolGetAcl',
  'PoolUpdateAcl',
  'PoolDeleteAcl',
  'PoolOverwriteAcl',
  'PoolExclude',
  'PoolDrain',
  'PoolReintegrate',
  'PoolEvict',
  'PoolConnect',
  'PoolDisconnect',
  'PoolListAttrs',
  'PoolGetAttr',
  'PoolSetAttr',
  'ContainerCreate',
  'ContainerList',
  'ContainerQuery',
  'ContainerDestroy',
  'ContainerGetProp',
  'ContainerSetProp',
  'ContainerListAttrs',
  'ContainerGetAttr',
  'ContainerSetAttr',
  'ContainerDelAttr',
  'ContainerCreateSnap',
  'ContainerListSnaps',
  'ContainerDestroySnap',
]

/** The gRPC service name. */
export const controlServiceName = 'x.ctl.CtlSvc'

/** Largest accepted control message. */
export const maxControlMessageBytes = 1 << 20

/** Serializes a control message as UTF-8 JSON. */
export function encodeControlMessage(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8')
}

/** Parses a control message; `DER_PROTO` when it is not a JSON object or too large. */
export function decodeControlMessage(bytes: Buffer): unknown {
  if (bytes.length > maxControlMessageBytes) throw new DerError('DER_PROTO', `control message of ${bytes.length} bytes exceeds ${maxControlMessageBytes}`)
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch (e) {
    throw new DerError('DER_PROTO', `control message is not JSON: ${(e as Error).message}`, { cause: e })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DerError('DER_PROTO', 'control message must be a JSON object')
  return value
}

/** The gRPC service definition (unary methods, JSON bodies). */
export const controlServiceDefinition: grpc.ServiceDefinition = Object.fromEntries(
  controlMethodNames.map((name) => [
    name,
    {
      path: `/${controlServiceName}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeControlMessage,
      requestDeserialize: decodeControlMessage,
      responseSerialize: encodeControlMessage,
      responseDeserialize: decodeControlMessage,
    },
  ]),
)

/** The trailer key carrying the DER code name of a failed call. */
export const derMetadataKey = 'x-der-name'

/** Turns any error into a gRPC status carrying its DER name (`DER_MISC` for untyped errors). */
export function derToGrpcStatus(error: unknown): Partial<grpc.StatusObject> {
  const der = isDerError(error) ? error : new DerError('DER_MISC', error instanceof Error ? error.message : String(error))
  const metadata = new grpc.Metadata()
  metadata.set(derMetadataKey, der.name)
  const code =
    der.name === 'DER_NONEXIST'
      ? grpc.status.NOT_FOUND
      : der.name === 'DER_EXIST'
        ? grpc.status.ALREADY_EXISTS
        : der.name === 'DER_INVAL'
          ? grpc.status.INVALID_ARGUMENT
          : der.name === 'DER_NO_PERM'
            ? grpc.status.PERMISSION_DENIED
            : grpc.status.UNKNOWN
  return { code, details: der.message, metadata }
}

/**
 * Turns a failed gRPC call's error back into a `DerError`: the DER name from the trailer, or
 * `DER_UNREACH` when the server could not be reached, `DER_TIMEDOUT` past the deadline.
 */
export function grpcErrorToDer(error: unknown, target: string): DerError {
  const e = error as Partial<grpc.ServiceError>
  const name = e.metadata?.get(derMetadataKey)[0]
  if (typeof name === 'string' && isDerName(name)) return new DerError(name, e.details ?? e.message ?? name)
  if (e.code === grpc.status.UNAVAILABLE) return new DerError('DER_UNREACH', `cannot reach the control server at ${target} (is the daemon running? start it with \`npm start\`, or give its config with -o)`)
  if (/Received HTTP status code|Protocol error|HTTP\/2/i.test(e.details ?? '')) return new DerError('DER_UNREACH', `${target} does not answer as a control server (${e.details ?? 'protocol error'}); check -l / the config's access_points`)
  if (e.code === grpc.status.DEADLINE_EXCEEDED) return new DerError('DER_TIMEDOUT', `the control server at ${target} did not answer in time`)
  return new DerError('DER_MISC', `control call to ${target} failed: ${e.details ?? e.message ?? String(error)}`)
}
