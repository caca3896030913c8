/**
 * `AbstractBlockDevice`: the parts every device shares — argument validation, the queue-depth
 * limit with FIFO back-pressure, error normalisation, statistics, health and close.
 *
 * @module
 */
import { type Clock, DerError, type Histogram, type MetricsRegistry, createRealRuntime, isDerError } from '@x/common'
import type {
  BlockDevice,
  BlockDeviceCapabilities,
  BlockDeviceHealth,
  BlockDeviceStats,
  IoBuffers,
} from './block-device.ts'
import { LatencyHistogram } from './latency-histogram.ts'
import { SlotQueue } from './slot-queue.ts'

/** Options shared by every device built on {@link AbstractBlockDevice}. */
export interface BlockDeviceOptions {
  /** Device name for messages and statistics. */
  readonly name: string
  /** Block size in bytes: a power of two, 512 to 65536. */
  readonly blockSizeBytes: number
  /** Number of blocks, >= 1. */
  readonly blockCount: number
  /** Operations in flight at most (default 128); extra submissions wait. */
  readonly queueDepth?: number
  /** Largest single transfer in bytes (default 8 MiB, rounded down to whole blocks). */
  readonly maxTransferBytes?: number
  /** Alignment of lengths and offsets in bytes (default: the block size). */
  readonly alignmentBytes?: number
  /** Clock for latency measurements (default: the real monotonic clock). */
  readonly clock?: Clock
  /** Optional registry: `bdev_io_latency_us` histogram and `bdev_io_errors` counter, labelled by device. */
  readonly metrics?: MetricsRegistry
}

/** Operation kinds, as counted in statistics. */
export type BlockIoKind = 'read' | 'write' | 'flush' | 'writeZeroes' | 'unmap'

let defaultClock: Clock | undefined
function realClock(): Clock {
  defaultClock ??= createRealRuntime({ seed: 0 }).clock
  return defaultClock
}

const defaultMaxTransferBytes = 8 * 1024 * 1024

/** Converts anything a device implementation threw into a typed `DerError`. */
export function normalizeIoError(error: unknown, what: string): DerError {
  if (isDerError(error)) return error
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'EINVAL':
    case 'EISDIR':
    case 'ENOTDIR':
      return new DerError('DER_INVAL', `${what}: ${message}`, { cause: error })
    case 'ENOSPC':
      return new DerError('DER_NOSPACE', `${what}: ${message}`, { cause: error })
    case 'ENOMEM':
      return new DerError('DER_NOMEM', `${what}: ${message}`, { cause: error })
    case 'EBADF':
      return new DerError('DER_NO_HDL', `${what}: ${message}`, { cause: error })
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new DerError('DER_NO_PERM', `${what}: ${message}`, { cause: error })
    default:
      return new DerError('DER_IO', `${what}: ${message}`, { cause: error })
  }
}

/** Checks block geometry options; throws `DER_INVAL` naming the bad field. */
export function checkGeometry(blockSizeBytes: number, blockCount: number, where: string): void {
  if (!Number.isSafeInteger(blockSizeBytes) || blockSizeBytes < 512 || blockSizeBytes > 65536 || (blockSizeBytes & (blockSizeBytes - 1)) !== 0) {
    throw new DerError('DER_INVAL', `${where}: blockSizeBytes must be a power of two from 512 to 65536, got ${String(blockSizeBytes)}`)
  }
  if (!Number.isSafeInteger(blockCount) || blockCount < 1) {
    throw new DerError('DER_INVAL', `${where}: blockCount must be an integer >= 1, got ${String(blockCount)}`)
  }
}

/**
 * Base class of devices. Subclasses implement the `do*` methods, which receive validated
 * arguments and run with a queue slot held; they may throw anything (it is normalised).
 */
export abstract class AbstractBlockDevice implements BlockDevice {
  readonly name: string
  readonly blockSizeBytes: number
  readonly blockCount: number
  readonly queueDepth: number
  readonly maxTransferBytes: number
  readonly alignmentBytes: number
  abstract readonly capabilities: BlockDeviceCapabilities

  private readonly slots: SlotQueue
  private readonly clock: Clock
  private readonly histogram = new LatencyHistogram()
  private readonly metricHistogram: Histogram | undefined
  private readonly metricLabels: Readonly<Record<string, string>>
  private readonly counters = { reads: 0, writes: 0, flushes: 0, writeZeroes: 0, unmaps: 0, bytesRead: 0, bytesWritten: 0, errors: 0 }
  private lastError: string | undefined
  private isClosed = false
  private pending = 0
  private drained: (() => void) | undefined
  /** Set by subclasses when the device can no longer serve I/O. */
  protected failed = false

