import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRealRuntime } from '@x/common'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlClient } from '../src/index.ts'

const runtime = createRealRuntime()
const daemonDir = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Resolves when `predicate` holds on the output, rejects after `timeoutMs` with the output so far. */
function waitFor(output: () => string, predicate: (text: string) => boolean, timeoutMs: number, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = runtime.timers.repeat(50, () => {
      if (predicate(output())) finish()
      else if (child.exitCode !== null) finish(new Error(`daemon exited with ${child.exitCode}:\n${output()}`))
    })
    const timer = runtime.timers.schedule(timeoutMs, () => finish(new Error(`timed out after ${timeoutMs} ms:\n${output()}`)))
    function finish(error?: Error): void {
      runtime.timers.cancel(poll)
      runtime.timers.cancel(timer)
      if (error === undefined) resolve()
      else reject(error)
    }
  })
}

describe('the daemon process', () => {
  it('starts from a config, answers system query, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-daemon-main-'))
    dirs.push(dir)
    const [control, telemetry, fabric] = [await freePort(), await freePort(), await freePort()]
    const configPath = join(dir, 'server.yml')
    writeFileSync(
      configPath,
      [
        'name: test_system',
        `port: ${control}`,
        `access_points: ['127.0.0.1:${control}']`,
        'transport_config: { allow_insecure: true }',
        `telemetry_port: ${telemetry}`,
        `control_metadata: { path: ${join(dir, 'meta')} }`,
        'engines:',
        '  - targets: 1',
        `    fabric_iface_port: ${fabric}`,
        '    storage:',
        `      - { class: file, path: ${join(dir, 'bdev0.img')}, size: 32MiB }`,
        '',
      ].join('\n'),
    )
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', 'src/main.ts', '-o', configPath], {
      cwd: daemonDir,
      env: { ...process.env, X_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await waitFor(() => output, (text) => text.includes('daemon ready:'), 30_000, child)
    expect(output).toContain(`control 127.0.0.1:${control}`)
    expect(output).toContain('pnpm -s dmg')

    const client = new ControlClient({ target: `127.0.0.1:${control}`, clock: runtime.clock, timeoutMs: 5000 })
    const system = await client.call('SystemQuery', {})
    client.close()
    expect(system.members.map((m) => [m.rank, m.state])).toEqual([[0, 'joined']])

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    await waitFor(() => String(child.exitCode), (text) => text !== 'null', 15_000, child).catch(() => undefined)
    expect(await exited).toBe(0)
  }, 60_000)

  it('refuses a bad config with a DER message and exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-daemon-main-'))
    dirs.push(dir)
    const configPath = join(dir, 'bad.yml')
    writeFileSync(configPath, 'port: 99999\n')
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', 'src/main.ts', '--config', configPath], { cwd: daemonDir, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    expect(code).toBe(1)
    expect(stderr).toMatch(/^ERROR: daemon: DER_INVAL\(-1003\): .*port/m)
    expect(stderr).not.toMatch(/\n\s+at /)
  }, 30_000)
})
