/**
 * Blobstore metadata: the snapshot of all blobs and the allocation map, and its on-disk form in
 * two alternating regions of checksummed pages.
 *
 * Every metadata page ends with a 16-byte trailer: the snapshot's sequence number (u64), the
 * page's index in the region (u32) and a crc32c (u32) of everything before it. Page 0 of a region
 * holds a header (magic, version, payload length, page count); the payload follows. A sync writes
 * the whole snapshot with the next sequence number into the region not holding the current one,
 * so the last synced copy is never overwritten; a load takes the valid copy with the highest
 * sequence number.
 *
 * @module
 */
import { DerError, Decoder, Encoder, crc32c, isDerError } from '@x/common'

/** Trailer bytes at the end of every metadata page. */
export const pageTrailerBytes = 16
const regionMagic = 0x444d5342 // "BSMD" little-endian
const regionVersion = 1
const headerBytes = 16

/** One blob as persisted. */
export interface BlobRecord {
  readonly id: number
  readonly thinProvisioned: boolean
  /** Device cluster of each blob cluster, or -1 when not allocated (thin). */
  readonly clusters: readonly number[]
  readonly xattrs: ReadonlyMap<string, Uint8Array>
}

/** Everything a blobstore persists besides the super block. */
export interface MetadataSnapshot {
  /** The next blob id to hand out. */
  readonly nextBlobId: number
  /** Allocation bitmap: bit `c` set when device cluster `c` belongs to a blob. */
  readonly allocationMap: Uint8Array
  readonly blobs: readonly BlobRecord[]
}

/** Encodes a snapshot into a versioned struct. */
export function encodeSnapshot(snapshot: MetadataSnapshot): Uint8Array {
  const encoder = new Encoder(1024)
  encoder.struct(1, 1, (e) => {
    e.varuint(snapshot.nextBlobId)
    e.bytes(snapshot.allocationMap)
    e.varuint(snapshot.blobs.length)
    for (const blob of snapshot.blobs) {
      e.varuint(blob.id)
      e.bool(blob.thinProvisioned)
      e.varuint(blob.clusters.length)
      for (const cluster of blob.clusters) e.varuint(cluster + 1)
      e.varuint(blob.xattrs.size)
      for (const [name, value] of blob.xattrs) {
        e.string(name)
        e.bytes(value)
      }
    }
  })
  return encoder.finish()
}

/**
 * Decodes a snapshot and checks it against the store geometry: clusters in the data area, each
 * used at most once, the allocation map equal to the clusters in use. Throws `DER_DF_INVAL`.
 */
export function decodeSnapshot(bytes: Uint8Array, totalClusters: number, firstDataCluster: number): MetadataSnapshot {
  let snapshot: MetadataSnapshot
  try {
    const decoder = new Decoder(bytes, { maxBytesLength: bytes.length, maxItems: bytes.length })
    snapshot = decoder.struct(1, (d) => {
      const nextBlobId = d.varuint()
      const allocationMap = d.bytes()
      const blobCount = d.varuint()
      const blobs: BlobRecord[] = []
      for (let i = 0; i < blobCount; i++) {
        const id = d.varuint()
        const thinProvisioned = d.bool()
        const clusterCount = d.varuint()
        if (clusterCount > totalClusters * 64 + 1024 && clusterCount > d.remaining) throw new DerError('DER_DF_INVAL', `blob ${id}: implausible cluster count ${clusterCount}`)
        const clusters: number[] = []
        for (let c = 0; c < clusterCount; c++) clusters.push(d.varuint() - 1)
        const xattrCount = d.varuint()
        const xattrs = new Map<string, Uint8Array>()
        for (let x = 0; x < xattrCount; x++) {
          const name = d.string()
          xattrs.set(name, d.bytes().slice())
        }
        blobs.push({ id, thinProvisioned, clusters, xattrs })
      }
      return { nextBlobId, allocationMap: allocationMap.slice(), blobs }
    })
    decoder.expectEnd()
  } catch (error) {
    if (isDerError(error, 'DER_DF_INVAL')) throw error
    throw new DerError('DER_DF_INVAL', `blobstore metadata does not decode: ${(error as Error).message}`, { cause: error })
  }
  checkSnapshot(snapshot, totalClusters, firstDataCluster)
  return snapshot
}

