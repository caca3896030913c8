/**
 * Checkpoints: a whole index image written to the meta blob. Two header slots (blocks 0 and 1)
 * alternate; each names its image's place and checksum, the WAL sequence number that follows
 * the image, and a generation. The image of a new checkpoint never overwrites the one the
 * newest valid header names, so a power cut at any point leaves one complete checkpoint.
 *
 * Header layout (little-endian): magic `VCKP` (u32), generation (u64 as two u32), next WAL
 * sequence (u64 as two u32), image offset (u64 as two u32), image length (u32), image crc32c
 * (u32), header crc32c (u32) over the 40 bytes before it.
 *
 * @module
 */
import { DerError, crc32c } from '@x/common'
import type { BlobIo } from './blob-io.ts'

const checkpointMagic = 0x504b4356
const headerBytes = 44
/** Bytes of one header slot. */
export const checkpointSlotBytes = 4096
/** Where images start. */
const imageAreaOffset = 2 * checkpointSlotBytes

/** A checkpoint header. */
export interface CheckpointHeader {
  readonly generation: number
  readonly nextWalSeq: number
  readonly imageOffsetBytes: number
  readonly imageLengthBytes: number
  readonly imageCrc: number
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit
}

function encodeHeader(h: CheckpointHeader): Uint8Array {
  const out = new Uint8Array(checkpointSlotBytes)
  const v = new DataView(out.buffer)
  v.setUint32(0, checkpointMagic, true)
  const u64 = (at: number, n: number): void => {
    v.setUint32(at, n % 2 ** 32, true)
    v.setUint32(at + 4, Math.floor(n / 2 ** 32), true)
  }
  u64(4, h.generation)
  u64(12, h.nextWalSeq)
  u64(20, h.imageOffsetBytes)
  v.setUint32(28, h.imageLengthBytes, true)
  v.setUint32(32, h.imageCrc, true)
  v.setUint32(36, 0, true)
  v.setUint32(40, crc32c(out.subarray(0, 40)), true)
  return out
}

type SlotRead = { readonly state: 'empty' } | { readonly state: 'bad' } | { readonly state: 'ok'; readonly header: CheckpointHeader }

function decodeHeader(bytes: Uint8Array): SlotRead {
  if (bytes.subarray(0, headerBytes).every((b) => b === 0)) return { state: 'empty' }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (v.getUint32(0, true) !== checkpointMagic || v.getUint32(40, true) !== crc32c(bytes.subarray(0, 40))) return { state: 'bad' }
  const u64 = (at: number): number => v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32
  return {
    state: 'ok',
    header: { generation: u64(4), nextWalSeq: u64(12), imageOffsetBytes: u64(20), imageLengthBytes: v.getUint32(28, true), imageCrc: v.getUint32(32, true) },
  }
}

/** Where the next image goes so that it does not overlap the current one. */
function placeImage(current: CheckpointHeader | undefined, lengthBytes: number, unit: number): number {
  if (current === undefined) return imageAreaOffset
  if (imageAreaOffset + lengthBytes <= current.imageOffsetBytes) return imageAreaOffset
  return roundUp(current.imageOffsetBytes + current.imageLengthBytes, unit)
}

/** Writes and syncs a checkpoint after `current`; returns its header. */
export async function writeCheckpoint(meta: BlobIo, current: CheckpointHeader | undefined, nextWalSeq: number, image: Uint8Array): Promise<CheckpointHeader> {
  const unit = Math.max(meta.ioUnitBytes, 1)
  const offset = placeImage(current, image.length, unit)
  const padded = roundUp(Math.max(image.length, 1), unit)
  if (offset + padded > meta.sizeBytes) await meta.resize(roundUp(Math.max(offset + padded, meta.sizeBytes * 2), unit))
  const buffer = new Uint8Array(padded)
  buffer.set(image)
  await meta.write(offset, buffer)
  await meta.sync()
  const header: CheckpointHeader = { generation: (current?.generation ?? 0) + 1, nextWalSeq, imageOffsetBytes: offset, imageLengthBytes: image.length, imageCrc: crc32c(image) }
  await meta.write((header.generation % 2) * checkpointSlotBytes, encodeHeader(header))
  await meta.sync()
  return header
}

/**
 * Reads the newest checkpoint: undefined when the blob holds none (never formatted);
 * `DER_DATA_LOSS` when the newest header's image is damaged or no header is readable.
 */
export async function readCheckpoint(meta: BlobIo): Promise<{ header: CheckpointHeader; image: Uint8Array } | undefined> {
  if (meta.sizeBytes < imageAreaOffset) return undefined
  const slots = [decodeHeader(await meta.read(0, checkpointSlotBytes)), decodeHeader(await meta.read(checkpointSlotBytes, checkpointSlotBytes))]
  const ok = slots.flatMap((s) => (s.state === 'ok' ? [s.header] : []))
  if (ok.length === 0) {
    if (slots.every((s) => s.state === 'empty')) return undefined
    throw new DerError('DER_DATA_LOSS', 'no checkpoint header of the meta blob is readable')
  }
  const header = ok.reduce((a, b) => (b.generation > a.generation ? b : a))
  const unit = meta.ioUnitBytes
  if (header.imageOffsetBytes % unit !== 0 || header.imageOffsetBytes + roundUp(header.imageLengthBytes, unit) > meta.sizeBytes) {
    throw new DerError('DER_DATA_LOSS', `checkpoint ${header.generation} names an image beyond the meta blob`)
  }
  const raw = await meta.read(header.imageOffsetBytes, roundUp(Math.max(header.imageLengthBytes, 1), unit))
  const image = raw.subarray(0, header.imageLengthBytes)
  if (crc32c(image) !== header.imageCrc) throw new DerError('DER_DATA_LOSS', `checkpoint ${header.generation} image fails its checksum`, { details: { generation: header.generation } })
  return { header, image }
}
