/**
 * A child process the harness owns: spawned with the orphan guard (it dies with the harness),
 * its output captured to a log file and a bounded in-memory tail, signals (kill -9, SIGSTOP,
 * SIGCONT, SIGTERM) by pid, and a bounded wait for its exit. Every live managed process is
 * registered so {@link killAllManagedProcesses} (also run on the harness's own exit) can end them.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DerError, type Runtime } from '@x/common'
import { withTimeout } from './bounded.ts'

/** The preload that makes a child die with the harness (see orphan-guard.mjs). */
export const orphanGuardPath = fileURLToPath(new URL('./orphan-guard.mjs', import.meta.url))

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Options of {@link ManagedProcess.spawn}. */
export interface ManagedProcessOptions {
  /** A short name for messages (`engine1`, `dmg`). */
  readonly name: string
  /** The executable (default: this Node). */
  readonly command?: string
  readonly args: readonly string[]
  readonly cwd: string
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>
  /** Where to append stdout and stderr (none: memory only). */
  readonly logPath?: string
  /** Lines kept in memory (default 400). */
  readonly tailLines?: number
  readonly runtime: Runtime
}

const live = new Set<ManagedProcess>()
let exitHookInstalled = false

/** SIGKILLs every managed process still alive (synchronous; safe in an `exit` handler). */
export function killAllManagedProcesses(): void {
  for (const p of live) p.signal('SIGKILL')
}

/** A spawned child process (see the module comment). */
export class ManagedProcess {
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>
  private exitInfo: ProcessExit | undefined
  private readonly tail: string[] = []
  private partial = ''
  private readonly log: WriteStream | undefined
  private stdoutText = ''
  private stderrText = ''

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: ManagedProcessOptions,
  ) {
    this.log = options.logPath === undefined ? undefined : createWriteStream(options.logPath, { flags: 'a' })
    this.log?.on('error', () => undefined)
    const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      if (stream === 'stdout') this.stdoutText = capAppend(this.stdoutText, text)
      else this.stderrText = capAppend(this.stderrText, text)
      this.log?.write(chunk)
      this.addTail(text)
    }
    child.stdout?.on('data', onData('stdout'))
    child.stderr?.on('data', onData('stderr'))
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal }
        live.delete(this)
        resolve(this.exitInfo)
      })
      child.once('error', (e) => {
        this.addTail(`spawn error: ${e.message}\n`)
        this.exitInfo ??= { code: -1, signal: null }
        live.delete(this)
        resolve(this.exitInfo)
      })
    })
    void this.exited.then(() => this.log?.end())
  }

  /** Spawns `command args` with the orphan guard preloaded when the command is Node. */
  static spawn(options: ManagedProcessOptions): ManagedProcess {
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.once('exit', killAllManagedProcesses)
    }
    const command = options.command ?? process.execPath
    const isNode = command === process.execPath
    const args = isNode ? ['--import', orphanGuardPath, ...options.args] : [...options.args]
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, X_E2E_ORPHAN_GUARD: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const managed = new ManagedProcess(child, options)
    live.add(managed)
    return managed
  }

  /** The process id. */
  get pid(): number {
    const pid = this.child.pid
    if (pid === undefined) throw new DerError('DER_NONEXIST', `${this.options.name}: the process did not start`)
    return pid
  }

  /** The name given at spawn. */
  get name(): string {
    return this.options.name
  }

  /** The exit status once it exited. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo
  }

  /** Whether the process is still running (or stopped). */
  get alive(): boolean {
    return this.exitInfo === undefined && this.child.pid !== undefined
  }

  /** Everything written to stdout so far (capped at 4 MiB). */
  get stdout(): string {
    return this.stdoutText
  }

  /** Everything written to stderr so far (capped at 4 MiB). */
  get stderr(): string {
    return this.stderrText
  }

  /** The last lines of output. */
  tailText(lines = 60): string {
    const all = this.partial === '' ? this.tail : [...this.tail, this.partial]
    return all.slice(-lines).join('\n')
  }

  /** Sends `signal` to the process if it is alive; returns whether it was sent. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.alive) return false
    try {
      return this.child.kill(signal)
    } catch {
      return false
    }
  }

  /** Waits for the exit, at most `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ProcessExit> {
    return withTimeout(this.options.runtime, this.exited, timeoutMs, `${this.options.name} (pid ${this.child.pid}) exit`)
  }

  /** kill -9 and wait for the exit (bounded). */
  async kill9(timeoutMs = 10_000): Promise<ProcessExit> {
    this.signal('SIGKILL')
    return this.waitExit(timeoutMs)
  }

  /**
   * SIGTERM (after SIGCONT, in case it is stopped), then SIGKILL if it has not exited within
   * `graceMs`; resolves once it has exited.
   */
  async stop(graceMs = 5_000): Promise<ProcessExit> {
    if (!this.alive) return this.exited
    this.signal('SIGCONT')
    this.signal('SIGTERM')
    try {
      return await this.waitExit(graceMs)
    } catch {
      return this.kill9()
    }
  }

  private addTail(text: string): void {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const line of parts) this.tail.push(line)
    const keep = this.options.tailLines ?? 400
    if (this.tail.length > keep) this.tail.splice(0, this.tail.length - keep)
  }
}

const maxCapturedChars = 4 << 20

function capAppend(text: string, more: string): string {
  const joined = text + more
  return joined.length > maxCapturedChars ? joined.slice(joined.length - maxCapturedChars) : joined
}
