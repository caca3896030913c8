import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDerError } from '@x/common'
import { Blobstore, FileBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import { afterAll, describe, expect, it } from 'vitest'
import { createSpdkStorage, openSpdkStorage } from '../src/index.ts'

const mib = 1024 * 1024

describe('SpdkBlobIo (thin-provisioned VOS blobs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vos-spdk-blob-io-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('formats a 1 GiB sparse file device without making it dense, and never-written areas read as zeros', async () => {
    const path = join(dir, 'sparse')
    const device = await FileBlockDevice.open({ path, blockSizeBytes: 4096, blockCount: (1024 * mib) / 4096, create: true })
    const store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024 })
    const third = Math.floor((store.freeClusters * store.clusterSizeBytes) / 3 / (64 * 1024)) * 64 * 1024
    const storage = await createSpdkStorage(store, device, { walBytes: third, metaBytes: third, dataBytes: third })
    const allocatedBytes = statSync(path).blocks * 512
    expect(allocatedBytes, `a fresh format must leave the 1 GiB file sparse, ${allocatedBytes} bytes allocated`).toBeLessThan(4 * mib)
    for (const io of [storage.wal, storage.meta, storage.data]) {
      expect(io.sizeBytes).toBe(third)
      const head = await io.read(0, 64 * 1024)
      const tail = await io.read(third - 8192, 8192)
      expect(head.every((b) => b === 0) && tail.every((b) => b === 0), 'never-written areas read as zeros').toBe(true)
    }
    // A partial write into a fresh cluster: the rest of that cluster still reads as zeros.
    await storage.data.write(5 * 64 * 1024 + 4096, new Uint8Array(4096).fill(0xab))
    const cluster = await storage.data.read(5 * 64 * 1024, 64 * 1024)
    expect(cluster.subarray(4096, 8192).every((b) => b === 0xab)).toBe(true)
    expect(cluster.subarray(0, 4096).every((b) => b === 0) && cluster.subarray(8192).every((b) => b === 0)).toBe(true)
    await store.close()
    await device.close()
  })

  it('a sync after a write that allocated a cluster persists the cluster map (power cut without a blobstore close)', async () => {
    const path = join(dir, 'power-cut')
    let device = await FileBlockDevice.open({ path, blockSizeBytes: 4096, blockCount: 1024, create: true })
    const store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024 })
    const storage = await createSpdkStorage(store, device, { walBytes: 256 * 1024, metaBytes: 256 * 1024, dataBytes: mib })
    const payload = new Uint8Array(8192).map((_, i) => (i * 31 + 7) & 0xff)
    await storage.wal.write(3 * 64 * 1024 + 512 * 8, payload)
    await storage.data.write(0, payload)
    await storage.wal.sync()
    await storage.data.sync()
    // Power cut: the blobstore is never synced or closed; only what the syncs above made durable counts.
    await device.close()
    device = await FileBlockDevice.open({ path, blockSizeBytes: 4096 })
    const reopened = await openSpdkStorage(await Blobstore.load(device), device)
    expect(await reopened.wal.read(3 * 64 * 1024 + 512 * 8, payload.length)).toEqual(payload)
    expect(await reopened.data.read(0, payload.length)).toEqual(payload)
    expect((await reopened.meta.read(0, 4096)).every((b) => b === 0)).toBe(true)
    await device.close()
  })

  it('refuses blob sizes that over-commit the blobstore with DER_NOSPACE', async () => {
    const device = new MemoryBlockDevice({ name: 'small', blockSizeBytes: 4096, blockCount: 256 })
    const store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024 })
    const tooBig = store.freeClusters * store.clusterSizeBytes
    await expect(createSpdkStorage(store, device, { walBytes: tooBig, metaBytes: 64 * 1024, dataBytes: 64 * 1024 })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_NOSPACE'))
    expect(store.listBlobs()).toEqual([])
  })
})
