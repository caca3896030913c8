import { DecodeError, Encoder, Random, decodeStruct, encodeStruct, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AnyMessageCodec,
  ObjUpdateRequest,
  PoolConnectReply,
  Opcode,
  RpcModule,
  buildPoolMap,
  defineMessage,
  rpcByName,
  rpcByOpcode,
  rpcDefinitions,
  splitOpcode,
  t,
} from '../src/index.ts'
import { structArb } from './support/arbitraries.ts'

const seed = Number(process.env.X_SEED ?? 20261121)

const codecs = new Map<string, AnyMessageCodec>()
for (const d of rpcDefinitions) {
  codecs.set(d.request.name, d.request)
  codecs.set(d.reply.name, d.reply)
}

describe('opcodes', () => {
  it('are unique and carry DAOS module ids', () => {
    expect(new Set(rpcDefinitions.map((d) => d.opcode)).size).toBe(rpcDefinitions.length)
    for (const d of rpcDefinitions) {
      const parts = splitOpcode(d.opcode)
      expect(parts.module).toBe(RpcModule[d.module])
      expect(parts.version).toBe(1)
      expect(rpcByOpcode(d.opcode)).toBe(d)
      expect(rpcByName(d.name)).toBe(d)
    }
    expect(splitOpcode(Opcode.OBJ_UPDATE).module).toBe(4)
    expect(splitOpcode(Opcode.MGMT_POOL_CREATE).module).toBe(1)
    expect(() => rpcByOpcode(0xdead)).toThrow(/unknown RPC opcode/)
    try {
      rpcByName('NOPE')
    } catch (error) {
      expect(isDerError(error, 'DER_NOSYS')).toBe(true)
    }
  })

  it('cover the services the system needs', () => {
    const names = rpcDefinitions.map((d) => d.name)
    for (const n of ['MGMT_SYSTEM_QUERY', 'MGMT_POOL_CREATE', 'MGMT_POOL_DESTROY', 'MGMT_POOL_LIST', 'MGMT_POOL_EXCLUDE', 'MGMT_POOL_DRAIN', 'MGMT_POOL_REINTEGRATE']) expect(names).toContain(n)
    for (const n of ['POOL_CONNECT', 'POOL_DISCONNECT', 'POOL_QUERY', 'POOL_PROP_SET', 'POOL_ACL_UPDATE', 'CONT_CREATE', 'CONT_OPEN', 'CONT_SNAP_CREATE', 'CONT_ATTR_SET']) expect(names).toContain(n)
    for (const n of ['OBJ_UPDATE', 'OBJ_FETCH', 'OBJ_PUNCH', 'OBJ_ENUMERATE', 'OBJ_QUERY_KEY']) expect(names).toContain(n)
    for (const d of rpcDefinitions.filter((x) => x.module === 'object')) {
      expect(Object.keys(d.request.fields)).toContain('mapVersion')
      expect(Object.keys(d.request.fields)).toContain('epoch')
      expect(Object.keys(d.reply.fields)).toContain('mapVersion')
    }
    for (const d of rpcDefinitions.filter((x) => x.module === 'pool' || x.module === 'container')) {
      expect(Object.keys(d.request.fields)).toContain('mapVersion')
      expect(Object.keys(d.reply.fields)).toContain('mapVersion')
    }
  })
})

