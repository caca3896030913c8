/**
 * The `BlockDevice` compliance suite: every device implementation runs it.
 *
 * @module
 */
import { Random, isDerError } from '@x/common'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BlockDevice } from '../block-device.ts'

/** Creates a fresh device for each test and cleans up after it. */
export interface BlockDeviceTestSetup {
  /** A new, open device (its content may be anything). */
  setup(): Promise<BlockDevice>
  /** Releases what `setup` made; the suite closes the device first if a test left it open. */
  teardown(): Promise<void>
}

/** The same as {@link BlockDeviceTestSetup}. */
export type TestSetup = BlockDeviceTestSetup

/** What the device under test claims; tests for unclaimed behaviour are not registered. */
export interface DeclaredCapabilities {
  /** Name shown in the `describe` title (default `device`), for the form without a name argument. */
  readonly name?: string
  /** Reads after `unmap` return zeroes. */
  readonly unmapZeroes?: boolean
  /** Seed of the suite's generated data and workloads (default 1). */
  readonly seed?: number
  /** Operations in the randomized model test (default 300). */
  readonly randomOperations?: number
}

async function expectDer(promise: Promise<unknown>, name: Parameters<typeof isDerError>[1], context: string): Promise<void> {
  let caught: unknown
  try {
    await promise
  } catch (error) {
    caught = error
  }
  expect(caught, `${context}: expected ${String(name)}`).toBeDefined()
  expect(isDerError(caught, name), `${context}: expected ${String(name)}, got ${String(caught)}`).toBe(true)
}

function pattern(random: Random, length: number): Uint8Array {
  return random.bytes(length)
}

/**
 * Registers vitest `describe`/`it` blocks checking the {@link BlockDevice} contract: geometry,
 * read-after-write at both ends, scatter-gather, writeZeroes, unmap, flush, bad inputs (out of
 * range, zero-length, unaligned, oversized), queue-depth back-pressure, statistics, health,
 * close semantics and a seeded random workload checked against a model.
 */
