/**
 * A small schema language for RPC messages: fields described as data, from which each message
 * gets a versioned {@link StructCodec} and a TypeScript type. Tests derive fast-check
 * arbitraries from the same descriptions, so every message is round-tripped and fuzzed.
 *
 * @module
 */
import { type Decoder, DecodeError, DerError, type Encoder, type StructCodec, readStruct, writeStruct } from '@x/common'
import type { ObjectId } from '../object-id.ts'
import type { PoolMap } from '../pool-map.ts'
import { poolMapCodec } from '../pool-map-codec.ts'

/** One field's wire type. */
export type FieldType =
  | { readonly kind: 'u8' }
  | { readonly kind: 'u32' }
  | { readonly kind: 'i32' }
  | { readonly kind: 'u64' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'string'; readonly maxLength: number }
  | { readonly kind: 'bytes'; readonly maxLength: number }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'oid' }
  | { readonly kind: 'poolMap' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'array'; readonly of: FieldType; readonly maxItems: number }
  | { readonly kind: 'optional'; readonly of: FieldType }
  | { readonly kind: 'struct'; readonly fields: Fields }

/** A struct's fields in wire order. */
export type Fields = { readonly [name: string]: FieldType }

/** The TypeScript value of a field type. */
export type FieldValue<F> = F extends { kind: 'u8' | 'u32' | 'i32' }
  ? number
  : F extends { kind: 'u64' }
    ? bigint
    : F extends { kind: 'bool' }
      ? boolean
      : F extends { kind: 'string' | 'uuid' }
        ? string
        : F extends { kind: 'bytes' }
          ? Uint8Array
          : F extends { kind: 'oid' }
            ? ObjectId
            : F extends { kind: 'poolMap' }
              ? PoolMap
              : F extends { kind: 'enum'; values: readonly (infer E)[] }
                ? E
                : F extends { kind: 'array'; of: infer O }
                  ? FieldValue<O>[]
                  : F extends { kind: 'optional'; of: infer O }
                    ? FieldValue<O> | undefined
                    : F extends { kind: 'struct'; fields: infer S }
                      ? StructValue<S>
                      : never

/** The TypeScript value of a struct of fields. */
export type StructValue<S> = { [K in keyof S]: FieldValue<S[K]> }

/** Field type constructors. */
export const t = {
  u8: { kind: 'u8' },
  u32: { kind: 'u32' },
  i32: { kind: 'i32' },
  u64: { kind: 'u64' },
  bool: { kind: 'bool' },
  uuid: { kind: 'uuid' },
  oid: { kind: 'oid' },
  poolMap: { kind: 'poolMap' },
  /** A UTF-8 string of at most `maxLength` bytes (default 4096). */
  string: (maxLength = 4096) => ({ kind: 'string', maxLength }) as const,
  /** A byte string of at most `maxLength` bytes (default 64 MiB). */
  bytes: (maxLength = 64 << 20) => ({ kind: 'bytes', maxLength }) as const,
  /** One of `values`, sent as its index (u8). */
  enum: <const V extends readonly string[]>(values: V) => ({ kind: 'enum', values }) as const,
  /** A list of at most `maxItems` items (default 65536). */
  array: <const O extends FieldType>(of: O, maxItems = 65536) => ({ kind: 'array', of, maxItems }) as const,
  optional: <const O extends FieldType>(of: O) => ({ kind: 'optional', of }) as const,
  struct: <const S extends Fields>(fields: S) => ({ kind: 'struct', fields }) as const,
} as const

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Whether `text` is a canonical lowercase UUID. */
export function isUuid(text: string): boolean {
  return uuidPattern.test(text)
}

/** The value of a lowercase hex digit's char code, or -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/** Writes the 16 bytes of a canonical lowercase UUID (no regex, no intermediate strings); false when `text` is not one. */
function writeUuid(e: Encoder, text: unknown): boolean {
  if (typeof text !== 'string' || text.length !== 36) return false
  const out = new Uint8Array(16)
  let at = 0
  for (let i = 0; i < 16; i++) {
    if (at === 8 || at === 13 || at === 18 || at === 23) {
      if (text.charCodeAt(at) !== 45) return false
      at++
    }
    const high = hexValue(text.charCodeAt(at))
    const low = hexValue(text.charCodeAt(at + 1))
    if (high < 0 || low < 0) return false
    out[i] = (high << 4) | low
    at += 2
  }
  e.raw(out)
  return true
}

