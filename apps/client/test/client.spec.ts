import { isDerError } from '@x/common'
import { ObjectType, applyPoolMapOperation, groupLeader, placeObject } from '@x/protocol'
import { EventQueue, TseEvent } from '@x/tse'
import { describe, expect, it } from 'vitest'
import { ArrayObject, type ListAnchor, startAnchor } from '../src/index.ts'
import { contUuid, key, startCluster, td, te } from './support/cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 20261121)

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  )
}

describe(`KV API (seed ${seed})`, () => {
  for (const oclass of ['RP_3G1', 'RP_2G1', 'S1', 'RP_2GX', 'EC_2P1G1', 'EC_2P1GX']) {
    it(`put / get / list / remove round trip with ${oclass}`, async () => {
      const c = await startCluster({ seed: seed + oclass.length, ranks: 3 })
      const pool = await c.newPool()
      const cont = pool.openContainer(contUuid)
      const kv = await c.settle(cont.createKv(oclass))
      expect(kv.object.className.startsWith(oclass.endsWith('GX') ? oclass.slice(0, -1) : oclass)).toBe(true)
      const rnd = c.runtime.random
      const model = new Map<string, string>()
      for (let i = 0; i < 30; i++) {
        const k = `k${rnd.intBetween(0, 12)}`
        if (rnd.intBetween(0, 4) === 0) {
          await c.settle(kv.remove(key(k)))
          model.delete(k)
        } else {
          const v = `v${i}-${rnd.intBetween(0, 1000)}`
          await c.settle(kv.put(key(k), te.encode(v)))
          model.set(k, v)
        }
      }
      for (let i = 0; i <= 12; i++) {
        const got = await c.settle(kv.get(key(`k${i}`)))
        expect(got === undefined ? undefined : td.decode(got), `seed ${c.seed} ${oclass} k${i}`).toBe(model.get(`k${i}`))
      }
      // Paged listing with anchors covers every key once.
      const listed: string[] = []
      let anchor: ListAnchor = startAnchor
      let pages = 0
      while (!anchor.done) {
        const page = await c.settle(kv.list(anchor, 3))
        listed.push(...page.keys.map((k) => td.decode(k)))
        anchor = page.anchor
        pages++
      }
      expect(listed.sort(), `seed ${c.seed} ${oclass}`).toEqual([...model.keys()].sort())
      expect(pages, `seed ${c.seed}: pages of 3`).toBeGreaterThanOrEqual(Math.ceil(model.size / 3))
    })
  }
})

describe(`array API (seed ${seed})`, () => {
  for (const oclass of ['RP_3G1', 'RP_2G1', 'S1', 'EC_2P1G1', 'EC_2P1GX']) {
    it(`write / read across chunk boundaries and holes, size, truncate, destroy with ${oclass}`, async () => {
      // EC cells of 3 records: an 8-cell chunk spans partial and full stripes.
      const c = await startCluster({ seed: seed + 100 + oclass.length, ranks: 3, ecCellRecords: 3 })
      const pool = await c.newPool()
      const cont = pool.openContainer(contUuid)
      const oid = await c.settle(cont.allocateOid(oclass, ObjectType.ARRAY))
      const cell = 4
      const chunk = 8 // cells per dkey
      const arr = await c.settle(cont.createArray(oid, { cellSizeBytes: cell, chunkSizeCells: chunk }))
      const model = new Uint8Array(64 * cell)
      const rnd = c.runtime.random
      let size = 0
      for (let i = 0; i < 6; i++) {
        const off = rnd.intBetween(0, 40)
        const n = rnd.intBetween(1, 20)
        const data = new Uint8Array(n * cell).map(() => rnd.intBetween(1, 255))
        await c.settle(arr.write(off, data))
        model.set(data, off * cell)
        size = Math.max(size, off + n)
      }
      // A hole far away: chunks 6 and 7 untouched, chunk 8 written.
      await c.settle(arr.write(60, new Uint8Array(2 * cell).fill(9)))
      model.fill(9, 60 * cell, 62 * cell)
      size = 62
      const all = await c.settle(arr.read(0, 64))
      expect(Array.from(all), `seed ${c.seed} ${oclass}: whole read`).toEqual(Array.from(model))
      const mid = await c.settle(arr.read(5, 13)) // spans chunks 0, 1, 2
      expect(Array.from(mid), `seed ${c.seed} ${oclass}`).toEqual(Array.from(model.subarray(5 * cell, 18 * cell)))
      expect(await c.settle(arr.getSize()), `seed ${c.seed} ${oclass}`).toBe(size)
      // Reopen from metadata.
      const again = await c.settle(cont.openArray(oid))
      expect(again.attributes, `seed ${c.seed}`).toEqual({ cellSizeBytes: cell, chunkSizeCells: chunk })
      // Truncate inside a chunk, then extend (a hole).
      await c.settle(arr.setSize(21))
      expect(await c.settle(arr.getSize()), `seed ${c.seed} ${oclass}: after truncate`).toBe(21)
      const tail = await c.settle(arr.read(16, 10))
      expect(Array.from(tail), `seed ${c.seed}`).toEqual([...Array.from(model.subarray(16 * cell, 21 * cell)), ...new Array<number>(5 * cell).fill(0)])
      await c.settle(arr.truncate(30))
      expect(await c.settle(arr.getSize()), `seed ${c.seed}: after extend`).toBe(30)
      expect(Array.from(await c.settle(arr.read(21, 9))), `seed ${c.seed}`).toEqual(new Array<number>(9 * cell).fill(0))
      await c.settle(arr.destroy())
      expect(await c.settle(arr.getSize()), `seed ${c.seed}: destroyed`).toBe(0)
    })
  }
})

