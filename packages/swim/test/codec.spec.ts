import { DecodeError, Encoder, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type MemberUpdate, type SwimBody, type SwimMessage, checkSwimMessage, decodeSwimMessage, encodeSwimMessage, memberStates } from '../src/index.ts'

const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const incarnation = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
const update: fc.Arbitrary<MemberUpdate> = fc.record({ member: u32, incarnation, state: fc.constantFrom(...memberStates), reporter: u32 })
const body: fc.Arbitrary<SwimBody> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: u32 }),
  fc.record({ type: fc.constant('ack' as const), seq: u32 }),
  fc.record({ type: fc.constant('nack' as const), seq: u32 }),
  fc.record({ type: fc.constant('ping-req' as const), seq: u32, target: u32 }),
  fc.constant({ type: 'join' as const }),
  fc.constant({ type: 'gossip' as const }),
  fc.record({ type: fc.constant('sync' as const), members: fc.array(update, { maxLength: 20 }) }),
)
const message: fc.Arbitrary<SwimMessage> = fc.record({ from: u32, fromIncarnation: incarnation, to: u32, body, updates: fc.array(update, { maxLength: 10 }) })

function decodeFailure(bytes: Uint8Array): unknown {
  try {
    decodeSwimMessage(bytes)
    return undefined
  } catch (error) {
    return error
  }
}

describe('wire codec', () => {
  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(message, (m) => {
        const decoded = decodeSwimMessage(encodeSwimMessage(m))
        expect(decoded).toEqual(m)
        checkSwimMessage(decoded)
      }),
      { numRuns: 500 },
    )
  })

  it('pins the byte layout of a ping (golden bytes)', () => {
    const bytes = encodeSwimMessage({ from: 1, fromIncarnation: 300, to: 2, body: { type: 'ping', seq: 7 }, updates: [{ member: 3, incarnation: 1, state: 'suspect', reporter: 1 }] })
    expect(Buffer.from(bytes).toString('hex')).toBe('01011a00000001000000ac020200000000070000000103000000010101000000')
  })

  it('gives typed errors for truncated input at every length', () => {
    const bytes = encodeSwimMessage({ from: 1, fromIncarnation: 2, to: 3, body: { type: 'ping-req', seq: 4, target: 5 }, updates: [{ member: 6, incarnation: 7, state: 'dead', reporter: 8 }] })
    for (let length = 0; length < bytes.length; length++) {
      const error = decodeFailure(bytes.subarray(0, length))
      expect(error instanceof DecodeError && isDerError(error), `length ${length}: ${String(error)}`).toBe(true)
    }
  })

  it('refuses unknown body types, unknown states, trailing bytes and newer versions', () => {
    const payload = (write: (e: Encoder) => void): Uint8Array => new Encoder().struct(1, 1, write).finish()
    const unknownBody = payload((e) => e.u32(1).varuint(0).u32(2).u8(99).varuint(0))
    expect(isDerError(decodeFailure(unknownBody), 'DER_PROTO')).toBe(true)
    const unknownState = payload((e) => e.u32(1).varuint(0).u32(2).u8(4).varuint(1).u32(3).varuint(0).u8(9).u32(1))
    expect(decodeFailure(unknownState)).toMatchObject({ name: 'DER_PROTO', message: expect.stringMatching(/unknown member state 9/) })
    const good = encodeSwimMessage({ from: 1, fromIncarnation: 0, to: 2, body: { type: 'join' }, updates: [] })
    expect(isDerError(decodeFailure(Uint8Array.from([...good, 0])), 'DER_PROTO')).toBe(true)
    const newer = new Encoder().struct(9, 2, (e) => e.u32(1)).finish()
    expect(isDerError(decodeFailure(newer), 'DER_DF_INCOMPT')).toBe(true)
  })

  it('fuzz: random bytes decode or fail with a DecodeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const error = decodeFailure(bytes)
        if (error !== undefined) expect(error).toBeInstanceOf(DecodeError)
      }),
      { numRuns: 2000 },
    )
  })

  it('fuzz: mutated valid messages decode to well-formed messages or fail with a DecodeError', () => {
    fc.assert(
      fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (m, flips) => {
        const bytes = encodeSwimMessage(m)
        for (const [at, value] of flips) bytes[at % bytes.length] = value
        let decoded: SwimMessage
        try {
          decoded = decodeSwimMessage(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError)
          return
        }
        checkSwimMessage(decoded)
      }),
      { numRuns: 1000 },
    )
  })
})
