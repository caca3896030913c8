import { describe, expect, it } from 'vitest'
import { formatTable, measureSync, percentile, toRecord } from '../src/index.ts'

describe('bench records', () => {
  it('computes the ratio against the reference', () => {
    const record = toRecord('common', { name: 'x', unit: 'MB/s', value: 300, reference: 'y', referenceValue: 200, higherIsBetter: true })
    expect(record).toMatchObject({ package: 'common', ratio: 1.5 })
  })

  it('refuses a reference without a positive value', () => {
    expect(() => toRecord('common', { name: 'x', unit: 'ops/s', value: 1, reference: 'y', referenceValue: 0, higherIsBetter: true })).toThrow(/reference value must be > 0/)
  })

  it('formats a table with one row per record', () => {
    const table = formatTable([toRecord('p', { name: 'a', unit: 'ops/s', value: 10, reference: 'r', referenceValue: 5, higherIsBetter: true })])
    expect(table.split('\n')).toHaveLength(3)
    expect(table).toContain('2.00')
  })

  it('measures a rate and takes nearest-rank percentiles', () => {
    const m = measureSync(() => undefined, { minDurationMs: 5, operationsPerCall: 2 })
    expect(m.operations % 2).toBe(0)
    expect(m.operationsPerSecond).toBeGreaterThan(0)
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3)
    expect(percentile([5, 1, 4, 2, 3], 100)).toBe(5)
  })
})
