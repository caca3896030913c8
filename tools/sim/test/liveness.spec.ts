import { describe, expect, it } from 'vitest'
import { type History, checkLiveness } from '../src/index.ts'

const h: History<string, string> = [
  { id: 0, clientId: 1, callMs: 0, returnMs: 50, input: 'done before heal', output: 'x', outcome: 'ok' },
  { id: 1, clientId: 2, callMs: 10, returnMs: 120, input: 'pending at heal, in time', output: 'x', outcome: 'ok' },
  { id: 2, clientId: 3, callMs: 20, returnMs: 300, input: 'pending at heal, late', output: 'x', outcome: 'ok' },
  { id: 3, clientId: 4, callMs: 150, input: 'never returned', outcome: 'unknown' },
  { id: 4, clientId: 5, callMs: 160, returnMs: 200, input: 'timed out', outcome: 'unknown' },
  { id: 5, clientId: 6, callMs: 170, returnMs: 190, input: 'failed definitely', outcome: 'failed' },
  { id: 6, clientId: 7, callMs: 380, input: 'called late, not due yet', outcome: 'unknown' },
  { id: 7, clientId: 8, callMs: 30, input: 'never returned, since before heal', outcome: 'unknown' },
]

describe('liveness after heal', () => {
  it('reports the stragglers: late, timed out, never returned', () => {
    const result = checkLiveness(h, { healMs: 100, boundMs: 100, endMs: 400 })
    expect(result.ok).toBe(false)
    expect(result.stragglers.map((s) => [s.operation.id, s.kind, s.deadlineMs])).toEqual([
      [2, 'late', 200],
      [7, 'pending', 200],
      [3, 'pending', 250],
      [4, 'timed-out', 260],
    ])
    expect(result.judged).toBe(6)
    expect(result.text.split('\n')[0]).toBe('#2 client 3 called at 20, due by 200: returned at 300 (100 late)')
  })

  it('passes with a generous bound, and does not judge operations not yet due', () => {
    const completed = h.filter((o) => o.outcome !== 'unknown')
    expect(checkLiveness(completed, { healMs: 100, boundMs: 200 }).ok).toBe(true)
    expect(checkLiveness(h, { healMs: 100, boundMs: 1000, endMs: 400 }).judged).toBe(0)
  })

  it('refuses a negative bound', () => {
    expect(() => checkLiveness(h, { healMs: 0, boundMs: -1 })).toThrow(/boundMs/)
  })
})
