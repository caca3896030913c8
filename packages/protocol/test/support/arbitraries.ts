import fc from 'fast-check'
import { type FieldType, type Fields, buildPoolMap } from '../../src/index.ts'

const poolMapArb = fc
  .array(fc.record({ host: fc.constantFrom('a', 'b'), targets: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 })
  .map((ranks) => buildPoolMap({ ranks: ranks.map((r, i) => ({ rank: i, host: r.host, targets: r.targets })), version: 3 }))

/** An arbitrary for values of a field type (small collections, to keep runs fast). */
export function fieldArb(type: FieldType): fc.Arbitrary<unknown> {
  switch (type.kind) {
    case 'u8':
      return fc.integer({ min: 0, max: 0xff })
    case 'u32':
      return fc.integer({ min: 0, max: 0xffff_ffff })
    case 'i32':
      return fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })
    case 'u64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    case 'bool':
      return fc.boolean()
    case 'string':
      return fc.string({ maxLength: Math.min(12, Math.floor(type.maxLength / 4)) })
    case 'bytes':
      return fc.uint8Array({ maxLength: Math.min(16, type.maxLength) })
    case 'uuid':
      return fc.uuid()
    case 'oid':
      return fc.record({ hi: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), lo: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })
    case 'poolMap':
      return poolMapArb
    case 'enum':
      return fc.constantFrom(...type.values)
    case 'array':
      return fc.array(fieldArb(type.of), { maxLength: Math.min(3, type.maxItems) })
    case 'optional':
      return fc.option(fieldArb(type.of), { nil: undefined })
    case 'struct':
      return structArb(type.fields)
  }
}

/** An arbitrary for a whole struct of fields. */
export function structArb(fields: Fields): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, type] of Object.entries(fields)) record[name] = fieldArb(type)
  return fc.record(record)
}
