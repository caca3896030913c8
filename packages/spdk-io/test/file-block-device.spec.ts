import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Random, isDerError } from '@x/common'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DmaBufferPool, FaultyBlockDevice, FileBlockDevice, type FileIoMode } from '../src/index.ts'
import { blockDeviceComplianceSuite } from '../src/testing/index.ts'

let dir = ''
let counter = 0
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spdk-io-file-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function fileSetup(ioMode: FileIoMode, blockSizeBytes = 4096, blockCount = 256, syncTransferMaxBytes?: number): { setup(): Promise<FileBlockDevice>; teardown(): Promise<void> } {
  let path = ''
  return {
    setup: () => {
      path = join(dir, `dev-${counter++}.img`)
      return FileBlockDevice.open({ path, create: true, blockSizeBytes, blockCount, queueDepth: 16, ioMode, ...(syncTransferMaxBytes === undefined ? {} : { syncTransferMaxBytes }) })
    },
    teardown: () => {
      rmSync(path, { force: true })
      return Promise.resolve()
    },
  }
}

blockDeviceComplianceSuite('FileBlockDevice (callback I/O) on a regular file', fileSetup('callback'), { seed: 21 })
blockDeviceComplianceSuite('FileBlockDevice (FileHandle I/O) on a regular file', fileSetup('promise', 512, 2048), { seed: 22 })
blockDeviceComplianceSuite('FileBlockDevice (sync I/O) on a regular file', fileSetup('sync'), { seed: 23, randomOperations: 100 })
// A low threshold so the random operations mix synchronous and thread-pool transfers.
blockDeviceComplianceSuite('FileBlockDevice (mixed I/O, thread pool from 8 KiB) on a regular file', fileSetup('mixed', 4096, 256, 8192), { seed: 25, randomOperations: 100 })

{
  const inner = fileSetup('callback')
  blockDeviceComplianceSuite(
    'FaultyBlockDevice (faults off) over a FileBlockDevice',
    { setup: async () => new FaultyBlockDevice({ inner: await inner.setup(), seed: 24 }), teardown: () => inner.teardown() },
    { seed: 24, randomOperations: 150 },
  )
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return undefined
}

describe('FileBlockDevice', () => {
  it('persists across close and reopen, and sizes itself from the file', async () => {
    const path = join(dir, 'persist.img')
    const device = await FileBlockDevice.open({ path, create: true, blockSizeBytes: 4096, blockCount: 64 })
    const data = new Random(5).bytes(8192)
    await device.write(10, data)
    await device.flush()
    await device.close()
    const again = await FileBlockDevice.open({ path, blockSizeBytes: 4096 })
    expect(again.blockCount).toBe(64)
    const back = new Uint8Array(8192)
    await again.read(10, back)
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true)
    await again.close()
  })

  it('refuses bad options and missing files with typed errors', async () => {
    expect(isDerError(await caught(FileBlockDevice.open({ path: join(dir, 'missing.img'), blockSizeBytes: 4096 })), 'DER_NONEXIST')).toBe(true)
    expect(isDerError(await caught(FileBlockDevice.open({ path: '', blockSizeBytes: 4096 })), 'DER_INVAL')).toBe(true)
    expect(isDerError(await caught(FileBlockDevice.open({ path: join(dir, 'x.img'), create: true, blockSizeBytes: 4096 })), 'DER_INVAL')).toBe(true)
    expect(isDerError(await caught(FileBlockDevice.open({ path: join(dir, 'y.img'), create: true, blockSizeBytes: 1000, blockCount: 4 })), 'DER_INVAL')).toBe(true)
    expect(isDerError(await caught(FileBlockDevice.open({ path: dir, blockSizeBytes: 4096 })), 'DER_INVAL')).toBe(true)
    const tiny = join(dir, 'tiny.img')
    writeFileSync(tiny, Buffer.alloc(100))
    expect(isDerError(await caught(FileBlockDevice.open({ path: tiny, blockSizeBytes: 512 })), 'DER_INVAL')).toBe(true)
    expect(isDerError(await caught(FileBlockDevice.open({ path: join(dir, 'z.img'), create: true, blockSizeBytes: 4096, blockCount: 4, syncTransferMaxBytes: -1 })), 'DER_INVAL')).toBe(true)
  })

  it('auto mode on a buffered file: small transfers finish synchronously, 64 KiB and more on the thread pool (the event loop stays free)', async () => {
    const path = join(dir, 'mixed.img')
    const device = await FileBlockDevice.open({ path, create: true, blockSizeBytes: 4096, blockCount: 512 })
    expect(device.ioMode).toBe('mixed')
    expect(device.syncTransferMaxBytes).toBe(65536)
    const settlesWithinMicrotasks = async (io: Promise<void>): Promise<boolean> => {
      let settled = false
      void io.then(() => (settled = true))
      // A thread-pool completion is delivered in libuv's poll phase, never between microtasks.
      for (let i = 0; i < 50 && !settled; i++) await Promise.resolve()
      const early = settled
      await io
      return early
    }
    const small = new Uint8Array(60 * 1024).fill(1)
    const large = new Uint8Array(1 << 20).fill(2)
    expect(await settlesWithinMicrotasks(device.write(0, small)), 'a 60 KiB write runs synchronously').toBe(true)
    expect(await settlesWithinMicrotasks(device.write(256, large)), 'a 1 MiB write goes to the thread pool').toBe(false)
    const back = new Uint8Array(1 << 20)
    expect(await settlesWithinMicrotasks(device.read(256, back)), 'a 1 MiB read goes to the thread pool').toBe(false)
    expect(back).toEqual(large)
    await device.flush()
    await device.close()
  })

  it('direct I/O: refuses misaligned lengths with DER_INVAL before submission; aligned pool buffers work where O_DIRECT does', async () => {
    const path = join(dir, 'direct.img')
    writeFileSync(path, Buffer.alloc(1 << 20))
    const opened = await caught(FileBlockDevice.open({ path, blockSizeBytes: 512, direct: true }))
    if (opened !== undefined) {
      // tmpfs and some others refuse O_DIRECT: the refusal is typed.
      expect(isDerError(opened, 'DER_INVAL'), String(opened as Error)).toBe(true)
      return
    }
    const device = await FileBlockDevice.open({ path, blockSizeBytes: 512, direct: true })
    expect(device.capabilities.directIo).toBe(true)
    expect(device.alignmentBytes).toBe(4096)
    expect(isDerError(await caught(device.read(0, new Uint8Array(512))), 'DER_INVAL')).toBe(true)
    expect(isDerError(await caught(device.read(1, new Uint8Array(4096))), 'DER_INVAL')).toBe(true)
    expect(device.stats().errors).toBe(0)
    const pool = new DmaBufferPool({ bufferSizeBytes: 8192, bufferCount: 4 })
    const buffer = await pool.acquire()
    buffer.set(new Random(9).bytes(8192))
    const copy = buffer.slice()
    await device.write(8, buffer)
    buffer.fill(0)
    await device.read(8, buffer)
    expect(Buffer.from(buffer).equals(Buffer.from(copy))).toBe(true)
    pool.release(buffer)
    // A buffer 16 bytes past an aligned address: the kernel's EINVAL comes back typed.
    const slab = await pool.acquire()
    const error = await caught(device.read(0, new Uint8Array(slab.buffer, slab.byteOffset + 16, 4096)))
    expect(isDerError(error, 'DER_INVAL'), String(error)).toBe(true)
    await device.writeZeroes(8, 16)
    await device.read(8, buffer)
    expect(buffer.every((b) => b === 0)).toBe(true)
    await device.close()
  })
})