function checkSnapshot(snapshot: MetadataSnapshot, totalClusters: number, firstDataCluster: number): void {
  const bad = (what: string): never => {
    throw new DerError('DER_DF_INVAL', `blobstore metadata is inconsistent: ${what}`)
  }
  if (snapshot.allocationMap.length !== Math.ceil(totalClusters / 8)) bad(`allocation map has ${snapshot.allocationMap.length} bytes for ${totalClusters} clusters`)
  const used = new Uint8Array(snapshot.allocationMap.length)
  const ids = new Set<number>()
  for (const blob of snapshot.blobs) {
    if (blob.id < 1 || blob.id >= snapshot.nextBlobId) bad(`blob id ${blob.id} is outside 1..${snapshot.nextBlobId - 1}`)
    if (ids.has(blob.id)) bad(`blob id ${blob.id} appears twice`)
    ids.add(blob.id)
    for (const cluster of blob.clusters) {
      // A thick blob synced while its clusters were still being allocated has holes: legal.
      if (cluster === -1) continue
      if (cluster < firstDataCluster || cluster >= totalClusters) bad(`blob ${blob.id} uses cluster ${cluster} outside the data area`)
      const byte = cluster >> 3
      const bit = 1 << (cluster & 7)
      if (((used[byte] ?? 0) & bit) !== 0) bad(`cluster ${cluster} is used twice`)
      used[byte] = (used[byte] ?? 0) | bit
    }
  }
  for (let i = 0; i < used.length; i++) {
    if (used[i] !== snapshot.allocationMap[i]) bad(`allocation map differs from the clusters in use near cluster ${i * 8}`)
  }
}

/** Payload bytes that fit in a region of `regionPages` pages. */
export function regionCapacityBytes(regionPages: number, pageSizeBytes: number): number {
  return regionPages * (pageSizeBytes - pageTrailerBytes) - headerBytes
}

/** Lays out `payload` as region pages (header first) stamped with `sequence`. */
export function encodeRegion(payload: Uint8Array, sequence: bigint, pageSizeBytes: number): Uint8Array {
  const perPage = pageSizeBytes - pageTrailerBytes
  const pageCount = Math.ceil((payload.length + headerBytes) / perPage)
  const region = new Uint8Array(pageCount * pageSizeBytes)
  const view = new DataView(region.buffer)
  const stream = new Uint8Array(pageCount * perPage)
  const streamView = new DataView(stream.buffer)
  streamView.setUint32(0, regionMagic, true)
  streamView.setUint32(4, regionVersion, true)
  streamView.setUint32(8, payload.length, true)
  streamView.setUint32(12, pageCount, true)
  stream.set(payload, headerBytes)
  for (let page = 0; page < pageCount; page++) {
    const base = page * pageSizeBytes
    region.set(stream.subarray(page * perPage, (page + 1) * perPage), base)
    view.setBigUint64(base + perPage, sequence, true)
    view.setUint32(base + perPage + 8, page, true)
    view.setUint32(base + perPage + 12, crc32c(region.subarray(base, base + pageSizeBytes - 4)), true)
  }
  return region
}

/** What a region's first page says, if it is a valid header page. */
export interface RegionHeader {
  readonly sequence: bigint
  readonly payloadBytes: number
  readonly pageCount: number
}

/** Checks one page's trailer; returns its sequence number or undefined when the page is not valid. */
export function checkPage(page: Uint8Array, pageIndex: number): bigint | undefined {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
  const perPage = page.length - pageTrailerBytes
  if (view.getUint32(perPage + 8, true) !== pageIndex) return undefined
  if (view.getUint32(perPage + 12, true) !== crc32c(page.subarray(0, page.length - 4))) return undefined
  return view.getBigUint64(perPage, true)
}

/** Reads the header from a region's first page; undefined when the page is not a valid header. */
export function decodeRegionHeader(page: Uint8Array, regionPages: number, pageSizeBytes: number): RegionHeader | undefined {
  const sequence = checkPage(page, 0)
  if (sequence === undefined) return undefined
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
  if (view.getUint32(0, true) !== regionMagic || view.getUint32(4, true) !== regionVersion) return undefined
  const payloadBytes = view.getUint32(8, true)
  const pageCount = view.getUint32(12, true)
  if (pageCount < 1 || pageCount > regionPages) return undefined
  if (payloadBytes > regionCapacityBytes(pageCount, pageSizeBytes)) return undefined
  return { sequence, payloadBytes, pageCount }
}

/**
 * Extracts the payload of a whole region read from disk; undefined when any page is torn,
 * stale (another sequence number) or corrupt.
 */
export function decodeRegion(region: Uint8Array, header: RegionHeader, pageSizeBytes: number): Uint8Array | undefined {
  const perPage = pageSizeBytes - pageTrailerBytes
  const stream = new Uint8Array(header.pageCount * perPage)
  for (let page = 0; page < header.pageCount; page++) {
    const bytes = region.subarray(page * pageSizeBytes, (page + 1) * pageSizeBytes)
    if (checkPage(bytes, page) !== header.sequence) return undefined
    stream.set(bytes.subarray(0, perPage), page * perPage)
  }
  return stream.slice(headerBytes, headerBytes + header.payloadBytes)
}
