import { decodePoolMap, poolTargets } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { type TestSystem, startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

async function readAll(sys: TestSystem, keys: number, what: string): Promise<void> {
  const c = await sys.client('tank', 'c1')
  try {
    for (let i = 0; i < keys; i++) {
      const got = await sys.settle(c.objects.fetch(c.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a') }]))
      expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${sys.seed} ${what} k${i}`).toBe(`v${i}`)
    }
  } finally {
    await c.close()
  }
}

async function targetStates(sys: TestSystem, rank: number): Promise<string[]> {
  const c = await sys.settle(sys.anyNode().poolConnect({ id: 'tank' }))
  await sys.settle(sys.anyNode().poolDisconnect({ id: 'tank', handle: c.handle }))
  return poolTargets(decodePoolMap(c.poolMap))
    .filter((t) => t.rank === rank)
    .map((t) => t.state)
}

describe('SystemNode: a rank dies', () => {
  it('SWIM reports it, the MS excludes it, the map bumps, rebuild runs; it restarts and is reintegrated', async () => {
    const seed = 301
    const sys = await startTestSystem({ seed, engines: 4, accessPoints: 3 })
    try {
      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 })
      expect(pool.tgtRanks.length).toBe(4)
      await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
      const c = await sys.client('tank', 'c1')
      const keys = 12
      for (let i = 0; i < keys; i++) await sys.settle(c.objects.update(c.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a'), value: te.encode(`v${i}`) }]))
      await c.close()
      for (const e of sys.engines) await sys.settle(e.node?.objectService(pool.uuid)?.flushCommits() ?? Promise.resolve())

      const victim = sys.engines[3]?.rank ?? -1
      await sys.crash(victim)
      let excluded = false
      const survivor = (): number => sys.liveRanks()[0] ?? 0
      for (let i = 0; i < 60 && !excluded; i++) {
        const q = await sys.settle(sys.node(survivor()).systemQuery())
        excluded = q.members.find((m) => m.rank === victim)?.state === 'excluded'
        if (!excluded) await sys.settle(sys.runtime.timers.sleep(500))
      }
      expect(excluded, `seed ${seed}: rank ${victim} excluded by SWIM + MS`).toBe(true)
      let pq = await sys.settle(sys.node(survivor()).poolQuery({ id: 'tank' }))
      for (let i = 0; i < 60 && pq.targetStates.DOWNOUT < 2; i++) {
        await sys.settle(sys.runtime.timers.sleep(500))
        pq = await sys.settle(sys.node(survivor()).poolQuery({ id: 'tank' }))
      }
      expect(pq.mapVersion, `seed ${seed}`).toBeGreaterThanOrEqual(3)
      expect(pq.targetStates.DOWNOUT, `seed ${seed}: ${JSON.stringify(pq.targetStates)} rebuild ${JSON.stringify(pq.rebuild)}`).toBe(2)
      expect(pq.rebuild.state, `seed ${seed}`).toBe('done')
      expect(pq.rebuild.objects, `seed ${seed}: rebuild pushed the lost shards`).toBeGreaterThan(0)
      expect(pq.activeTargets).toBe(6)
      await readAll(sys, keys, 'after exclusion')

      await sys.restart(victim)
      const member = (await sys.settle(sys.node(victim).systemQuery({ ranks: [victim] }))).members[0]
      expect(member?.state, `seed ${seed}`).toBe('joined')
      expect(member?.incarnation, `seed ${seed}`).toBe(2)
      const back = await sys.settle(sys.node(survivor()).poolReintegrate({ id: 'tank', rank: victim }))
      expect(back.mapVersion, `seed ${seed}`).toBe(pq.mapVersion + 1)
      let states = await targetStates(sys, victim)
      for (let i = 0; i < 60 && !states.every((s) => s === 'UPIN'); i++) {
        await sys.settle(sys.runtime.timers.sleep(500))
        states = await targetStates(sys, victim)
      }
      expect(states, `seed ${seed}`).toEqual(['UPIN', 'UPIN'])
      await readAll(sys, keys, 'after reintegration')
      const rebuilt = sys.node(victim).objectService(pool.uuid)
      expect(rebuilt?.poolMap.version, `seed ${seed}`).toBeGreaterThanOrEqual(back.mapVersion + 1)
    } finally {
      await sys.stopAll()
    }
  })

  it('without rebuild, an exclusion still bumps the map and leaves the targets DOWN', async () => {
    const seed = 302
    const sys = await startTestSystem({ seed, engines: 3, membership: false, rebuild: false })
    try {
      await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
      const res = await sys.settle(sys.anyNode().systemExclude({ ranks: [2] }))
      expect(res.mapVersion, `seed ${seed}`).toBeGreaterThan(0)
      const pq = await sys.settle(sys.node(0).poolQuery({ id: 'tank' }))
      expect(pq.mapVersion, `seed ${seed}`).toBe(2)
      expect(pq.targetStates.DOWN, `seed ${seed}`).toBe(2)
      const done = await sys.waitFor(() => sys.engines.every((e) => e.node === undefined || (e.node.objectService(pq.pool.uuid)?.poolMap.version ?? 0) === 2), 10_000)
      expect(done, `seed ${seed}: map pushed to every rank`).toBe(true)
      await sys.settle(sys.runtime.timers.sleep(1_000))
      const later = await sys.settle(sys.node(0).poolQuery({ id: 'tank' }))
      expect(later.rebuild.state, `seed ${seed}`).toBe('unavailable')
      expect(later.targetStates.DOWN).toBe(2)
    } finally {
      await sys.stopAll()
    }
  })
})
