import { describe, expect, it } from 'vitest'
import { Awareness, BroadcastQueue, Suspicion, remainingSuspicionTimeMs, suspicionTimeoutMs } from '../src/index.ts'

describe('suspicion timeout math', () => {
  // The same table as memberlist's TestSuspicion_remainingSuspicionTime (min 2 s, max 30 s).
  it.each([
    [0, 3, 0, 30_000],
    [1, 3, 2000, 14_000],
    [2, 3, 3000, 4810],
    [3, 3, 4000, -2000],
    [4, 3, 5000, -3000],
    [5, 3, 10_000, -8000],
  ])('c=%i k=%i elapsed=%i -> remaining %i ms', (c, k, elapsed, expected) => {
    expect(remainingSuspicionTimeMs(c, k, elapsed, 2000, 30_000)).toBe(expected)
  })

  it('never goes below the minimum and is the minimum without expected confirmations', () => {
    expect(suspicionTimeoutMs(10, 2, 5000, 30_000)).toBe(5000)
    expect(suspicionTimeoutMs(0, 0, 5000, 30_000)).toBe(5000)
  })

  it('falls monotonically as confirmations arrive', () => {
    let previous = Number.POSITIVE_INFINITY
    for (let c = 0; c <= 5; c++) {
      const t = suspicionTimeoutMs(c, 5, 1000, 60_000)
      expect(t).toBeLessThan(previous)
      previous = t
    }
    expect(previous).toBe(1000)
  })
})

describe('Suspicion', () => {
  it('counts each independent confirmer once, never the originator, up to k', () => {
    const s = new Suspicion({ incarnation: 3, startedAtMs: 100, originator: 7, expectedConfirmations: 2, minMs: 2000, maxMs: 30_000 })
    expect(s.deadlineMs).toBe(30_100)
    expect(s.confirm(7)).toBe(false)
    expect(s.confirm(8)).toBe(true)
    expect(s.confirm(8)).toBe(false)
    expect(s.deadlineMs).toBe(100 + suspicionTimeoutMs(1, 2, 2000, 30_000))
    expect(s.confirm(9)).toBe(true)
    expect(s.confirm(10)).toBe(false)
    expect(s.confirmations).toBe(2)
    expect(s.deadlineMs).toBe(2100)
  })
})

describe('Awareness', () => {
  it('stays within [0, max - 1] and scales timeouts by score + 1', () => {
    const a = new Awareness(8, true)
    a.applyDelta(-1)
    expect(a.score).toBe(0)
    a.applyDelta(3)
    expect(a.scale(500)).toBe(2000)
    a.applyDelta(100)
    expect(a.score).toBe(7)
    expect(a.scale(1000)).toBe(8000)
  })

  it('does nothing when disabled', () => {
    const a = new Awareness(8, false)
    a.applyDelta(5)
    expect(a.score).toBe(0)
    expect(a.scale(900)).toBe(900)
  })
})

describe('BroadcastQueue', () => {
  it('keeps one update per member, hands out least-sent first, and drops after the limit', () => {
    const q = new BroadcastQueue()
    q.push({ member: 1, incarnation: 0, state: 'suspect', reporter: 9 })
    q.push({ member: 2, incarnation: 0, state: 'alive', reporter: 2 })
    q.push({ member: 1, incarnation: 1, state: 'alive', reporter: 1 })
    expect(q.size).toBe(2)
    expect(q.take(1, 3)).toEqual([{ member: 1, incarnation: 1, state: 'alive', reporter: 1 }])
    expect(q.take(1, 3)).toEqual([{ member: 2, incarnation: 0, state: 'alive', reporter: 2 }])
    expect(q.take(8, 3).length).toBe(2)
    expect(q.take(8, 3).length).toBe(2)
    expect(q.size).toBe(0)
    expect(q.take(8, 3)).toEqual([])
  })

  it('can leave out the update about one member', () => {
    const q = new BroadcastQueue()
    q.push({ member: 1, incarnation: 0, state: 'dead', reporter: 9 })
    expect(q.take(8, 3, [1])).toEqual([])
  })
})
