/**
 * msgr2.1 frames in "crc" mode, and the banner.
 *
 * A frame is a 32-byte preamble — tag (u8), segment count (u8, 1..4), four (le32 length, le16
 * alignment) pairs, two reserved bytes, le32 crc32c of the first 28 bytes — then segment 0 followed
 * by its le32 crc32c, then (when there are more segments) segments 1..3 back to back and a 13-byte
 * epilogue: late status (u8, 0x0e = complete) and the le32 crc32c of each of segments 1..3.
 * Segment 0 is the control payload (the message header for MESSAGE frames); segments 1..3 are a
 * message's front, middle and data. Over the fabric each frame is one message, except that once a
 * session is ready, queued message frames may travel back to back in one fabric message.
 *
 * @module
 */
import { DerError, crc32c } from '@x/common'

/** Frame tags (msgr2's numbering). */
export const Tag = {
  hello: 1,
  authRequest: 2,
  authBadMethod: 3,
  authReplyMore: 4,
  authRequestMore: 5,
  authDone: 6,
  authSignature: 7,
  clientIdent: 8,
  serverIdent: 9,
  sessionReconnect: 11,
  sessionReset: 12,
  sessionReconnectOk: 15,
  wait: 16,
  message: 17,
  keepalive2: 18,
  keepalive2Ack: 19,
  ack: 20,
} as const

/** Bytes of the preamble. */
export const preambleBytes = 32
/** Bytes of the epilogue of a multi-segment frame. */
export const epilogueBytes = 13
/** Late status of a complete frame. */
export const lateStatusComplete = 0x0e
const alignments = [8, 8, 8, 4096] as const

/** The banner: `ceph v2\n`, le16 16, le64 supported features, le64 required features. */
export const bannerMagic = 'ceph v2\n'
/** Bytes of the banner. */
export const bannerBytes = 8 + 2 + 16
/** msgr2 feature bit 0: revision 1 (msgr2.1). */
export const featureRevision1 = 1n

/** A decoded frame: its tag and its (1..4) segments. */
export interface Frame {
  readonly tag: number
  readonly segments: readonly Uint8Array[]
}

/** Builds the banner. */
export function encodeBanner(supported: bigint, required: bigint): Uint8Array {
  const bytes = Buffer.alloc(bannerBytes)
  bytes.write(bannerMagic, 0, 'latin1')
  bytes.writeUInt16LE(16, 8)
  bytes.writeBigUInt64LE(supported, 10)
  bytes.writeBigUInt64LE(required, 18)
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

/** Checks a peer's banner against our features; throws `DER_PROTO` with the reason. */
export function decodeBanner(bytes: Uint8Array, supported: bigint): { supported: bigint; required: bigint } {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  if (view.length !== bannerBytes || view.toString('latin1', 0, 8) !== bannerMagic) throw new DerError('DER_PROTO', 'bad banner: not a msgr2 peer')
  if (view.readUInt16LE(8) !== 16) throw new DerError('DER_PROTO', `bad banner: payload length ${view.readUInt16LE(8)}`)
  const peerSupported = view.readBigUInt64LE(10)
  const peerRequired = view.readBigUInt64LE(18)
  const missing = peerRequired & ~supported
  if (missing !== 0n) throw new DerError('DER_PROTO', `peer requires features 0x${missing.toString(16)} we lack`)
  return { supported: peerSupported, required: peerRequired }
}

/** Late-status bit: the sender did not compute the data segment's crc (Ceph's `ms_crc_data = false`). */
export const lateStatusNoDataCrc = 0x20

/** Writes a little-endian u32 at `at`. */
function putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff
  out[at + 1] = (value >>> 8) & 0xff
  out[at + 2] = (value >>> 16) & 0xff
  out[at + 3] = value >>> 24
}

/** Reads a little-endian u32 at `at`. */
function getU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0
}

/** How many segments a frame carries: trailing empty ones are dropped, at least one remains. */
function segmentCount(lengths: readonly number[]): number {
  let count = lengths.length
  while (count > 1 && lengths[count - 1] === 0) count--
  return count
}

