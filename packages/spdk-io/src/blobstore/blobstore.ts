/**
 * `Blobstore`: SPDK-style blobs (sized in clusters, addressed in bytes) over a block device, with
 * xattrs, thin provisioning and crash-consistent metadata.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { DerError, type Random, assert, isDerError } from '@x/common'
import type { BlockDevice } from '../block-device.ts'
import { type BlobRecord, type MetadataSnapshot, decodeRegion, decodeRegionHeader, decodeSnapshot, encodeRegion, encodeSnapshot, pageTrailerBytes, regionCapacityBytes } from './metadata.ts'
import { type SuperBlock, blobstoreVersion, bytesToUuid, decodeSuperBlock, encodeSuperBlock } from './super-block.ts'

/** A blob's identifier: a positive integer, never reused within a store. */
export type BlobId = number

/** Options of {@link Blobstore.format}. */
export interface BlobstoreFormatOptions {
  /** Cluster size in bytes (default 1 MiB): the unit of allocation, a multiple of the page size. */
  readonly clusterSizeBytes?: number
  /** Metadata page size in bytes (default 4096 or the device alignment if larger). */
  readonly pageSizeBytes?: number
  /** Pages in each of the two metadata regions (default: enough for the store's clusters plus 64 KiB of xattrs). */
  readonly metadataRegionPages?: number
  /** A tag naming the store's user, at most 16 bytes (SPDK's `bstype`); `load` can demand it. */
  readonly blobstoreType?: string
  /** Source of the store UUID (default: the OS's random UUID). */
  readonly random?: Random
}

/** Options of {@link Blobstore.load}. */
export interface BlobstoreLoadOptions {
  /** Refuse (`DER_DF_INVAL`) a store whose type tag differs. */
  readonly blobstoreType?: string
}

/** Options of {@link Blobstore.createBlob}. */
export interface CreateBlobOptions {
  /** Initial size in clusters (default 0). */
  readonly sizeClusters?: number
  /** Allocate clusters on first write instead of now (default true). */
  readonly thinProvision?: boolean
  /** Initial extended attributes. */
  readonly xattrs?: Readonly<Record<string, Uint8Array | string>>
}

/** What {@link Blobstore.load} found on the device. */
export interface BlobstoreRecovery {
  /** Sequence number of the metadata copy loaded. */
  readonly metadataSequence: bigint
  /**
   * Why the other copy was not used (older, torn by a crash during a sync, or corrupt). A newer
   * copy that is torn or corrupt means the last sync in progress never completed, or the media
   * corrupted it; either way the previous synced state is what was loaded.
   */
  readonly otherCopy: string
  /** Whether the other copy had a higher sequence number than the one loaded (it was discarded as torn or corrupt). */
  readonly newerCopyDiscarded: boolean
}

/** Limits on extended attributes. */
export const xattrLimits = { maxNameBytes: 255, maxValueBytes: 65536 } as const

interface BlobState {
  readonly id: BlobId
  readonly thinProvisioned: boolean
  clusters: number[]
  xattrs: Map<string, Uint8Array>
  openHandles: number
  deleted: boolean
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/**
 * A store of blobs on a block device.
 *
 * Layout: page 0 is the super block; two metadata regions follow; blob data lives in clusters
 * after them. Changes (create, resize, delete, xattrs, cluster allocations) live in memory until
 * {@link Blobstore.sync}, which flushes blob data, then writes the whole metadata snapshot with the
 * next sequence number into the other region and flushes again. After a crash at any point,
 * {@link Blobstore.load} returns the last synced state (or the one being synced, if it reached the
 * disk whole). Clusters freed since the last sync are not reused before the next sync completes,
 * so synced data is never overwritten by unsynced allocations; newly allocated clusters are zeroed
 * before the metadata can reference them.
 */
export class Blobstore {
  /** The store's UUID. */
  readonly uuid: string
  /** The type tag given at format time. */
  readonly blobstoreType: string
  /** Metadata page size in bytes. */
  readonly pageSizeBytes: number
  /** Cluster (allocation unit) size in bytes. */
  readonly clusterSizeBytes: number
  /** Smallest aligned I/O unit on the device in bytes; unaligned blob I/O is read-modify-write. */
  readonly ioUnitBytes: number
  /** Clusters on the device, metadata included. */
  readonly totalClusters: number
  /** First cluster that can hold blob data. */
  readonly firstDataCluster: number

