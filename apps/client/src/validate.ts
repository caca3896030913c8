/**
 * Checks of caller input, done before any RPC: a bad key, offset, size or class is refused with
 * `DER_INVAL` and nothing is sent.
 *
 * @module
 */
import { DerError } from '@x/common'

/** The longest dkey or akey (`@x/protocol`'s `KEY_MAX_LENGTH`). */
export const maxKeyBytes = 4096

/** Refuses a key that is not 1..{@link maxKeyBytes} bytes. */
export function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new DerError('DER_INVAL', `${what} must be a Uint8Array`)
  if (key.length === 0) throw new DerError('DER_INVAL', `${what} is empty`)
  if (key.length > maxKeyBytes) throw new DerError('DER_INVAL', `${what} is ${key.length} bytes, longer than ${maxKeyBytes}`)
}

/** Refuses a value that is not an integer in `[min, Number.MAX_SAFE_INTEGER]`. */
export function checkCount(value: unknown, what: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new DerError('DER_INVAL', `${what} must be an integer >= ${min}, got ${String(value)}`)
  }
}

/** Refuses a value that is not a byte buffer. */
export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new DerError('DER_INVAL', `${what} must be a Uint8Array`)
}
