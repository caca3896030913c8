/**
 * Graceful shutdown: stop hooks registered as components start, run in reverse order (last
 * started, first stopped) on SIGINT/SIGTERM or when asked, each bounded by a timeout.
 *
 * @module
 */
import { DerError, type Logger, type Timers, silentLogger, toDerError } from '@x/common'

/** Stops one component; may be asynchronous. */
export type StopHook = () => void | Promise<void>

/** How one hook ended. */
export interface StopHookOutcome {
  readonly name: string
  readonly status: 'stopped' | 'failed' | 'timed-out'
  /** Why it failed or timed out. */
  readonly error?: DerError
}

/** What a shutdown did. */
export interface ShutdownReport {
  /** Why it ran (`SIGTERM`, `requested`, ...). */
  readonly reason: string
  /** In the order the hooks ran (the reverse of registration). */
  readonly outcomes: readonly StopHookOutcome[]
  /** Every hook stopped in time. */
  readonly clean: boolean
}

/** Options of {@link GracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Timers of the runtime (virtual in tests). */
  readonly timers: Timers
  /** How long each hook may take before the next one runs (default 10 s). */
  readonly hookTimeoutMs?: number
  /** Where progress is logged. */
  readonly logger?: Logger
}

/** The signals that stop the daemon. */
export const shutdownSignals = ['SIGINT', 'SIGTERM'] as const

/** The part of `process` the signal handlers need (a fake in tests). */
export interface SignalSource {
  on(signal: (typeof shutdownSignals)[number], listener: () => void): unknown
  off(signal: (typeof shutdownSignals)[number], listener: () => void): unknown
}

/** Exit code after a shutdown that was not clean, and after a second signal forced the exit. */
export const exitCodes = { clean: 0, unclean: 1, forced: 130 } as const

/** Runs registered stop hooks once, in reverse order, each within a timeout. */
export class GracefulShutdown {
  private readonly hooks: { name: string; hook: StopHook }[] = []
  private running: Promise<ShutdownReport> | undefined
  private readonly hookTimeoutMs: number
  private readonly logger: Logger

  constructor(private readonly options: GracefulShutdownOptions) {
    this.hookTimeoutMs = options.hookTimeoutMs ?? 10_000
    if (!Number.isFinite(this.hookTimeoutMs) || this.hookTimeoutMs <= 0) throw new DerError('DER_INVAL', `hookTimeoutMs must be > 0, got ${this.hookTimeoutMs}`)
    this.logger = options.logger ?? silentLogger('shutdown')
  }

  /** Whether a shutdown has started. */
  get started(): boolean {
    return this.running !== undefined
  }

  /**
   * Registers a hook; returns a function that unregisters it (for a component stopped early).
   * Throws `DER_SHUTDOWN` once a shutdown has started.
   */
  register(name: string, hook: StopHook): () => void {
    if (this.running !== undefined) throw new DerError('DER_SHUTDOWN', `cannot register stop hook '${name}': shutdown in progress`)
    const entry = { name, hook }
    this.hooks.push(entry)
    return () => {
      const i = this.hooks.indexOf(entry)
      if (i >= 0) this.hooks.splice(i, 1)
    }
  }

  /** Runs the hooks (once: later calls get the same report). */
  shutdown(reason = 'requested'): Promise<ShutdownReport> {
    this.running ??= this.run(reason)
    return this.running
  }

  /**
   * Calls {@link GracefulShutdown.shutdown} on SIGINT/SIGTERM, then `exit` with 0 (clean) or 1; a
   * second signal while stopping exits at once with 130. Returns a function that removes the
   * handlers.
   */
  installSignalHandlers(source: SignalSource, exit: (code: number) => void): () => void {
    const listeners = shutdownSignals.map((signal) => {
      const listener = (): void => {
        if (this.running !== undefined) {
          this.logger.warn('second signal: exiting without waiting', { signal })
          exit(exitCodes.forced)
          return
        }
        void this.shutdown(signal).then((report) => exit(report.clean ? exitCodes.clean : exitCodes.unclean))
      }
      source.on(signal, listener)
      return [signal, listener] as const
    })
    return () => {
      for (const [signal, listener] of listeners) source.off(signal, listener)
    }
  }

  private async run(reason: string): Promise<ShutdownReport> {
    this.logger.info('shutting down', { reason, hooks: this.hooks.length })
    const outcomes: StopHookOutcome[] = []
    for (const { name, hook } of [...this.hooks].reverse()) {
      const outcome = await this.runHook(name, hook)
      if (outcome.status !== 'stopped') this.logger.error(`stop hook ${outcome.status}`, { hook: name, error: outcome.error?.message })
      outcomes.push(outcome)
    }
    const clean = outcomes.every((o) => o.status === 'stopped')
    this.logger.info('shutdown complete', { reason, clean })
    return { reason, outcomes, clean }
  }

  private runHook(name: string, hook: StopHook): Promise<StopHookOutcome> {
    return new Promise<StopHookOutcome>((resolve) => {
      let settled = false
      const finish = (outcome: StopHookOutcome): void => {
        if (settled) return
        settled = true
        this.options.timers.cancel(timer)
        resolve(outcome)
      }
      const timer = this.options.timers.schedule(this.hookTimeoutMs, () =>
        finish({ name, status: 'timed-out', error: new DerError('DER_TIMEDOUT', `stop hook '${name}' took longer than ${this.hookTimeoutMs} ms`) }),
      )
      let result: void | Promise<void>
      try {
        result = hook()
      } catch (e) {
        finish({ name, status: 'failed', error: toDerError(e) })
        return
      }
      Promise.resolve(result).then(
        () => finish({ name, status: 'stopped' }),
        (e: unknown) => finish({ name, status: 'failed', error: toDerError(e) }),
      )
    })
  }
}
