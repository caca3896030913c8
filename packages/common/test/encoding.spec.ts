import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DecodeError, Decoder, Encoder, Random, type StructCodec, decodeStruct, encodeStruct, isDerError } from '../src/index.ts'

/** A field of a generated struct: its kind and value. */
type Field =
  | { kind: 'u8'; value: number }
  | { kind: 'u16'; value: number }
  | { kind: 'u32'; value: number }
  | { kind: 'i32'; value: number }
  | { kind: 'u64'; value: bigint }
  | { kind: 'i64'; value: bigint }
  | { kind: 'f64'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'varuint'; value: number }
  | { kind: 'varint'; value: number }
  | { kind: 'varuint64'; value: bigint }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'string'; value: string }
  | { kind: 'array'; value: number[] }
  | { kind: 'map'; value: Map<string, bigint> }
  | { kind: 'optional'; value: string | undefined }
  | { kind: 'struct'; value: Field[] }

const leaf: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: 'u8' as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: 'u16' as const, value })),
  fc.integer({ min: 0, max: 0xffff_ffff }).map((value) => ({ kind: 'u32' as const, value })),
  fc.integer().map((value) => ({ kind: 'i32' as const, value })),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => ({ kind: 'u64' as const, value })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((value) => ({ kind: 'i64' as const, value })),
  fc.double({ noNaN: true }).map((value) => ({ kind: 'f64' as const, value })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc.maxSafeNat().map((value) => ({ kind: 'varuint' as const, value })),
  fc.maxSafeInteger().map((value) => ({ kind: 'varint' as const, value })),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => ({ kind: 'varuint64' as const, value })),
  fc.uint8Array({ maxLength: 64 }).map((value) => ({ kind: 'bytes' as const, value })),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((value) => ({ kind: 'string' as const, value })),
  fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 8 }).map((value) => ({ kind: 'array' as const, value })),
  fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { maxLength: 5, selector: ([k]) => k })
    .map((entries) => ({ kind: 'map' as const, value: new Map(entries) })),
  fc.option(fc.string({ maxLength: 8 }), { nil: undefined }).map((value) => ({ kind: 'optional' as const, value })),
)

const fieldsArb: fc.Arbitrary<Field[]> = fc.letrec((tie) => ({
  fields: fc.array(tie('field') as fc.Arbitrary<Field>, { maxLength: 8 }),
  field: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, (tie('fields') as fc.Arbitrary<Field[]>).map((value) => ({ kind: 'struct' as const, value }))),
})).fields

function encodeField(e: Encoder, field: Field): void {
  switch (field.kind) {
    case 'u8': e.u8(field.value); break
    case 'u16': e.u16(field.value); break
    case 'u32': e.u32(field.value); break
    case 'i32': e.i32(field.value); break
    case 'u64': e.u64(field.value); break
    case 'i64': e.i64(field.value); break
    case 'f64': e.f64(field.value); break
    case 'bool': e.bool(field.value); break
    case 'varuint': e.varuint(field.value); break
    case 'varint': e.varint(field.value); break
    case 'varuint64': e.varuint64(field.value); break
    case 'bytes': e.bytes(field.value); break
    case 'string': e.string(field.value); break
    case 'array': e.array(field.value, (x, v) => x.u32(v)); break
    case 'map': e.map(field.value, (x, k) => x.string(k), (x, v) => x.u64(v)); break
    case 'optional': e.optional(field.value, (x, v) => x.string(v)); break
    case 'struct': e.struct(1, 1, (x) => field.value.forEach((f) => encodeField(x, f))); break
  }
}

function decodeLike(d: Decoder, shape: Field): Field {
  switch (shape.kind) {
    case 'u8': return { kind: 'u8', value: d.u8() }
    case 'u16': return { kind: 'u16', value: d.u16() }
    case 'u32': return { kind: 'u32', value: d.u32() }
    case 'i32': return { kind: 'i32', value: d.i32() }
    case 'u64': return { kind: 'u64', value: d.u64() }
    case 'i64': return { kind: 'i64', value: d.i64() }
    case 'f64': return { kind: 'f64', value: d.f64() }
    case 'bool': return { kind: 'bool', value: d.bool() }
    case 'varuint': return { kind: 'varuint', value: d.varuint() }
    case 'varint': return { kind: 'varint', value: d.varint() }
    case 'varuint64': return { kind: 'varuint64', value: d.varuint64() }
    case 'bytes': return { kind: 'bytes', value: d.bytes() }
    case 'string': return { kind: 'string', value: d.string() }
    case 'array': return { kind: 'array', value: d.array((x) => x.u32()) }
    case 'map': return { kind: 'map', value: d.map((x) => x.string(), (x) => x.u64()) }
    case 'optional': return { kind: 'optional', value: d.optional((x) => x.string()) }
    case 'struct': return { kind: 'struct', value: d.struct(1, (x) => shape.value.map((f) => decodeLike(x, f))) }
  }
}

