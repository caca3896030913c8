import { isDerError } from '@x/common'
import { Opcode, type PoolMap, applyPoolMapOperation, groupLeader, objFetchRpc, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import type { Context } from '@x/cart'
import { ObjectClient } from '../../src/object/index.ts'
import { contUuid, key, poolUuid, startCluster, td, te } from './cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 0x5eed12)

describe(`object I/O (seed ${seed})`, () => {
  it('updates then fetches from every replica return identical data (RP_3G1, RP_2G1, S1)', async () => {
    const c = await startCluster({ seed, ranks: 4 })
    for (const oclass of ['RP_3G1', 'RP_2G1', 'S1']) {
      const oid = c.newOid(oclass)
      const layout = placeObject(c.map, oid)
      for (let i = 0; i < 5; i++) {
        await c.settle(c.client.update(oid, key(`d${i}`), [{ type: 'single', akey: key('a'), value: te.encode(`${oclass}-v${i}`) }, { type: 'array', akey: key('arr'), recordSizeBytes: 2, extents: [{ index: i, count: 2, data: te.encode(`x${i}y${i}`) }] }]))
      }
      const replicas = layout.groups[0]?.shards.length ?? 0
      expect(replicas, `seed ${seed}`).toBe(oclass === 'S1' ? 1 : Number(oclass[3]))
      for (let r = 0; r < replicas; r++) {
        for (let i = 0; i < 5; i++) {
          const [single, arr] = await c.settle(c.client.fetch(oid, key(`d${i}`), [{ type: 'single', akey: key('a') }, { type: 'array', akey: key('arr'), extents: [{ index: i, count: 2 }] }], { replica: r }))
          expect(td.decode(single?.data), `seed ${seed} ${oclass} replica ${r} d${i}`).toBe(`${oclass}-v${i}`)
          expect(td.decode(arr?.data), `seed ${seed} ${oclass} replica ${r} d${i}`).toBe(`x${i}y${i}`)
        }
        const dkeys = await c.settle(c.client.listKeys(oid, undefined, { replica: r }))
        expect(dkeys.map((d) => td.decode(d)).sort(), `seed ${seed}`).toEqual(['d0', 'd1', 'd2', 'd3', 'd4'])
      }
    }
  })
})

describe(`object I/O failures and concurrency (seed ${seed})`, () => {
  it('a replica that fails mid-update: the client gets an error and nothing is half-visible', async () => {
    const c = await startCluster({ seed, ranks: 4 })
    const oid = c.newOid('RP_3G1')
    const layout = placeObject(c.map, oid)
    const shards = layout.groups[0]?.shards ?? []
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v1') }]))
    await c.runtime.advance(200)
    const lead = groupLeader(layout, 0)
    if (lead === undefined) throw new Error('no leader')
    const [victim, survivor] = shards.filter((s) => s.shard !== lead.shard)
    if (victim === undefined || survivor === undefined) throw new Error('need two followers')
    const victimVos = c.engines[victim.rank as number]?.targets.get(victim.targetIndex as number).vos
    const leaderAddr = `memory://rank-${lead.rank}-tag-${lead.targetIndex}`
    const victimAddr = `memory://rank-${victim.rank}-tag-${victim.targetIndex}`
    // Start the update; as soon as the victim holds the write prepared, cut it off from the leader:
    // its reply and the leader's abort are lost.
    const failing = c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v2') }])
    failing.catch(() => undefined)
    await c.runtime.runUntil(() => (victimVos?.listPreparedDtx().length ?? 0) > 0, 10_000)
    expect(victimVos?.listPreparedDtx().length, `seed ${seed}`).toBe(1)
    c.fabric.partition(leaderAddr, victimAddr)
    const error = await c.settle(failing).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error), `seed ${seed}: the update must fail, got ${String(error)}`).toBe(true)
    const leaderService = c.engines[lead.rank as number]?.service
    expect(leaderService?.stats.aborted, `seed ${seed}`).toBe(1)
    // Nothing of v2 is visible on the leader or the surviving replica, and nothing stays prepared there.
    for (const s of [lead, survivor]) {
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position }))
      expect(td.decode(v?.data), `seed ${seed} shard ${s.shard}`).toBe('v1')
      expect(c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos.listPreparedDtx(), `seed ${seed}`).toEqual([])
    }
    // The victim still holds the prepared write; once it can reach the leader again, a read resolves it as aborted.
    expect(victimVos?.listPreparedDtx().length, `seed ${seed}`).toBe(1)
    c.fabric.heal()
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: victim.position }))
    expect(td.decode(v?.data), `seed ${seed}`).toBe('v1')
    expect(victimVos?.listPreparedDtx(), `seed ${seed}`).toEqual([])
    // And the object is writable again.
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v3') }]))
    for (const s of shards) {
      const [w] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position }))
      expect(td.decode(w?.data), `seed ${seed} shard ${s.shard}`).toBe('v3')
    }
  })

  it('a replica whose device fails the write: DER_IO to the client, aborted on the others', async () => {
    const c = await startCluster({ seed: seed + 12, ranks: 3 })
    const oid = c.newOid('RP_3G1')
    const layout = placeObject(c.map, oid)
    const lead = groupLeader(layout, 0)
    if (lead === undefined) throw new Error('no leader')
    const [victim, survivor] = (layout.groups[0]?.shards ?? []).filter((s) => s.shard !== lead.shard)
    if (victim === undefined || survivor === undefined) throw new Error('need two followers')
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v1') }]))
    await c.runtime.advance(200)
    c.engines[victim.rank as number]?.devices[victim.targetIndex as number]?.setFaults({ writeErrorRate: 1 })
    const error = await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v2') }])).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error, 'DER_IO'), `seed ${seed + 12}: got ${String(error)}`).toBe(true)
    for (const s of [lead, survivor]) {
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position }))
      expect(td.decode(v?.data), `seed ${seed + 12} shard ${s.shard}`).toBe('v1')
      expect(c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos.listPreparedDtx(), `seed ${seed + 12}`).toEqual([])
    }
  })

  it('a crashed replica: the update fails and is aborted on the live replicas', async () => {
    const c = await startCluster({ seed: seed + 1, ranks: 3 })
    const oid = c.newOid('RP_3G1')
    const layout = placeObject(c.map, oid)
    const lead = groupLeader(layout, 0)
    if (lead === undefined) throw new Error('no leader')
    const followers = (layout.groups[0]?.shards ?? []).filter((s) => s.shard !== lead.shard)
    await c.crash(followers[0]?.rank as number)
    const error = await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('lost') }])).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error), `seed ${seed + 1}: got ${String(error)}`).toBe(true)
    for (const s of [lead, followers[1]]) {
      if (s === undefined) throw new Error('missing shard')
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position }))
      expect(v?.recordSizeBytes, `seed ${seed + 1}`).toBe(0)
      expect(c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos.listPreparedDtx(), `seed ${seed + 1}`).toEqual([])
    }
  })

  it('acknowledged writes survive a leader crash: in doubt while the leader is in the map, committed once it is excluded', async () => {
    const c = await startCluster({ seed: seed + 2, ranks: 4, commitIntervalMs: 60_000 })
    const oid = c.newOid('RP_3G1')
    const layout = placeObject(c.map, oid)
    const lead = groupLeader(layout, 0)
    if (lead === undefined) throw new Error('no leader')
    for (let i = 0; i < 4; i++) await c.settle(c.client.update(oid, key(`d${i}`), [{ type: 'single', akey: key('a'), value: te.encode(`acked-${i}`) }]))
    // Commit records are still waiting (long commit interval): the replicas hold the writes prepared.
    expect(c.engines[lead.rank as number]?.service.pendingCommits, `seed ${seed + 2}`).toBe(4)
    await c.crash(lead.rank as number)
    const followers = (layout.groups[0]?.shards ?? []).filter((s) => s.shard !== lead.shard)
    // The leader is silent but still in the pool map: it may have aborted, so no follower decides.
    const first = followers[0]
    if (first === undefined) throw new Error('no follower')
    const inDoubt = await c.settle(c.client.fetch(oid, key('d0'), [{ type: 'single', akey: key('a') }], { replica: first.position }).then(() => 'served', (e: unknown) => (isDerError(e) ? e.name : String(e))))
    expect(inDoubt, `seed ${seed + 2}: a read must not decide a DTX while its leader is only silent`).not.toBe('served')
    // SWIM's verdict: the rank is excluded, the survivors resolve among themselves.
    const excluded = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead.rank as number }])
    for (const e of c.engines) if (e.alive) e.service.setPoolMap(excluded)
    const after = placeObject(excluded, oid)
    const client = c.newClient(excluded)
    for (const s of followers) {
      const position = after.groups[0]?.shards.find((x) => x.rank === s.rank && x.targetIndex === s.targetIndex)?.position
      if (position === undefined) throw new Error(`seed ${seed + 2}: follower not in the new layout`)
      for (let i = 0; i < 4; i++) {
        const [v] = await c.settle(client.fetch(oid, key(`d${i}`), [{ type: 'single', akey: key('a') }], { replica: position }))
        expect(td.decode(v?.data), `seed ${seed + 2} shard ${s.shard} d${i}`).toBe(`acked-${i}`)
      }
      expect(c.engines[s.rank as number]?.service.stats.resolvedOnRead, `seed ${seed + 2}`).toBeGreaterThan(0)
    }
  })

  it('concurrent updates to the same akey serialize: each is visible at its epoch, the last wins everywhere', async () => {
    const c = await startCluster({ seed: seed + 3, ranks: 4 })
    const oid = c.newOid('RP_3G1')
    const clients = [c.client, c.newClient(), c.newClient()]
    const writes = Array.from({ length: 24 }, (_, i) => ({ i, client: clients[i % clients.length] }))
    const epochs = await c.settle(Promise.all(writes.map(({ i, client }) => client?.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode(`w${i}`) }]) ?? Promise.reject(new Error('no client')))))
    expect(new Set(epochs).size, `seed ${seed + 3}: epochs must be distinct`).toBe(writes.length)
    const last = epochs.reduce((best, e, i) => (e > (epochs[best] as bigint) ? i : best), 0)
    const layout = placeObject(c.map, oid)
    for (const s of layout.groups[0]?.shards ?? []) {
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position }))
      expect(td.decode(v?.data), `seed ${seed + 3} shard ${s.shard}`).toBe(`w${last}`)
      for (const [i, epoch] of epochs.entries()) {
        const [at] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: s.position, epoch }))
        expect(td.decode(at?.data), `seed ${seed + 3} shard ${s.shard} epoch of w${i}`).toBe(`w${i}`)
      }
    }
  })
})