describe('message codecs', () => {
  for (const [name, codec] of codecs) {
    it(`${name} round-trips and its decoder survives fuzzing`, () => {
      const random = new Random(`${seed}:${name}`)
      fc.assert(
        fc.property(structArb(codec.fields), (value) => {
          const bytes = encodeStruct(codec, value)
          const decoded = decodeStruct(codec, bytes)
          expect(decoded).toEqual(value)
          expect(encodeStruct(codec, decoded)).toEqual(bytes)
          for (let i = 0; i < 8; i++) {
            const mutated = bytes.slice()
            mutated[random.int(mutated.length)] = random.int(256)
            for (const input of [mutated, bytes.subarray(0, random.int(bytes.length))]) {
              try {
                decodeStruct(codec, input)
              } catch (error) {
                if (!(error instanceof DecodeError)) throw new Error(`seed ${seed}, ${name}: ${String(error)} is not a DecodeError`, { cause: error })
              }
            }
          }
        }),
        { seed, numRuns: 40 },
      )
    })
  }

  it('refuses values that do not fit the schema with DER_INVAL', () => {
    const base = {
      poolUuid: '00000000-0000-4000-8000-000000000001',
      handleUuid: '00000000-0000-4000-8000-000000000002',
      mapVersion: 3,
      containerUuid: '00000000-0000-4000-8000-000000000003',
      containerHandle: '00000000-0000-4000-8000-000000000004',
      oid: { hi: 1n, lo: 2n },
      shard: 0,
      epoch: 0n,
      epochFirst: 0n,
      dtx: undefined,
      dkey: new Uint8Array([1]),
      iods: [{ akey: new Uint8Array([2]), type: 'single' as const, recordSizeBytes: 4n, recxs: [] }],
      data: [new Uint8Array(4)],
      forwardTo: [],
    }
    expect(decodeStruct(ObjUpdateRequest, encodeStruct(ObjUpdateRequest, base))).toEqual(base)
    const bad: [string, Record<string, unknown>, string][] = [
      ['uuid', { poolUuid: 'not-a-uuid' }, 'poolUuid'],
      ['u32', { mapVersion: -1 }, 'mapVersion'],
      ['u64', { epoch: 5 }, 'epoch'],
      ['enum', { iods: [{ ...base.iods[0], type: 'sideways' }] }, 'iods[0].type'],
      ['bytes', { dkey: new Uint8Array(5000) }, 'dkey'],
    ]
    for (const [label, patch, field] of bad) {
      try {
        encodeStruct(ObjUpdateRequest, { ...base, ...patch })
        expect.unreachable(label)
      } catch (error) {
        expect(isDerError(error, 'DER_INVAL'), label).toBe(true)
        expect(String(error), label).toContain(field)
      }
    }
  })

  it('names the exact path of a bad nested field, and checks UUIDs character by character', () => {
    const M = defineMessage('test.nested', {
      id: t.uuid,
      outer: t.struct({ items: t.array(t.struct({ oid: t.oid, tag: t.optional(t.bytes(4)) })) }),
    })
    const good = { id: '0123abcd-4567-89ef-0123-456789abcdef', outer: { items: [{ oid: { hi: 1n, lo: 2n }, tag: undefined }, { oid: { hi: 3n, lo: 4n }, tag: new Uint8Array(4) }] } }
    expect(decodeStruct(M, encodeStruct(M, good))).toEqual(good)
    const message = (value: unknown): string => {
      try {
        encodeStruct(M, value as typeof good)
      } catch (error) {
        expect(isDerError(error, 'DER_INVAL'), String(error)).toBe(true)
        return (error as Error).message
      }
      return 'no error'
    }
    const items = good.outer.items
    expect(message({ ...good, outer: { items: [items[0], { ...items[1], oid: { hi: 3n, lo: -1n } }] } })).toBe('test.nested.outer.items[1].oid.lo: -1 is not a u64 bigint')
    expect(message({ ...good, outer: { items: [items[0], { ...items[1], tag: new Uint8Array(5) }] } })).toBe('test.nested.outer.items[1].tag: longer than 4 bytes')
    expect(message({ ...good, outer: { items: 'x' } })).toBe('test.nested.outer.items: not an array')
    for (const bad of ['0123ABCD-4567-89ef-0123-456789abcdef', '0123abcd+4567-89ef-0123-456789abcdef', '0123abcd-4567-89ef-0123-456789abcdeg', '0123abcd-4567-89ef-0123-456789abcde', 42]) {
      expect(message({ ...good, id: bad })).toBe(`test.nested.id: '${String(bad)}' is not a lowercase UUID`)
    }
    // A second failing call must not carry path segments over from the first.
    expect(message({ ...good, id: 'x' })).toBe("test.nested.id: 'x' is not a lowercase UUID")
  })

  it('decodes bulk bytes fields as views of the input and small ones as copies', () => {
    const M = defineMessage('test.bytes', { small: t.bytes(), bulk: t.bytes() })
    const random = new Random(seed)
    const value = { small: random.bytes(100), bulk: random.bytes(64 * 1024) }
    const wire = encodeStruct(M, value)
    const decoded = decodeStruct(M, wire)
    expect(decoded).toEqual(value)
    expect(decoded.bulk.buffer, 'a 64 KiB field shares the received buffer (no copy)').toBe(wire.buffer)
    expect(decoded.small.buffer, 'a 100-byte field is copied (never pins the input)').not.toBe(wire.buffer)
  })

  it('lets an older reader skip fields a newer writer appended', () => {
    const v1 = defineMessage('Probe', { a: t.u32, b: t.string(10) })
    const e = new Encoder()
    e.struct(2, 1, (f) => {
      f.u32(7).string('x')
      f.u64(99n)
    })
    expect(decodeStruct(v1, e.finish())).toEqual({ a: 7, b: 'x' })
    const tooNew = new Encoder()
    tooNew.struct(3, 2, (f) => f.u32(7).string('x'))
    expect(() => decodeStruct(v1, tooNew.finish())).toThrow(DecodeError)
  })

  it('carries a pool map inside connect replies', () => {
    expect(rpcByName('POOL_CONNECT').reply).toBe(PoolConnectReply)
    const map = buildPoolMap({ ranks: [{ rank: 0, host: 'h', targets: 2 }] })
    const value = { rc: 0, message: '', mapVersion: 1, poolMap: map, info: undefined, permissions: 'rw' }
    expect(decodeStruct(PoolConnectReply, encodeStruct(PoolConnectReply, value))).toEqual(value)
  })
})
