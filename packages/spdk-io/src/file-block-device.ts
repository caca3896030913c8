/**
 * `FileBlockDevice`: positional I/O on a regular file or a raw block device (SPDK's aio bdev).
 *
 * @module
 */
import fs from 'node:fs'
import { readFile } from 'node:fs/promises'
import { DerError } from '@x/common'
import type { BlockDeviceCapabilities } from './block-device.ts'
import { AbstractBlockDevice, type BlockDeviceOptions, normalizeIoError } from './abstract-block-device.ts'
import { allocateAlignedBuffer } from './dma-buffer-pool.ts'

/**
 * How a {@link FileBlockDevice} issues reads and writes (flush is always an asynchronous
 * `fdatasync` on libuv's thread pool):
 * - `callback`: `fs.read`/`fs.write`/`fs.readv`/`fs.writev` with callbacks on libuv's thread pool
 *   (many in flight; each costs a thread hop of tens of microseconds),
 * - `promise`: the same through a `FileHandle` (`fs.promises`; slowest at queue depth 1),
 * - `sync`: `fs.readSync`/`fs.writeSync` on the calling thread: one at a time and it blocks the
 *   event loop for the syscall, but on page-cache hits it is 4-10x faster than the thread pool
 *   (see the benchmark),
 * - `mixed`: `sync` for transfers shorter than `syncTransferMaxBytes` (default 64 KiB), `callback`
 *   for larger ones: small page-cache hits stay cheap, while a 1 MiB copy (about 0.2 ms) never
 *   holds the event loop, and several run in parallel on the pool (measured faster from 64 KiB
 *   up at queue depth 4 and more; see the benchmark),
 * - `auto` (default): `mixed` for buffered files, `callback` for `O_DIRECT` (where every I/O waits
 *   for the disk and parallelism matters).
 *
 * Every mode keeps the {@link BlockDevice} contract: operations in flight at the same time may
 * complete in any order, and `flush` makes every completed write durable.
 */
export type FileIoMode = 'auto' | 'callback' | 'promise' | 'sync' | 'mixed'

/** Options of {@link FileBlockDevice.open}. */
export interface FileBlockDeviceOptions extends Omit<BlockDeviceOptions, 'name' | 'blockCount' | 'alignmentBytes'> {
  /** Path of a regular file or a block device. */
  readonly path: string
  /** Number of blocks (default: the file's size in blocks). A regular file shorter than this is extended. */
  readonly blockCount?: number
  /** Create the file if missing (needs `blockCount`; default false). */
  readonly create?: boolean
  /** Open with `O_DIRECT`: lengths and offsets must be multiples of `alignmentBytes`, buffers address-aligned (use a `DmaBufferPool`). */
  readonly direct?: boolean
  /** Alignment for direct I/O (default 4096). */
  readonly alignmentBytes?: number
  /** I/O mechanism (default `auto`). */
  readonly ioMode?: FileIoMode
  /** In `mixed` mode, transfers of this many bytes or more go to the thread pool (default 65536). */
  readonly syncTransferMaxBytes?: number
  /** Device name (default: the path). */
  readonly name?: string
}

const zeroChunkBytes = 1 << 20
const defaultSyncTransferMaxBytes = 64 * 1024

/**
 * A block device on a file. `flush` is `fdatasync`. Reads and writes use the {@link FileIoMode}
 * chosen by measurement (`pnpm bench`): for buffered files synchronous positional syscalls below
 * 64 KiB (page cache hits cost a few microseconds, a libuv thread-pool round trip tens) and the
 * thread pool from 64 KiB up (so large copies never block the event loop); the thread pool with
 * many operations in flight for `O_DIRECT`. `unmap` is accepted but does nothing
 * (Node has no `fallocate(PUNCH_HOLE)`), so `capabilities.unmapZeroes` is false; `writeZeroes`
 * writes zero buffers.
 *
 * Direct I/O: Node cannot allocate aligned memory itself, so `direct: true` checks lengths and
 * offsets (`DER_INVAL` before submission) and relies on the caller's buffers being
 * address-aligned; {@link DmaBufferPool} provides such buffers. A misaligned buffer, or a file
 * system without `O_DIRECT`, gives the kernel's `EINVAL` as `DER_INVAL`.
 */
