import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

async function scenario(seed: number): Promise<string> {
  const sys = await startTestSystem({ seed, engines: 3 })
  try {
    const trace: unknown[] = []
    trace.push(sys.engines.map((e) => e.rank), sys.msLeader()?.rank)
    const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
    const { container } = await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_2GX' })
    trace.push(pool, container, sys.runtime.clock.monotonicMs())
    await sys.crash(sys.msLeader()?.rank ?? 0)
    const q = await sys.settle(sys.anyNode().poolList())
    trace.push(q, sys.msLeader()?.rank, sys.runtime.clock.monotonicMs())
    return JSON.stringify(trace)
  } finally {
    await sys.stopAll()
  }
}

describe('SystemNode: determinism', () => {
  it('the same seed gives the same ranks, leaders, UUIDs and virtual times', async () => {
    const seed = 701
    const a = await scenario(seed)
    const b = await scenario(seed)
    expect(b, `seed ${seed}`).toBe(a)
    const c = await scenario(seed + 1)
    expect(c, `seed ${seed + 1} differs`).not.toBe(a)
  })
})
