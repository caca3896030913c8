/**
 * Which redundancy group holds a dkey, and which EC data shard holds a record: the agreements
 * behind multi-group objects. As in DAOS (`obj_dkey2hash`, `obj_dkey2grpidx`): a dkey hashes
 * with MurmurHash64A (seed 5731), or is its own hash when the object type has u64 dkeys, and the
 * group is the jump consistent hash of that over the object's group count.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ObjectId, isDkeyUint64Type, oidGroupCount, oidType } from './object-id.ts'

const mask64 = (1n << 64n) - 1n
const murmurM = 0xc6a4a7935bd1e995n
const murmurR = 47n
/** DAOS's seed for dkey hashing. */
export const DKEY_HASH_SEED = 5731n

/** MurmurHash64A of `bytes` with `seed` (64-bit, little-endian blocks). */
export function murmurHash64a(bytes: Uint8Array, seed: bigint = DKEY_HASH_SEED): bigint {
  const length = bytes.length
  let h = (seed ^ ((BigInt(length) * murmurM) & mask64)) & mask64
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const blocks = length >> 3
  for (let i = 0; i < blocks; i++) {
    let k = view.getBigUint64(i * 8, true)
    k = (k * murmurM) & mask64
    k ^= k >> murmurR
    k = (k * murmurM) & mask64
    h ^= k
    h = (h * murmurM) & mask64
  }
  const tail = blocks * 8
  const rest = length & 7
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) h ^= BigInt(bytes[tail + i] ?? 0) << BigInt(8 * i)
    h = (h * murmurM) & mask64
  }
  h ^= h >> murmurR
  h = (h * murmurM) & mask64
  h ^= h >> murmurR
  return h
}

/** Jump consistent hash (Lamping and Veach) of a 64-bit key into `buckets` buckets. */
export function jumpConsistentHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new DerError('DER_INVAL', `jump hash needs at least one bucket, got ${buckets}`)
  let k = key & mask64
  let b = -1
  let j = 0
  while (j < buckets) {
    b = j
    k = (k * 2862933555777941757n + 1n) & mask64
    j = Math.floor((b + 1) * (2147483648 / (Number(k >> 33n) + 1)))
  }
  return b
}

/** The 64-bit hash of a dkey of object `oid`: its u64 value for u64-dkey types, else MurmurHash64A. */
export function dkeyHash(oid: ObjectId, dkey: Uint8Array): bigint {
  if (isDkeyUint64Type(oidType(oid))) {
    if (dkey.length !== 8) throw new DerError('DER_INVAL', `objects of type ${oidType(oid)} take 8-byte (u64) dkeys, got ${dkey.length} bytes`)
    return new DataView(dkey.buffer, dkey.byteOffset, 8).getBigUint64(0, true)
  }
  return murmurHash64a(dkey)
}

/** The redundancy group of `oid` that holds `dkey`. */
export function dkeyGroup(oid: ObjectId, dkey: Uint8Array): number {
  const groups = oidGroupCount(oid)
  if (groups < 1) throw new DerError('DER_INVAL', 'object id has no groups')
  return jumpConsistentHash(dkeyHash(oid, dkey), groups)
}

/**
 * The EC data cell holding record `recordIndex` of an array value: cells hold
 * `cellBytes / recordSizeBytes` records and a stripe is `dataCells` cells.
 * Returns the stripe number and the data shard position (0 .. dataCells - 1).
 */
export function ecRecordCell(recordIndex: bigint, recordSizeBytes: number, cellBytes: number, dataCells: number): { stripe: bigint; position: number } {
  if (!Number.isInteger(recordSizeBytes) || recordSizeBytes < 1 || !Number.isInteger(cellBytes) || cellBytes < recordSizeBytes || !Number.isInteger(dataCells) || dataCells < 1) {
    throw new DerError('DER_INVAL', `bad EC geometry: record ${recordSizeBytes} B, cell ${cellBytes} B, ${dataCells} data cells`)
  }
  if (recordIndex < 0n) throw new DerError('DER_INVAL', `negative record index ${recordIndex}`)
  const cellRecords = BigInt(Math.floor(cellBytes / recordSizeBytes))
  const cell = recordIndex / cellRecords
  return { stripe: cell / BigInt(dataCells), position: Number(cell % BigInt(dataCells)) }
}