export class FileBlockDevice extends AbstractBlockDevice {
  readonly capabilities: BlockDeviceCapabilities
  /** The file's path. */
  readonly path: string
  /** The I/O mechanism in use (`auto` resolved). */
  readonly ioMode: Exclude<FileIoMode, 'auto'>
  /** In `mixed` mode, transfers of at least this many bytes run on the thread pool. */
  readonly syncTransferMaxBytes: number
  private readonly fd: number
  private readonly handle: fs.promises.FileHandle | undefined
  private zeroes: Uint8Array | undefined

  private constructor(options: FileBlockDeviceOptions & { blockCount: number }, fd: number, handle: fs.promises.FileHandle | undefined) {
    super({ ...options, name: options.name ?? options.path, alignmentBytes: options.direct === true ? Math.max(options.alignmentBytes ?? 4096, options.blockSizeBytes) : options.blockSizeBytes })
    this.path = options.path
    const mode = options.ioMode ?? 'auto'
    this.ioMode = mode !== 'auto' ? mode : options.direct === true ? 'callback' : 'mixed'
    this.syncTransferMaxBytes = options.syncTransferMaxBytes ?? defaultSyncTransferMaxBytes
    this.fd = fd
    this.handle = handle
    this.capabilities = { unmapZeroes: false, directIo: options.direct === true, durable: true }
  }