  private readonly blobs = new Map<BlobId, BlobState>()
  private readonly allocated: Uint8Array
  private readonly pendingFree: number[] = []
  private readonly initializing = new Map<string, Promise<number>>()
  private freeCount: number
  private allocCursor: number
  private nextBlobId: number
  private sequence: bigint
  private syncChain: Promise<void> = Promise.resolve()
  private rmwChain: Promise<void> = Promise.resolve()
  private isClosed = false
  private recoveryInfo: BlobstoreRecovery | undefined

  private constructor(
    readonly device: BlockDevice,
    private readonly superBlock: SuperBlock,
    snapshot: MetadataSnapshot,
    sequence: bigint,
  ) {
    this.uuid = superBlock.uuid
    this.blobstoreType = superBlock.blobstoreType
    this.pageSizeBytes = superBlock.pageSizeBytes
    this.clusterSizeBytes = superBlock.clusterSizeBytes
    this.totalClusters = superBlock.totalClusters
    this.firstDataCluster = superBlock.firstDataCluster
    this.ioUnitBytes = device.alignmentBytes
    this.allocated = snapshot.allocationMap.slice()
    this.nextBlobId = snapshot.nextBlobId
    this.sequence = sequence
    for (const record of snapshot.blobs) {
      this.blobs.set(record.id, { id: record.id, thinProvisioned: record.thinProvisioned, clusters: [...record.clusters], xattrs: new Map(record.xattrs), openHandles: 0, deleted: false })
    }
    let used = 0
    for (let c = 0; c < this.totalClusters; c++) if (this.isAllocated(c)) used++
    this.freeCount = this.totalClusters - this.firstDataCluster - used
    this.allocCursor = this.firstDataCluster
  }

  /**
   * Writes a new, empty blobstore over whatever the device holds (SPDK's `bs_init`) and returns
   * it. Bad options throw `DER_INVAL` naming the field; a device too small for the metadata
   * throws `DER_NOSPACE`.
   */
  static async format(device: BlockDevice, options: BlobstoreFormatOptions = {}): Promise<Blobstore> {
    const alignment = device.alignmentBytes
    const pageSizeBytes = options.pageSizeBytes ?? Math.max(4096, alignment)
    if (!Number.isSafeInteger(pageSizeBytes) || pageSizeBytes < alignment || pageSizeBytes % alignment !== 0 || pageSizeBytes < 256) {
      throw new DerError('DER_INVAL', `Blobstore.format: pageSizeBytes must be a multiple of the device alignment ${alignment}, got ${String(pageSizeBytes)}`)
    }
    const clusterSizeBytes = options.clusterSizeBytes ?? 1 << 20
    if (!Number.isSafeInteger(clusterSizeBytes) || clusterSizeBytes < pageSizeBytes || clusterSizeBytes % pageSizeBytes !== 0 || clusterSizeBytes > device.maxTransferBytes * 64) {
      throw new DerError('DER_INVAL', `Blobstore.format: clusterSizeBytes must be a multiple of the page size ${pageSizeBytes}, got ${String(clusterSizeBytes)}`)
    }
    const blobstoreType = options.blobstoreType ?? ''
    if (textEncoder.encode(blobstoreType).length > 16) throw new DerError('DER_INVAL', 'Blobstore.format: blobstoreType must be at most 16 bytes')
    const deviceBytes = device.blockCount * device.blockSizeBytes
    const totalClusters = Math.floor(deviceBytes / clusterSizeBytes)
    const perPage = pageSizeBytes - pageTrailerBytes
    const metadataRegionPages = options.metadataRegionPages ?? Math.max(4, Math.ceil((totalClusters * 6 + 65536) / perPage))
    if (!Number.isSafeInteger(metadataRegionPages) || metadataRegionPages < 2) {
      throw new DerError('DER_INVAL', `Blobstore.format: metadataRegionPages must be an integer >= 2, got ${String(metadataRegionPages)}`)
    }
    const metadataStartPage = 1
    const firstDataCluster = Math.ceil(((metadataStartPage + 2 * metadataRegionPages) * pageSizeBytes) / clusterSizeBytes)
    if (firstDataCluster >= totalClusters) {
      throw new DerError('DER_NOSPACE', `Blobstore.format: device ${device.name} (${deviceBytes} bytes) has no room for data after ${firstDataCluster} metadata clusters`)
    }
    const uuid = options.random === undefined ? randomUUID() : bytesToUuid(options.random.bytes(16))
    const superBlock: SuperBlock = {
      version: blobstoreVersion,
      uuid,
      blobstoreType,
      blockSizeBytes: device.blockSizeBytes,
      pageSizeBytes,
      clusterSizeBytes,
      totalClusters,
      metadataRegionPages,
      metadataStartPage,
      firstDataCluster,
    }
    const empty: MetadataSnapshot = { nextBlobId: 1, allocationMap: new Uint8Array(Math.ceil(totalClusters / 8)), blobs: [] }
    const store = new Blobstore(device, superBlock, empty, 0n)
    // Invalidate the super block first so a crash mid-format never leaves an old store behind,
    // then both metadata regions, then write metadata 1 and finally the super block.
    await store.writeBytes(0, new Uint8Array(pageSizeBytes))
    await store.writeBytes(store.regionOffset(0), new Uint8Array(pageSizeBytes))
    await store.writeBytes(store.regionOffset(1), new Uint8Array(pageSizeBytes))
    await device.flush()
    await store.writeSnapshot(store.snapshot())
    store.sequence = 1n
    await store.writeBytes(0, encodeSuperBlock(superBlock, pageSizeBytes))
    await device.flush()
    return store
  }