describe(`array sizes past 256 chunks (seed ${seed})`, () => {
  it('getSize orders chunk dkeys numerically (big-endian chunk numbers)', async () => {
    const c = await startCluster({ seed: seed + 150, ranks: 3 })
    const cont = (await c.newPool()).openContainer(contUuid)
    const arr = await c.settle(cont.createArray(await c.settle(cont.allocateOid('S1', ObjectType.ARRAY)), { cellSizeBytes: 1, chunkSizeCells: 2 }))
    const ends = [3, 700, 513, 70_001, 9]
    let size = 0
    for (const end of ends) {
      await c.settle(arr.write(end - 1, Uint8Array.of(end % 251)))
      size = Math.max(size, end)
      expect(await c.settle(arr.getSize()), `seed ${c.seed}: after writing cell ${end - 1}`).toBe(size)
    }
    await c.settle(arr.setSize(600))
    expect(await c.settle(arr.getSize()), `seed ${c.seed}: exactly the new size`).toBe(600)
    expect(Array.from(await c.settle(arr.read(511, 4))), `seed ${c.seed}`).toEqual([0, 513 % 251, 0, 0])
    expect(Array.from(await c.settle(arr.read(598, 4))), `seed ${c.seed}: the cells past the end are gone`).toEqual([0, 0, 0, 0])
    await c.settle(arr.setSize(0))
    expect(await c.settle(arr.getSize()), `seed ${c.seed}`).toBe(0)
  })
})

