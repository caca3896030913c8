/**
 * Block devices in the spirit of SPDK's bdev layer, and a crash-consistent blobstore on top.
 *
 * - **Contract**: {@link BlockDevice} — LBA-addressed asynchronous `read`/`write` with
 *   scatter-gather buffers, `flush`, `writeZeroes`, `unmap`, a queue depth with FIFO
 *   back-pressure (extra submissions wait, never fail), typed `DerError` completions
 *   (`DER_INVAL` for bad ranges/lengths/alignment, `DER_IO` for media errors, `DER_NO_HDL` after
 *   close, `DER_ALREADY` on a second close), statistics with a latency histogram, and health.
 *   {@link AbstractBlockDevice} implements the shared parts for new devices.
 * - **Devices**: {@link MemoryBlockDevice} (sparse, SPDK's malloc bdev), {@link FileBlockDevice}
 *   (positional I/O on a file or block device, `flush` = fdatasync, optional `O_DIRECT`),
 *   {@link FaultyBlockDevice} (wraps any device; seeded read/write errors, latency, bit flips,
 *   misdirected writes, a volatile write cache that loses or tears unflushed writes on
 *   {@link FaultyBlockDevice.powerCut}).
 * - **Configuration**: {@link createDevicesFromConfig} reads SPDK's JSON config
 *   (`bdev_malloc_create`, `bdev_aio_create`, ...).
 * - **Buffers**: {@link DmaBufferPool}, fixed-size buffers allocated up front with FIFO waiters.
 * - **Blobstore**: {@link Blobstore} and {@link Blob} — blobs sized in clusters with byte-addressed
 *   I/O, xattrs, thin provisioning, a persistent allocation map, and metadata written as
 *   checksummed (crc32c), sequence-numbered pages into two alternating regions so that a reload
 *   after a crash at any point gives the last synced state. A device holding anything else is
 *   refused with `DER_DF_INVAL`.
 * - **Testing**: the `@x/spdk-io/testing` entry exports `blockDeviceComplianceSuite`, the vitest
 *   suite every device passes.
 *
 * **Crash semantics.** Blob data writes go straight to the device; metadata changes (create,
 * resize, delete, xattrs, the first write to a cluster of a thin blob) persist at `sync`. A thick
 * blob's writes never change metadata, so for it a device `flush` is as good as a blobstore sync.
 * After a crash, `Blobstore.load` returns the last synced metadata (or that of a sync in progress
 * that reached the disk whole); blocks written since may hold old or new content, never anything
 * else; a store with no valid metadata copy fails with `DER_DF_INVAL`, never loads corrupt.
 *
 * **Direct I/O.** JavaScript cannot allocate aligned memory and `Buffer.allocUnsafeSlow` is only
 * 16-byte aligned in practice, so `O_DIRECT` with ordinary buffers fails with `EINVAL` (returned as
 * `DER_INVAL`). `DmaBufferPool` carves buffers out of a `WebAssembly.Memory`, whose backing store
 * is page-aligned, which makes real `O_DIRECT` work without a native addon. `FileBlockDevice`
 * refuses misaligned offsets and lengths itself; it cannot see buffer addresses. Direct I/O runs
 * on libuv's thread pool: set `UV_THREADPOOL_SIZE` to about the queue depth you want in flight.
 *
 * @example
 * ```ts
 * import { Blobstore, MemoryBlockDevice } from '@x/spdk-io'
 *
 * const device = new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: 1024 })
 * await device.write(7, new Uint8Array(4096).fill(1))   // LBA 7
 * await device.flush()
 *
 * const store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024, blobstoreType: 'vos' })
 * const id = await store.createBlob({ sizeClusters: 4, thinProvision: true, xattrs: { name: 'wal' } })
 * const blob = await store.openBlob(id)
 * await blob.write(100, new TextEncoder().encode('hello'))   // any byte offset inside the blob
 * blob.setXattr('owner', 'pool-1')
 * await blob.sync()                                         // durable from here on
 * blob.close()
 *
 * const again = await Blobstore.load(device, { blobstoreType: 'vos' })
 * const same = await again.openBlob(id)
 * const bytes = new Uint8Array(5)
 * await same.read(100, bytes)                               // 'hello'
 * ```
 *
 * @packageDocumentation
 */
export type {
  BlockDevice,
  BlockDeviceCapabilities,
  BlockDeviceHealth,
  BlockDeviceHealthState,
  BlockDeviceStats,
  IoBuffers,
  LatencyHistogramSnapshot,
} from './block-device.ts'
export { AbstractBlockDevice, type BlockDeviceOptions, type BlockIoKind, checkGeometry, normalizeIoError } from './abstract-block-device.ts'
export { LatencyHistogram, defaultLatencyBoundsUs } from './latency-histogram.ts'
export { SlotQueue } from './slot-queue.ts'
export { MemoryBlockDevice, type MemoryBlockDeviceOptions } from './memory-block-device.ts'
export {
  Blob,
  type BlobId,
  Blobstore,
  type BlobstoreFormatOptions,
  type BlobstoreLoadOptions,
  type BlobstoreRecovery,
  type CreateBlobOptions,
  xattrLimits,
} from './blobstore/blobstore.ts'
export { type SuperBlock, blobstoreMagic, blobstoreVersion } from './blobstore/super-block.ts'
export { type FaultEvent, type FaultSettings, FaultyBlockDevice, type FaultyBlockDeviceOptions } from './faulty-block-device.ts'
export { FileBlockDevice, type FileBlockDeviceOptions, type FileIoMode } from './file-block-device.ts'
export { DmaBufferPool, type DmaBufferPoolOptions, allocateAlignedBuffer } from './dma-buffer-pool.ts'
export {
  type AioBdevConfig,
  type BdevConfigEntry,
  type CreateDevicesOptions,
  type ErrorBdevConfig,
  type MallocBdevConfig,
  createDevicesFromConfig,
  parseDeviceConfig,
} from './device-config.ts'