  /**
   * Opens the blobstore on a device (SPDK's `bs_load`). A device holding anything else throws
   * `DER_DF_INVAL`; an unsupported version `DER_DF_INCOMPT`; metadata with no valid copy, or a copy
   * that is inconsistent, `DER_DF_INVAL`.
   */
  static async load(device: BlockDevice, options: BlobstoreLoadOptions = {}): Promise<Blobstore> {
    const firstUnit = Math.max(4096, device.alignmentBytes)
    const probeBytes = Math.min(firstUnit, device.blockCount * device.blockSizeBytes)
    const probe = new Uint8Array(probeBytes - (probeBytes % device.alignmentBytes))
    await device.read(0, probe)
    const superBlock = decodeSuperBlock(probe, device)
    if (options.blobstoreType !== undefined && options.blobstoreType !== superBlock.blobstoreType) {
      throw new DerError('DER_DF_INVAL', `blobstore type is '${superBlock.blobstoreType}', expected '${options.blobstoreType}'`)
    }
    const empty: MetadataSnapshot = { nextBlobId: 1, allocationMap: new Uint8Array(Math.ceil(superBlock.totalClusters / 8)), blobs: [] }
    const reader = new Blobstore(device, superBlock, empty, 0n)
    const found: { region: 0 | 1; sequence?: bigint; snapshot?: MetadataSnapshot; problem?: string; headerSequence?: bigint }[] = []
    for (const region of [0, 1] as const) {
      try {
        const copy = await reader.readRegion(region)
        found.push({ region, ...copy })
      } catch (error) {
        if (!isDerError(error, 'DER_DF_INVAL')) throw error
        found.push({ region, problem: error.message })
      }
    }
    let best: (typeof found)[number] | undefined
    for (const copy of found) if (copy.snapshot !== undefined && copy.sequence !== undefined && (best?.sequence === undefined || copy.sequence > best.sequence)) best = copy
    if (best?.snapshot === undefined || best.sequence === undefined) {
      throw new DerError('DER_DF_INVAL', `blobstore metadata has no valid copy (${found.map((c) => `region ${c.region}: ${c.problem ?? 'invalid'}`).join('; ')})`)
    }
    const other = found.find((c) => c !== best)
    const store = new Blobstore(device, superBlock, best.snapshot, best.sequence)
    const otherSequence = other?.sequence ?? other?.headerSequence
    store.recoveryInfo = {
      metadataSequence: best.sequence,
      otherCopy: other?.snapshot !== undefined ? `valid, sequence ${String(other.sequence)}` : (other?.problem ?? 'invalid'),
      newerCopyDiscarded: otherSequence !== undefined && otherSequence > best.sequence && other?.snapshot === undefined,
    }
    return store
  }

  /** What {@link Blobstore.load} found (undefined for a store made by `format`). */
  get recovery(): BlobstoreRecovery | undefined {
    return this.recoveryInfo
  }

  /** Clusters not allocated to any blob (clusters freed since the last sync excluded). */
  get freeClusters(): number {
    return this.freeCount
  }

  /** Clusters available to blobs in total. */
  get dataClusters(): number {
    return this.totalClusters - this.firstDataCluster
  }

