import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type History,
  type KvInput,
  type KvOutput,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  checkLinearizability,
  kvModel,
  registerModel,
} from '../src/index.ts'
import { opSpec, runKv } from './support/kv-histories.ts'

type KvOp = Operation<KvInput, KvOutput>

/** Hand-written operation builders; ids are assigned by `history` in argument order. */
const put = (client: number, callMs: number, returnMs: number, value: string, key = 'a'): Omit<KvOp, 'id'> => ({ clientId: client, callMs, returnMs, input: { kind: 'put', key, value }, output: {}, outcome: 'ok' })
const get = (client: number, callMs: number, returnMs: number, value: string | null, key = 'a'): Omit<KvOp, 'id'> => ({ clientId: client, callMs, returnMs, input: { kind: 'get', key }, output: { value }, outcome: 'ok' })
const del = (client: number, callMs: number, returnMs: number, existed?: boolean, key = 'a'): Omit<KvOp, 'id'> => ({ clientId: client, callMs, returnMs, input: { kind: 'delete', key }, output: existed === undefined ? {} : { existed }, outcome: 'ok' })
const cas = (client: number, callMs: number, returnMs: number, expected: string | null, value: string | null, swapped: boolean, key = 'a'): Omit<KvOp, 'id'> => ({ clientId: client, callMs, returnMs, input: { kind: 'cas', key, expected, value }, output: { swapped }, outcome: 'ok' })
/** Never returned (or timed out at `timeoutMs`): may or may not have taken effect. */
const unknown = (op: Omit<KvOp, 'id'>, timeoutMs?: number): Omit<KvOp, 'id'> => ({ clientId: op.clientId, callMs: op.callMs, ...(timeoutMs === undefined ? {} : { returnMs: timeoutMs }), input: op.input, outcome: 'unknown' })
const failed = (op: Omit<KvOp, 'id'>): Omit<KvOp, 'id'> => ({ clientId: op.clientId, callMs: op.callMs, returnMs: op.returnMs, input: op.input, outcome: 'failed' })
const history = (...ops: Omit<KvOp, 'id'>[]): History<KvInput, KvOutput> => ops.map((op, id) => ({ id, ...op }))

const check = (h: History<KvInput, KvOutput>) => checkLinearizability(kvModel(), h, { maxSteps: 100_000 })

