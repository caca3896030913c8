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

function uuidToBytes(text: string, field: string): Uint8Array {
  if (typeof text !== 'string' || !uuidPattern.test(text)) throw new DerError('DER_INVAL', `${field}: '${String(text)}' is not a lowercase UUID`)
  const hex = text.replaceAll('-', '')
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const textEncoder = new TextEncoder()

function fail(field: string, message: string): never {
  throw new DerError('DER_INVAL', `${field}: ${message}`)
}

/** Writes one field; throws `DER_INVAL` when the value does not fit its type. */
export function encodeField(e: Encoder, type: FieldType, value: unknown, field: string): void {
  switch (type.kind) {
    case 'u8':
    case 'u32':
    case 'i32': {
      const [min, max] = type.kind === 'u8' ? [0, 0xff] : type.kind === 'u32' ? [0, 0xffff_ffff] : [-0x8000_0000, 0x7fff_ffff]
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(field, `${String(value)} is not a ${type.kind}`)
      if (type.kind === 'u8') e.u8(value)
      else if (type.kind === 'u32') e.u32(value)
      else e.i32(value)
      return
    }
    case 'u64':
      if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) fail(field, `${String(value)} is not a u64 bigint`)
      e.u64(value)
      return
    case 'bool':
      if (typeof value !== 'boolean') fail(field, 'not a boolean')
      e.bool(value)
      return
    case 'string': {
      if (typeof value !== 'string') fail(field, 'not a string')
      const bytes = textEncoder.encode(value)
      if (bytes.length > type.maxLength) fail(field, `longer than ${type.maxLength} bytes`)
      e.bytes(bytes)
      return
    }
    case 'bytes':
      if (!(value instanceof Uint8Array)) fail(field, 'not a Uint8Array')
      if (value.length > type.maxLength) fail(field, `longer than ${type.maxLength} bytes`)
      e.bytes(value)
      return
    case 'uuid':
      e.raw(uuidToBytes(value as string, field))
      return
    case 'oid': {
      const oid = value as ObjectId
      if (typeof oid !== 'object' || oid === null) fail(field, 'not an object id')
      encodeField(e, t.u64, oid.hi, `${field}.hi`)
      encodeField(e, t.u64, oid.lo, `${field}.lo`)
      return
    }
    case 'poolMap':
      writeStruct(e, poolMapCodec, value as PoolMap)
      return
    case 'enum': {
      const i = type.values.indexOf(value as string)
      if (i < 0) fail(field, `'${String(value)}' is not one of ${type.values.join(', ')}`)
      e.u8(i)
      return
    }
    case 'array':
      if (!Array.isArray(value)) fail(field, 'not an array')
      if (value.length > type.maxItems) fail(field, `more than ${type.maxItems} items`)
      e.varuint(value.length)
      value.forEach((item, i) => encodeField(e, type.of, item, `${field}[${i}]`))
      return
    case 'optional':
      if (value === undefined) e.u8(0)
      else {
        e.u8(1)
        encodeField(e, type.of, value, field)
      }
      return
    case 'struct':
      if (typeof value !== 'object' || value === null) fail(field, 'not an object')
      encodeFields(e, type.fields, value as Record<string, unknown>, field)
  }
}

/** Writes every field of `fields` from `value`, in order. */
export function encodeFields(e: Encoder, fields: Fields, value: Record<string, unknown>, prefix: string): void {
  for (const [name, type] of Object.entries(fields)) encodeField(e, type, value[name], prefix === '' ? name : `${prefix}.${name}`)
}

/** Reads one field; throws `DecodeError` on bad bytes. */
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
      if (textEncoder.encode(s).length > type.maxLength) throw new DecodeError('limit', `string longer than ${type.maxLength} bytes`, at)
      return s
    }
    case 'bytes': {
      const at = d.offset
      const b = d.bytes()
      if (b.length > type.maxLength) throw new DecodeError('limit', `bytes longer than ${type.maxLength}`, at)
      return b.slice()
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
      return decodeFields(d, type.fields)
  }
}

/** Reads every field of `fields`, in order. */
export function decodeFields(d: Decoder, fields: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of Object.entries(fields)) out[name] = decodeField(d, type)
  return out
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
  return {
    name,
    version: 1,
    compat: 1,
    fields,
    encodeFields(e: Encoder, value: StructValue<S>): void {
      if (typeof value !== 'object' || value === null) throw new DerError('DER_INVAL', `${name}: message must be an object`)
      encodeFields(e, fields, value, name)
    },
    decodeFields(d: Decoder): StructValue<S> {
      return decodeFields(d, fields) as StructValue<S>
    },
  }
}