function encodeAll(fields: Field[]): Uint8Array {
  const e = new Encoder(16)
  e.struct(1, 1, (x) => fields.forEach((f) => encodeField(x, f)))
  return e.finish()
}

function decodeAll(bytes: Uint8Array, shape: Field[]): Field[] {
  const d = new Decoder(bytes)
  const value = d.struct(1, (x) => shape.map((f) => decodeLike(x, f)))
  d.expectEnd()
  return value
}

describe('Encoder/Decoder round trips', () => {
  it('round-trips generated structs of every field kind', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const bytes = encodeAll(fields)
        expect(decodeAll(bytes, fields)).toEqual(fields)
      }),
      { numRuns: 2000 },
    )
  })

  it('encodes varints minimally and little-endian integers as specified', () => {
    expect([...new Encoder().varuint(0).varuint(127).varuint(128).varuint(300).finish()]).toEqual([0, 127, 0x80, 1, 0xac, 2])
    expect([...new Encoder().varint(-1).varint(1).varint(-64).finish()]).toEqual([1, 2, 127])
    expect([...new Encoder().u32(0x01020304).u16(0x0506).finish()]).toEqual([4, 3, 2, 1, 6, 5])
    expect(new Decoder(new Encoder().varuint(Number.MAX_SAFE_INTEGER).finish()).varuint()).toBe(Number.MAX_SAFE_INTEGER)
    expect(new Decoder(new Encoder().varuint64((1n << 64n) - 1n).finish()).varuint64()).toBe((1n << 64n) - 1n)
  })

  it('encodes strings in place: minimal prefix, multi-byte text, growth at every boundary', () => {
    const samples = ['', 'a', 'x'.repeat(42), 'x'.repeat(43), 'é'.repeat(64), '✓'.repeat(50), '𝄞'.repeat(40), 'y'.repeat(20_000)]
    for (const text of samples) {
      for (let capacity = 16; capacity <= 64; capacity += 3) {
        const encoder = new Encoder(capacity)
        encoder.raw(new Uint8Array(capacity - 3)).string(text).u8(0xab)
        const bytes = encoder.finish()
        const decoder = new Decoder(bytes)
        decoder.raw(capacity - 3)
        const utf8 = new TextEncoder().encode(text)
        expect(decoder.string()).toBe(text)
        expect(decoder.u8()).toBe(0xab)
        expect(bytes.length).toBe(capacity - 3 + utf8.length + new Encoder().varuint(utf8.length).byteLength + 1)
      }
    }
  })

  it('refuses non-minimal and oversized varints', () => {
    expect(() => new Decoder(Uint8Array.of(0x80, 0x00)).varuint()).toThrow(DecodeError)
    expect(() => new Decoder(new Uint8Array(11).fill(0xff)).varuint64()).toThrow(/longer than 10 bytes/)
    expect(() => new Decoder(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)).varuint()).toThrow(/exceeds 2\^53/)
  })
})

