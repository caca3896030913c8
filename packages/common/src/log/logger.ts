/**
 * The logging facade: structured records with per-subsystem levels, in the manner of DAOS's
 * `D_LOG_MASK` (`ERR,mgmt=DEBUG`). Packages log through it; apps plug a real back end (pino)
 * in as a {@link LogSink}.
 *
 * @module
 */
import { DerError } from '../errors/der-error.ts'
import type { Clock } from '../runtime/runtime.ts'

/** Levels from most to least severe. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

/** A log level. */
export type LogLevel = (typeof logLevels)[number]

/** One log record as a sink receives it. */
export interface LogRecord {
  readonly level: LogLevel
  readonly subsystem: string
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
  readonly timeMs: number
}

/** Where records go. `write` must not throw and must not call back into the logger. */
export interface LogSink {
  write(record: LogRecord): void
}

/** DAOS's mask level names and their aliases, mapped to ours. */
const levelAliases: Readonly<Record<string, LogLevel>> = {
  EMRG: 'fatal', EMERG: 'fatal', ALRT: 'fatal', ALERT: 'fatal', CRIT: 'fatal', FATAL: 'fatal',
  ERR: 'error', ERROR: 'error', WARN: 'warn', WARNING: 'warn', NOTE: 'info', INFO: 'info',
  DBUG: 'debug', DEBUG: 'debug', TRACE: 'trace',
}

const rank: Readonly<Record<LogLevel, number>> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 }

/** A parsed log mask: a default level and per-subsystem overrides. */
export interface LogMask {
  readonly defaultLevel: LogLevel
  readonly subsystems: ReadonlyMap<string, LogLevel>
}

/**
 * Parses a mask such as `ERR,mgmt=DEBUG,raft=INFO` (DAOS's `D_LOG_MASK` form): an optional bare
 * level for every subsystem, then `subsystem=LEVEL` overrides. Throws `DER_INVAL` on bad input.
 */
export function parseLogMask(text: string): LogMask {
  let defaultLevel: LogLevel = 'info'
  const subsystems = new Map<string, LogLevel>()
  for (const raw of text.split(',')) {
    const part = raw.trim()
    if (part === '') continue
    const eq = part.indexOf('=')
    const levelText = eq < 0 ? part : part.slice(eq + 1).trim()
    const level = levelAliases[levelText.toUpperCase()]
    if (level === undefined) {
      throw new DerError('DER_INVAL', `unknown log level '${levelText}' in mask '${text}' (use one of ${Object.keys(levelAliases).join(', ')})`)
    }
    if (eq < 0) {
      defaultLevel = level
    } else {
      const subsystem = part.slice(0, eq).trim()
      if (!/^[a-z][a-z0-9_.-]*$/i.test(subsystem)) throw new DerError('DER_INVAL', `bad subsystem name '${subsystem}' in mask '${text}'`)
      subsystems.set(subsystem.toLowerCase(), level)
    }
  }
  return { defaultLevel, subsystems }
}

/** The root of a logging tree: holds the sink and the mask, which can change at run time. */
export class LogRoot {
  private mask: LogMask

  constructor(
    private readonly sink: LogSink,
    private readonly clock: Pick<Clock, 'realtimeMs'>,
    mask: LogMask | string = 'info',
  ) {
    this.mask = typeof mask === 'string' ? parseLogMask(mask) : mask
  }

  /** Replaces the mask (DAOS's `dmg server set-logmasks`). */
  setMask(mask: LogMask | string): void {
    this.mask = typeof mask === 'string' ? parseLogMask(mask) : mask
  }

  /** Whether records of `level` from `subsystem` are written. */
  enabled(subsystem: string, level: LogLevel): boolean {
    const limit = this.mask.subsystems.get(subsystem) ?? this.mask.defaultLevel
    return rank[level] <= rank[limit]
  }

  /** The logger of a subsystem (`raft`, `vos`, `mgmt`, ...). */
  logger(subsystem: string, fields: Readonly<Record<string, unknown>> = {}): Logger {
    return new Logger(this, subsystem.toLowerCase(), fields)
  }

  /** @internal */
  emit(level: LogLevel, subsystem: string, message: string, fields: Readonly<Record<string, unknown>>): void {
    this.sink.write({ level, subsystem, message, fields, timeMs: this.clock.realtimeMs() })
  }
}

/** A subsystem's logger, with fields bound to every record it writes. */
export class Logger {
  constructor(
    private readonly root: LogRoot,
    readonly subsystem: string,
    private readonly bound: Readonly<Record<string, unknown>>,
  ) {}

  /** A logger that adds `fields` to every record. */
  child(fields: Readonly<Record<string, unknown>>): Logger {
    return new Logger(this.root, this.subsystem, { ...this.bound, ...fields })
  }

  enabled(level: LogLevel): boolean {
    return this.root.enabled(this.subsystem, level)
  }

  fatal(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('fatal', message, fields)
  }
  error(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('error', message, fields)
  }
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('warn', message, fields)
  }
  info(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('info', message, fields)
  }
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('debug', message, fields)
  }
  trace(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log('trace', message, fields)
  }

  private log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void {
    if (!this.root.enabled(this.subsystem, level)) return
    this.root.emit(level, this.subsystem, message, fields === undefined ? this.bound : { ...this.bound, ...fields })
  }
}

/** A sink that keeps records in memory (tests, the simulator). */
export class MemoryLogSink implements LogSink {
  readonly records: LogRecord[] = []
  write(record: LogRecord): void {
    this.records.push(record)
  }
}

/** A sink that drops everything. */
export const nullLogSink: LogSink = { write() {} }

/** A logger that writes nothing, for components built without one. */
export function silentLogger(subsystem = 'silent'): Logger {
  return new LogRoot(nullLogSink, { realtimeMs: () => 0 }, 'fatal').logger(subsystem)
}
