/**
 * `DecodeError`: what every decoder throws on bad bytes.
 *
 * @module
 */
import { DerError } from '../errors/der-error.ts'

/** Why bytes could not be decoded. */
export type DecodeFailure =
  /** The input ended before the value did (`DER_TRUNC`). */
  | 'truncated'
  /** The bytes cannot be a valid encoding (`DER_PROTO`). */
  | 'malformed'
  /** A length or count is above the decoder's limit (`DER_OVERFLOW`). */
  | 'limit'
  /** A versioned struct needs a newer decoder than this one (`DER_DF_INCOMPT`). */
  | 'incompatible'

const codeOf = {
  truncated: 'DER_TRUNC',
  malformed: 'DER_PROTO',
  limit: 'DER_OVERFLOW',
  incompatible: 'DER_DF_INCOMPT',
} as const

/** Thrown when bytes cannot be decoded; `failure` says why and `offset` where. */
export class DecodeError extends DerError {
  readonly failure: DecodeFailure
  readonly offset: number

  constructor(failure: DecodeFailure, message: string, offset: number) {
    super(codeOf[failure], `${message} (at byte ${offset})`, { details: { failure, offset } })
    this.failure = failure
    this.offset = offset
  }
}
