/**
 * A loopback cluster of real daemon processes: configs written to a temp directory (file devices
 * inside it), free ports chosen at run time, each daemon spawned as
 * `node --conditions=@x/source --import tsx apps/daemon/src/main.ts --config F` (what apps/daemon's
 * `start` script runs), readiness = its control port answers SystemQuery; `dmg`/`daos` runs
 * (with `-j`), kill -9 / SIGSTOP / SIGCONT / graceful stop / restart of one daemon, log tails for
 * failure reports, and {@link Cluster.close} that always ends every process and removes the
 * temp directory. Every wait is bounded.
 *
 * @module
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DerError, type Runtime, createRealRuntime, isDerError } from '@x/common'
import { ControlClient, type SystemMember, loadServerConfig } from '@x/daemon'
import { waitUntil } from './bounded.ts'
import { type CliResult, type CliTool, expectOk, runCli } from './cli-runner.ts'
import { ClientSession } from './client-session.ts'
import { type ClusterLayout, type DaemonSlot, daemonConfigYaml } from './daemon-config.ts'
import { ManagedProcess } from './managed-process.ts'
import { findFreePortRange, findFreePorts } from './ports.ts'
import { daemonNodeArgs, repoRoot } from './repo.ts'

/** How daemons are told apart on loopback. */
export type Addressing = 'ports' | 'hosts'

/** Options of {@link Cluster.start}. */
export interface ClusterOptions {
  /** Daemons (one engine each), default 1. */
  readonly engines?: number
  /** Targets per engine (default 2). */
  readonly targets?: number
  /** Size of each engine's file device (sparse; default 512 MiB). */
  readonly deviceSizeBytes?: number
  /** `ports` (all on 127.0.0.1, default) or `hosts` (127.0.0.1, .2, .3...). */
  readonly addressing?: Addressing
  /** System name (default `e2e`). */
  readonly systemName?: string
  /** Per-daemon readiness bound (default 60 s). */
  readonly readyTimeoutMs?: number
  /** Runtime for every wait (default a real one). */
  readonly runtime?: Runtime
}

/** The state of one daemon as the harness sees it. */
export type DaemonState = 'running' | 'stopped' | 'paused' | 'killed'

/** One daemon of the cluster. */
export interface DaemonHandle {
  readonly slot: DaemonSlot
  /** The current process (replaced on restart). */
  process: ManagedProcess
  state: DaemonState
  /** How many times it was started. */
  starts: number
}

/** A daemon's log tail, for failure reports. */
export interface DaemonLog {
  readonly index: number
  readonly pid: number
  readonly state: DaemonState
  readonly tail: string
}

/** Whether the daemon's config schema accepts `fault_path` (probed with its own validator). */
export function daemonAcceptsFaultPath(): boolean {
  try {
    loadServerConfig('fault_path: /probe/a\nengines:\n  - targets: 1\n    storage:\n      - class: ram\n        size: 1G\n')
    return true
  } catch {
    return false
  }
}

/** A running loopback cluster (see the module comment). */
export class Cluster {
  private closed = false

  private constructor(
    readonly runtime: Runtime,
    /** The temp directory holding configs, devices and logs. */
    readonly dir: string,
    readonly layout: ClusterLayout,
    readonly daemons: DaemonHandle[],
    private readonly readyTimeoutMs: number,
  ) {}

