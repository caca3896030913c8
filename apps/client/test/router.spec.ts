import { Cart } from '@x/cart'
import { DerError, VirtualRuntime, isDerError } from '@x/common'
import { ObjectType, applyPoolMapOperation, buildPoolMap, generateObjectId, parseObjectClass, poolMapFit, poolTargets } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ObjectReply, type ObjectRouter, PoolHandle, clientObjectProtocol } from '../src/index.ts'

const seed = Number(process.env.TEST_SEED ?? 20261121)

async function setup(retry: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number } = {}): Promise<{ runtime: VirtualRuntime; router: ObjectRouter; pool: PoolHandle }> {
  const runtime = new VirtualRuntime({ seed })
  const cart = new Cart({ fabric: new MemoryFabric({ runtime }), runtime })
  cart.registerProtocol(clientObjectProtocol)
  const created = cart.createContext()
  await runtime.runUntilIdle()
  const context = await created
  const poolMap = buildPoolMap({ ranks: [0, 1, 2].map((rank) => ({ rank, host: `n${rank}`, targets: 2 })) })
  const pool = new PoolHandle({ context, runtime, poolUuid: '0f0e0d0c-0b0a-4908-8706-050403020100', poolMap, retry })
  return { runtime, router: pool.router, pool }
}

const ok = (rc = 0): ObjectReply => ({ rc, message: '', mapVersion: 1 })

describe(`ObjectRouter retries (seed ${seed})`, () => {
  it('DER_INPROGRESS is retried with exponential backoff bounded by maxDelayMs', async () => {
    const { runtime, router } = await setup({ maxAttempts: 8, baseDelayMs: 10, maxDelayMs: 50 })
    const oid = generateObjectId({ lo: 1n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(router.poolMap) })
    const sentAt: number[] = []
    const code = new DerError('DER_INPROGRESS').code
    const run = router.run(
      () => router.leader(oid, 0),
      () => {
        sentAt.push(runtime.clock.monotonicMs())
        return Promise.resolve(sentAt.length < 6 ? ok(code) : ok())
      },
      false,
    )
    await runtime.settle(run, 10_000)
    const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] as number))
    expect(gaps, `seed ${seed}`).toEqual([10, 20, 40, 50, 50])
    expect(router.stats.retries, `seed ${seed}`).toBe(5)
  })

  it('gives up after maxAttempts with the last typed error; other errors surface at once', async () => {
    const { runtime, router } = await setup({ maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 })
    const oid = generateObjectId({ lo: 2n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('S1'), fit: poolMapFit(router.poolMap) })
    let sent = 0
    const busy = router.run(() => router.leader(oid, 0), () => (sent++, Promise.resolve(ok(new DerError('DER_INPROGRESS').code))), false).catch((e: unknown) => e)
    await runtime.runUntil(() => sent >= 4, 1000)
    await runtime.advance(50)
    const error = await busy
    expect(isDerError(error, 'DER_INPROGRESS'), `seed ${seed}: ${String(error)}`).toBe(true)
    expect(sent, `seed ${seed}`).toBe(4)
    sent = 0
    const nospace = await router.run(() => router.leader(oid, 0), () => (sent++, Promise.resolve(ok(new DerError('DER_NOSPACE').code))), false).catch((e: unknown) => e)
    expect(isDerError(nospace, 'DER_NOSPACE'), `seed ${seed}`).toBe(true)
    expect(sent, `seed ${seed}: no retry`).toBe(1)
    // A thrown non-DER error becomes a typed DER_MISC.
    const odd = await router.run(() => router.leader(oid, 0), () => Promise.reject(new Error('boom')), false).catch((e: unknown) => e)
    expect(isDerError(odd, 'DER_MISC'), `seed ${seed}`).toBe(true)
  })

  it('fuzz: keys, offsets and classes from outside are refused with DER_INVAL before any RPC', async () => {
    const { pool } = await setup()
    const cont = pool.openContainer('11111111-2222-4333-8444-555555555555')
    const kv = cont.openKv(generateObjectId({ lo: 3n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_2G1'), fit: poolMapFit(pool.poolMap) }))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(new Uint8Array(0)), fc.integer({ min: 4097, max: 6000 }).map((n) => new Uint8Array(n))),
        fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.constant(Number.NaN)),
        fc.string({ maxLength: 12 }).filter((s) => !/^(OC_)?(S\d+|SX|RP_\d+G(\d+|X)|EC_\d+P\d+G(\d+|X))$/i.test(s.trim())),
        async (badKey, badNumber, badClass) => {
          const outcomes = await Promise.allSettled([
            kv.put(badKey, new Uint8Array(1)),
            kv.get(badKey),
            kv.remove(badKey),
            kv.object.fetch(new Uint8Array([1]), [{ type: 'array', akey: new Uint8Array([1]), extents: [{ index: badNumber, count: 1 }] }]),
            kv.object.update(new Uint8Array([1]), [{ type: 'array', akey: new Uint8Array([1]), recordSizeBytes: 1, extents: [{ index: 0, count: badNumber, data: new Uint8Array(1) }] }]),
            cont.allocateOid(badClass),
          ])
          for (const o of outcomes) {
            expect(o.status === 'rejected' && isDerError(o.reason, 'DER_INVAL'), `seed ${seed}: ${o.status === 'rejected' ? String(o.reason) : 'fulfilled'}`).toBe(true)
          }
        },
      ),
      { seed, numRuns: 100 },
    )
    expect(pool.stats.rpcs, `seed ${seed}`).toBe(0)
  })
})

