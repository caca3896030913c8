/**
 * `ExtentTree`: the versioned extents of one array akey (the role of DAOS's evtree) and the
 * visibility rule for overlapping extents written at different epochs.
 *
 * Each record is a rectangle: records `[lo, hi)` times epochs `[epoch, ∞)`. A read at epoch E
 * sees, for every record index, the newest record (by epoch, then by the write's sequence
 * number) whose epoch is at most E and that is newer than the newest punch above it. Holes
 * (punched ranges) are records without data. Records are never split on insert; the read
 * splits and trims them ("newest wins per byte"), as evtree does.
 *
 * Records are kept sorted by start index, and the longest record's length bounds the backward
 * scan, so a lookup touches only the records that can overlap the range.
 *
 * @module
 */
import type { StoredData } from './stored-data.ts'
import type { Epoch } from './types.ts'

/** A version stamp: epoch, then the sequence number of the write within the pool. */
export interface Version {
  readonly epoch: Epoch
  readonly seq: number
  /** The DTX that wrote it while prepared; undefined once committed. */
  dtx: string | undefined
}

/** Whether version `a` is newer than `b`. */
export function newer(a: Version, b: Version): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq)
}

/** An extent record: records `[lo, hi)` at a version, with data or as a hole. */
export interface ExtentRecord extends Version {
  readonly lo: number
  readonly hi: number
  readonly data: StoredData | undefined
}

/** A piece of a read: records `[lo, hi)` come from `source` (or nothing: a hole). */
export interface ExtentPiece {
  readonly lo: number
  readonly hi: number
  readonly source: ExtentRecord | undefined
}

/** The versioned extents of one array akey. */
export class ExtentTree {
  /** Sorted by `lo`. */
  private records: ExtentRecord[] = []
  private maxLength = 0

  /** Number of records. */
  get size(): number {
    return this.records.length
  }

  /** All records in index order. */
  all(): readonly ExtentRecord[] {
    return this.records
  }

  /** Adds a record. */
  insert(record: ExtentRecord): void {
    const at = this.upperBound(record.lo)
    this.records.splice(at, 0, record)
    if (record.hi - record.lo > this.maxLength) this.maxLength = record.hi - record.lo
  }

  /** Removes the records for which `drop` is true; returns them. */
  removeWhere(drop: (record: ExtentRecord) => boolean): ExtentRecord[] {
    const removed: ExtentRecord[] = []
    const kept: ExtentRecord[] = []
    for (const r of this.records) (drop(r) ? removed : kept).push(r)
    if (removed.length > 0) this.records = kept
    return removed
  }

  /** Records overlapping `[lo, hi)`. */
  overlapping(lo: number, hi: number): ExtentRecord[] {
    const out: ExtentRecord[] = []
    for (let i = this.lowerBound(lo - this.maxLength); i < this.records.length; i++) {
      const r = this.records[i] as ExtentRecord
      if (r.lo >= hi) break
      if (r.hi > lo) out.push(r)
    }
    return out
  }

  /**
   * The visible pieces of `[lo, hi)` at `epoch` above the punch `floor`, in index order; pieces
   * with the same source are merged, gaps are hole pieces. `include` filters candidates.
   */
  visible(lo: number, hi: number, epoch: Epoch, floor: Version | undefined): ExtentPiece[] {
    const candidates = this.overlapping(lo, hi).filter((r) => r.epoch <= epoch && (floor === undefined || newer(r, floor)))
    return paint(candidates, lo, hi)
  }

  private lowerBound(lo: number): number {
    let a = 0
    let b = this.records.length
    while (a < b) {
      const mid = (a + b) >>> 1
      if ((this.records[mid] as ExtentRecord).lo < lo) a = mid + 1
      else b = mid
    }
    return a
  }

  private upperBound(lo: number): number {
    let a = 0
    let b = this.records.length
    while (a < b) {
      const mid = (a + b) >>> 1
      if ((this.records[mid] as ExtentRecord).lo <= lo) a = mid + 1
      else b = mid
    }
    return a
  }
}

/**
 * The newest-wins view of `candidates` over `[lo, hi)`: pieces in index order, holes where no
 * candidate covers, adjacent pieces of the same source merged.
 */
export function paint(candidates: ExtentRecord[], lo: number, hi: number): ExtentPiece[] {
  candidates.sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0))
  // Covered intervals, sorted and disjoint, each with its source.
  let covered: ExtentPiece[] = []
  let coveredLength = 0
  for (const r of candidates) {
    if (coveredLength >= hi - lo) break
    const a = Math.max(lo, r.lo)
    const b = Math.min(hi, r.hi)
    const next: ExtentPiece[] = []
    let cursor = a
    let inserted = false
    for (const piece of covered) {
      if (piece.hi <= cursor || piece.lo >= b) {
        if (!inserted && piece.lo >= b && cursor < b) {
          next.push({ lo: cursor, hi: b, source: r })
          coveredLength += b - cursor
          cursor = b
          inserted = true
        }
        next.push(piece)
        continue
      }
      if (piece.lo > cursor) {
        next.push({ lo: cursor, hi: piece.lo, source: r })
        coveredLength += piece.lo - cursor
      }
      next.push(piece)
      cursor = Math.max(cursor, piece.hi)
    }
    if (cursor < b) {
      next.push({ lo: cursor, hi: b, source: r })
      coveredLength += b - cursor
    }
    covered = next
  }
  const out: ExtentPiece[] = []
  let cursor = lo
  for (const piece of covered) {
    if (piece.lo > cursor) pushMerged(out, { lo: cursor, hi: piece.lo, source: undefined })
    pushMerged(out, piece)
    cursor = piece.hi
  }
  if (cursor < hi) pushMerged(out, { lo: cursor, hi, source: undefined })
  return out
}

function pushMerged(out: ExtentPiece[], piece: ExtentPiece): void {
  const last = out[out.length - 1]
  if (last !== undefined && last.hi === piece.lo && last.source === piece.source) out[out.length - 1] = { lo: last.lo, hi: piece.hi, source: piece.source }
  else out.push(piece)
}
