// The value codec, the command codecs and the entry codec: round trips and fuzzing (random and
// mutated bytes must give a DecodeError, never another exception).
import { DecodeError, decodeStruct } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManagementMachine, PoolServiceMachine, type Value, decodeMgmtCommand, decodePoolCommand, decodeValue, encodeMgmtCommand, encodePoolCommand, encodeValue, parseAcl, parseAclEntry, rsmEntryCodec } from '../src/index.ts'

const valueArb: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.string(),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }).map((d) => {
      const r: Record<string, Value> = Object.create(null) as Record<string, Value>
      for (const [k, v] of Object.entries(d)) r[k] = v
      return r
    }),
  ),
})).value

function decodesOrRefuses(decode: () => unknown): void {
  try {
    decode()
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
  }
}

describe('value codec', () => {
  it('round-trips any value', () => {
    fc.assert(fc.property(valueArb, (v) => {
      expect(decodeValue(encodeValue(v))).toEqual(v)
    }), { numRuns: 300, seed: 7 })
  })

  it('refuses random and mutated bytes with DecodeError only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => decodesOrRefuses(() => decodeValue(bytes))), { numRuns: 500, seed: 8 })
    fc.assert(fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
      const bytes = encodeValue(v).slice()
      bytes[at % bytes.length] = byte
      decodesOrRefuses(() => decodeValue(bytes))
    }), { numRuns: 500, seed: 9 })
  })

  it('refuses values nested too deeply', () => {
    let v: Value = null
    for (let i = 0; i < 40; i++) v = [v]
    expect(() => encodeValue(v)).toThrow(DecodeError)
  })
})

describe('command and entry codecs', () => {
  it('refuse random and mutated bytes with DecodeError only', () => {
    const samples = [encodeMgmtCommand({ op: 'exclude', ranks: [1, 2] }), encodePoolCommand({ op: 'contSetAttrs', cont: 'c', attrs: { a: new Uint8Array([1]) } })]
    fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
      decodesOrRefuses(() => decodeMgmtCommand(bytes))
      decodesOrRefuses(() => decodePoolCommand(bytes))
      decodesOrRefuses(() => decodeStruct(rsmEntryCodec, bytes))
    }), { numRuns: 500, seed: 10 })
    fc.assert(fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), (sample, at, byte) => {
      const bytes = sample.slice()
      bytes[at % bytes.length] = byte
      decodesOrRefuses(() => decodeMgmtCommand(bytes))
      decodesOrRefuses(() => decodePoolCommand(bytes))
    }), { numRuns: 500, seed: 11 })
  })
})

describe('ACL parser', () => {
  it('parses the DAOS forms and canonicalizes permission order', () => {
    expect(parseAclEntry('A::OWNER@:wr')).toEqual({ principal: 'OWNER@', group: false, permissions: 'rw' })
    expect(parseAclEntry('A:G:GROUP@:')).toEqual({ principal: 'GROUP@', group: true, permissions: '' })
    expect(parseAclEntry('A:G:staff.x@:oAaTtdcwr').permissions).toBe('rwcdtTaAo')
    expect(parseAcl(['A::EVERYONE@:r', 'A:G:g@:r', 'A:G:GROUP@:r', 'A::u@:r', 'A::OWNER@:r']).map((e) => e.principal)).toEqual(['OWNER@', 'u@', 'GROUP@', 'g@', 'EVERYONE@'])
  })

  it('refuses everything else with DER_INVAL', () => {
    fc.assert(fc.property(fc.string({ maxLength: 20 }), (text) => {
      try {
        parseAclEntry(text)
      } catch (e) {
        expect((e as Error).name).toBe('DER_INVAL')
      }
    }), { numRuns: 500, seed: 12 })
    expect(() => parseAcl(Array.from({ length: 65 }, (_, i) => `A::u${i}@:r`))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
  })
})

describe('snapshot restore fuzzing', () => {
  it('refuses mutated snapshots with a DerError and leaves the state unchanged', () => {
    const ms = new ManagementMachine()
    ms.execute({ op: 'join', uuid: 'aaaaaaaa-0000-4000-8000-000000000001', addr: 'a:1', fabricUri: 'tcp://a', faultDomain: '/a', incarnation: 1 })
    ms.execute({ op: 'poolCreate', uuid: 'bbbbbbbb-0000-4000-8000-000000000001', label: 'p', sizeBytes: 1, svcRanks: [0], tgtRanks: [0] })
    const ps = new PoolServiceMachine('cccccccc-0000-4000-8000-000000000001')
    ps.execute({ op: 'init', props: {}, acl: [] })
    ps.execute({ op: 'connect', handle: 'dddddddd-0000-4000-8000-000000000001', caps: 'rw' })
    for (const machine of [ms, ps]) {
      const good = machine.snapshot()
      fc.assert(fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const bytes = good.slice()
        bytes[at % bytes.length] = byte
        try {
          machine.restore(bytes)
        } catch (e) {
          expect((e as Error).name.startsWith('DER_'), String(e)).toBe(true)
          expect(Buffer.from(machine.snapshot()).equals(Buffer.from(good))).toBe(true)
          return
        }
        machine.restore(good)
      }), { numRuns: 400, seed: 13 })
    }
  })
})
