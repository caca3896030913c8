/**
 * Bulk handles (`crt_bulk_create`): registered memory in one or several segments, described to a
 * peer by a {@link BulkDescriptor} carried inside an RPC's input. The peer then pulls (GET) or
 * pushes (PUT) with one-sided RDMA.
 *
 * @module
 */
import { type Decoder, DerError, type Encoder, type StructCodec, crc32c } from '@x/common'
import type { MemoryRegion } from '@x/rdma-transport'

/** What a peer may do with a bulk handle: read it (`ro`), write it (`wo`) or both (`rw`). */
export type BulkAccess = 'ro' | 'wo' | 'rw'

/** One segment of a described bulk handle. */
export interface BulkSegment {
  readonly key: number
  readonly offset: number
  readonly length: number
}

/** What a peer needs to reach a bulk handle: put it in an RPC input with {@link writeBulkDescriptor}. */
export interface BulkDescriptor {
  /** Fabric address of the context that owns the memory. */
  readonly address: string
  readonly access: BulkAccess
  readonly segments: readonly BulkSegment[]
  /** Sum of the segment lengths. */
  readonly totalBytes: number
  /** crc32c of the contents when the handle was created with `checksum: true`. */
  readonly checksum?: number
}

/** A bulk handle over local registered memory. */
export interface LocalBulk {
  /** The local buffers, in order. */
  readonly buffers: readonly Uint8Array[]
  readonly regions: readonly MemoryRegion[]
  readonly descriptor: BulkDescriptor
  /** Sum of the buffer lengths. */
  readonly totalBytes: number
  /** Deregisters the memory (`crt_bulk_free`); later remote accesses fail at the initiator. */
  free(): void
}

const accessCodes: readonly BulkAccess[] = ['ro', 'wo', 'rw']
/** Largest number of segments in a descriptor. */
export const maxBulkSegments = 1024

/** Writes a descriptor into an encoder (inside an RPC input's `encodeFields`). */
export function writeBulkDescriptor(e: Encoder, d: BulkDescriptor): void {
  e.struct(1, 1, (s) => {
    s.string(d.address).u8(accessCodes.indexOf(d.access)).varuint(d.segments.length)
    for (const seg of d.segments) s.varuint(seg.key).varuint(seg.offset).varuint(seg.length)
    s.bool(d.checksum !== undefined)
    if (d.checksum !== undefined) s.u32(d.checksum)
  })
}

/** Reads a descriptor (inside an RPC input's `decodeFields`); malformed ones throw `DecodeError`. */
export function readBulkDescriptor(d: Decoder): BulkDescriptor {
  return d.struct(1, (s) => {
    const address = s.string()
    const access = accessCodes[s.u8()]
    if (access === undefined) return s.malformed('unknown bulk access')
    const count = s.varuint()
    if (count < 1 || count > maxBulkSegments) s.malformed(`bulk descriptor needs 1..${maxBulkSegments} segments, got ${count}`)
    const segments: BulkSegment[] = []
    let totalBytes = 0
    for (let i = 0; i < count; i++) {
      const seg = { key: s.varuint(), offset: s.varuint(), length: s.varuint() }
      totalBytes += seg.length
      segments.push(seg)
    }
    if (!Number.isSafeInteger(totalBytes)) s.malformed('bulk descriptor too large')
    const checksum = s.bool() ? s.u32() : undefined
    return checksum === undefined ? { address, access, segments, totalBytes } : { address, access, segments, totalBytes, checksum }
  })
}

/** A struct codec for a bare descriptor. */
export const bulkDescriptorCodec: StructCodec<BulkDescriptor> = {
  name: 'cart.bulk_descriptor',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => writeBulkDescriptor(e, v),
  decodeFields: (d) => readBulkDescriptor(d),
}

/** crc32c over several buffers as if they were one. */
export function crc32cOf(buffers: readonly Uint8Array[]): number {
  let crc = 0
  for (const b of buffers) crc = crc32c(b, crc)
  return crc
}

/** One contiguous piece of a transfer: a remote segment range and a local slice. */
export interface BulkPiece {
  readonly key: number
  readonly remoteOffset: number
  readonly local: Uint8Array
}

/**
 * Splits `length` bytes starting at `remoteOffset` of `remote` and `localOffset` of `local` into
 * pieces that each lie inside one remote segment and one local buffer. `DER_INVAL` when a range
 * lies outside its handle.
 */
export function planBulkTransfer(remote: BulkDescriptor, remoteOffset: number, local: readonly Uint8Array[], localOffset: number, length: number): BulkPiece[] {
  const localTotal = local.reduce((n, b) => n + b.length, 0)
  for (const [name, v] of [['remoteOffset', remoteOffset], ['localOffset', localOffset], ['length', length]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new DerError('DER_INVAL', `bulk ${name} must be an integer >= 0, got ${v}`)
  }
  if (remoteOffset + length > remote.totalBytes) {
    throw new DerError('DER_INVAL', `bulk range ${remoteOffset}+${length} is outside the remote handle of ${remote.totalBytes} bytes`)
  }
  if (localOffset + length > localTotal) throw new DerError('DER_INVAL', `bulk range ${localOffset}+${length} is outside the local handle of ${localTotal} bytes`)
  const pieces: BulkPiece[] = []
  let r = 0
  let rSkip = remoteOffset
  let l = 0
  let lSkip = localOffset
  let left = length
  while (left > 0) {
    const seg = remote.segments[r] as BulkSegment
    if (rSkip >= seg.length) {
      rSkip -= seg.length
      r++
      continue
    }
    const buf = local[l] as Uint8Array
    if (lSkip >= buf.length) {
      lSkip -= buf.length
      l++
      continue
    }
    const n = Math.min(left, seg.length - rSkip, buf.length - lSkip)
    pieces.push({ key: seg.key, remoteOffset: seg.offset + rSkip, local: buf.subarray(lSkip, lSkip + n) })
    rSkip += n
    lSkip += n
    left -= n
  }
  return pieces
}
