import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ObjectIdAllocator,
  ObjectType,
  encodeObjectId,
  formatObjectId,
  formatObjectIdHex,
  generateObjectId,
  isArrayType,
  isKvType,
  oidClass,
  oidGroupCount,
  oidRedunId,
  oidType,
  oidUserHi,
  parseObjectClass,
  parseObjectId,
  validateObjectId,
} from '../src/index.ts'

const seed = Number(process.env.X_SEED ?? 20261121)
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })

describe('object ids', () => {
  it('lays out type, redundancy and groups in hi as DAOS does', () => {
    const oid = encodeObjectId({ type: ObjectType.ARRAY, oclass: parseObjectClass('RP_3GX'), groups: 5, userHi: 0xdeadbeef, lo: 42n })
    expect(oid.hi).toBe((11n << 56n) | (9n << 48n) | (5n << 32n) | 0xdeadbeefn)
    expect(oidType(oid)).toBe(11)
    expect(oidRedunId(oid)).toBe(9)
    expect(oidGroupCount(oid)).toBe(5)
    expect(oidUserHi(oid)).toBe(0xdeadbeef)
    expect(oidClass(oid).name).toBe('RP_3GX')
    expect(isArrayType(oidType(oid))).toBe(true)
    expect(isKvType(ObjectType.KV_HASHED)).toBe(true)
    const fixed = encodeObjectId({ type: 0, oclass: parseObjectClass('EC_2P1G1'), lo: 1n })
    expect(oidClass(fixed).name).toBe('EC_2P1G1')
  })

  it('generates ids from a container allocator with X resolved against the pool', () => {
    const allocator = new ObjectIdAllocator()
    const first = allocator.allocate(10)
    expect(first).toBe(1n)
    expect(allocator.allocate()).toBe(11n)
    expect(allocator.highestAllocated).toBe(11n)
    const resumed = new ObjectIdAllocator(allocator.highestAllocated)
    expect(resumed.allocate()).toBe(12n)
    const oid = generateObjectId({ lo: first, type: ObjectType.KV_HASHED, oclass: parseObjectClass('SX'), fit: { targets: 8, domains: 2 } })
    expect(oidGroupCount(oid)).toBe(8)
    expect(() => generateObjectId({ lo: 1n, type: 0, oclass: parseObjectClass('RP_3G1'), fit: { targets: 8, domains: 2 } })).toThrow(/grp_size 3 > domain_nr 2/)
    expect(() => new ObjectIdAllocator((1n << 64n) - 2n).allocate(2)).toThrow(/no object ids left/)
  })

  it('formats and parses hi.lo (decimal like DF_OID, or 0x hex)', () => {
    fc.assert(
      fc.property(u64, u64, (hi, lo) => {
        const oid = { hi, lo }
        expect(parseObjectId(formatObjectId(oid))).toEqual(oid)
        expect(parseObjectId(formatObjectIdHex(oid))).toEqual(oid)
      }),
      { seed, numRuns: 300 },
    )
    expect(formatObjectId({ hi: 1n, lo: 2n })).toBe('1.2')
    expect(formatObjectIdHex({ hi: 255n, lo: 16n })).toBe('0xff.0x10')
  })

  it('refuses malformed text and ids with DER_INVAL', () => {
    for (const text of ['', '1', '1.2.3', 'a.b', '0x.1', '-1.2', '18446744073709551616.0', '0x10000000000000000.0', ' . ']) {
      try {
        parseObjectId(text)
        expect.unreachable(text)
      } catch (error) {
        expect(isDerError(error, 'DER_INVAL'), text).toBe(true)
      }
    }
    expect(() => validateObjectId({ hi: 0n, lo: 1n })).toThrow(/no groups/)
    expect(() => validateObjectId({ hi: (15n << 56n) | (1n << 48n) | (1n << 32n), lo: 1n })).toThrow(/unknown object type 15/)
    expect(() => validateObjectId({ hi: (99n << 48n) | (1n << 32n), lo: 1n })).toThrow(/unknown redundancy id 99/)
    expect(() => validateObjectId({ hi: -1n, lo: 1n })).toThrow(/u64/)
    expect(() => encodeObjectId({ type: 0, oclass: parseObjectClass('RP_3GX'), lo: 1n })).toThrow(/resolved group count/)
    expect(() => encodeObjectId({ type: 0, oclass: parseObjectClass('RP_3G1'), groups: 2, lo: 1n })).toThrow(/has 1 groups/)
  })
})
