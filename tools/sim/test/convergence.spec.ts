import { describe, expect, it } from 'vitest'
import { checkReplicaConvergence } from '../src/index.ts'

type Cell = { value: string; epoch: number }
const dump = (entries: Record<string, Cell>): Map<string, Cell> => new Map(Object.entries(entries))

describe('replica convergence', () => {
  it('accepts equal dumps, whatever the insertion order', () => {
    const a = dump({ x: { value: '1', epoch: 2 }, y: { value: '2', epoch: 3 } })
    const b = new Map([...a].reverse())
    const result = checkReplicaConvergence(new Map([['r1', a], ['r2', b]]))
    expect(result.ok).toBe(true)
    expect(result.keysChecked).toBe(2)
  })

  it('reports every differing key with each replica view, in key order', () => {
    const r1 = dump({ a: { value: '1', epoch: 1 }, b: { value: '2', epoch: 2 }, c: { value: '3', epoch: 3 } })
    const r2 = dump({ a: { value: '1', epoch: 1 }, b: { value: '2', epoch: 5 } })
    const r3 = dump({ a: { value: '1', epoch: 1 }, b: { value: '2', epoch: 2 }, c: { value: '3', epoch: 3 } })
    const result = checkReplicaConvergence(new Map([['r3', r3], ['r1', r1], ['r2', r2]]))
    expect(result.ok).toBe(false)
    expect(result.divergences.map((d) => d.key)).toEqual(['b', 'c'])
    expect(result.divergences[1]!.views).toEqual([
      { replica: 'r1', present: true, value: { value: '3', epoch: 3 } },
      { replica: 'r2', present: false },
      { replica: 'r3', present: true, value: { value: '3', epoch: 3 } },
    ])
    expect(result.text.split('\n')[1]).toBe('key "c": r1={"value":"3","epoch":3}, r2=absent, r3={"value":"3","epoch":3}')
  })

  it('uses a custom equality and caps the report', () => {
    const r1 = dump({ a: { value: '1', epoch: 1 }, b: { value: '1', epoch: 1 } })
    const r2 = dump({ a: { value: '1', epoch: 9 }, b: { value: '2', epoch: 1 } })
    const byValue = checkReplicaConvergence(new Map([['r1', r1], ['r2', r2]]), { equal: (x, y) => x.value === y.value, maxReported: 5 })
    expect(byValue.divergences.map((d) => d.key)).toEqual(['b'])
    const capped = checkReplicaConvergence(new Map([['r1', r1], ['r2', r2]]), { maxReported: 1 })
    expect(capped.divergences).toHaveLength(1)
    expect(capped.truncated).toBe(true)
    expect(capped.ok).toBe(false)
  })

  it('refuses an empty set of replicas', () => {
    expect(() => checkReplicaConvergence(new Map())).toThrow(/at least one/)
  })
})
