import { DecodeError, Decoder, Encoder, isDerError, readStruct, writeStruct } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DtxBatchRequest, DtxCheckReply, DtxCheckRequest, DtxStatusReply, decodeAnchor, encodeAnchor, updatesFromWire } from '../../src/object/index.ts'
import {
  type AnyMessageCodec,
  ObjEnumerateReplyMsg,
  ObjFetchReplyMsg,
  ObjPunchReplyMsg,
  ObjQueryKeyReplyMsg,
  ObjUpdateReplyMsg,
  Opcode,
  objFetchRpc,
  objQueryKeyRpc,
  objUpdateRpc,
} from '@x/protocol'

const seed = Number(process.env.TEST_SEED ?? 0xc0dec)
const codecs: readonly AnyMessageCodec[] = [DtxBatchRequest, DtxCheckReply, DtxCheckRequest, DtxStatusReply, ObjEnumerateReplyMsg, ObjFetchReplyMsg, ObjPunchReplyMsg, ObjQueryKeyReplyMsg, ObjUpdateReplyMsg]

describe(`object and DTX message codecs (seed ${seed})`, () => {
  it('cart opcodes equal the protocol opcodes', () => {
    expect(objUpdateRpc.opcode).toBe(Opcode.OBJ_UPDATE)
    expect(objFetchRpc.opcode).toBe(Opcode.OBJ_FETCH)
    expect(objQueryKeyRpc.opcode).toBe(Opcode.OBJ_QUERY_KEY)
  })

  it('decoders reject random bytes with DecodeError and never anything else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...codecs), fc.uint8Array({ maxLength: 256 }), (codec, bytes) => {
        try {
          readStruct(new Decoder(bytes), codec)
        } catch (error) {
          if (!(error instanceof DecodeError) && !isDerError(error)) throw error
        }
      }),
      { seed, numRuns: 2000 },
    )
  })

  it('round-trips DTX messages', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 20 }), fc.nat(1023), (ids, targetIndex) => {
        const value = { poolUuid: '0f0e0d0c-0b0a-4908-8706-050403020100', mapVersion: 7, targetIndex, ids }
        const e = new Encoder()
        writeStruct(e, DtxBatchRequest, value)
        expect(readStruct(new Decoder(e.finish()), DtxBatchRequest)).toEqual(value)
      }),
      { seed, numRuns: 300 },
    )
  })

  it('anchors round-trip and bad anchors give DER_INVAL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(1 << 30), (after, from) => {
        expect(decodeAnchor(encodeAnchor({ kind: 'key', after }))).toEqual({ kind: 'key', after })
        expect(decodeAnchor(encodeAnchor({ kind: 'index', from }))).toEqual({ kind: 'index', from })
      }),
      { seed, numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), (bytes) => {
        try {
          decodeAnchor(bytes)
        } catch (error) {
          expect(isDerError(error, 'DER_INVAL')).toBe(true)
        }
      }),
      { seed, numRuns: 500 },
    )
  })

  it('update descriptors from the wire are validated with DER_INVAL', () => {
    const akey = new Uint8Array([1])
    const bad = [
      () => updatesFromWire([], []),
      () => updatesFromWire([{ akey, type: 'single', recordSizeBytes: 3n, recxs: [] }], []),
      () => updatesFromWire([{ akey, type: 'single', recordSizeBytes: 3n, recxs: [] }], [new Uint8Array(2)]),
      () => updatesFromWire([{ akey, type: 'array', recordSizeBytes: 0n, recxs: [{ index: 0n, count: 1n }] }], [new Uint8Array(0)]),
      () => updatesFromWire([{ akey, type: 'array', recordSizeBytes: 2n, recxs: [{ index: 0n, count: 2n }] }], [new Uint8Array(3)]),
      () => updatesFromWire([{ akey, type: 'array', recordSizeBytes: 1n, recxs: [{ index: 1n << 60n, count: 1n }] }], [new Uint8Array(1)]),
    ]
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(updatesFromWire([{ akey, type: 'array', recordSizeBytes: 2n, recxs: [{ index: 4n, count: 1n }, { index: 0n, count: 1n }] }], [new Uint8Array([1, 2, 3, 4])])).toEqual([
      { type: 'array', akey, recordSizeBytes: 2, extents: [{ index: 4, count: 1, data: new Uint8Array([1, 2]) }, { index: 0, count: 1, data: new Uint8Array([3, 4]) }] },
    ])
  })
})
