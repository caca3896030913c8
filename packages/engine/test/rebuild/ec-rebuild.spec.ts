import { Random } from '@x/common'
import { type ObjectId, type PoolMap, applyPoolMapOperation, placeObject } from '@x/protocol'
import { type Vos, vosEpochMax } from '@x/vos'
import { describe, expect, it } from 'vitest'
import { vosOid } from '../../src/object/index.ts'
import { type RebuildCluster, contUuid, key, startRebuildCluster, td, te } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 0xec12)

/** What a shard's VOS shows of an object at each epoch (arrays read over [0, 64) records; all-zero reads as absent). */
async function shardView(vos: Vos, oid: ObjectId, epochs: readonly bigint[]): Promise<string> {
  const out: string[] = []
  if (!vos.listContainers().includes(contUuid)) return ''
  const id = vosOid(oid)
  for (const epoch of epochs) {
    const dkeys = vos.listDkeys(contUuid, id, epoch).items
    for (const dkey of dkeys) {
      for (const akey of vos.listAkeys(contUuid, id, epoch, dkey).items) {
        const [single] = await vos.fetch(contUuid, id, epoch, dkey, [{ type: 'single', akey }])
        const [array] = await vos.fetch(contUuid, id, epoch, dkey, [{ type: 'array', akey, extents: [{ index: 0, count: 64 }] }])
        const sv = single?.type === 'single' && single.value !== undefined ? Buffer.from(single.value).toString('hex') : '-'
        const arr = array?.type === 'array' && array.recordSizeBytes > 0 && array.data.some((b) => b !== 0) ? Buffer.from(array.data).toString('hex') : '-'
        if (sv !== '-' || arr !== '-') out.push(`@${epoch} ${td.decode(dkey)}/${td.decode(akey)} sv=${sv} arr=${arr}`)
      }
    }
  }
  return out.join('\n')
}

interface Written {
  oid: ObjectId
  epochs: bigint[]
  model: Map<string, { a: string | undefined; arr: Uint8Array }>
}

async function writeEc(c: RebuildCluster, map: PoolMap, oclass: string, random: Random): Promise<Written> {
  const client = c.newClient(map)
  const oid = c.newOid(oclass)
  const epochs: bigint[] = []
  const model = new Map<string, { a: string | undefined; arr: Uint8Array }>()
  for (let d = 0; d < 3; d++) {
    const dkey = `d${d}`
    const arr = new Uint8Array(40)
    const first = random.bytes(30).map((b) => b | 1)
    arr.set(first, 0)
    epochs.push(await c.settle(client.update(oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(`${dkey}-v1`) }, { type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 0, count: 30, data: first }] }])))
    for (let w = 0; w < 3; w++) {
      const index = random.int(36)
      const count = 1 + random.int(40 - index - 1)
      const data = random.bytes(count).map((b) => b | 1)
      arr.set(data, index)
      epochs.push(await c.settle(client.update(oid, key(dkey), [{ type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index, count, data }] }])))
    }
    epochs.push(await c.settle(client.update(oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(`${dkey}-v2`) }])))
    model.set(dkey, { a: `${dkey}-v2`, arr })
  }
  epochs.push(await c.settle(client.punch(oid, 'akeys', [key('d1')], [key('a')])))
  const d1 = model.get('d1')
  if (d1 !== undefined) d1.a = undefined
  epochs.push(await c.settle(client.punch(oid, 'dkeys', [key('d2')])))
  model.delete('d2')
  return { oid, epochs, model }
}

