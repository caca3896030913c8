import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DerError, Random, isDerError } from '@x/common'
import { Blobstore, FaultyBlockDevice, FileBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryBlobIo, Vos, createSpdkStorage, openSpdkStorage } from '../src/index.ts'
import { cont, runWorkload, verifyWorkload } from './workload.ts'

function memoryBlobs(walBytes = 32 * 1024): { wal: MemoryBlobIo; meta: MemoryBlobIo; data: MemoryBlobIo } {
  return { wal: new MemoryBlobIo(walBytes), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(1024 * 1024) }
}

function checkAllocator(vos: Vos, where: string): void {
  const allocator = vos.extentAllocator
  let used = 0
  vos.index.forEachStored((d) => {
    if (d.ref.kind === 'blob') used += d.ref.allocatedBytes / 4096
  })
  expect(allocator?.freeBlocks, `${where}: free + referenced blocks must cover the data blob (no leak)`).toBe((allocator?.blocks ?? 0) - used)
}

describe('crash consistency (power cut at every n-th write)', () => {
  it('on in-memory blobs with a volatile cache: synced updates survive, nothing is half visible', async () => {
    const count = 20
    // A clean run tells how many writes the workload issues.
    const clean = memoryBlobs()
    const reference = await Vos.create({ storage: clean })
    await reference.createContainer(cont)
    const setupWrites = clean.wal.writes + clean.meta.writes + clean.data.writes
    await runWorkload(reference, count)
    const totalWrites = clean.wal.writes + clean.meta.writes + clean.data.writes - setupWrites
    expect(totalWrites).toBeGreaterThan(20)
    for (let n = 1; n <= totalWrites; n++) {
      const where = `cut at write ${n} of ${totalWrites} (seed ${n})`
      const blobs = memoryBlobs()
      const vos = await Vos.create({ storage: blobs })
      await vos.createContainer(cont)
      let writes = 0
      const all = [blobs.wal, blobs.meta, blobs.data]
      for (const b of all) {
        b.beforeWrite = () => {
          if (++writes >= n) {
            for (const x of all) x.powerLost = true
            throw new DerError('DER_IO', 'power cut')
          }
        }
      }
      const acknowledged = await runWorkload(vos, count)
      const random = new Random(n)
      const crashed = { wal: blobs.wal.powerCut(random), meta: blobs.meta.powerCut(random), data: blobs.data.powerCut(random) }
      const recovered = await Vos.open({ storage: crashed })
      await verifyWorkload(recovered, count, acknowledged, where)
      checkAllocator(recovered, where)
      // The recovered VOS keeps working.
      await runWorkload(recovered, 2)
    }
  })

  it('on a FaultyBlockDevice under a blobstore: synced updates survive lost and torn writes', async () => {
    const count = 12
    const setup = async (seed: number): Promise<{ device: FaultyBlockDevice; vos: Vos; setupWrites: number }> => {
      const device = new FaultyBlockDevice({ inner: new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: 1024 }), seed })
      const store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024, random: new Random(seed) })
      const storage = await createSpdkStorage(store, device, { walBytes: 64 * 1024, metaBytes: 128 * 1024, dataBytes: 1024 * 1024 })
      const vos = await Vos.create({ storage })
      await vos.createContainer(cont)
      return { device, vos, setupWrites: device.writeCount }
    }
    const clean = await setup(0)
    await runWorkload(clean.vos, count)
    const totalWrites = clean.device.writeCount - clean.setupWrites
    expect(totalWrites).toBeGreaterThan(10)
    for (let n = 1; n <= totalWrites; n += 1) {
      const where = `device power cut at workload write ${n} of ${totalWrites} (seed ${n})`
      const { device, vos, setupWrites } = await setup(n)
      device.setFaults({ powerCutAtWrite: setupWrites + n })
      const acknowledged = await runWorkload(vos, count)
      await device.powerCut()
      await device.powerOn()
      const store = await Blobstore.load(device)
      const recovered = await Vos.open({ storage: await openSpdkStorage(store, device) })
      await verifyWorkload(recovered, count, acknowledged, where)
      checkAllocator(recovered, where)
    }
  })
})

