// DTX recovery after an engine restart: every shard keeps its DTX record with the prepare in its
// VOS, and a restarted engine (power cut, TargetSet.open on the crash image) rebuilds its
// in-doubt table from it and resolves each prepared DTX, so nothing stays DER_INPROGRESS.
import { DecodeError, Random, isDerError } from '@x/common'
import { type ObjectId, type ShardPlacement, applyPoolMapOperation, groupLeader, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { decodeDtxRecord, encodeDtxRecord } from '../../src/object/index.ts'
import { type TestCluster, key, startCluster, td, te } from './cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 0xd7c0de)

function shardsOf(c: TestCluster, oid: ObjectId): { lead: ShardPlacement; followers: ShardPlacement[] } {
  const layout = placeObject(c.map, oid)
  const lead = groupLeader(layout, 0)
  if (lead === undefined) throw new Error(`seed ${c.seed}: no leader`)
  return { lead, followers: (layout.groups[0]?.shards ?? []).filter((s) => s.shard !== lead.shard) }
}

function prepared(c: TestCluster, s: ShardPlacement): string[] {
  return c.engines[s.rank as number]?.targets.get(s.targetIndex as number).vos.listPreparedDtx() ?? []
}

async function read(c: TestCluster, oid: ObjectId, dkey: string, position: number): Promise<string | undefined> {
  const [v] = await c.settle(c.client.fetch(oid, key(dkey), [{ type: 'single', akey: key('a') }], { replica: position }))
  return v === undefined || v.recordSizeBytes === 0 ? undefined : td.decode(v.data)
}

async function write(c: TestCluster, oid: ObjectId, dkey: string, value: string): Promise<void> {
  await c.settle(c.client.update(oid, key(dkey), [{ type: 'single', akey: key('a'), value: te.encode(value) }]))
}

/** Partitions every target address of rank `a` from every target address of rank `b`. */
function partition(c: TestCluster, a: number, b: number): void {
  for (const x of c.uris(a)) for (const y of c.uris(b)) c.fabric.partition(x, y)
}

describe(`DTX recovery after a restart (seed ${seed})`, () => {
  it('a replica crashes between prepare and commit; after its restart the committed writes read back', async () => {
    const c = await startCluster({ seed, ranks: 4, commitIntervalMs: 60_000 })
    const oid = c.newOid('RP_3G1')
    const { lead, followers } = shardsOf(c, oid)
    const victim = followers[0] as ShardPlacement
    for (let i = 0; i < 4; i++) await write(c, oid, `d${i}`, `acked-${i}`)
    expect(prepared(c, victim).length, `seed ${seed}: the replica holds the writes prepared`).toBe(4)
    await c.powerCut(victim.rank as number)
    // The leader commits while the replica is down: its commit records to the replica are lost.
    await c.settle(c.engines[lead.rank as number]?.service.flushCommits() ?? Promise.resolve())
    const fresh = await c.restart(victim.rank as number)
    expect(fresh.service.stats.recoveredDtx, `seed ${seed}`).toBe(4)
    const result = await c.settle(fresh.service.recovery)
    expect(result, `seed ${seed}`).toEqual({ found: 4, resolved: 4, pending: 0 })
    expect(prepared(c, victim), `seed ${seed}`).toEqual([])
    for (let i = 0; i < 4; i++) expect(await read(c, oid, `d${i}`, victim.position), `seed ${seed} d${i}`).toBe(`acked-${i}`)
  })

  it('a replica crashes holding a DTX its leader then aborted; after its restart the old value reads back', async () => {
    const s = seed + 1
    const c = await startCluster({ seed: s, ranks: 4, commitIntervalMs: 10 })
    const oid = c.newOid('RP_3G1')
    const { lead, followers } = shardsOf(c, oid)
    const [victim, cut] = followers as [ShardPlacement, ShardPlacement]
    await write(c, oid, 'd', 'old')
    await c.settle(c.engines[lead.rank as number]?.service.flushCommits() ?? Promise.resolve())
    // The other replica does not answer: the leader will abort after its replica timeout.
    partition(c, lead.rank as number, cut.rank as number)
    const failed = c.client.update(oid, key('d'), [{ type: 'single', akey: key('a'), value: te.encode('new') }]).then(
      () => undefined,
      (e: unknown) => e,
    )
    await c.runtime.runUntil(() => prepared(c, victim).length === 1, 500)
    expect(prepared(c, victim).length, `seed ${s}: the replica prepared the write`).toBe(1)
    await c.powerCut(victim.rank as number)
    const error = await c.settle(failed)
    expect(isDerError(error), `seed ${s}: the client gets an error, got ${String(error)}`).toBe(true)
    c.fabric.heal()
    const fresh = await c.restart(victim.rank as number)
    expect(await c.settle(fresh.service.recovery), `seed ${s}`).toEqual({ found: 1, resolved: 1, pending: 0 })
    expect(prepared(c, victim), `seed ${s}`).toEqual([])
    expect(await read(c, oid, 'd', victim.position), `seed ${s}`).toBe('old')
  })

  it('the leader dies (excluded) and a replica restarts: writes prepared on every survivor commit', async () => {
    const s = seed + 2
    const c = await startCluster({ seed: s, ranks: 4, commitIntervalMs: 60_000 })
    const oid = c.newOid('RP_3G1')
    const { lead, followers } = shardsOf(c, oid)
    const [victim, other] = followers as [ShardPlacement, ShardPlacement]
    for (let i = 0; i < 3; i++) await write(c, oid, `d${i}`, `acked-${i}`)
    await c.powerCut(lead.rank as number)
    await c.powerCut(victim.rank as number)
    const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead.rank as number }])
    for (const e of c.engines) if (e.alive) e.service.setPoolMap(v2)
    const fresh = await c.restart(victim.rank as number, v2)
    expect(await c.settle(fresh.service.recovery), `seed ${s}`).toEqual({ found: 3, resolved: 3, pending: 0 })
    expect(prepared(c, victim), `seed ${s}`).toEqual([])
    const client = c.newClient(v2)
    const after = placeObject(v2, oid).groups[0]?.shards ?? []
    for (const survivor of [victim, other]) {
      const position = after.find((x) => x.rank === survivor.rank && x.targetIndex === survivor.targetIndex)?.position
      if (position === undefined) throw new Error(`seed ${s}: survivor not in the new layout`)
      for (let i = 0; i < 3; i++) {
        const [v] = await c.settle(client.fetch(oid, key(`d${i}`), [{ type: 'single', akey: key('a') }], { replica: position }))
        expect(td.decode(v?.data), `seed ${s} rank ${survivor.rank} d${i}`).toBe(`acked-${i}`)
      }
    }
  })

  it('a restarted leader resolves its own prepared DTXs: acknowledged ones commit, half-sent ones abort', async () => {
    const s = seed + 3
    const c = await startCluster({ seed: s, ranks: 4, commitIntervalMs: 60_000 })
    const oid = c.newOid('RP_3G1')
    const { lead, followers } = shardsOf(c, oid)
    for (let i = 0; i < 3; i++) await write(c, oid, `d${i}`, `acked-${i}`)
    expect(prepared(c, lead).length, `seed ${s}: the leader holds its writes prepared`).toBe(3)
    // A last write reaches only the leader's own VOS: the replicas never answer before it dies.
    for (const f of followers) partition(c, lead.rank as number, f.rank as number)
    const lost = c.client.update(oid, key('dx'), [{ type: 'single', akey: key('a'), value: te.encode('never-acked') }]).then(
      () => 'acked',
      () => 'failed',
    )
    await c.runtime.runUntil(() => prepared(c, lead).length === 4, 500)
    expect(prepared(c, lead).length, `seed ${s}`).toBe(4)
    await c.powerCut(lead.rank as number)
    c.fabric.heal()
    expect(await c.settle(lost), `seed ${s}`).toBe('failed')
    const fresh = await c.restart(lead.rank as number)
    expect(await c.settle(fresh.service.recovery), `seed ${s}`).toEqual({ found: 4, resolved: 4, pending: 0 })
    expect(prepared(c, lead), `seed ${s}`).toEqual([])
    for (const shard of [lead, ...followers]) {
      for (let i = 0; i < 3; i++) expect(await read(c, oid, `d${i}`, shard.position), `seed ${s} shard ${shard.shard} d${i}`).toBe(`acked-${i}`)
      expect(await read(c, oid, 'dx', shard.position), `seed ${s} shard ${shard.shard}: the unacknowledged write is gone`).toBeUndefined()
    }
    // The service keeps working after the recovery.
    await write(c, oid, 'd0', 'later')
    expect(await read(c, oid, 'd0', lead.position), `seed ${s}`).toBe('later')
  })

  it('EC: a restarted parity leader and data shard resolve their prepared cells; the array reads back', async () => {
    const s = seed + 4
    const c = await startCluster({ seed: s, ranks: 6, ecCellRecords: 8, commitIntervalMs: 60_000 })
    const oid = c.newOid('EC_2P1G1')
    const shards = placeObject(c.map, oid).groups[0]?.shards ?? []
    const lead = groupLeader(placeObject(c.map, oid), 0)
    const dataShard = shards.find((x) => x.role === 'data')
    if (lead === undefined || dataShard === undefined) throw new Error(`seed ${s}: no leader or data shard`)
    const data = te.encode('e'.repeat(40))
    await c.settle(c.client.update(oid, key('d'), [{ type: 'array', akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 40, data }] }]))
    expect([prepared(c, lead).length, prepared(c, dataShard).length], `seed ${s}: both hold the write prepared`).toEqual([1, 1])
    await c.powerCut(lead.rank as number)
    await c.powerCut(dataShard.rank as number)
    const restarted = [await c.restart(lead.rank as number), await c.restart(dataShard.rank as number)]
    for (const e of restarted) expect((await c.settle(e.service.recovery)).pending, `seed ${s} rank ${e.rank}`).toBe(0)
    expect(prepared(c, lead), `seed ${s}`).toEqual([])
    expect(prepared(c, dataShard), `seed ${s}`).toEqual([])
    for (const position of shards.map((x) => x.position)) {
      const [v] = await c.settle(c.client.fetch(oid, key('d'), [{ type: 'array', akey: key('a'), extents: [{ index: 0, count: 40 }] }], { replica: position }))
      expect(td.decode(v?.data), `seed ${s} via shard ${position}`).toBe(td.decode(data))
    }
  })

  it('DTX records round-trip, and malformed bytes give a DecodeError (fuzzed)', () => {
    const record = { id: '0f0e0d0c-0b0a-4908-8706-050403020100', epoch: 77n, oid: { hi: 5n, lo: 9n }, group: 2, leader: { rank: 1, tag: 0 }, participants: [{ rank: 1, tag: 0 }, { rank: 3, tag: 1 }] }
    const bytes = encodeDtxRecord(record)
    expect(decodeDtxRecord(bytes), `seed ${seed}`).toEqual(record)
    const random = new Random(seed)
    for (let i = 0; i < 500; i++) {
      const mutated = bytes.slice(0, random.int(bytes.length + 1))
      if (mutated.length > 0 && random.int(2) === 0) mutated[random.int(mutated.length)] = random.int(256)
      try {
        decodeDtxRecord(mutated)
      } catch (error) {
        expect(error, `seed ${seed} case ${i}`).toBeInstanceOf(DecodeError)
      }
    }
  })
})