const hexByte = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

function bytesToUuid(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text += '-'
    text += hexByte[bytes[i] ?? 0] as string
  }
  return text
}

const textEncoder = new TextEncoder()

/**
 * A decoded `bytes` field shorter than this is copied out of the input; a longer one is a view
 * into it (no copy of bulk data). Small fields are copied so a long-lived value (a key kept in an
 * index) never pins a whole receive buffer.
 */
const bytesViewMinLength = 4096

/**
 * An encode failure deep in a message: the field path is assembled only when one is thrown (each
 * enclosing struct or array adds its segment while the error unwinds), so encoding builds no
 * path strings.
 */
class FieldFailure extends Error {
  readonly segments: (string | number)[] = []
}

function fail(message: string): never {
  throw new FieldFailure(message)
}

function fieldPath(prefix: string, segments: readonly (string | number)[]): string {
  let path = prefix
  for (const segment of segments) path = typeof segment === 'number' ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`
  return path
}

function withPath(error: unknown, prefix: string): unknown {
  return error instanceof FieldFailure ? new DerError('DER_INVAL', `${fieldPath(prefix, error.segments)}: ${error.message}`) : error
}

type FieldList = readonly (readonly [name: string, type: FieldType])[]

const fieldLists = new WeakMap<Fields, FieldList>()

/** The fields of a struct in wire order, computed once per schema object. */
function fieldList(fields: Fields): FieldList {
  let list = fieldLists.get(fields)
  if (list === undefined) {
    list = Object.entries(fields)
    fieldLists.set(fields, list)
  }
  return list
}

function encodeValue(e: Encoder, type: FieldType, value: unknown): void {
  switch (type.kind) {
    case 'u8':
    case 'u32':
    case 'i32': {
      const [min, max] = type.kind === 'u8' ? [0, 0xff] : type.kind === 'u32' ? [0, 0xffff_ffff] : [-0x8000_0000, 0x7fff_ffff]
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`${String(value)} is not a ${type.kind}`)
      if (type.kind === 'u8') e.u8(value)
      else if (type.kind === 'u32') e.u32(value)
      else e.i32(value)
      return
    }
    case 'u64':
      if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) fail(`${String(value)} is not a u64 bigint`)
      e.u64(value)
      return
    case 'bool':
      if (typeof value !== 'boolean') fail('not a boolean')
      e.bool(value)
      return
    case 'string': {
      if (typeof value !== 'string') fail('not a string')
      const bytes = textEncoder.encode(value)
      if (bytes.length > type.maxLength) fail(`longer than ${type.maxLength} bytes`)
      e.bytes(bytes)
      return
    }
    case 'bytes':
      if (!(value instanceof Uint8Array)) fail('not a Uint8Array')
      if (value.length > type.maxLength) fail(`longer than ${type.maxLength} bytes`)
      e.bytes(value)
      return
    case 'uuid':
      if (!writeUuid(e, value)) fail(`'${String(value)}' is not a lowercase UUID`)
      return
    case 'oid': {
      const oid = value as ObjectId
      if (typeof oid !== 'object' || oid === null) fail('not an object id')
      encodeNamed(e, t.u64, oid.hi, 'hi')
      encodeNamed(e, t.u64, oid.lo, 'lo')
      return
    }
    case 'poolMap':
      writeStruct(e, poolMapCodec, value as PoolMap)
      return
    case 'enum': {
      const i = type.values.indexOf(value as string)
      if (i < 0) fail(`'${String(value)}' is not one of ${type.values.join(', ')}`)
      e.u8(i)
      return
    }
    case 'array':
      if (!Array.isArray(value)) fail('not an array')
      if (value.length > type.maxItems) fail(`more than ${type.maxItems} items`)
      e.varuint(value.length)
      for (let i = 0; i < value.length; i++) encodeNamed(e, type.of, value[i], i)
      return
    case 'optional':
      if (value === undefined) e.u8(0)
      else {
        e.u8(1)
        encodeValue(e, type.of, value)
      }
      return
    case 'struct':
      if (typeof value !== 'object' || value === null) fail('not an object')
      encodeList(e, fieldList(type.fields), value as Record<string, unknown>)
  }
}

function encodeNamed(e: Encoder, type: FieldType, value: unknown, segment: string | number): void {
  try {
    encodeValue(e, type, value)
  } catch (error) {
    if (error instanceof FieldFailure) error.segments.unshift(segment)
    throw error
  }
}

function encodeList(e: Encoder, list: FieldList, value: Record<string, unknown>): void {
  for (const [name, type] of list) encodeNamed(e, type, value[name], name)
}

/** Writes one field; throws `DER_INVAL` (naming the path below `field`) when the value does not fit its type. */
export function encodeField(e: Encoder, type: FieldType, value: unknown, field: string): void {
  try {
    encodeValue(e, type, value)
  } catch (error) {
    throw withPath(error, field)
  }
}

/** Writes every field of `fields` from `value`, in order. */
export function encodeFields(e: Encoder, fields: Fields, value: Record<string, unknown>, prefix: string): void {
  try {
    encodeList(e, fieldList(fields), value)
  } catch (error) {
    throw withPath(error, prefix)
  }
}

/**
 * Reads one field; throws `DecodeError` on bad bytes. A `bytes` field of 4 KiB or more is a view
 * into the decoder's input (the input must not be reused while the value lives; received
 * messages are owned by their receiver), a shorter one a copy.
 */
export function decodeField(d: Decoder, type: FieldType): unknown {
  switch (type.kind) {
    case 'u8':
      return d.u8()
    case 'u32':
      return d.u32()
    case 'i32':
      return d.i32()
    case 'u64':
      return d.u64()
    case 'bool':
      return d.bool()
    case 'string': {
      const at = d.offset
      const s = d.string()
      // The encoded span bounds the UTF-8 length; re-encode only when it could exceed the limit.
      if (d.offset - at > type.maxLength && textEncoder.encode(s).length > type.maxLength) throw new DecodeError('limit', `string longer than ${type.maxLength} bytes`, at)
      return s
    }
    case 'bytes': {
      const at = d.offset
      const b = d.bytes()
      if (b.length > type.maxLength) throw new DecodeError('limit', `bytes longer than ${type.maxLength}`, at)
      return b.length >= bytesViewMinLength ? b : b.slice()
    }
    case 'uuid':
      return bytesToUuid(d.raw(16))
    case 'oid':
      return { hi: d.u64(), lo: d.u64() }
    case 'poolMap':
      return readStruct(d, poolMapCodec)
    case 'enum': {
      const at = d.offset
      const i = d.u8()
      const v = type.values[i]
      if (v === undefined) throw new DecodeError('malformed', `enum index ${i} out of range (${type.values.length} values)`, at)
      return v
    }
    case 'array': {
      const at = d.offset
      const items = d.array((d2) => decodeField(d2, type.of))
      if (items.length > type.maxItems) throw new DecodeError('limit', `more than ${type.maxItems} items`, at)
      return items
    }
    case 'optional':
      return d.optional((d2) => decodeField(d2, type.of))
    case 'struct':
      return decodeList(d, fieldList(type.fields))
  }
}

function decodeList(d: Decoder, list: FieldList): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of list) out[name] = decodeField(d, type)
  return out
}

/** Reads every field of `fields`, in order. */
export function decodeFields(d: Decoder, fields: Fields): Record<string, unknown> {
  return decodeList(d, fieldList(fields))
}

/** A message codec: a versioned struct whose fields are described by a schema. */
export interface MessageCodec<S extends Fields> extends StructCodec<StructValue<S>> {
  /** The fields in wire order. */
  readonly fields: S
}

/** The value type of a message codec: `MessageValue<typeof ObjUpdateRequest>`. */
export type MessageValue<C> = C extends MessageCodec<infer S> ? StructValue<S> : never

/** A message codec of any schema, as the RPC table holds them (values are plain records). */
export type AnyMessageCodec = StructCodec<Record<string, unknown>> & { readonly fields: Fields }

/** Defines a message type named `name` (struct version 1, compat 1) with `fields`. */
export function defineMessage<const S extends Fields>(name: string, fields: S): MessageCodec<S> {
  const list = fieldList(fields)
  return {
    name,
    version: 1,
    compat: 1,
    fields,
    encodeFields(e: Encoder, value: StructValue<S>): void {
      if (typeof value !== 'object' || value === null) throw new DerError('DER_INVAL', `${name}: message must be an object`)
      try {
        encodeList(e, list, value)
      } catch (error) {
        throw withPath(error, name)
      }
    },
    decodeFields(d: Decoder): StructValue<S> {
      return decodeList(d, list) as StructValue<S>
    },
  }
}
