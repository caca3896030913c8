import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

describe('SystemNode: the MS leader dies under SWIM (seeded)', () => {
  for (const seed of [3, 11]) {
    it(`seed ${seed}: excluded, rebuilt, data reads back, restarted and reintegrated, every replica right`, async () => {
      const sys = await startTestSystem({ seed, engines: 4, accessPoints: 3 })
      try {
        const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 })
        await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
        const c = await sys.client('tank', 'c1')
        for (let i = 0; i < 8; i++) await sys.settle(c.objects.update(c.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a'), value: te.encode(`v${i}`) }]))
        await c.close()
        // Commit records reach every replica first. (A rank restarted holding prepared DTXs whose
        // commit it never got refuses rebuild pushes with DER_INPROGRESS: its reintegration stalls.)
        for (const e of sys.engines) await sys.settle(e.node?.objectService(pool.uuid)?.flushCommits() ?? Promise.resolve())
        const leader = sys.msLeader()?.rank ?? 0
        await sys.crash(leader)
        let pq = await sys.settle(sys.anyNode().poolQuery({ id: 'tank' }))
        for (let i = 0; i < 80 && pq.targetStates.DOWNOUT < 2; i++) {
          await sys.settle(sys.runtime.timers.sleep(500))
          pq = await sys.settle(sys.anyNode().poolQuery({ id: 'tank' }))
        }
        expect(pq.targetStates.DOWNOUT, `seed ${seed} ${JSON.stringify(pq.rebuild)}`).toBe(2)
        const c2 = await sys.client('tank', 'c1')
        for (let i = 0; i < 8; i++) {
          const got = await sys.settle(c2.objects.fetch(c2.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a') }]))
          expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${seed} k${i}`).toBe(`v${i}`)
        }
        await c2.close()
        await sys.restart(leader)
        await sys.settle(sys.anyNode().poolReintegrate({ id: 'tank', rank: leader }))
        for (let i = 0; i < 80 && pq.targetStates.UPIN < 8; i++) {
          await sys.settle(sys.runtime.timers.sleep(500))
          pq = await sys.settle(sys.anyNode().poolQuery({ id: 'tank' }))
        }
        expect(pq.targetStates.UPIN, `seed ${seed} ${JSON.stringify(pq.targetStates)} ${JSON.stringify(pq.rebuild)} v${pq.mapVersion}`).toBe(8)
        expect(pool.uuid).toBe(pq.pool.uuid)
        // Every replica, the reintegrated one included, answers with the acknowledged values.
        const c3 = await sys.client('tank', 'c1')
        for (let i = 0; i < 8; i++) {
          for (const replica of [0, 1, 2]) {
            const got = await sys.settle(c3.objects.fetch(c3.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a') }], { replica }))
            expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${seed} k${i} replica ${replica}`).toBe(`v${i}`)
          }
        }
        await c3.close()
      } finally {
        await sys.stopAll()
      }
    }, 60_000)
  }
})