describe('versioned structs', () => {
  interface PoolV2 {
    label: string
    sizeBytes: bigint
    /** Added in version 2. */
    tags: string[]
  }
  const v1: StructCodec<Omit<PoolV2, 'tags'>> = {
    name: 'pool',
    version: 1,
    compat: 1,
    encodeFields: (e, v) => void e.string(v.label).u64(v.sizeBytes),
    decodeFields: (d) => ({ label: d.string(), sizeBytes: d.u64() }),
  }
  const v2: StructCodec<PoolV2> = {
    name: 'pool',
    version: 2,
    compat: 1,
    encodeFields: (e, v) => void e.string(v.label).u64(v.sizeBytes).array(v.tags, (x, t) => x.string(t)),
    decodeFields: (d, version) => ({ label: d.string(), sizeBytes: d.u64(), tags: version >= 2 ? d.array((x) => x.string()) : [] }),
  }
  const v3: StructCodec<PoolV2> = { ...v2, version: 3, compat: 3 }

  it('an older decoder skips the fields a newer writer added', () => {
    const bytes = encodeStruct(v2, { label: 'tank', sizeBytes: 1n << 30n, tags: ['a', 'b'] })
    expect(decodeStruct(v1, bytes)).toEqual({ label: 'tank', sizeBytes: 1n << 30n })
  })

  it('a newer decoder reads an older struct with defaults for the missing fields', () => {
    const bytes = encodeStruct(v1, { label: 'tank', sizeBytes: 5n })
    expect(decodeStruct(v2, bytes)).toEqual({ label: 'tank', sizeBytes: 5n, tags: [] })
  })

  it('a struct whose compat is newer than the decoder is refused with a typed error', () => {
    const bytes = encodeStruct(v3, { label: 'tank', sizeBytes: 5n, tags: [] })
    let error: unknown
    try {
      decodeStruct(v2, bytes)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DecodeError)
    expect(isDerError(error, 'DER_DF_INCOMPT')).toBe(true)
    expect((error as DecodeError).failure).toBe('incompatible')
  })

  it('a field read past the struct payload is truncation, not a read of the next struct', () => {
    const bytes = new Encoder().struct(1, 1, (e) => e.u8(1)).u32(7).finish()
    expect(() => new Decoder(bytes).struct(1, (d) => [d.u8(), d.u32()])).toThrow(/need 4 bytes, 0 left/)
  })
})

describe('bad input', () => {
  it('gives typed errors only, for 100,000 fuzzed truncations and corruptions', () => {
    const seed = Number(process.env.X_SEED ?? 20261121)
    const random = new Random(seed)
    const samples = fc.sample(fieldsArb, { numRuns: 200, seed })
    let truncations = 0
    let corruptions = 0
    let decodedAnyway = 0
    for (let i = 0; i < 100_000; i++) {
      const shape = samples[i % samples.length] as Field[]
      const valid = encodeAll(shape)
      let bytes: Uint8Array
      if (random.chance(0.5)) {
        bytes = valid.subarray(0, random.int(valid.length))
        truncations++
      } else {
        bytes = Uint8Array.from(valid)
        const flips = 1 + random.int(4)
        for (let f = 0; f < flips; f++) bytes[random.int(bytes.length)] = random.uint32() & 0xff
        corruptions++
      }
      try {
        decodeAll(bytes, shape)
        decodedAnyway++
      } catch (error) {
        if (!(error instanceof DecodeError)) {
          throw new Error(`seed ${seed}, case ${i}: ${String(error)} is not a DecodeError`, { cause: error })
        }
      }
    }
    expect(truncations + corruptions).toBe(100_000)
    expect(decodedAnyway).toBeLessThan(corruptions) // some corruptions keep a valid shape; truncations never do
  })

  it('never allocates from a hostile count or length', () => {
    const hugeCount = new Encoder().varuint(2 ** 40).finish()
    expect(() => new Decoder(hugeCount).array((d) => d.u8())).toThrow(/exceeds the 0 bytes left/)
    expect(() => new Decoder(hugeCount).bytes()).toThrow(DecodeError)
    const limited = new Decoder(new Encoder().bytes(new Uint8Array(100)).finish(), { maxBytesLength: 10 })
    expect(() => limited.bytes()).toThrow(/exceeds the limit 10/)
  })

  it('refuses invalid UTF-8, bad bools, repeated map keys and trailing bytes', () => {
    expect(() => new Decoder(Uint8Array.of(2, 0xc3, 0x28)).string()).toThrow(/not valid UTF-8/)
    expect(() => new Decoder(Uint8Array.of(2)).bool()).toThrow(/bool must be 0 or 1/)
    const repeated = new Encoder().varuint(2).string('k').u8(1).string('k').u8(2).finish()
    expect(() => new Decoder(repeated).map((d) => d.string(), (d) => d.u8())).toThrow(/repeated key/)
    const trailing = new Decoder(Uint8Array.of(1, 2))
    trailing.u8()
    expect(() => trailing.expectEnd()).toThrow(/trailing/)
  })
})
