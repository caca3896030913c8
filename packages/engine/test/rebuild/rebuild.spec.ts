import { Random } from '@x/common'
import { type ObjectId, type PoolMap, applyPoolMapOperation, dkeyGroup, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import type { ObjectClient } from '../../src/object/index.ts'
import { type RebuildCluster, contUuid, key, startRebuildCluster, td, te } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 0x12eb)

/** What a reader must see: per dkey, its single value 'a' and array 'arr' (undefined: absent). */
type Model = Map<string, { a: string | undefined; arr: string | undefined }>

/** Writes a workload with overwrites, arrays, a dkey punch and an akey punch; returns its model. */
async function writeWorkload(c: RebuildCluster, client: ObjectClient, oid: ObjectId, tag: string, dkeys = 6): Promise<Model> {
  const model: Model = new Map()
  for (let i = 0; i < dkeys; i++) {
    const dkey = key(`d${i}`)
    await c.settle(client.update(oid, dkey, [{ type: 'single', akey: key('a'), value: te.encode(`${tag}-${i}-v1`) }]))
    await c.settle(
      client.update(oid, dkey, [
        { type: 'single', akey: key('a'), value: te.encode(`${tag}-${i}-v2`) },
        { type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 0, count: 4, data: te.encode(`${i % 10}abc`) }] },
      ]),
    )
    await c.settle(client.update(oid, dkey, [{ type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 2, count: 2, data: te.encode('XY') }] }]))
    model.set(`d${i}`, { a: `${tag}-${i}-v2`, arr: `${i % 10}aXY` })
  }
  await c.settle(client.punch(oid, 'dkeys', [key('d0')]))
  model.set('d0', { a: undefined, arr: undefined })
  await c.settle(client.punch(oid, 'akeys', [key('d1')], [key('a')]))
  model.set('d1', { a: undefined, arr: model.get('d1')?.arr })
  return model
}

/** Checks every dkey of the model from every replica position of its group under `map`. */
async function verify(c: RebuildCluster, map: PoolMap, oid: ObjectId, model: Model, what: string): Promise<void> {
  const client = c.newClient(map)
  const layout = placeObject(map, oid)
  for (const [dkey, expected] of model) {
    const group = layout.groups[dkeyGroup(oid, key(dkey))]
    for (const shard of group?.shards ?? []) {
      if (shard.targetId === undefined) continue
      const [a, arr] = await c.settle(client.fetch(oid, key(dkey), [{ type: 'single', akey: key('a') }, { type: 'array', akey: key('arr'), extents: [{ index: 0, count: 4 }] }], { replica: shard.position }))
      const where = `seed ${c.seed} ${what} ${layout.oclass.name} ${dkey} shard ${shard.shard} on ${shard.rank}:${shard.targetIndex}${shard.remapped ? " (rebuilt)" : ""}`
      expect(a?.recordSizeBytes === 0 ? undefined : td.decode(a?.data), where).toBe(expected.a)
      // A punched array reads as holes (zeros); the workload never writes zero bytes.
      expect(arr === undefined || arr.recordSizeBytes === 0 || arr.data.every((b) => b === 0) ? undefined : td.decode(arr.data), where).toBe(expected.arr)
    }
  }
}

/** The live dkeys of a model. */
const liveDkeys = (model: Model): string[] => [...model].filter(([, v]) => v.a !== undefined || v.arr !== undefined).map(([k]) => k).sort()

