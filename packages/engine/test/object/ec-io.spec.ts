import { Random, isDerError } from '@x/common'
import { type ObjectId, type PoolMap, applyPoolMapOperation, dkeyGroup, groupLeader, objEnumerateRpc, objUpdateRpc, placeObject } from '@x/protocol'
import { vosEpochMax } from '@x/vos'
import { describe, expect, it } from 'vitest'
import { ErasureCodec, ecPieces } from '../../src/object/index.ts'
import { type TestCluster, contUuid, key, poolUuid, startCluster, td, te } from './cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 0xec12)
const cellRecords = 16
const zero = '00000000-0000-0000-0000-000000000000'

/** A byte-array model of one array akey. */
class ArrayModel {
  bytes = new Uint8Array(0)
  write(index: number, data: Uint8Array, recordSize: number): void {
    const end = (index * recordSize) + data.length
    if (end > this.bytes.length) {
      const grown = new Uint8Array(end)
      grown.set(this.bytes)
      this.bytes = grown
    }
    this.bytes.set(data, index * recordSize)
  }
  read(index: number, count: number, recordSize: number): Uint8Array {
    const out = new Uint8Array(count * recordSize)
    const from = index * recordSize
    out.set(this.bytes.subarray(from, Math.min(this.bytes.length, from + out.length)))
    return out
  }
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex')

function randomBytes(random: Random, n: number): Uint8Array {
  return random.bytes(n)
}

function exclude(c: TestCluster, ranks: readonly number[]): PoolMap {
  const map = applyPoolMapOperation(c.map, 'exclude', ranks.map((rank) => ({ rank })))
  for (const e of c.engines) if (e.alive) e.service.setPoolMap(map)
  c.map = map
  return map
}

/** Random writes then random reads against a model, for one EC class. */
async function roundTrips(c: TestCluster, oclass: string, recordSize: number, runSeed: number, writes: number): Promise<{ oid: ObjectId; models: Map<string, ArrayModel> }> {
  const random = new Random(runSeed)
  const oid = c.newOid(oclass)
  const models = new Map<string, ArrayModel>()
  const dkeys = ['d0', 'd1', 'd2']
  for (let i = 0; i < writes; i++) {
    const dkey = dkeys[random.int(dkeys.length)] as string
    const model = models.get(dkey) ?? new ArrayModel()
    models.set(dkey, model)
    // Mostly small extents inside a few stripes, sometimes a long one over several full stripes.
    const long = random.int(5) === 0
    const index = random.int(long ? 40 : 200)
    const count = 1 + random.int(long ? 300 : 40)
    const extents = [{ index, count, data: randomBytes(random, count * recordSize) }]
    if (random.int(3) === 0) {
      const index2 = index + count + random.int(50)
      const count2 = 1 + random.int(20)
      extents.push({ index: index2, count: count2, data: randomBytes(random, count2 * recordSize) })
    }
    await c.settle(c.client.update(oid, key(dkey), [{ type: 'array', akey: key('arr'), recordSizeBytes: recordSize, extents }]))
    for (const e of extents) model.write(e.index, e.data, recordSize)
  }
  for (const [dkey, model] of models) {
    const total = model.bytes.length / recordSize
    const reads = [{ index: 0, count: total + 5 }, ...Array.from({ length: 6 }, () => ({ index: random.int(total + 10), count: 1 + random.int(60) }))]
    for (const r of reads) {
      const [v] = await c.settle(c.client.fetch(oid, key(dkey), [{ type: 'array', akey: key('arr'), extents: [r] }]))
      expect(v?.recordSizeBytes, `seed ${runSeed} ${oclass} ${dkey} record size`).toBe(recordSize)
      expect(hex(v?.data), `seed ${runSeed} ${oclass} ${dkey} read ${r.index}+${r.count}`).toBe(hex(model.read(r.index, r.count, recordSize)))
    }
  }
  return { oid, models }
}

/** Checks what the shards store: data cells on data shards, parity of the model's stripes on parity shards. */
async function checkShards(c: TestCluster, oid: ObjectId, dkey: string, model: ArrayModel, recordSize: number, tag: string): Promise<void> {
  const layout = placeObject(c.map, oid)
  const group = dkeyGroup(oid, key(dkey))
  const shards = layout.groups[group]?.shards ?? []
  const r = layout.oclass.redundancy
  if (r.kind !== 'erasure') throw new Error('not EC')
  const k = r.dataCells
  const stripeRecs = k * cellRecords
  const stripes = Math.ceil(model.bytes.length / recordSize / stripeRecs)
  const codec = ErasureCodec.of(k, r.parityCells)
  for (const s of shards) {
    const vos = c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos
    if (vos === undefined) throw new Error('no vos')
    const extents = Array.from({ length: stripes }, (_, st) => ({ index: st * cellRecords, count: cellRecords }))
    const [stored] = await c.settle(vos.fetch(contUuid, (oid.hi << 64n) | oid.lo, vosEpochMax, key(dkey), [{ type: 'array', akey: key('arr'), extents }]))
    if (stored?.type !== 'array') throw new Error('not an array')
    for (let st = 0; st < stripes; st++) {
      const cells = Array.from({ length: k }, (_, d) => model.read(st * stripeRecs + d * cellRecords, cellRecords, recordSize))
      const want = s.role === 'data' ? cells[s.position] : codec.encode(cells)[s.position - k]
      const got = stored.recordSizeBytes === 0 ? new Uint8Array(cellRecords * recordSize) : stored.data.subarray(st * cellRecords * recordSize, (st + 1) * cellRecords * recordSize)
      expect(hex(got), `${tag}: shard ${s.shard} (${s.role}) stripe ${st}`).toBe(hex(want))
    }
  }
}

describe(`EC update and fetch (seed ${seed})`, () => {
  it('cuts extents into cells like ecPieces', () => {
    const pieces = ecPieces({ dataCells: 2, parityCells: 1, cellRecords: 4 }, [{ index: 2, count: 9 }])
    expect(pieces.map((p) => [p.stripe, p.position, p.objectIndex, p.shardIndex, p.count, p.at])).toEqual([
      [0, 0, 2, 2, 2, 0],
      [0, 1, 4, 0, 4, 2],
      [1, 0, 8, 4, 3, 6],
    ])
  })

  for (const [oclass, recordSize] of [
    ['EC_2P1G1', 1],
    ['EC_4P2G1', 3],
    ['EC_2P1GX', 2],
  ] as const) {
    it(`${oclass}: random extents round trip; shards hold data cells and matching parity`, async () => {
      const c = await startCluster({ seed, ranks: 8, ecCellRecords: cellRecords })
      const runSeed = seed + recordSize
      const { oid, models } = await roundTrips(c, oclass, recordSize, runSeed, 24)
      await c.runtime.advance(200)
      for (const [dkey, model] of models) await checkShards(c, oid, dkey, model, recordSize, `seed ${runSeed} ${oclass} ${dkey}`)
      const partial = c.engines.reduce((n, e) => n + e.service.stats.ecPartialStripes, 0)
      expect(partial, `seed ${runSeed}: small writes take the read-modify-write path`).toBeGreaterThan(0)
      if (oclass === 'EC_2P1GX') expect(placeObject(c.map, oid).groups.length, `seed ${runSeed}`).toBeGreaterThan(1)
    })
  }

  it('partial stripe overwrites keep parity right (checked through a degraded read)', async () => {
    const c = await startCluster({ seed: seed + 1, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_4P2G1')
    const model = new ArrayModel()
    const write = async (index: number, text: string): Promise<void> => {
      const data = te.encode(text)
      await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index, count: data.length, data }] }]))
      model.write(index, data, 1)
    }
    await write(0, 'A'.repeat(128)) // two full stripes (4 x 16 records each)
    const before = c.engines.reduce((n, e) => n + e.service.stats.ecPartialStripes, 0)
    expect(before, `seed ${seed + 1}: full stripes need no read`).toBe(0)
    await write(5, 'bbbbbbbbbbbbbbbbbbbbbbbbb') // inside stripe 0, over two cells
    await write(60, 'cccccccc') // across the stripe boundary
    await write(130, 'dd') // beyond the end: a new partial stripe over holes
    expect(c.engines.reduce((n, e) => n + e.service.stats.ecPartialStripes, 0), `seed ${seed + 1}`).toBe(4)
    const layout = placeObject(c.map, oid)
    const data = (layout.groups[0]?.shards ?? []).filter((s) => s.role === 'data')
    exclude(c, [data[0]?.rank as number, data[2]?.rank as number])
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 140 }] }]))
    expect(td.decode(v?.data), `seed ${seed + 1}`).toBe(td.decode(model.read(0, 140, 1)))
    expect(c.engines.reduce((n, e) => n + e.service.stats.ecReconstructedCells, 0), `seed ${seed + 1}`).toBeGreaterThan(0)
  })

  it('concurrent partial writes to one stripe from several clients keep parity consistent', async () => {
    const c = await startCluster({ seed: seed + 14, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_4P2G1')
    const clients = [c.client, c.newClient(), c.newClient()]
    const model = new ArrayModel()
    const random = new Random(seed + 14)
    // 24 writes of 3 records at distinct offsets of stripes 0-1, all in flight at once.
    const offsets = Array.from({ length: 24 }, (_, i) => i * 5)
    const writes = offsets.map((index, i) => {
      const data = randomBytes(random, 3)
      model.write(index, data, 1)
      return (clients[i % clients.length] as typeof c.client).update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index, count: 3, data }] }])
    })
    await c.settle(Promise.all(writes))
    const total = model.bytes.length
    const [healthy] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: total }] }]))
    expect(hex(healthy?.data), `seed ${seed + 14}`).toBe(hex(model.bytes))
    const data = (placeObject(c.map, oid).groups[0]?.shards ?? []).filter((s) => s.role === 'data')
    exclude(c, [data[1]?.rank as number, data[2]?.rank as number])
    const [degraded] = await c.settle(c.newClient(c.map).fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: total }] }]))
    expect(hex(degraded?.data), `seed ${seed + 14}: parity matches the data`).toBe(hex(model.bytes))
  })

  it('single values (KV) are stored whole on every shard', async () => {
    const c = await startCluster({ seed: seed + 2, ranks: 4, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    await c.settle(c.client.update(oid, key('k'), [{ type: 'single', akey: key('v'), value: te.encode('hello') }]))
    await c.runtime.advance(200)
    for (const s of placeObject(c.map, oid).groups[0]?.shards ?? []) {
      const vos = c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos
      const [v] = await c.settle(vos?.fetch(contUuid, (oid.hi << 64n) | oid.lo, vosEpochMax, key('k'), [{ type: 'single', akey: key('v') }]) ?? Promise.resolve([]))
      expect(v?.type === 'single' ? td.decode(v.value) : undefined, `seed ${seed + 2} shard ${s.shard}`).toBe('hello')
    }
    const [v] = await c.settle(c.client.fetch(oid, key('k'), [{ type: 'single', akey: key('v') }]))
    expect(td.decode(v?.data), `seed ${seed + 2}`).toBe('hello')
  })
})