  /** Sequence number of the metadata copy last written. */
  get metadataSequence(): bigint {
    return this.sequence
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.isClosed
  }

  /** Ids of all blobs, ascending. */
  listBlobs(): BlobId[] {
    return [...this.blobs.keys()].sort((a, b) => a - b)
  }

  /** Whether a blob with this id exists. */
  hasBlob(id: BlobId): boolean {
    return this.blobs.has(id)
  }

  /** Creates a blob and returns its id; it persists at the next sync. */
  async createBlob(options: CreateBlobOptions = {}): Promise<BlobId> {
    this.checkOpen('createBlob')
    const sizeClusters = options.sizeClusters ?? 0
    checkClusterCount(sizeClusters, 'createBlob: sizeClusters')
    const xattrs = new Map<string, Uint8Array>()
    for (const [name, value] of Object.entries(options.xattrs ?? {})) xattrs.set(checkXattrName(name), checkXattrValue(name, value))
    const thin = options.thinProvision ?? true
    if (!thin && sizeClusters > this.freeCount) throw new DerError('DER_NOSPACE', `createBlob: ${sizeClusters} clusters requested, ${this.freeCount} free`)
    const state: BlobState = { id: this.nextBlobId++, thinProvisioned: thin, clusters: new Array<number>(sizeClusters).fill(-1), xattrs, openHandles: 0, deleted: false }
    this.blobs.set(state.id, state)
    if (!thin) await this.allocateAll(state, 0, sizeClusters)
    return state.id
  }

  /** Opens a handle on a blob; `DER_NONEXIST` when there is none with this id. */
  openBlob(id: BlobId): Promise<Blob> {
    try {
      this.checkOpen('openBlob')
      const state = this.blobs.get(id)
      if (state === undefined) throw new DerError('DER_NONEXIST', `blob ${String(id)} does not exist`, { details: { blobId: id } })
      state.openHandles++
      return Promise.resolve(new Blob(this, state))
    } catch (error) {
      return Promise.reject(asError(error))
    }
  }

  /** Deletes a blob (persisted at the next sync); `DER_BUSY` while it has open handles. */
  deleteBlob(id: BlobId): Promise<void> {
    try {
      this.checkOpen('deleteBlob')
      const state = this.blobs.get(id)
      if (state === undefined) throw new DerError('DER_NONEXIST', `blob ${String(id)} does not exist`, { details: { blobId: id } })
      if (state.openHandles > 0) throw new DerError('DER_BUSY', `blob ${id} has ${state.openHandles} open handle(s)`, { details: { blobId: id } })
      this.releaseClusters(state, 0)
      state.deleted = true
      this.blobs.delete(id)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(asError(error))
    }
  }

  /**
   * Persists all changes: flushes blob data, writes the metadata snapshot with the next sequence
   * number into the other region and flushes. Concurrent calls run one after another.
   */
  sync(): Promise<void> {
    if (this.isClosed) return Promise.reject(new DerError('DER_NO_HDL', 'sync on a closed blobstore'))
    const run = this.syncChain.then(() => this.syncOnce())
    this.syncChain = run.catch(() => undefined)
    return run
  }

  /** Syncs, then closes the store (the device stays open; its owner closes it). */
  async close(): Promise<void> {
    if (this.isClosed) throw new DerError('DER_ALREADY', 'blobstore is already closed')
    await this.sync()
    this.isClosed = true
  }

  // ---- internals used by Blob ----

  /** @internal */
  checkOpen(what: string): void {
    if (this.isClosed) throw new DerError('DER_NO_HDL', `${what} on a closed blobstore`)
  }

  /** @internal Grows or shrinks a blob. */
  async resizeBlob(state: BlobState, sizeClusters: number): Promise<void> {
    checkClusterCount(sizeClusters, 'resize: sizeClusters')
    const old = state.clusters.length
    if (sizeClusters < old) {
      this.releaseClusters(state, sizeClusters)
      state.clusters.length = sizeClusters
      return
    }
    if (!state.thinProvisioned && sizeClusters - old > this.freeCount) {
      throw new DerError('DER_NOSPACE', `resize: ${sizeClusters - old} clusters needed, ${this.freeCount} free`, { details: { blobId: state.id } })
    }
    for (let c = old; c < sizeClusters; c++) state.clusters.push(-1)
    if (!state.thinProvisioned) await this.allocateAll(state, old, sizeClusters)
  }

