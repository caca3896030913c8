import { describe, expect, it } from 'vitest'
import { createRealRuntime, drainMicrotasks } from '../src/index.ts'

// The real runtime is the only module allowed to touch the platform's timers. These tests wait
// for the event loop, not for wall-clock time: zero delays must not cost a 1 ms timer.
describe('real runtime', () => {
  it('runs zero-delay callbacks on the next event-loop turn, in scheduling order', async () => {
    const { timers } = createRealRuntime({ seed: 1 })
    const order: number[] = []
    timers.schedule(0, () => order.push(1))
    timers.schedule(0, () => order.push(2))
    expect(order).toEqual([])
    await drainMicrotasks()
    expect(order).toEqual([1, 2])
  })

  it('cancels a zero-delay callback before it runs', async () => {
    const { timers } = createRealRuntime({ seed: 1 })
    let ran = false
    const handle = timers.schedule(0, () => {
      ran = true
    })
    timers.cancel(handle)
    await drainMicrotasks()
    await drainMicrotasks()
    expect(ran).toBe(false)
  })

  it('still honours positive delays through sleep', async () => {
    const { timers, clock } = createRealRuntime({ seed: 1 })
    const start = clock.monotonicMs()
    await timers.sleep(2)
    expect(clock.monotonicMs() - start).toBeGreaterThanOrEqual(1)
  })
})
