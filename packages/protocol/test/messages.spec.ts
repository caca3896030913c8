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
