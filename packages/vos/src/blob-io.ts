/**
 * `BlobIo`: the narrow storage interface a persistent VOS needs from one blob (WAL, checkpoint
 * or data), and {@link MemoryBlobIo}, an in-memory blob with a volatile write cache that can
 * lose or tear unsynced writes on a simulated power cut (for tests).
 *
 * @module
 */
import { DerError, type Random } from '@x/common'

/** Byte-addressed I/O on one blob. Offsets and lengths are multiples of `ioUnitBytes`. */
export interface BlobIo {
  /** Current size in bytes. */
  readonly sizeBytes: number
  /** I/O granularity in bytes (offsets and lengths are multiples of it). */
  readonly ioUnitBytes: number
  /** Reads `lengthBytes` bytes at `offsetBytes`. */
  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array>
  /** Writes `data` at `offsetBytes`; durable only after `sync`. */
  write(offsetBytes: number, data: Uint8Array): Promise<void>
  /** Makes every completed write durable. */
  sync(): Promise<void>
  /** Grows (or shrinks) the blob to at least `sizeBytes`; the new size is what `sizeBytes` reads. */
  resize(sizeBytes: number): Promise<void>
}

/** The three blobs of a persistent VOS pool (DAOS's MD-on-SSD layout). */
export interface VosStorage {
  /** The write-ahead log of metadata changes. */
  readonly wal: BlobIo
  /** Checkpoints of the metadata. */
  readonly meta: BlobIo
  /** Values larger than the inline threshold. */
  readonly data: BlobIo
}

/** Checks an I/O range against the unit and the size. */
export function checkBlobRange(blob: BlobIo, offsetBytes: number, lengthBytes: number, what: string): void {
  const unit = blob.ioUnitBytes
  if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(lengthBytes) || offsetBytes < 0 || lengthBytes < 0 || offsetBytes % unit !== 0 || lengthBytes % unit !== 0) {
    throw new DerError('DER_INVAL', `${what}: offset ${offsetBytes} and length ${lengthBytes} must be non-negative multiples of ${unit}`)
  }
  if (offsetBytes + lengthBytes > blob.sizeBytes) throw new DerError('DER_INVAL', `${what}: [${offsetBytes}, +${lengthBytes}) is beyond the blob's ${blob.sizeBytes} bytes`)
}

/**
 * An in-memory blob. Writes land in a volatile cache (per I/O unit) until `sync`; `powerCut`
 * returns the durable image as a new blob, with each unsynced unit either lost, kept, or (when
 * `tear` is set) kept for a random subset of units: what a drive with a volatile cache does.
 */
export class MemoryBlobIo implements BlobIo {
  private durable: Uint8Array
  private readonly cache = new Map<number, Uint8Array>()
  /** Writes since creation (for crash tests that cut power at the n-th write). */
  writes = 0
  /** Called before each write with its number; throwing from it fails the write (power cut). */
  beforeWrite: ((writeNumber: number) => void) | undefined
  /** Set to simulate lost power: every later read, write and sync fails with `DER_IO`. */
  powerLost = false

  constructor(
    sizeBytes: number,
    readonly ioUnitBytes = 4096,
    image?: Uint8Array,
  ) {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % ioUnitBytes !== 0) throw new DerError('DER_INVAL', `blob size must be a multiple of ${ioUnitBytes}`)
    this.durable = image ?? new Uint8Array(sizeBytes)
  }

  get sizeBytes(): number {
    return this.durable.length
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    if (this.powerLost) return Promise.reject(new DerError('DER_IO', 'blob read after power loss'))
    checkBlobRange(this, offsetBytes, lengthBytes, 'blob read')
    const out = this.durable.slice(offsetBytes, offsetBytes + lengthBytes)
    if (this.cache.size > 0) {
      for (let unit = offsetBytes; unit < offsetBytes + lengthBytes; unit += this.ioUnitBytes) {
        const cached = this.cache.get(unit)
        if (cached !== undefined) out.set(cached, unit - offsetBytes)
      }
    }
    return Promise.resolve(out)
  }

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    try {
      if (this.powerLost) throw new DerError('DER_IO', 'blob write after power loss')
      checkBlobRange(this, offsetBytes, data.length, 'blob write')
      this.writes++
      this.beforeWrite?.(this.writes)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    for (let at = 0; at < data.length; at += this.ioUnitBytes) this.cache.set(offsetBytes + at, data.slice(at, at + this.ioUnitBytes))
    return Promise.resolve()
  }

  sync(): Promise<void> {
    if (this.powerLost) return Promise.reject(new DerError('DER_IO', 'blob sync after power loss'))
    for (const [unit, bytes] of this.cache) this.durable.set(bytes, unit)
    this.cache.clear()
    return Promise.resolve()
  }

  resize(sizeBytes: number): Promise<void> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % this.ioUnitBytes !== 0) return Promise.reject(new DerError('DER_INVAL', `blob size must be a multiple of ${this.ioUnitBytes}`))
    const next = new Uint8Array(sizeBytes)
    next.set(this.durable.subarray(0, Math.min(sizeBytes, this.durable.length)))
    this.durable = next
    for (const unit of [...this.cache.keys()]) if (unit >= sizeBytes) this.cache.delete(unit)
    return Promise.resolve()
  }

  /** Flips bit `bit` of the byte at `offsetBytes` in the durable image (and cache). */
  flipBit(offsetBytes: number, bit: number): void {
    const unit = offsetBytes - (offsetBytes % this.ioUnitBytes)
    const cached = this.cache.get(unit)
    if (cached !== undefined) cached[offsetBytes - unit] = (cached[offsetBytes - unit] as number) ^ (1 << bit)
    this.durable[offsetBytes] = (this.durable[offsetBytes] as number) ^ (1 << bit)
  }

  /**
   * The blob as it is after a power loss: synced data, plus each unsynced unit kept or lost at
   * random (all lost when `random` is omitted).
   */
  powerCut(random?: Random): MemoryBlobIo {
    const image = this.durable.slice()
    if (random !== undefined) {
      for (const [unit, bytes] of this.cache) if (random.float() < 0.5) image.set(bytes, unit)
    }
    return new MemoryBlobIo(image.length, this.ioUnitBytes, image)
  }
}

/** Fresh in-memory storage for a VOS. */
export function createMemoryStorage(options: { walBytes?: number; metaBytes?: number; dataBytes?: number } = {}): { wal: MemoryBlobIo; meta: MemoryBlobIo; data: MemoryBlobIo } {
  return {
    wal: new MemoryBlobIo(options.walBytes ?? 4 * 1024 * 1024),
    meta: new MemoryBlobIo(options.metaBytes ?? 1024 * 1024),
    data: new MemoryBlobIo(options.dataBytes ?? 64 * 1024 * 1024),
  }
}
