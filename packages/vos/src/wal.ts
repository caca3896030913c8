/**
 * The write-ahead log format: sequence-numbered groups of mutations (one group per group
 * commit), each written as whole 4 KiB blocks that start with a header:
 *
 * | bytes | field |
 * |---|---|
 * | 0..4 | magic `VWAL` |
 * | 4..12 | group sequence number (u32 low, u32 high) |
 * | 12..14 | block index within the group |
 * | 14..16 | blocks in the group |
 * | 16..20 | payload length of the whole group |
 * | 20..24 | crc32c of bytes 0..20 and the block's 4072 payload bytes |
 *
 * A group is valid when every block has a good checksum and the group's sequence number.
 * Recovery ({@link scanWal}) reads groups from the start with consecutive sequence numbers and
 * stops at the first one that is not valid: a power cut can only tear the last group, which was
 * never acknowledged. A valid block with a *later* sequence number after that point means a
 * group in the middle was damaged; recovery refuses with `DER_DATA_LOSS` rather than silently
 * dropping acknowledged updates.
 *
 * @module
 */
import { DerError, crc32c } from '@x/common'
import type { BlobIo } from './blob-io.ts'

/** WAL block size in bytes. */
export const walBlockBytes = 4096
/** Header bytes of each WAL block. */
export const walHeaderBytes = 24
/** Payload bytes of each WAL block. */
export const walChunkBytes = walBlockBytes - walHeaderBytes
/** Most blocks in one group. */
export const walMaxGroupBlocks = 0xffff
const walMagic = 0x4c415756

/** Blocks a group with a payload of `payloadBytes` occupies. */
export function walBlocksFor(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / walChunkBytes))
}

/** Lays out one group as blocks ready to write. */
export function encodeWalGroup(seq: number, payload: Uint8Array): Uint8Array {
  const blocks = walBlocksFor(payload.length)
  if (blocks > walMaxGroupBlocks) throw new DerError('DER_INVAL', `WAL group of ${payload.length} bytes is too large`)
  const out = new Uint8Array(blocks * walBlockBytes)
  const view = new DataView(out.buffer)
  for (let i = 0; i < blocks; i++) {
    const at = i * walBlockBytes
    view.setUint32(at, walMagic, true)
    view.setUint32(at + 4, seq % 2 ** 32, true)
    view.setUint32(at + 8, Math.floor(seq / 2 ** 32), true)
    view.setUint16(at + 12, i, true)
    view.setUint16(at + 14, blocks, true)
    view.setUint32(at + 16, payload.length, true)
    out.set(payload.subarray(i * walChunkBytes, Math.min(payload.length, (i + 1) * walChunkBytes)), at + walHeaderBytes)
    const crc = crc32c(out.subarray(at + walHeaderBytes, at + walBlockBytes), crc32c(out.subarray(at, at + 20)))
    view.setUint32(at + 20, crc, true)
  }
  return out
}

interface BlockHeader {
  readonly valid: boolean
  readonly seq: number
  readonly index: number
  readonly count: number
  readonly payloadLength: number
}

function readHeader(bytes: Uint8Array, at: number): BlockHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, walBlockBytes)
  const magic = view.getUint32(0, true)
  const seq = view.getUint32(4, true) + view.getUint32(8, true) * 2 ** 32
  const index = view.getUint16(12, true)
  const count = view.getUint16(14, true)
  const payloadLength = view.getUint32(16, true)
  const block = bytes.subarray(at, at + walBlockBytes)
  const crc = crc32c(block.subarray(walHeaderBytes), crc32c(block.subarray(0, 20)))
  const valid = magic === walMagic && crc === view.getUint32(20, true) && count >= 1 && index < count && walBlocksFor(payloadLength) === count
  return { valid, seq, index, count, payloadLength }
}

/** A group found by {@link scanWal}. */
export interface WalGroup {
  readonly seq: number
  readonly payload: Uint8Array
  readonly offsetBytes: number
  readonly blockCount: number
}

/** What recovery found in the WAL. */
export interface WalScan {
  readonly groups: WalGroup[]
  /** Where the next group goes. */
  readonly tailOffsetBytes: number
  /** The sequence number of the next group. */
  readonly nextSeq: number
}

/**
 * Reads the groups `firstSeq, firstSeq + 1, ...` from the start of the WAL blob; see the module
 * comment for the rules. Throws `DER_DATA_LOSS` when acknowledged groups were damaged.
 */
export async function scanWal(blob: BlobIo, firstSeq: number): Promise<WalScan> {
  const bytes = await blob.read(0, blob.sizeBytes - (blob.sizeBytes % walBlockBytes))
  const blocks = Math.floor(bytes.length / walBlockBytes)
  const groups: WalGroup[] = []
  let block = 0
  let expected = firstSeq
  for (;;) {
    if (block >= blocks) break
    const head = readHeader(bytes, block * walBlockBytes)
    if (!head.valid || head.seq !== expected || head.index !== 0 || block + head.count > blocks) break
    let complete = true
    for (let i = 1; i < head.count; i++) {
      const h = readHeader(bytes, (block + i) * walBlockBytes)
      if (!h.valid || h.seq !== expected || h.index !== i || h.count !== head.count || h.payloadLength !== head.payloadLength) {
        complete = false
        break
      }
    }
    if (!complete) break
    const payload = new Uint8Array(head.payloadLength)
    for (let i = 0; i < head.count; i++) {
      const at = (block + i) * walBlockBytes + walHeaderBytes
      const take = Math.min(walChunkBytes, head.payloadLength - i * walChunkBytes)
      payload.set(bytes.subarray(at, at + take), i * walChunkBytes)
    }
    groups.push({ seq: expected, payload, offsetBytes: block * walBlockBytes, blockCount: head.count })
    block += head.count
    expected++
  }
  // Anything valid and newer beyond the stopping point is an acknowledged group we cannot reach.
  for (let b = block; b < blocks; b++) {
    const h = readHeader(bytes, b * walBlockBytes)
    if (h.valid && h.seq > expected) {
      throw new DerError('DER_DATA_LOSS', `WAL group ${expected} at offset ${block * walBlockBytes} is damaged but group ${h.seq} follows: acknowledged updates would be lost`, {
        details: { expectedSeq: expected, foundSeq: h.seq, offsetBytes: b * walBlockBytes },
      })
    }
  }
  return { groups, tailOffsetBytes: block * walBlockBytes, nextSeq: expected }
}
