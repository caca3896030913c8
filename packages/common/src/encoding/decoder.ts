/**
 * `Decoder`: reads what {@link Encoder} wrote, checking every bound. Bad input always throws a
 * {@link DecodeError}; no length read from the input can make it allocate more than the input's
 * own size.
 *
 * @module
 */
import { DecodeError } from './decode-error.ts'

const textDecoder = new TextDecoder('utf-8', { fatal: true })

/** Limits a decoder enforces on top of the input's own bounds. */
export interface DecoderLimits {
  /** The largest byte string or UTF-8 string accepted (default: unlimited but the input size). */
  readonly maxBytesLength?: number
  /** The largest array or map count accepted (default: unlimited but the input size). */
  readonly maxItems?: number
}

/** Reads values from bytes, front to back. */
export class Decoder {
  private readonly bytesView: Uint8Array
  private readonly view: DataView
  private position: number
  private readonly end: number
  private readonly limits: DecoderLimits

  constructor(bytes: Uint8Array, limits: DecoderLimits = {}, start = 0, end = bytes.length) {
    this.bytesView = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.position = start
    this.end = end
    this.limits = limits
  }

  /** The read position, in bytes from the start of the input. */
  get offset(): number {
    return this.position
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.position
  }

  /** Throws unless every byte was read (trailing garbage is malformed input). */
  expectEnd(): void {
    if (this.position !== this.end) throw new DecodeError('malformed', `${this.end - this.position} unexpected trailing bytes`, this.position)
  }

  u8(): number {
    this.need(1)
    return this.bytesView[this.position++] as number
  }

  bool(): boolean {
    const value = this.u8()
    if (value > 1) throw new DecodeError('malformed', `bool must be 0 or 1, got ${value}`, this.position - 1)
    return value === 1
  }

