// While an excluded rank's targets are DOWN, the shards CRUSH remapped onto other targets are
// still being filled by rebuild: a replicated read must not be served by one of them (it would
// miss acknowledged writes: the real-process fault test's checker saw `get -> null` for a key
// written long before). With rebuild off the targets stay DOWN, so the window stays open.
import { ObjectType, generateObjectId, groupLeader, parseObjectClass, placeObject, poolMapFit } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

describe('SystemNode: reads while a rebuild is pending', () => {
  it('replicated reads skip the remapped, not yet rebuilt shards and return every acknowledged write', async () => {
    const seed = 1208
    const sys = await startTestSystem({ seed, engines: 3, membership: false, rebuild: false })
    try {
      await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 })
      await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
      const before = await sys.client('tank', 'c1')
      const oids = Array.from({ length: 8 }, (_, i) => generateObjectId({ lo: BigInt(1000 + i), type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(before.map) }))
      for (const oid of oids) await sys.settle(before.objects.update(oid, te.encode('k'), [{ type: 'single', akey: te.encode('a'), value: te.encode(`v${oid.lo}`) }]))
      await before.close()
      await sys.settle(sys.node(0).systemExclude({ ranks: [2] }))
      const pq = await sys.settle(sys.node(0).poolQuery({ id: 'tank' }))
      expect(pq.targetStates.DOWN, `seed ${seed}`).toBe(2)
      const c = await sys.client('tank', 'c1', 0)
      try {
        const remappedLeaders = oids.filter((oid) => groupLeader(placeObject(c.map, oid), 0)?.remapped === true)
        expect(remappedLeaders.length, `seed ${seed}: some objects now lead from a remapped shard`).toBeGreaterThan(0)
        for (const oid of oids) {
          const got = await sys.settle(c.objects.fetch(oid, te.encode('k'), [{ type: 'single', akey: te.encode('a') }]))
          const value = got[0] === undefined || got[0].recordSizeBytes === 0 ? undefined : td.decode(got[0].data)
          expect(value, `seed ${seed}: object ${oid.lo} read while rank 2's targets are DOWN`).toBe(`v${oid.lo}`)
        }
      } finally {
        await c.close()
      }
    } finally {
      await sys.stopAll()
    }
  })
})
