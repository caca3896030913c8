/**
 * Public types of the versioned object store: ids, epochs, value descriptors and results.
 *
 * @module
 */

/** An epoch: a 64-bit HLC timestamp. Valid epochs are 1 to {@link vosEpochMax}. */
export type Epoch = bigint

/** The largest epoch (DAOS's `DAOS_EPOCH_MAX`): reading at it reads the latest data. */
export const vosEpochMax: Epoch = (1n << 64n) - 1n

/** A 128-bit object id (DAOS's `daos_unit_oid_t` body), 0 <= oid < 2^128. */
export type ObjectId = bigint

/** A record extent of an array value: `count` records starting at record `index`. */
export interface Recx {
  /** First record index. */
  readonly index: number
  /** Number of records, >= 1. */
  readonly count: number
}

/** An extent to write: its data (`count * recordSizeBytes` bytes), or none to punch the range. */
export interface RecxUpdate extends Recx {
  /** The records' bytes; omitted to punch (make a hole of) the range. */
  readonly data?: Uint8Array
}

/** What an update writes under one akey: a single value, or array extents. */
export type AkeyUpdate =
  | { readonly type: 'single'; readonly akey: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'array'; readonly akey: Uint8Array; readonly recordSizeBytes: number; readonly extents: readonly RecxUpdate[] }

/** What a fetch reads under one akey. */
export type AkeyFetch =
  | { readonly type: 'single'; readonly akey: Uint8Array }
  | { readonly type: 'array'; readonly akey: Uint8Array; readonly extents: readonly Recx[] }

/** A fetched single value: `value` is undefined when nothing is visible. */
export interface SingleFetchResult {
  readonly type: 'single'
  readonly akey: Uint8Array
  readonly value: Uint8Array | undefined
  /** The epoch of the visible version. */
  readonly epoch: Epoch | undefined
}

/** Fetched array extents: the requested records concatenated, holes zero-filled and listed. */
export interface ArrayFetchResult {
  readonly type: 'array'
  readonly akey: Uint8Array
  /** Record size of the array, or 0 when the akey holds nothing. */
  readonly recordSizeBytes: number
  /** The requested extents' bytes in request order (empty when `recordSizeBytes` is 0). */
  readonly data: Uint8Array
  /** The parts of the request that are holes (never written, punched, or hidden), merged, in order. */
  readonly holes: readonly Recx[]
}

/** The result for one akey of a fetch. */
export type AkeyFetchResult = SingleFetchResult | ArrayFetchResult

/** Options of writes. */
export interface WriteOptions {
  /** Apply as prepared under this DTX id; the write stays invisible until {@link Vos.commitDtx}. */
  readonly dtxId?: string
}

/** A resumable position in an enumeration; pass it back to continue after the last item. */
export type EnumAnchor = { readonly kind: 'key'; readonly after: Uint8Array } | { readonly kind: 'oid'; readonly after: ObjectId } | { readonly kind: 'index'; readonly from: number }

/** A page of an enumeration; `anchor` is undefined when the enumeration is complete. */
export interface EnumPage<T> {
  readonly items: T[]
  readonly anchor: EnumAnchor | undefined
}

/** A visible extent of an array, with the epoch of the write it comes from. */
export interface VisibleExtent extends Recx {
  readonly epoch: Epoch
}

/** The answer of {@link Vos.queryKey}. */
export interface QueryKeyResult {
  readonly dkey?: Uint8Array
  readonly akey?: Uint8Array
  /** For arrays: the visible extent with the highest (or lowest) end. */
  readonly recx?: VisibleExtent
}

/** Space use of a pool or container, in bytes. */
export interface SpaceInfo {
  /** Bytes of value data held (inline and in the data blob). */
  readonly usedBytes: number
  /** The most value bytes the pool accepts. */
  readonly capacityBytes: number
}

/** Checksum of stored values, a container property: crc32c (the default) or none. */
export type ChecksumType = 'crc32c' | 'none'

/** Properties of a new container. */
export interface ContainerOptions {
  /** Checksum of stored values (default `crc32c`); `none` stores and verifies nothing. */
  readonly csum?: ChecksumType
}

/** DTX states as a VOS records them. */
export type DtxState = 'prepared' | 'committed' | 'aborted'
