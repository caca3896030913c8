import { describe, expect, it } from 'vitest'
import { type Operation, checkHistory } from './support/linearizability.ts'

const put = (client: number, value: string, invokeMs: number, responseMs: number): Operation => ({ client, kind: 'put', key: 'k', value, invokeMs, responseMs })
const get = (client: number, value: string | undefined, invokeMs: number, responseMs: number): Operation => ({ client, kind: 'get', key: 'k', value, invokeMs, responseMs })

describe('linearizability checker', () => {
  it('accepts sequential and overlapping histories that have a linearization', () => {
    expect(checkHistory([put(1, 'a', 0, 10), get(2, 'a', 11, 12)]).ok).toBe(true)
    expect(checkHistory([put(1, 'a', 0, 10), get(2, undefined, 1, 5), get(3, 'a', 2, 6)]).ok).toBe(true)
    expect(checkHistory([put(1, 'a', 0, Infinity), get(2, undefined, 5, 6), get(2, 'a', 7, 8)]).ok).toBe(true)
    expect(checkHistory([put(1, 'a', 0, Infinity), get(2, undefined, 5, 6)]).ok).toBe(true)
  })

  it('rejects stale reads, lost writes and reads of values never written', () => {
    expect(checkHistory([put(1, 'a', 0, 10), get(2, undefined, 11, 12)]).ok).toBe(false)
    expect(checkHistory([put(1, 'a', 0, 10), put(1, 'b', 11, 20), get(2, 'a', 21, 22)]).ok).toBe(false)
    expect(checkHistory([get(2, 'z', 0, 1)]).ok).toBe(false)
    // A read sees b, a later read sees a again: not linearizable when the writes do not overlap the reads.
    expect(checkHistory([put(1, 'a', 0, 2), put(3, 'b', 0, 2), get(2, 'b', 3, 4), get(2, 'a', 5, 6)]).ok).toBe(false)
  })
})