describe('corruption', () => {
  it('a flipped bit in the WAL makes recovery refuse (DER_DATA_LOSS) or drop only the torn-looking last group; never wrong bytes', async () => {
    const count = 24
    const blobs = memoryBlobs(1024 * 1024)
    const vos = await Vos.create({ storage: blobs })
    await vos.createContainer(cont)
    const acknowledged = await runWorkload(vos, count)
    const walBytesUsed = 20 * 4096
    let refused = 0
    for (let trial = 0; trial < 60; trial++) {
      const random = new Random(1000 + trial)
      const image = { wal: blobs.wal.powerCut(), meta: blobs.meta.powerCut(), data: blobs.data.powerCut() }
      const offset = random.int(walBytesUsed)
      image.wal.flipBit(offset, random.int(8))
      const where = `trial ${trial}: bit flip at WAL offset ${offset} (seed ${1000 + trial})`
      let recovered: Vos
      try {
        recovered = await Vos.open({ storage: image })
      } catch (error) {
        expect(isDerError(error, 'DER_DATA_LOSS'), `${where}: ${String(error)}`).toBe(true)
        refused++
        continue
      }
      // Recovered: every update present is exact; only the last group (4 updates) may be gone.
      const present = await verifyWorkload(recovered, count, new Set([...acknowledged].filter((i) => i < count - 4)), where)
      expect(present, where).toBeGreaterThanOrEqual(count - 4)
    }
    expect(refused).toBeGreaterThan(0)
  })

  it('a damaged checkpoint image makes recovery refuse; a damaged header falls back only when the WAL proves it complete', async () => {
    const count = 16
    const blobs = memoryBlobs(1024 * 1024)
    const vos = await Vos.create({ storage: blobs })
    await vos.createContainer(cont)
    const acknowledged = await runWorkload(vos, count)
    await vos.close()
    // Generation 2 (close) sits in slot 0 and its image follows generation 1's.
    const imageDamaged = { wal: blobs.wal.powerCut(), meta: blobs.meta.powerCut(), data: blobs.data.powerCut() }
    imageDamaged.meta.flipBit(3 * 4096 + 10, 1)
    await expect(Vos.open({ storage: imageDamaged })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_DATA_LOSS'))
    const headerDamaged = { wal: blobs.wal.powerCut(), meta: blobs.meta.powerCut(), data: blobs.data.powerCut() }
    headerDamaged.meta.flipBit(8, 0)
    try {
      const recovered = await Vos.open({ storage: headerDamaged })
      await verifyWorkload(recovered, count, acknowledged, 'header damaged')
    } catch (error) {
      expect(isDerError(error, 'DER_DATA_LOSS')).toBe(true)
    }
  })

  it('refuses storage that holds no VOS', async () => {
    await expect(Vos.open({ storage: memoryBlobs() })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_NONEXIST'))
  })
})

describe('file device', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vos-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('survives close and reopen with all data, then a power cut with all synced data', async () => {
    const path = join(dir, 'target0')
    let device = await FileBlockDevice.open({ path, blockSizeBytes: 4096, blockCount: 2048, create: true })
    let store = await Blobstore.format(device, { clusterSizeBytes: 64 * 1024 })
    const vos = await Vos.create({ storage: await createSpdkStorage(store, device, { walBytes: 256 * 1024, metaBytes: 256 * 1024, dataBytes: 4 * 1024 * 1024 }) })
    await vos.createContainer(cont)
    const acknowledged = await runWorkload(vos, 40)
    expect(acknowledged.size).toBe(40)
    await vos.close()
    await store.close()
    await device.close()

    device = await FileBlockDevice.open({ path, blockSizeBytes: 4096 })
    store = await Blobstore.load(device)
    const reopened = await Vos.open({ storage: await openSpdkStorage(store, device) })
    expect(await verifyWorkload(reopened, 40, acknowledged, 'after reopen')).toBe(40)
    await reopened.close()
    await store.close()
    await device.close()

    // A power cut through a faulty wrapper over the same file: unflushed writes are lost or torn.
    const inner = await FileBlockDevice.open({ path, blockSizeBytes: 4096 })
    const faulty = new FaultyBlockDevice({ inner, seed: 7 })
    store = await Blobstore.load(faulty)
    const again = await Vos.open({ storage: await openSpdkStorage(store, faulty) })
    faulty.setFaults({ powerCutAtWrite: faulty.writeCount + 9 })
    const more = await runWorkload(again, 60)
    await faulty.powerCut()
    await faulty.powerOn()
    store = await Blobstore.load(faulty)
    const recovered = await Vos.open({ storage: await openSpdkStorage(store, faulty) })
    await verifyWorkload(recovered, 60, new Set([...acknowledged, ...more]), 'after power cut on a file device')
    await faulty.close()
  })
})
