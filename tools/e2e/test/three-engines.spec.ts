// (b) Three engines as three real daemon processes on loopback: dmg pool create across ranks,
// daos container create with RP_3GX and EC_2P1G1, KV and array data written and read back
// through @x/client (and daos kv). Skipped, with the reason, only while the daemons cannot form
// a 3-engine system (probed: dmg system query must show 3 joined members).
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { Cluster, type ClientSession, formatLogs, probeMultiEngine, queryMembers } from '../src/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe('three engines: pools, RP_3GX and EC_2P1G1 containers, KV and arrays', () => {
  let cluster: Cluster
  let missing: string | undefined

  beforeAll(async () => {
    cluster = await Cluster.start({ engines: 3, targets: 2 })
    missing = await probeMultiEngine(cluster)
  }, 120_000)

  afterAll(async () => {
    await cluster?.close()
  }, 30_000)

  const guard = (ctx: { skip: (note?: string) => void }): void => {
    if (missing !== undefined) ctx.skip(missing)
    onTestFailed(() => console.error(formatLogs(cluster.logs(40))))
  }

  it('dmg system query: three joined ranks, one per daemon', async (ctx) => {
    guard(ctx)
    const members = await queryMembers(cluster)
    expect(members.filter((m) => m.state === 'joined')).toHaveLength(3)
    expect(new Set(members.map((m) => m.rank)).size).toBe(3)
    expect(new Set(members.map((m) => m.addr))).toEqual(new Set([0, 1, 2].map((i) => cluster.controlAddress(i))))
    // Every daemon answers for the whole system.
    for (const via of [1, 2]) expect((await queryMembers(cluster, via)).length).toBe(3)
  })

  it('dmg pool create spans the three ranks; containers with RP_3GX and EC_2P1G1', async (ctx) => {
    guard(ctx)
    const created = (await cluster.dmgOk(['pool', 'create', 'tank', '--size', '256M'])) as { pool: { tgtRanks: number[]; state: string } }
    expect(created.pool.state).toBe('ready')
    expect([...created.pool.tgtRanks].sort()).toHaveLength(3)
    const query = (await cluster.dmgOk(['pool', 'query', 'tank'], { via: 2 })) as { totalTargets: number; activeTargets: number }
    expect(query.totalTargets).toBe(6)
    expect(query.activeTargets).toBe(6)
    await cluster.daosOk(['container', 'create', 'tank', 'rp', '--oclass', 'RP_3GX'])
    await cluster.daosOk(['container', 'create', 'tank', 'ec', '--oclass', 'EC_2P1G1'], { via: 1 })
    const rp = (await cluster.daosOk(['container', 'query', 'tank', 'rp'])) as { oclass: string }
    expect(rp.oclass).toBe('RP_3GX')
    const ec = (await cluster.daosOk(['container', 'query', 'tank', 'ec'])) as { oclass: string }
    expect(ec.oclass).toBe('EC_2P1G1')
  })

  async function roundTrip(container: string, oclass: string): Promise<void> {
    let session: ClientSession | undefined
    try {
      session = await cluster.openClient('tank', container)
      const kv = session.containerKv()
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
      await Promise.all(keys.map((k, i) => kv.put(encoder.encode(k), encoder.encode(`${oclass}-value-${i}-${'x'.repeat(i * 37)}`))))
      for (const [i, k] of keys.entries()) {
        const got = await kv.get(encoder.encode(k))
        expect(got === undefined ? undefined : decoder.decode(got), `${oclass} ${k}`).toBe(`${oclass}-value-${i}-${'x'.repeat(i * 37)}`)
      }
      const listed = (await kv.listAll()).map((b) => decoder.decode(b))
      expect(new Set(listed)).toEqual(new Set(keys))
      const arr = await session.createArray(oclass, 64 * 1024)
      const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 131 + 7) & 0xff)
      await arr.write(1000, data)
      expect(await arr.read(1000, data.length)).toEqual(data)
      expect(await arr.getSize()).toBe(1000 + data.length)
      expect(await arr.read(0, 1000)).toEqual(new Uint8Array(1000))
    } finally {
      await session?.close()
    }
    // The CLI, through another daemon, reads what the library wrote.
    const got = (await cluster.daosOk(['kv', 'get', 'tank', container, 'key-3'], { via: 2 })) as { value: string }
    expect(got.value).toBe(`${oclass}-value-3-${'x'.repeat(3 * 37)}`)
  }

  it('RP_3GX: KV and array data written and read back through @x/client', async (ctx) => {
    guard(ctx)
    await roundTrip('rp', 'RP_3GX')
  })

  it('EC_2P1G1: KV and array data written and read back through @x/client', async (ctx) => {
    guard(ctx)
    await roundTrip('ec', 'EC_2P1G1')
  })

  it('daos kv put/get/list on the RP_3GX container', async (ctx) => {
    guard(ctx)
    await cluster.daosOk(['kv', 'put', 'tank', 'rp', 'cli-key', 'cli-value'], { via: 1 })
    const got = (await cluster.daosOk(['kv', 'get', 'tank', 'rp', 'cli-key'], { via: 0 })) as { value: string }
    expect(got.value).toBe('cli-value')
  })
})
