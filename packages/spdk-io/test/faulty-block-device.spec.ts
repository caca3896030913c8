import { VirtualRuntime, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { FaultyBlockDevice, MemoryBlockDevice } from '../src/index.ts'
import { blockDeviceComplianceSuite } from '../src/testing/index.ts'

const seed = Number(process.env.X_SEED ?? 7)

function memory(blocks = 256): MemoryBlockDevice {
  return new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: blocks, queueDepth: 64 })
}

blockDeviceComplianceSuite(
  'FaultyBlockDevice (faults off, write-back cache) over memory',
  { setup: () => Promise.resolve(new FaultyBlockDevice({ inner: memory(), seed, queueDepth: 16 })), teardown: () => Promise.resolve() },
  { unmapZeroes: true, seed },
)

blockDeviceComplianceSuite(
  'FaultyBlockDevice (faults off, write-through) over memory',
  { setup: () => Promise.resolve(new FaultyBlockDevice({ inner: memory(), seed, writeBack: false })), teardown: () => Promise.resolve() },
  { unmapZeroes: true, seed: seed + 1 },
)

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return undefined
}

describe('FaultyBlockDevice', () => {
  it('injects read and write errors as DER_IO, reproducibly from the seed', async () => {
    const run = async (): Promise<string[]> => {
      const device = new FaultyBlockDevice({ inner: memory(), seed, faults: { readErrorRate: 0.3, writeErrorRate: 0.3 } })
      const outcomes: string[] = []
      for (let i = 0; i < 100; i++) {
        const error = await caught(i % 2 === 0 ? device.write(i, new Uint8Array(4096)) : device.read(i, new Uint8Array(4096)))
        if (error !== undefined) expect(isDerError(error, 'DER_IO'), `seed ${seed}: ${String(error as Error)}`).toBe(true)
        outcomes.push(error === undefined ? 'ok' : 'io')
      }
      expect(device.health().state).toBe('degraded')
      expect(device.stats().errors).toBe(outcomes.filter((o) => o === 'io').length)
      return outcomes
    }
    const first = await run()
    expect(first.filter((o) => o === 'io').length, `seed ${seed}`).toBeGreaterThan(10)
    expect(await run()).toEqual(first)
  })

  it('flips exactly one bit on a faulty read and records it', async () => {
    const device = new FaultyBlockDevice({ inner: memory(), seed, writeBack: false })
    const data = new Uint8Array(8192).fill(0x5a)
    await device.write(3, data)
    device.setFaults({ bitFlipRate: 1 })
    const back = new Uint8Array(8192)
    await device.read(3, [back.subarray(0, 100 * 0 + 4096), back.subarray(4096)])
    let differing = 0
    for (let i = 0; i < back.length; i++) {
      const x = (back[i] ?? 0) ^ 0x5a
      if (x !== 0) differing += x.toString(2).split('1').length - 1
    }
    expect(differing, `seed ${seed}`).toBe(1)
    expect(device.events.at(-1)?.kind).toBe('bitFlip')
  })

  it('misdirects writes to another LBA', async () => {
    const inner = memory(64)
    const device = new FaultyBlockDevice({ inner, seed, writeBack: false, faults: { misdirectedWriteRate: 1 } })
    await device.write(10, new Uint8Array(4096).fill(9))
    const event = device.events.at(-1)
    expect(event?.kind).toBe('misdirectedWrite')
    const actual = event?.kind === 'misdirectedWrite' ? event.actualLba : -1
    const back = new Uint8Array(4096)
    await inner.read(actual, back)
    expect(back.every((b) => b === 9), `seed ${seed}, actual lba ${actual}`).toBe(true)
  })

  it('adds latency through the runtime timers', async () => {
    const runtime = new VirtualRuntime({ seed })
    const device = new FaultyBlockDevice({ inner: memory(), seed, runtime, faults: { latencyMs: { min: 5, max: 5 } } })
    let done = false
    const write = device.write(0, new Uint8Array(4096)).then(() => {
      done = true
    })
    await runtime.advance(4)
    expect(done).toBe(false)
    await runtime.advance(1)
    await write
    expect(done).toBe(true)
  })

  it('loses, tears or keeps unflushed writes on a power cut; flushed writes survive', async () => {
    const inner = memory(64)
    const device = new FaultyBlockDevice({ inner, seed, closeInner: false, faults: { lostWriteRate: 0.3, tornWriteRate: 0.4 } })
    const durable = new Uint8Array(4096 * 4).fill(1)
    await device.write(0, durable)
    await device.flush()
    for (let i = 0; i < 10; i++) await device.write(4 + i * 4, new Uint8Array(4096 * 4).fill(2 + i))
    expect(device.unflushedWrites).toBe(10)
    await device.powerCut()
    expect(isDerError(await caught(device.read(0, new Uint8Array(4096))), 'DER_IO')).toBe(true)
    const cut = device.events.at(-1)
    expect(cut?.kind).toBe('powerCut')
    if (cut?.kind !== 'powerCut') return
    expect(cut.lost + cut.torn + cut.persisted).toBe(10)
    await device.powerOn()
    const back = new Uint8Array(4096 * 4)
    await device.read(0, back)
    expect(back.every((b) => b === 1)).toBe(true)
    let torn = 0
    let lost = 0
    for (let i = 0; i < 10; i++) {
      const blocks = new Uint8Array(4096 * 4)
      await device.read(4 + i * 4, blocks)
      const full = blocks.every((b) => b === 2 + i)
      const none = blocks.every((b) => b === 0)
      if (!full && !none) {
        torn++
        // A torn write is a prefix of whole blocks.
        let k = 0
        while (k < 4 && blocks[k * 4096] === 2 + i) k++
        expect(blocks.subarray(0, k * 4096).every((b) => b === 2 + i) && blocks.subarray(k * 4096).every((b) => b === 0), `seed ${seed}`).toBe(true)
      }
      if (none) lost++
    }
    expect(torn).toBe(cut.torn)
    expect(lost).toBe(cut.lost)
  })

  it('cuts the power at the n-th write', async () => {
    const device = new FaultyBlockDevice({ inner: memory(64), seed, faults: { powerCutAtWrite: 3 } })
    await device.write(0, new Uint8Array(4096))
    await device.write(1, new Uint8Array(4096))
    const error = await caught(device.write(2, new Uint8Array(4096)))
    expect(isDerError(error, 'DER_IO')).toBe(true)
    expect(device.poweredOn).toBe(false)
    expect(device.health().state).toBe('failed')
    await device.powerOn()
    expect(device.health().state).toBe('degraded')
    await device.write(2, new Uint8Array(4096))
  })

  it('refuses bad fault settings with DER_INVAL naming the field', () => {
    for (const [faults, field] of [
      [{ readErrorRate: 2 }, 'readErrorRate'],
      [{ bitFlipRate: -0.1 }, 'bitFlipRate'],
      [{ latencyMs: { min: 3, max: 1 } }, 'latencyMs'],
      [{ powerCutAtWrite: 0 }, 'powerCutAtWrite'],
      [{ lostWriteRate: 0.8, tornWriteRate: 0.8 }, 'lostWriteRate'],
    ] as const) {
      let error: unknown
      try {
        new FaultyBlockDevice({ inner: memory(8), seed, faults })
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
      expect(String(error)).toContain(field)
    }
  })
})
