import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { type ClientIdentity, type Daemon, type ServerConfig, embeddedDefaultConfig, startDaemon } from '@x/daemon'
import { runDaos, runDmg } from '../../src/index.ts'

export const runtime = createRealRuntime()

/** The result of one in-process CLI run. */
export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A JSON envelope as `-j` prints it. */
export interface Envelope<T = Record<string, unknown>> {
  readonly response: T | null
  readonly error: string | null
  readonly status: number
}

/** A one-engine daemon on a temp dir with free ports, and in-process dmg/daos runners. */
export interface TestSystem {
  readonly daemon: Daemon
  readonly dir: string
  dmg(args: readonly string[], options?: { identity?: ClientIdentity; files?: Record<string, string>; isTTY?: boolean }): Promise<CliRun>
  daos(args: readonly string[], options?: { identity?: ClientIdentity }): Promise<CliRun>
  dmgJson<T = Record<string, unknown>>(args: readonly string[], options?: { identity?: ClientIdentity; files?: Record<string, string> }): Promise<{ code: number; envelope: Envelope<T> }>
  daosJson<T = Record<string, unknown>>(args: readonly string[], options?: { identity?: ClientIdentity }): Promise<{ code: number; envelope: Envelope<T> }>
  stop(): Promise<void>
}

/** Small file devices: 2 targets of 32 MiB each. */
export function smallConfig(root: string): ServerConfig {
  const base = embeddedDefaultConfig(root)
  const engine = base.engines[0]!
  return {
    ...base,
    engines: [{ ...engine, targets: 2, fabricIfacePort: 0, storage: [{ class: 'file', path: join(root, 'bdev0.img'), sizeBytes: 32 << 20 }, { class: 'file', path: join(root, 'bdev1.img'), sizeBytes: 32 << 20 }] }],
  }
}

/** The administrator's identity in these tests. */
export const admin: ClientIdentity = { user: 'admin@', groups: ['admin@'] }

export async function startTestSystem(prefix: string): Promise<TestSystem> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const log = new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('INFO'))
  const daemon = await startDaemon({ config: smallConfig(dir), dataDir: dir, runtime, log, controlPort: 0, clusterSizeBytes: 16 * 1024 })
  const address = daemon.control.address
  const dmg = async (args: readonly string[], options: { identity?: ClientIdentity; files?: Record<string, string>; isTTY?: boolean } = {}): Promise<CliRun> => {
    let stdout = ''
    let stderr = ''
    const files = options.files ?? {}
    const code = await runDmg(['-l', address, ...args], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      clock: runtime.clock,
      timeoutMs: 5000,
      identity: options.identity ?? admin,
      isTTY: options.isTTY === true,
      readFile: (path) => {
        const text = files[path]
        if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file '${path}'`), { code: 'ENOENT' })
        return text
      },
      sleep: (ms) => runtime.timers.sleep(ms),
    })
    return { code, stdout, stderr }
  }
  const daos = async (args: readonly string[], options: { identity?: ClientIdentity } = {}): Promise<CliRun> => {
    let stdout = ''
    let stderr = ''
    const code = await runDaos(['-l', address, ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), runtime, timeoutMs: 5000, identity: options.identity ?? admin })
    return { code, stdout, stderr }
  }
  const parse = <T>(r: CliRun): { code: number; envelope: Envelope<T> } => {
    try {
      return { code: r.code, envelope: JSON.parse(r.stdout) as Envelope<T> }
    } catch {
      throw new Error(`not JSON (exit ${r.code}): ${r.stdout} ${r.stderr}`)
    }
  }
  return {
    daemon,
    dir,
    dmg,
    daos,
    dmgJson: async (args, options) => parse(await dmg(['-j', ...args], options)),
    daosJson: async (args, options) => parse(await daos(['-j', ...args], options)),
    stop: async () => {
      await daemon.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