  protected constructor(options: BlockDeviceOptions) {
    checkGeometry(options.blockSizeBytes, options.blockCount, `device ${options.name}`)
    const queueDepth = options.queueDepth ?? 128
    if (!Number.isSafeInteger(queueDepth) || queueDepth < 1 || queueDepth > 65536) {
      throw new DerError('DER_INVAL', `device ${options.name}: queueDepth must be an integer from 1 to 65536, got ${String(queueDepth)}`)
    }
    const alignment = options.alignmentBytes ?? options.blockSizeBytes
    if (!Number.isSafeInteger(alignment) || alignment < options.blockSizeBytes || alignment % options.blockSizeBytes !== 0) {
      throw new DerError('DER_INVAL', `device ${options.name}: alignmentBytes must be a multiple of the block size, got ${String(alignment)}`)
    }
    const maxTransfer = options.maxTransferBytes ?? defaultMaxTransferBytes
    if (!Number.isSafeInteger(maxTransfer) || maxTransfer < options.blockSizeBytes) {
      throw new DerError('DER_INVAL', `device ${options.name}: maxTransferBytes must be at least one block, got ${String(maxTransfer)}`)
    }
    this.name = options.name
    this.blockSizeBytes = options.blockSizeBytes
    this.blockCount = options.blockCount
    this.queueDepth = queueDepth
    this.alignmentBytes = alignment
    this.maxTransferBytes = maxTransfer - (maxTransfer % alignment)
    this.slots = new SlotQueue(queueDepth)
    this.clock = options.clock ?? realClock()
    this.metricLabels = { device: options.name }
    this.metricHistogram = options.metrics?.histogram({
      name: 'bdev_io_latency_us',
      help: 'Block device I/O completion latency in microseconds',
      labelNames: ['device'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
    })
  }

  get closed(): boolean {
    return this.isClosed
  }

  read(lba: number, buffers: IoBuffers): Promise<void> {
    const list = this.checkTransfer('read', lba, buffers)
    if (typeof list === 'object' && 'then' in list) return list
    const bytes = sumLengths(list)
    return this.submit('read', bytes, () => this.doRead(lba, list, bytes))
  }

  write(lba: number, buffers: IoBuffers): Promise<void> {
    const list = this.checkTransfer('write', lba, buffers)
    if (typeof list === 'object' && 'then' in list) return list
    const bytes = sumLengths(list)
    return this.submit('write', bytes, () => this.doWrite(lba, list, bytes))
  }

  flush(): Promise<void> {
    if (this.isClosed) return Promise.reject(this.closedError('flush'))
    return this.submit('flush', 0, () => this.doFlush())
  }

  writeZeroes(lba: number, blockCount: number): Promise<void> {
    const bad = this.checkRange('writeZeroes', lba, blockCount)
    if (bad !== undefined) return Promise.reject(bad)
    return this.submit('writeZeroes', 0, () => this.doWriteZeroes(lba, blockCount))
  }

  unmap(lba: number, blockCount: number): Promise<void> {
    const bad = this.checkRange('unmap', lba, blockCount)
    if (bad !== undefined) return Promise.reject(bad)
    return this.submit('unmap', 0, () => this.doUnmap(lba, blockCount))
  }

  stats(): BlockDeviceStats {
    return { ...this.counters, inFlight: this.slots.inUse, queued: this.slots.waiting, latency: this.histogram.snapshot() }
  }

  health(): BlockDeviceHealth {
    const state = this.isClosed ? 'closed' : this.failed ? 'failed' : this.counters.errors > 0 ? 'degraded' : 'ok'
    return this.lastError === undefined ? { state, ioErrors: this.counters.errors } : { state, ioErrors: this.counters.errors, lastError: this.lastError }
  }

  async close(): Promise<void> {
    if (this.isClosed) throw new DerError('DER_ALREADY', `device ${this.name} is already closed`)
    this.isClosed = true
    if (this.pending > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve
      })
    }
    await this.doClose()
  }

  /** Reads into `buffers` (validated: in range, whole blocks, `byteLength` bytes in total). */
  protected abstract doRead(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void>
  /** Writes `buffers` (validated). */
  protected abstract doWrite(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void>
  /** Makes completed writes durable. */
  protected abstract doFlush(): Promise<void>
  /** Zeroes blocks (validated range). */
  protected abstract doWriteZeroes(lba: number, blockCount: number): Promise<void>
  /** Releases blocks (validated range). */
  protected abstract doUnmap(lba: number, blockCount: number): Promise<void>
  /** Releases resources once nothing is in flight. */
  protected abstract doClose(): Promise<void>

  private closedError(what: string): DerError {
    return new DerError('DER_NO_HDL', `${what} on closed device ${this.name}`)
  }

  private checkRange(what: string, lba: number, blockCount: number): DerError | undefined {
    if (this.isClosed) return this.closedError(what)
    if (!Number.isSafeInteger(lba) || lba < 0) return new DerError('DER_INVAL', `${what}: lba must be an integer >= 0, got ${String(lba)}`, { details: { device: this.name, lba } })
    if (!Number.isSafeInteger(blockCount) || blockCount < 1) {
      return new DerError('DER_INVAL', `${what}: block count must be an integer >= 1, got ${String(blockCount)}`, { details: { device: this.name, lba, blockCount } })
    }
    if (lba + blockCount > this.blockCount) {
      return new DerError('DER_INVAL', `${what}: blocks ${lba}..${lba + blockCount - 1} are beyond the device (${this.blockCount} blocks)`, {
        details: { device: this.name, lba, blockCount, deviceBlocks: this.blockCount },
      })
    }
    if (this.alignmentBytes > this.blockSizeBytes && ((lba * this.blockSizeBytes) % this.alignmentBytes !== 0 || (blockCount * this.blockSizeBytes) % this.alignmentBytes !== 0)) {
      return new DerError('DER_INVAL', `${what}: direct I/O needs offsets and lengths that are multiples of ${this.alignmentBytes} bytes, got lba ${lba} and ${blockCount} blocks`, {
        details: { device: this.name, lba, blockCount, alignmentBytes: this.alignmentBytes },
      })
    }
    return undefined
  }

  private checkTransfer(what: string, lba: number, buffers: IoBuffers): readonly Uint8Array[] | Promise<never> {
    const list: readonly Uint8Array[] = buffers instanceof Uint8Array ? [buffers] : buffers
    if (!Array.isArray(list)) return Promise.reject(new DerError('DER_INVAL', `${what}: buffers must be a Uint8Array or an array of them`))
    let bytes = 0
    for (const buffer of list) {
      if (!(buffer instanceof Uint8Array)) return Promise.reject(new DerError('DER_INVAL', `${what}: every buffer must be a Uint8Array`))
      if (this.alignmentBytes > this.blockSizeBytes && buffer.byteLength % this.alignmentBytes !== 0) {
        return Promise.reject(
          new DerError('DER_INVAL', `${what}: direct I/O needs buffer lengths that are multiples of ${this.alignmentBytes} bytes, got ${buffer.byteLength}`, {
            details: { device: this.name, alignmentBytes: this.alignmentBytes },
          }),
        )
      }
      bytes += buffer.byteLength
    }
    if (bytes === 0) return Promise.reject(new DerError('DER_INVAL', `${what}: zero-length request`, { details: { device: this.name, lba } }))
    if (bytes % this.blockSizeBytes !== 0) {
      return Promise.reject(new DerError('DER_INVAL', `${what}: length ${bytes} is not a multiple of the block size ${this.blockSizeBytes}`, { details: { device: this.name, lba, bytes } }))
    }
    if (bytes > this.maxTransferBytes) {
      return Promise.reject(new DerError('DER_INVAL', `${what}: length ${bytes} exceeds the largest transfer of ${this.maxTransferBytes} bytes`, { details: { device: this.name, lba, bytes } }))
    }
    const bad = this.checkRange(what, lba, bytes / this.blockSizeBytes)
    if (bad !== undefined) return Promise.reject(bad)
    return list as readonly Uint8Array[]
  }

  private submit(kind: BlockIoKind, bytes: number, run: () => Promise<void>): Promise<void> {
    this.pending++
    // Fast path without async/await: the common case takes a free slot at once.
    if (this.slots.tryAcquire()) return this.execute(kind, bytes, run)
    return this.slots.acquire().then(() => this.execute(kind, bytes, run))
  }

  private execute(kind: BlockIoKind, bytes: number, run: () => Promise<void>): Promise<void> {
    const startMs = this.clock.monotonicMs()
    let operation: Promise<void>
    try {
      operation = run()
    } catch (error) {
      operation = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    return operation.then(
      () => {
        this.finish(startMs)
        this.count(kind, bytes)
      },
      (error: unknown) => {
        this.finish(startMs)
        const typed = normalizeIoError(error, `${kind} on ${this.name}`)
        this.counters.errors++
        this.lastError = typed.message
        throw typed
      },
    )
  }

  private finish(startMs: number): void {
    this.slots.release()
    this.observe(startMs)
    this.pending--
    if (this.pending === 0 && this.drained !== undefined) {
      const resolve = this.drained
      this.drained = undefined
      resolve()
    }
  }

  private count(kind: BlockIoKind, bytes: number): void {
    switch (kind) {
      case 'read':
        this.counters.reads++
        this.counters.bytesRead += bytes
        break
      case 'write':
        this.counters.writes++
        this.counters.bytesWritten += bytes
        break
      case 'flush':
        this.counters.flushes++
        break
      case 'writeZeroes':
        this.counters.writeZeroes++
        break
      case 'unmap':
        this.counters.unmaps++
        break
    }
  }

  private observe(startMs: number): void {
    const latencyUs = (this.clock.monotonicMs() - startMs) * 1000
    this.histogram.observe(latencyUs)
    this.metricHistogram?.observe(latencyUs, this.metricLabels)
  }
}

function sumLengths(list: readonly Uint8Array[]): number {
  let total = 0
  for (const buffer of list) total += buffer.byteLength
  return total
}
