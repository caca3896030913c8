/**
 * `Encoder`: writes values into a growing little-endian byte buffer.
 *
 * Formats: fixed-width integers (8 to 64 bits), LEB128 varints (zigzag for signed), length-
 * prefixed bytes and UTF-8 strings, arrays and maps (count then items), optionals (a presence
 * byte), and versioned structs (see {@link Encoder.struct}).
 *
 * @module
 */
import { assert } from '../assert.ts'

const textEncoder = new TextEncoder()
const maxU64 = (1n << 64n) - 1n

/** Bytes of the LEB128 encoding of a safe non-negative integer. */
function varuintSize(value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    size++
  }
  return size
}

/** Writes values; {@link Encoder.finish} returns the bytes. */
export class Encoder {
  private buffer: Uint8Array
  private view: DataView
  private length = 0

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity))
    this.view = new DataView(this.buffer.buffer)
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.length
  }

  /** The encoded bytes (a copy-free view; the encoder must not be used afterwards). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }

  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, `u8 out of range: ${value}`)
    this.reserve(1)
    this.buffer[this.length++] = value
    return this
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0)
  }

  u16(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff, `u16 out of range: ${value}`)
    this.reserve(2)
    this.view.setUint16(this.length, value, true)
    this.length += 2
    return this
  }

  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, `u32 out of range: ${value}`)
    this.reserve(4)
    this.view.setUint32(this.length, value, true)
    this.length += 4
    return this
  }

  i32(value: number): this {
    assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, `i32 out of range: ${value}`)
    this.reserve(4)
    this.view.setInt32(this.length, value, true)
    this.length += 4
    return this
  }

  u64(value: bigint): this {
    assert(value >= 0n && value <= maxU64, `u64 out of range: ${value}`)
    this.reserve(8)
    this.view.setBigUint64(this.length, value, true)
    this.length += 8
    return this
  }

  i64(value: bigint): this {
    assert(value >= -(1n << 63n) && value < 1n << 63n, `i64 out of range: ${value}`)
    this.reserve(8)
    this.view.setBigInt64(this.length, value, true)
    this.length += 8
    return this
  }

  f64(value: number): this {
    this.reserve(8)
    this.view.setFloat64(this.length, value, true)
    this.length += 8
    return this
  }

  /** An unsigned LEB128 varint of a safe integer (at most 8 bytes). */
  varuint(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `varuint out of range: ${value}`)
    this.reserve(8)
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80
      value = Math.floor(value / 0x80)
    }
    this.buffer[this.length++] = value
    return this
  }

  /** A zigzag LEB128 varint of a safe integer (zigzag needs 54 bits, so it goes through 64-bit math). */
  varint(value: number): this {
    assert(Number.isSafeInteger(value), `varint out of range: ${value}`)
    const big = BigInt(value)
    return this.varuint64(big >= 0n ? big * 2n : -big * 2n - 1n)
  }

  /** An unsigned LEB128 varint of a 64-bit value (at most 10 bytes). */
  varuint64(value: bigint): this {
    assert(value >= 0n && value <= maxU64, `varuint64 out of range: ${value}`)
    this.reserve(10)
    while (value >= 0x80n) {
      this.buffer[this.length++] = Number(value & 0x7fn) | 0x80
      value >>= 7n
    }
    this.buffer[this.length++] = Number(value)
    return this
  }

  /** Bytes as they are, without a length prefix. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length)
    this.buffer.set(bytes, this.length)
    this.length += bytes.length
    return this
  }

  /** A varuint length, then the bytes. */
  bytes(bytes: Uint8Array): this {
    return this.varuint(bytes.length).raw(bytes)
  }

  /**
   * A varuint byte length, then the UTF-8 bytes of the string. The bytes are encoded in place
   * (no temporary array): room for the longest possible encoding (3 bytes per UTF-16 unit) and
   * its length prefix is reserved, and the bytes move back if the real prefix is shorter.
   */
  string(value: string): this {
    const maxBytes = value.length * 3
    const prefixMax = varuintSize(maxBytes)
    this.reserve(8 + maxBytes) // 8: varuint() below reserves its own worst case; it must not reallocate past `length`
    const start = this.length
    const { written } = textEncoder.encodeInto(value, this.buffer.subarray(start + prefixMax))
    const prefix = varuintSize(written)
    if (prefix < prefixMax) this.buffer.copyWithin(start + prefix, start + prefixMax, start + prefixMax + written)
    this.varuint(written)
    assert(this.length === start + prefix, 'string(): length prefix size')
    this.length += written
    return this
  }

  /** A varuint count, then each item. Every item must encode to at least one byte. */
  array<T>(items: readonly T[], encodeItem: (encoder: this, item: T) => void): this {
    this.varuint(items.length)
    for (const item of items) encodeItem(this, item)
    return this
  }

  /** A varuint count, then each key and value, in the map's iteration order. */
  map<K, V>(map: ReadonlyMap<K, V>, encodeKey: (encoder: this, key: K) => void, encodeValue: (encoder: this, value: V) => void): this {
    this.varuint(map.size)
    for (const [key, value] of map) {
      encodeKey(this, key)
      encodeValue(this, value)
    }
    return this
  }

  /** A presence byte (0 or 1), then the value when present. */
  optional<T>(value: T | undefined, encodeValue: (encoder: this, value: T) => void): this {
    if (value === undefined) return this.u8(0)
    this.u8(1)
    encodeValue(this, value)
    return this
  }

  /**
   * A versioned struct in the manner of Ceph's `ENCODE_START(version, compat)`: a header of
   * `version` (u8), `compat` (u8, the oldest decoder version that can read it) and the payload
   * length (u32), then the payload. Decoders skip payload fields they do not know.
   */
  struct(version: number, compat: number, encodeFields: (encoder: this) => void): this {
    assert(compat >= 1 && compat <= version && version <= 0xff, `struct: need 1 <= compat (${compat}) <= version (${version}) <= 255`)
    this.u8(version).u8(compat)
    const lengthAt = this.length
    this.u32(0)
    encodeFields(this)
    this.view.setUint32(lengthAt, this.length - lengthAt - 4, true)
    return this
  }

  private reserve(extra: number): void {
    const needed = this.length + extra
    if (needed <= this.buffer.length) return
    let capacity = this.buffer.length * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
}