export function blockDeviceComplianceSuite(name: string, testSetup: BlockDeviceTestSetup, declared?: DeclaredCapabilities): void
/** The same, named by `declared.name`. */
export function blockDeviceComplianceSuite(testSetup: BlockDeviceTestSetup, declared?: DeclaredCapabilities): void
export function blockDeviceComplianceSuite(
  first: string | BlockDeviceTestSetup,
  second?: BlockDeviceTestSetup | DeclaredCapabilities,
  third?: DeclaredCapabilities,
): void {
  const named = typeof first === 'string'
  const testSetup = (named ? second : first) as BlockDeviceTestSetup
  const declared: DeclaredCapabilities = (named ? third : (second as DeclaredCapabilities | undefined)) ?? {}
  const name = named ? first : (declared.name ?? 'device')
  const seed = declared.seed ?? 1
  describe(`BlockDevice compliance: ${name}`, () => {
    let device: BlockDevice
    let random: Random

    beforeEach(async () => {
      device = await testSetup.setup()
      random = new Random(seed)
    })

    afterEach(async () => {
      if (!device.closed) await device.close()
      await testSetup.teardown()
    })

    it('has a sane geometry', () => {
      const bs = device.blockSizeBytes
      expect(bs >= 512 && (bs & (bs - 1)) === 0).toBe(true)
      expect(device.blockCount).toBeGreaterThanOrEqual(1)
      expect(device.queueDepth).toBeGreaterThanOrEqual(1)
      expect(device.maxTransferBytes % bs).toBe(0)
      expect(device.maxTransferBytes).toBeGreaterThanOrEqual(bs)
      expect(device.alignmentBytes % bs).toBe(0)
      expect(device.health().state).toBe('ok')
      expect(device.closed).toBe(false)
    })

    it('reads back what it wrote at the first and last LBA', async () => {
      const unit = device.alignmentBytes
      const blocks = unit / device.blockSizeBytes
      for (const lba of [0, device.blockCount - blocks]) {
        const data = pattern(random, unit)
        await device.write(lba, data)
        const back = new Uint8Array(unit)
        await device.read(lba, back)
        expect(Buffer.from(back).equals(Buffer.from(data)), `seed ${seed}, lba ${lba}`).toBe(true)
      }
    })

    it('supports scatter-gather lists split differently on write and read', async () => {
      const unit = device.alignmentBytes
      const total = unit * 4
      if (device.blockCount * device.blockSizeBytes < total) return
      const data = pattern(random, total)
      await device.write(0, [data.subarray(0, unit), data.subarray(unit, unit * 3), data.subarray(unit * 3)])
      const a = new Uint8Array(unit * 3)
      const b = new Uint8Array(unit)
      await device.read(0, [a, b])
      expect(Buffer.concat([a, b]).equals(Buffer.from(data)), `seed ${seed}`).toBe(true)
    })

    it('writeZeroes zeroes exactly the range', async () => {
      const unit = device.alignmentBytes
      const blocksPerUnit = unit / device.blockSizeBytes
      if (device.blockCount < blocksPerUnit * 3) return
      const data = pattern(random, unit * 3)
      await device.write(0, data)
      await device.writeZeroes(blocksPerUnit, blocksPerUnit)
      const back = new Uint8Array(unit * 3)
      await device.read(0, back)
      expect(Buffer.from(back.subarray(0, unit)).equals(Buffer.from(data.subarray(0, unit)))).toBe(true)
      expect(back.subarray(unit, unit * 2).every((b) => b === 0)).toBe(true)
      expect(Buffer.from(back.subarray(unit * 2)).equals(Buffer.from(data.subarray(unit * 2)))).toBe(true)
    })

    it('unmap succeeds and leaves neighbours intact', async () => {
      const unit = device.alignmentBytes
      const blocksPerUnit = unit / device.blockSizeBytes
      if (device.blockCount < blocksPerUnit * 3) return
      const data = pattern(random, unit * 3)
      await device.write(0, data)
      await device.unmap(blocksPerUnit, blocksPerUnit)
      const back = new Uint8Array(unit * 3)
      await device.read(0, back)
      expect(Buffer.from(back.subarray(0, unit)).equals(Buffer.from(data.subarray(0, unit)))).toBe(true)
      expect(Buffer.from(back.subarray(unit * 2)).equals(Buffer.from(data.subarray(unit * 2)))).toBe(true)
      if (declared.unmapZeroes === true) expect(back.subarray(unit, unit * 2).every((b) => b === 0)).toBe(true)
    })

    it('flush completes and keeps data readable', async () => {
      const data = pattern(random, device.alignmentBytes)
      await device.write(0, data)
      await device.flush()
      const back = new Uint8Array(data.length)
      await device.read(0, back)
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true)
      expect(device.stats().flushes).toBe(1)
    })

    it('refuses out-of-range LBAs with DER_INVAL and changes nothing', async () => {
      const unit = device.alignmentBytes
      const blocks = unit / device.blockSizeBytes
      const last = device.blockCount - blocks
      const data = pattern(random, unit)
      await device.write(last, data)
      const buffer = new Uint8Array(unit * 2).fill(0xee)
      await expectDer(device.write(last, buffer), 'DER_INVAL', 'write past the end')
      await expectDer(device.read(device.blockCount, new Uint8Array(unit)), 'DER_INVAL', 'read at blockCount')
      await expectDer(device.read(-1, new Uint8Array(unit)), 'DER_INVAL', 'negative lba')
      await expectDer(device.read(0.5, new Uint8Array(unit)), 'DER_INVAL', 'fractional lba')
      await expectDer(device.read(Number.NaN, new Uint8Array(unit)), 'DER_INVAL', 'NaN lba')
      await expectDer(device.writeZeroes(device.blockCount - blocks, blocks + 1), 'DER_INVAL', 'writeZeroes past the end')
      await expectDer(device.unmap(device.blockCount, 1), 'DER_INVAL', 'unmap at blockCount')
      await expectDer(device.writeZeroes(0, 0), 'DER_INVAL', 'writeZeroes of 0 blocks')
      const back = new Uint8Array(unit)
      await device.read(last, back)
      expect(Buffer.from(back).equals(Buffer.from(data)), 'refused write changed the device').toBe(true)
      expect(device.stats().errors).toBe(0)
    })

    it('refuses zero-length, partial-block and oversized requests with DER_INVAL', async () => {
      await expectDer(device.write(0, new Uint8Array(0)), 'DER_INVAL', 'zero-length write')
      await expectDer(device.read(0, []), 'DER_INVAL', 'empty scatter-gather list')
      await expectDer(device.write(0, new Uint8Array(device.blockSizeBytes + 1)), 'DER_INVAL', 'partial block')
      if (device.alignmentBytes > device.blockSizeBytes) {
        await expectDer(device.write(0, new Uint8Array(device.blockSizeBytes)), 'DER_INVAL', 'length below the direct-I/O alignment')
      }
      const oversized = device.maxTransferBytes + device.alignmentBytes
      if (oversized <= 64 * 1024 * 1024) await expectDer(device.read(0, new Uint8Array(oversized)), 'DER_INVAL', 'oversized read')
      await expectDer(device.write(0, ['nope' as unknown as Uint8Array]), 'DER_INVAL', 'non-buffer in the list')
    })

    it('applies back-pressure beyond the queue depth: extra submissions wait and all succeed', async () => {
      const unit = device.alignmentBytes
      const blocksPerUnit = unit / device.blockSizeBytes
      const slots = Math.floor(device.blockCount / blocksPerUnit)
      const count = Math.min(device.queueDepth * 2 + 7, slots, 2000)
      const writes: Promise<void>[] = []
      const datas: Uint8Array[] = []
      for (let i = 0; i < count; i++) {
        const data = pattern(random, unit)
        datas.push(data)
        writes.push(device.write(i * blocksPerUnit, data))
      }
      const stats = device.stats()
      expect(stats.inFlight).toBeLessThanOrEqual(device.queueDepth)
      expect(stats.inFlight + stats.queued).toBeLessThanOrEqual(count)
      if (count > device.queueDepth) expect(stats.queued, `seed ${seed}`).toBeGreaterThan(0)
      await Promise.all(writes)
      expect(device.stats().inFlight).toBe(0)
      expect(device.stats().queued).toBe(0)
      const reads = datas.map(async (data, i) => {
        const back = new Uint8Array(unit)
        await device.read(i * blocksPerUnit, back)
        expect(Buffer.from(back).equals(Buffer.from(data)), `seed ${seed}, slot ${i}`).toBe(true)
      })
      await Promise.all(reads)
    })

    it('counts operations, bytes and latencies', async () => {
      const unit = device.alignmentBytes
      await device.write(0, new Uint8Array(unit))
      await device.read(0, new Uint8Array(unit))
      await device.read(0, [new Uint8Array(unit)])
      await device.flush()
      await device.writeZeroes(0, unit / device.blockSizeBytes)
      await device.unmap(0, unit / device.blockSizeBytes)
      const stats = device.stats()
      expect(stats.writes).toBe(1)
      expect(stats.reads).toBe(2)
      expect(stats.bytesWritten).toBe(unit)
      expect(stats.bytesRead).toBe(unit * 2)
      expect(stats.flushes).toBe(1)
      expect(stats.writeZeroes).toBe(1)
      expect(stats.unmaps).toBe(1)
      expect(stats.latency.count).toBe(6)
      expect(stats.latency.counts.reduce((a, b) => a + b, 0)).toBe(6)
      expect(stats.latency.boundsUs.length).toBe(stats.latency.counts.length)
    })

    it('closes once: later I/O gives DER_NO_HDL, a second close DER_ALREADY', async () => {
      const unit = device.alignmentBytes
      const pending = device.write(0, new Uint8Array(unit).fill(3))
      const closing = device.close()
      expect(device.closed).toBe(true)
      await pending
      await closing
      expect(device.health().state).toBe('closed')
      await expectDer(device.read(0, new Uint8Array(unit)), 'DER_NO_HDL', 'read after close')
      await expectDer(device.write(0, new Uint8Array(unit)), 'DER_NO_HDL', 'write after close')
      await expectDer(device.flush(), 'DER_NO_HDL', 'flush after close')
      await expectDer(device.writeZeroes(0, 1), 'DER_NO_HDL', 'writeZeroes after close')
      await expectDer(device.unmap(0, 1), 'DER_NO_HDL', 'unmap after close')
      await expectDer(device.close(), 'DER_ALREADY', 'second close')
    })

    it('matches a model under a seeded random concurrent workload', async () => {
      const unit = device.alignmentBytes
      const blocksPerUnit = unit / device.blockSizeBytes
      const slots = Math.min(64, Math.floor(device.blockCount / blocksPerUnit))
      const model = new Map<number, Uint8Array>()
      const operations = declared.randomOperations ?? 300
      for (let slot = 0; slot < slots; slot++) {
        const data = pattern(random, unit)
        model.set(slot, data)
        await device.write(slot * blocksPerUnit, data)
      }
      let batch: Promise<void>[] = []
      const busy = new Set<number>()
      for (let op = 0; op < operations; op++) {
        const slot = random.int(slots)
        if (busy.has(slot)) {
          await Promise.all(batch)
          batch = []
          busy.clear()
        }
        busy.add(slot)
        const kind = random.int(10)
        if (kind < 4) {
          const data = pattern(random, unit)
          model.set(slot, data)
          batch.push(device.write(slot * blocksPerUnit, data))
        } else if (kind < 5) {
          model.set(slot, new Uint8Array(unit))
          batch.push(device.writeZeroes(slot * blocksPerUnit, blocksPerUnit))
        } else if (kind < 6) {
          batch.push(device.flush())
        } else {
          const expected = model.get(slot)
          batch.push(
            (async () => {
              const back = new Uint8Array(unit)
              await device.read(slot * blocksPerUnit, back)
              expect(Buffer.from(back).equals(Buffer.from(expected ?? new Uint8Array(unit))), `seed ${seed}, op ${op}, slot ${slot}`).toBe(true)
            })(),
          )
        }
      }
      await Promise.all(batch)
      for (const [slot, data] of model) {
        const back = new Uint8Array(unit)
        await device.read(slot * blocksPerUnit, back)
        expect(Buffer.from(back).equals(Buffer.from(data)), `seed ${seed}, final slot ${slot}`).toBe(true)
      }
    })
  })
}
