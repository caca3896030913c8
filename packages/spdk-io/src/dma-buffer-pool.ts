/**
 * `DmaBufferPool`: fixed-size, address-aligned I/O buffers allocated up front, with FIFO waiters.
 *
 * @module
 */
import { DerError } from '@x/common'

/** Options of a {@link DmaBufferPool}. */
export interface DmaBufferPoolOptions {
  /** Size of each buffer in bytes (>= 1). */
  readonly bufferSizeBytes: number
  /** Number of buffers (>= 1). */
  readonly bufferCount: number
  /** Address alignment of every buffer: a power of two from 16 to 65536 (default 4096). */
  readonly alignmentBytes?: number
}

interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number }): WasmMemory
}
// The Node typings do not declare WebAssembly.Memory; it is a standard global of V8.
const WasmMemoryClass = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory

interface Waiter {
  readonly resolve: (buffer: Uint8Array) => void
  readonly reject: (error: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

const wasmPageBytes = 65536
const maxWasmPages = 65536

/**
 * Buffers for (direct) I/O, like SPDK's DMA-able `spdk_dma_malloc` pools.
 *
 * JavaScript cannot ask for aligned memory, and `Buffer.allocUnsafeSlow` is only 16-byte aligned
 * in practice (glibc malloc; large allocations sit 16 bytes past a page boundary). The pool
 * therefore carves its buffers out of one `WebAssembly.Memory`, whose backing store V8 reserves
 * with the page allocator (page-aligned, 64 KiB granules): offsets that are multiples of the
 * alignment are address-aligned. The tests confirm it with `O_DIRECT` reads where the file
 * system supports them.
 *
 * `acquire` waits in FIFO order when all buffers are out; `release` refuses buffers the pool did
 * not hand out (`DER_INVAL`) and buffers already returned (`DER_ALREADY`).
 */
export class DmaBufferPool {
  readonly bufferSizeBytes: number
  readonly bufferCount: number
  readonly alignmentBytes: number
  private readonly memory: WasmMemory
  private readonly stride: number
  private readonly buffers: Uint8Array[] = []
  private readonly indexOf = new Map<Uint8Array, number>()
  private readonly free: number[] = []
  private readonly isFree: boolean[] = []
  private readonly waiters: Waiter[] = []
  private isClosed = false

  constructor(options: DmaBufferPoolOptions) {
    const alignment = options.alignmentBytes ?? 4096
    if (!Number.isSafeInteger(alignment) || alignment < 16 || alignment > wasmPageBytes || (alignment & (alignment - 1)) !== 0) {
      throw new DerError('DER_INVAL', `DmaBufferPool: alignmentBytes must be a power of two from 16 to 65536, got ${String(alignment)}`)
    }
    if (!Number.isSafeInteger(options.bufferSizeBytes) || options.bufferSizeBytes < 1) {
      throw new DerError('DER_INVAL', `DmaBufferPool: bufferSizeBytes must be an integer >= 1, got ${String(options.bufferSizeBytes)}`)
    }
    if (!Number.isSafeInteger(options.bufferCount) || options.bufferCount < 1) {
      throw new DerError('DER_INVAL', `DmaBufferPool: bufferCount must be an integer >= 1, got ${String(options.bufferCount)}`)
    }
    this.bufferSizeBytes = options.bufferSizeBytes
    this.bufferCount = options.bufferCount
    this.alignmentBytes = alignment
    this.stride = Math.ceil(options.bufferSizeBytes / alignment) * alignment
    const pages = Math.ceil((this.stride * options.bufferCount) / wasmPageBytes)
    if (pages > maxWasmPages) throw new DerError('DER_NOMEM', `DmaBufferPool: ${this.stride * options.bufferCount} bytes exceed the 4 GiB a pool can hold`)
    try {
      this.memory = new WasmMemoryClass({ initial: pages, maximum: pages })
    } catch (error) {
      throw new DerError('DER_NOMEM', `DmaBufferPool: cannot allocate ${pages * wasmPageBytes} bytes`, { cause: error })
    }
    for (let i = 0; i < options.bufferCount; i++) {
      const buffer = new Uint8Array(this.memory.buffer, i * this.stride, options.bufferSizeBytes)
      this.buffers.push(buffer)
      this.indexOf.set(buffer, i)
      this.free.push(i)
      this.isFree.push(true)
    }
  }

  /** Buffers free right now. */
  get available(): number {
    return this.free.length
  }

  /** Callers waiting for a buffer. */
  get waiting(): number {
    return this.waiters.length
  }

  /** Whether `buffer` is one of this pool's buffers. */
  owns(buffer: Uint8Array): boolean {
    return this.indexOf.has(buffer)
  }

  /** A free buffer, or undefined when none is free or callers are already waiting (FIFO). */
  tryAcquire(): Uint8Array | undefined {
    if (this.isClosed) throw new DerError('DER_NO_HDL', 'DmaBufferPool is closed')
    if (this.waiters.length > 0) return undefined
    const index = this.free.shift()
    if (index === undefined) return undefined
    this.isFree[index] = false
    return this.buffers[index]
  }

  /** A buffer; waits (FIFO) while all are out. Rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<Uint8Array> {
    try {
      const buffer = this.tryAcquire()
      if (buffer !== undefined) return Promise.resolve(buffer)
    } catch (error) {
      return Promise.reject(asError(error))
    }
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error)
    return new Promise<Uint8Array>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject }
      if (signal !== undefined) {
        waiter.signal = signal
        waiter.onAbort = () => {
          const at = this.waiters.indexOf(waiter)
          if (at >= 0) this.waiters.splice(at, 1)
          reject(signal.reason as Error)
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.waiters.push(waiter)
    })
  }

  /** Returns a buffer: to the oldest waiter if any, else to the free list. */
  release(buffer: Uint8Array): void {
    const index = this.indexOf.get(buffer)
    if (index === undefined) throw new DerError('DER_INVAL', 'DmaBufferPool.release: the buffer does not belong to this pool')
    if (this.isFree[index] === true) throw new DerError('DER_ALREADY', `DmaBufferPool.release: buffer ${index} was already released`)
    const waiter = this.waiters.shift()
    if (waiter !== undefined && !this.isClosed) {
      if (waiter.signal !== undefined && waiter.onAbort !== undefined) waiter.signal.removeEventListener('abort', waiter.onAbort)
      waiter.resolve(buffer)
      return
    }
    this.isFree[index] = true
    this.free.push(index)
  }

  /** Closes the pool: waiters are rejected with `DER_CANCELED`; later acquires fail with `DER_NO_HDL`. */
  close(): void {
    if (this.isClosed) throw new DerError('DER_ALREADY', 'DmaBufferPool is already closed')
    this.isClosed = true
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.signal !== undefined && waiter.onAbort !== undefined) waiter.signal.removeEventListener('abort', waiter.onAbort)
      waiter.reject(new DerError('DER_CANCELED', 'DmaBufferPool closed while waiting for a buffer'))
    }
  }
}

/**
 * One address-aligned buffer outside any pool (same technique as {@link DmaBufferPool}); for
 * long-lived buffers such as a zero page.
 */
export function allocateAlignedBuffer(sizeBytes: number, alignmentBytes = 4096): Uint8Array {
  const pool = new DmaBufferPool({ bufferSizeBytes: sizeBytes, bufferCount: 1, alignmentBytes })
  const buffer = pool.tryAcquire()
  if (buffer === undefined) throw new DerError('DER_NOMEM', 'allocateAlignedBuffer: pool is empty')
  return buffer
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
