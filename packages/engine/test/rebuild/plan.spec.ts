import { DecodeError, Random, decodeStruct, encodeStruct, isDerError } from '@x/common'
import { ObjectIdAllocator, ObjectType, applyPoolMapOperation, buildPoolMap, generateObjectId, parseObjectClass, placeObject, poolMapFit, targetById } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { Vos, vosEpochMax } from '@x/vos'
import { RebuildPushRequest, historyBytes, historyFromWire, historyToWire, isRebuildSource, planObjectRebuild, rebuildSource, splitDkeyHistory } from '../../src/rebuild/index.ts'

const seed = Number(process.env.X_SEED ?? 0x91a4)
const map = buildPoolMap({ ranks: Array.from({ length: 6 }, (_, rank) => ({ rank, host: `node${rank}`, targets: 4 })) })
const allocator = new ObjectIdAllocator()
const oidOf = (oclass: string): ReturnType<typeof generateObjectId> => generateObjectId({ lo: allocator.allocate(), type: ObjectType.KV_HASHED, oclass: parseObjectClass(oclass), fit: poolMapFit(map) })

describe(`rebuild plan (seed ${seed})`, () => {
  it('an exclusion: every shard that was on the excluded rank is pushed once, from a survivor, to its new target', () => {
    const excluded = applyPoolMapOperation(map, 'exclude', [{ rank: 3 }])
    let pushes = 0
    for (let i = 0; i < 300; i++) {
      const oid = oidOf(['RP_2G1', 'RP_3G1', 'RP_3GX', 'S1'][i % 4] as string)
      const plan = planObjectRebuild(map, excluded, oid)
      const lost = plan.before.groups.flatMap((g) => g.shards.filter((s) => s.rank === 3))
      const replicated = plan.before.oclass.groupSize > 1
      expect(plan.pushes.length, `seed ${seed} oid ${i}`).toBe(replicated ? lost.length : 0)
      // S1 has no other holder: its lost shard is an orphan (data loss), not a push.
      expect(plan.orphanGroups.length, `seed ${seed} oid ${i}`).toBe(replicated ? 0 : lost.length)
      for (const p of plan.pushes) {
        pushes++
        expect(p.from.rank, `seed ${seed}`).not.toBe(3)
        expect(p.to.rank, `seed ${seed}`).not.toBe(3)
        const group = plan.before.groups[p.group]
        expect(group?.shards.some((s) => s.rank === p.from.rank && s.targetIndex === p.from.targetIndex), `seed ${seed}: the pusher holds the group`).toBe(true)
        const dest = plan.after.groups[p.group]?.shards.find((s) => s.shard === p.shard)
        expect([dest?.rank, dest?.targetIndex], `seed ${seed}`).toEqual([p.to.rank, p.to.targetIndex])
      }
    }
    expect(pushes, `seed ${seed}`).toBeGreaterThan(50)
  })

  it('the pusher is the lowest-position surviving shard, the same whoever computes it', () => {
    const excluded = applyPoolMapOperation(map, 'exclude', [{ rank: 1 }])
    for (let i = 0; i < 100; i++) {
      const oid = oidOf('RP_3G1')
      const before = placeObject(map, oid)
      const source = rebuildSource(before, 0, map, excluded)
      const expected = before.groups[0]?.shards.find((s) => s.rank !== 1)
      expect(source?.shard, `seed ${seed}`).toBe(expected?.shard)
      expect(planObjectRebuild(map, excluded, oid), `seed ${seed}: deterministic`).toEqual(planObjectRebuild(map, excluded, oid))
    }
  })

  it('drain keeps the drained target a source; exclusion does not; reintegration pushes back to the returning rank', () => {
    const draining = applyPoolMapOperation(map, 'drain', [{ rank: 2 }])
    const out = applyPoolMapOperation(draining, 'rebuildDone', [{ rank: 2 }])
    const t = targetById(draining, 8)
    expect(t?.rank).toBe(2)
    expect(isRebuildSource(t as NonNullable<typeof t>, out)).toBe(true)
    const excluded = applyPoolMapOperation(map, 'exclude', [{ rank: 2 }])
    expect(isRebuildSource(targetById(map, 8) as NonNullable<typeof t>, excluded)).toBe(false)
    let fromDrained = 0
    let toReturning = 0
    const back = applyPoolMapOperation(applyPoolMapOperation(excluded, 'rebuildDone', [{ rank: 2 }]), 'reintegrate', [{ rank: 2 }])
    const downout = applyPoolMapOperation(excluded, 'rebuildDone', [{ rank: 2 }])
    for (let i = 0; i < 200; i++) {
      const oid = oidOf('RP_2G1')
      const drain = planObjectRebuild(draining, out, oid)
      fromDrained += drain.pushes.filter((p) => p.from.rank === 2).length
      for (const p of drain.pushes) expect(p.to.rank).not.toBe(2)
      const reint = planObjectRebuild(downout, back, oid)
      toReturning += reint.pushes.filter((p) => p.to.rank === 2).length
      for (const p of reint.pushes) expect(p.from.rank, `seed ${seed}: the stale rank is no source`).not.toBe(2)
    }
    expect(fromDrained, `seed ${seed}`).toBeGreaterThan(0)
    expect(toReturning, `seed ${seed}`).toBeGreaterThan(0)
  })
})

