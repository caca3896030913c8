// Replicated reads skip a replica whose target is being reintegrated (state UP: back in the
// layout, its data not caught up) while another replica is caught up (UPIN).
import { applyPoolMapOperation, groupLeader, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { key, startCluster, td, te } from './cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 0x0b1e55)

describe(`replicated reads and reintegration (seed ${seed})`, () => {
  it('a read never goes to the UP leader while an UPIN replica holds the data', async () => {
    const c = await startCluster({ seed, ranks: 4 })
    const oid = c.newOid('RP_3G1')
    const lead = groupLeader(placeObject(c.map, oid), 0)
    if (lead === undefined) throw new Error(`seed ${seed}: no leader`)
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v1') }]))
    // The leader's rank is excluded (alive, but out of the layout) and misses the next write.
    const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead.rank as number }])
    for (const e of c.engines) e.service.setPoolMap(v2)
    const client2 = c.newClient(v2)
    await c.settle(client2.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v2') }]))
    // It is reintegrated: back in the layout (as the group leader again) but UP, not caught up.
    const v3 = applyPoolMapOperation(v2, 'reintegrate', [{ rank: lead.rank as number }])
    for (const e of c.engines) e.service.setPoolMap(v3)
    const back = groupLeader(placeObject(v3, oid), 0)
    expect(back?.rank, `seed ${seed}: the reintegrated target leads the group again`).toBe(lead.rank)
    const client3 = c.newClient(v3)
    for (let i = 0; i < 3; i++) {
      const [v] = await c.settle(client3.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }]))
      expect(td.decode(v?.data), `seed ${seed} read ${i}`).toBe('v2')
    }
  })
})
