/**
 * The blobstore super block: page 0 of the device, written once at format time.
 *
 * @module
 */
import { DerError, Decoder, Encoder, crc32c, isDerError } from '@x/common'

/** The 8 bytes at the start of every blobstore device. */
export const blobstoreMagic = new TextEncoder().encode('XBLOBST\u0001')
/** The on-disk format version this code writes and reads. */
export const blobstoreVersion = 1

/** Fields of the super block. */
export interface SuperBlock {
  readonly version: number
  /** The store's UUID in canonical text form. */
  readonly uuid: string
  /** A short tag naming the store's user (SPDK's `bstype`), at most 16 bytes of UTF-8. */
  readonly blobstoreType: string
  readonly blockSizeBytes: number
  readonly pageSizeBytes: number
  readonly clusterSizeBytes: number
  /** Clusters on the device, metadata clusters included. */
  readonly totalClusters: number
  /** Pages in each of the two metadata regions. */
  readonly metadataRegionPages: number
  /** First page of metadata region 0; region 1 follows it. */
  readonly metadataStartPage: number
  /** First cluster holding blob data. */
  readonly firstDataCluster: number
}

/** Encodes a super block into one page (zero padded, crc32c over the encoded fields). */
export function encodeSuperBlock(superBlock: SuperBlock, pageSizeBytes: number): Uint8Array {
  const encoder = new Encoder(128)
    .raw(blobstoreMagic)
    .u32(superBlock.version)
    .raw(uuidToBytes(superBlock.uuid))
    .string(superBlock.blobstoreType)
    .u32(superBlock.blockSizeBytes)
    .u32(superBlock.pageSizeBytes)
    .u32(superBlock.clusterSizeBytes)
    .u32(superBlock.totalClusters)
    .u32(superBlock.metadataRegionPages)
    .u32(superBlock.metadataStartPage)
    .u32(superBlock.firstDataCluster)
  const body = encoder.finish()
  const page = new Uint8Array(pageSizeBytes)
  page.set(body)
  new DataView(page.buffer).setUint32(body.length, crc32c(body), true)
  return page
}

/**
 * Decodes and checks a super block. A device whose first bytes are not the magic throws
 * `DER_DF_INVAL` ("holds something else"), a newer version `DER_DF_INCOMPT`, a bad checksum or
 * impossible geometry `DER_DF_INVAL`.
 */
export function decodeSuperBlock(page: Uint8Array, device: { blockSizeBytes: number; blockCount: number }): SuperBlock {
  if (page.length < blobstoreMagic.length || !blobstoreMagic.every((byte, i) => page[i] === byte)) {
    const blank = page.every((byte) => byte === 0)
    throw new DerError('DER_DF_INVAL', blank ? 'device holds no blobstore (blank super block)' : 'device holds something other than a blobstore (bad magic)', { details: { blank } })
  }
  let superBlock: SuperBlock
  let bodyLength: number
  try {
    const decoder = new Decoder(page, { maxBytesLength: 64 }, blobstoreMagic.length)
    const version = decoder.u32()
    if (version !== blobstoreVersion) {
      throw new DerError('DER_DF_INCOMPT', `blobstore format version ${version} is not supported (this code reads version ${blobstoreVersion})`)
    }
    const uuid = bytesToUuid(decoder.raw(16))
    const blobstoreType = decoder.string()
    superBlock = {
      version,
      uuid,
      blobstoreType,
      blockSizeBytes: decoder.u32(),
      pageSizeBytes: decoder.u32(),
      clusterSizeBytes: decoder.u32(),
      totalClusters: decoder.u32(),
      metadataRegionPages: decoder.u32(),
      metadataStartPage: decoder.u32(),
      firstDataCluster: decoder.u32(),
    }
    bodyLength = decoder.offset
    const stored = decoder.u32()
    if (stored !== crc32c(page.subarray(0, bodyLength))) throw new DerError('DER_DF_INVAL', 'blobstore super block checksum mismatch')
  } catch (error) {
    if (isDerError(error, 'DER_DF_INCOMPT') && !('failure' in error)) throw error
    if (isDerError(error, 'DER_DF_INVAL')) throw error
    throw new DerError('DER_DF_INVAL', `blobstore super block is corrupt: ${(error as Error).message}`, { cause: error })
  }
  checkLayout(superBlock, device)
  return superBlock
}

function checkLayout(sb: SuperBlock, device: { blockSizeBytes: number; blockCount: number }): void {
  const bad = (what: string): never => {
    throw new DerError('DER_DF_INVAL', `blobstore super block is inconsistent: ${what}`, { details: { ...sb } })
  }
  if (sb.blockSizeBytes !== device.blockSizeBytes) bad(`block size ${sb.blockSizeBytes} differs from the device's ${device.blockSizeBytes}`)
  if (sb.pageSizeBytes < sb.blockSizeBytes || sb.pageSizeBytes % sb.blockSizeBytes !== 0) bad('page size is not a multiple of the block size')
  if (sb.clusterSizeBytes < sb.pageSizeBytes || sb.clusterSizeBytes % sb.pageSizeBytes !== 0) bad('cluster size is not a multiple of the page size')
  if (sb.totalClusters * sb.clusterSizeBytes > device.blockCount * device.blockSizeBytes) bad('the store is larger than the device')
  if (sb.metadataRegionPages < 2 || sb.metadataStartPage < 1) bad('metadata regions')
  const metadataEndBytes = (sb.metadataStartPage + 2 * sb.metadataRegionPages) * sb.pageSizeBytes
  if (sb.firstDataCluster * sb.clusterSizeBytes < metadataEndBytes || sb.firstDataCluster > sb.totalClusters) bad('first data cluster overlaps metadata')
}

/** A UUID's 16 bytes from its text form; throws `DER_INVAL` on bad text. */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new DerError('DER_INVAL', `bad uuid '${uuid}'`)
  return Uint8Array.from({ length: 16 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16))
}

/** The canonical text form of 16 UUID bytes. */
export function bytesToUuid(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
