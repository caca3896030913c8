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
  /**
   * With `dtxId`: opaque bytes (at most {@link vosDtxMetaMaxBytes}) kept with the prepared DTX
   * until it is committed or aborted, durable like the write (DAOS keeps a DTX's leader and member
   * list in its DTX entry), so that an engine restarted with the DTX still prepared can resolve it.
   * Read back with {@link Vos.dtxMeta}.
   */
  readonly dtxMeta?: Uint8Array
}

/** The most bytes of {@link WriteOptions.dtxMeta}. */
export const vosDtxMetaMaxBytes = 4096

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

/** When a version or punch was written: its epoch, then its order among the VOS's writes. */
export interface VersionStamp {
  /** The epoch of the write. */
  readonly epoch: Epoch
  /** Its sequence number in this VOS (orders writes of equal epoch; local to the VOS). */
  readonly seq: number
}

/** A committed single-value version. */
export interface SingleVersion extends VersionStamp {
  /** The value (verified against its checksum). */
  readonly value: Uint8Array
}

/** A committed array extent: records `[index, index + count)`, with data or as a hole (a punched range). */
export interface ExtentVersion extends VersionStamp, Recx {
  /** The records' bytes, or undefined for a hole. */
  readonly data: Uint8Array | undefined
}

/** Every committed version and punch of one akey. */
export interface AkeyHistory {
  /** The akey. */
  readonly akey: Uint8Array
  /** A single value or an array (undefined when the akey only holds punches). */
  readonly type: 'single' | 'array' | undefined
  /** Record size of an array (0 otherwise). */
  readonly recordSizeBytes: number
  /** Punches of the akey, oldest first. */
  readonly punches: readonly VersionStamp[]
  /** Single-value versions, oldest first. */
  readonly singles: readonly SingleVersion[]
  /** Array extents in index order. */
  readonly extents: readonly ExtentVersion[]
}

/** Every committed version and punch under one dkey. */
export interface DkeyHistory {
  /** The dkey. */
  readonly dkey: Uint8Array
  /** Punches of the dkey, oldest first. */
  readonly punches: readonly VersionStamp[]
  /** Its akeys in key order. */
  readonly akeys: readonly AkeyHistory[]
}

/**
 * A page of an object's stored history (what rebuild and migration copy): the object's punches,
 * and for each dkey of the page every committed version and punch with its epoch. Prepared
 * (uncommitted) versions and punches are left out and their DTX ids listed in `preparedDtx`.
 */
export interface ObjectHistory {
  /** Punches of the object, oldest first. */
  readonly punches: readonly VersionStamp[]
  /** Dkeys of the page in key order. */
  readonly dkeys: readonly DkeyHistory[]
  /** Where the next page starts (pass it as `after`), or undefined on the last page. */
  readonly anchor: Uint8Array | undefined
  /** DTXs whose prepared versions or punches the page met (not included). */
  readonly preparedDtx: readonly string[]
}

/** Options of {@link Vos.objectHistory}. */
export interface ObjectHistoryOptions {
  /** Start after this dkey (the previous page's anchor). */
  readonly after?: Uint8Array
  /** Dkeys per page (default 64). */
  readonly maxDkeys?: number
  /** Keep only the dkeys for which this returns true (they do not count towards the page). */
  readonly dkeyFilter?: (dkey: Uint8Array) => boolean
}

/** The records of an {@link ObjectHistory} that {@link Vos.applyHistory} replays. */
export type HistoryRecords = Pick<ObjectHistory, 'punches' | 'dkeys'>

/** What {@link Vos.applyHistory} did. */
export interface HistoryApplyResult {
  /** Versions and punches written. */
  readonly applied: number
  /** Versions and punches already held (or below the aggregated epoch), not written again. */
  readonly skipped: number
}
