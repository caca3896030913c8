/**
 * msgr2.1 frames in "crc" mode, and the banner.
 *
 * A frame is a 32-byte preamble — tag (u8), segment count (u8, 1..4), four (le32 length, le16
 * alignment) pairs, two reserved bytes, le32 crc32c of the first 28 bytes — then segment 0 followed
 * by its le32 crc32c, then (when there are more segments) segments 1..3 back to back and a 13-byte
 * epilogue: late status (u8, 0x0e = complete) and the le32 crc32c of each of segments 1..3.
 * Segment 0 is the control payload (the message header for MESSAGE frames); segments 1..3 are a
 * message's front, middle and data. Over the fabric each frame is one message.
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

/**
 * Encodes a frame as a gather list — the head (preamble, segment 0, its crc), segments 1..3 as
 * given (not copied), and the epilogue — ready for a vectored fabric send. Trailing empty segments
 * are dropped; at least one remains. With `crcData` false the data segment's crc is not computed
 * (written as 0 and flagged in the late status).
 */
export function encodeFrameParts(tag: number, segments: readonly Uint8Array[], crcData = true): Uint8Array[] {
  let count = segments.length
  while (count > 1 && (segments[count - 1] as Uint8Array).length === 0) count--
  if (count < 1 || count > 4) throw new DerError('DER_INVAL', `a frame has 1..4 segments, got ${count}`)
  const control = segments[0] as Uint8Array
  const head = Buffer.allocUnsafe(preambleBytes + control.length + 4)
  head.writeUInt8(tag, 0)
  head.writeUInt8(count, 1)
  for (let i = 0; i < 4; i++) {
    head.writeUInt32LE(i < count ? (segments[i] as Uint8Array).length : 0, 2 + i * 6)
    head.writeUInt16LE(i < count ? (alignments[i] as number) : 0, 6 + i * 6)
  }
  head.writeUInt16LE(0, 26)
  head.writeUInt32LE(crc32c(head.subarray(0, 28)), 28)
  head.set(control, preambleBytes)
  head.writeUInt32LE(crc32c(control), preambleBytes + control.length)
  const parts: Uint8Array[] = [head]
  if (count > 1) {
    const epilogue = Buffer.allocUnsafe(epilogueBytes)
    let late = lateStatusComplete
    for (let i = 1; i < 4; i++) {
      const segment = i < count ? (segments[i] as Uint8Array) : undefined
      let crc = 0
      if (segment !== undefined) {
        parts.push(segment)
        if (i === 3 && !crcData) late |= lateStatusNoDataCrc
        else crc = crc32c(segment)
      }
      epilogue.writeUInt32LE(crc, 1 + (i - 1) * 4)
    }
    epilogue.writeUInt8(late, 0)
    parts.push(epilogue)
  }
  return parts
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
 * Decodes and verifies a frame. Throws `DER_CSUM` on a crc mismatch and `DER_PROTO` on a malformed
 * frame or one whose segments exceed `maxSegmentBytes`. Segments are views into `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, maxSegmentBytes: number): Frame {
  if (bytes.length < preambleBytes + 4) throw new DerError('DER_PROTO', `frame of ${bytes.length} bytes is shorter than a preamble`)
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  if (view.readUInt32LE(28) !== crc32c(bytes.subarray(0, 28))) throw new DerError('DER_CSUM', 'preamble crc mismatch')
  const tag = view.readUInt8(0)
  const count = view.readUInt8(1)
  if (count < 1 || count > 4) throw new DerError('DER_PROTO', `bad segment count ${count}`)
  const lengths: number[] = []
  let expected = preambleBytes + 4 + (count > 1 ? epilogueBytes : 0)
  for (let i = 0; i < 4; i++) {
    const length = view.readUInt32LE(2 + i * 6)
    if (i >= count && length !== 0) throw new DerError('DER_PROTO', `unused segment ${i} has length ${length}`)
    if (length > maxSegmentBytes) throw new DerError('DER_PROTO', `segment ${i} of ${length} bytes exceeds the limit of ${maxSegmentBytes}`)
    lengths.push(length)
    expected += length
  }
  if (expected !== bytes.length) throw new DerError('DER_PROTO', `frame is ${bytes.length} bytes, its preamble says ${expected}`)
  const segments: Uint8Array[] = []
  let at = preambleBytes
  const control = bytes.subarray(at, at + (lengths[0] as number))
  at += control.length
  if (view.readUInt32LE(at) !== crc32c(control)) throw new DerError('DER_CSUM', 'control segment crc mismatch')
  at += 4
  segments.push(control)
  if (count > 1) {
    const tail: Uint8Array[] = []
    for (let i = 1; i < 4; i++) {
      tail.push(bytes.subarray(at, at + (lengths[i] as number)))
      at += lengths[i] as number
    }
    const late = view.readUInt8(at)
    if ((late & ~lateStatusNoDataCrc) !== lateStatusComplete) throw new DerError('DER_PROTO', `frame aborted by the sender (late status 0x${late.toString(16)})`)
    const skipData = (late & lateStatusNoDataCrc) !== 0
    tail.forEach((segment, i) => {
      const want = view.readUInt32LE(at + 1 + i * 4)
      if (i === 2 && skipData && i + 1 < count) {
        if (want !== 0) throw new DerError('DER_PROTO', 'data crc present although flagged as skipped')
        return
      }
      const got = i + 1 < count ? crc32c(segment) : 0
      if (want !== got) throw new DerError('DER_CSUM', `segment ${i + 1} crc mismatch`)
    })
    segments.push(...tail.slice(0, count - 1))
  }
  return { tag, segments }
}
