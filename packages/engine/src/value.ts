/**
 * A small self-describing value tree (null, booleans, safe integers, strings, bytes, arrays and
 * string-keyed records) with a versioned binary codec, plus strict readers. Service results and
 * snapshots travel as values; commands are values checked against a per-operation schema.
 *
 * @module
 */
import { DecodeError, type Decoder, type Encoder, type StructCodec, decodeStruct, encodeStruct } from '@x/common'

/** A value of the tree. Records are plain objects whose keys are encoded in sorted order. */
export type Value = null | boolean | number | bigint | string | Uint8Array | readonly Value[] | { readonly [key: string]: Value }

/** A record value. */
export type ValueRecord = { readonly [key: string]: Value }

const TAG_NULL = 0
const TAG_FALSE = 1
const TAG_TRUE = 2
const TAG_INT = 3
const TAG_STRING = 4
const TAG_BYTES = 5
const TAG_ARRAY = 6
const TAG_RECORD = 7
const TAG_U64 = 8

/** Nesting limit of decoded values (deeper input is refused). */
export const maxValueDepth = 32

/**
 * Writes a string as `Encoder.string` does (varuint length, UTF-8 bytes), with a fast path for
 * ASCII: short strings dominate service commands, and `TextEncoder` costs about a microsecond each.
 */
function writeString(encoder: Encoder, text: string): void {
  const n = text.length
  if (n > 64) {
    encoder.string(text)
    return
  }
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) {
      encoder.string(text)
      return
    }
    bytes[i] = c
  }
  encoder.bytes(bytes)
}

function writeValue(encoder: Encoder, value: Value, depth: number): void {
  if (depth > maxValueDepth) throw new DecodeError('limit', `value nested deeper than ${maxValueDepth}`, 0)
  if (value === null) encoder.u8(TAG_NULL)
  else if (value === false) encoder.u8(TAG_FALSE)
  else if (value === true) encoder.u8(TAG_TRUE)
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new DecodeError('malformed', `value ${value} is not a safe integer`, 0)
    encoder.u8(TAG_INT).varint(value)
  } else if (typeof value === 'bigint') encoder.u8(TAG_U64).varuint64(value)
  else if (typeof value === 'string') writeString(encoder.u8(TAG_STRING), value)
  else if (value instanceof Uint8Array) encoder.u8(TAG_BYTES).bytes(value)
  else if (Array.isArray(value)) {
    encoder.u8(TAG_ARRAY).varuint(value.length)
    for (const item of value as readonly Value[]) writeValue(encoder, item, depth + 1)
  } else {
    const record = value as ValueRecord
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort()
    encoder.u8(TAG_RECORD).varuint(keys.length)
    for (const key of keys) {
      writeString(encoder, key)
      writeValue(encoder, record[key] as Value, depth + 1)
    }
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Reads a string as `Decoder.string` does, with a fast path for short ASCII strings. */
function readString(decoder: Decoder): string {
  const bytes = decoder.bytes()
  if (bytes.length <= 64) {
    let text = ''
    let ascii = true
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number
      if (b >= 0x80) {
        ascii = false
        break
      }
      text += String.fromCharCode(b)
    }
    if (ascii) return text
  }
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return decoder.malformed('string is not valid UTF-8')
  }
}

function readValue(decoder: Decoder, depth: number): Value {
  if (depth > maxValueDepth) decoder.malformed(`value nested deeper than ${maxValueDepth}`)
  const tag = decoder.u8()
  switch (tag) {
    case TAG_NULL:
      return null
    case TAG_FALSE:
      return false
    case TAG_TRUE:
      return true
    case TAG_INT:
      return decoder.varint()
    case TAG_U64:
      return decoder.varuint64()
    case TAG_STRING:
      return readString(decoder)
    case TAG_BYTES:
      return decoder.bytes().slice()
    case TAG_ARRAY:
      return decoder.array((d) => readValue(d, depth + 1))
    case TAG_RECORD: {
      const map = decoder.map((d) => readString(d), (d) => readValue(d, depth + 1))
      const record: Record<string, Value> = Object.create(null) as Record<string, Value>
      for (const [key, item] of map) record[key] = item
      return record
    }
    default:
      return decoder.malformed(`unknown value tag ${tag}`)
  }
}