  /** Writes the configs and starts every daemon; on any failure ends what it started. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const runtime = options.runtime ?? createRealRuntime()
    const engines = options.engines ?? 1
    if (!Number.isInteger(engines) || engines < 1 || engines > 9) throw new DerError('DER_INVAL', `engines must be 1..9, got ${engines}`)
    const dir = await mkdtemp(join(tmpdir(), 'x-e2e-'))
    const addressing = options.addressing ?? 'ports'
    const faultPaths = engines > 1 && daemonAcceptsFaultPath()
    const daemons: DaemonHandle[] = []
    let cluster: Cluster | undefined
    try {
      const slots: DaemonSlot[] = []
      const used = new Set<number>()
      for (let i = 0; i < engines; i++) {
        const host = addressing === 'hosts' ? `127.0.0.${i + 1}` : '127.0.0.1'
        // The engine listens on fabricPort + tag for tag 0..targets: reserve the whole range.
        const fabricPort = await findFreePortRange((options.targets ?? 2) + 1, host, used)
        for (let p = fabricPort; p <= fabricPort + (options.targets ?? 2); p++) used.add(p)
        let controlPort = 0
        let telemetryPort = 0
        for (;;) {
          ;[controlPort = 0, telemetryPort = 0] = await findFreePorts(2, host)
          if (!used.has(controlPort) && !used.has(telemetryPort)) break
        }
        used.add(controlPort).add(telemetryPort)
        const dataDir = join(dir, `engine${i}`)
        await mkdir(dataDir, { recursive: true })
        slots.push({
          index: i,
          host,
          controlPort,
          telemetryPort,
          fabricPort,
          dataDir,
          configPath: join(dir, `daemon${i}.yml`),
          targets: options.targets ?? 2,
          deviceSizeBytes: options.deviceSizeBytes ?? 512 * 2 ** 20,
          faultPath: faultPaths ? `/e2e-host${i}` : undefined,
        })
      }
      const layout: ClusterLayout = { systemName: options.systemName ?? 'e2e', daemons: slots }
      for (const slot of slots) await writeFile(slot.configPath, daemonConfigYaml(layout, slot.index))
      cluster = new Cluster(runtime, dir, layout, daemons, options.readyTimeoutMs ?? 60_000)
      for (const slot of slots) daemons.push({ slot, process: cluster.spawnDaemon(slot), state: 'running', starts: 1 })
      await Promise.all(daemons.map((d) => cluster!.waitReady(d.slot.index)))
      return cluster
    } catch (e) {
      if (cluster !== undefined) {
        const logs = cluster.logs(30)
        await cluster.close()
        throw new DerError(isDerError(e) ? e.name : 'DER_MISC', `cluster start failed: ${(e as Error).message}\n${formatLogs(logs)}`, { cause: e })
      }
      for (const d of daemons) d.process.signal('SIGKILL')
      await rm(dir, { recursive: true, force: true })
      throw e
    }
  }

  private spawnDaemon(slot: DaemonSlot): ManagedProcess {
    return ManagedProcess.spawn({
      name: `daemon${slot.index}`,
      args: daemonNodeArgs(slot.configPath),
      cwd: repoRoot,
      env: { X_DATA_DIR: slot.dataDir },
      logPath: join(slot.dataDir, 'daemon.log'),
      runtime: this.runtime,
    })
  }

  /** Daemon `index`. */
  daemon(index: number): DaemonHandle {
    const d = this.daemons[index]
    if (d === undefined) throw new DerError('DER_INVAL', `no daemon ${index} (cluster of ${this.daemons.length})`)
    return d
  }

  /** The control address `host:port` of daemon `index`. */
  controlAddress(index: number): string {
    const slot = this.daemon(index).slot
    return `${slot.host}:${slot.controlPort}`
  }

  /** Control addresses of the running daemons, in index order. */
  runningControlAddresses(): string[] {
    return this.daemons.filter((d) => d.state === 'running').map((d) => this.controlAddress(d.slot.index))
  }

  /** Waits until daemon `index`'s control port answers SystemQuery (fails fast if it exited). */
  async waitReady(index: number, timeoutMs = this.readyTimeoutMs): Promise<void> {
    const d = this.daemon(index)
    const client = new ControlClient({ target: this.controlAddress(index), clock: this.runtime.clock, timeoutMs: 2000 })
    try {
      await waitUntil(
        this.runtime,
        async () => {
          if (!d.process.alive) throw new DerError('DER_SHUTDOWN', `daemon ${index} exited (${JSON.stringify(d.process.exit)}): ${d.process.tailText(15)}`)
          await client.call('SystemQuery', {})
          return true
        },
        { timeoutMs, intervalMs: 200, what: `daemon ${index} ready on ${this.controlAddress(index)}` },
      )
    } finally {
      client.close()
    }
  }

  /** SystemQuery through the control API of the first running daemon (or `via`). */
  async systemQuery(via?: number): Promise<readonly SystemMember[]> {
    const target = via === undefined ? this.runningControlAddresses()[0] : this.controlAddress(via)
    if (target === undefined) throw new DerError('DER_UNREACH', 'no running daemon')
    const client = new ControlClient({ target, clock: this.runtime.clock, timeoutMs: 5000 })
    try {
      return (await client.call('SystemQuery', {})).members
    } finally {
      client.close()
    }
  }