  /** @internal Reads blob bytes; unallocated clusters read as zeroes. */
  async readBlob(state: BlobState, offsetBytes: number, target: Uint8Array): Promise<void> {
    this.checkRange(state, offsetBytes, target.length, 'read')
    const work: Promise<void>[] = []
    let done = 0
    while (done < target.length) {
      const position = offsetBytes + done
      const clusterIndex = Math.floor(position / this.clusterSizeBytes)
      const within = position - clusterIndex * this.clusterSizeBytes
      const length = Math.min(this.clusterSizeBytes - within, target.length - done)
      const piece = target.subarray(done, done + length)
      const cluster = state.clusters[clusterIndex] ?? -1
      if (cluster < 0) piece.fill(0)
      else work.push(this.readBytes(cluster * this.clusterSizeBytes + within, piece))
      done += length
    }
    await Promise.all(work)
  }

  /** @internal Writes blob bytes, allocating clusters on first write (thin provisioning). */
  async writeBlob(state: BlobState, offsetBytes: number, data: Uint8Array): Promise<void> {
    this.checkRange(state, offsetBytes, data.length, 'write')
    const work: Promise<void>[] = []
    let done = 0
    while (done < data.length) {
      const position = offsetBytes + done
      const clusterIndex = Math.floor(position / this.clusterSizeBytes)
      const within = position - clusterIndex * this.clusterSizeBytes
      const length = Math.min(this.clusterSizeBytes - within, data.length - done)
      const piece = data.subarray(done, done + length)
      work.push(this.writeClusterPiece(state, clusterIndex, within, piece))
      done += length
    }
    const results = await Promise.allSettled(work)
    for (const result of results) if (result.status === 'rejected') throw result.reason as Error
  }

  /** @internal The number of clusters a blob has on the device. */
  allocatedClusters(state: BlobState): number {
    let count = 0
    for (const cluster of state.clusters) if (cluster >= 0) count++
    return count
  }

  /** @internal Drops an open handle. */
  closeHandle(state: BlobState): void {
    assert(state.openHandles > 0, 'blob handle closed more often than opened')
    state.openHandles--
  }

  private async writeClusterPiece(state: BlobState, clusterIndex: number, within: number, piece: Uint8Array): Promise<void> {
    let cluster = state.clusters[clusterIndex] ?? -1
    if (cluster < 0) {
      const whole = within === 0 && piece.length === this.clusterSizeBytes
      cluster = await this.ensureCluster(state, clusterIndex, whole ? piece : undefined)
      if (whole) return
    }
    if (state.deleted || state.clusters[clusterIndex] !== cluster) throw new DerError('DER_NONEXIST', `blob ${state.id} was deleted or shrunk during a write`)
    await this.writeBytes(cluster * this.clusterSizeBytes + within, piece)
  }

  /**
   * Allocates the device cluster behind blob cluster `clusterIndex` and initialises it: written
   * whole with `fullData` when given, else zeroed. The blob maps the cluster only once its
   * content is on the device, so a sync never references a cluster holding stale bytes.
   */
  private ensureCluster(state: BlobState, clusterIndex: number, fullData: Uint8Array | undefined): Promise<number> {
    const key = `${state.id}:${clusterIndex}`
    const pending = this.initializing.get(key)
    if (pending !== undefined) {
      return pending.then(async (cluster) => {
        if (fullData !== undefined) await this.writeBytes(cluster * this.clusterSizeBytes, fullData)
        return cluster
      })
    }
    const cluster = this.takeFreeCluster(state.id)
    const init = (async () => {
      try {
        if (fullData !== undefined) await this.writeBytes(cluster * this.clusterSizeBytes, fullData)
        else await this.zeroCluster(cluster)
      } catch (error) {
        this.putBackCluster(cluster)
        throw error
      } finally {
        this.initializing.delete(key)
      }
      if (state.deleted || clusterIndex >= state.clusters.length || (state.clusters[clusterIndex] ?? -1) >= 0) {
        this.putBackCluster(cluster)
        throw new DerError('DER_NONEXIST', `blob ${state.id} was deleted or shrunk during a write`)
      }
      state.clusters[clusterIndex] = cluster
      return cluster
    })()
    this.initializing.set(key, init)
    return init
  }

  private async allocateAll(state: BlobState, from: number, to: number): Promise<void> {
    const work: Promise<number>[] = []
    for (let c = from; c < to; c++) work.push(this.ensureCluster(state, c, undefined))
    const results = await Promise.allSettled(work)
    for (const result of results) if (result.status === 'rejected') throw result.reason as Error
  }

