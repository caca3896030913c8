import { DecodeError, DerError, decodeStruct, encodeStruct, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeArgs, errorReply, mgmtCallRpc, okReply, poolCallRpc, rdbMessageRpc, unwrapReply } from '../../src/system/index.ts'

describe('system RPC codecs', () => {
  it('round-trip calls, replies and Raft envelopes', () => {
    const input = { target: '0f0e0d0c-0b0a-4908-8706-050403020100', op: 'connect', args: new Uint8Array([1, 2, 3]) }
    expect(decodeStruct(poolCallRpc.input, encodeStruct(poolCallRpc.input, input))).toEqual(input)
    const ok = okReply({ rank: 3, uris: ['memory://a'] })
    expect(unwrapReply(decodeStruct(mgmtCallRpc.output, encodeStruct(mgmtCallRpc.output, ok)))).toEqual({ rank: 3, uris: ['memory://a'] })
    const failed = errorReply(new DerError('DER_NOTLEADER', 'not me', { details: { leaderHint: 2 } }))
    const back = decodeStruct(mgmtCallRpc.output, encodeStruct(mgmtCallRpc.output, failed))
    let thrown: unknown
    try {
      unwrapReply(back)
    } catch (e) {
      thrown = e
    }
    expect(isDerError(thrown, 'DER_NOTLEADER')).toBe(true)
    expect((thrown as DerError).details['leaderHint']).toBe(2)
    const rdb = { group: 'pool/x', message: new Uint8Array([9, 9]) }
    expect(decodeStruct(rdbMessageRpc.input, encodeStruct(rdbMessageRpc.input, rdb))).toEqual(rdb)
  })

  it('refuse random bytes with DecodeError (or DER_PROTO for payloads), never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        for (const codec of [mgmtCallRpc.input, mgmtCallRpc.output, rdbMessageRpc.input]) {
          try {
            decodeStruct(codec as never, bytes)
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e
          }
        }
        try {
          decodeArgs(bytes)
        } catch (e) {
          if (!isDerError(e, 'DER_PROTO')) throw e
        }
      }),
      { seed: 501, numRuns: 500 },
    )
  })
})