describe(`rebuild after an exclusion (seed ${seed})`, () => {
  it('RP_2G1, RP_3G1, RP_3GX: with the new map every object reads back fully from its new placement, the old holder gone', async () => {
    const c = await startRebuildCluster({ seed, ranks: 5 })
    const client = c.newClient(c.initialMap)
    const objects: { oid: ObjectId; model: Model; oclass: string }[] = []
    for (const oclass of ['RP_2G1', 'RP_3G1', 'RP_3GX']) {
      for (let n = 0; n < 4; n++) {
        const oid = c.newOid(oclass)
        objects.push({ oid, oclass, model: await writeWorkload(c, client, oid, `${oclass}.${n}`, oclass === 'RP_3GX' ? 12 : 6) })
      }
    }
    await c.runtime.advance(500) // batched commits go out
    // The victim: a rank that holds a shard of the first object.
    const victim = placeObject(c.initialMap, objects[0]?.oid as ObjectId).groups[0]?.shards[0]?.rank as number
    const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: victim }])
    await c.crash(victim)
    c.setMap(excluded)
    const stats = await c.rebuildAll(c.initialMap, excluded)
    const total = [...stats.values()].reduce((s, x) => ({ objects: s.objects + x.objects, records: s.records + x.records, failures: s.failures + x.failures }), { objects: 0, records: 0, failures: 0 })
    expect(total.failures, `seed ${seed}`).toBe(0)
    // Every object with a shard on the victim was pushed once per moved shard.
    let moved = 0
    for (const { oid } of objects) {
      const before = placeObject(c.initialMap, oid)
      moved += before.groups.reduce((n, g) => n + g.shards.filter((s) => s.rank === victim).length, 0)
    }
    expect(moved, `seed ${seed}: the victim held shards`).toBeGreaterThan(0)
    expect(total.objects, `seed ${seed}`).toBeGreaterThan(0)
    expect(total.records, `seed ${seed}`).toBeGreaterThan(0)
    for (const e of c.engines.filter((x) => x.alive)) expect(e.rebuild.progress.state, `seed ${seed} rank ${e.rank}`).toBe('done')
    for (const { oid, model, oclass } of objects) {
      const layout = placeObject(excluded, oid)
      expect(layout.groups.every((g) => g.shards.every((s) => s.rank !== victim)), `seed ${seed}`).toBe(true)
      await verify(c, excluded, oid, model, oclass)
      const listed = await c.settle(c.newClient(excluded).listKeys(oid))
      expect(listed.map((k) => td.decode(k)).sort(), `seed ${seed} ${oclass}`).toEqual(liveDkeys(model))
    }
    // A second rebuild over the same maps writes nothing new (pushes are idempotent).
    const again = await c.rebuildAll(c.initialMap, excluded)
    expect([...again.values()].reduce((n, s) => n + s.records, 0), `seed ${seed}`).toBe(0)
    expect([...again.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed}`).toBe(0)
    // New writes with the new map land on the new placement and read back.
    const after = c.newClient(excluded)
    const first = objects[0] as { oid: ObjectId; model: Model }
    await c.settle(after.update(first.oid, key('d2'), [{ type: 'single', akey: key('a'), value: te.encode('post-rebuild') }]))
    first.model.set('d2', { a: 'post-rebuild', arr: first.model.get('d2')?.arr })
    await verify(c, excluded, first.oid, first.model, 'after a new write')
  })

  it('an acknowledged write whose leader crashed before its commit record is resolved and rebuilt', async () => {
    // Commits are batched far apart: the leader dies with its DTXs committable, not committed.
    const c = await startRebuildCluster({ seed: seed + 1, ranks: 4, commitIntervalMs: 60_000 })
    const client = c.newClient(c.initialMap)
    const oid = c.newOid('RP_3G1')
    const model = await writeWorkload(c, client, oid, 'pending', 4)
    const layout = placeObject(c.initialMap, oid)
    const leader = layout.groups[0]?.shards.find((s) => s.rank !== undefined && c.engines[s.rank]?.service.pendingCommits !== 0)
    expect(leader, `seed ${seed + 1}: a leader holds pending commits`).toBeDefined()
    const victim = leader?.rank as number
    const holders = (layout.groups[0]?.shards ?? []).filter((s) => s.rank !== victim)
    const prepared = holders.reduce((n, s) => n + (c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos.listPreparedDtx().length ?? 0), 0)
    expect(prepared, `seed ${seed + 1}: survivors hold prepared DTXs`).toBeGreaterThan(0)
    const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: victim }])
    await c.crash(victim)
    c.setMap(excluded)
    const stats = await c.rebuildAll(c.initialMap, excluded)
    expect([...stats.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed + 1}`).toBe(0)
    await verify(c, excluded, oid, model, 'resolved')
  })
})