describe(`routing and failures (seed ${seed})`, () => {
  it('DER_STALE: the client adopts the engines map (or the refreshed one) and resends', async () => {
    const c = await startCluster({ seed: seed + 200, ranks: 3 })
    const v2 = { ...c.map, version: c.map.version + 1 }
    for (const e of c.engines) e.service.setPoolMap(v2)
    // The engine's reply carries its map.
    const pool = await c.newPool()
    const kv = await c.settle(pool.openContainer(contUuid).createKv('RP_2G1'))
    await c.settle(kv.put(key('a'), te.encode('1')))
    expect(pool.stats.staleResends, `seed ${c.seed}`).toBe(1)
    expect(pool.poolMap.version, `seed ${c.seed}`).toBe(v2.version)
    // A second client two versions behind: the first reply carries the engines' map.
    const v3 = applyPoolMapOperation(v2, 'exclude', [{ rank: 2 }])
    for (const e of c.engines) e.service.setPoolMap(v3)
    let asked = 0
    const pool2 = await c.newPool({
      map: c.map,
      refreshMap: () => {
        asked++
        return Promise.resolve(v3)
      },
    })
    const kv2 = pool2.openContainer(contUuid).openKv(kv.object.oid)
    expect(td.decode((await c.settle(kv2.get(key('a')))) ?? new Uint8Array()), `seed ${c.seed}`).toBe('1')
    await c.settle(kv2.put(key('b'), te.encode('2')))
    expect(pool2.poolMap.version, `seed ${c.seed}`).toBe(v3.version)
    expect(pool2.stats.staleResends + asked, `seed ${c.seed}`).toBeGreaterThan(0)
  })

  it('leader change: the leader is unreachable, the refreshed map names a new leader, the write is retried there', async () => {
    const c = await startCluster({ seed: seed + 250, ranks: 4 })
    let latest = c.map
    let asked = 0
    const pool = await c.newPool({
      refreshMap: () => {
        asked++
        return Promise.resolve(latest)
      },
    })
    const kv = await c.settle(pool.openContainer(contUuid).createKv('RP_2G1'))
    await c.settle(kv.put(key('a'), te.encode('before')))
    await c.runtime.advance(200)
    const lead = groupLeader(placeObject(c.map, kv.object.oid), 0)
    await c.crash(lead?.rank as number)
    // Without a newer map the write fails with a typed error naming the unreachable leader.
    const error = await c.settle(failure(kv.put(key('a'), te.encode('lost'))))
    expect(isDerError(error, 'DER_UNREACH'), `seed ${c.seed}: got ${String(error)}`).toBe(true)
    expect(asked, `seed ${c.seed}: asked for a newer map`).toBeGreaterThan(0)
    // The pool service excludes the rank: engines and the refresh callback know v2.
    latest = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead?.rank as number }])
    for (const e of c.engines) if (e.alive) e.service.setPoolMap(latest)
    await c.settle(kv.put(key('a'), te.encode('after')))
    expect(pool.poolMap.version, `seed ${c.seed}`).toBe(latest.version)
    expect(pool.stats.refreshes, `seed ${c.seed}`).toBeGreaterThan(0)
    expect(td.decode((await c.settle(kv.get(key('a')))) ?? new Uint8Array()), `seed ${c.seed}`).toBe('after')
  })

  it('EC_4P2G1: KV and array data read back with two data targets down (degraded), and writes go on', async () => {
    const c = await startCluster({ seed: seed + 350, ranks: 8, ecCellRecords: 4 })
    const pool = await c.newPool()
    const cont = pool.openContainer(contUuid)
    const kv = await c.settle(cont.createKv('EC_4P2G1'))
    const arr = await c.settle(cont.createArray(await c.settle(cont.allocateOid('EC_4P2G1', ObjectType.ARRAY)), { cellSizeBytes: 2, chunkSizeCells: 64 }))
    const rnd = c.runtime.random
    const model = new Uint8Array(200 * 2).map(() => rnd.intBetween(0, 255))
    await c.settle(arr.write(0, model.subarray(0, 120 * 2)))
    await c.settle(arr.write(120, model.subarray(120 * 2)))
    for (let i = 0; i < 8; i++) await c.settle(kv.put(key(`k${i}`), te.encode(`v${i}`)))
    await c.runtime.advance(200)
    const layout = placeObject(c.map, arr.object.oid)
    const data = (layout.groups[0]?.shards ?? []).filter((s) => s.role === 'data')
    const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: data[0]?.rank as number }, { rank: data[1]?.rank as number }])
    for (const e of c.engines) e.service.setPoolMap(v2)
    await c.crash(data[0]?.rank as number)
    await c.crash(data[1]?.rank as number)
    expect(Array.from(await c.settle(arr.read(0, 200))), `seed ${c.seed}: degraded array read`).toEqual(Array.from(model))
    for (let i = 0; i < 8; i++) expect(td.decode((await c.settle(kv.get(key(`k${i}`)))) ?? new Uint8Array()), `seed ${c.seed} k${i}`).toBe(`v${i}`)
    await c.settle(arr.write(10, Uint8Array.of(7, 7, 7, 7)))
    model.set([7, 7, 7, 7], 20)
    const after = await c.settle(arr.read(0, 200))
    const diff = Array.from(after).flatMap((b, i) => (b === model[i] ? [] : [i]))
    expect(diff, `seed ${c.seed}: degraded write then read`).toEqual([])
    expect(pool.stats.staleResends, `seed ${c.seed}: the client learnt the new map`).toBeGreaterThan(0)
  })

  it('a replica down: reads still succeed from the others, writes fail with a typed error', async () => {
    const c = await startCluster({ seed: seed + 300, ranks: 3 })
    const pool = await c.newPool()
    const kv = await c.settle(pool.openContainer(contUuid).createKv('RP_3G1'))
    for (let i = 0; i < 6; i++) await c.settle(kv.put(key(`k${i}`), te.encode(`v${i}`)))
    await c.runtime.advance(200) // commit records go out
    const layout = placeObject(c.map, kv.object.oid)
    const lead = groupLeader(layout, 0)
    const follower = layout.groups[0]?.shards.find((s) => s.shard !== lead?.shard)
    await c.crash(follower?.rank as number)
    for (let i = 0; i < 6; i++) {
      const v = await c.settle(kv.get(key(`k${i}`)))
      expect(td.decode(v ?? new Uint8Array()), `seed ${c.seed} k${i}`).toBe(`v${i}`)
    }
    expect(pool.stats.failovers, `seed ${c.seed}: some reads went to the dead replica first`).toBeGreaterThan(0)
    const error = await c.settle(failure(kv.put(key('new'), te.encode('x'))))
    expect(isDerError(error, 'DER_UNREACH'), `seed ${c.seed}: got ${String(error)}`).toBe(true)
    // Leader down too: the write names the unreachable rank.
    await c.crash(lead?.rank as number)
    const error2 = await c.settle(failure(kv.put(key('new2'), te.encode('x'))))
    expect(isDerError(error2, 'DER_UNREACH'), `seed ${c.seed}: got ${String(error2)}`).toBe(true)
  })

  it('bad input gets DER_INVAL and sends no RPC', async () => {
    const c = await startCluster({ seed: seed + 400, ranks: 3 })
    const pool = await c.newPool()
    const cont = pool.openContainer(contUuid)
    const kv = await c.settle(cont.createKv('RP_2G1'))
    const arr = await c.settle(cont.createArray(await c.settle(cont.allocateOid('S1', ObjectType.ARRAY)), { cellSizeBytes: 2, chunkSizeCells: 4 }))
    const before = pool.stats.rpcs
    const attempts: [string, () => Promise<unknown>][] = [
      ['empty key put', () => kv.put(new Uint8Array(0), te.encode('x'))],
      ['empty key get', () => kv.get(new Uint8Array(0))],
      ['long key', () => kv.put(new Uint8Array(5000), te.encode('x'))],
      ['bad maxKeys', () => kv.list(startAnchor, 0)],
      ['negative offset write', () => arr.write(-1, new Uint8Array(2))],
      ['fractional offset read', () => arr.read(1.5, 1)],
      ['zero-count read', () => arr.read(0, 0)],
      ['partial cell', () => arr.write(0, new Uint8Array(3))],
      ['negative size', () => arr.setSize(-4)],
      ['bad class', () => cont.allocateOid('RP_9G9')],
      ['empty class', () => cont.allocateOid('')],
      ['class the pool cannot place', () => cont.allocateOid('RP_4G1')],
      ['empty akey', () => kv.object.update(key('d'), [{ type: 'single', akey: new Uint8Array(0), value: te.encode('x') }])],
      ['no akeys', () => kv.object.fetch(key('d'), [])],
      ['bad array cell size', () => ArrayObject.create(kv.object, { cellSizeBytes: 0, chunkSizeCells: 1 })],
      ['class mismatch on open', () => Promise.resolve().then(() => cont.openObject(kv.object.oid, 'S1'))],
      ['KV on a non-KV oid', () => Promise.resolve().then(() => cont.openKv(arr.object.oid))],
      ['bad container uuid', () => Promise.resolve().then(() => pool.openContainer('nope'))],
    ]
    for (const [what, run] of attempts) {
      const error = await c.settle(failure(run()))
      expect(isDerError(error, 'DER_INVAL'), `seed ${c.seed}: ${what} gave ${String(error)}`).toBe(true)
    }
    expect(pool.stats.rpcs, `seed ${c.seed}: no RPC for bad input`).toBe(before)
    expect(c.sent(), `seed ${c.seed}`).toBe(before)
  })
})