describe(`object I/O map versions and other operations (seed ${seed})`, () => {
  it('a client with an old map gets DER_STALE with the new map, adopts it and succeeds', async () => {
    const c = await startCluster({ seed: seed + 4, ranks: 3 })
    const v2 = { ...c.map, version: c.map.version + 1 }
    for (const e of c.engines) e.service.setPoolMap(v2)
    const oid = c.newOid('RP_2G1')
    // Raw call: the reply says DER_STALE and carries the engine's map.
    expect(objFetchRpc.opcode, 'cart opcode equals the protocol opcode').toBe(Opcode.OBJ_FETCH)
    const lead = groupLeader(placeObject(c.map, oid), 0)
    if (lead === undefined) throw new Error('no leader')
    const context = c.clientCart.contexts[0]
    if (context === undefined) throw new Error('no context')
    const zero = '00000000-0000-0000-0000-000000000000'
    const base = { poolUuid, handleUuid: zero, containerUuid: contUuid, containerHandle: zero, oid, shard: lead.shard, epoch: 0n, epochFirst: 0n, dtx: undefined, dkey: key('d'), iods: [] }
    const reply = await c.settle(context.call(objFetchRpc, { rank: lead.rank as number, tag: lead.targetIndex as number }, { ...base, mapVersion: 1 }))
    expect(reply.rc, `seed ${seed + 4}`).toBe(-2007)
    expect(reply.mapVersion, `seed ${seed + 4}`).toBe(2)
    expect(reply.poolMap?.version, `seed ${seed + 4}`).toBe(2)
    // A sender newer than the engine (no refresh hook): DER_STALE without a map.
    const ahead = await c.settle(context.call(objFetchRpc, { rank: lead.rank as number, tag: lead.targetIndex as number }, { ...base, mapVersion: 3 }))
    expect(ahead.rc, `seed ${seed + 4}`).toBe(-2007)
    expect(ahead.poolMap, `seed ${seed + 4}`).toBeUndefined()
    // The client library path: resend with the new map.
    const old = c.newClient(c.map)
    await c.settle(old.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('fresh') }]))
    expect(old.staleRetries, `seed ${seed + 4}`).toBe(1)
    expect(old.poolMap.version, `seed ${seed + 4}`).toBe(2)
    const [v] = await c.settle(old.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: 1 }))
    expect(td.decode(v?.data), `seed ${seed + 4}`).toBe('fresh')
  })

  it('an engine behind the client refreshes its map through the hook', async () => {
    let asked = 0
    const known: { v2?: PoolMap } = {}
    const c = await startCluster({
      seed: seed + 5,
      ranks: 3,
      refreshMap: (wanted) => {
        asked++
        return Promise.resolve(known.v2 !== undefined && known.v2.version >= wanted ? known.v2 : undefined)
      },
    })
    known.v2 = { ...c.map, version: 2 }
    const client = c.newClient(known.v2)
    const oid = c.newOid('RP_3G1')
    await c.settle(client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('x') }]))
    expect(asked, `seed ${seed + 5}`).toBeGreaterThan(0)
    expect(client.staleRetries, `seed ${seed + 5}`).toBe(0)
    expect(c.engines.filter((e) => e.service.poolMap.version === 2).length, `seed ${seed + 5}: leader and replicas refreshed`).toBe(3)
  })

  it('punch, enumerate and query-key through the replicas', async () => {
    const c = await startCluster({ seed: seed + 6, ranks: 4 })
    const oid = c.newOid('RP_3G1')
    for (const d of ['a', 'b', 'c']) {
      await c.settle(c.client.update(oid, key(d), [{ type: 'single', akey: key('x'), value: te.encode(d) }, { type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 10, count: 3, data: te.encode('abc') }] }]))
    }
    await c.settle(c.client.punch(oid, 'dkeys', [key('b')]))
    await c.settle(c.client.punch(oid, 'akeys', [key('c')], [key('x')]))
    for (let r = 0; r < 3; r++) {
      const dkeys = await c.settle(c.client.listKeys(oid, undefined, { replica: r }))
      expect(dkeys.map((d) => td.decode(d)).sort(), `seed ${seed + 6} replica ${r}`).toEqual(['a', 'c'])
      const akeys = await c.settle(c.client.listKeys(oid, key('c'), { replica: r }))
      expect(akeys.map((d) => td.decode(d)), `seed ${seed + 6} replica ${r}`).toEqual(['arr'])
      const max = await c.settle(c.client.queryKey(oid, 'max', undefined, undefined, { replica: r }))
      expect(td.decode(max.dkey), `seed ${seed + 6}`).toBe('c')
      const recx = await c.settle(c.client.queryKey(oid, 'max', key('a'), key('arr'), { replica: r }))
      expect(recx.recx?.index, `seed ${seed + 6}`).toBe(10)
      expect(recx.recx?.count, `seed ${seed + 6}`).toBe(3)
    }
    await c.settle(c.client.punch(oid, 'object'))
    const after = await c.settle(c.client.listKeys(oid, undefined, { replica: 2 }))
    expect(after, `seed ${seed + 6}`).toEqual([])
  })

  it('rejects malformed requests with DER_INVAL and a wrong pool with DER_NONEXIST', async () => {
    const c = await startCluster({ seed: seed + 7, ranks: 3 })
    const oid = c.newOid('S1')
    const error = await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 4, extents: [{ index: 0, count: 2, data: te.encode('short') }] }])).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error, 'DER_INVAL'), `seed ${seed + 7}: ${String(error)}`).toBe(true)
    const other = new ObjectClient({ context: c.clientCart.contexts[0] as Context, runtime: c.runtime, poolUuid: '99999999-2222-4333-8444-555555555555', containerUuid: contUuid, poolMap: c.map })
    const wrongPool = await c.settle(other.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }])).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(wrongPool, 'DER_NONEXIST'), `seed ${seed + 7}: ${String(wrongPool)}`).toBe(true)
  })

  it('commits asynchronously in batches: replicas end with nothing prepared', async () => {
    const c = await startCluster({ seed: seed + 8, ranks: 4, commitIntervalMs: 100 })
    const oids = Array.from({ length: 12 }, () => c.newOid('RP_2G1'))
    await c.settle(Promise.all(oids.map((oid, i) => c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode(`o${i}`) }]))))
    const prepared = (): number => c.engines.reduce((n, e) => n + e.targets.targets.reduce((m, t) => m + t.vos.listPreparedDtx().length, 0), 0)
    expect(prepared(), `seed ${seed + 8}: acknowledged but not yet committed`).toBeGreaterThan(0)
    await c.runtime.advance(500)
    expect(prepared(), `seed ${seed + 8}`).toBe(0)
    const batches = c.engines.reduce((n, e) => n + e.service.stats.commitBatches, 0)
    const committable = c.engines.reduce((n, e) => n + e.service.stats.committable, 0)
    expect(committable, `seed ${seed + 8}`).toBe(12)
    expect(batches, `seed ${seed + 8}: fewer commit RPCs than DTXs`).toBeLessThan(12)
  })
})

