import type { VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

describe('SystemNode: an MS leader dies during pool create', () => {
  for (const delayMs of [5, 25]) {
    it(`crash ${delayMs} ms into the create: the new leader finishes or rolls back, nothing stays creating`, async () => {
      const seed = 600 + delayMs
      const sys = await startTestSystem({ seed, engines: 4, accessPoints: 3, membership: false })
      try {
        const leader = sys.msLeader()
        expect(leader, `seed ${seed}`).toBeDefined()
        const via = sys.engines[3]?.node
        const outcome = (via ?? sys.anyNode()).poolCreate({ label: 'tank', sizeBytes: 1 << 20, nranks: 2 }).then(
          (r) => ({ ok: true as const, r }),
          (e: unknown) => ({ ok: false as const, e }),
        )
        await (sys.runtime as VirtualRuntime).advance(delayMs)
        await sys.crash(leader?.rank ?? 0)
        const result = await sys.settle(outcome, 120_000)
        const settled = await sys.waitFor(() => {
          const ms = sys.msLeader()?.managementService
          return ms !== undefined && ms.machine.poolList().every((p) => p.state === 'ready')
        }, 60_000)
        expect(settled, `seed ${seed}: ${JSON.stringify(sys.msLeader()?.managementService?.machine.poolList())}`).toBe(true)
        const pools = (await sys.settle(sys.anyNode().poolList())).pools
        if (result.ok) expect(pools.map((p) => p.uuid), `seed ${seed}`).toEqual([result.r.pool.uuid])
        expect(pools.length, `seed ${seed}`).toBeLessThanOrEqual(1)
        // The label is usable afterwards either way (on ranks that are up).
        await sys.settle(sys.anyNode().systemExclude({ ranks: [leader?.rank ?? 0] }))
        if (pools.length === 0) await sys.createPool({ label: 'tank', sizeBytes: 1 << 20, nranks: 2 })
        const pq = await sys.settle(sys.anyNode().poolQuery({ id: 'tank' }))
        expect(pq.pool.state, `seed ${seed}`).toBe('ready')
      } finally {
        await sys.stopAll()
      }
    })
  }
})