describe(`erasure-coded rebuild plan (seed ${seed})`, () => {
  it('a lost EC shard is reconstructed by the lowest survivor; a moving one is copied by its own holder', () => {
    const excluded = applyPoolMapOperation(map, 'exclude', [{ rank: 2 }])
    const draining = applyPoolMapOperation(map, 'drain', [{ rank: 2 }])
    const out = applyPoolMapOperation(draining, 'rebuildDone', [{ rank: 2 }])
    let lost = 0
    let moved = 0
    for (let i = 0; i < 200; i++) {
      const oid = oidOf('EC_2P1G1')
      for (const p of planObjectRebuild(map, excluded, oid).pushes) {
        lost++
        expect(p.reconstruct, `seed ${seed}`).toBe(true)
        expect(p.from.rank, `seed ${seed}`).not.toBe(2)
      }
      for (const p of planObjectRebuild(draining, out, oid).pushes) {
        moved++
        expect(p.reconstruct, `seed ${seed}`).toBe(false)
        const own = placeObject(draining, oid).groups[p.group]?.shards.find((s) => s.shard === p.shard)
        expect([p.from.rank, p.from.targetIndex], `seed ${seed}: the drained holder copies its own shard`).toEqual([own?.rank, own?.targetIndex])
      }
    }
    expect(lost, `seed ${seed}`).toBeGreaterThan(0)
    expect(moved, `seed ${seed}`).toBeGreaterThan(0)
  })
})

