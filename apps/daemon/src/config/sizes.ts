/**
 * Byte sizes with units, as written in the server config (`1G`, `512MiB`, `4096`).
 *
 * Decimal suffixes (`K`, `KB`, `M`, `MB`, `G`, `GB`, `T`, `TB`) are powers of 1000 and binary ones
 * (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024, as DAOS's `dmg` reads them (go-humanize). Suffixes
 * are case-insensitive; a bare number is bytes. The result must be a whole number of bytes no
 * larger than `Number.MAX_SAFE_INTEGER`.
 *
 * @module
 */
import { DerError } from '@x/common'

const unitBytes: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
}

const sizePattern = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/**
 * Parses a size such as `1G`, `512MiB`, `1.5KB` or `4096` into bytes. A number is taken as bytes.
 * Throws `DER_INVAL` naming `what` (the config path of the field) on bad input.
 */
export function parseSizeBytes(input: unknown, what = 'size'): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new DerError('DER_INVAL', `${what}: a size in bytes must be a whole number >= 0, got ${input}`)
    return input
  }
  if (typeof input !== 'string') throw new DerError('DER_INVAL', `${what}: expected a size such as 1G or 512MiB, got ${describeValue(input)}`)
  const match = sizePattern.exec(input)
  const unit = match === null ? undefined : unitBytes[(match[2] ?? '').toLowerCase()]
  if (match === null || unit === undefined) {
    throw new DerError('DER_INVAL', `${what}: bad size '${input}' (a number with an optional unit: B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB)`)
  }
  const bytes = Number(match[1]) * unit
  if (!Number.isSafeInteger(bytes)) {
    throw new DerError('DER_INVAL', `${what}: size '${input}' is not a whole number of bytes, or exceeds ${Number.MAX_SAFE_INTEGER}`)
  }
  return bytes
}

/** Formats bytes with the largest binary unit that divides them exactly (`1GiB`, `1536KiB`, `1000`). */
export function formatSizeBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new DerError('DER_INVAL', `size in bytes must be a whole number >= 0, got ${bytes}`)
  for (const [unit, factor] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return String(bytes)
}

/** A short description of a value for error messages (type and a clipped rendering). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${value}`
  return typeof value
}
