/**
 * The daemon's logging back end: a `LogSink` (from `@x/common`) that writes JSON lines through
 * pino, and {@link DaemonLogging}, which puts a `LogRoot` with the config's `log_mask` in front of
 * it and lets the mask change at run time (DAOS's `dmg server set-logmasks`).
 *
 * @module
 */
import { type Clock, DerError, type LogMask, type LogRecord, LogRoot, type LogSink, parseLogMask } from '@x/common'
import { hostname } from 'node:os'
import { pino } from 'pino'

/** Where log lines go: `'stdout'`, a file path (created with its directories), or a stream. */
export type LogDestination = 'stdout' | { readonly file: string } | pino.DestinationStream

/** Options of {@link PinoLogSink}. */
export interface PinoLogSinkOptions {
  /** Default `'stdout'`. */
  readonly destination?: LogDestination
  /** Fields on every line (default `pid` and `hostname`; `{}` for none). */
  readonly base?: Readonly<Record<string, unknown>>
}

/** Keys pino or this sink write themselves; record fields with these names get a `field_` prefix. */
const reservedKeys = new Set(['level', 'time', 'msg', 'subsys'])

/**
 * A `LogSink` writing one JSON object per line through pino:
 * `{"level":"info","time":<record ms>,"subsys":"raft","msg":"...", ...fields}`.
 * The time is the record's (the injected clock's), not pino's. Writes are synchronous, so nothing
 * is lost when the process stops. `write` never throws.
 */
export class PinoLogSink implements LogSink {
  private readonly logger: pino.Logger
  private readonly ownedFile: pino.DestinationStream & { flushSync?: () => void; end?: () => void } | undefined
  private closed = false
  /** Records that could not be written (serialisation or I/O failure). */
  droppedRecords = 0

  constructor(options: PinoLogSinkOptions = {}) {
    const destination = options.destination ?? 'stdout'
    let stream: pino.DestinationStream
    if (destination === 'stdout') {
      stream = pino.destination({ dest: 1, sync: true })
    } else if ('file' in destination) {
      const file = pino.destination({ dest: destination.file, sync: true, mkdir: true })
      this.ownedFile = file
      stream = file
    } else {
      stream = destination
    }
    this.logger = pino(
      {
        level: 'trace',
        timestamp: false,
        base: options.base === undefined ? { pid: process.pid, hostname: hostname() } : { ...options.base },
        formatters: { level: (label) => ({ level: label }) },
      },
      stream,
    )
  }

  write(record: LogRecord): void {
    if (this.closed) {
      this.droppedRecords++
      return
    }
    try {
      const object: Record<string, unknown> = { time: record.timeMs, subsys: record.subsystem }
      for (const [key, value] of Object.entries(record.fields)) object[reservedKeys.has(key) ? `field_${key}` : key] = value
      this.logger[record.level](object, record.message)
    } catch {
      this.droppedRecords++
    }
  }

  /** Flushes and closes a file destination this sink opened; later records are dropped. */
  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.ownedFile?.flushSync?.()
      this.ownedFile?.end?.()
    } catch {
      // Closing a log file must not stop a shutdown.
    }
  }
}

/** Options of {@link DaemonLogging}. */
export interface DaemonLoggingOptions {
  /** The sink records go to. */
  readonly sink: LogSink
  /** Record times come from here (the runtime's clock). */
  readonly clock: Pick<Clock, 'realtimeMs'>
  /** The config's `log_mask` (DAOS syntax: `ERR,raft=DEBUG`). */
  readonly logMask: string
}

/**
 * A `LogRoot` over a sink with the config's log mask, which can be replaced at run time and reset
 * to the configured one.
 */
export class DaemonLogging {
  /** Give subsystems their loggers from here: `logging.root.logger('raft')`. */
  readonly root: LogRoot
  private readonly configuredMask: LogMask
  private currentMaskText: string

  constructor(private readonly options: DaemonLoggingOptions) {
    this.configuredMask = parseLogMask(options.logMask)
    this.currentMaskText = options.logMask
    this.root = new LogRoot(options.sink, options.clock, this.configuredMask)
  }

  /** The mask in force, as text. */
  get logMask(): string {
    return this.currentMaskText
  }

  /**
   * Sets the mask (`dmg server set-logmasks -m ERR,raft=DEBUG`); an empty or absent mask resets
   * it to the configured one. Throws `DER_INVAL` on a bad mask and then changes nothing.
   */
  setLogMask(mask?: string): void {
    if (mask === undefined || mask.trim() === '') {
      this.root.setMask(this.configuredMask)
      this.currentMaskText = this.options.logMask
      return
    }
    let parsed: LogMask
    try {
      parsed = parseLogMask(mask)
    } catch (e) {
      throw new DerError('DER_INVAL', `bad log mask: ${(e as Error).message}`, { cause: e })
    }
    this.root.setMask(parsed)
    this.currentMaskText = mask
  }
}