describe(`ObjectRouter reads during reintegration (seed ${seed})`, () => {
  it('replicated reads skip replicas on reintegrating (UP) targets while a caught-up one exists', async () => {
    const { router } = await setup()
    const oid = generateObjectId({ lo: 7n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(router.poolMap) })
    const base = router.poolMap
    const selector = [{ rank: 1 }]
    const down = applyPoolMapOperation(base, 'exclude', selector)
    const out = applyPoolMapOperation(down, 'rebuildDone', selector)
    const back = applyPoolMapOperation(out, 'reintegrate', selector)
    expect(router.adopt(back), `seed ${seed}`).toBe(true)
    const upTargets = new Set(poolTargets(back).filter((t) => t.state === 'UP').map((t) => t.id))
    expect(upTargets.size, `seed ${seed}: rank 1's targets are reintegrating`).toBe(2)
    const layoutShards = router.layout(oid).groups[0]?.shards ?? []
    expect(layoutShards.some((s) => s.targetId !== undefined && upTargets.has(s.targetId)), `seed ${seed}: a replica sits on a UP target`).toBe(true)
    for (let i = 0; i < 6; i++) {
      const picked = router.replicas(oid, 0)
      expect(picked.length, `seed ${seed}`).toBe(2)
      expect(picked.some((s) => s.targetId !== undefined && upTargets.has(s.targetId)), `seed ${seed}: read ${i} avoids the reintegrating replica`).toBe(false)
    }
  })
})

describe(`ObjectRouter reads during rebuild (seed ${seed})`, () => {
  it('while a target is DOWN, replicated reads skip shards remapped onto new targets; after rebuildDone they are read again', async () => {
    const { router } = await setup()
    const base = router.poolMap
    const selector = [{ rank: 2 }]
    const down = applyPoolMapOperation(base, 'exclude', selector)
    let oid = generateObjectId({ lo: 1n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(base) })
    // An object with a replica on rank 2 (every RP_3G1 object on 3 ranks has one).
    expect(router.layout(oid).groups[0]?.shards.some((s) => s.rank === 2), `seed ${seed}`).toBe(true)
    expect(router.adopt(down), `seed ${seed}`).toBe(true)
    const remapped = (router.layout(oid).groups[0]?.shards ?? []).filter((s) => s.remapped)
    expect(remapped.length, `seed ${seed}: the lost replica moved`).toBe(1)
    for (let i = 0; i < 6; i++) {
      const picked = router.replicas(oid, 0)
      expect(picked.length, `seed ${seed}`).toBe(2)
      expect(picked.some((s) => s.remapped), `seed ${seed}: read ${i} avoids the shard rebuild is filling`).toBe(false)
    }
    expect(router.adopt(applyPoolMapOperation(down, 'rebuildDone', selector)), `seed ${seed}`).toBe(true)
    oid = generateObjectId({ lo: 1n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(base) })
    expect(router.replicas(oid, 0).length, `seed ${seed}: rebuilt, all three serve reads`).toBe(3)
  })
})
