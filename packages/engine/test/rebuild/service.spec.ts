import { Cart } from '@x/cart'
import { DerError, isDerError } from '@x/common'
import { applyPoolMapOperation, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { RebuildService, rebuildHistoryRpc, rebuildProtocol, rebuildPushRpc } from '../../src/rebuild/index.ts'
import { contUuid, key, poolUuid, startRebuildCluster, te } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 0x5e71)

describe(`rebuild service (seed ${seed})`, () => {
  it('reports progress, and counts pushes to an unreachable new holder as failures instead of hanging', async () => {
    const c = await startRebuildCluster({ seed, ranks: 5 })
    const client = c.newClient(c.initialMap)
    const oids = Array.from({ length: 12 }, () => c.newOid('RP_2G1'))
    for (const oid of oids) await c.settle(client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('v') }]))
    await c.runtime.advance(500)
    for (const e of c.engines) expect(e.rebuild.progress.state, `seed ${seed}`).toBe('idle')
    const excluded = applyPoolMapOperation(c.initialMap, 'exclude', [{ rank: 0 }])
    // Rank 4 dies too but is not excluded yet: pushes whose new holder is on it fail.
    const toRank4 = oids.filter((oid) => {
      const before = placeObject(c.initialMap, oid)
      const after = placeObject(excluded, oid)
      return after.groups[0]?.shards.some((s, i) => s.rank === 4 && before.groups[0]?.shards[i]?.rank !== 4)
    })
    await c.crash(0)
    await c.crash(4)
    c.setMap(excluded)
    const stats = await c.rebuildAll(c.initialMap, excluded)
    const failures = [...stats.values()].reduce((n, s) => n + s.failures, 0)
    expect(toRank4.length, `seed ${seed}: some shard moves to rank 4`).toBeGreaterThan(0)
    expect(failures, `seed ${seed}`).toBe(toRank4.length)
    for (const e of c.engines.filter((x) => x.alive)) {
      const p = e.rebuild.progress
      expect(p.mapVersion, `seed ${seed}`).toBe(excluded.version)
      expect(p.fromVersion, `seed ${seed}`).toBe(c.initialMap.version)
      expect(p.donePushes, `seed ${seed}`).toBe(p.plannedPushes)
      expect(p.scannedObjects, `seed ${seed}`).toBeGreaterThan(0)
      expect(p.state, `seed ${seed} rank ${e.rank}`).toBe(p.failures > 0 ? 'failed' : 'done')
    }
  })

  it('refuses bad options, a second service for a pool, maps that do not move forward, and bad pushes', async () => {
    const c = await startRebuildCluster({ seed: seed + 1, ranks: 3 })
    const e = c.engines[0]
    if (e === undefined) throw new Error('no engine')
    const base = { cart: e.cart, runtime: c.runtime, rank: 0, poolUuid, targets: e.targets }
    expect(() => new RebuildService(base)).toThrow(/already has a rebuild service/)
    for (const bad of [{ pushTimeoutMs: 0 }, { pushAttempts: 0 }, { maxPushBytes: -1 }, { ecCellRecords: 0 }, { rank: -1 }]) {
      expect(() => new RebuildService({ ...base, poolUuid: '22222222-2222-4222-8222-222222222222', ...bad }), JSON.stringify(bad)).toThrow(/rebuild/)
    }
    const error = await c.settle(e.rebuild.rebuild({ fromMap: c.initialMap, toMap: c.initialMap })).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(isDerError(error, 'DER_INVAL'), String(error)).toBe(true)
    const broken = { version: 5, ranks: [] }
    const error2 = await c.settle(e.rebuild.rebuild({ fromMap: c.initialMap, toMap: broken })).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(isDerError(error2, 'DER_INVAL'), String(error2)).toBe(true)
    expect(e.rebuild.progress.state, 'a refused rebuild changes nothing').toBe('idle')

    const cart = new Cart({ fabric: c.fabric, runtime: c.runtime, defaultTimeoutMs: 2000 })
    cart.registerProtocol(rebuildProtocol)
    cart.primaryGroup.addRank(1, ['memory://rank-1-tag-0', 'memory://rank-1-tag-1'])
    const context = await c.settle(cart.createContext())
    const push = {
      poolUuid,
      mapVersion: 2,
      targetIndex: 0,
      containerUuid: contUuid,
      oid: { hi: 1n, lo: 2n },
      punches: [],
      dkeys: [{ dkey: key('d'), punches: [], akeys: [{ akey: key('a'), type: 'array' as const, recordSizeBytes: 2, punches: [], singles: [], extents: [{ epoch: 5n, seq: 1n, index: 0n, count: 2n, hole: false, data: new Uint8Array(3) }] }] }],
    }
    const vos = c.engines[1]?.targets.get(0).vos
    const before = vos?.listContainers()
    const malformed = await c.settle(context.call(rebuildPushRpc, { rank: 1, tag: 0 }, push))
    expect(malformed.rc, malformed.message).toBe(new DerError('DER_INVAL').code)
    expect(vos?.listContainers(), 'a refused push changes nothing').toEqual(before)
    const wrongTarget = await c.settle(context.call(rebuildPushRpc, { rank: 1, tag: 1 }, { ...push, dkeys: [] }))
    expect(wrongTarget.message).toMatch(/sent to target 1/)
    const wrongPool = await c.settle(context.call(rebuildPushRpc, { rank: 1, tag: 0 }, { ...push, poolUuid: '33333333-3333-4333-8333-333333333333' }))
    expect(wrongPool.message).toMatch(/no rebuild service/)
    const history = await c.settle(context.call(rebuildHistoryRpc, { rank: 1, tag: 0 }, { poolUuid, targetIndex: 0, containerUuid: contUuid, oid: { hi: 1n, lo: 2n }, after: new Uint8Array(0), maxDkeys: 0, groups: [], participants: [], leader: undefined }))
    expect(history.message).toMatch(/maxDkeys/)
    // A good push is applied once; the same push again writes nothing.
    const good = { ...push, dkeys: [{ ...push.dkeys[0], akeys: [{ ...push.dkeys[0]?.akeys[0], extents: [{ epoch: 5n, seq: 1n, index: 0n, count: 2n, hole: false, data: new Uint8Array([1, 2, 3, 4]) }] }] }] } as typeof push
    expect((await c.settle(context.call(rebuildPushRpc, { rank: 1, tag: 0 }, good))).applied).toBe(1)
    const again = await c.settle(context.call(rebuildPushRpc, { rank: 1, tag: 0 }, good))
    expect([again.rc, again.applied, again.skipped]).toEqual([0, 0, 1])
  })
})