  u16(): number {
    this.need(2)
    const value = this.view.getUint16(this.position, true)
    this.position += 2
    return value
  }

  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.position, true)
    this.position += 4
    return value
  }

  i32(): number {
    this.need(4)
    const value = this.view.getInt32(this.position, true)
    this.position += 4
    return value
  }

  u64(): bigint {
    this.need(8)
    const value = this.view.getBigUint64(this.position, true)
    this.position += 8
    return value
  }

  i64(): bigint {
    this.need(8)
    const value = this.view.getBigInt64(this.position, true)
    this.position += 8
    return value
  }

  f64(): number {
    this.need(8)
    const value = this.view.getFloat64(this.position, true)
    this.position += 8
    return value
  }

  /** An unsigned LEB128 varint that must fit a safe integer. */
  varuint(): number {
    const start = this.position
    let result = 0
    let scale = 1
    for (let i = 0; ; i++) {
      const byte = this.u8()
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw new DecodeError('malformed', 'varint has a redundant trailing zero byte', start)
        if (!Number.isSafeInteger(result)) throw new DecodeError('malformed', 'varint exceeds 2^53 - 1', start)
        return result
      }
      scale *= 0x80
      if (i >= 7) throw new DecodeError('malformed', 'varint longer than 8 bytes', start)
    }
  }

  /** A zigzag LEB128 varint that must fit a safe integer. */
  varint(): number {
    const start = this.position
    const zigzag = this.varuint64()
    const value = Number((zigzag & 1n) === 0n ? zigzag >> 1n : -((zigzag + 1n) >> 1n))
    if (!Number.isSafeInteger(value)) throw new DecodeError('malformed', 'signed varint exceeds the safe integer range', start)
    return value
  }

  /** An unsigned LEB128 varint of up to 64 bits. */
  varuint64(): bigint {
    const start = this.position
    let result = 0n
    let shift = 0n
    for (let i = 0; ; i++) {
      const byte = this.u8()
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw new DecodeError('malformed', 'varint has a redundant trailing zero byte', start)
        if (result >> 64n !== 0n) throw new DecodeError('malformed', 'varint exceeds 64 bits', start)
        return result
      }
      shift += 7n
      if (i >= 9) throw new DecodeError('malformed', 'varint longer than 10 bytes', start)
    }
  }

  /** `length` bytes as they are (a view into the input, not a copy). */
  raw(length: number): Uint8Array {
    this.need(length)
    const slice = this.bytesView.subarray(this.position, this.position + length)
    this.position += length
    return slice
  }

  /** A varuint length, then that many bytes (a view into the input). */
  bytes(): Uint8Array {
    const at = this.position
    const length = this.varuint()
    this.checkLimit(length, this.limits.maxBytesLength, 'byte string', at)
    return this.raw(length)
  }

  /** A varuint length, then UTF-8 bytes; invalid UTF-8 is malformed input. */
  string(): string {
    const at = this.position
    const bytes = this.bytes()
    try {
      return textDecoder.decode(bytes)
    } catch {
      throw new DecodeError('malformed', 'string is not valid UTF-8', at)
    }
  }

  /** A varuint count, then that many items. */
  array<T>(decodeItem: (decoder: this) => T): T[] {
    const count = this.count()
    const items: T[] = []
    for (let i = 0; i < count; i++) items.push(decodeItem(this))
    return items
  }

  /** A varuint count, then keys and values. A repeated key is malformed input. */
  map<K, V>(decodeKey: (decoder: this) => K, decodeValue: (decoder: this) => V): Map<K, V> {
    const count = this.count()
    const map = new Map<K, V>()
    for (let i = 0; i < count; i++) {
      const at = this.position
      const key = decodeKey(this)
      if (map.has(key)) throw new DecodeError('malformed', 'map has a repeated key', at)
      map.set(key, decodeValue(this))
    }
    return map
  }

  /** A presence byte, then the value when present. */
  optional<T>(decodeValue: (decoder: this) => T): T | undefined {
    return this.bool() ? decodeValue(this) : undefined
  }

  /**
   * A versioned struct written by {@link Encoder.struct}. `decodeFields` gets a decoder bounded
   * to the payload and the writer's version; fields it does not read (added by a newer writer)
   * are skipped. A struct whose `compat` is above `supportedVersion` is refused.
   */
  struct<T>(supportedVersion: number, decodeFields: (decoder: Decoder, version: number) => T): T {
    const at = this.position
    const version = this.u8()
    const compat = this.u8()
    if (compat < 1 || compat > version) throw new DecodeError('malformed', `struct header has compat ${compat} and version ${version}`, at)
    if (compat > supportedVersion) {
      throw new DecodeError('incompatible', `struct version ${version} needs a decoder of version >= ${compat}; this one supports ${supportedVersion}`, at)
    }
    const length = this.u32()
    this.need(length)
    const payloadStart = this.position
    const payload = new Decoder(this.bytesView, this.limits, payloadStart, payloadStart + length)
    const value = decodeFields(payload, version)
    this.position = payloadStart + length
    return value
  }

  /** Throws a `malformed` {@link DecodeError} at the current position (for codecs' own checks). */
  malformed(message: string): never {
    throw new DecodeError('malformed', message, this.position)
  }

  private count(): number {
    const at = this.position
    const count = this.varuint()
    // Every item takes at least one byte, so a count above the bytes left cannot be honest.
    if (count > this.remaining) throw new DecodeError('truncated', `count ${count} exceeds the ${this.remaining} bytes left`, at)
    this.checkLimit(count, this.limits.maxItems, 'count', at)
    return count
  }

  private checkLimit(value: number, limit: number | undefined, what: string, at: number): void {
    if (limit !== undefined && value > limit) throw new DecodeError('limit', `${what} ${value} exceeds the limit ${limit}`, at)
  }

  private need(length: number): void {
    if (length > this.end - this.position) {
      throw new DecodeError('truncated', `need ${length} bytes, ${this.end - this.position} left`, this.position)
    }
  }
}
