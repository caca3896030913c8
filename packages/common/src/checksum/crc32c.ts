/**
 * CRC-32C (Castagnoli), the checksum of every frame, record and extent in the system.
 *
 * `crc32c` uses the SSE4.2 instruction through the native `@node-rs/crc32` binding when it loads
 * (it is an order of magnitude faster on large buffers) and the portable slicing-by-8 code for
 * small buffers, where the native call's fixed cost dominates, or when the binding is missing.
 * `pnpm bench` in this package measures both and the crossover.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { crc32cJs } from './crc32c-js.ts'

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number

function loadNative(): NativeCrc32c | undefined {
  try {
    const binding = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c }
    const native = binding.crc32c
    // Trust the binding only if it agrees with the portable code on a known vector.
    if (typeof native !== 'function') return undefined
    const probe = new TextEncoder().encode('123456789')
    if (native(Buffer.from(probe.buffer, probe.byteOffset, probe.length), 0) !== 0xe3069283) return undefined
    return native
  } catch {
    return undefined
  }
}

const native = loadNative()

/** Buffers at least this long go to the native binding (measured crossover, see the bench). */
export const crc32cNativeThresholdBytes = 256

/** Whether the native CRC-32C binding is in use on this machine. */
export const crc32cIsNative: boolean = native !== undefined

/** The native binding's CRC-32C, when it loaded (for benchmarks and tests). */
export const crc32cNative: ((data: Uint8Array, previous?: number) => number) | undefined =
  native === undefined ? undefined : (data, previous = 0) => native(asBuffer(data), previous)

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * The CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it):
 * `crc32c(b, crc32c(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  if (native !== undefined && data.length >= crc32cNativeThresholdBytes) return native(asBuffer(data), previous) >>> 0
  return crc32cJs(data, previous)
}

export { crc32cJs }
