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

/** Writes a frame header into `into` at `at`. */
export function writeHeader(into: Buffer, at: number, type: number, flags: number, length: number, id: number, status: number, key: number, offset: number): void {
  into[at] = type
  into[at + 1] = flags
  into.writeUInt16LE(frameMagic, at + 2)
  into.writeUInt32LE(length, at + 4)
  into.writeUInt32LE(id >>> 0, at + 8)
  into.writeInt32LE(status | 0, at + 12)
  into.writeDoubleLE(key, at + 16)
  into.writeDoubleLE(offset, at + 24)
}

/** Encodes a frame header. */
export function encodeHeader(type: number, flags: number, length: number, id: number, status: number, key: number, offset: number): Buffer {
  const header = Buffer.allocUnsafe(headerBytes)
  writeHeader(header, 0, type, flags, length, id, status, key, offset)
  return header
}

/** Decodes a frame header; returns a reason string when it is malformed. */
export function decodeHeader(bytes: Buffer): FrameHeader | string {
  const header: FrameHeader = { type: 0, flags: 0, length: 0, id: 0, status: 0, key: 0, offset: 0 }
  const problem = decodeHeaderInto(bytes, 0, header)
  return problem ?? header
}

/**
 * Decodes the header at `at` of `bytes` into `header` (reused by the reader: no allocation per
 * frame); returns a reason string when it is malformed (then `header` holds garbage).
 */
export function decodeHeaderInto(bytes: Buffer, at: number, header: FrameHeader): string | undefined {
  const magic = bytes.readUInt16LE(at + 2)
  if (magic !== frameMagic) return `bad frame magic 0x${magic.toString(16)}`
  header.type = bytes[at] as number
  header.flags = bytes[at + 1] as number
  header.length = bytes.readUInt32LE(at + 4)
  header.id = bytes.readUInt32LE(at + 8)
  header.status = bytes.readInt32LE(at + 12)
  header.key = bytes.readDoubleLE(at + 16)
  header.offset = bytes.readDoubleLE(at + 24)
  if (header.type < FrameType.hello || header.type > FrameType.close) return `unknown frame type ${header.type}`
  if (!isWireInteger(header.key)) return `bad key ${header.key}`
  if (!isWireInteger(header.offset)) return `bad offset ${header.offset}`
  return undefined
}

function isWireInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= 2 ** 48
}
