import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type LogEntry, checkLogPrefixConsistency } from '../src/index.ts'

const log = (first: number, terms: number[], data: (i: number) => string | Uint8Array = (i) => `d${i}`): LogEntry[] => terms.map((term, k) => ({ index: first + k, term, data: data(first + k) }))

describe('log prefix consistency', () => {
  it('accepts logs that are prefixes of each other, including compacted ones', () => {
    const result = checkLogPrefixConsistency(new Map([['a', log(1, [1, 1, 2, 3])], ['b', log(1, [1, 1, 2])], ['c', log(3, [2, 3])], ['d', []]]))
    expect(result.ok, result.text).toBe(true)
    expect(result.entriesCompared).toBe(3 + 2 + 1)
  })

  it('reports the first divergence of each pair, by term or by data', () => {
    const a = log(1, [1, 1, 2, 2])
    const b = log(1, [1, 1, 3, 3])
    const c = log(1, [1, 1, 2, 2], (i) => (i === 4 ? 'other' : `d${i}`))
    const result = checkLogPrefixConsistency(new Map([['a', a], ['b', b], ['c', c]]))
    expect(result.problems.map((p) => [p.replica, p.otherReplica, p.index])).toEqual([['a', 'b', 3], ['a', 'c', 4], ['b', 'c', 3]])
    expect(result.text.split('\n')[1]).toBe('a and c first diverge at index 4: (term 2, "d4") vs (term 2, "other")')
  })

  it('compares bytes by content and reports malformed logs', () => {
    const bytes = (i: number): Uint8Array => Uint8Array.of(i, 1, 2)
    const same = checkLogPrefixConsistency(new Map([['a', log(1, [1, 1], bytes)], ['b', log(1, [1, 1], bytes)]]))
    expect(same.ok).toBe(true)
    const gap = [...log(1, [1]), ...log(3, [1])]
    const down = log(1, [2, 1])
    const result = checkLogPrefixConsistency(new Map([['gap', gap], ['down', down]]))
    expect(result.problems.map((p) => p.kind)).toEqual(['malformed', 'malformed'])
    expect(result.text).toContain('down: term 1 at index 2 is below term 2')
    expect(result.text).toContain('gap: index 3 follows 1')
  })

  it('property: truncations of one log always agree; changing one entry is found at its index', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2, maxLength: 50 }), fc.nat(), fc.nat(), (bumps, cut, at) => {
        let term = 1
        const full = bumps.map((bump, k) => ({ index: k + 1, term: (term += bump), data: `d${k}` }))
        const prefix = full.slice(0, cut % full.length)
        expect(checkLogPrefixConsistency(new Map([['x', full], ['y', prefix]])).ok).toBe(true)
        const i = at % full.length
        const changed = full.map((e, k) => (k === i ? { ...e, data: 'changed' } : e))
        const result = checkLogPrefixConsistency(new Map([['x', full], ['y', changed]]))
        expect(result.problems.map((p) => p.index)).toEqual([i + 1])
      }),
      { numRuns: 200 },
    )
  })
})
