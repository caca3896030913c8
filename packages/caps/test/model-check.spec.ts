import { describe, expect, it } from 'vitest'
import { runModel } from './support/model.ts'
import { Sim, modes } from './support/sim.ts'

const baseSeed = Number(process.env.X_SEED ?? 1)

describe('randomized model check (P1-P4, P7-P10 checked at every step, P7 at the end)', () => {
  it('holds for hundreds of seeds: reads, buffered writes, size growth, crashes, partitions, delays', () => {
    const totals = { reads: 0, writes: 0, evictions: 0, refusedWrites: 0, dropped: 0, stats: 0, chmods: 0, getmodes: 0 }
    for (let i = 0; i < 300; i++) {
      const seed = baseSeed + i
      const sim = runModel(seed, { clients: 2 + (i % 3), inodes: 1 + (i % 2), durationMs: 40_000, crashes: true, partitions: true })
      expect(sim.violations, `seed ${seed} (re-run with X_SEED=${seed})`).toEqual([])
      // P7: once the workload is quiet, every revoke to a live, correct client has been answered.
      expect(sim.stuckRevokes(), `seed ${seed} (re-run with X_SEED=${seed})`).toEqual([])
      totals.reads += sim.events.reads
      totals.writes += sim.events.writes
      totals.evictions += sim.events.evictions
      totals.refusedWrites += sim.events.refusedWrites
      totals.dropped += sim.events.dropped
      totals.stats += sim.events.stats
      totals.chmods += sim.ops.filter((o) => o.kind === 'chmod').length
      totals.getmodes += sim.ops.filter((o) => o.kind === 'getmode').length
    }
    // The workload must actually exercise the interesting paths.
    expect(totals.reads).toBeGreaterThan(1000)
    expect(totals.writes).toBeGreaterThan(1000)
    expect(totals.evictions).toBeGreaterThan(10)
    expect(totals.refusedWrites).toBeGreaterThan(0)
    expect(totals.stats).toBeGreaterThan(100)
    expect(totals.chmods).toBeGreaterThan(100)
    expect(totals.getmodes).toBeGreaterThan(100)
  })
})

describe('revoke liveness (P7)', () => {
  it('on a healthy network every revoke is answered: no warnings, no evictions, nothing left revoking', () => {
    let reads = 0
    for (let i = 0; i < 60; i++) {
      const seed = baseSeed + 10_000 + i
      const sim = runModel(seed, { clients: 2 + (i % 3), inodes: 1 + (i % 2), durationMs: 40_000, crashes: false, partitions: false, healthy: true })
      expect(sim.violations, `seed ${seed}`).toEqual([])
      expect({ warnings: sim.events.warnings, evictions: sim.events.evictions, stuck: sim.stuckRevokes() }, `seed ${seed}`).toEqual({ warnings: 0, evictions: 0, stuck: [] })
      reads += sim.events.reads
    }
    expect(reads).toBeGreaterThan(500)
  })
})

describe('the checker can fail', () => {
  it('catches an adapter that reports writeback done before the data landed (a reader would miss buffered data)', () => {
    const sim = new Sim({ seed: 3, storeLatencyMs: 50, fault: 'writeback-done-before-landing' })
    sim.addClient('a')
    sim.addClient('b')
    sim.at(10, () => sim.open('a', 1, modes.rw))
    sim.at(20, () => sim.startOp('a', 'write', 1, 0, 4096))
    sim.at(30, () => sim.open('b', 1, modes.r))
    sim.at(30, () => sim.startOp('b', 'read', 1))
    sim.run(1_000)
    expect(sim.violations.join('\n')).toMatch(/missed a1 that a wrote/)
  })

  it('the same scenario with a correct adapter is clean', () => {
    const sim = new Sim({ seed: 3, storeLatencyMs: 50 })
    sim.addClient('a')
    sim.addClient('b')
    sim.at(10, () => sim.open('a', 1, modes.rw))
    sim.at(20, () => sim.startOp('a', 'write', 1, 0, 4096))
    sim.at(30, () => sim.open('b', 1, modes.r))
    sim.at(30, () => sim.startOp('b', 'read', 1))
    sim.run(1_000)
    expect(sim.violations).toEqual([])
    expect(sim.ops.find((o) => o.client === 'b')?.result).toBe('store {a1}')
  })
})
