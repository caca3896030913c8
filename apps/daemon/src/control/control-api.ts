/**
 * The control API between `dmg` and the daemon's control server: gRPC method names, request and
 * response types, JSON serialization and DER error transport. No `.proto` files: both sides use
 * {@link controlServiceDefinition} with `@grpc/grpc-js`'s generic constructors.
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js'
import { DerError, isDerError, isDerName } from '@x/common'

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

/** SystemQuery's request (no fields yet). */
export type SystemQueryRequest = Record<string, never>

/** SystemQuery's response. */
export interface SystemQueryResponse {
  readonly members: readonly SystemMember[]
  /** The system map version. */
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
  readonly properties: Readonly<Record<string, string>>
}

/** PoolCreate's response. */
export interface PoolCreateResponse {
  readonly pool: PoolInfo
}

/** PoolList's request (no fields yet). */
export type PoolListRequest = Record<string, never>

/** PoolList's response. */
export interface PoolListResponse {
  readonly pools: readonly PoolInfo[]
}

/** PoolQuery's and PoolDestroy's pool identifier: a label or a UUID. */
export interface PoolIdRequest {
  readonly id: string
}

/** Space of a pool (the sum over its targets). */
export interface PoolSpace {
  readonly usedBytes: number
  readonly capacityBytes: number
  readonly freeBytes: number
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
}

/** PoolDestroy's request. */
export interface PoolDestroyRequest extends PoolIdRequest {
  /** Destroy even when the pool has open handles (`--force`). */
  readonly force: boolean
}

/** PoolDestroy's response. */
export interface PoolDestroyResponse {
  readonly uuid: string
  readonly label: string
}

/** PoolConnect's response: what a client needs to do object I/O on the pool. */
export interface PoolConnectResponse {
  readonly uuid: string
  readonly label: string
  /** The pool map as `@x/protocol`'s `encodePoolMap` writes it, base64. */
  readonly poolMap: string
  readonly mapVersion: number
  /** The engine rank serving the pool's object service. */
  readonly rank: number
  /** The cart fabric URIs of the object service, one per target (index = cart tag). */
  readonly uris: readonly string[]
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
  /** Object class of the container's KV object (default `S1`). */
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

/** ContainerQuery's request: a pool and a container label or UUID. */
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
  readonly snapshots: readonly string[]
}

/** ContainerDestroy's request. */
export interface ContainerDestroyRequest extends ContainerIdRequest {
  /** Destroy even with open handles (`--force`). */
  readonly force: boolean
}

/** ContainerDestroy's response. */
export interface ContainerDestroyResponse {
  readonly container: ContainerInfo
}

/** Every control method with its request and response types. */
export interface ControlMethods {
  SystemQuery: { request: SystemQueryRequest; response: SystemQueryResponse }
  PoolCreate: { request: PoolCreateRequest; response: PoolCreateResponse }
  PoolList: { request: PoolListRequest; response: PoolListResponse }
  PoolQuery: { request: PoolIdRequest; response: PoolQueryResponse }
  PoolDestroy: { request: PoolDestroyRequest; response: PoolDestroyResponse }
  PoolConnect: { request: PoolIdRequest; response: PoolConnectResponse }
  ContainerCreate: { request: ContainerCreateRequest; response: ContainerCreateResponse }
  ContainerList: { request: ContainerListRequest; response: ContainerListResponse }
  ContainerQuery: { request: ContainerIdRequest; response: ContainerQueryResponse }
  ContainerDestroy: { request: ContainerDestroyRequest; response: ContainerDestroyResponse }
}

/** A control method name. */
export type ControlMethodName = keyof ControlMethods

/** The method names, in a stable order. */
export const controlMethodNames: readonly ControlMethodName[] = [
  'SystemQuery',
  'PoolCreate',
  'PoolList',
  'PoolQuery',
  'PoolDestroy',
  'PoolConnect',
  'ContainerCreate',
  'ContainerList',
  'ContainerQuery',
  'ContainerDestroy',
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
  if (e.code === grpc.status.DEADLINE_EXCEEDED) return new DerError('DER_TIMEDOUT', `the control server at ${target} did not answer in time`)
  return new DerError('DER_MISC', `control call to ${target} failed: ${e.details ?? e.message ?? String(error)}`)
}