/**
 * Lays out one frame's fixed parts in a single allocation: the head (preamble, `controlBytes` of
 * segment 0 left for the caller to fill, its crc slot) and, for multi-segment frames, the
 * epilogue. Returns the buffer; the head is `[0, preamble + control + 4)`, the epilogue the rest.
 */
function layoutFrame(tag: number, count: number, l0: number, l1: number, l2: number, l3: number): Buffer {
  const out = Buffer.allocUnsafe(preambleBytes + l0 + 4 + (count > 1 ? epilogueBytes : 0))
  out[0] = tag
  out[1] = count
  const lengths = [l0, l1, l2, l3]
  for (let i = 0; i < 4; i++) {
    const used = i < count
    putU32(out, 2 + i * 6, used ? (lengths[i] as number) : 0)
    const alignment = used ? (alignments[i] as number) : 0
    out[6 + i * 6] = alignment & 0xff
    out[7 + i * 6] = alignment >>> 8
  }
  out[26] = 0
  out[27] = 0
  putU32(out, 28, crc32c(out.subarray(0, 28)))
  return out
}

/**
 * Finishes a frame laid out by {@link layoutFrame} whose segment 0 is in place: its crc, then the
 * gather list with segments 1..3 (empty ones left out: they add no bytes) and the epilogue.
 */
function finishFrame(out: Buffer, count: number, l0: number, tail: readonly Uint8Array[], crcData: boolean): Uint8Array[] {
  const headBytes = preambleBytes + l0 + 4
  putU32(out, preambleBytes + l0, crc32c(out.subarray(preambleBytes, preambleBytes + l0)))
  const head = out.subarray(0, headBytes)
  if (count === 1) return [head]
  const parts: Uint8Array[] = [head]
  let late = lateStatusComplete
  for (let i = 1; i < 4; i++) {
    let crc = 0
    if (i < count) {
      const segment = tail[i - 1] as Uint8Array
      if (segment.length > 0) parts.push(segment)
      if (i === 3 && !crcData) late |= lateStatusNoDataCrc
      else crc = crc32c(segment)
    }
    putU32(out, headBytes + 1 + (i - 1) * 4, crc)
  }
  out[headBytes] = late
  parts.push(out.subarray(headBytes))
  return parts
}

/**
 * Encodes a frame as a gather list — the head (preamble, segment 0, its crc), segments 1..3 as
 * given (not copied; empty ones left out of the list), and the epilogue — ready for a vectored
 * fabric send. Trailing empty segments are dropped; at least one remains. With `crcData` false the
 * data segment's crc is not computed (written as 0 and flagged in the late status).
 */
export function encodeFrameParts(tag: number, segments: readonly Uint8Array[], crcData = true): Uint8Array[] {
  const count = segmentCount(segments.map((s) => s.length))
  if (count < 1 || count > 4) throw new DerError('DER_INVAL', `a frame has 1..4 segments, got ${count}`)
  const control = segments[0] as Uint8Array
  const length = (i: number): number => (i < count ? (segments[i] as Uint8Array).length : 0)
  const out = layoutFrame(tag, count, control.length, length(1), length(2), length(3))
  out.set(control, preambleBytes)
  return finishFrame(out, count, control.length, segments.slice(1, count), crcData)
}

/**
 * Encodes a frame whose segment 0 is `controlBytes` long and written in place by `writeControl`
 * (at `offset`, no intermediate buffer), followed by `front`, `middle` and `data`. The bytes are
 * those of {@link encodeFrameParts} with the same segments.
 */
export function encodeFramePartsInPlace<C>(
  tag: number,
  controlBytes: number,
  writeControl: (out: Buffer, offset: number, context: C) => void,
  context: C,
  front: Uint8Array,
  middle: Uint8Array,
  data: Uint8Array,
  crcData = true,
): Uint8Array[] {
  const count = data.length > 0 ? 4 : middle.length > 0 ? 3 : front.length > 0 ? 2 : 1
  const out = layoutFrame(tag, count, controlBytes, front.length, middle.length, data.length)
  writeControl(out, preambleBytes, context)
  return finishFrame(out, count, controlBytes, [front, middle, data], crcData)
}