describe(`EC read-your-writes (seed ${seed})`, () => {
  it('a read served by a data shard that got no cell of the last write still sees it (same instant)', async () => {
    const c = await startCluster({ seed: seed + 12, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_4P2G1')
    for (let i = 0; i < 8; i++) {
      const text = `w${i}`
      // Records 0-1 live in cell 0; ask data shard 3 (no cell of this write) to serve the read.
      await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 2, data: te.encode(text) }] }]))
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 2 }] }], { replica: 3 }))
      expect(td.decode(v?.data), `seed ${seed + 12} round ${i}`).toBe(text)
    }
  })
})

describe(`EC degraded fetch (seed ${seed})`, () => {
  for (const [oclass, down] of [
    ['EC_2P1G1', 1],
    ['EC_4P2G1', 1],
    ['EC_4P2G1', 2],
  ] as const) {
    it(`${oclass}: ${down} data target(s) DOWN in the pool map -> reconstructed from parity`, async () => {
      const c = await startCluster({ seed: seed + 3 + down, ranks: 8, ecCellRecords: cellRecords })
      const { oid, models } = await roundTrips(c, oclass, 1, seed + 3 + down, 12)
      const shards = placeObject(c.map, oid).groups[0]?.shards ?? []
      const victims = shards.filter((s) => s.role === 'data').slice(0, down).map((s) => s.rank as number)
      exclude(c, victims)
      const client = c.newClient(c.map)
      for (const [dkey, model] of models) {
        const n = model.bytes.length
        const [v] = await c.settle(client.fetch(oid, key(dkey), [{ type: 'array', akey: key('arr'), extents: [{ index: 0, count: n }] }]))
        expect(hex(v?.data), `seed ${seed + 3 + down} ${oclass} ${dkey} degraded`).toBe(hex(model.bytes))
      }
      expect(c.engines.reduce((n, e) => n + e.service.stats.ecReconstructedCells, 0), `seed ${seed + 3 + down}`).toBeGreaterThan(0)
      // Writes keep working degraded, and read back.
      const extra = te.encode('degraded-write')
      await c.settle(client.update(oid, key('d0'), [{ type: 'array', akey: key('arr'), recordSizeBytes: 1, extents: [{ index: 3, count: extra.length, data: extra }] }]))
      const [w] = await c.settle(client.fetch(oid, key('d0'), [{ type: 'array', akey: key('arr'), extents: [{ index: 3, count: extra.length }] }]))
      expect(td.decode(w?.data), `seed ${seed + 3 + down}`).toBe('degraded-write')
    })
  }

  it('a data target being reintegrated (UP, stale cells) is read around until it is UPIN', async () => {
    const c = await startCluster({ seed: seed + 13, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    const write = (text: string): Promise<bigint> => c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: text.length, data: te.encode(text) }] }]))
    await write('old-old-old-old-old-old-old-old-')
    await c.runtime.advance(200)
    const victim = placeObject(c.map, oid).groups[0]?.shards[0]?.rank as number
    exclude(c, [victim])
    const client = c.newClient(c.map)
    await c.settle(client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 32, data: te.encode('new-new-new-new-new-new-new-new-') }] }]))
    await c.runtime.advance(200)
    const back = applyPoolMapOperation(c.map, 'reintegrate', [{ rank: victim }])
    for (const e of c.engines) e.service.setPoolMap(back)
    c.map = back
    expect(placeObject(back, oid).groups[0]?.shards[0]?.rank, `seed ${seed + 13}: the shard is back on its own target`).toBe(victim)
    const [v] = await c.settle(c.newClient(back).fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 32 }] }], { replica: 0 }))
    expect(td.decode(v?.data), `seed ${seed + 13}: never the stale cell`).toBe('new-new-new-new-new-new-new-new-')
  })

  it('a gathering engine behind its peers adopts their map and the client resends (no false degraded read)', async () => {
    const c = await startCluster({ seed: seed + 15, ranks: 8, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    const data = randomBytes(new Random(seed + 15), 80)
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 80, data }] }]))
    await c.runtime.advance(200)
    const shards = placeObject(c.map, oid).groups[0]?.shards ?? []
    const used = new Set(shards.map((s) => s.rank))
    const bystander = c.engines.find((e) => !used.has(e.rank))?.rank as number
    const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: bystander }])
    const gatherer = shards[0]?.rank as number
    for (const e of c.engines) if (e.rank !== gatherer) e.service.setPoolMap(v2)
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 80 }] }], { replica: 0 }))
    expect(hex(v?.data), `seed ${seed + 15}`).toBe(hex(data))
    expect(c.engines[gatherer]?.service.poolMap.version, `seed ${seed + 15}: the gatherer learnt v2 from a peer`).toBe(2)
    expect(c.client.poolMap.version, `seed ${seed + 15}: the client learnt v2`).toBe(2)
    expect(c.engines.reduce((n, e) => n + e.service.stats.ecReconstructedCells, 0), `seed ${seed + 15}: nothing was reconstructed`).toBe(0)
  })

  it('a data shard whose engine does not answer (map unchanged) is read around', async () => {
    const c = await startCluster({ seed: seed + 6, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    const data = randomBytes(new Random(seed + 6), 100)
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 100, data }] }]))
    await c.runtime.advance(200)
    const shards = placeObject(c.map, oid).groups[0]?.shards ?? []
    const victim = shards[1]
    await c.crash(victim?.rank as number)
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 100 }] }], { replica: 0 }))
    expect(hex(v?.data), `seed ${seed + 6}`).toBe(hex(data))
  })

  it('too many lost shards: DER_DATA_LOSS, never wrong bytes', async () => {
    const c = await startCluster({ seed: seed + 7, ranks: 5, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    const data = te.encode('x'.repeat(64))
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 64, data }] }]))
    await c.runtime.advance(200)
    const shards = placeObject(c.map, oid).groups[0]?.shards ?? []
    await c.crash(shards[1]?.rank as number)
    await c.crash(shards[2]?.rank as number)
    const error = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 64 }] }], { replica: 0 })).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error, 'DER_DATA_LOSS'), `seed ${seed + 7}: ${String(error)}`).toBe(true)
  })
})

