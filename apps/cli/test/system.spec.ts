import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { ControlClient, type ServerConfig, type SystemDaemon, embeddedDefaultConfig, startSystemDaemon } from '@x/daemon'
import { openDfsSession } from '@x/dfs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identifiedCaller } from '../src/daos/commands.ts'
import { runDaos, runDmg } from '../src/index.ts'

// Three daemons on distinct loopback addresses (127.0.0.1, .2, .3: all of 127/8 is local on
// Linux), the same control and fabric ports, each with its own data directory.
const runtime = createRealRuntime()
const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3']
const targets = 2
const owner = { user: 'alice@', groups: ['staff@'] }
let root: string
let configs: ServerConfig[] = []
let daemons: SystemDaemon[] = []

/** A port free on every host (and the `span - 1` after it). */
async function commonFreePort(span: number): Promise<number> {
  for (;;) {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const base = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    let ok = base + span < 65535
    for (const host of hosts) {
      for (let i = 0; ok && i < span; i++) {
        const s = createServer()
        ok = await new Promise<boolean>((resolve) => {
          s.once('error', () => resolve(false))
          s.listen(base + i, host, () => s.close(() => resolve(true)))
        })
      }
    }
    if (ok) return base
  }
}

function config(i: number, port: number, fabricPort: number): ServerConfig {
  const dir = join(root, `d${i}`)
  const base = embeddedDefaultConfig(dir)
  return {
    ...base,
    port,
    accessPoints: hosts.map((host) => ({ host, port })),
    engines: [{ ...base.engines[0]!, targets, fabricIface: hosts[i]!, fabricIfacePort: fabricPort, storage: [{ class: 'file', path: join(dir, 'bdev0.img'), sizeBytes: 32 << 20 }] }],
  }
}

async function startAll(): Promise<SystemDaemon[]> {
  return Promise.all(
    configs.map((c, i) =>
      startSystemDaemon({ config: c, dataDir: join(root, `d${i}`), runtime, log: new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('ERR')), clusterSizeBytes: 16 * 1024, attachTimeoutMs: 30_000 }),
    ),
  )
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'x-cli-system-'))
  const port = await commonFreePort(1)
  const fabricPort = await commonFreePort(targets)
  configs = hosts.map((_, i) => config(i, port, fabricPort))
  daemons = await startAll()
}, 60_000)

afterAll(async () => {
  for (const d of daemons) await d.stop().catch(() => undefined)
  rmSync(root, { recursive: true, force: true })
})

async function dmg(i: number, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const code = await runDmg(['-l', daemons[i]!.control.address, ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), clock: runtime.clock, timeoutMs: 20_000, identity: owner })
  return { code, out }
}

async function daos(i: number, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const code = await runDaos(['-l', daemons[i]!.control.address, ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), runtime, timeoutMs: 20_000, identity: owner })
  return { code, out }
}

