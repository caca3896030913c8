/**
 * Where a stored value's bytes live and their checksums: inline in the metadata (small values)
 * or in the data blob, with a crc32c per 32 KiB chunk (DAOS's default `cksum_size`), so a
 * partial read verifies only the chunks it touches.
 *
 * @module
 */
import { DerError, crc32c } from '@x/common'

/** Chunk size of stored checksums in bytes. */
export const csumChunkBytes = 32 * 1024

/** Bytes held in the metadata itself. */
export interface InlineRef {
  readonly kind: 'inline'
  readonly bytes: Uint8Array
}

/** Bytes held in the data blob at `offsetBytes` (an allocation of `allocatedBytes`). */
export interface BlobRef {
  readonly kind: 'blob'
  readonly offsetBytes: number
  readonly allocatedBytes: number
}

/** Where a value's bytes are. */
export type DataRef = InlineRef | BlobRef

/** A stored value or extent payload: its location, length and chunk checksums. */
export interface StoredData {
  readonly ref: DataRef
  readonly lengthBytes: number
  /** crc32c of each {@link csumChunkBytes} chunk; empty when the container keeps no checksums. */
  readonly csums: readonly number[]
}

/** Checksums of `data` per chunk. */
export function chunkCsums(data: Uint8Array): number[] {
  const csums: number[] = []
  for (let offset = 0; offset < data.length; offset += csumChunkBytes) {
    csums.push(crc32c(data.subarray(offset, Math.min(data.length, offset + csumChunkBytes))))
  }
  return csums
}

/** Space a stored value is charged for. */
export function chargedBytes(data: StoredData): number {
  return data.ref.kind === 'inline' ? data.lengthBytes : data.ref.allocatedBytes
}

/**
 * Verifies chunks `firstChunk..` of a value whose bytes from chunk `firstChunk` on are `bytes`
 * (whole chunks, the last one possibly short at the value's end). Throws `DER_CSUM`.
 */
export function verifyChunks(stored: StoredData, firstChunk: number, bytes: Uint8Array, where: string): void {
  if (stored.csums.length === 0) return
  for (let i = 0; i * csumChunkBytes < bytes.length; i++) {
    const chunk = bytes.subarray(i * csumChunkBytes, Math.min(bytes.length, (i + 1) * csumChunkBytes))
    const expected = stored.csums[firstChunk + i]
    const actual = crc32c(chunk)
    if (expected !== actual) {
      throw new DerError('DER_CSUM', `checksum mismatch in ${where}, chunk ${firstChunk + i}: stored ${String(expected)}, computed ${actual}`, {
        details: { chunk: firstChunk + i, expected, actual },
      })
    }
  }
}

const slabBytes = 1024 * 1024
let slab: Uint8Array | undefined
let slabUsed = 0

/**
 * A private copy of a small value. Values up to 64 KiB are packed into shared 1 MiB slabs
 * (one ArrayBuffer per slab instead of one per value, which keeps allocation and GC cheap); a
 * slab is freed by the GC once no value in it is referenced.
 */
export function copyValue(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 64 * 1024) return bytes.slice()
  if (slab === undefined || slabUsed + bytes.length > slabBytes) {
    slab = new Uint8Array(slabBytes)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes.length)
  out.set(bytes)
  // Keep later copies 8-byte aligned.
  slabUsed += (bytes.length + 7) & ~7
  return out
}