  /**
   * Runs `tool -j -o <config> -l <a running daemon> ...args`. `via` picks the daemon (default
   * the first running one), so the CLI keeps working while others are down.
   */
  async cli(tool: CliTool, args: readonly string[], options: { via?: number; timeoutMs?: number } = {}): Promise<CliResult> {
    const index = options.via ?? this.daemons.find((d) => d.state === 'running')?.slot.index ?? 0
    return runCli(tool, args, { runtime: this.runtime, configPath: this.daemon(index).slot.configPath, hostList: this.controlAddress(index), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  }

  /** `dmg -j ...args`; see {@link Cluster.cli}. */
  dmg(args: readonly string[], options: { via?: number; timeoutMs?: number } = {}): Promise<CliResult> {
    return this.cli('dmg', args, options)
  }

  /** `daos -j ...args`; see {@link Cluster.cli}. */
  daos(args: readonly string[], options: { via?: number; timeoutMs?: number } = {}): Promise<CliResult> {
    return this.cli('daos', args, options)
  }

  /** Like {@link Cluster.dmg} but throws unless it succeeded; returns the response. */
  async dmgOk(args: readonly string[], options: { via?: number; timeoutMs?: number } = {}): Promise<unknown> {
    return expectOk(await this.dmg(args, options))
  }

  /** Like {@link Cluster.daos} but throws unless it succeeded; returns the response. */
  async daosOk(args: readonly string[], options: { via?: number; timeoutMs?: number } = {}): Promise<unknown> {
    return expectOk(await this.daos(args, options))
  }

  /** Opens a `@x/client` session on `pool`/`container` through the running daemons. */
  openClient(pool: string, container: string, options: { timeoutMs?: number; retryTimeoutMs?: number } = {}): Promise<ClientSession> {
    return ClientSession.open({ runtime: this.runtime, controlTargets: this.runningControlAddresses(), pool, container, ...options })
  }

  /** kill -9 daemon `index` and wait for it to die. */
  async kill9(index: number): Promise<void> {
    const d = this.daemon(index)
    await d.process.kill9()
    d.state = 'killed'
  }

  /** SIGSTOP daemon `index` (it stays alive, frozen). */
  pause(index: number): void {
    const d = this.daemon(index)
    if (d.process.signal('SIGSTOP')) d.state = 'paused'
  }

  /** SIGCONT daemon `index`. */
  resume(index: number): void {
    const d = this.daemon(index)
    if (d.process.signal('SIGCONT') && d.state === 'paused') d.state = 'running'
  }

  /** SIGTERM daemon `index` (graceful), SIGKILL after `graceMs`. */
  async stop(index: number, graceMs = 10_000): Promise<void> {
    const d = this.daemon(index)
    await d.process.stop(graceMs)
    d.state = 'stopped'
  }

  /** Starts daemon `index` again on its config and data (it must be down), and waits until ready. */
  async restart(index: number): Promise<void> {
    const d = this.daemon(index)
    if (d.process.alive) throw new DerError('DER_BUSY', `daemon ${index} is still running (pid ${d.process.pid})`)
    d.process = this.spawnDaemon(d.slot)
    d.state = 'running'
    d.starts++
    await this.waitReady(index)
  }

  /** The last `lines` lines of every daemon's output. */
  logs(lines = 60): DaemonLog[] {
    return this.daemons.map((d) => ({ index: d.slot.index, pid: d.process.alive ? d.process.pid : -1, state: d.state, tail: d.process.tailText(lines) }))
  }

  /** Ends every daemon (SIGCONT + SIGTERM, SIGKILL after a short grace) and removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.daemons.map((d) => d.process.stop(3000).catch(() => d.process.signal('SIGKILL'))))
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** Renders log tails for a failure message. */
export function formatLogs(logs: readonly DaemonLog[]): string {
  return logs.map((l) => `--- daemon ${l.index} (pid ${l.pid}, ${l.state}) ---\n${l.tail}`).join('\n')
}
