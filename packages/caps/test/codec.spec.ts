import fc from 'fast-check'
import { DecodeError, Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { CAP_ANY, CapOp, type Message, SessionOp, decodeMessage, encodeMessage, validateMessage } from '../src/index.ts'

const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const mask = fc.integer({ min: 0, max: 0xffff }).map((m) => m & CAP_ANY)
const nat = fc.maxSafeNat()
const clientId = fc.string({ minLength: 1, maxLength: 20 })

const capsMessage: fc.Arbitrary<Message> = fc
  .record({
    op: fc.constantFrom(...Object.values(CapOp)),
    authority: u32,
    clientId,
    ino: nat,
    capId: u32,
    seq: u32,
    issueSeq: u32,
    mseq: u32,
    caps: mask,
    wanted: mask,
    dirty: mask,
    flushTid: nat,
    sizeBytes: nat,
    maxSizeBytes: nat,
    mode: u32,
    peer: fc.option(fc.record({ authority: u32, capId: u32, seq: u32, mseq: u32 }), { nil: undefined }),
  })
  .map(({ peer, ...m }) => (peer === undefined ? { kind: 'caps' as const, ...m } : { kind: 'caps' as const, ...m, peer }))
const sessionMessage: fc.Arbitrary<Message> = fc.record({ kind: fc.constant('session' as const), op: fc.constantFrom(...Object.values(SessionOp)), authority: u32, clientId, seq: u32 })
const openMessage: fc.Arbitrary<Message> = fc.record({ kind: fc.constant('open' as const), authority: u32, clientId, ino: nat, wanted: mask })
const message = fc.oneof(capsMessage, sessionMessage, openMessage)

function decodesCleanly(bytes: Uint8Array): boolean {
  try {
    const m = decodeMessage(bytes)
    validateMessage(m)
    // Whatever decodes is a valid message that survives its own round trip.
    expect(decodeMessage(encodeMessage(m))).toEqual(m)
    return true
  } catch (e) {
    if (e instanceof DecodeError || isDerError(e, 'DER_INVAL')) return true
    throw e
  }
}

describe('wire codec', () => {
  it('round-trips every valid message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m)
      }),
    )
  })

  it('fuzz: random bytes give a DecodeError or DER_INVAL, never another error or a bad message', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), decodesCleanly), { numRuns: 3000 })
  })

  it('fuzz: mutated and truncated valid encodings are refused cleanly', () => {
    const seed = 20261121
    const random = new Random(seed)
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeMessage(m)
        for (let i = 0; i < 8; i++) {
          const copy = bytes.slice()
          copy[random.int(copy.length)] = random.uint32() & 0xff
          expect(decodesCleanly(copy), `seed ${seed}`).toBe(true)
          expect(decodesCleanly(copy.subarray(0, random.int(copy.length))), `seed ${seed}`).toBe(true)
        }
      }),
      { numRuns: 400 },
    )
  })

  it('refuses malformed message objects with DER_INVAL', () => {
    const good = { kind: 'caps', op: 0, authority: 0, clientId: 'a', ino: 1, capId: 1, seq: 1, issueSeq: 0, mseq: 0, caps: 1, wanted: 1, dirty: 0, flushTid: 0, sizeBytes: 0, maxSizeBytes: 0, mode: 0 }
    expect(validateMessage(good)).toBe(good)
    const bad: unknown[] = [
      null,
      42,
      { ...good, kind: 'nope' },
      { ...good, op: 99 },
      { ...good, seq: -1 },
      { ...good, seq: 2 ** 32 },
      { ...good, caps: 2 }, // bit 1 is not a cap bit
      { ...good, caps: 1.5 },
      { ...good, ino: Number.MAX_SAFE_INTEGER + 1 },
      { ...good, clientId: '' },
      { ...good, clientId: 'x'.repeat(200) },
      { ...good, peer: { authority: 1 } },
      { kind: 'session', op: 42, authority: 0, clientId: 'a', seq: 0 },
      { kind: 'open', authority: 0, clientId: 'a', ino: -1, wanted: 1 },
    ]
    for (const b of bad) expect(() => validateMessage(b), JSON.stringify(b)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })
})
