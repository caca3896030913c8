import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { type Daemon, type ServerConfig, embeddedDefaultConfig, startDaemon } from '@x/daemon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDaos, runDmg } from '../../src/index.ts'

const runtime = createRealRuntime()
let dir: string
let daemon: Daemon | undefined

function smallConfig(root: string): ServerConfig {
  const base = embeddedDefaultConfig(root)
  const engine = base.engines[0]!
  return {
    ...base,
    engines: [{ ...engine, targets: 2, fabricIfacePort: 0, storage: [{ class: 'file', path: join(root, 'bdev0.img'), sizeBytes: 32 << 20 }, { class: 'file', path: join(root, 'bdev1.img'), sizeBytes: 32 << 20 }] }],
  }
}

async function start(): Promise<Daemon> {
  const log = new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('INFO'))
  return startDaemon({ config: smallConfig(dir), dataDir: dir, runtime, log, controlPort: 0, clusterSizeBytes: 16 * 1024 })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'x-daos-'))
  daemon = await start()
}, 30_000)

afterAll(async () => {
  await daemon?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function address(): string {
  if (daemon === undefined) throw new Error('no daemon')
  return daemon.control.address
}

/** Runs daos in-process against the test daemon (`-l` its address). */
async function daos(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runDaos(['-l', address(), ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), runtime, timeoutMs: 5000 })
  return { code, stdout, stderr }
}

async function json(...args: string[]): Promise<{ code: number; envelope: { response: Record<string, unknown> | null; error: string | null; status: number } }> {
  const r = await daos('-j', ...args)
  return { code: r.code, envelope: JSON.parse(r.stdout) as { response: Record<string, unknown> | null; error: string | null; status: number } }
}

describe('daos against an in-process daemon', () => {
  it('creates a pool with dmg and a container with daos; duplicate label is DER_EXIST', async () => {
    let out = ''
    const code = await runDmg(['-l', address(), 'pool', 'create', 'tank', '--size', '16M'], { stdout: (t) => (out += t), stderr: (t) => (out += t), clock: runtime.clock })
    expect(code, out).toBe(0)
    const created = await json('container', 'create', 'tank', 'c1')
    expect(created.code).toBe(0)
    expect((created.envelope.response?.['container'] as { label: string }).label).toBe('c1')
    const dup = await daos('container', 'create', 'tank', 'c1')
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/DER_EXIST/)
    const list = await json('container', 'list', 'tank')
    expect((list.envelope.response?.['containers'] as { label: string }[]).map((c) => c.label)).toEqual(['c1'])
    const query = await json('container', 'query', 'tank', 'c1')
    expect(query.envelope.response?.['oclass']).toBe('S1')
    expect(query.envelope.response?.['kvOid']).toMatch(/^\d+\.1$/)
  }, 30_000)

  it('puts, gets, lists and removes keys; a missing key is DER_NONEXIST with exit 1', async () => {
    expect((await daos('kv', 'put', 'tank', 'c1', 'k', 'v')).code).toBe(0)
    expect((await daos('kv', 'put', 'tank', 'c1', 'other', 'héllo wörld')).code).toBe(0)
    const got = await daos('kv', 'get', 'tank', 'c1', 'k')
    expect(got).toEqual({ code: 0, stdout: 'v\n', stderr: '' })
    const got2 = await json('kv', 'get', 'tank', 'c1', 'other')
    expect(got2.envelope).toEqual({ response: { key: 'other', value: 'héllo wörld', sizeBytes: 13 }, error: null, status: 0 })
    const list = await json('kv', 'list', 'tank', 'c1')
    expect(list.envelope.response?.['keys']).toEqual(['k', 'other'])
    expect((await daos('kv', 'remove', 'tank', 'c1', 'other')).code).toBe(0)
    const missing = await daos('kv', 'get', 'tank', 'c1', 'other')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^ERROR: daos: DER_NONEXIST\(-1005\)/)
    const missingJson = await json('kv', 'get', 'tank', 'c1', 'nope')
    expect(missingJson.code).toBe(1)
    expect(missingJson.envelope.response).toBeNull()
    expect(missingJson.envelope.status).toBe(-1005)
    expect(missingJson.envelope.error).toMatch(/^DER_NONEXIST/)
  }, 30_000)

  it('unknown pool or container is DER_NONEXIST; bad usage exits 2', async () => {
    for (const args of [
      ['kv', 'get', 'nopool', 'c1', 'k'],
      ['kv', 'get', 'tank', 'nocont', 'k'],
      ['container', 'query', 'tank', 'nocont'],
      ['container', 'list', 'nopool'],
      ['container', 'destroy', 'tank', 'nocont'],
    ]) {
      const r = await json(...args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.envelope.error, args.join(' ')).toMatch(/^DER_NONEXIST/)
    }
    const text = await daos('kv', 'get', 'nopool', 'c1', 'k')
    expect(text.code).toBe(1)
    expect(text.stderr).toMatch(/^ERROR: daos: DER_NONEXIST\(-1005\): /)
    expect((await daos('kv', 'get', 'tank')).code).toBe(2)
    const badType = await daos('container', 'create', 'tank', 'c9', '--type', 'BLOB')
    expect(badType.code).toBe(1)
    expect(badType.stderr).toMatch(/DER_INVAL/)
  }, 30_000)

  it('keeps containers and KV data across a daemon restart; destroy removes the container', async () => {
    expect((await daos('container', 'create', 'tank', 'c2', '--oclass', 'SX')).code).toBe(0)
    expect((await daos('kv', 'put', 'tank', 'c2', 'durable', 'yes')).code).toBe(0)
    await daemon?.stop()
    daemon = undefined
    daemon = await start()
    expect(await daos('kv', 'get', 'tank', 'c2', 'durable')).toEqual({ code: 0, stdout: 'yes\n', stderr: '' })
    expect(await daos('kv', 'get', 'tank', 'c1', 'k')).toEqual({ code: 0, stdout: 'v\n', stderr: '' })
    expect((await daos('container', 'destroy', 'tank', 'c2')).code).toBe(0)
    const list = await json('container', 'list', 'tank')
    expect((list.envelope.response?.['containers'] as { label: string }[]).map((c) => c.label)).toEqual(['c1'])
  }, 60_000)
})
