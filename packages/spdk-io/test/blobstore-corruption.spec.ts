import { Random, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Blobstore, MemoryBlockDevice } from '../src/index.ts'
import { decodeRegion, decodeRegionHeader, decodeSnapshot, encodeRegion, encodeSnapshot } from '../src/blobstore/metadata.ts'
import { decodeSuperBlock } from '../src/blobstore/super-block.ts'

const format = { clusterSizeBytes: 4096, pageSizeBytes: 512, metadataRegionPages: 8 } as const

async function storeWithHistory(): Promise<{ device: MemoryBlockDevice; store: Blobstore; ids: number[] }> {
  const device = new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 1024 })
  const store = await Blobstore.format(device, { ...format, random: new Random(3) })
  const ids: number[] = []
  for (let i = 0; i < 3; i++) {
    const id = await store.createBlob({ sizeClusters: 1, xattrs: { n: 'x'.repeat(700 + i) } })
    ids.push(id)
    await store.sync()
  }
  return { device, store, ids }
}

async function flipByte(device: MemoryBlockDevice, byteOffset: number): Promise<void> {
  const lba = Math.floor(byteOffset / 512)
  const block = new Uint8Array(512)
  await device.read(lba, block)
  block[byteOffset % 512] = (block[byteOffset % 512] ?? 0) ^ 0x40
  await device.write(lba, block)
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return undefined
}

describe('Blobstore metadata corruption', () => {
  it('a corrupt newest copy falls back to the previous synced copy and says so', async () => {
    const { device, store, ids } = await storeWithHistory()
    const sequence = store.metadataSequence
    const region = Number(sequence & 1n)
    // Corrupt the second page of the newest copy (the payload spans several pages).
    await flipByte(device, (1 + region * format.metadataRegionPages + 1) * 512 + 10)
    const loaded = await Blobstore.load(device)
    expect(loaded.metadataSequence).toBe(sequence - 1n)
    expect(loaded.listBlobs()).toEqual(ids.slice(0, 2))
    expect(loaded.recovery?.newerCopyDiscarded).toBe(true)
    expect(loaded.recovery?.otherCopy).toContain('torn or corrupt')
  })

  it('both copies corrupt: DER_DF_INVAL naming both regions', async () => {
    const { device } = await storeWithHistory()
    await flipByte(device, (1 + 0) * 512 + 3)
    await flipByte(device, (1 + format.metadataRegionPages) * 512 + 3)
    const error = await rejection(Blobstore.load(device))
    expect(isDerError(error, 'DER_DF_INVAL'), String(error)).toBe(true)
    expect(String(error)).toContain('region 0')
    expect(String(error)).toContain('region 1')
  })

  it('a flipped super block byte gives DER_DF_INVAL; a newer version DER_DF_INCOMPT', async () => {
    const { device } = await storeWithHistory()
    await flipByte(device, 30)
    expect(isDerError(await rejection(Blobstore.load(device)), 'DER_DF_INVAL')).toBe(true)
    const fresh = await storeWithHistory()
    await flipByte(fresh.device, 8) // version field: 1 -> 0x41
    expect(isDerError(await rejection(Blobstore.load(fresh.device)), 'DER_DF_INCOMPT')).toBe(true)
  })

  it('a store whose device is smaller than the super block says is refused', async () => {
    const { device } = await storeWithHistory()
    const block = new Uint8Array(512)
    await device.read(0, block)
    const smaller = new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 100 })
    await smaller.write(0, block)
    expect(isDerError(await rejection(Blobstore.load(smaller)), 'DER_DF_INVAL')).toBe(true)
  })

  it('load survives random garbage in the metadata area: a valid store or DER_DF_INVAL, nothing else', async () => {
    const { device } = await storeWithHistory()
    const image = new Uint8Array(512 * (1 + 2 * format.metadataRegionPages))
    await device.read(0, image)
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 512, max: image.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (edits) => {
        const copy = image.slice()
        for (const [at, value] of edits) copy[at] = value
        await device.write(0, copy)
        try {
          const store = await Blobstore.load(device)
          expect(store.listBlobs().length).toBeGreaterThanOrEqual(2)
        } catch (error) {
          expect(isDerError(error, 'DER_DF_INVAL'), String(error)).toBe(true)
        }
      }),
      { seed: 7, numRuns: 200 },
    )
  })

  it('decoders throw only typed errors on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        for (const run of [
          () => decodeSuperBlock(bytes, { blockSizeBytes: 512, blockCount: 1024 }),
          () => decodeSnapshot(bytes, 128, 5),
        ]) {
          try {
            run()
          } catch (error) {
            if (!isDerError(error)) return false
          }
        }
        const page = new Uint8Array(512)
        page.set(bytes.subarray(0, 512))
        const header = decodeRegionHeader(page, 8, 512)
        if (header !== undefined) decodeRegion(new Uint8Array(header.pageCount * 512), header, 512)
        return true
      }),
      { seed: 11, numRuns: 2000 },
    )
  })

  it('metadata round-trips through encodeSnapshot/encodeRegion', () => {
    const snapshot = {
      nextBlobId: 9,
      allocationMap: Uint8Array.from([0b1110_0000, 0b0000_0001, 0, 0]),
      blobs: [
        { id: 3, thinProvisioned: true, clusters: [5, -1, 6, 7], xattrs: new Map([['a', new Uint8Array([1])]]) },
        { id: 8, thinProvisioned: false, clusters: [8], xattrs: new Map() },
      ],
    }
    const payload = encodeSnapshot(snapshot)
    const region = encodeRegion(payload, 42n, 512)
    const header = decodeRegionHeader(region.subarray(0, 512), 8, 512)
    expect(header?.sequence).toBe(42n)
    const back = decodeRegion(region, header ?? { sequence: 0n, payloadBytes: 0, pageCount: 1 }, 512)
    expect(back).toEqual(payload)
    expect(decodeSnapshot(back ?? new Uint8Array(), 32, 5)).toEqual(snapshot)
    // A cluster used twice, or outside the data area, is refused.
    const twice = encodeSnapshot({ ...snapshot, blobs: [{ ...snapshot.blobs[0], clusters: [5, 5] } as (typeof snapshot.blobs)[number]] })
    expect(() => decodeSnapshot(twice, 32, 5)).toThrow(expect.objectContaining({ name: 'DER_DF_INVAL' }))
    expect(() => decodeSnapshot(payload, 32, 6)).toThrow(expect.objectContaining({ name: 'DER_DF_INVAL' }))
  })
})

