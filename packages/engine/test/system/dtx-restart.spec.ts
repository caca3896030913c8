// A kill -9 leaves DTXs prepared in the engine's VOS (acknowledged writes whose commit records had
// not reached it). When the engine restarts, SystemNode must start the object service's DTX
// recovery: otherwise nothing resolves them (no read meets them on a target that is out of the
// map) and every rebuild push into their dkeys fails with DER_INPROGRESS, so reintegration never
// finishes (the real-process fault test's `dmg pool reintegrate` timed out on exactly this).
import { decodePoolMap, poolTargets } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { type TestSystem, startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

function preparedOn(sys: TestSystem, rank: number): string[] {
  const node = sys.node(rank)
  const out: string[] = []
  for (let tag = 0; tag < node.targets.size; tag++) out.push(...node.targets.get(tag).vos.listPreparedDtx())
  return out
}

async function targetStates(sys: TestSystem, rank: number): Promise<string[]> {
  const c = await sys.settle(sys.anyNode().poolConnect({ id: 'tank' }))
  await sys.settle(sys.anyNode().poolDisconnect({ id: 'tank', handle: c.handle }))
  return poolTargets(decodePoolMap(c.poolMap))
    .filter((t) => t.rank === rank)
    .map((t) => t.state)
}

describe('SystemNode: DTXs prepared at a crash', () => {
  it('are resolved by the restarted engine, so its reintegration (rebuild into it) completes', async () => {
    const seed = 1207
    const sys = await startTestSystem({ seed, engines: 3 })
    try {
      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 })
      await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
      const victim = sys.engines[2]?.rank ?? -1
      const c = await sys.client('tank', 'c1')
      const keys = 16
      for (let i = 0; i < keys; i++) await sys.settle(c.objects.update(c.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a'), value: te.encode(`v${i}`) }]))
      // Crash before the batched commit records (50 ms) reach the victim.
      const inDoubt = preparedOn(sys, victim).length
      expect(inDoubt, `seed ${seed}: the victim holds acknowledged writes prepared`).toBeGreaterThan(0)
      await sys.crash(victim)
      const survivor = (): number => sys.liveRanks()[0] ?? 0
      let excluded = false
      for (let i = 0; i < 60 && !excluded; i++) {
        const pq = await sys.settle(sys.node(survivor()).poolQuery({ id: 'tank' }))
        excluded = pq.targetStates.DOWNOUT === 2
        if (!excluded) await sys.settle(sys.runtime.timers.sleep(500))
      }
      expect(excluded, `seed ${seed}: rank ${victim} excluded and rebuilt`).toBe(true)
      // The others keep writing the same keys while it is out (a client with the new map).
      await c.close()
      const during = await sys.client('tank', 'c1')
      for (let i = 0; i < keys; i++) await sys.settle(during.objects.update(during.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a'), value: te.encode(`w${i}`) }]))

      const restarted = await sys.restart(victim)
      expect(await sys.waitFor(() => restarted.objectService(pool.uuid) !== undefined, 30_000), `seed ${seed}: the pool reopened`).toBe(true)
      const recovery = await sys.settle(restarted.objectService(pool.uuid)?.recovery ?? Promise.reject(new Error('no object service')))
      expect(recovery.found, `seed ${seed}: the restarted engine found its DTXs in doubt`).toBeGreaterThan(0)
      expect(recovery.pending, `seed ${seed}: ${JSON.stringify(recovery)}`).toBe(0)
      expect(preparedOn(sys, victim), `seed ${seed}: nothing stays prepared after the restart`).toEqual([])

      await sys.settle(sys.node(survivor()).poolReintegrate({ id: 'tank', rank: victim }))
      let states = await targetStates(sys, victim)
      for (let i = 0; i < 60 && !states.every((s) => s === 'UPIN'); i++) {
        await sys.settle(sys.runtime.timers.sleep(500))
        states = await targetStates(sys, victim)
      }
      expect(states, `seed ${seed}: reintegration finished`).toEqual(['UPIN', 'UPIN'])
      await during.close()
      const after = await sys.client('tank', 'c1')
      for (let i = 0; i < keys; i++) {
        const got = await sys.settle(after.objects.fetch(after.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a') }]))
        expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${seed} k${i}`).toBe(`w${i}`)
      }
      await after.close()
    } finally {
      await sys.stopAll()
    }
  })
})