/** The versioned codec of a {@link Value} (struct `x.engine.value`, version 1). */
export const valueCodec: StructCodec<Value> = {
  name: 'x.engine.value',
  version: 1,
  compat: 1,
  encodeFields: (encoder, value) => writeValue(encoder, value, 0),
  decodeFields: (decoder) => readValue(decoder, 0),
}

/** The bytes of a value. */
export function encodeValue(value: Value): Uint8Array {
  return encodeStruct(valueCodec, value)
}

/** The value in `bytes`; throws a `DecodeError` on bad input. */
export function decodeValue(bytes: Uint8Array): Value {
  return decodeStruct(valueCodec, bytes, { maxItems: 1 << 20, maxBytesLength: 64 << 20 })
}

function bad(what: string): never {
  throw new DecodeError('malformed', what, 0)
}

/** Whether `value` is a record (not null, not an array, not bytes). */
export function isRecord(value: Value | undefined): value is ValueRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

/** Strict accessors of a record's fields; every mismatch throws a malformed `DecodeError`. */
export class ValueReader {
  constructor(
    readonly record: ValueRecord,
    private readonly what: string,
  ) {}

  /** A reader of `value`, which must be a record. */
  static of(value: Value, what: string): ValueReader {
    if (!isRecord(value)) bad(`${what}: expected a record`)
    return new ValueReader(value, what)
  }

  private field(key: string): Value | undefined {
    return Object.prototype.hasOwnProperty.call(this.record, key) ? this.record[key] : undefined
  }

  /** A string field. */
  string(key: string): string {
    const v = this.field(key)
    if (typeof v !== 'string') bad(`${this.what}.${key}: expected a string`)
    return v
  }

  /** A non-negative safe integer field. */
  uint(key: string): number {
    const v = this.field(key)
    if (typeof v !== 'number' || v < 0) bad(`${this.what}.${key}: expected a non-negative integer`)
    return v
  }

  /** A 64-bit unsigned field. */
  u64(key: string): bigint {
    const v = this.field(key)
    if (typeof v !== 'bigint') bad(`${this.what}.${key}: expected a u64`)
    return v
  }

  /** An array of 64-bit unsigned values. */
  u64s(key: string): bigint[] {
    return this.array(key).map((v) => {
      if (typeof v !== 'bigint') bad(`${this.what}.${key}: expected u64 values`)
      return v
    })
  }

  /** A boolean field. */
  bool(key: string): boolean {
    const v = this.field(key)
    if (typeof v !== 'boolean') bad(`${this.what}.${key}: expected a boolean`)
    return v
  }

  /** A bytes field. */
  bytes(key: string): Uint8Array {
    const v = this.field(key)
    if (!(v instanceof Uint8Array)) bad(`${this.what}.${key}: expected bytes`)
    return v
  }

  /** An array field. */
  array(key: string): readonly Value[] {
    const v = this.field(key)
    if (!Array.isArray(v)) bad(`${this.what}.${key}: expected an array`)
    return v as readonly Value[]
  }

  /** An array of non-negative integers. */
  uints(key: string): number[] {
    return this.array(key).map((v) => {
      if (typeof v !== 'number' || v < 0) bad(`${this.what}.${key}: expected non-negative integers`)
      return v
    })
  }

  /** An array of strings. */
  strings(key: string): string[] {
    return this.array(key).map((v) => {
      if (typeof v !== 'string') bad(`${this.what}.${key}: expected strings`)
      return v
    })
  }

