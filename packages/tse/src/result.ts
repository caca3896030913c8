/**
 * Result codes of tasks and events: 0 for success, a DER number (negative, as DAOS reports it) for
 * failure, and the conversions between codes, `DerError`s and anything a body may throw.
 *
 * @module
 */
import { DerError, isDerError, toDerError } from '@x/common'

/** A task's or an event's result: 0 for success, a DER number such as -1003 for failure. */
export type ResultCode = number

/** What a completion accepts: a result code, or a `DerError` (its code becomes the result). */
export type Completion = ResultCode | DerError

/** A result code with the error it came from, when there was one. */
export interface Outcome {
  /** 0 or a DER number. */
  readonly code: ResultCode
  /** The error behind a non-zero code; `undefined` for success. */
  readonly error: DerError | undefined
}

const success: Outcome = { code: 0, error: undefined }

/**
 * Converts a completion given by a caller into an {@link Outcome}. Throws `DER_INVAL` (and changes
 * nothing) when a numeric code is not an integer.
 */
export function outcomeOf(completion: Completion): Outcome {
  if (typeof completion === 'number') {
    if (!Number.isSafeInteger(completion)) {
      throw new DerError('DER_INVAL', `a result code must be an integer, got ${completion}`)
    }
    return completion === 0 ? success : { code: completion, error: undefined }
  }
  if (isDerError(completion)) return { code: completion.code, error: completion }
  throw new DerError('DER_INVAL', 'a completion must be a result code or a DerError')
}

/**
 * Converts anything thrown by user code (a body, a callback) into a failed {@link Outcome}: a
 * `DerError` keeps its code; anything else becomes `DER_MISC` with the original as its cause.
 */
export function outcomeOfThrown(thrown: unknown): Outcome {
  const error = toDerError(thrown)
  return { code: error.code === 0 ? new DerError('DER_MISC').code : error.code, error }
}

/**
 * The error behind a result: the recorded one, or one built from the code (unknown numbers, such
 * as DAOS tests' `-1`, become `DER_UNKNOWN` with the number in `details.code`).
 */
export function errorOf(code: ResultCode, recorded: DerError | undefined): DerError | undefined {
  if (code === 0) return undefined
  if (recorded !== undefined) return recorded
  const error = DerError.fromCode(code, undefined, { details: { code } })
  return error
}