describe(`rebuild under live writes (seed ${seed})`, () => {
  it('writes with the new map while the rebuild runs are kept, and older pushed versions do not hide them', async () => {
    const c = await startRebuildCluster({ seed: seed + 4, ranks: 4 })
    const client = c.newClient(c.initialMap)
    const objects: { oid: ObjectId; model: Model }[] = []
    for (let n = 0; n < 8; n++) {
      const oid = c.newOid(n % 2 === 0 ? 'RP_3G1' : 'RP_2GX')
      objects.push({ oid, model: await writeWorkload(c, client, oid, `live.${n}`, 5) })
    }
    await c.runtime.advance(500)
    const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: 2 }])
    await c.crash(2)
    c.setMap(excluded)
    const during = c.newClient(excluded)
    const rebuilding = c.rebuildAll(c.initialMap, excluded)
    const writes = (async (): Promise<void> => {
      for (let round = 0; round < 3; round++) {
        for (const { oid, model } of objects) {
          const dkey = `d${2 + round}`
          await during.update(oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(`live-${round}`) }])
          model.set(dkey, { a: `live-${round}`, arr: model.get(dkey)?.arr })
        }
      }
    })()
    const [stats] = await c.settle(Promise.all([rebuilding, writes]))
    expect([...stats.values()].reduce((n, x) => n + x.failures, 0), `seed ${seed + 4}`).toBe(0)
    await c.runtime.advance(500)
    for (const { oid, model } of objects) await verify(c, excluded, oid, model, 'live')
  })
})