/** Encodes a frame into one buffer (see {@link encodeFrameParts}). */
export function encodeFrame(tag: number, segments: readonly Uint8Array[], crcData = true): Uint8Array {
  const parts = encodeFrameParts(tag, segments, crcData)
  if (parts.length === 1) {
    const head = parts[0] as Buffer
    return new Uint8Array(head.buffer, head.byteOffset, head.length)
  }
  const out = Buffer.concat(parts)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/**
 * The length of the frame starting at `at` in `bytes` as its preamble says (capped at the bytes
 * left), to split a run of frames sent back to back. Nothing is verified here: decode the slice
 * with {@link decodeFrame}, which checks the preamble's crc and that the lengths match.
 */
export function frameLength(bytes: Uint8Array, at: number): number {
  const left = bytes.length - at
  if (left < preambleBytes) return left
  let total = preambleBytes + 4 + ((bytes[at + 1] as number) > 1 ? epilogueBytes : 0)
  for (let i = 0; i < 4; i++) total += getU32(bytes, at + 2 + i * 6)
  return Math.min(total, left)
}

/**
 * Decodes and verifies a frame. Throws `DER_CSUM` on a crc mismatch and `DER_PROTO` on a malformed
 * frame or one whose segments exceed `maxSegmentBytes`. Segments are views into `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, maxSegmentBytes: number): Frame {
  if (bytes.length < preambleBytes + 4) throw new DerError('DER_PROTO', `frame of ${bytes.length} bytes is shorter than a preamble`)
  if (getU32(bytes, 28) !== crc32c(bytes.subarray(0, 28))) throw new DerError('DER_CSUM', 'preamble crc mismatch')
  const tag = bytes[0] as number
  const count = bytes[1] as number
  if (count < 1 || count > 4) throw new DerError('DER_PROTO', `bad segment count ${count}`)
  let expected = preambleBytes + 4 + (count > 1 ? epilogueBytes : 0)
  for (let i = 0; i < 4; i++) {
    const length = getU32(bytes, 2 + i * 6)
    if (i >= count && length !== 0) throw new DerError('DER_PROTO', `unused segment ${i} has length ${length}`)
    if (length > maxSegmentBytes) throw new DerError('DER_PROTO', `segment ${i} of ${length} bytes exceeds the limit of ${maxSegmentBytes}`)
    expected += length
  }
  if (expected !== bytes.length) throw new DerError('DER_PROTO', `frame is ${bytes.length} bytes, its preamble says ${expected}`)
  let at = preambleBytes
  const control = bytes.subarray(at, at + getU32(bytes, 2))
  at += control.length
  if (getU32(bytes, at) !== crc32c(control)) throw new DerError('DER_CSUM', 'control segment crc mismatch')
  at += 4
  if (count === 1) return { tag, segments: [control] }
  const l1 = getU32(bytes, 8)
  const l2 = getU32(bytes, 14)
  const l3 = getU32(bytes, 20)
  const s1 = bytes.subarray(at, at + l1)
  const s2 = bytes.subarray(at + l1, at + l1 + l2)
  const s3 = bytes.subarray(at + l1 + l2, at + l1 + l2 + l3)
  at += l1 + l2 + l3
  const late = bytes[at] as number
  if ((late & ~lateStatusNoDataCrc) !== lateStatusComplete) throw new DerError('DER_PROTO', `frame aborted by the sender (late status 0x${late.toString(16)})`)
  const skipData = (late & lateStatusNoDataCrc) !== 0
  checkSegmentCrc(getU32(bytes, at + 1), s1, count > 1, 1)
  checkSegmentCrc(getU32(bytes, at + 5), s2, count > 2, 2)
  if (skipData && count > 3) {
    if (getU32(bytes, at + 9) !== 0) throw new DerError('DER_PROTO', 'data crc present although flagged as skipped')
  } else {
    checkSegmentCrc(getU32(bytes, at + 9), s3, count > 3, 3)
  }
  return { tag, segments: count === 2 ? [control, s1] : count === 3 ? [control, s1, s2] : [control, s1, s2, s3] }
}

function checkSegmentCrc(want: number, segment: Uint8Array, present: boolean, index: number): void {
  const got = present ? crc32c(segment) : 0
  if (want !== got) throw new DerError('DER_CSUM', `segment ${index} crc mismatch`)
}