describe(`object I/O randomized against a model (seed ${seed})`, () => {
  it('random concurrent updates and replica reads under message delays match a last-epoch-wins model', async () => {
    const c = await startCluster({ seed: seed + 9, ranks: 4, commitIntervalMs: 30 })
    c.fabric.setFaults({ delayRate: 0.2, reorderRate: 0.1, maxDelayMs: 5 })
    const random = c.runtime.random.fork()
    const classes = ['RP_3G1', 'RP_2G1', 'S1']
    const oids = classes.map((oc) => ({ oc, oid: c.newOid(oc) }))
    const clients = [c.client, c.newClient()]
    const model = new Map<string, { epoch: bigint; value: string }>()
    for (let round = 0; round < 6; round++) {
      const ops = Array.from({ length: 8 }, (_, i) => {
        const o = oids[random.int(oids.length)] as (typeof oids)[number]
        const d = `d${random.int(3)}`
        const value = `r${round}-${i}-${random.int(1000)}`
        const client = clients[random.int(clients.length)] as (typeof clients)[number]
        return client.update(o.oid, key(d), [{ type: 'single', akey: key('a'), value: te.encode(value) }]).then((epoch) => ({ k: `${o.oc}/${d}`, epoch, value }))
      })
      const reads = Array.from({ length: 4 }, () => {
        const o = oids[random.int(oids.length)] as (typeof oids)[number]
        const replicas = o.oc === 'S1' ? 1 : Number(o.oc[3])
        return c.client.fetch(o.oid, key(`d${random.int(3)}`), [{ type: 'single', akey: key('a') }], { replica: random.int(replicas) })
      })
      const [done] = await c.settle(Promise.all([Promise.all(ops), Promise.all(reads)]))
      for (const w of done) {
        const prev = model.get(w.k)
        if (prev === undefined || w.epoch > prev.epoch) model.set(w.k, { epoch: w.epoch, value: w.value })
      }
      for (const o of oids) {
        const replicas = o.oc === 'S1' ? 1 : Number(o.oc[3])
        for (let d = 0; d < 3; d++) {
          const want = model.get(`${o.oc}/d${d}`)
          for (let r = 0; r < replicas; r++) {
            const [v] = await c.settle(c.client.fetch(o.oid, key(`d${d}`), [{ type: 'single', akey: key('a') }], { replica: r }))
            expect(v?.recordSizeBytes === 0 ? undefined : td.decode(v?.data), `seed ${seed + 9} round ${round} ${o.oc} d${d} replica ${r}`).toBe(want?.value)
          }
        }
      }
    }
  })
})

