import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { HistoryRecorder, type Operation, validateHistory } from '../src/index.ts'

describe('HistoryRecorder', () => {
  it('records ok, failed, timed-out and never-returned operations', () => {
    const r = new HistoryRecorder<string, string>()
    const a = r.invoke('c1', 'a', 0)
    const b = r.invoke('c2', 'b', 1)
    const c = r.invoke('c3', 'c', 2)
    const d = r.invoke('c4', 'd', 3)
    r.ok(a, 'A', 5)
    r.fail(b, 6)
    r.timeout(c, 7)
    const h = r.history()
    expect(h).toEqual([
      { id: a, clientId: 'c1', callMs: 0, returnMs: 5, input: 'a', output: 'A', outcome: 'ok' },
      { id: b, clientId: 'c2', callMs: 1, returnMs: 6, input: 'b', output: undefined, outcome: 'failed' },
      { id: c, clientId: 'c3', callMs: 2, returnMs: 7, input: 'c', output: undefined, outcome: 'unknown' },
      { id: d, clientId: 'c4', callMs: 3, input: 'd', outcome: 'unknown' },
    ])
    expect(() => validateHistory(h)).not.toThrow()
  })

  it('refuses closing an operation twice, or before its call', () => {
    const r = new HistoryRecorder<string, string>()
    const a = r.invoke(1, 'a', 10)
    expect(() => r.ok(a, 'x', 9)).toThrow(/returnMs/)
    r.ok(a, 'x', 10)
    let error: unknown
    try {
      r.fail(a, 11)
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_INVAL')).toBe(true)
    expect(() => r.invoke(1, 'b', Number.POSITIVE_INFINITY)).toThrow(/finite/)
  })

  it('validates outcomes', () => {
    const base: Operation<string, string> = { id: 0, clientId: 1, callMs: 0, returnMs: 1, input: 'x', output: 'y', outcome: 'ok' }
    expect(() => validateHistory([{ ...base, outcome: 'unknown' }])).toThrow(/no output/)
    expect(() => validateHistory([{ ...base, returnMs: undefined }])).toThrow(/needs returnMs/)
    expect(() => validateHistory([{ ...base, outcome: 'maybe' as 'ok' }])).toThrow(/outcome/)
    expect(() => validateHistory([{ ...base, id: 1.5 }])).toThrow(/safe integer/)
  })
})