describe('Blobstore concurrency', () => {
  it('concurrent writes to shared fresh clusters, resizes and syncs keep every byte', async () => {
    const seed = Number(process.env.X_SEED ?? 99)
    const random = new Random(seed)
    const device = new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 4096 })
    const store = await Blobstore.format(device, { ...format, metadataRegionPages: 16, random })
    const ids = [await store.createBlob({ sizeClusters: 8 }), await store.createBlob({ sizeClusters: 8 })]
    const blobs = await Promise.all(ids.map((id) => store.openBlob(id)))
    const models = ids.map(() => new Uint8Array(8 * 4096))
    for (let round = 0; round < 20; round++) {
      const work: Promise<void>[] = []
      // Non-overlapping random ranges per blob in each round, issued at once with a sync.
      for (let b = 0; b < blobs.length; b++) {
        const blob = blobs[b]
        const model = models[b]
        if (blob === undefined || model === undefined) continue
        const cuts = [...new Set(Array.from({ length: 6 }, () => random.int(model.length)))].sort((x, y) => x - y)
        for (let i = 0; i + 1 < cuts.length; i += 2) {
          const from = cuts[i] as number
          const to = cuts[i + 1] as number
          const data = random.bytes(to - from)
          model.set(data, from)
          work.push(blob.write(from, data))
        }
      }
      work.push(store.sync())
      await Promise.all(work)
    }
    await store.sync()
    const loaded = await Blobstore.load(device)
    for (let b = 0; b < ids.length; b++) {
      const blob = await loaded.openBlob(ids[b] as number)
      const back = new Uint8Array(8 * 4096)
      await blob.read(0, back)
      expect(Buffer.from(back).equals(Buffer.from(models[b] as Uint8Array)), `seed ${seed}, blob ${b}`).toBe(true)
    }
  })
})

describe('Blobstore recovery report', () => {
  it('after a clean sync, load reports the other copy as valid and older', async () => {
    const { device, store } = await storeWithHistory()
    const loaded = await Blobstore.load(device)
    expect(loaded.metadataSequence).toBe(store.metadataSequence)
    expect(loaded.recovery?.newerCopyDiscarded).toBe(false)
    expect(loaded.recovery?.otherCopy).toContain(`sequence ${String(store.metadataSequence - 1n)}`)
    expect(store.recovery).toBeUndefined()
  })
})