  /**
   * Opens (or creates) the file. Bad options throw `DER_INVAL` naming the field; a missing file
   * `DER_NONEXIST`; `O_DIRECT` refused by the file system `DER_INVAL`.
   */
  static async open(options: FileBlockDeviceOptions): Promise<FileBlockDevice> {
    if (typeof options.path !== 'string' || options.path.length === 0) throw new DerError('DER_INVAL', 'FileBlockDevice: path must be a non-empty string')
    const ioMode = options.ioMode ?? 'auto'
    if (!['auto', 'callback', 'promise', 'sync', 'mixed'].includes(ioMode)) throw new DerError('DER_INVAL', `FileBlockDevice: ioMode must be auto, callback, promise, sync or mixed, got ${String(ioMode)}`)
    const syncMax = options.syncTransferMaxBytes
    if (syncMax !== undefined && (!Number.isSafeInteger(syncMax) || syncMax < 0)) throw new DerError('DER_INVAL', `FileBlockDevice: syncTransferMaxBytes must be an integer >= 0, got ${String(syncMax)}`)
    const blockSizeBytes = options.blockSizeBytes
    if (options.direct === true && options.alignmentBytes !== undefined && (options.alignmentBytes % blockSizeBytes !== 0 || (options.alignmentBytes & (options.alignmentBytes - 1)) !== 0)) {
      throw new DerError('DER_INVAL', `FileBlockDevice: alignmentBytes must be a power of two multiple of the block size, got ${options.alignmentBytes}`)
    }
    if (options.create === true && options.blockCount === undefined) throw new DerError('DER_INVAL', 'FileBlockDevice: create needs blockCount')
    let flags = fs.constants.O_RDWR
    if (options.create === true) flags |= fs.constants.O_CREAT
    if (options.direct === true) {
      if (fs.constants.O_DIRECT === undefined) throw new DerError('DER_NOSYS', 'FileBlockDevice: O_DIRECT is not available on this platform')
      flags |= fs.constants.O_DIRECT
    }
    let fd: number
    try {
      fd = await new Promise<number>((resolve, reject) => {
        fs.open(options.path, flags, 0o644, (error, opened) => (error === null ? resolve(opened) : reject(error)))
      })
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === 'ENOENT') throw new DerError('DER_NONEXIST', `FileBlockDevice: ${options.path} does not exist`, { cause: error })
      if (code === 'EINVAL' && options.direct === true) throw new DerError('DER_INVAL', `FileBlockDevice: the file system of ${options.path} refuses O_DIRECT`, { cause: error })
      throw normalizeIoError(error, `FileBlockDevice: open ${options.path}`)
    }
    try {
      const stat = fs.fstatSync(fd)
      let sizeBytes = stat.size
      if (stat.isBlockDevice()) sizeBytes = await blockDeviceSize(stat.rdev)
      else if (!stat.isFile()) throw new DerError('DER_INVAL', `FileBlockDevice: ${options.path} is neither a regular file nor a block device`)
      let blockCount = options.blockCount ?? Math.floor(sizeBytes / blockSizeBytes)
      if (options.blockCount !== undefined && (!Number.isSafeInteger(blockCount) || blockCount < 1)) {
        throw new DerError('DER_INVAL', `FileBlockDevice: blockCount must be an integer >= 1, got ${String(blockCount)}`)
      }
      if (blockCount * blockSizeBytes > sizeBytes) {
        if (stat.isBlockDevice()) throw new DerError('DER_INVAL', `FileBlockDevice: blockCount ${blockCount} exceeds the block device (${sizeBytes} bytes)`)
        fs.ftruncateSync(fd, blockCount * blockSizeBytes)
      }
      if (blockCount < 1) throw new DerError('DER_INVAL', `FileBlockDevice: ${options.path} is smaller than one block`)
      blockCount = Math.floor(blockCount)
      let handle: fs.promises.FileHandle | undefined
      if (ioMode === 'promise') {
        // A FileHandle of its own (same file, same flags): closing it never races the fd.
        handle = await fs.promises.open(options.path, flags & ~fs.constants.O_CREAT)
      }
      return new FileBlockDevice({ ...options, blockCount }, fd, handle)
    } catch (error) {
      fs.closeSync(fd)
      throw normalizeIoError(error, `FileBlockDevice: open ${options.path}`)
    }
  }

  protected doRead(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    return this.transfer('read', lba * this.blockSizeBytes, buffers, byteLength)
  }

  protected doWrite(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    return this.transfer('write', lba * this.blockSizeBytes, buffers, byteLength)
  }

  protected doFlush(): Promise<void> {
    if (this.handle !== undefined) return this.handle.datasync()
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.fd, (error) => (error === null ? resolve() : reject(error)))
    })
  }

  protected async doWriteZeroes(lba: number, blockCount: number): Promise<void> {
    this.zeroes ??= this.capabilities.directIo ? allocateAlignedBuffer(zeroChunkBytes, this.alignmentBytes) : new Uint8Array(zeroChunkBytes)
    const total = blockCount * this.blockSizeBytes
    const work: Promise<void>[] = []
    for (let done = 0; done < total; done += zeroChunkBytes) {
      const length = Math.min(zeroChunkBytes, total - done)
      work.push(this.transfer('write', lba * this.blockSizeBytes + done, [this.zeroes.subarray(0, length)], length))
    }
    await Promise.all(work)
  }

  protected doUnmap(): Promise<void> {
    return Promise.resolve()
  }

  protected async doClose(): Promise<void> {
    if (this.handle !== undefined) await this.handle.close()
    await new Promise<void>((resolve, reject) => {
      fs.close(this.fd, (error) => (error === null ? resolve() : reject(normalizeIoError(error, `close ${this.path}`))))
    })
  }

  private transfer(kind: 'read' | 'write', position: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    if (this.capabilities.directIo && position % this.alignmentBytes !== 0) {
      return Promise.reject(new DerError('DER_INVAL', `${kind}: direct I/O offset ${position} is not a multiple of ${this.alignmentBytes}`))
    }
    if (this.ioMode === 'sync' || (this.ioMode === 'mixed' && byteLength < this.syncTransferMaxBytes)) {
      try {
        this.transferSync(kind, position, buffers)
        return Promise.resolve()
      } catch (error) {
        return Promise.reject(asError(error))
      }
    }
    if (buffers.length === 1) {
      const buffer = buffers[0] as Uint8Array
      return this.handle !== undefined ? this.onePromise(kind, buffer, position) : this.oneCallback(kind, buffer, position, 0)
    }
    return this.vectored(kind, position, buffers, byteLength)
  }

  private transferSync(kind: 'read' | 'write', position: number, buffers: readonly Uint8Array[]): void {
    let at = position
    for (const buffer of buffers) {
      let done = 0
      while (done < buffer.length) {
        const n = kind === 'read' ? fs.readSync(this.fd, buffer, done, buffer.length - done, at + done) : fs.writeSync(this.fd, buffer, done, buffer.length - done, at + done)
        if (n === 0) throw new DerError('DER_IO', `${kind} at byte ${at + done} of ${this.path}: unexpected end of file`)
        done += n
      }
      at += buffer.length
    }
  }

  private oneCallback(kind: 'read' | 'write', buffer: Uint8Array, position: number, already: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const step = (done: number): void => {
        const callback = (error: NodeJS.ErrnoException | null, n: number): void => {
          if (error !== null) {
            reject(error)
            return
          }
          if (n === 0) {
            reject(new DerError('DER_IO', `${kind} at byte ${position + done} of ${this.path}: unexpected end of file`))
            return
          }
          const next = done + n
          if (next < buffer.length) step(next)
          else resolve()
        }
        if (kind === 'read') fs.read(this.fd, buffer, done, buffer.length - done, position + done, callback)
        else fs.write(this.fd, buffer, done, buffer.length - done, position + done, callback)
      }
      step(already)
    })
  }

  private async onePromise(kind: 'read' | 'write', buffer: Uint8Array, position: number): Promise<void> {
    const handle = this.handle as fs.promises.FileHandle
    let done = 0
    while (done < buffer.length) {
      const result = kind === 'read' ? await handle.read(buffer, done, buffer.length - done, position + done) : await handle.write(buffer, done, buffer.length - done, position + done)
      const n = kind === 'read' ? (result as { bytesRead: number }).bytesRead : (result as { bytesWritten: number }).bytesWritten
      if (n === 0) throw new DerError('DER_IO', `${kind} at byte ${position + done} of ${this.path}: unexpected end of file`)
      done += n
    }
  }

  private async vectored(kind: 'read' | 'write', position: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    const list = buffers as Uint8Array[]
    const n = await new Promise<number>((resolve, reject) => {
      const callback = (error: NodeJS.ErrnoException | null, count: number): void => (error === null ? resolve(count) : reject(error))
      if (kind === 'read') fs.readv(this.fd, list, position, callback)
      else fs.writev(this.fd, list, position, callback)
    })
    if (n === byteLength) return
    if (n === 0) throw new DerError('DER_IO', `${kind} at byte ${position} of ${this.path}: unexpected end of file`)
    // Short transfer: finish buffer by buffer from where it stopped.
    let skip = n
    let at = position
    for (const buffer of buffers) {
      if (skip >= buffer.length) {
        skip -= buffer.length
        at += buffer.length
        continue
      }
      await this.oneCallback(kind, buffer, at, skip)
      skip = 0
      at += buffer.length
    }
  }
}

async function blockDeviceSize(rdev: number): Promise<number> {
  const major = Math.floor(rdev / 256) & 0xfff
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0)
  try {
    const sectors = Number.parseInt((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim(), 10)
    if (!Number.isSafeInteger(sectors) || sectors < 0) throw new Error(`bad size '${sectors}'`)
    return sectors * 512
  } catch (error) {
    throw new DerError('DER_INVAL', `FileBlockDevice: cannot read the size of block device ${major}:${minor}; pass blockCount`, { cause: error })
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
