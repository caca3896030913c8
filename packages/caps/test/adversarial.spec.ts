// Arbitrary, schema-valid but hostile message sequences (unknown clients, stale and future seqs,
// wrong cap ids, claimed bits never issued, ops in the wrong direction) never break the cores'
// invariants: the authority never issues conflicting caps, `pending ⊆ issued` holds, and the
// client keeps `issued ⊆ implemented` (both are also asserted inside the cores).
import fc from 'fast-check'
import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { CAP_ANY, CapOp, CapsAuthority, CapsClient, FileMode, type Message, SessionOp, capsConflict, formatCaps } from '../src/index.ts'

const clientId = fc.constantFrom('a', 'b', 'c')
const mask = fc.integer({ min: 0, max: 0xffff }).map((m) => m & CAP_ANY)
const small = fc.integer({ min: 0, max: 6 })
const capsMessage: fc.Arbitrary<Message> = fc.record({
  kind: fc.constant('caps' as const),
  op: fc.constantFrom(...Object.values(CapOp)),
  authority: fc.constant(0),
  clientId,
  ino: fc.integer({ min: 1, max: 2 }),
  capId: small,
  seq: small,
  issueSeq: small,
  mseq: fc.integer({ min: 0, max: 2 }),
  caps: mask,
  wanted: mask,
  dirty: mask,
  flushTid: small,
  sizeBytes: fc.integer({ min: 0, max: 1 << 24 }),
  maxSizeBytes: fc.integer({ min: 0, max: 1 << 24 }),
  mode: small,
})
const sessionMessage: fc.Arbitrary<Message> = fc.record({ kind: fc.constant('session' as const), op: fc.constantFrom(...Object.values(SessionOp)), authority: fc.constant(0), clientId, seq: small })
const openMessage: fc.Arbitrary<Message> = fc.record({ kind: fc.constant('open' as const), authority: fc.constant(0), clientId, ino: fc.integer({ min: 1, max: 2 }), wanted: mask })
const input = fc.oneof(
  { weight: 5, arbitrary: capsMessage.map((m) => ({ m, dtMs: 0 })) },
  { weight: 2, arbitrary: sessionMessage.map((m) => ({ m, dtMs: 0 })) },
  { weight: 3, arbitrary: openMessage.map((m) => ({ m, dtMs: 0 })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((dtMs) => ({ m: undefined, dtMs })) },
)

describe('adversarial message sequences', () => {
  it('the authority never issues conflicting caps, whatever clients send', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 80 }), (steps) => {
        const mds = new CapsAuthority({ sessionTimeoutMs: 10_000, revokeEvictionTimeoutMs: 20_000, revokeWarningMs: 5_000 })
        let now = 0
        for (const { m, dtMs } of steps) {
          now += dtMs
          if (m === undefined) mds.tick(now)
          else mds.step(now, m)
          for (const ino of mds.inodeNumbers()) {
            const caps = [...mds.caps(ino)]
            for (const [, c] of caps) expect(c.pending & ~c.issued).toBe(0)
            for (let i = 0; i < caps.length; i++) {
              for (let j = i + 1; j < caps.length; j++) {
                const x = caps[i]?.[1].issued ?? 0
                const y = caps[j]?.[1].issued ?? 0
                expect(capsConflict(x, y), `${formatCaps(x)} vs ${formatCaps(y)}`).toBe(false)
              }
            }
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('the client keeps issued ⊆ implemented and never throws on well-formed messages addressed to it', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 60 }), (steps) => {
        const client = new CapsClient({ clientId: 'a', sessionTimeoutMs: 10_000, renewIntervalMs: 2_500 })
        client.openSession(0, 0)
        client.step(0, { kind: 'session', op: SessionOp.OPEN, authority: 0, clientId: 'a', seq: 0 })
        client.open(0, 1, FileMode.RDWR)
        let now = 0
        for (const { m, dtMs } of steps) {
          now += dtMs
          try {
            if (m === undefined) client.tick(now)
            else client.step(now, { ...m, clientId: 'a' })
          } catch (e) {
            if (!isDerError(e)) throw e
          }
          const cap = client.cap(1)
          if (cap !== undefined) expect(cap.issued & ~cap.implemented).toBe(0)
        }
      }),
      { numRuns: 300 },
    )
  })
})
