import { describe, expect, it } from 'vitest'
import { type FinalEntry, type RecordedWrite, checkNoAcknowledgedWriteLost } from '../src/index.ts'

const w = (key: string, value: string | null, version: number, ackMs?: number, callMs?: number): RecordedWrite => ({ key, value, version, ackMs, callMs, clientId: 1 })
const final = (entries: Record<string, [string | null, number]>): Map<string, FinalEntry> => new Map(Object.entries(entries).map(([k, [value, version]]) => [k, { value, version }]))

describe('no acknowledged write lost', () => {
  it('accepts a final state holding the newest acknowledged writes, tombstones and later unacked writes', () => {
    const result = checkNoAcknowledgedWriteLost({
      acknowledged: [w('a', '1', 1, 10), w('a', '2', 2, 20), w('b', null, 3, 30), w('c', '1', 1, 5, 0)],
      attempted: [w('c', '9', 4)],
      final: final({ a: ['2', 2], b: [null, 3], c: ['9', 4] }),
    })
    expect(result.ok, result.text).toBe(true)
    expect(result.checked).toBe(4)
  })

  it('reports each kind of loss', () => {
    const result = checkNoAcknowledgedWriteLost({
      acknowledged: [
        w('missing', '1', 1, 10),
        w('rolled', '1', 1, 10),
        w('rolled', '2', 2, 20),
        w('mismatch', '1', 5, 10),
        w('late', '1', 7, 10, 0), // acknowledged first with a higher version
        w('late', '2', 6, 30, 20), // called after the other was acknowledged: should have won
        w('ghost', '1', 1, 10),
        w('twin', 'x', 3, 10),
        w('twin', 'y', 3, 11),
      ],
      attempted: [],
      final: final({ rolled: ['1', 1], mismatch: ['other', 5], late: ['1', 7], ghost: ['zz', 9], twin: ['x', 3] }),
    })
    expect(result.ok).toBe(false)
    const kinds = result.lost.map((l) => `${l.kind}:${l.write.key}:${l.write.version}`)
    expect(kinds).toEqual([
      'superseded-by-unknown:ghost:1',
      'superseded-by-earlier:late:6',
      'value-mismatch:mismatch:5',
      'missing:missing:1',
      'rolled-back:rolled:2',
      'conflicting-acks:twin:3',
      'value-mismatch:twin:3',
    ])
    expect(result.text).toContain('key "rolled": acknowledged "2"@v2 by client 1 (acked at 20) rolled back to "1"@v1')
    expect(result.lost.find((l) => l.kind === 'superseded-by-earlier')?.other?.value).toBe('1')
  })

  it('does not judge an unexplained newer version without the attempted writes', () => {
    const result = checkNoAcknowledgedWriteLost({ acknowledged: [w('a', '1', 1, 10)], final: final({ a: ['2', 2] }) })
    expect(result.ok).toBe(true)
  })

  it('refuses an acknowledged write without ackMs', () => {
    expect(() => checkNoAcknowledgedWriteLost({ acknowledged: [w('a', '1', 1)], final: new Map() })).toThrow(/ackMs/)
  })
})
