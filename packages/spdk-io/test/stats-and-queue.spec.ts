import { MemoryMetrics, VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { FaultyBlockDevice, LatencyHistogram, MemoryBlockDevice, SlotQueue } from '../src/index.ts'

describe('statistics', () => {
  it('measures latency with the injected clock and reports to a metrics registry', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const metrics = new MemoryMetrics()
    const inner = new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 64 })
    const device = new FaultyBlockDevice({ inner, seed: 3, runtime, faults: { latencyMs: { min: 2, max: 2 } } })
    // The wrapper's own clock is the real one by default; measure through a clocked memory device instead.
    const clocked = new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 64, clock: runtime.clock, metrics, name: 'm0' })
    await clocked.write(0, new Uint8Array(512))
    const pending = device.write(0, new Uint8Array(512))
    await runtime.advance(2)
    await pending
    const snapshot = clocked.stats().latency
    expect(snapshot.count).toBe(1)
    expect(snapshot.sumUs).toBe(0)
    expect(metrics.histogramSnapshot('bdev_io_latency_us', { device: 'm0' })?.count).toBe(1)
    expect(device.stats().latency.maxUs).toBeGreaterThan(0)
  })

  it('keeps a bounded histogram and answers percentiles', () => {
    const histogram = new LatencyHistogram()
    for (let i = 1; i <= 1000; i++) histogram.observe(i)
    const snapshot = histogram.snapshot()
    expect(snapshot.count).toBe(1000)
    expect(snapshot.counts.length).toBe(snapshot.boundsUs.length)
    expect(LatencyHistogram.percentileUs(snapshot, 0.5)).toBe(512)
    expect(LatencyHistogram.percentileUs(snapshot, 1)).toBe(1000)
    histogram.observe(1e12)
    expect(histogram.snapshot().counts.at(-1)).toBe(1)
  })
})

describe('SlotQueue', () => {
  it('hands slots to waiters in FIFO order', async () => {
    const queue = new SlotQueue(2)
    expect(queue.tryAcquire()).toBe(true)
    expect(queue.tryAcquire()).toBe(true)
    const order: number[] = []
    const waiters = [1, 2, 3].map((n) => queue.acquire().then(() => order.push(n)))
    expect(queue.waiting).toBe(3)
    queue.release()
    queue.release()
    queue.release()
    await Promise.all(waiters)
    expect(order).toEqual([1, 2, 3])
    expect(queue.inUse).toBe(2)
  })
})