describe(`EC keys, punch and crashes (seed ${seed})`, () => {
  it('enumerate dkeys/akeys/extents, query-key and punch on EC objects, also degraded', async () => {
    const c = await startCluster({ seed: seed + 8, ranks: 8, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_4P2G1')
    for (const d of ['a', 'b', 'c']) {
      await c.settle(c.client.update(oid, key(d), [{ type: 'array', akey: key('x'), recordSizeBytes: 1, extents: [{ index: 10, count: 5, data: te.encode('hello') }, { index: 70, count: 30, data: te.encode('y'.repeat(30)) }] }]))
      await c.settle(c.client.update(oid, key(d), [{ type: 'single', akey: key('s'), value: te.encode(d) }]))
    }
    const check = async (tag: string, degraded: boolean): Promise<void> => {
      expect((await c.settle(c.client.listKeys(oid))).map((k) => td.decode(k)), tag).toEqual(['a', 'b', 'c'])
      expect((await c.settle(c.client.listKeys(oid, key('b')))).map((k) => td.decode(k)).sort(), tag).toEqual(['s', 'x'])
      expect(td.decode((await c.settle(c.client.queryKey(oid, 'max'))).dkey), tag).toBe('c')
      const max = await c.settle(c.client.queryKey(oid, 'max', key('b'), key('x')))
      const end = max.recx === undefined ? -1 : max.recx.index + max.recx.count
      // Degraded, a lost data shard's last cell counts whole (the end of its cell: 128).
      if (degraded) expect([100, 128], tag).toContain(end)
      else expect(end, tag).toBe(100)
      const min = await c.settle(c.client.queryKey(oid, 'min', key('b'), key('x')))
      expect(min.recx?.index, tag).toBe(10)
      const layout = placeObject(c.client.poolMap, oid)
      const lead = groupLeader(layout, 0)
      const context = c.clientCart.contexts[0]
      if (lead === undefined || context === undefined) throw new Error('no leader')
      const reply = await c.settle(
        context.call(
          objEnumerateRpc,
          { rank: lead.rank as number, tag: lead.targetIndex as number },
          { poolUuid, handleUuid: zero, mapVersion: c.client.poolMap.version, containerUuid: contUuid, containerHandle: zero, oid, shard: lead.shard, epoch: 0n, epochFirst: 0n, dtx: undefined, what: 'recxs', dkey: key('b'), akey: key('x'), anchor: new Uint8Array(0), maxItems: 0 },
        ),
      )
      expect(reply.rc, tag).toBe(0)
      const covered = new Set<number>()
      for (const r of reply.recxs) for (let i = Number(r.recx.index); i < Number(r.recx.index + r.recx.count); i++) covered.add(i)
      for (let i = 10; i < 15; i++) expect(covered.has(i), `${tag} record ${i}`).toBe(true)
      for (let i = 70; i < 100; i++) expect(covered.has(i), `${tag} record ${i}`).toBe(true)
    }
    await check(`seed ${seed + 8} healthy`, false)
    const data = (placeObject(c.map, oid).groups[0]?.shards ?? []).filter((s) => s.role === 'data')
    exclude(c, [data[3]?.rank as number])
    await c.settle(c.client.fetch(oid, key('a'), [{ type: 'single', akey: key('s') }]))
    await check(`seed ${seed + 8} degraded`, true)
    await c.settle(c.client.punch(oid, 'dkeys', [key('b')]))
    expect((await c.settle(c.client.listKeys(oid))).map((k) => td.decode(k)), `seed ${seed + 8}`).toEqual(['a', 'c'])
    await c.settle(c.client.punch(oid, 'object'))
    expect(await c.settle(c.client.listKeys(oid)), `seed ${seed + 8}`).toEqual([])
    const [gone] = await c.settle(c.client.fetch(oid, key('a'), [{ type: 'array', akey: key('x'), extents: [{ index: 0, count: 20 }] }]))
    expect(hex(gone?.data).replace(/0/g, ''), `seed ${seed + 8}: punched records read as zeros`).toBe('')
  })

  it('the leader crashes between prepare-everywhere (acknowledged) and commit: the write survives', async () => {
    const c = await startCluster({ seed: seed + 9, ranks: 6, ecCellRecords: cellRecords, commitIntervalMs: 60_000 })
    const oid = c.newOid('EC_2P1G1')
    const data = te.encode('z'.repeat(40))
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 40, data }] }]))
    const lead = groupLeader(placeObject(c.map, oid), 0)
    expect(lead?.role, `seed ${seed + 9}: the leader is the last parity shard`).toBe('parity')
    // Acknowledged, commit records still waiting (60 s interval): the leader dies.
    await c.crash(lead?.rank as number)
    exclude(c, [lead?.rank as number])
    const client = c.newClient(c.map)
    const [v] = await c.settle(client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 40 }] }]))
    expect(td.decode(v?.data), `seed ${seed + 9}`).toBe(td.decode(data))
    // The new leader (a remapped parity shard) takes a partial write: it reads the data cells back.
    await c.settle(client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 3, count: 2, data: te.encode('QQ') }] }]))
    const [w] = await c.settle(client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 40 }] }]))
    expect(td.decode(w?.data), `seed ${seed + 9}`).toBe(`zzzQQ${'z'.repeat(35)}`)
  })

  it('the leader crashes before every shard prepared: the client gets an error, readers never see a torn stripe', async () => {
    const c = await startCluster({ seed: seed + 10, ranks: 6, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 32, data: te.encode('o'.repeat(32)) }] }]))
    await c.runtime.advance(200)
    const layout = placeObject(c.map, oid)
    const lead = groupLeader(layout, 0)
    const shards = layout.groups[0]?.shards ?? []
    const d1 = shards[1]
    // Cut data shard 1 off the leader: it never gets the new write prepared.
    c.fabric.partition(`memory://rank-${lead?.rank}-tag-${lead?.targetIndex}`, `memory://rank-${d1?.rank}-tag-${d1?.targetIndex}`)
    const failing = c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 32, data: te.encode('n'.repeat(32)) }] }])
    failing.catch(() => undefined)
    const error = await c.settle(failing).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error), `seed ${seed + 10}: ${String(error)}`).toBe(true)
    c.fabric.heal()
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 32 }] }]))
    expect(td.decode(v?.data), `seed ${seed + 10}`).toBe('o'.repeat(32))
  })

  it('bad input: updates to a non-leader shard, mismatched extents or record sizes change nothing', async () => {
    const c = await startCluster({ seed: seed + 11, ranks: 4, ecCellRecords: cellRecords })
    const oid = c.newOid('EC_2P1G1')
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 2, extents: [{ index: 0, count: 4, data: te.encode('abcdefgh') }] }]))
    const layout = placeObject(c.map, oid)
    const data0 = layout.groups[0]?.shards[0]
    const lead = groupLeader(layout, 0)
    const context = c.clientCart.contexts[0]
    if (data0 === undefined || lead === undefined || context === undefined) throw new Error('setup')
    const base = { poolUuid, handleUuid: zero, mapVersion: c.map.version, containerUuid: contUuid, containerHandle: zero, oid, epoch: 0n, epochFirst: 0n, dtx: undefined, dkey: key('d'), forwardTo: [] }
    const iod = { akey: key('a'), type: 'array' as const, recordSizeBytes: 2n, recxs: [{ index: 1n, count: 1n }] }
    const notLeader = await c.settle(context.call(objUpdateRpc, { rank: data0.rank as number, tag: data0.targetIndex as number }, { ...base, shard: data0.shard, iods: [iod], data: [te.encode('XY')] }))
    expect(notLeader.rc, `seed ${seed + 11}: ${notLeader.message}`).toBe(-1003)
    expect(notLeader.message).toMatch(/not the leader/)
    const short = await c.settle(context.call(objUpdateRpc, { rank: lead.rank as number, tag: lead.targetIndex as number }, { ...base, shard: lead.shard, iods: [iod], data: [te.encode('X')] }))
    expect(short.rc, `seed ${seed + 11}: ${short.message}`).toBe(-1003)
    const wrongSize = await c.settle(
      context.call(objUpdateRpc, { rank: lead.rank as number, tag: lead.targetIndex as number }, { ...base, shard: lead.shard, iods: [{ ...iod, recordSizeBytes: 1n }], data: [te.encode('X')] }),
    )
    expect(wrongSize.rc, `seed ${seed + 11}: ${wrongSize.message}`).toBe(-1003)
    expect(wrongSize.message).toMatch(/record size/)
    const badShard = await c.settle(context.call(objUpdateRpc, { rank: lead.rank as number, tag: lead.targetIndex as number }, { ...base, shard: 99, iods: [iod], data: [te.encode('XY')] }))
    expect(badShard.rc, `seed ${seed + 11}`).toBe(-1003)
    const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 4 }] }]))
    expect(td.decode(v?.data), `seed ${seed + 11}`).toBe('abcdefgh')
    await expect(startCluster({ seed, ranks: 1, ecCellRecords: 0 })).rejects.toThrow(/cell size/)
  })
})
