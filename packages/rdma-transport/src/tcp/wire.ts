/**
 * The tcp provider's wire format: every frame is a 32-byte header followed by its payload.
 *
 * ```
 * 0  u8  type            1 hello, 2 message, 3 read request, 4 read data, 5 read done,
 *                        6 write data, 7 write done, 8 close
 * 1  u8  flags           bit 0: last chunk (write data)
 * 2  u16 magic 0x5846    ("XF")
 * 4  u32 payload length
 * 8  u32 id              tag (message) or request id (RMA)
 * 12 i32 status / length read length (read request) or DER code (done frames)
 * 16 f64 key             memory key (an integer below 2^48)
 * 24 f64 offset          remote offset (requests, write data) or position (read data)
 * ```
 *
 * @module
 */

/** Bytes of a frame header. */
export const headerBytes = 32
/** The magic in every header. */
export const frameMagic = 0x5846
/** Bulk transfers are cut into chunks of this size and interleaved with messages. */
export const chunkBytes = 64 * 1024
/** Largest hello payload. */
export const maxHelloBytes = 4096
/** Version of the tcp wire protocol carried in hello. */
export const wireVersion = 1

/** Frame types. */
export const FrameType = {
  hello: 1,
  message: 2,
  readRequest: 3,
  readData: 4,
  readDone: 5,
  writeData: 6,
  writeDone: 7,
  close: 8,
} as const

/** A decoded frame header. */
export interface FrameHeader {
  type: number
  flags: number
  length: number
  id: number
  status: number
  key: number
  offset: number
}

/** Encodes a frame header. */
export function encodeHeader(type: number, flags: number, length: number, id: number, status: number, key: number, offset: number): Buffer {
  const header = Buffer.allocUnsafe(headerBytes)
  header.writeUInt8(type, 0)
  header.writeUInt8(flags, 1)
  header.writeUInt16LE(frameMagic, 2)
  header.writeUInt32LE(length, 4)
  header.writeUInt32LE(id >>> 0, 8)
  header.writeInt32LE(status | 0, 12)
  header.writeDoubleLE(key, 16)
  header.writeDoubleLE(offset, 24)
  return header
}

/** Decodes a frame header; returns a reason string when it is malformed. */
export function decodeHeader(bytes: Buffer): FrameHeader | string {
  const magic = bytes.readUInt16LE(2)
  if (magic !== frameMagic) return `bad frame magic 0x${magic.toString(16)}`
  const header: FrameHeader = {
    type: bytes.readUInt8(0),
    flags: bytes.readUInt8(1),
    length: bytes.readUInt32LE(4),
    id: bytes.readUInt32LE(8),
    status: bytes.readInt32LE(12),
    key: bytes.readDoubleLE(16),
    offset: bytes.readDoubleLE(24),
  }
  if (header.type < FrameType.hello || header.type > FrameType.close) return `unknown frame type ${header.type}`
  for (const [name, value] of [['key', header.key], ['offset', header.offset]] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > 2 ** 48) return `bad ${name} ${value}`
  }
  return header
}
