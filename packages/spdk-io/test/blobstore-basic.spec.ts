import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Blobstore, FileBlockDevice, MemoryBlockDevice } from '../src/index.ts'

function device(blocks = 2048): MemoryBlockDevice {
  return new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: blocks })
}

async function rejects(promise: Promise<unknown>, name: Parameters<typeof isDerError>[1]): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    expect(isDerError(error, name), `expected ${String(name)}, got ${String(error)}`).toBe(true)
    return error
  }
  throw new Error(`expected ${String(name)}, got success`)
}

describe('Blobstore', () => {
  it('formats, creates, writes, syncs and reloads blobs with xattrs', async () => {
    const dev = device()
    const store = await Blobstore.format(dev, { clusterSizeBytes: 8192, pageSizeBytes: 512, blobstoreType: 'test', random: new Random(1) })
    expect(store.blobstoreType).toBe('test')
    const free = store.freeClusters
    const id = await store.createBlob({ sizeClusters: 3, xattrs: { name: 'first' } })
    const blob = await store.openBlob(id)
    expect(blob.sizeBytes).toBe(3 * 8192)
    expect(blob.allocatedClusters).toBe(0)
    const data = new Random(2).bytes(10_000)
    await blob.write(1234, data)
    expect(blob.allocatedClusters).toBe(2)
    expect(store.freeClusters).toBe(free - 2)
    blob.setXattr('color', 'blue')
    blob.setXattr('raw', new Uint8Array([1, 2, 3]))
    await blob.sync()
    blob.close()

    const again = await Blobstore.load(dev, { blobstoreType: 'test' })
    expect(again.uuid).toBe(store.uuid)
    expect(again.listBlobs()).toEqual([id])
    const reopened = await again.openBlob(id)
    const back = new Uint8Array(10_000)
    await reopened.read(1234, back)
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true)
    const head = new Uint8Array(1234)
    await reopened.read(0, head)
    expect(head.every((b) => b === 0)).toBe(true)
    expect(reopened.getXattrString('name')).toBe('first')
    expect(reopened.getXattrString('color')).toBe('blue')
    expect(reopened.getXattr('raw')).toEqual(new Uint8Array([1, 2, 3]))
    expect(reopened.xattrNames()).toEqual(['color', 'name', 'raw'])
    expect(again.freeClusters).toBe(free - 2)
  })

  it('thick blobs allocate on create; resize and delete free clusters only after a sync', async () => {
    const dev = device()
    const store = await Blobstore.format(dev, { clusterSizeBytes: 4096, pageSizeBytes: 512 })
    const free = store.freeClusters
    const id = await store.createBlob({ sizeClusters: 4, thinProvision: false })
    expect(store.freeClusters).toBe(free - 4)
    const blob = await store.openBlob(id)
    await blob.resize(2)
    expect(store.freeClusters).toBe(free - 4)
    await store.sync()
    expect(store.freeClusters).toBe(free - 2)
    await rejects(store.deleteBlob(id), 'DER_BUSY')
    blob.close()
    await store.deleteBlob(id)
    await store.sync()
    expect(store.freeClusters).toBe(free)
    await rejects(store.openBlob(id), 'DER_NONEXIST')
  })

  it('refuses a foreign or blank device with DER_DF_INVAL', async () => {
    const blank = device()
    await rejects(Blobstore.load(blank), 'DER_DF_INVAL')
    const foreign = device()
    await foreign.write(0, new TextEncoder().encode('XFS  some other file system'.padEnd(512, '\0')))
    const error = await rejects(Blobstore.load(foreign), 'DER_DF_INVAL')
    expect(String(error)).toContain('something other')
    const store = await Blobstore.format(device(), { clusterSizeBytes: 4096, pageSizeBytes: 512, blobstoreType: 'a' })
    await rejects(Blobstore.load(store.device, { blobstoreType: 'b' }), 'DER_DF_INVAL')
  })

  it('refuses I/O beyond the blob and bad options with DER_INVAL', async () => {
    const store = await Blobstore.format(device(), { clusterSizeBytes: 4096, pageSizeBytes: 512 })
    const blob = await store.openBlob(await store.createBlob({ sizeClusters: 1 }))
    await rejects(blob.write(4000, new Uint8Array(200)), 'DER_INVAL')
    await rejects(blob.read(-1, new Uint8Array(1)), 'DER_INVAL')
    await rejects(blob.resize(-1), 'DER_INVAL')
    await rejects(Blobstore.format(device(), { clusterSizeBytes: 1000, pageSizeBytes: 512 }), 'DER_INVAL')
    await rejects(Blobstore.format(device(16), { clusterSizeBytes: 4096, pageSizeBytes: 512 }), 'DER_NOSPACE')
    expect(() => blob.setXattr('', 'x')).toThrow()
    blob.close()
    expect(() => blob.close()).toThrow()
    await rejects(blob.read(0, new Uint8Array(1)), 'DER_NO_HDL')
  })

  it('fails with DER_NOSPACE when clusters run out', async () => {
    const store = await Blobstore.format(device(256), { clusterSizeBytes: 4096, pageSizeBytes: 512, metadataRegionPages: 4 })
    const blob = await store.openBlob(await store.createBlob({ sizeClusters: store.dataClusters + 1 }))
    await blob.write(0, new Uint8Array(store.dataClusters * 4096))
    await rejects(blob.write(store.dataClusters * 4096, new Uint8Array(1)), 'DER_NOSPACE')
  })
})

describe('Blobstore on a FileBlockDevice', () => {
  it('persists blobs across closing and reopening the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spdk-io-blobstore-'))
    try {
      const path = join(dir, 'store.img')
      let dev = await FileBlockDevice.open({ path, create: true, blockSizeBytes: 4096, blockCount: 512 })
      let store = await Blobstore.format(dev, { clusterSizeBytes: 64 * 1024 })
      const id = await store.createBlob({ sizeClusters: 2, thinProvision: false })
      const blob = await store.openBlob(id)
      const data = new Random(4).bytes(100_000)
      await blob.write(5000, data)
      blob.close()
      await store.close()
      await dev.close()
      dev = await FileBlockDevice.open({ path, blockSizeBytes: 4096 })
      store = await Blobstore.load(dev)
      const back = new Uint8Array(100_000)
      await (await store.openBlob(id)).read(5000, back)
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true)
      await dev.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
