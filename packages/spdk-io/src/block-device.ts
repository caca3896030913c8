/**
 * The `BlockDevice` contract: SPDK bdev-style asynchronous block I/O at LBA granularity.
 *
 * @module
 */

/** One buffer or a scatter-gather list of buffers; the total length is a whole number of blocks. */
export type IoBuffers = Uint8Array | readonly Uint8Array[]

/** What a device can do beyond read, write and flush; the compliance suite tests by these. */
export interface BlockDeviceCapabilities {
  /** `unmap` releases blocks; after it, reads of those blocks return zeroes. */
  readonly unmapZeroes: boolean
  /** Whether the device uses direct I/O (buffers and offsets must be aligned). */
  readonly directIo: boolean
  /** Whether `flush` makes completed writes survive a power loss (false for memory). */
  readonly durable: boolean
}

/** Occupancy of the device's bounded latency histogram (microseconds, exponential buckets). */
export interface LatencyHistogramSnapshot {
  /** Upper bounds of the buckets in microseconds; the last bucket is unbounded (`Infinity`). */
  readonly boundsUs: readonly number[]
  /** Completions per bucket, same length as `boundsUs`. */
  readonly counts: readonly number[]
  /** All completions observed. */
  readonly count: number
  /** Sum of latencies in microseconds. */
  readonly sumUs: number
  /** Largest latency observed, in microseconds. */
  readonly maxUs: number
}

/** I/O statistics of a device since it was opened. */
export interface BlockDeviceStats {
  readonly reads: number
  readonly writes: number
  readonly flushes: number
  readonly writeZeroes: number
  readonly unmaps: number
  /** Bytes transferred by completed reads. */
  readonly bytesRead: number
  /** Bytes transferred by completed writes. */
  readonly bytesWritten: number
  /** Operations that completed with an error (validation errors not counted). */
  readonly errors: number
  /** Operations submitted to the device right now (at most the queue depth). */
  readonly inFlight: number
  /** Operations waiting for a free queue slot (back-pressure). */
  readonly queued: number
  /** Completion latencies of all operations. */
  readonly latency: LatencyHistogramSnapshot
}

/** Health states, from best to worst. */
export type BlockDeviceHealthState = 'ok' | 'degraded' | 'failed' | 'closed'

/** Health of a device: `degraded` after I/O errors, `failed` when it cannot serve I/O at all. */
export interface BlockDeviceHealth {
  readonly state: BlockDeviceHealthState
  /** I/O errors since the device was opened. */
  readonly ioErrors: number
  /** The message of the last I/O error, if any. */
  readonly lastError?: string
}

/**
 * An asynchronous block device in the spirit of SPDK's bdev over an NVMe queue pair.
 *
 * - Addresses are logical block addresses (LBAs), `0 <= lba < blockCount`.
 * - `read` and `write` take one buffer or a scatter-gather list whose total length is a whole,
 *   non-zero number of blocks, at most `maxTransferBytes`.
 * - At most `queueDepth` operations are in flight; extra submissions wait in FIFO order and never
 *   fail for lack of a slot.
 * - Failures are typed `DerError`s: bad ranges, lengths or alignment give `DER_INVAL` (without
 *   touching the device), media or OS I/O errors `DER_IO`, I/O on a closed device `DER_NO_HDL`,
 *   a second `close` `DER_ALREADY`.
 */
export interface BlockDevice {
  /** A human-readable name (`Malloc0`, a file path). */
  readonly name: string
  /** Size of one block (LBA) in bytes, a power of two >= 512. */
  readonly blockSizeBytes: number
  /** Number of blocks. */
  readonly blockCount: number
  /** Operations in flight at most; more wait. */
  readonly queueDepth: number
  /** Largest single read or write in bytes (a multiple of the block size). */
  readonly maxTransferBytes: number
  /** Required alignment of buffer lengths and offsets in bytes (the block size; larger for direct I/O). */
  readonly alignmentBytes: number
  /** What this device supports. */
  readonly capabilities: BlockDeviceCapabilities
  /** Whether `close` was called. */
  readonly closed: boolean
  /** Reads `blocks` blocks starting at `lba` into the buffers. */
  read(lba: number, buffers: IoBuffers): Promise<void>
  /** Writes the buffers to the blocks starting at `lba`. */
  write(lba: number, buffers: IoBuffers): Promise<void>
  /** Makes all completed writes durable (fdatasync for files). */
  flush(): Promise<void>
  /** Sets `blockCount` blocks starting at `lba` to zero. */
  writeZeroes(lba: number, blockCount: number): Promise<void>
  /** Releases `blockCount` blocks starting at `lba` (their content becomes zero if `capabilities.unmapZeroes`). */
  unmap(lba: number, blockCount: number): Promise<void>
  /** Statistics since open. */
  stats(): BlockDeviceStats
  /** Current health. */
  health(): BlockDeviceHealth
  /** Waits for operations in flight and queued, then releases the device; later I/O fails with `DER_NO_HDL`. */
  close(): Promise<void>
}
