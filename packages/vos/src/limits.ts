/**
 * Limits of a VOS and the checks of caller input against them. Every check throws a typed
 * `DerError` before anything changes.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type Epoch, type ObjectId, type Recx, vosEpochMax } from './types.ts'

/** Limits a VOS enforces on its input. */
export interface VosLimits {
  /** Longest dkey or akey in bytes (default 1024). */
  readonly maxKeyBytes: number
  /** Largest single value or array extent payload of one update in bytes (default 64 MiB). */
  readonly maxValueBytes: number
  /** Largest array record size in bytes (default 1 MiB). */
  readonly maxRecordSizeBytes: number
  /** Records an array can address: `index + count` must not exceed it (default 2^48). */
  readonly maxRecordIndex: number
  /** Most akeys in one update or fetch (default 4096). */
  readonly maxAkeysPerCall: number
}

/** The default {@link VosLimits}. */
export const defaultVosLimits: VosLimits = {
  maxKeyBytes: 1024,
  maxValueBytes: 64 * 1024 * 1024,
  maxRecordSizeBytes: 1024 * 1024,
  maxRecordIndex: 2 ** 48,
  maxAkeysPerCall: 4096,
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Checks a container uuid (lower-case canonical form). */
export function checkContainerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !uuidPattern.test(id)) {
    throw new DerError('DER_INVAL', `container id must be a lower-case uuid, got ${JSON.stringify(id)}`)
  }
}

/** Checks an epoch: a bigint from 1 to {@link vosEpochMax}. */
export function checkEpoch(epoch: unknown, what = 'epoch'): asserts epoch is Epoch {
  if (typeof epoch !== 'bigint' || epoch < 1n || epoch > vosEpochMax) {
    throw new DerError('DER_INVAL', `${what} must be a bigint from 1 to 2^64-1, got ${String(epoch)}`, { details: { epoch: String(epoch) } })
  }
}

/** Checks a 128-bit object id. */
export function checkObjectId(oid: unknown): asserts oid is ObjectId {
  if (typeof oid !== 'bigint' || oid < 0n || oid >= 1n << 128n) {
    throw new DerError('DER_INVAL', `object id must be a bigint from 0 to 2^128-1, got ${String(oid)}`)
  }
}

/** Checks a dkey or akey: non-empty bytes no longer than the limit. */
export function checkKey(key: unknown, what: string, limits: VosLimits): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new DerError('DER_INVAL', `${what} must be a Uint8Array`)
  if (key.length === 0) throw new DerError('DER_INVAL', `${what} must not be empty`)
  if (key.length > limits.maxKeyBytes) {
    throw new DerError('DER_KEY2BIG', `${what} is ${key.length} bytes, the limit is ${limits.maxKeyBytes}`, { details: { lengthBytes: key.length, maxKeyBytes: limits.maxKeyBytes } })
  }
}

/** Checks a record extent against the index limit. */
export function checkRecx(recx: unknown, limits: VosLimits): asserts recx is Recx {
  if (typeof recx !== 'object' || recx === null) throw new DerError('DER_INVAL', 'extent must be an object {index, count}')
  const { index, count } = recx as { index: unknown; count: unknown }
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) throw new DerError('DER_INVAL', `extent index must be an integer >= 0, got ${String(index)}`)
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new DerError('DER_INVAL', `extent count must be an integer >= 1, got ${String(count)}`)
  if (index + count > limits.maxRecordIndex) {
    throw new DerError('DER_OVERFLOW', `extent [${index}, +${count}) ends beyond the largest record index ${limits.maxRecordIndex}`, { details: { index, count } })
  }
}

/** Checks a value payload size. */
export function checkValueSize(lengthBytes: number, what: string, limits: VosLimits): void {
  if (lengthBytes === 0) throw new DerError('DER_INVAL', `${what} must not be empty (use punch to remove a value)`)
  if (lengthBytes > limits.maxValueBytes) {
    throw new DerError('DER_REC2BIG', `${what} is ${lengthBytes} bytes, the limit is ${limits.maxValueBytes}`, { details: { lengthBytes, maxValueBytes: limits.maxValueBytes } })
  }
}

/** Checks a caller-given limits object. */
export function resolveLimits(partial: Partial<VosLimits> | undefined): VosLimits {
  const limits = { ...defaultVosLimits, ...partial }
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new DerError('DER_INVAL', `limit ${name} must be a positive integer, got ${String(value)}`)
  }
  return limits
}