describe(`object I/O after an exclusion (seed ${seed})`, () => {
  it('after the leader crashes and its rank is excluded, a stale client moves to the new leader and prepared DTXs resolve', async () => {
    const c = await startCluster({ seed: seed + 10, ranks: 4, commitIntervalMs: 60_000 })
    const oid = c.newOid('RP_3G1')
    const before = placeObject(c.map, oid)
    const lead = groupLeader(before, 0)
    if (lead === undefined) throw new Error('no leader')
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('before') }]))
    await c.crash(lead.rank as number)
    const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead.rank as number }])
    for (const e of c.engines) if (e.alive) e.service.setPoolMap(v2)
    const after = placeObject(v2, oid)
    const newLead = groupLeader(after, 0)
    expect(newLead?.rank, `seed ${seed + 10}`).not.toBe(lead.rank)
    // The client still has map v1 and its old leader is gone: it learns v2 from a replica's DER_STALE.
    const survivors = (before.groups[0]?.shards ?? []).filter((s) => s.rank !== lead.rank)
    const [old] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: survivors[0]?.position ?? 0 }))
    expect(td.decode(old?.data), `seed ${seed + 10}`).toBe('before')
    expect(c.client.poolMap.version, `seed ${seed + 10}`).toBe(2)
    await c.settle(c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('after') }]))
    for (const s of survivors) {
      const pos = after.groups[0]?.shards.find((x) => x.rank === s.rank && x.targetIndex === s.targetIndex)?.position
      if (pos === undefined) throw new Error(`seed ${seed + 10}: survivor not in the new layout`)
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'single', akey: key('a') }], { replica: pos }))
      expect(td.decode(v?.data), `seed ${seed + 10} shard ${s.shard}`).toBe('after')
    }
  })
})

