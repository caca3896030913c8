import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type History, type KvInput, type KvOutput, type Operation, checkLinearizability, kvModel } from '../src/index.ts'

type KvOp = Operation<KvInput, KvOutput>

/**
 * A brute-force oracle, written independently of the checker: tries every order of the `ok`
 * operations and every subset and placement of the unknown ones, respecting real time (an
 * operation may come next only if no unplaced `ok` operation returned strictly before its call).
 */
function bruteForce(history: History<KvInput, KvOutput>): boolean {
  const model = kvModel()
  const ops = history.filter((o) => o.outcome !== 'failed')
  const placed = new Set<number>()
  const required = ops.filter((o) => o.outcome === 'ok').length
  const go = (state: string | null, done: number): boolean => {
    if (done === required) return true
    for (const x of ops) {
      if (placed.has(x.id)) continue
      if (ops.some((y) => !placed.has(y.id) && y.outcome === 'ok' && y.returnMs! < x.callMs)) continue
      const [ok, next] = model.step(state, x.input, x.output)
      if (!ok) continue
      placed.add(x.id)
      const found = go(next, done + (x.outcome === 'ok' ? 1 : 0))
      placed.delete(x.id)
      if (found) return true
    }
    return false
  }
  return go(null, 0)
}

const value = fc.constantFrom<string | null>(null, '1', '2')
const tinyOp = fc.record({
  kind: fc.constantFrom('put', 'get', 'delete', 'cas'),
  value: fc.constantFrom('1', '2'),
  expected: value,
  read: value,
  flag: fc.boolean(),
  existedKnown: fc.boolean(),
  callMs: fc.integer({ min: 0, max: 8 }),
  lengthMs: fc.integer({ min: 0, max: 5 }),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'unknown', 'failed'),
})

type TinySpec = typeof tinyOp extends fc.Arbitrary<infer T> ? T : never

function build(specs: readonly TinySpec[]): History<KvInput, KvOutput> {
  return specs.map((s, id): KvOp => {
    const input: KvInput =
      s.kind === 'put' ? { kind: 'put', key: 'k', value: s.value } : s.kind === 'get' ? { kind: 'get', key: 'k' } : s.kind === 'delete' ? { kind: 'delete', key: 'k' } : { kind: 'cas', key: 'k', expected: s.expected, value: s.flag ? s.value : null }
    const output: KvOutput = s.kind === 'get' ? { value: s.read } : s.kind === 'cas' ? { swapped: s.flag } : s.kind === 'delete' && s.existedKnown ? { existed: s.flag } : {}
    const returnMs = s.callMs + s.lengthMs
    if (s.outcome === 'ok') return { id, clientId: id, callMs: s.callMs, returnMs, input, output, outcome: 'ok' }
    if (s.outcome === 'failed') return { id, clientId: id, callMs: s.callMs, returnMs, input, outcome: 'failed' }
    return { id, clientId: id, callMs: s.callMs, input, outcome: 'unknown' }
  })
}

describe('linearizability against a brute-force oracle', () => {
  it('agrees on random tiny histories (random outputs, unknown and failed outcomes)', () => {
    fc.assert(
      fc.property(fc.array(tinyOp, { maxLength: 7 }), (specs) => {
        const h = build(specs)
        const result = checkLinearizability(kvModel(), h)
        expect(result.budgetExhausted).toBe(false)
        expect(result.verdict === 'linearizable').toBe(bruteForce(h))
        for (const window of result.violations) expect(bruteForce(window.operations)).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  it('gives the same result twice for the same history (deterministic)', () => {
    fc.assert(
      fc.property(fc.array(tinyOp, { maxLength: 7 }), (specs) => {
        const h = build(specs)
        expect(checkLinearizability(kvModel(), h)).toEqual(checkLinearizability(kvModel(), h))
      }),
      { numRuns: 200 },
    )
  })
})
