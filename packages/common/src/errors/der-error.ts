/**
 * `DerError`: the typed error every package throws for operating failures.
 *
 * @module
 */
import { type DerName, derCodes, derInfo, derInfoByCode, isDerName } from './der-codes.ts'

const derErrorMarker = Symbol.for('@x/common/DerError')

/** Options of a {@link DerError}: its cause and structured details for logs and tools. */
export interface DerErrorOptions {
  /** The lower-level error this one wraps. */
  readonly cause?: unknown
  /** Structured fields (ids, offsets, limits) that explain the failure. */
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * An error with a DER code. Its `name` is the code's name (`DER_INVAL`), its `code` the DAOS
 * number (-1003). Identity checks use a `Symbol.for` marker, so they hold across duplicate copies
 * of this package: use {@link isDerError}, not `instanceof`.
 *
 * Thrown when an operation fails for a reason a caller can act on (bad input, missing entity,
 * timeout, no space, ...). Broken invariants throw {@link AssertionError} instead.
 */
export class DerError extends Error {
  /** The DER code's name, such as `DER_NONEXIST`. */
  declare readonly name: DerName
  /** The DER number, negative as DAOS reports it (-1005 for `DER_NONEXIST`). */
  readonly code: number
  /** Structured fields that explain the failure. */
  readonly details: Readonly<Record<string, unknown>>
  readonly [derErrorMarker] = true

  constructor(name: DerName, message?: string, options: DerErrorOptions = {}) {
    const info = derInfo(name)
    super(message ?? info.description, options.cause === undefined ? undefined : { cause: options.cause })
    Object.defineProperty(this, 'name', { value: name, enumerable: false, configurable: true, writable: false })
    this.code = info.code
    this.details = options.details ?? {}
  }

  /** The code's description from the DAOS table ("Invalid parameters"). */
  get description(): string {
    return derInfo(this.name).description
  }

  /** DAOS's `DF_RC` form: `DER_INVAL(-1003): 'Invalid parameters'`, then the message. */
  override toString(): string {
    const head = `${this.name}(${this.code}): '${this.description}'`
    return this.message === this.description ? head : `${head}: ${this.message}`
  }

  /** A plain object for JSON logs and the CLI's `{status, error}` envelope. */
  toJSON(): { name: DerName; code: number; message: string; details: Readonly<Record<string, unknown>> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details }
  }

  /** Builds a `DerError` from a numeric code received on the wire. */
  static fromCode(code: number, message?: string, options?: DerErrorOptions): DerError {
    return new DerError(derInfoByCode(code).name, message, options)
  }
}

/**
 * Whether `value` is a {@link DerError} (from any copy of this package), optionally with the
 * given code name.
 */
export function isDerError(value: unknown, name?: DerName): value is DerError {
  if (typeof value !== 'object' || value === null) return false
  if ((value as Record<symbol, unknown>)[derErrorMarker] !== true) return false
  return name === undefined || (value as DerError).name === name
}

/**
 * Converts anything thrown into a {@link DerError}: a `DerError` is returned as is; anything else
 * becomes `DER_MISC` with the original as its cause (DAOS's rule for non-DAOS errors).
 */
export function toDerError(value: unknown): DerError {
  if (isDerError(value)) return value
  const message = value instanceof Error ? value.message : String(value)
  return new DerError('DER_MISC', message, { cause: value })
}

/** Whether a string is the name of a DER code; re-exported for parsers of CLI input. */
export { isDerName, derCodes }