describe(`reintegration (seed ${seed})`, () => {
  it('a returning rank gets back its shards; its stale content is overwritten by newer epochs', async () => {
    const c = await startRebuildCluster({ seed: seed + 2, ranks: 4 })
    const client = c.newClient(c.initialMap)
    const objects: { oid: ObjectId; model: Model }[] = []
    for (const oclass of ['RP_2G1', 'RP_3G1', 'RP_3GX']) {
      for (let n = 0; n < 3; n++) {
        const oid = c.newOid(oclass)
        objects.push({ oid, model: await writeWorkload(c, client, oid, `${oclass}.${n}`, 6) })
      }
    }
    await c.runtime.advance(500)
    const victim = 1
    const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: victim }])
    await c.crash(victim)
    c.setMap(excluded)
    expect([...(await c.rebuildAll(c.initialMap, excluded)).values()].reduce((n, s) => n + s.failures, 0), `seed ${seed + 2}`).toBe(0)
    // While the rank is out: overwrite, punch and add data, so what it holds goes stale.
    const during = c.newClient(excluded)
    for (const { oid, model } of objects) {
      await c.settle(during.update(oid, key('d2'), [{ type: 'single', akey: key('a'), value: te.encode('while-out') }]))
      model.set('d2', { a: 'while-out', arr: model.get('d2')?.arr })
      await c.settle(during.punch(oid, 'dkeys', [key('d3')]))
      model.set('d3', { a: undefined, arr: undefined })
      await c.settle(during.update(oid, key('new'), [{ type: 'single', akey: key('a'), value: te.encode('added') }]))
      model.set('new', { a: 'added', arr: undefined })
    }
    await c.runtime.advance(500)
    // The rank comes back with its old content and is reintegrated.
    const reintegrated = applyPoolMapOperation(excluded, 'reintegrate', [{ rank: victim }])
    await c.restart(victim, reintegrated)
    c.setMap(reintegrated)
    const stats = await c.rebuildAll(excluded, reintegrated)
    expect([...stats.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed + 2}`).toBe(0)
    expect(c.engines[victim]?.rebuild.progress.receivedRecords, `seed ${seed + 2}: the returning rank received data`).toBeGreaterThan(0)
    let back = 0
    for (const { oid, model } of objects) {
      const layout = placeObject(reintegrated, oid)
      back += layout.groups.reduce((n, g) => n + g.shards.filter((s) => s.rank === victim).length, 0)
      await verify(c, reintegrated, oid, model, 'reintegrated')
    }
    expect(back, `seed ${seed + 2}: the rank holds shards again`).toBeGreaterThan(0)
  })

  it('drain: the draining rank pushes its shards away and still serves until it is out', async () => {
    const c = await startRebuildCluster({ seed: seed + 3, ranks: 4 })
    const client = c.newClient(c.initialMap)
    const objects: { oid: ObjectId; model: Model }[] = []
    for (let n = 0; n < 6; n++) {
      const oid = c.newOid(n % 2 === 0 ? 'RP_2G1' : 'RP_3G1')
      objects.push({ oid, model: await writeWorkload(c, client, oid, `drain.${n}`, 4) })
    }
    await c.runtime.advance(500)
    const drained = 2
    const draining = applyPoolMapOperation(c.initialMap, 'drain', [{ rank: drained }])
    c.setMap(draining)
    const out = applyPoolMapOperation(draining, 'rebuildDone', [{ rank: drained }])
    const stats = await c.rebuildAll(draining, out)
    expect([...stats.values()].reduce((n, s) => n + s.failures, 0), `seed ${seed + 3}`).toBe(0)
    c.setMap(out)
    await c.crash(drained)
    for (const { oid, model } of objects) await verify(c, out, oid, model, 'drained')
  })
})

describe(`seeded random rebuild (seed ${seed})`, () => {
  it('random writes, an exclusion, rebuild, reads from the new placement match the model; then reintegration', async () => {
    for (let round = 0; round < 3; round++) {
      const s = seed * 10 + round
      const random = new Random(s)
      const ranks = 4 + random.int(2)
      // Round 1 pushes in tiny pieces: dkeys, akeys and extents split over many pushes.
      const c = await startRebuildCluster({ seed: s, ranks, ...(round === 1 ? { maxPushBytes: 40 } : {}) })
      const client = c.newClient(c.initialMap)
      const classes = ['RP_2G1', 'RP_3G1', 'RP_3GX', 'RP_2GX', 'EC_2P1G1']
      const objects = Array.from({ length: 4 + random.int(4) }, () => ({ oid: c.newOid(random.pick(classes)), model: new Map() as Model }))
      for (let op = 0; op < 60; op++) {
        const o = random.pick(objects)
        const dkey = `k${random.int(6)}`
        const cur = o.model.get(dkey) ?? { a: undefined, arr: undefined }
        const roll = random.int(10)
        if (roll < 5) {
          const v = `v${op}-${random.int(1000)}`
          await c.settle(client.update(o.oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(v) }]))
          o.model.set(dkey, { ...cur, a: v })
        } else if (roll < 8) {
          const v = Array.from({ length: 4 }, () => String.fromCharCode(97 + random.int(26))).join('')
          await c.settle(client.update(o.oid, key(dkey), [{ type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 0, count: 4, data: te.encode(v) }] }]))
          o.model.set(dkey, { ...cur, arr: v })
        } else if (roll === 8) {
          await c.settle(client.punch(o.oid, 'dkeys', [key(dkey)]))
          o.model.set(dkey, { a: undefined, arr: undefined })
        } else {
          await c.settle(client.punch(o.oid, 'akeys', [key(dkey)], [key('a')]))
          o.model.set(dkey, { ...cur, a: undefined })
        }
      }
      const settled = random.int(2) === 0
      await c.runtime.advance(settled ? 500 : 10) // sometimes commits are still pending
      const victim = random.int(ranks)
      const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: victim }])
      await c.crash(victim)
      c.setMap(excluded)
      const stats = await c.rebuildAll(c.initialMap, excluded)
      expect([...stats.values()].reduce((n, x) => n + x.failures, 0), `seed ${s}`).toBe(0)
      for (const o of objects) await verify(c, excluded, o.oid, o.model, `round ${round}`)
      // Reintegration of the victim after more writes (only when it crashed with nothing prepared:
      // a restarted engine does not recover its in-doubt DTXs yet).
      if (!settled) continue
      const during = c.newClient(excluded)
      for (let op = 0; op < 20; op++) {
        const o = random.pick(objects)
        const dkey = `k${random.int(6)}`
        const v = `w${op}-${random.int(1000)}`
        await c.settle(during.update(o.oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(v) }]))
        o.model.set(dkey, { ...(o.model.get(dkey) ?? { a: undefined, arr: undefined }), a: v })
      }
      await c.runtime.advance(500)
      const back = applyPoolMapOperation(excluded, 'reintegrate', [{ rank: victim }])
      await c.restart(victim, back)
      c.setMap(back)
      const again = await c.rebuildAll(excluded, back)
      expect([...again.values()].reduce((n, x) => n + x.failures, 0), `seed ${s}: reintegration`).toBe(0)
      for (const o of objects) await verify(c, back, o.oid, o.model, `round ${round} reintegrated`)
    }
  })
})

export { contUuid }
