import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import type { TreeTopology } from '../src/index.ts'
import { errorName, makeCluster, settle } from './helpers.ts'

const topologies: TreeTopology[] = [{ type: 'flat' }, { type: 'kary', branchRatio: 2 }, { type: 'kary', branchRatio: 3 }, { type: 'knomial', branchRatio: 2 }, { type: 'knomial', branchRatio: 4 }]

describe('collective RPCs', () => {
  it.each(topologies.flatMap((t) => [0, 5].map((root) => [t, root] as const)))('aggregates every rank over %o rooted at %i', async (topology, root) => {
    const seed = 77 + root
    const c = await makeCluster(seed, { ranks: 8, fabric: { latencyMs: 1 } })
    const result = c.clientContext.corpc(c.rpcs.gather, { topology, root }, 10)
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.failures, `seed ${seed}`).toEqual([])
    expect(r.output, `seed ${seed}`).toEqual({ sum: 8 * 10 + 28, ranks: [0, 1, 2, 3, 4, 5, 6, 7] })
  })

  it('skips excluded ranks (their handlers never run)', async () => {
    const seed = 78
    const c = await makeCluster(seed, { ranks: 8 })
    const ran: number[] = []
    for (const server of c.servers) {
      server.handle(c.rpcs.gather, (rpc) => {
        ran.push(server.rank as number)
        return { sum: rpc.input, ranks: [server.rank as number] }
      })
    }
    const result = c.clientContext.corpc(c.rpcs.gather, { excluded: [0, 2, 5], topology: { type: 'knomial', branchRatio: 2 } }, 1)
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.output?.ranks, `seed ${seed}`).toEqual([1, 3, 4, 6, 7])
    expect(ran.sort(), `seed ${seed}`).toEqual([1, 3, 4, 6, 7])
  })

  it('reports failing handlers in the aggregate and still forwards to their children', async () => {
    const seed = 79
    const c = await makeCluster(seed, { ranks: 8, failGatherOn: new Set([3, 6]) })
    const result = c.clientContext.corpc(c.rpcs.gather, { topology: { type: 'knomial', branchRatio: 2 } }, 0)
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.output?.ranks, `seed ${seed}`).toEqual([0, 1, 2, 4, 5, 7])
    expect(r.failures.map((f) => [f.rank, f.error.name]).sort(), `seed ${seed}`).toEqual([
      [3, 'DER_IO'],
      [6, 'DER_IO'],
    ])
  })

  it.each([101, 202, 303, 404])('reports a crashed child and its lost subtree without hanging (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { ranks: 8, fabric: { latencyMs: 2 } })
    c.fabric.crash('memory://rank-1')
    const start = c.runtime.nowMs
    const result = settle(c.clientContext.corpc(c.rpcs.gather, { topology: { type: 'knomial', branchRatio: 2 } }, 0, { timeoutMs: 5000 }))
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.ok, `seed ${seed}: ${errorName(r)}`).toBe(true)
    if (!r.ok) return
    // Rank 1's subtree is 1 -> [3, 5], 3 -> [7].
    expect(r.value.output?.ranks, `seed ${seed}`).toEqual([0, 2, 4, 6])
    expect(r.value.failures.map((f) => [f.rank, f.error.name]), `seed ${seed}`).toEqual([[1, 'DER_UNREACH']])
    expect(c.runtime.nowMs - start, `seed ${seed}`).toBeLessThan(5000)
  })

  it.each([11, 12, 13])('reports a silent child as DER_TIMEDOUT before the caller times out (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { ranks: 8, fabric: { latencyMs: 1 } })
    c.fabric.partition('memory://rank-2', 'memory://rank-0')
    let doneAt = -1
    const start = c.runtime.nowMs
    const result = settle(c.clientContext.corpc(c.rpcs.gather, { topology: { type: 'knomial', branchRatio: 2 } }, 0, { timeoutMs: 1000 })).then((o) => {
      doneAt = c.runtime.nowMs
      return o
    })
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.ok, `seed ${seed}: ${errorName(r)}`).toBe(true)
    if (!r.ok) return
    expect(r.value.output?.ranks, `seed ${seed}`).toEqual([0, 1, 3, 4, 5, 7])
    expect(r.value.failures.map((f) => f.rank), `seed ${seed}`).toEqual([2])
    expect(['DER_TIMEDOUT', 'DER_UNREACH'], `seed ${seed}`).toContain(r.value.failures[0]?.error.name)
    expect(doneAt - start, `seed ${seed}`).toBeLessThan(1000)
  })

  it('peer crash in the middle of a corpc: every call completes, none hangs', async () => {
    for (const seed of [5, 6, 7, 8, 9]) {
      const c = await makeCluster(seed, { ranks: 8, fabric: { latencyMs: 3, faults: { reorderRate: 0.2, maxDelayMs: 10 } } })
      const calls = Array.from({ length: 20 }, (_, i) => settle(c.clientContext.corpc(c.rpcs.gather, { topology: { type: 'kary', branchRatio: 2 }, root: i % 8 }, i, { timeoutMs: 2000 })))
      c.runtime.timers.schedule(4 + (seed % 5), () => c.fabric.crash(`memory://rank-${seed % 8}`))
      await c.runtime.runUntilIdle()
      for (const o of await Promise.all(calls)) {
        if (o.ok) {
          const answered = new Set(o.value.output?.ranks ?? [])
          const failed = new Set(o.value.failures.map((f) => f.rank))
          expect(answered.size + failed.size, `seed ${seed}: answered or failed`).toBeLessThanOrEqual(8)
          for (const r of failed) expect(answered.has(r), `seed ${seed}`).toBe(false)
        } else {
          expect(['DER_UNREACH', 'DER_TIMEDOUT'], `seed ${seed}`).toContain(errorName(o))
        }
      }
      expect(c.clientContext.inflightCount, `seed ${seed}`).toBe(0)
    }
  })

  it('refuses a corpc built on a stale group version with DER_GRPVER', async () => {
    const c = await makeCluster(14, { ranks: 4 })
    c.client.primaryGroup.addRank(9, ['memory://rank-9'])
    const result = settle(c.clientContext.corpc(c.rpcs.gather, { excluded: [9] }, 0))
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.ok).toBe(false)
    if (!r.ok) expect(isDerError(r.error, 'DER_GRPVER')).toBe(true)
  })
})