  /** A record field. */
  sub(key: string): ValueReader {
    return ValueReader.of(this.field(key) ?? null, `${this.what}.${key}`)
  }

  /** A record of strings, as a sorted map. */
  stringMap(key: string): Map<string, string> {
    const r = this.sub(key).record
    const map = new Map<string, string>()
    for (const k of Object.keys(r).sort()) {
      const v = r[k]
      if (typeof v !== 'string') bad(`${this.what}.${key}.${k}: expected a string`)
      map.set(k, v)
    }
    return map
  }

  /** A record of bytes, as a sorted map. */
  bytesMap(key: string): Map<string, Uint8Array> {
    const r = this.sub(key).record
    const map = new Map<string, Uint8Array>()
    for (const k of Object.keys(r).sort()) {
      const v = r[k]
      if (!(v instanceof Uint8Array)) bad(`${this.what}.${key}.${k}: expected bytes`)
      map.set(k, v)
    }
    return map
  }
}

/** A record value from a map, keys sorted. */
export function mapToRecord<V extends Value>(map: ReadonlyMap<string, V>): ValueRecord {
  const record: Record<string, Value> = Object.create(null) as Record<string, Value>
  for (const key of [...map.keys()].sort()) record[key] = map.get(key) as V
  return record
}

/** Field kinds of a command schema; a trailing `?` makes the field optional. */
export type FieldKind = 'string' | 'uint' | 'u64' | 'bool' | 'bytes' | 'uints' | 'strings' | 'stringMap' | 'bytesMap'

/** A command schema: for each operation name, its fields and their kinds. */
export type CommandSchema = Readonly<Record<string, Readonly<Record<string, FieldKind | `${FieldKind}?`>>>>

function checkKind(value: Value, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string'
    case 'uint':
      return typeof value === 'number' && value >= 0
    case 'u64':
      return typeof value === 'bigint'
    case 'bool':
      return typeof value === 'boolean'
    case 'bytes':
      return value instanceof Uint8Array
    case 'uints':
      return Array.isArray(value) && (value as Value[]).every((v) => typeof v === 'number' && v >= 0)
    case 'strings':
      return Array.isArray(value) && (value as Value[]).every((v) => typeof v === 'string')
    case 'stringMap':
      return isRecord(value) && Object.values(value).every((v) => typeof v === 'string')
    case 'bytesMap':
      return isRecord(value) && Object.values(value).every((v) => v instanceof Uint8Array)
  }
}

/**
 * A versioned codec of commands `{ op, ...fields }` checked against `schema`: an unknown
 * operation, a missing or mistyped field, or an unknown field is malformed input.
 */
export function commandCodec<C extends { readonly op: string }>(name: string, schema: CommandSchema): StructCodec<C> {
  const check = (value: Value): C => {
    if (!isRecord(value)) bad(`${name}: expected a record`)
    const op = value['op']
    if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(schema, op)) bad(`${name}: unknown operation ${typeof op === 'string' ? op : typeof op}`)
    const fields = schema[op] as Readonly<Record<string, string>>
    for (const key of Object.keys(value)) {
      if (key !== 'op' && !Object.prototype.hasOwnProperty.call(fields, key)) bad(`${name} ${op}: unknown field ${key}`)
    }
    for (const [key, spec] of Object.entries(fields)) {
      const optional = spec.endsWith('?')
      const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind
      const v = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined
      if (v === undefined) {
        if (!optional) bad(`${name} ${op}: missing field ${key}`)
        continue
      }
      if (!checkKind(v, kind)) bad(`${name} ${op}: field ${key} is not a ${kind}`)
    }
    return value as unknown as C
  }
  return {
    name,
    version: 1,
    compat: 1,
    encodeFields: (encoder, command) => {
      const checked = check(command)
      writeValue(encoder, checked, 0)
    },
    decodeFields: (decoder) => check(readValue(decoder, 0)),
  }
}
