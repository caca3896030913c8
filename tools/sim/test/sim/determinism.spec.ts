import { describe, expect, it } from 'vitest'
import { runSimulation } from '../../src/sim/run.ts'

describe('simulator determinism', () => {
  it('the same seed twice gives the identical history, fault counts and verdicts', async () => {
    const seed = 4242
    const a = await runSimulation({ seed, faults: 'all', ticks: 200 })
    const b = await runSimulation({ seed, faults: 'all', ticks: 200 })
    expect(a.history.length, `seed ${seed}`).toBeGreaterThan(20)
    expect(JSON.stringify(b.history), `seed ${seed}: histories differ`).toBe(JSON.stringify(a.history))
    expect(b.faults, `seed ${seed}`).toEqual(a.faults)
    expect(b.verdicts, `seed ${seed}`).toEqual(a.verdicts)
    expect(b.virtualMs, `seed ${seed}`).toBe(a.virtualMs)
    const other = await runSimulation({ seed: seed + 1, faults: 'all', ticks: 200 })
    expect(JSON.stringify(other.history), 'another seed explores another run').not.toBe(JSON.stringify(a.history))
  }, 120_000)
})