describe(`erasure-coded rebuild (seed ${seed})`, () => {
  for (const [oclass, ranks] of [
    ['EC_2P1G1', 4],
    ['EC_4P2G1', 7],
  ] as const) {
    it(`${oclass}: the lost shard (data or parity) is rebuilt from the survivors and reads as the lost one did at every epoch`, async () => {
      const c = await startRebuildCluster({ seed, ranks, targetsPerRank: 1 })
      const random = new Random(seed)
      const objects: Written[] = []
      for (let n = 0; n < 8; n++) objects.push(await writeEc(c, c.initialMap, oclass, random))
      await c.runtime.advance(500)
      const victim = 0
      const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: victim }])
      await c.crash(victim)
      c.setMap(excluded)
      const stats = await c.rebuildAll(c.initialMap, excluded)
      expect([...stats.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed}`).toBe(0)
      const lostVos = c.engines[victim]?.targets.get(0).vos as Vos
      const roles = new Set<string>()
      let compared = 0
      for (const o of objects) {
        const before = placeObject(c.initialMap, o.oid)
        const after = placeObject(excluded, o.oid)
        const lost = before.groups[0]?.shards.find((s) => s.rank === victim)
        if (lost === undefined) continue
        roles.add(lost.role)
        const dest = after.groups[0]?.shards[lost.position]
        expect(dest?.rank, `seed ${seed}`).not.toBe(victim)
        const rebuilt = c.engines[dest?.rank as number]?.targets.get(dest?.targetIndex as number).vos as Vos
        const epochs = [...o.epochs, vosEpochMax]
        const want = await shardView(lostVos, o.oid, epochs)
        expect(want.length, `seed ${seed}: the lost ${lost.role} shard held data`).toBeGreaterThan(0)
        expect(await shardView(rebuilt, o.oid, epochs), `seed ${seed} ${oclass} ${lost.role} shard ${lost.position}`).toBe(want)
        compared++
      }
      expect(compared, `seed ${seed}: the victim held shards`).toBeGreaterThan(0)
      expect([...roles].sort(), `seed ${seed}: both a data and a parity shard were lost`).toEqual(['data', 'parity'])
      // Through the object service, with the new map, every object reads back.
      const client = c.newClient(excluded)
      for (const o of objects) {
        for (const [dkey, v] of o.model) {
          const [a, arr] = await c.settle(client.fetch(o.oid, key(dkey), [{ type: 'single', akey: key('a') }, { type: 'array', akey: key('arr'), extents: [{ index: 0, count: 40 }] }]))
          expect(a?.recordSizeBytes === 0 ? undefined : td.decode(a?.data), `seed ${seed} ${dkey}`).toBe(v.a)
          expect(Buffer.from(arr?.data ?? []).toString('hex'), `seed ${seed} ${dkey}`).toBe(Buffer.from(v.arr).toString('hex'))
        }
      }
    })
  }

  it('EC_2P1G1 drain: each shard of the drained rank is copied by its own holder and reads the same', async () => {
    const c = await startRebuildCluster({ seed: seed + 1, ranks: 4, targetsPerRank: 1 })
    const random = new Random(seed + 1)
    const objects: Written[] = []
    for (let n = 0; n < 6; n++) objects.push(await writeEc(c, c.initialMap, 'EC_2P1G1', random))
    await c.runtime.advance(500)
    const drained = 1
    const draining = applyPoolMapOperation(c.initialMap, 'drain', [{ rank: drained }])
    c.setMap(draining)
    const out = applyPoolMapOperation(draining, 'rebuildDone', [{ rank: drained }])
    const stats = await c.rebuildAll(draining, out)
    expect([...stats.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed + 1}`).toBe(0)
    expect(stats.get(drained)?.objects, `seed ${seed + 1}: the drained rank pushed its own shards`).toBeGreaterThan(0)
    const source = c.engines[drained]?.targets.get(0).vos as Vos
    let compared = 0
    for (const o of objects) {
      const own = placeObject(draining, o.oid).groups[0]?.shards.find((s) => s.rank === drained)
      if (own === undefined) continue
      const dest = placeObject(out, o.oid).groups[0]?.shards[own.position]
      const copy = c.engines[dest?.rank as number]?.targets.get(dest?.targetIndex as number).vos as Vos
      const epochs = [...o.epochs, vosEpochMax]
      expect(await shardView(copy, o.oid, epochs), `seed ${seed + 1} ${own.role} shard ${own.position}`).toBe(await shardView(source, o.oid, epochs))
      compared++
    }
    expect(compared, `seed ${seed + 1}`).toBeGreaterThan(0)
  })
})