describe('dmg and daos on three SystemNode daemons (127.0.0.1-3)', () => {
  it('the README flow across engines, with RP_3GX data read back through another daemon', async () => {
    const members = await dmg(1, '-j', 'system', 'query')
    expect(members.code, members.out).toBe(0)
    expect((JSON.parse(members.out) as { response: { members: { addr: string; state: string }[] } }).response.members.map((m) => [m.addr.split(':')[0], m.state]).sort()).toEqual(hosts.map((h) => [h, 'joined']))
    const created = await dmg(2, 'pool', 'create', 'tank', '--size', '32M')
    expect(created.code, created.out).toBe(0)
    expect(created.out).toMatch(/Storage Ranks\s+: 0,1,2/)
    expect((await daos(0, 'container', 'create', 'tank', 'c1', '--oclass', 'RP_3GX')).code).toBe(0)
    const put = await daos(1, 'kv', 'put', 'tank', 'c1', 'k', 'v')
    expect(put.code, put.out).toBe(0)
    const get = await daos(2, 'kv', 'get', 'tank', 'c1', 'k')
    expect(get.out).toBe('v\n')
    const layout = await daos(0, '-j', 'container', 'query', 'tank', 'c1')
    const oid = (JSON.parse(layout.out) as { response: { kvOid: string } }).response.kvOid
    const placement = await daos(0, '-j', 'object', 'query', 'tank', 'c1', oid)
    const shards = (JSON.parse(placement.out) as { response: { groups: { shards: { rank: number }[] }[] } }).response.groups.flatMap((g) => g.shards.map((s) => s.rank))
    expect(new Set(shards).size).toBe(3)
    const pq = await dmg(0, 'pool', 'query', 'tank')
    expect(pq.out).toContain(`- Target count:${3 * targets}`)
    const usage = await dmg(0, '-j', 'storage', 'query', 'usage')
    expect((JSON.parse(usage.out) as { response: { hosts: unknown[] } }).response.hosts).toHaveLength(3)
  }, 60_000)

  it('serves POSIX containers with caps on every engine: fs copy in through one daemon, out through another', async () => {
    expect((await daos(0, 'container', 'create', 'tank', 'p1', '--type', 'POSIX', '--chunk-size', '64K')).code).toBe(0)
    const src = join(root, 'fs-src')
    mkdirSync(join(src, 'd'), { recursive: true })
    writeFileSync(join(src, 'd', 'f.bin'), Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 13) & 0xff)))
    writeFileSync(join(src, 'a.txt'), 'hello\n')
    const copyIn = await daos(0, 'fs', 'copy', '--src', src, '--dst', 'daos://tank/p1/t')
    expect(copyIn.code, copyIn.out).toBe(0)
    const back = join(root, 'fs-back')
    const copyOut = await daos(1, 'fs', 'copy', '--src', 'daos://tank/p1/t', '--dst', back)
    expect(copyOut.code, copyOut.out).toBe(0)
    expect(readFileSync(join(back, 'd', 'f.bin')).equals(readFileSync(join(src, 'd', 'f.bin')))).toBe(true)
    expect(readFileSync(join(back, 'a.txt'), 'utf8')).toBe('hello\n')
    const control = new ControlClient({ target: daemons[2]!.control.address, clock: runtime.clock, timeoutMs: 20_000 })
    try {
      const session = await openDfsSession(identifiedCaller(control, owner), 'tank', 'p1', { runtime, timeoutMs: 5000 })
      try {
        expect(session.caching).toBe('caps')
        await session.dfs.stat('/t/d/f.bin', false)
        const lookups = session.dfs.stats.lookupRpcs
        expect((await session.dfs.stat('/t/d/f.bin', false)).sizeBytes).toBe(150_000)
        expect(session.dfs.stats.lookupRpcs, 'a repeated stat is served under caps').toBe(lookups)
      } finally {
        await session.close()
      }
    } finally {
      control.close()
    }
  }, 60_000)

  it('pool exclude --wait rebuilds, data stays readable, reintegrate brings the rank back', async () => {
    let stderr = ''
    const io = { stdout: () => {}, stderr: (t: string) => (stderr += t), clock: runtime.clock, timeoutMs: 20_000, identity: owner, isTTY: true, sleep: (ms: number) => runtime.timers.sleep(ms) }
    let out = ''
    const code = await runDmg(['-l', daemons[0]!.control.address, 'pool', 'exclude', 'tank', '--rank', String(daemons[2]!.rank), '--wait'], { ...io, stdout: (t: string) => (out += t) })
    expect(code, out + stderr).toBe(0)
    expect(out).toMatch(/^Exclude command succeeded \(map version \d+\)\nRebuild (done|idle|unavailable)/)
    expect(stderr).toContain('\u001b[1GRebuilding tank [')
    const q = await dmg(1, '-j', 'pool', 'query', 'tank')
    const states = (JSON.parse(q.out) as { response: { targetStates: Record<string, number> } }).response.targetStates
    expect((states['DOWN'] ?? 0) + (states['DOWNOUT'] ?? 0)).toBe(targets)
    expect((await daos(1, 'kv', 'get', 'tank', 'c1', 'k')).out).toBe('v\n')
    const reint = await runDmg(['-l', daemons[1]!.control.address, 'pool', 'reintegrate', 'tank', '--rank', String(daemons[2]!.rank), '--wait'], { ...io, stdout: (t: string) => (out += t) })
    expect(reint, out + stderr).toBe(0)
    expect((await daos(2, 'kv', 'get', 'tank', 'c1', 'k')).out).toBe('v\n')
  }, 60_000)

  it('keeps pools, containers and data across a restart of every daemon', async () => {
    for (const d of daemons) await d.stop()
    daemons = await startAll()
    const get = await daos(0, 'kv', 'get', 'tank', 'c1', 'k')
    expect(get.code, get.out).toBe(0)
    expect(get.out).toBe('v\n')
    expect((await dmg(1, 'pool', 'list')).out).toMatch(/tank/)
  }, 90_000)
})
