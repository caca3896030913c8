import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogRoot, MemoryLogSink, createRealRuntime, isDerError, parseLogMask } from '@x/common'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControlClient, type ServerConfig, type SystemDaemon, embeddedDefaultConfig, startSystemDaemon, systemPlacement } from '../../src/index.ts'
import { freePort, freePortBlocks } from './ports.ts'

const runtime = createRealRuntime()
const targets = 2
let root: string
let configs: ServerConfig[] = []
let daemons: SystemDaemon[] = []
const sinks: MemoryLogSink[] = []

function config(dir: string, port: number, fabricPort: number, accessPoints: readonly number[]): ServerConfig {
  const base = embeddedDefaultConfig(dir)
  return {
    ...base,
    port,
    accessPoints: accessPoints.map((p) => ({ host: '127.0.0.1', port: p })),
    engines: [
      {
        ...base.engines[0]!,
        targets,
        fabricIface: '127.0.0.1',
        fabricIfacePort: fabricPort,
        storage: [{ class: 'file', path: join(dir, 'bdev0.img'), sizeBytes: 32 << 20 }],
      },
    ],
  }
}

async function startAll(): Promise<SystemDaemon[]> {
  return Promise.all(
    configs.map((c, i) => {
      const sink = (sinks[i] ??= new MemoryLogSink())
      const log = new LogRoot(sink, runtime.clock, parseLogMask('INFO'))
      return startSystemDaemon({ config: c, dataDir: join(root, `d${i}`), runtime, log, clusterSizeBytes: 16 * 1024, attachTimeoutMs: 30_000, membership: false })
    }),
  )
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'x-sysd-'))
  const controlPorts = [await freePort(), await freePort(), await freePort()]
  const fabricPorts = await freePortBlocks(3, targets)
  configs = controlPorts.map((p, i) => config(join(root, `d${i}`), p, fabricPorts[i]!, controlPorts))
  daemons = await startAll()
}, 60_000)

afterAll(async () => {
  for (const d of daemons) await d.stop().catch(() => undefined)
  rmSync(root, { recursive: true, force: true })
})

function client(i: number): ControlClient {
  return new ControlClient({ target: daemons[i]!.control.address, clock: runtime.clock, timeoutMs: 20_000 })
}