describe(`rebuild push codec (seed ${seed})`, () => {
  const sample = {
    poolUuid: '0f0e0d0c-0b0a-4908-8706-050403020100',
    mapVersion: 3,
    targetIndex: 1,
    containerUuid: '11111111-2222-4333-8444-555555555555',
    oid: { hi: 0x1234n, lo: 99n },
    punches: [{ epoch: 40n, seq: 7n }],
    dkeys: historyToWire([
      {
        dkey: new Uint8Array([1, 2]),
        punches: [{ epoch: 30n, seq: 5 }],
        akeys: [
          { akey: new Uint8Array([3]), type: 'single', recordSizeBytes: 0, punches: [], singles: [{ epoch: 10n, seq: 1, value: new Uint8Array([9, 9]) }], extents: [] },
          { akey: new Uint8Array([4]), type: 'array', recordSizeBytes: 2, punches: [{ epoch: 35n, seq: 6 }], singles: [], extents: [{ epoch: 11n, seq: 2, index: 0, count: 2, data: new Uint8Array(4) }, { epoch: 12n, seq: 3, index: 1, count: 1, data: undefined }] },
        ],
      },
    ]),
  }

  it('round-trips and converts back to the history it came from', () => {
    const decoded = decodeStruct(RebuildPushRequest, encodeStruct(RebuildPushRequest, sample))
    expect(decoded).toEqual(sample)
    const history = historyFromWire(decoded)
    expect(history.punches).toEqual([{ epoch: 40n, seq: 7 }])
    expect(history.dkeys[0]?.akeys[1]?.extents[1]?.data).toBeUndefined()
  })

  it('refuses inconsistent histories with DER_INVAL', () => {
    const akey = sample.dkeys[0]?.akeys[1]
    if (akey === undefined) throw new Error('sample')
    const withAkey = (a: object): typeof sample => ({ ...sample, dkeys: [{ ...(sample.dkeys[0] as (typeof sample.dkeys)[number]), akeys: [{ ...akey, ...a }] }] })
    for (const bad of [
      withAkey({ extents: [{ epoch: 1n, seq: 1n, index: 0n, count: 2n, hole: false, data: new Uint8Array(3) }] }),
      withAkey({ extents: [{ epoch: 1n, seq: 1n, index: 0n, count: 0n, hole: true, data: new Uint8Array(0) }] }),
      withAkey({ extents: [{ epoch: 1n, seq: 1n, index: 0n, count: 1n, hole: true, data: new Uint8Array(2) }] }),
      withAkey({ type: 'single' }),
      withAkey({ recordSizeBytes: 0 }),
      { ...sample, punches: [{ epoch: 0n, seq: 1n }] },
      withAkey({ extents: [{ epoch: 1n, seq: 1n, index: 1n << 60n, count: 1n, hole: true, data: new Uint8Array(0) }] }),
    ]) {
      let error: unknown
      try {
        historyFromWire(bad)
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL'), String(error)).toBe(true)
    }
  })

  it('decoding random or truncated bytes fails with a DecodeError, never anything else', () => {
    const random = new Random(seed)
    const good = encodeStruct(RebuildPushRequest, sample)
    for (let i = 0; i < 2000; i++) {
      let bytes: Uint8Array
      if (i % 3 === 0) bytes = random.bytes(random.int(200))
      else if (i % 3 === 1) bytes = good.slice(0, random.int(good.length))
      else {
        bytes = good.slice()
        for (let k = 0; k < 1 + random.int(4); k++) bytes[random.int(bytes.length)] = random.int(256)
      }
      try {
        historyFromWire(decodeStruct(RebuildPushRequest, bytes))
      } catch (error) {
        expect(error instanceof DecodeError || isDerError(error), `seed ${seed} case ${i}: ${String(error)}`).toBe(true)
      }
    }
  })

  it('splits a large dkey into pieces under the limit that replay to the same reads', async () => {
    const random = new Random(seed)
    const cont = '11111111-2222-4333-8444-555555555555'
    const src = await Vos.create()
    await src.createContainer(cont)
    const dkey = new Uint8Array([7])
    for (let i = 0; i < 12; i++) {
      const epoch = BigInt(10 + i)
      if (i % 3 === 0) await src.update(cont, 1n, epoch, dkey, [{ type: 'single', akey: new Uint8Array([1, i % 2]), value: random.bytes(1 + random.int(300)) }])
      else if (i === 7) await src.punchAkeys(cont, 1n, epoch, dkey, [new Uint8Array([2])])
      else {
        const count = 1 + random.int(200)
        await src.update(cont, 1n, epoch, dkey, [{ type: 'array', akey: new Uint8Array([2]), recordSizeBytes: 3, extents: [{ index: random.int(50), count, data: random.bytes(count * 3) }] }])
      }
    }
    await src.punchDkey(cont, 1n, 5n, dkey)
    const page = await src.objectHistory(cont, 1n)
    const whole = page.dkeys[0]
    if (whole === undefined) throw new Error('no dkey')
    const maxBytes = 256
    const pieces = splitDkeyHistory(whole, maxBytes)
    expect(pieces.length, `seed ${seed}`).toBeGreaterThan(3)
    for (const piece of pieces) {
      const single = piece.akeys.flatMap((a) => a.singles).length === 1 && piece.akeys.flatMap((a) => a.extents).length === 0
      if (!single) expect(historyBytes(piece), `seed ${seed}`).toBeLessThanOrEqual(maxBytes)
    }
    expect(pieces[0]?.punches.map((p) => p.epoch)).toEqual([5n])
    const dst = await Vos.create()
    for (const piece of random.shuffle([...pieces])) await dst.applyHistory(cont, 1n, { punches: [], dkeys: [piece] })
    for (const epoch of [6n, 12n, 15n, 17n, 19n, 22n, vosEpochMax]) {
      for (const akey of [new Uint8Array([1, 0]), new Uint8Array([1, 1])]) {
        const [a] = await src.fetch(cont, 1n, epoch, dkey, [{ type: 'single', akey }])
        const [b] = await dst.fetch(cont, 1n, epoch, dkey, [{ type: 'single', akey }])
        expect(b, `seed ${seed} @${epoch}`).toEqual(a)
      }
      const [x] = await src.fetch(cont, 1n, epoch, dkey, [{ type: 'array', akey: new Uint8Array([2]), extents: [{ index: 0, count: 300 }] }])
      const [y] = await dst.fetch(cont, 1n, epoch, dkey, [{ type: 'array', akey: new Uint8Array([2]), extents: [{ index: 0, count: 300 }] }])
      expect(y, `seed ${seed} @${epoch}`).toEqual(x)
    }
  })
})
