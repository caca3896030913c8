/**
 * `MemoryBlockDevice`: blocks in memory (SPDK's malloc bdev), sparse so large devices cost only
 * what is written.
 *
 * @module
 */
import type { BlockDeviceCapabilities } from './block-device.ts'
import { AbstractBlockDevice, type BlockDeviceOptions } from './abstract-block-device.ts'

/** Options of a {@link MemoryBlockDevice}. */
export interface MemoryBlockDeviceOptions extends Omit<BlockDeviceOptions, 'name' | 'alignmentBytes'> {
  /** Device name (default `Malloc`). */
  readonly name?: string
}

const chunkBytes = 1 << 20

/** A sparse in-memory block device; never-written and unmapped blocks read as zeroes. */
export class MemoryBlockDevice extends AbstractBlockDevice {
  readonly capabilities: BlockDeviceCapabilities = { unmapZeroes: true, directIo: false, durable: false }
  private chunks = new Map<number, Uint8Array>()

  constructor(options: MemoryBlockDeviceOptions) {
    super({ ...options, name: options.name ?? 'Malloc' })
  }

  /** Bytes of memory holding data (whole 1 MiB chunks). */
  get allocatedBytes(): number {
    return this.chunks.size * chunkBytes
  }

  protected doRead(lba: number, buffers: readonly Uint8Array[]): Promise<void> {
    let offset = lba * this.blockSizeBytes
    for (const buffer of buffers) {
      this.copyOut(offset, buffer)
      offset += buffer.byteLength
    }
    return Promise.resolve()
  }

  protected doWrite(lba: number, buffers: readonly Uint8Array[]): Promise<void> {
    let offset = lba * this.blockSizeBytes
    for (const buffer of buffers) {
      this.copyIn(offset, buffer)
      offset += buffer.byteLength
    }
    return Promise.resolve()
  }

  protected doFlush(): Promise<void> {
    return Promise.resolve()
  }

  protected doWriteZeroes(lba: number, blockCount: number): Promise<void> {
    this.zero(lba * this.blockSizeBytes, blockCount * this.blockSizeBytes)
    return Promise.resolve()
  }

  protected doUnmap(lba: number, blockCount: number): Promise<void> {
    this.zero(lba * this.blockSizeBytes, blockCount * this.blockSizeBytes)
    return Promise.resolve()
  }

  protected doClose(): Promise<void> {
    this.chunks = new Map()
    return Promise.resolve()
  }

  private copyOut(offset: number, target: Uint8Array): void {
    let done = 0
    while (done < target.byteLength) {
      const position = offset + done
      const index = Math.floor(position / chunkBytes)
      const within = position - index * chunkBytes
      const length = Math.min(chunkBytes - within, target.byteLength - done)
      const chunk = this.chunks.get(index)
      if (chunk === undefined) target.fill(0, done, done + length)
      else target.set(chunk.subarray(within, within + length), done)
      done += length
    }
  }

  private copyIn(offset: number, source: Uint8Array): void {
    let done = 0
    while (done < source.byteLength) {
      const position = offset + done
      const index = Math.floor(position / chunkBytes)
      const within = position - index * chunkBytes
      const length = Math.min(chunkBytes - within, source.byteLength - done)
      let chunk = this.chunks.get(index)
      if (chunk === undefined) {
        chunk = new Uint8Array(Math.min(chunkBytes, this.blockCount * this.blockSizeBytes - index * chunkBytes))
        this.chunks.set(index, chunk)
      }
      chunk.set(source.subarray(done, done + length), within)
      done += length
    }
  }

  private zero(offset: number, byteLength: number): void {
    let done = 0
    while (done < byteLength) {
      const position = offset + done
      const index = Math.floor(position / chunkBytes)
      const within = position - index * chunkBytes
      const length = Math.min(chunkBytes - within, byteLength - done)
      const chunk = this.chunks.get(index)
      if (chunk !== undefined) {
        if (within === 0 && length === chunk.byteLength) this.chunks.delete(index)
        else chunk.fill(0, within, within + length)
      }
      done += length
    }
  }
}
