/**
 * `SpdkBlobIo`: {@link BlobIo} over an `@x/spdk-io` blob, and helpers that create or find the
 * three blobs of a VOS pool (WAL, meta, data) in a blobstore, tagged with the `vos.role` xattr.
 *
 * Blobs are thick-provisioned, so writes never change the blobstore's metadata; a sync then
 * only needs the device flush (one fdatasync on a file device). After a resize the next sync
 * is a full blobstore sync, which persists the new size.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { Blob, BlobId, Blobstore, BlockDevice } from '@x/spdk-io'
import type { BlobIo, VosStorage } from './blob-io.ts'

/** A blob of a blobstore seen as a {@link BlobIo}. */
export class SpdkBlobIo implements BlobIo {
  private metadataDirty = false

  constructor(
    /** The open blob. */
    readonly blob: Blob,
    private readonly device: BlockDevice,
    private readonly clusterSizeBytes: number,
  ) {}

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

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    return this.blob.write(offsetBytes, data)
  }

  async sync(): Promise<void> {
    if (this.metadataDirty) {
      this.metadataDirty = false
      await this.blob.sync()
    } else await this.device.flush()
  }

  async resize(sizeBytes: number): Promise<void> {
    this.metadataDirty = true
    await this.blob.resize(Math.ceil(sizeBytes / this.clusterSizeBytes))
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

/** Creates the WAL, meta and data blobs of a VOS pool in `store` (thick-provisioned) and syncs. */
export async function createSpdkStorage(store: Blobstore, device: BlockDevice, sizes: SpdkStorageSizes): Promise<VosStorage & { readonly blobIds: readonly BlobId[] }> {
  const cluster = store.clusterSizeBytes
  const ios: SpdkBlobIo[] = []
  const ids: BlobId[] = []
  for (const role of roles) {
    const bytes = role === 'wal' ? sizes.walBytes : role === 'meta' ? sizes.metaBytes : sizes.dataBytes
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new DerError('DER_INVAL', `${role} blob size must be a positive integer`)
    const id = await store.createBlob({ sizeClusters: Math.ceil(bytes / cluster), thinProvision: false, xattrs: { [roleXattr]: role } })
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