describe('three daemons on SystemNode', () => {
  it('derives addresses and access-point ids from the config', () => {
    const p = systemPlacement(configs[1]!)
    expect(p.msId).toBe(2)
    expect(p.controlAddress).toBe(`127.0.0.1:${configs[1]!.port}`)
    expect(p.listen(1)).toBe(`tcp://127.0.0.1:${configs[1]!.engines[0]!.fabricIfacePort + 1}`)
    expect(() => systemPlacement({ ...configs[0]!, port: 0 })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('joins three ranks; any control server answers for the system', async () => {
    expect(new Set(daemons.map((d) => d.rank)).size).toBe(3)
    for (let i = 0; i < 3; i++) {
      const c = client(i)
      try {
        const q = await c.call('SystemQuery', {})
        expect(q.members.map((m) => m.state)).toEqual(['joined', 'joined', 'joined'])
        const attach = await c.call('GetAttachInfo', {})
        expect(attach).toMatchObject({ accessPoint: true, rank: daemons[i]!.rank })
      } finally {
        c.close()
      }
    }
  })

  it('creates a pool across ranks from one daemon and queries it from another', async () => {
    const a = client(0)
    const b = client(2)
    try {
      const created = await a.call('PoolCreate', { label: 'tank', sizeBytes: 16 << 20, properties: {}, user: 'alice@', group: 'staff@' })
      expect(created.pool.tgtRanks).toHaveLength(3)
      const q = await b.call('PoolQuery', { id: 'tank' })
      expect(q.totalTargets).toBe(3 * targets)
      const cont = await b.call('ContainerCreate', { pool: 'tank', label: 'c1', oclass: 'RP_3GX', identity: { user: 'alice@', groups: ['staff@'] } })
      expect(cont.container.label).toBe('c1')
      const denied = await b.call('ContainerList', { pool: 'tank', identity: { user: 'eve@', groups: ['eve@'] } }).catch((e: unknown) => e)
      expect(isDerError(denied, 'DER_NO_PERM')).toBe(true)
      const connect = await a.call('PoolConnect', { id: 'tank', caps: 'ro', identity: { user: 'alice@', groups: ['staff@'] }, keepHandle: true })
      expect(connect.ranks).toHaveLength(3)
      expect((await b.call('PoolQuery', { id: 'tank' })).handles).toBe(1)
      await a.call('PoolDisconnect', { id: 'tank', handle: connect.handle ?? '' })
      const probe = await a.call('PoolConnect', { id: 'tank' })
      expect(probe.handle).toBe('')
      expect((await b.call('PoolQuery', { id: 'tank' })).handles).toBe(0)
      const usage = await b.call('StorageQueryUsage', {})
      expect(usage.hosts).toHaveLength(3)
    } finally {
      a.close()
      b.close()
    }
  }, 60_000)
})

describe('rank operations on SystemNode daemons', () => {
  it('system stop and start record the rank states; exclude needs ranks', async () => {
    const c = client(1)
    try {
      const rank = daemons[2]!.rank
      const stopped = await c.call('SystemStop', { ranks: [rank] })
      expect(stopped.results).toEqual([expect.objectContaining({ rank, operation: 'stop', ok: true, state: 'stopped' })])
      const started = await c.call('SystemStart', { ranks: [rank] })
      expect(started.results[0]).toMatchObject({ rank, state: 'joined' })
      expect(started.mapVersion).toBeGreaterThan(stopped.mapVersion)
      const noRanks = await c.call('SystemExclude', {}).catch((e: unknown) => e)
      expect(isDerError(noRanks, 'DER_INVAL')).toBe(true)
      const unknown = await c.call('SystemStop', { ranks: [99] }).catch((e: unknown) => e)
      expect(isDerError(unknown, 'DER_NONEXIST')).toBe(true)
    } finally {
      c.close()
    }
  }, 60_000)
})

describe('a daemon whose access points do not answer', () => {
  it('serves GetAttachInfo, logs whom it waits for, and gives up with DER_TIMEDOUT', async () => {
    const dir = join(root, 'lonely')
    const [port, dead1, dead2] = [await freePort(), await freePort(), await freePort()]
    const [fabricPort] = await freePortBlocks(1, targets)
    const lonely = config(dir, port, fabricPort!, [port, dead1, dead2])
    const sink = new MemoryLogSink()
    const starting = startSystemDaemon({ config: lonely, dataDir: dir, runtime, log: new LogRoot(sink, runtime.clock, parseLogMask('INFO')), clusterSizeBytes: 16 * 1024, attachTimeoutMs: 1500, membership: false })
    const outcome = starting.then(
      () => 'started',
      (e: unknown) => e,
    )
    await runtime.timers.sleep(300)
    const c = new ControlClient({ target: `127.0.0.1:${port}`, clock: runtime.clock, timeoutMs: 2000 })
    try {
      expect(await c.call('GetAttachInfo', {})).toMatchObject({ accessPoint: true, rank: -1, fabricUri: `tcp://127.0.0.1:${fabricPort}` })
      const early = await c.call('PoolList', {}).catch((e: unknown) => e)
      expect(isDerError(early, 'DER_AGAIN')).toBe(true)
    } finally {
      c.close()
    }
    const error = await outcome
    expect(isDerError(error, 'DER_TIMEDOUT') && error.message).toMatch(/access point 127\.0\.0\.1:\d+ did not answer GetAttachInfo/)
    expect(sink.records.filter((r) => r.message === 'waiting for access point').length).toBeGreaterThanOrEqual(2)
  }, 30_000)
})