describe('linearizability: hand-written histories', () => {
  const cases: [string, History<KvInput, KvOutput>, 'linearizable' | 'violation'][] = [
    ['sequential put then get', history(put(1, 0, 10, '1'), get(2, 20, 30, '1')), 'linearizable'],
    ['a read concurrent with a write may see either value', history(put(1, 0, 30, '1'), get(2, 10, 20, null), get(3, 10, 20, '1')), 'linearizable'],
    ['stale read: a get after a completed put sees the old value', history(put(1, 0, 10, '1'), get(2, 20, 30, null)), 'violation'],
    ['stale read after an overwrite', history(put(1, 0, 10, '1'), put(1, 20, 30, '2'), get(2, 40, 50, '1')), 'violation'],
    ['concurrent writes, overlapping reads agree on one order', history(put(1, 0, 100, '1'), put(2, 0, 100, '2'), get(3, 10, 20, '1'), get(4, 30, 40, '2')), 'linearizable'],
    ['concurrent writes, reads flip back: 1, 2, 1', history(put(1, 0, 100, '1'), put(2, 0, 100, '2'), get(3, 10, 20, '1'), get(4, 30, 40, '2'), get(3, 50, 60, '1')), 'violation'],
    ['two readers see two writes in opposite orders', history(put(1, 0, 100, '1'), put(2, 0, 100, '2'), get(3, 10, 20, '1'), get(3, 30, 40, '2'), get(4, 10, 20, '2'), get(4, 30, 40, '1')), 'violation'],
    ['a value never written', history(put(1, 0, 10, '1'), get(2, 20, 30, '7')), 'violation'],
    ['a call at the instant another returns is concurrent with it', history(put(1, 0, 10, '1'), get(2, 10, 20, null)), 'linearizable'],
    ['lost update: two CAS from the same value both swap', history(put(1, 0, 5, '0'), cas(1, 10, 20, '0', '1', true), cas(2, 10, 20, '0', '2', true)), 'violation'],
    ['CAS race: one swaps, the other fails', history(put(1, 0, 5, '0'), cas(1, 10, 20, '0', '1', true), cas(2, 10, 20, '0', '2', false), get(3, 30, 40, '1')), 'linearizable'],
    ['CAS swaps although the value differs', history(put(1, 0, 5, 'x'), cas(2, 10, 20, 'y', 'z', true)), 'violation'],
    ['CAS fails although the value matches and nothing is concurrent', history(put(1, 0, 5, 'x'), cas(2, 10, 20, 'x', 'z', false)), 'violation'],
    ['CAS fails because a concurrent put got in first', history(put(1, 0, 5, 'x'), cas(2, 10, 30, 'x', 'y', false), put(3, 15, 25, 'z')), 'linearizable'],
    ['CAS on an absent key, then a read of its value', history(cas(1, 0, 10, null, 'n', true), get(2, 20, 30, 'n')), 'linearizable'],
    ['delete then get sees absent', history(put(1, 0, 10, '1'), del(1, 20, 30, true), get(2, 40, 50, null)), 'linearizable'],
    ['delete reports absent although the key exists', history(put(1, 0, 10, '1'), del(2, 20, 30, false)), 'violation'],
    ['a read resurrects a deleted value', history(put(1, 0, 10, '1'), del(1, 20, 30), get(2, 40, 50, '1')), 'violation'],
    ['unknown put must be considered applied: a later read sees it', history(unknown(put(1, 0, 10, '1')), get(2, 20, 30, '1')), 'linearizable'],
    ['unknown put may never apply', history(unknown(put(1, 0, 10, '1')), get(2, 20, 30, null), get(2, 40, 50, null)), 'linearizable'],
    ['unknown put may apply long after it timed out', history(unknown(put(1, 0, 10, '1'), 10), get(2, 20, 30, null), get(2, 40, 50, '1')), 'linearizable'],
    ['unknown put cannot be undone once seen', history(unknown(put(1, 0, 10, '1')), get(2, 20, 30, '1'), get(2, 40, 50, null)), 'violation'],
    ['unknown put cannot apply before its call', history(get(2, 0, 10, '1'), unknown(put(1, 20, 30, '1'))), 'violation'],
    ['unknown put cannot apply twice', history(unknown(put(1, 0, 10, '1')), get(2, 20, 30, '1'), put(3, 40, 50, '2'), get(2, 60, 70, '1')), 'violation'],
    ['unknown CAS explains a later value', history(put(1, 0, 5, 'x'), unknown(cas(2, 10, 20, 'x', 'y', true)), get(3, 30, 40, 'y')), 'linearizable'],
    ['unknown CAS cannot swap from a value the key never had', history(put(1, 0, 5, 'x'), unknown(cas(2, 10, 20, 'q', 'y', true)), get(3, 30, 40, 'y')), 'violation'],
    ['a failed put never applies', history(failed(put(1, 0, 10, '1')), get(2, 20, 30, '1')), 'violation'],
    ['keys are independent', history(put(1, 0, 10, '1', 'a'), get(2, 20, 30, null, 'b'), get(2, 40, 50, '1', 'a')), 'linearizable'],
  ]
  for (const [name, h, expected] of cases) {
    it(`${expected}: ${name}`, () => {
      const result = check(h)
      expect(result.verdict, result.violations[0]?.text).toBe(expected)
      expect(result.budgetExhausted).toBe(false)
    })
  }

  it('reports the stale read with its minimal window: the overwrite, the first write and the read', () => {
    const h = history(put(1, 0, 10, '1'), get(3, 12, 14, '1'), put(1, 20, 30, '2'), get(2, 40, 50, '1'), get(4, 60, 70, '2'))
    const [window] = check(h).violations
    expect(window).toBeDefined()
    expect(window!.partition).toBe('key "a"')
    expect(window!.prefixEndMs).toBe(50)
    expect(window!.lastOperations.map((o) => o.id)).toEqual([3])
    expect(window!.operations.map((o) => o.id).sort()).toEqual([0, 2, 3])
    expect(window!.minimal).toBe(true)
    expect(window!.text).toContain('#3 client 2')
    expect(window!.text).toContain('get "a" -> "1"')
    expect(window!.text).not.toContain('#4')
    expect(window!.text.split('\n')).toHaveLength(3 + 3 + 1)
  })

  it('reports every violating partition, and only those', () => {
    const h = history(put(1, 0, 10, '1', 'a'), get(2, 20, 30, null, 'a'), put(1, 0, 10, '1', 'b'), get(2, 20, 30, '1', 'b'), put(1, 0, 10, '1', 'c'), get(2, 20, 30, '9', 'c'))
    const result = check(h)
    expect(result.violations.map((v) => v.partition)).toEqual(['key "a"', 'key "c"'])
    expect(result.partitions.map((p) => p.verdict)).toEqual(['violation', 'linearizable', 'violation'])
  })

  it('checks a register model', () => {
    const w = (c: number, s: number, e: number, value: string): Omit<Operation<RegisterInput, RegisterOutput>, 'id'> => ({ clientId: c, callMs: s, returnMs: e, input: { kind: 'write', value }, output: {}, outcome: 'ok' })
    const r = (c: number, s: number, e: number, value: string | null): Omit<Operation<RegisterInput, RegisterOutput>, 'id'> => ({ clientId: c, callMs: s, returnMs: e, input: { kind: 'read' }, output: { value }, outcome: 'ok' })
    const ok = [w(1, 0, 10, 'a'), r(2, 5, 15, null), r(3, 20, 30, 'a')].map((op, id) => ({ id, ...op }))
    const bad = [w(1, 0, 10, 'a'), r(2, 20, 30, 'init')].map((op, id) => ({ id, ...op }))
    expect(checkLinearizability(registerModel('init'), ok).verdict).toBe('violation') // reads null, the register starts at "init"
    expect(checkLinearizability(registerModel(), ok).verdict).toBe('linearizable')
    expect(checkLinearizability(registerModel('init'), bad).violations[0]?.text).toContain('read -> "init"')
  })

  it('stops at the step budget and says so', () => {
    const ops: Omit<KvOp, 'id'>[] = []
    for (let i = 0; i < 12; i++) ops.push(put(i, 0, 100, `v${i}`))
    ops.push(get(99, 200, 210, 'never'))
    const result = checkLinearizability(kvModel(), history(...ops), { maxSteps: 500 })
    expect(result.verdict).toBe('budget-exhausted')
    expect(result.budgetExhausted).toBe(true)
    expect(result.steps).toBe(500)
  })

  it('stops at a wall-time deadline read from the given clock', () => {
    let nowMs = 0
    const clock = { monotonicMs: () => (nowMs += 1), realtimeMs: () => nowMs }
    const ops: Omit<KvOp, 'id'>[] = []
    for (let i = 0; i < 14; i++) ops.push(put(i, 0, 100, `v${i}`))
    ops.push(get(99, 200, 210, 'never'))
    const result = checkLinearizability(kvModel(), history(...ops), { deadline: { clock, maxMs: 5 } })
    expect(result.verdict).toBe('budget-exhausted')
    expect(result.steps).toBeLessThan(10_000)
  })

  it('refuses malformed histories with DER_INVAL', () => {
    const bad: unknown[] = [
      history({ ...put(1, 10, 5, '1') }),
      [{ id: 0, ...put(1, 0, 5, '1') }, { id: 0, ...put(1, 0, 5, '1') }],
      history({ ...put(1, 0, 5, '1'), output: undefined }),
      history({ ...put(1, Number.NaN, 5, '1') }),
      history({ ...failed(put(1, 0, 5, '1')), output: {} }),
    ]
    for (const h of bad) {
      let error: unknown
      try {
        check(h as History<KvInput, KvOutput>)
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL'), JSON.stringify(h)).toBe(true)
    }
    expect(() => checkLinearizability(kvModel(), [], { maxSteps: 0 })).toThrow(/maxSteps/)
  })
})

describe('linearizability: generated histories', () => {
  it('histories of a sequential KV store with random intervals and unknown outcomes are linearizable', () => {
    fc.assert(
      fc.property(fc.array(opSpec(3, 40), { maxLength: 60 }), (specs) => {
        const result = check(runKv(specs))
        expect(result.verdict, result.violations[0]?.text).toBe('linearizable')
      }),
      { numRuns: 300 },
    )
  })

  it('one read mutated to a never-written value is reported, with a minimal window containing that read', () => {
    fc.assert(
      fc.property(fc.array(opSpec(3, 40), { minLength: 1, maxLength: 60 }), fc.nat(), (specs, pick) => {
        const h = runKv(specs)
        const reads = h.filter((o) => o.outcome === 'ok' && o.input.kind === 'get')
        fc.pre(reads.length > 0)
        const target = reads[pick % reads.length]!
        const mutated = h.map((o) => (o.id === target.id ? { ...o, output: { value: 'never-written' } } : o))
        const result = check(mutated)
        expect(result.verdict).toBe('violation')
        expect(result.violations).toHaveLength(1)
        const [window] = result.violations
        expect(window!.lastOperations.map((o) => o.id)).toContain(target.id)
        expect(window!.operations.map((o) => o.id)).toContain(target.id)
        expect(window!.prefixEndMs).toBe(target.returnMs)
        // A read of a value nobody wrote fails on its own.
        expect(window!.operations).toHaveLength(1)
        expect(window!.text).toContain('"never-written"')
      }),
      { numRuns: 200 },
    )
  })

  it('a read mutated to another written value: any reported window fails again on its own', () => {
    fc.assert(
      fc.property(fc.array(opSpec(2, 60), { minLength: 1, maxLength: 40 }), fc.nat(), fc.nat(), (specs, pick, valuePick) => {
        const h = runKv(specs)
        const reads = h.filter((o) => o.outcome === 'ok' && o.input.kind === 'get')
        const values = h.flatMap((o) => (o.input.kind === 'put' ? [o.input.value] : []))
        fc.pre(reads.length > 0 && values.length > 0)
        const target = reads[pick % reads.length]!
        const mutated = h.map((o) => (o.id === target.id ? { ...o, output: { value: values[valuePick % values.length]! } } : o))
        const result = check(mutated)
        for (const window of result.violations) {
          expect(check(window.operations).verdict, window.text).toBe('violation')
          expect(window.operations.map((o) => o.id)).toContain(target.id)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('performance guard: 2,000 operations on 10 keys check within the step budget', () => {
    // Intervals up to 400 ms around instants 10 ms apart: about 8 operations overlap on each key.
    const maxSteps = 1_000_000
    const specs = fc.sample(opSpec(10, 400), { numRuns: 2000, seed: 1302 })
    const h = runKv(specs, 20)
    const result = checkLinearizability(kvModel(), h, { maxSteps })
    expect(result.budgetExhausted, `steps ${result.steps}`).toBe(false)
    expect(result.verdict).toBe('linearizable')
    expect(result.partitions).toHaveLength(10)
    expect(result.steps).toBeLessThan(maxSteps)
  })

  it('performance guard: a never-written read among 2,000 operations is found, its window ends at that read', () => {
    const specs = fc.sample(opSpec(10, 100, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'failed', 'unknown-applied']), { numRuns: 2000, seed: 1303 })
    const h = runKv(specs, 20)
    const reads = h.filter((o) => o.outcome === 'ok' && o.input.kind === 'get')
    const target = reads[reads.length >> 1]!
    const mutated = h.map((o) => (o.id === target.id ? { ...o, output: { value: 'never-written' } } : o))
    const result = checkLinearizability(kvModel(), mutated, { maxSteps: 1_000_000, maxMinimizeSteps: 300_000 })
    expect(result.budgetExhausted, `steps ${result.steps}`).toBe(false)
    expect(result.verdict).toBe('violation')
    const [window] = result.violations
    expect(window!.lastOperations.map((o) => o.id)).toEqual([target.id])
    // Minimization may stop at its budget here (weakened writes make the trials expensive); the
    // window is then larger than minimal, but it still ends at, and contains, the bad read.
    expect(window!.operations.map((o) => o.id)).toContain(target.id)
  })
})