describe(`object I/O with several groups (seed ${seed})`, () => {
  it('RP_2GX and SX spread dkeys over groups; list and query-key merge them', async () => {
    const c = await startCluster({ seed: seed + 11, ranks: 4 })
    for (const oc of ['RP_2GX', 'SX']) {
      const oid = c.newOid(oc)
      const layout = placeObject(c.map, oid)
      expect(layout.groups.length, `seed ${seed + 11} ${oc}`).toBeGreaterThan(1)
      const names = Array.from({ length: 16 }, (_, i) => `k${String(i).padStart(2, '0')}`)
      await c.settle(Promise.all(names.map((n) => c.client.update(oid, key(n), [{ type: 'single', akey: key('a'), value: te.encode(`${oc}:${n}`) }]))))
      const listed = await c.settle(c.client.listKeys(oid))
      expect(listed.map((k) => td.decode(k)), `seed ${seed + 11} ${oc}`).toEqual(names)
      const max = await c.settle(c.client.queryKey(oid, 'max'))
      const min = await c.settle(c.client.queryKey(oid, 'min'))
      expect([td.decode(min.dkey), td.decode(max.dkey)], `seed ${seed + 11} ${oc}`).toEqual(['k00', 'k15'])
      const replicas = oc === 'SX' ? 1 : 2
      for (let r = 0; r < replicas; r++) {
        for (const n of names) {
          const [v] = await c.settle(c.client.fetch(oid, key(n), [{ type: 'single', akey: key('a') }], { replica: r }))
          expect(td.decode(v?.data), `seed ${seed + 11} ${oc} ${n} replica ${r}`).toBe(`${oc}:${n}`)
        }
      }
      await c.settle(c.client.punch(oid, 'object'))
      expect(await c.settle(c.client.listKeys(oid)), `seed ${seed + 11} ${oc}`).toEqual([])
    }
  })
})
