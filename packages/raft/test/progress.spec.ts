import { Random } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Inflights, MemoryStorage, Progress, RawNode } from '../src/index.ts'

describe('flow control', () => {
  it('inflights: a bounded ring freed by acknowledgement', () => {
    const w = new Inflights(3)
    w.add(5)
    w.add(7)
    w.add(9)
    expect(w.full()).toBe(true)
    expect(() => w.add(10)).toThrow()
    w.freeLE(7)
    expect(w.count).toBe(1)
    w.add(11)
    w.add(12)
    expect(w.full()).toBe(true)
    w.freeFirstOne()
    expect(w.count).toBe(2)
    w.freeLE(100)
    expect(w.count).toBe(0)
  })

  it('progress: probe pauses after one append, replicate pipelines up to the window, stale rejections are ignored', () => {
    const p = new Progress(11, 2, false)
    expect(p.isPaused()).toBe(false)
    p.probeSent = true
    expect(p.isPaused()).toBe(true)
    expect(p.maybeUpdate(10)).toBe(true)
    p.becomeReplicate()
    expect(p.next).toBe(11)
    p.optimisticUpdate(15)
    p.inflights.add(15)
    p.optimisticUpdate(20)
    p.inflights.add(20)
    expect(p.isPaused()).toBe(true)
    expect(p.maybeDecrTo(9, 0)).toBe(false) // below match: stale
    expect(p.maybeDecrTo(15, 0)).toBe(true)
    expect(p.next).toBe(11)
    p.becomeSnapshot(30)
    expect(p.isPaused()).toBe(true)
    p.becomeProbe()
    expect(p.next).toBe(31)
  })

  it('configuration errors are DER_INVAL', () => {
    const base = { id: 1, storage: MemoryStorage.withVoters([1]), random: new Random(1) }
    for (const bad of [{ id: 0 }, { electionTicks: 1, heartbeatTicks: 1 }, { maxInflightMsgs: 0 }, { maxSnapshotChunkBytes: 0 }, { heartbeatTicks: 0.5 }]) {
      expect(() => new RawNode({ ...base, ...bad }), JSON.stringify(bad)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    }
  })
})