describe(`TSE events (seed ${seed})`, () => {
  it('calls launched with events complete through eq.poll', async () => {
    const c = await startCluster({ seed: seed + 500, ranks: 3 })
    const pool = await c.newPool()
    const cont = pool.openContainer(contUuid)
    const kv = await c.settle(cont.createKv('RP_3G1'))
    const eq = new EventQueue({ runtime: c.runtime })
    const events = Array.from({ length: 4 }, (_, i) => new TseEvent(`put-${i}`).init({ eq }))
    const puts = events.map((event, i) => kv.put(key(`e${i}`), te.encode(`ev${i}`), { event }))
    expect(eq.runningCount, `seed ${c.seed}`).toBe(4)
    await c.settle(Promise.all(puts))
    const done = await c.settle(eq.poll(4, 4, 1000))
    expect(done.map((e) => e.name).sort(), `seed ${c.seed}`).toEqual(events.map((e) => e.name).sort())
    expect(done.every((e) => e.result === 0), `seed ${c.seed}`).toBe(true)
    // A failing call completes its event with the DER code.
    const bad = new TseEvent('bad').init({ eq })
    const rejected = await c.settle(failure(kv.get(new Uint8Array(0), { event: bad })))
    expect(isDerError(rejected, 'DER_INVAL'), `seed ${c.seed}`).toBe(true)
    const [badDone] = await c.settle(eq.poll(1, 1, 1000))
    expect(badDone?.result, `seed ${c.seed}`).toBe(-1003)
    // An array read as an event; the event is reusable after poll.
    const arr = await c.settle(cont.createArray(await c.settle(cont.allocateOid('RP_2G1', ObjectType.ARRAY)), { cellSizeBytes: 1, chunkSizeCells: 16 }))
    const ev = events[0] as TseEvent
    await c.settle(arr.write(10, te.encode('hello across chunks'), { event: ev }))
    await c.settle(eq.poll(1, 1, 1000))
    const read = arr.read(10, 19, { event: ev })
    const [readDone] = await c.settle(eq.poll(1, 1, 1000))
    expect(readDone, `seed ${c.seed}`).toBe(ev)
    expect(td.decode(await c.settle(read)), `seed ${c.seed}`).toBe('hello across chunks')
    // Object-level calls take events too.
    const upd = kv.object.update(key('obj'), [{ type: 'single', akey: key('a1'), value: te.encode('x') }], { event: ev })
    const [updDone] = await c.settle(eq.poll(1, 1, 1000))
    expect(updDone?.result, `seed ${c.seed}`).toBe(0)
    expect(await c.settle(upd), `seed ${c.seed}: an epoch`).toBeGreaterThan(0n)
    const akeys = kv.object.listAkeys(key('obj'), { event: ev })
    await c.settle(eq.poll(1, 1, 1000))
    expect((await c.settle(akeys)).map((a) => td.decode(a)), `seed ${c.seed}`).toEqual(['a1'])
    eq.destroy()
  })

  it('object ids come from the container allocator, distinct and of the requested class', async () => {
    const c = await startCluster({ seed: seed + 600, ranks: 3 })
    const pool = await c.newPool()
    const cont = pool.openContainer(contUuid)
    const oids = []
    for (let i = 0; i < 300; i++) oids.push(await c.settle(cont.allocateOid(i % 2 === 0 ? 'S1' : 'RP_2G1')))
    expect(new Set(oids.map((o) => `${o.hi}.${o.lo}`)).size, `seed ${c.seed}`).toBe(300)
    expect(cont.openObject(oids[1] as (typeof oids)[number]).className, `seed ${c.seed}`).toBe('RP_2G1')
  })
})