  private takeFreeCluster(blobId: BlobId): number {
    if (this.freeCount === 0) {
      throw new DerError('DER_NOSPACE', `blobstore is full (${this.pendingFree.length} clusters become free at the next sync)`, { details: { blobId } })
    }
    // First fit (like SPDK's bit-array search): the cursor is never above the lowest free cluster.
    for (let cluster = this.allocCursor; cluster < this.totalClusters; cluster++) {
      if (!this.isAllocated(cluster)) {
        this.setAllocated(cluster, true)
        this.freeCount--
        this.allocCursor = cluster + 1
        return cluster
      }
    }
    assert(false, 'free cluster count is positive but no free cluster was found')
  }

  private putBackCluster(cluster: number): void {
    this.setAllocated(cluster, false)
    this.freeCount++
    if (cluster < this.allocCursor) this.allocCursor = cluster
  }

  private releaseClusters(state: BlobState, fromIndex: number): void {
    for (let c = fromIndex; c < state.clusters.length; c++) {
      const cluster = state.clusters[c] ?? -1
      if (cluster >= 0) this.pendingFree.push(cluster)
      state.clusters[c] = -1
    }
  }

  private isAllocated(cluster: number): boolean {
    return ((this.allocated[cluster >> 3] ?? 0) & (1 << (cluster & 7))) !== 0
  }

  private setAllocated(cluster: number, on: boolean): void {
    const byte = cluster >> 3
    const bit = 1 << (cluster & 7)
    this.allocated[byte] = on ? (this.allocated[byte] ?? 0) | bit : (this.allocated[byte] ?? 0) & ~bit
  }

  private checkRange(state: BlobState, offsetBytes: number, length: number, what: string): void {
    this.checkOpen(what)
    if (state.deleted) throw new DerError('DER_NONEXIST', `${what}: blob ${state.id} was deleted`)
    const size = state.clusters.length * this.clusterSizeBytes
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || offsetBytes + length > size) {
      throw new DerError('DER_INVAL', `${what}: bytes ${String(offsetBytes)}..${String(offsetBytes + length)} are beyond blob ${state.id} (${size} bytes)`, {
        details: { blobId: state.id, offsetBytes, length, sizeBytes: size },
      })
    }
  }

  private snapshot(): MetadataSnapshot {
    // The map persisted is the clusters referenced by blobs: clusters being initialised or
    // freed since the last sync are free in it.
    const map = new Uint8Array(this.allocated.length)
    const blobs: BlobRecord[] = []
    for (const id of this.listBlobs()) {
      const state = this.blobs.get(id)
      assert(state !== undefined, 'listed blob exists')
      for (const cluster of state.clusters) if (cluster >= 0) map[cluster >> 3] = (map[cluster >> 3] ?? 0) | (1 << (cluster & 7))
      blobs.push({ id, thinProvisioned: state.thinProvisioned, clusters: [...state.clusters], xattrs: new Map(state.xattrs) })
    }
    return { nextBlobId: this.nextBlobId, allocationMap: map, blobs }
  }

  private async syncOnce(): Promise<void> {
    this.checkOpen('sync')
    await Promise.allSettled([...this.initializing.values()])
    const snapshot = this.snapshot()
    const releasable = this.pendingFree.splice(0, this.pendingFree.length)
    try {
      await this.device.flush()
      await this.writeSnapshot(snapshot)
      await this.device.flush()
    } catch (error) {
      this.pendingFree.unshift(...releasable)
      throw error
    }
    this.sequence++
    for (const cluster of releasable) this.putBackCluster(cluster)
  }

  private regionOffset(region: 0 | 1): number {
    return (this.superBlock.metadataStartPage + region * this.superBlock.metadataRegionPages) * this.pageSizeBytes
  }

  private async writeSnapshot(snapshot: MetadataSnapshot): Promise<void> {
    const payload = encodeSnapshot(snapshot)
    const capacity = regionCapacityBytes(this.superBlock.metadataRegionPages, this.pageSizeBytes)
    if (payload.length > capacity) {
      throw new DerError('DER_NOSPACE', `blobstore metadata needs ${payload.length} bytes, a metadata region holds ${capacity}`)
    }
    const sequence = this.sequence + 1n
    const region = Number(sequence & 1n) as 0 | 1
    await this.writeBytes(this.regionOffset(region), encodeRegion(payload, sequence, this.pageSizeBytes))
  }

