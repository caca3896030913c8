/**
 * Messages: a registry of message types whose payloads are `@x/common` versioned structs (HEAD
 * and COMPAT versions), and the 41-byte message header (`ceph_msg_header2`'s layout).
 *
 * @module
 */
import { DerError, type StructCodec, decodeStruct, encodeStruct } from '@x/common'

/** Message priorities (Ceph's values). Higher is dispatched first. */
export const Priority = { low: 64, default: 127, high: 196, highest: 255 } as const

/** A registered message type. */
export interface MessageType<T> {
  /** Wire id (u16, unique in the registry). */
  readonly id: number
  /** For logs (`osd_op`). */
  readonly name: string
  /** The payload's versioned encoding: its `version` is HEAD, its `compat` COMPAT. */
  readonly codec: StructCodec<T>
  /** Priority when the sender gives none (default {@link Priority}.default). */
  readonly priority?: number
}

/**
 * A message to send. `middle` and `data` are sent as they are, without copying, and kept until
 * the peer acks them (for replay): do not modify them after `send`.
 */
export interface OutgoingMessage<T = unknown> {
  readonly type: MessageType<T>
  readonly payload: T
  readonly middle?: Uint8Array
  readonly data?: Uint8Array
  readonly priority?: number
  /** Transaction id for the caller's replies (default 0). */
  readonly tid?: bigint
}

/** The header of a MESSAGE frame (segment 0). */
export interface MessageHeader {
  seq: bigint
  tid: bigint
  type: number
  priority: number
  version: number
  ackSeq: bigint
  flags: number
  compatVersion: number
}

/** Bytes of an encoded {@link MessageHeader}. */
export const messageHeaderBytes = 41

/** Encodes a header: seq, tid (le64), type, priority, version (le16), data_pre_padding_len (le32),
 * data_off (le16), ack_seq (le64), flags (u8), compat_version (le16), reserved (le16). */
export function encodeMessageHeader(header: MessageHeader): Uint8Array {
  const out = Buffer.allocUnsafe(messageHeaderBytes)
  writeMessageHeader(out, 0, header)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Writes `header` ({@link messageHeaderBytes} bytes) into `out` at `at`, as {@link encodeMessageHeader} does. */
export function writeMessageHeader(out: Buffer, at: number, header: MessageHeader): void {
  out.writeBigUInt64LE(header.seq, at)
  out.writeBigUInt64LE(header.tid, at + 8)
  out.writeUInt16LE(header.type, at + 16)
  out.writeUInt16LE(header.priority, at + 18)
  out.writeUInt16LE(header.version, at + 20)
  out.fill(0, at + 22, at + 28)
  out.writeBigUInt64LE(header.ackSeq, at + 28)
  out.writeUInt8(header.flags, at + 36)
  out.writeUInt16LE(header.compatVersion, at + 37)
  out[at + 39] = 0
  out[at + 40] = 0
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) | ((bytes[at + 1] as number) << 8)
}

function u32(bytes: Uint8Array, at: number): number {
  return (u16(bytes, at) | (u16(bytes, at + 2) << 16)) >>> 0
}

function u64(bytes: Uint8Array, at: number): bigint {
  const low = u32(bytes, at)
  const high = u32(bytes, at + 4)
  return high === 0 ? BigInt(low) : (BigInt(high) << 32n) | BigInt(low)
}

/** Decodes a header; throws `DER_PROTO` when the segment has the wrong size. */
export function decodeMessageHeader(bytes: Uint8Array): MessageHeader {
  if (bytes.length !== messageHeaderBytes) throw new DerError('DER_PROTO', `message header of ${bytes.length} bytes, expected ${messageHeaderBytes}`)
  return {
    seq: u64(bytes, 0),
    tid: u64(bytes, 8),
    type: u16(bytes, 16),
    priority: u16(bytes, 18),
    version: u16(bytes, 20),
    ackSeq: u64(bytes, 28),
    flags: bytes[36] as number,
    compatVersion: u16(bytes, 37),
  }
}

/** The message types a messenger knows. Unknown types are counted and dropped on receipt. */
export class MessageRegistry {
  private readonly types = new Map<number, MessageType<unknown>>()

  /** Registers a type; throws `DER_EXIST` when the id is taken, `DER_INVAL` when out of range. */
  register<T>(type: MessageType<T>): MessageType<T> {
    if (!Number.isInteger(type.id) || type.id < 1 || type.id > 0xffff) throw new DerError('DER_INVAL', `message type id must be 1..65535, got ${type.id}`)
    if (this.types.has(type.id)) throw new DerError('DER_EXIST', `message type ${type.id} is already registered (${this.types.get(type.id)?.name})`)
    this.types.set(type.id, type)
    return type
  }

  /** The type with this id. */
  get(id: number): MessageType<unknown> | undefined {
    return this.types.get(id)
  }

  /** Encodes a payload. */
  encode<T>(type: MessageType<T>, payload: T): Uint8Array {
    return encodeStruct(type.codec, payload)
  }

  /** Decodes a payload of a registered type; throws `DecodeError` or `DER_NOTYPE`. */
  decode(id: number, front: Uint8Array): { type: MessageType<unknown>; payload: unknown } {
    const type = this.types.get(id)
    if (type === undefined) throw new DerError('DER_NOTYPE', `unknown message type ${id}`)
    return { type, payload: decodeStruct(type.codec, front) }
  }
}
