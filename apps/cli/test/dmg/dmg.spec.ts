import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { type Daemon, type ServerConfig, embeddedDefaultConfig, startDaemon } from '@x/daemon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DmgIo, parsePoolSize, parseProperties, runDmg } from '../../src/index.ts'

const runtime = createRealRuntime()
const cliDir = fileURLToPath(new URL('../..', import.meta.url))
let dir: string
let daemon: Daemon

function smallConfig(root: string): ServerConfig {
  const base = embeddedDefaultConfig(root)
  const engine = base.engines[0]!
  return {
    ...base,
    engines: [{ ...engine, targets: 2, fabricIfacePort: 0, storage: [{ class: 'file', path: join(root, 'bdev0.img'), sizeBytes: 32 << 20 }, { class: 'file', path: join(root, 'bdev1.img'), sizeBytes: 32 << 20 }] }],
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'x-dmg-'))
  const log = new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('INFO'))
  daemon = await startDaemon({ config: smallConfig(dir), dataDir: dir, runtime, log, controlPort: 0, clusterSizeBytes: 16 * 1024 })
}, 30_000)

afterAll(async () => {
  await daemon.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs dmg in-process against the test daemon (`-l` its address). */
async function dmg(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; calls: number }> {
  let stdout = ''
  let stderr = ''
  let calls = 0
  const io: DmgIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    clock: runtime.clock,
  }
  const counting: DmgIo = {
    ...io,
    connect: (target) => {
      calls++
      return new (class {
        private readonly inner = import('@x/daemon').then((m) => new m.ControlClient({ target, clock: runtime.clock }))
        async call(method: never, request: never): Promise<never> {
          return (await this.inner).call(method, request)
        }
        close(): void {
          void this.inner.then((c) => c.close())
        }
      })()
    },
  }
  const code = await runDmg(['-l', daemon.control.address, ...args], counting)
  return { code, stdout, stderr, calls }
}

describe('dmg against an in-process daemon', () => {
  it('system query shows one joined rank', async () => {
    const r = await dmg('system', 'query')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Rank\s+UUID/)
    expect(r.stdout).toMatch(/\n0\s+[0-9a-f-]{36}\s+127\.0\.0\.1:\d+\s+\S+\s+Joined\n/)
  })

  it('creates, lists, queries and destroys a pool; JSON envelopes', async () => {
    const created = await dmg('pool', 'create', 'tank', '--size', '10M')
    expect(created.stderr).toBe('')
    expect(created.code).toBe(0)
    expect(created.stdout).toContain('Pool created with 10.0 MB')

    const list = await dmg('-j', 'pool', 'list', '-v')
    expect(list.code).toBe(0)
    const envelope = JSON.parse(list.stdout) as { response: { pools: { label: string; uuid: string }[] }; error: unknown; status: number }
    expect(Object.keys(envelope).sort()).toEqual(['error', 'response', 'status'])
    expect(envelope.error).toBeNull()
    expect(envelope.status).toBe(0)
    expect(envelope.response.pools.map((p) => p.label)).toEqual(['tank'])

    const human = await dmg('pool', 'list', '-v')
    expect(human.stdout).toContain(envelope.response.pools[0]!.uuid)

    const query = await dmg('pool', 'query', 'tank')
    expect(query.code).toBe(0)
    expect(query.stdout).toContain('- Target count:2')

    const dup = await dmg('pool', 'create', 'tank', '--size', '10M')
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/^ERROR: dmg: DER_EXIST\(-1004\): /)

    const destroyed = await dmg('pool', 'destroy', 'tank', '--force')
    expect(destroyed.code).toBe(0)
    expect((await dmg('pool', 'list')).stdout).toBe('No pools in system\n')
  }, 30_000)

  it('reports an unknown pool as DER_NONEXIST, in text and JSON', async () => {
    const text = await dmg('pool', 'query', 'nope')
    expect(text.code).toBe(1)
    expect(text.stderr).toMatch(/^ERROR: dmg: DER_NONEXIST\(-1005\): .*nope/)
    expect(text.stderr).not.toMatch(/\n\s+at /)
    const json = await dmg('-j', 'pool', 'destroy', 'nope')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ response: null, status: -1005 })
  })

  it('refuses bad sizes and properties with DER_INVAL before any RPC', async () => {
    for (const args of [['--size', '1Q'], ['--size', '0'], [], ['--size', '1G', '--properties', 'novalue']]) {
      const r = await dmg('pool', 'create', 'bad', ...args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toMatch(/^ERROR: dmg: DER_INVAL\(-1003\)/)
      expect(r.calls).toBe(0)
    }
    expect(() => parsePoolSize('-5')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(parsePoolSize('1G')).toBe(1e9)
    expect(parseProperties('reclaim:disabled,label:x')).toEqual({ reclaim: 'disabled', label: 'x' })
    expect(() => parseProperties('a:1,a:2')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('gives usage errors exit code 2 and an unreachable server a clear message', async () => {
    const usage = await dmg('pool', 'frobnicate')
    expect(usage.code).toBe(2)
    expect((await dmg()).code).toBe(2)
    expect((await dmg('--help')).code).toBe(0)
    let stderr = ''
    const code = await runDmg(['-l', '127.0.0.1:1', 'system', 'query'], { stdout: () => {}, stderr: (t) => (stderr += t), clock: runtime.clock, timeoutMs: 3000 })
    expect(code).toBe(1)
    expect(stderr).toMatch(/^ERROR: dmg: DER_UNREACH\(-1006\): cannot reach the control server at 127\.0\.0\.1:1/)
  })

  it('reads the control address from -o CONFIG', async () => {
    const configPath = join(dir, 'dmg.yml')
    const port = daemon.control.port
    writeFileSync(configPath, `port: ${port}\naccess_points: ['127.0.0.1:${port}']\ntransport_config: { allow_insecure: true }\nengines:\n  - targets: 1\n    storage:\n      - { class: ram, size: 1GiB }\n`)
    let stdout = ''
    const code = await runDmg(['-o', configPath, 'system', 'query'], { stdout: (t) => (stdout += t), stderr: () => {}, clock: runtime.clock })
    expect(code).toBe(0)
    expect(stdout).toContain('Joined')
  })

  it('runs as a process (the `pnpm -s dmg` entry point)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', 'src/dmg/main.ts', '-l', daemon.control.address, '-j', 'system', 'query'], { cwd: cliDir, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ error: null, status: 0, response: { members: [{ rank: 0, state: 'joined' }] } })
  }, 30_000)
})
