/**
 * Where the records of an erasure-coded array live: pure index arithmetic shared by the update
 * (leader) and fetch paths.
 *
 * A group of an `EC_<k>P<p>` object has k data shards and p parity shards (positions k .. k+p-1).
 * Array records are cut into cells of `cellRecords` records (DAOS's `e_len`, counted in records,
 * so the geometry does not depend on a value's record size); a stripe is k consecutive cells.
 * Record `x` of the object lies in stripe `s = floor(x / (k * C))`, cell (data position)
 * `d = floor((x mod kC) / C)`, and is stored on data shard d at the shard-local index
 * `s * C + (x mod C)`: every data shard keeps its cells densely, stripe after stripe, as DAOS
 * converts object offsets to VOS offsets on EC data shards. Parity shard k+j stores the j-th parity
 * cell of stripe s at the same shard-local range `[s * C, (s + 1) * C)`. Unwritten records read as
 * zeros everywhere, so a partial stripe's parity is computed over zero-filled holes.
 *
 * @module
 */
import { DerError, assert } from '@x/common'

/**
 * Default cell size in records (64 Ki records: 64 KiB for byte arrays such as the array API's
 * default). DAOS's `DAOS_EC_CELL_DEF` was 64 KiB in 2.0, 128 KiB later and 1 MiB for new pools in
 * recent versions; 64 KiB keeps the read-modify-write of a small partial-stripe write cheap.
 */
export const ecDefaultCellRecords = 64 * 1024

/** The shape of one EC group. */
export interface EcGeometry {
  /** k: data cells per stripe. */
  readonly dataCells: number
  /** p: parity cells per stripe. */
  readonly parityCells: number
  /** C: records per cell. */
  readonly cellRecords: number
}

/** A record range `[index, index + count)`. */
export interface RecordRange {
  /** First record. */
  readonly index: number
  /** Number of records. */
  readonly count: number
}

/** The part of an object-space extent that falls in one cell. */
export interface CellPiece {
  /** The stripe. */
  readonly stripe: number
  /** The data position (cell) inside the stripe. */
  readonly position: number
  /** The first record in object space. */
  readonly objectIndex: number
  /** The first record on the data shard. */
  readonly shardIndex: number
  /** Records in the piece. */
  readonly count: number
  /** Offset in records of the piece inside the request's concatenated extents. */
  readonly at: number
}

/** Checks a geometry (`DER_INVAL`). */
export function checkEcGeometry(geometry: EcGeometry): void {
  const { dataCells, parityCells, cellRecords } = geometry
  if (!Number.isInteger(dataCells) || dataCells < 1 || !Number.isInteger(parityCells) || parityCells < 1) throw new DerError('DER_INVAL', `bad EC layout ${dataCells}+${parityCells}`)
  if (!Number.isSafeInteger(cellRecords) || cellRecords < 1) throw new DerError('DER_INVAL', `EC cell size must be a positive integer of records, got ${cellRecords}`)
}

/** Records per stripe (k * C). */
export function stripeRecords(geometry: EcGeometry): number {
  return geometry.dataCells * geometry.cellRecords
}

/** Cuts object-space extents (in request order) into per-cell pieces. */
export function ecPieces(geometry: EcGeometry, extents: readonly RecordRange[]): CellPiece[] {
  const c = geometry.cellRecords
  const perStripe = stripeRecords(geometry)
  const pieces: CellPiece[] = []
  let at = 0
  for (const e of extents) {
    assert(e.count >= 0 && e.index >= 0, 'extents are validated before')
    let x = e.index
    const end = e.index + e.count
    while (x < end) {
      const stripe = Math.floor(x / perStripe)
      const inStripe = x - stripe * perStripe
      const position = Math.floor(inStripe / c)
      const inCell = inStripe - position * c
      const count = Math.min(end - x, c - inCell)
      pieces.push({ stripe, position, objectIndex: x, shardIndex: stripe * c + inCell, count, at: at + (x - e.index) })
      x += count
    }
    at += e.count
  }
  return pieces
}

/** The object-space index of shard-local record `shardIndex` of data position `position`. */
export function ecObjectIndex(geometry: EcGeometry, position: number, shardIndex: number): number {
  const c = geometry.cellRecords
  const stripe = Math.floor(shardIndex / c)
  return stripe * stripeRecords(geometry) + position * c + (shardIndex - stripe * c)
}

/**
 * Maps a shard-local extent of data position `position` back to object space: one range per cell
 * it touches (consecutive cells of one data shard are not adjacent in object space).
 */
export function ecShardRangeToObject(geometry: EcGeometry, position: number, range: RecordRange): RecordRange[] {
  const c = geometry.cellRecords
  const out: RecordRange[] = []
  let x = range.index
  const end = range.index + range.count
  while (x < end) {
    const cellEnd = (Math.floor(x / c) + 1) * c
    const count = Math.min(end, cellEnd) - x
    out.push({ index: ecObjectIndex(geometry, position, x), count })
    x += count
  }
  return out
}

/** Merges ranges in ascending order that touch into one (input sorted by index). */
export function mergeRanges(ranges: readonly RecordRange[]): RecordRange[] {
  const out: { index: number; count: number }[] = []
  for (const r of ranges) {
    const last = out[out.length - 1]
    if (last !== undefined && last.index + last.count >= r.index) last.count = Math.max(last.count, r.index + r.count - last.index)
    else out.push({ index: r.index, count: r.count })
  }
  return out
}
