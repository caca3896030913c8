// Seeded randomized cluster tests on a simulated network (drop, delay, duplicate, reorder,
// partitions, crash and restart from durable storage) with a linearizability check of a replicated
// key-value register. X_SEEDS=5000 runs more seeds (nightly); X_SEED=n runs one seed.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConfChange, FileStorage, type Storage } from '../src/index.ts'
import { checkHistory } from './support/linearizability.ts'
import { SimCluster, type SimOptions } from './support/sim.ts'

export interface ScenarioResult {
  violations: string[]
  committed: number
  ops: number
  snapshots: number
  confChanges: number
}

export function runScenario(seed: number, nodes = 3, spares = 0, extra?: Pick<SimOptions, 'storageFactory' | 'reopenStorage' | 'leaseReads'>): ScenarioResult {
  const sim = new SimCluster({ seed, nodes, spares, ...extra })
  // Membership changes when there is a spare node: add it as a learner, promote it, then remove a
  // random voter (possibly the leader).
  const spare = nodes + 1
  const plan: ConfChange[] = spares > 0 ? [{ type: 'addLearner', nodeId: spare }, { type: 'addNode', nodeId: spare }] : []
  let confChanges = 0
  const rng = sim.rng.fork()
  const keys = ['a', 'b', 'c']
  const clients = 3
  const seqs = new Array<number>(clients + 1).fill(0)
  const faultPhaseMs = 2500
  // Client load: each client issues an operation every 10-40 ms during the fault phase.
  for (let c = 1; c <= clients; c++) {
    const client = c
    const loop = (): void => {
      if (sim.runtime.nowMs > faultPhaseMs) return
      const target = rng.chance(0.7) ? (sim.leader()?.id ?? rng.intBetween(1, nodes)) : rng.intBetween(1, nodes)
      const key = rng.pick(keys)
      if (rng.chance(0.5)) sim.put(client, ++(seqs[client] as number), target, key, 200)
      else sim.get(client, target, key, 200)
      sim.runtime.timers.schedule(rng.intBetween(10, 40), loop)
    }
    sim.runtime.timers.schedule(rng.intBetween(50, 100), loop)
  }
  // Faults: every 100-300 ms one of: partition, heal, crash, restart, or a change of loss rate.
  const faults = (): void => {
    if (sim.runtime.nowMs > faultPhaseMs) return
    const roll = rng.int(plan.length > 0 ? 7 : 6)
    const ids = Array.from({ length: nodes + spares }, (_, i) => i + 1)
    if (roll === 0) {
      const shuffled = rng.shuffle([...ids])
      const cut = rng.intBetween(1, nodes - 1)
      sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)])
    } else if (roll === 1) sim.heal()
    else if (roll === 2) {
      const up = ids.filter((id) => sim.isUp(id))
      if (up.length - 1 > Math.floor((nodes + spares) / 2)) sim.crash(rng.pick(up))
    } else if (roll === 3) {
      for (const id of ids) sim.restart(id)
    } else if (roll === 4) sim.dropRate = rng.pick([0, 0.05, 0.2])
    else if (roll === 5) sim.maxDelayMs = rng.pick([2, 15, 60])
    else {
      const next = plan[0] as ConfChange
      if (sim.proposeConfChange(next)) {
        plan.shift()
        confChanges++
        if (next.type === 'addNode') plan.push({ type: 'removeNode', nodeId: rng.intBetween(1, nodes) })
      }
    }
    sim.runtime.timers.schedule(rng.intBetween(100, 300), faults)
  }
  sim.runtime.timers.schedule(rng.intBetween(100, 300), faults)
  sim.runtime.advanceSync(faultPhaseMs + 250)
  // Heal everything and let the cluster converge.
  sim.faultsOn = false
  sim.heal()
  for (let id = 1; id <= nodes + spares; id++) sim.restart(id)
  sim.runtime.advanceSync(1000)
  sim.nudge()
  sim.runtime.advanceSync(500)
  if (sim.leader() === undefined) sim.violations.push(`seed ${seed}: no leader after healing`)
  sim.checkConvergence()
  const lin = checkHistory(sim.history)
  if (!lin.ok) sim.violations.push(`seed ${seed}: history of key ${lin.key} is not linearizable`)
  return { violations: sim.violations, committed: sim.appliedLog.size, ops: sim.history.length, snapshots: sim.snapshotsSent, confChanges }
}

const single = process.env['X_SEED']
const seedCount = Number(process.env['X_SEEDS'] ?? 300)
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: seedCount }, (_, i) => i + 1)

describe('randomized cluster (simulated network, crashes, partitions)', () => {
  // Chunks of 100 seeds per test keep each under the test timeout on nightly runs (X_SEEDS=5000).
  const chunkSize = 100
  const totals = { committed: 0, ops: 0, snapshots: 0, confChanges: 0, seeds: 0 }
  for (let from = 0; from < seeds.length; from += chunkSize) {
    const chunk = seeds.slice(from, from + chunkSize)
    it(`seeds ${chunk[0]}..${chunk[chunk.length - 1]}: election safety, log matching, leader completeness, state machine safety, convergence, linearizable KV`, () => {
      for (const seed of chunk) {
        // Every fifth seed reads through leader leases (tick clocks drifting within the bound).
        const r = runScenario(seed, seed % 4 === 0 ? 5 : 3, seed % 3 === 0 ? 1 : 0, { leaseReads: seed % 5 === 2 })
        expect(r.violations, `seed ${seed} (rerun with X_SEED=${seed})`).toEqual([])
        totals.committed += r.committed
        totals.ops += r.ops
        totals.snapshots += r.snapshots
        totals.confChanges += r.confChanges
        totals.seeds++
      }
    }, 300_000)
  }
  it('the runs did real work: entries committed, client operations completed, snapshots shipped, membership changed', () => {
    expect(totals.committed).toBeGreaterThan(totals.seeds * 10)
    expect(totals.ops).toBeGreaterThan(totals.seeds * 10)
    if (totals.seeds >= 20) {
      expect(totals.snapshots).toBeGreaterThan(0)
      expect(totals.confChanges).toBeGreaterThan(0)
    }
  })
})

describe('randomized cluster on FileStorage (crash = lose unsynced writes, restart = recover from disk)', () => {
  const fileSeeds = single !== undefined ? [Number(single)] : Array.from({ length: Number(process.env['X_FILE_SEEDS'] ?? 8) }, (_, i) => 10_001 + i)
  it(`${fileSeeds.length} seeds (X_FILE_SEEDS for more): same checks as above`, () => {
    for (const seed of fileSeeds) {
      const root = mkdtempSync(join(tmpdir(), 'raft-sim-'))
      try {
        const r = runScenario(seed, 3, seed % 2, {
          storageFactory: (id) => FileStorage.open(join(root, `n${id}`), { initialConfState: { voters: [1, 2, 3], learners: [] }, segmentBytes: 4096, noSync: true }),
          reopenStorage: (id, crashed: Storage) => {
            ;(crashed as FileStorage).abandon()
            return FileStorage.open(join(root, `n${id}`), { segmentBytes: 4096, noSync: true })
          },
        })
        expect(r.violations, `seed ${seed} (rerun with X_SEED=${seed})`).toEqual([])
        expect(r.committed, `seed ${seed}`).toBeGreaterThan(10)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }
  }, 300_000)
})