  private async readRegion(region: 0 | 1): Promise<{ sequence?: bigint; snapshot?: MetadataSnapshot; problem?: string; headerSequence?: bigint }> {
    const first = new Uint8Array(this.pageSizeBytes)
    await this.readBytes(this.regionOffset(region), first)
    const header = decodeRegionHeader(first, this.superBlock.metadataRegionPages, this.pageSizeBytes)
    if (header === undefined) return { problem: 'no valid header page' }
    if (Number(header.sequence & 1n) !== region) return { problem: `sequence ${header.sequence} does not belong in region ${region}` }
    const whole = new Uint8Array(header.pageCount * this.pageSizeBytes)
    await this.readBytes(this.regionOffset(region), whole)
    const payload = decodeRegion(whole, header, this.pageSizeBytes)
    if (payload === undefined) return { problem: `copy with sequence ${header.sequence} is torn or corrupt (page checksum or sequence mismatch)`, headerSequence: header.sequence }
    try {
      return { sequence: header.sequence, snapshot: decodeSnapshot(payload, this.totalClusters, this.firstDataCluster) }
    } catch (error) {
      if (!isDerError(error, 'DER_DF_INVAL')) throw error
      return { problem: error.message, headerSequence: header.sequence }
    }
  }

  private async zeroCluster(cluster: number): Promise<void> {
    const blocksPerCluster = this.clusterSizeBytes / this.device.blockSizeBytes
    await this.device.writeZeroes(cluster * blocksPerCluster, blocksPerCluster)
  }

  /** Reads device bytes at any offset and length (read-around for unaligned edges). */
  private async readBytes(offsetBytes: number, target: Uint8Array): Promise<void> {
    const unit = this.ioUnitBytes
    const start = offsetBytes - (offsetBytes % unit)
    const end = Math.ceil((offsetBytes + target.length) / unit) * unit
    if (start === offsetBytes && end === offsetBytes + target.length) {
      await this.transfer('read', offsetBytes, target)
      return
    }
    const bounce = new Uint8Array(end - start)
    await this.transfer('read', start, bounce)
    target.set(bounce.subarray(offsetBytes - start, offsetBytes - start + target.length))
  }

  /** Writes device bytes at any offset and length (read-modify-write for unaligned edges). */
  private async writeBytes(offsetBytes: number, data: Uint8Array): Promise<void> {
    const unit = this.ioUnitBytes
    const start = offsetBytes - (offsetBytes % unit)
    const end = Math.ceil((offsetBytes + data.length) / unit) * unit
    if (start === offsetBytes && end === offsetBytes + data.length) {
      await this.transfer('write', offsetBytes, data)
      return
    }
    const run = this.rmwChain.then(async () => {
      const bounce = new Uint8Array(end - start)
      await this.transfer('read', start, bounce.subarray(0, unit))
      if (end - start > unit) await this.transfer('read', end - unit, bounce.subarray(end - start - unit))
      bounce.set(data, offsetBytes - start)
      await this.transfer('write', start, bounce)
    })
    this.rmwChain = run.catch(() => undefined)
    await run
  }

  private async transfer(kind: 'read' | 'write', offsetBytes: number, buffer: Uint8Array): Promise<void> {
    const block = this.device.blockSizeBytes
    const max = this.device.maxTransferBytes
    if (buffer.length <= max) {
      await (kind === 'read' ? this.device.read(offsetBytes / block, buffer) : this.device.write(offsetBytes / block, buffer))
      return
    }
    const work: Promise<void>[] = []
    for (let done = 0; done < buffer.length; done += max) {
      const piece = buffer.subarray(done, Math.min(buffer.length, done + max))
      const lba = (offsetBytes + done) / block
      work.push(kind === 'read' ? this.device.read(lba, piece) : this.device.write(lba, piece))
    }
    const results = await Promise.allSettled(work)
    for (const result of results) if (result.status === 'rejected') throw result.reason as Error
  }
}

/**
 * An open blob. Sizes are whole clusters; reads and writes take any byte offset and length
 * inside the blob (unaligned edges cost a read-modify-write). Changes persist at the next
 * {@link Blob.sync} (or any {@link Blobstore.sync}).
 */
export class Blob {
  private isClosed = false

  /** @internal */
  constructor(
    private readonly store: Blobstore,
    private readonly state: BlobState,
  ) {}

  /** The blob's id. */
  get id(): BlobId {
    return this.state.id
  }

