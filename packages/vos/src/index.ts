/**
 * The versioned object store (VOS) of one target, after DAOS's VOS.
 *
 * - **Object model**: containers (uuid) -> objects (128-bit ids) -> dkeys -> akeys -> single
 *   values or arrays of fixed-size records addressed by extents, every write stamped with an HLC
 *   epoch. A read "as of" epoch E sees, for every byte, the newest write at or below E that no
 *   punch at or below E hides.
 * - **Operations** ({@link Vos}): `update` (atomic across akeys), `fetch` (with holes for
 *   arrays), punches of objects, dkeys and akeys, enumeration of objects, dkeys, akeys and
 *   extents with resumable anchors, `queryKey`, snapshots, `aggregate` (drops versions that no
 *   snapshot or later read sees and frees them), `discard` of an epoch range, container destroy.
 * - **History for rebuild**: `listStoredObjects` (every object holding any version or punch),
 *   `objectHistory` (every committed version and punch of an object with its epoch, paged by
 *   dkey, prepared DTXs named) and `applyHistory` (idempotent replay at the original epochs: a
 *   version already held is skipped), so a rebuilt target reads as its source at every epoch.
 * - **DTX**: writes applied as prepared under a DTX id, then committed or aborted; readers and
 *   conflicting writers that meet prepared data get `DER_INPROGRESS`; a reused id gets
 *   `DER_ALREADY`.
 * - **Integrity and space**: a crc32c per 32 KiB chunk of every stored value, verified on every
 *   fetch (`DER_CSUM`, never wrong bytes; the container property `csum: 'none'` opts out);
 *   space accounted per pool and container, `DER_NOSPACE` with nothing changed.
 * - **Storage** (DAOS's metadata-on-SSD layout): the index lives in memory ({@link VosIndex}:
 *   {@link BPlusTree}s of keys, an {@link ExtentTree} per array); changes are logged as
 *   checksummed, sequence-numbered, group-committed WAL records on one blob, checkpointed to a
 *   meta blob; values above 4 KiB go to a data blob through an {@link ExtentAllocator}
 *   (VEA-style reserve/publish/cancel with aging). Recovery = newest checkpoint + WAL replay,
 *   and it refuses (`DER_DATA_LOSS`) rather than drop acknowledged updates. Storage is any
 *   {@link BlobIo}: {@link MemoryBlobIo} (tests) or {@link SpdkBlobIo} over an `@x/spdk-io` blobstore blob.
 *
 * @example
 * ```ts
 * import { Vos, createMemoryStorage } from '@x/vos'
 *
 * const vos = await Vos.create({ storage: createMemoryStorage() })
 * const cont = '11111111-2222-3333-4444-555555555555'
 * const key = (s: string) => new TextEncoder().encode(s)
 * await vos.createContainer(cont)
 * await vos.update(cont, 1n, 10n, key('dkey'), [{ type: 'single', akey: key('a'), value: key('v1') }])
 * await vos.update(cont, 1n, 20n, key('dkey'), [{ type: 'single', akey: key('a'), value: key('v2') }])
 * const [old] = await vos.fetch(cont, 1n, 15n, key('dkey'), [{ type: 'single', akey: key('a') }]) // v1
 * ```
 *
 * @packageDocumentation
 */
export { type BlobIo, MemoryBlobIo, type VosStorage, checkBlobRange, createMemoryStorage } from './blob-io.ts'
export { BPlusTree, compareBytes } from './btree.ts'
export { type CheckpointHeader, checkpointSlotBytes, readCheckpoint, writeCheckpoint } from './checkpoint.ts'
export { decodeIndex, decodeMutation, encodeIndex, encodeMutation } from './codec.ts'
export { type BlockExtent, ExtentAllocator } from './extent-allocator.ts'
export { type ExtentPiece, type ExtentRecord, ExtentTree, type Version, newer, paint } from './extent-tree.ts'
export { type VosLimits, defaultVosLimits, resolveLimits } from './limits.ts'
export type { Mutation, StoredAkeyUpdate } from './mutation.ts'
export { type BlobRef, type DataRef, type InlineRef, type StoredData, chunkCsums, copyValue, csumChunkBytes, verifyChunks } from './stored-data.ts'
export {
  type AkeyFetch,
  type AkeyFetchResult,
  type AkeyHistory,
  type AkeyUpdate,
  type ArrayFetchResult,
  type ChecksumType,
  type ContainerOptions,
  type DkeyHistory,
  type DtxState,
  type EnumAnchor,
  type EnumPage,
  type Epoch,
  type ExtentVersion,
  type HistoryApplyResult,
  type HistoryRecords,
  type ObjectHistory,
  type ObjectHistoryOptions,
  type ObjectId,
  type QueryKeyResult,
  type Recx,
  type RecxUpdate,
  type SingleFetchResult,
  type SingleVersion,
  type SpaceInfo,
  type VersionStamp,
  type VisibleExtent,
  type WriteOptions,
  vosDtxMetaMaxBytes,
  vosEpochMax,
} from './types.ts'
export { type ActiveDtx, AkeyNode, type Holder, type Touched, ContainerNode, DkeyNode, type FetchPlan, type HistoryPlan, ObjectNode, type SvRecord, type VersionPlace, VosIndex, dtxDoneCapacity, oidFromKey, oidKey } from './vos-index.ts'
export { Vos, type VosOptions } from './vos.ts'
export { type WalGroup, type WalScan, encodeWalGroup, scanWal, walBlockBytes, walChunkBytes, walHeaderBytes, walMaxGroupBlocks } from './wal.ts'
export { SpdkBlobIo, type SpdkStorageSizes, createSpdkStorage, openSpdkStorage } from './spdk-blob-io.ts'
