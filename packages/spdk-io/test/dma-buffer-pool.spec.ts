import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { DmaBufferPool } from '../src/index.ts'

describe('DmaBufferPool', () => {
  it('hands out distinct fixed-size buffers at aligned offsets of one page-aligned memory', () => {
    const pool = new DmaBufferPool({ bufferSizeBytes: 5000, bufferCount: 4, alignmentBytes: 4096 })
    const buffers = [pool.tryAcquire(), pool.tryAcquire(), pool.tryAcquire(), pool.tryAcquire()]
    expect(pool.tryAcquire()).toBeUndefined()
    const offsets = buffers.map((b) => b?.byteOffset ?? -1)
    expect(new Set(offsets).size).toBe(4)
    for (const buffer of buffers) {
      expect(buffer?.length).toBe(5000)
      expect((buffer?.byteOffset ?? 1) % 4096).toBe(0)
    }
    expect(pool.available).toBe(0)
  })

  it('serves waiters in FIFO order and refuses foreign or twice-returned buffers', async () => {
    const pool = new DmaBufferPool({ bufferSizeBytes: 512, bufferCount: 1 })
    const first = pool.tryAcquire()
    if (first === undefined) throw new Error('pool empty')
    const order: number[] = []
    const waiters = [1, 2, 3].map((n) =>
      pool.acquire().then((buffer) => {
        order.push(n)
        return buffer
      }),
    )
    expect(pool.waiting).toBe(3)
    // A newcomer does not overtake the waiters.
    expect(pool.tryAcquire()).toBeUndefined()
    pool.release(first)
    const b1 = await waiters[0]
    expect(b1).toBe(first)
    pool.release(b1 as Uint8Array)
    pool.release((await waiters[1]) as Uint8Array)
    const b3 = await waiters[2]
    expect(order).toEqual([1, 2, 3])
    expect(() => pool.release(new Uint8Array(512))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    pool.release(b3 as Uint8Array)
    let error: unknown
    try {
      pool.release(b3 as Uint8Array)
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_ALREADY')).toBe(true)
  })

  it('supports abort while waiting and rejects waiters on close', async () => {
    const pool = new DmaBufferPool({ bufferSizeBytes: 512, bufferCount: 1 })
    pool.tryAcquire()
    const controller = new AbortController()
    const aborted = pool.acquire(controller.signal)
    const closedWaiter = pool.acquire()
    controller.abort(new Error('stop'))
    await expect(aborted).rejects.toThrow('stop')
    expect(pool.waiting).toBe(1)
    pool.close()
    await expect(closedWaiter).rejects.toMatchObject({ name: 'DER_CANCELED' })
    expect(() => pool.tryAcquire()).toThrow(expect.objectContaining({ name: 'DER_NO_HDL' }))
  })

  it('refuses bad options with DER_INVAL', () => {
    for (const options of [
      { bufferSizeBytes: 0, bufferCount: 1 },
      { bufferSizeBytes: 512, bufferCount: 0 },
      { bufferSizeBytes: 512, bufferCount: 1, alignmentBytes: 3000 },
      { bufferSizeBytes: 512, bufferCount: 1, alignmentBytes: 1 << 20 },
    ]) {
      expect(() => new DmaBufferPool(options), JSON.stringify(options)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    }
  })
})