  /** Size in clusters. */
  get sizeClusters(): number {
    return this.state.clusters.length
  }

  /** Size in bytes (clusters times the cluster size). */
  get sizeBytes(): number {
    return this.state.clusters.length * this.store.clusterSizeBytes
  }

  /** Clusters allocated on the device (fewer than `sizeClusters` for a thin blob not fully written). */
  get allocatedClusters(): number {
    return this.store.allocatedClusters(this.state)
  }

  /** Whether clusters are allocated on first write. */
  get thinProvisioned(): boolean {
    return this.state.thinProvisioned
  }

  /** Whether this handle was closed. */
  get closed(): boolean {
    return this.isClosed
  }

  /** Reads `target.length` bytes at `offsetBytes`. `DER_INVAL` beyond the blob's size. */
  read(offsetBytes: number, target: Uint8Array): Promise<void> {
    return this.guard('read', () => this.store.readBlob(this.state, offsetBytes, target))
  }

  /** Writes `data` at `offsetBytes`. `DER_INVAL` beyond the blob's size, `DER_NOSPACE` when no cluster is free. */
  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    return this.guard('write', () => this.store.writeBlob(this.state, offsetBytes, data))
  }

  /** Sets the size in clusters; shrinking frees clusters (reusable after the next sync). */
  resize(sizeClusters: number): Promise<void> {
    return this.guard('resize', () => this.store.resizeBlob(this.state, sizeClusters))
  }

  /** Sets an extended attribute (a string is stored as UTF-8). */
  setXattr(name: string, value: Uint8Array | string): void {
    this.checkHandle('setXattr')
    this.state.xattrs.set(checkXattrName(name), checkXattrValue(name, value))
  }

  /** An extended attribute's bytes, or undefined. */
  getXattr(name: string): Uint8Array | undefined {
    this.checkHandle('getXattr')
    return this.state.xattrs.get(name)?.slice()
  }

  /** An extended attribute decoded as UTF-8, or undefined. */
  getXattrString(name: string): string | undefined {
    const value = this.getXattr(name)
    return value === undefined ? undefined : textDecoder.decode(value)
  }

  /** Removes an extended attribute; returns whether it existed. */
  removeXattr(name: string): boolean {
    this.checkHandle('removeXattr')
    return this.state.xattrs.delete(name)
  }

  /** Names of all extended attributes, sorted. */
  xattrNames(): string[] {
    this.checkHandle('xattrNames')
    return [...this.state.xattrs.keys()].sort()
  }

  /** Persists this blob's (and every other) pending change: {@link Blobstore.sync}. */
  sync(): Promise<void> {
    return this.guard('sync', () => this.store.sync())
  }

  /** Closes the handle; later calls on it throw `DER_NO_HDL`, a second close `DER_ALREADY`. */
  close(): void {
    if (this.isClosed) throw new DerError('DER_ALREADY', `blob ${this.state.id} handle is already closed`)
    this.isClosed = true
    this.store.closeHandle(this.state)
  }

  private checkHandle(what: string): void {
    if (this.isClosed) throw new DerError('DER_NO_HDL', `${what} on a closed handle of blob ${this.state.id}`)
    this.store.checkOpen(what)
  }

  private guard(what: string, run: () => Promise<void>): Promise<void> {
    try {
      this.checkHandle(what)
      return run()
    } catch (error) {
      return Promise.reject(asError(error))
    }
  }
}

function checkClusterCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0x7fffffff) throw new DerError('DER_INVAL', `${what} must be an integer >= 0, got ${String(value)}`)
}

function checkXattrName(name: string): string {
  const bytes = textEncoder.encode(name).length
  if (typeof name !== 'string' || bytes === 0 || bytes > xattrLimits.maxNameBytes) {
    throw new DerError('DER_INVAL', `xattr name must be 1 to ${xattrLimits.maxNameBytes} bytes of UTF-8, got ${bytes}`)
  }
  return name
}

function checkXattrValue(name: string, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? textEncoder.encode(value) : value instanceof Uint8Array ? value.slice() : undefined
  if (bytes === undefined) throw new DerError('DER_INVAL', `xattr '${name}': value must be a Uint8Array or a string`)
  if (bytes.length > xattrLimits.maxValueBytes) throw new DerError('DER_INVAL', `xattr '${name}': value of ${bytes.length} bytes exceeds ${xattrLimits.maxValueBytes}`)
  return bytes
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
