// (a) One engine, real processes: the README flow (dmg system query, pool create, daos container
// create, kv put/get), the same data through the @x/client library, and a restart that keeps it.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { Cluster, formatLogs } from '../src/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe('one engine: the README flow on a real daemon', () => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await Cluster.start({ engines: 1, targets: 2 })
  }, 90_000)

  afterAll(async () => {
    await cluster?.close()
  }, 30_000)

  const dumpLogsOnFailure = (): void =>
    onTestFailed(() => {
      console.error(formatLogs(cluster.logs(40)))
    })

  it('dmg system query shows one joined member', async () => {
    dumpLogsOnFailure()
    const r = await cluster.dmg(['system', 'query'])
    expect(r.status, r.error ?? '').toBe(0)
    expect(r.exitCode).toBe(0)
    const members = (r.response as { members: { rank: number; state: string; addr: string }[] }).members
    expect(members).toHaveLength(1)
    expect(members[0]).toMatchObject({ rank: 0, state: 'joined', addr: cluster.controlAddress(0) })
  })

  it('pool create, container create, kv put and get through dmg and daos', async () => {
    dumpLogsOnFailure()
    const created = (await cluster.dmgOk(['pool', 'create', 'tank', '--size', '128M'])) as { pool: { label: string; state: string; uuid: string } }
    expect(created.pool).toMatchObject({ label: 'tank', state: 'ready' })
    const list = (await cluster.dmgOk(['pool', 'list'])) as { pools: { label: string }[] }
    expect(list.pools.map((p) => p.label)).toContain('tank')
    const cont = (await cluster.daosOk(['container', 'create', 'tank', 'c1'])) as { container: { label: string } }
    expect(cont.container.label).toBe('c1')
    await cluster.daosOk(['kv', 'put', 'tank', 'c1', 'k', 'v'])
    const got = (await cluster.daosOk(['kv', 'get', 'tank', 'c1', 'k'])) as { value: string }
    expect(got.value).toBe('v')
    const query = (await cluster.dmgOk(['pool', 'query', 'tank'])) as { activeTargets: number; totalTargets: number }
    expect(query.totalTargets).toBe(2)
    expect(query.activeTargets).toBe(2)
  })

  it('errors come back as a DER code and a non-zero exit', async () => {
    dumpLogsOnFailure()
    const r = await cluster.daos(['kv', 'get', 'nopool', 'c1', 'k'])
    expect(r.exitCode).not.toBe(0)
    expect(r.status).toBeLessThan(0)
    expect(r.error).toMatch(/^DER_NONEXIST/)
    const dup = await cluster.dmg(['pool', 'create', 'tank', '--size', '64M'])
    expect(dup.exitCode).not.toBe(0)
    expect(dup.error).toMatch(/^DER_/)
  })

  it('the @x/client library reads what daos wrote and writes what daos reads', async () => {
    dumpLogsOnFailure()
    const session = await cluster.openClient('tank', 'c1')
    try {
      const kv = session.containerKv()
      expect(decoder.decode((await kv.get(encoder.encode('k'))) ?? new Uint8Array())).toBe('v')
      await kv.put(encoder.encode('from-client'), encoder.encode('hello'))
      const arr = await session.createArray('S1', 4096)
      const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) & 0xff)
      await arr.write(0, data)
      expect(await arr.read(0, data.length)).toEqual(data)
    } finally {
      await session.close()
    }
    const got = (await cluster.daosOk(['kv', 'get', 'tank', 'c1', 'from-client'])) as { value: string }
    expect(got.value).toBe('hello')
  })

  it('data survives a kill -9 and restart of the daemon', async () => {
    dumpLogsOnFailure()
    await cluster.kill9(0)
    expect(cluster.daemon(0).process.exit?.signal).toBe('SIGKILL')
    await cluster.restart(0)
    const got = (await cluster.daosOk(['kv', 'get', 'tank', 'c1', 'k'])) as { value: string }
    expect(got.value).toBe('v')
  })
})
