/**
 * `ExtentAllocator`: the free-space index of the data blob, in the manner of DAOS's VEA
 * (versioned extent allocator).
 *
 * - Space is handed out in blocks (4 KiB by default) as contiguous extents.
 * - **reserve / publish / cancel**: an update reserves its extents in memory, writes the data,
 *   and then publishes them (the reservation becomes an allocation owned by the index record
 *   that the same WAL transaction adds). A failure before publish cancels the reservation, so
 *   nothing needs undoing and nothing leaks.
 * - **aging**: freed extents wait until the WAL record that freed them is durable and no read
 *   that could still see them is in flight, then become allocatable; fresh frees are never
 *   overwritten while a crash could bring their old owner back.
 * - Allocated extents are known only to the index: at open the free index is rebuilt as the blob
 *   minus every extent the recovered index references, so a crash between reserve and publish
 *   leaks nothing.
 * - A hint keeps consecutive allocations contiguous (next fit).
 *
 * @module
 */
import { DerError, assert } from '@x/common'

/** A run of blocks. */
export interface BlockExtent {
  readonly startBlock: number
  readonly blockCount: number
}

/** The free-space index of a data blob. */
export class ExtentAllocator {
  /** Free extents, sorted by start, coalesced. */
  private free: BlockExtent[] = []
  private readonly reserved = new Set<BlockExtent>()
  private aging: { extent: BlockExtent; generation: number }[] = []
  private hintBlock = 0
  private totalFreeBlocks = 0

  constructor(
    private totalBlocks: number,
    readonly blockSizeBytes = 4096,
  ) {
    this.free = totalBlocks > 0 ? [{ startBlock: 0, blockCount: totalBlocks }] : []
    this.totalFreeBlocks = totalBlocks
  }

  /** Builds the free index of a blob of `totalBlocks` in which `used` extents are allocated. */
  static rebuild(totalBlocks: number, used: readonly BlockExtent[], blockSizeBytes = 4096): ExtentAllocator {
    const allocator = new ExtentAllocator(0, blockSizeBytes)
    allocator.totalBlocks = totalBlocks
    const sorted = [...used].sort((a, b) => a.startBlock - b.startBlock)
    let cursor = 0
    for (const e of sorted) {
      if (e.startBlock < cursor) throw new DerError('DER_DF_INVAL', `data extents overlap at block ${e.startBlock}`)
      if (e.startBlock + e.blockCount > totalBlocks) throw new DerError('DER_DF_INVAL', `data extent at block ${e.startBlock} is beyond the data blob`)
      if (e.startBlock > cursor) allocator.free.push({ startBlock: cursor, blockCount: e.startBlock - cursor })
      cursor = e.startBlock + e.blockCount
    }
    if (cursor < totalBlocks) allocator.free.push({ startBlock: cursor, blockCount: totalBlocks - cursor })
    allocator.totalFreeBlocks = allocator.free.reduce((s, e) => s + e.blockCount, 0)
    return allocator
  }

  /** Blocks of the blob. */
  get blocks(): number {
    return this.totalBlocks
  }

  /** Blocks free to reserve now (aging ones excluded). */
  get freeBlocks(): number {
    return this.totalFreeBlocks
  }

  /** Blocks waiting in the aging buffer. */
  get agingBlocks(): number {
    return this.aging.reduce((s, a) => s + a.extent.blockCount, 0)
  }

  /** Blocks reserved and not yet published or cancelled. */
  get reservedBlocks(): number {
    let n = 0
    for (const e of this.reserved) n += e.blockCount
    return n
  }

  /** Blocks needed for `lengthBytes`. */
  blocksFor(lengthBytes: number): number {
    return Math.ceil(lengthBytes / this.blockSizeBytes)
  }

  /** Reserves a contiguous extent of `blockCount` blocks; `DER_NOSPACE` when none is free. */
  reserve(blockCount: number): BlockExtent {
    assert(Number.isSafeInteger(blockCount) && blockCount >= 1, 'reserve needs at least one block')
    let at = this.free.findIndex((e) => Math.max(e.startBlock, this.hintBlock) + blockCount <= e.startBlock + e.blockCount)
    let start: number
    if (at >= 0) {
      const e = this.free[at] as BlockExtent
      start = Math.max(e.startBlock, this.hintBlock)
    } else {
      at = this.free.findIndex((e) => e.blockCount >= blockCount)
      if (at < 0) throw new DerError('DER_NOSPACE', `no free extent of ${blockCount} blocks in the data blob (${this.totalFreeBlocks} blocks free, fragmented or aging)`, { details: { blockCount, freeBlocks: this.totalFreeBlocks } })
      start = (this.free[at] as BlockExtent).startBlock
    }
    this.take(at, start, blockCount)
    const extent = { startBlock: start, blockCount }
    this.reserved.add(extent)
    this.hintBlock = start + blockCount
    return extent
  }

  /** Turns a reservation into an allocation (its owner is now an index record). */
  publish(extent: BlockExtent): void {
    assert(this.reserved.delete(extent), 'publish of an extent that is not reserved')
  }

  /** Returns a reservation to the free index. */
  cancel(extent: BlockExtent): void {
    assert(this.reserved.delete(extent), 'cancel of an extent that is not reserved')
    this.insertFree(extent)
  }

  /** Frees an allocated extent into the aging buffer, tagged with `generation`. */
  release(extent: BlockExtent, generation: number): void {
    this.aging.push({ extent, generation })
  }

  /** Makes aging extents with generation <= `generation` allocatable. */
  flushAging(generation: number): void {
    const keep: { extent: BlockExtent; generation: number }[] = []
    for (const a of this.aging) {
      if (a.generation <= generation) this.insertFree(a.extent)
      else keep.push(a)
    }
    this.aging = keep
  }

  private take(at: number, start: number, blockCount: number): void {
    const e = this.free[at] as BlockExtent
    const pieces: BlockExtent[] = []
    if (start > e.startBlock) pieces.push({ startBlock: e.startBlock, blockCount: start - e.startBlock })
    const end = start + blockCount
    if (end < e.startBlock + e.blockCount) pieces.push({ startBlock: end, blockCount: e.startBlock + e.blockCount - end })
    this.free.splice(at, 1, ...pieces)
    this.totalFreeBlocks -= blockCount
  }

  private insertFree(extent: BlockExtent): void {
    let lo = 0
    let hi = this.free.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.free[mid] as BlockExtent).startBlock < extent.startBlock) lo = mid + 1
      else hi = mid
    }
    let start = extent.startBlock
    let count = extent.blockCount
    let removeFrom = lo
    let removeCount = 0
    const prev = this.free[lo - 1]
    if (prev !== undefined) {
      assert(prev.startBlock + prev.blockCount <= start, `double free of block ${start}`)
      if (prev.startBlock + prev.blockCount === start) {
        start = prev.startBlock
        count += prev.blockCount
        removeFrom = lo - 1
        removeCount++
      }
    }
    const next = this.free[lo]
    if (next !== undefined) {
      assert(extent.startBlock + extent.blockCount <= next.startBlock, `double free of block ${extent.startBlock}`)
      if (extent.startBlock + extent.blockCount === next.startBlock) {
        count += next.blockCount
        removeCount++
      }
    }
    this.free.splice(removeFrom, removeCount, { startBlock: start, blockCount: count })
    this.totalFreeBlocks += extent.blockCount
  }
}
