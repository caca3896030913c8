/**
 * `SpdkBlobIo`: {@link BlobIo} over an `@x/spdk-io` blob, and helpers that create or find the
 * three blobs of a VOS pool (WAL, meta, data) in a blobstore, tagged with the `vos.role` xattr.
 *
 * Blobs are thin-provisioned: a cluster is allocated (and initialised) on its first write, so
 * formatting writes no zeros and a sparse device file stays sparse. A sync only needs the
 * device flush (one fdatasync on a file device) unless a write since the last sync allocated a
 * cluster or the blob was resized: then it is a full blobstore sync, which persists the new
 * cluster map before the sync returns. Never-written areas read as zeros, as thick zeroed
 * clusters did. Once every cluster is allocated (a WAL after its first lap) syncs are flushes again.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { Blob, BlobId, Blobstore, BlockDevice } from '@x/spdk-io'
import type { BlobIo, VosStorage } from './blob-io.ts'

/** A blob of a blobstore seen as a {@link BlobIo}. */
export class SpdkBlobIo implements BlobIo {
  private metadataDirty = false
  private knownAllocatedClusters: number
  private fullyAllocated: boolean

  constructor(
    /** The open blob. */
    readonly blob: Blob,
    private readonly device: BlockDevice,
    private readonly clusterSizeBytes: number,
  ) {
    this.knownAllocatedClusters = blob.allocatedClusters
    this.fullyAllocated = this.knownAllocatedClusters === blob.sizeClusters
  }

  get sizeBytes(): number {
    return this.blob.sizeBytes
  }

  get ioUnitBytes(): number {
    return this.device.blockSizeBytes
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const target = new Uint8Array(lengthBytes)
    await this.blob.read(offsetBytes, target)
    return target
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    if (this.fullyAllocated) return this.blob.write(offsetBytes, data)
    try {
      await this.blob.write(offsetBytes, data)
    } finally {
      // Checked after the write settles (a failed multi-cluster write may still have allocated).
      this.noteAllocations()
    }
  }

  async sync(): Promise<void> {
    if (this.metadataDirty) {
      this.metadataDirty = false
      await this.blob.sync()
    } else await this.device.flush()
  }

  async resize(sizeBytes: number): Promise<void> {
    this.metadataDirty = true
    try {
      await this.blob.resize(Math.ceil(sizeBytes / this.clusterSizeBytes))
    } finally {
      this.knownAllocatedClusters = this.blob.allocatedClusters
      this.fullyAllocated = this.knownAllocatedClusters === this.blob.sizeClusters
    }
  }

  /** Marks the metadata dirty when clusters were allocated since the last look. */
  private noteAllocations(): void {
    const allocated = this.blob.allocatedClusters
    if (allocated !== this.knownAllocatedClusters) {
      this.knownAllocatedClusters = allocated
      this.metadataDirty = true
    }
    this.fullyAllocated = allocated === this.blob.sizeClusters
  }
}

/** Sizes of the blobs {@link createSpdkStorage} creates. */
export interface SpdkStorageSizes {
  readonly walBytes: number
  readonly metaBytes: number
  readonly dataBytes: number
}

const roleXattr = 'vos.role'
const roles = ['wal', 'meta', 'data'] as const

/**
 * Creates the WAL, meta and data blobs of a VOS pool in `store` (thin-provisioned: no cluster is
 * written here) and syncs. The three sizes together must fit in the store's free clusters
 * (`DER_NOSPACE` otherwise), so the blobs never over-commit the device.
 */
export async function createSpdkStorage(store: Blobstore, device: BlockDevice, sizes: SpdkStorageSizes): Promise<VosStorage & { readonly blobIds: readonly BlobId[] }> {
  const cluster = store.clusterSizeBytes
  const ios: SpdkBlobIo[] = []
  const ids: BlobId[] = []
  const clusters = roles.map((role) => {
    const bytes = role === 'wal' ? sizes.walBytes : role === 'meta' ? sizes.metaBytes : sizes.dataBytes
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new DerError('DER_INVAL', `${role} blob size must be a positive integer`)
    return Math.ceil(bytes / cluster)
  })
  const neededClusters = clusters.reduce((sum, n) => sum + n, 0)
  if (neededClusters > store.freeClusters) throw new DerError('DER_NOSPACE', `VOS blobs need ${neededClusters} clusters, the blobstore has ${store.freeClusters} free`)
  for (const [index, role] of roles.entries()) {
    const id = await store.createBlob({ sizeClusters: clusters[index] ?? 0, thinProvision: true, xattrs: { [roleXattr]: role } })
    ids.push(id)
    ios.push(new SpdkBlobIo(await store.openBlob(id), device, cluster))
  }
  await store.sync()
  const [wal, meta, data] = ios as [SpdkBlobIo, SpdkBlobIo, SpdkBlobIo]
  return { wal, meta, data, blobIds: ids }
}

/** Finds and opens the VOS blobs of `store` (`DER_NONEXIST` when one is missing). */
export async function openSpdkStorage(store: Blobstore, device: BlockDevice): Promise<VosStorage> {
  const found = new Map<string, SpdkBlobIo>()
  for (const id of store.listBlobs()) {
    const blob = await store.openBlob(id)
    const role = blob.getXattrString(roleXattr)
    if (role !== undefined && (roles as readonly string[]).includes(role) && !found.has(role)) found.set(role, new SpdkBlobIo(blob, device, store.clusterSizeBytes))
    else blob.close()
  }
  const get = (role: (typeof roles)[number]): SpdkBlobIo => {
    const io = found.get(role)
    if (io === undefined) throw new DerError('DER_NONEXIST', `the blobstore holds no VOS ${role} blob`)
    return io
  }
  return { wal: get('wal'), meta: get('meta'), data: get('data') }
}
