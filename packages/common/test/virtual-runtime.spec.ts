import { describe, expect, it } from 'vitest'
import { VirtualRuntime } from '../src/index.ts'

describe('VirtualRuntime', () => {
  it('moves time only when told to', () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    let fired = false
    runtime.timers.schedule(10, () => (fired = true))
    expect(runtime.nowMs).toBe(0)
    runtime.advanceSync(9)
    expect(fired).toBe(false)
    runtime.advanceSync(1)
    expect(fired).toBe(true)
    expect(runtime.nowMs).toBe(10)
  })

  it('fires timers due at the same instant in scheduling order, and earlier ones first', () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const order: string[] = []
    runtime.timers.schedule(5, () => order.push('b'))
    runtime.timers.schedule(3, () => order.push('a'))
    runtime.timers.schedule(5, () => order.push('c'))
    runtime.timers.schedule(5, () => {
      order.push('d')
      runtime.timers.schedule(0, () => order.push('f'))
    })
    runtime.timers.schedule(5, () => order.push('e'))
    runtime.advanceSync(100)
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
  })

  it('gives the same trace for the same seed when timers are drawn at random', () => {
    const trace = (seed: number): string => {
      const runtime = new VirtualRuntime({ seed })
      const events: string[] = []
      for (let i = 0; i < 200; i++) {
        runtime.timers.schedule(runtime.random.int(50), () => events.push(`${i}@${runtime.nowMs}`))
      }
      runtime.advanceSync(100)
      return events.join(' ')
    }
    expect(trace(11)).toBe(trace(11))
    expect(trace(11)).not.toBe(trace(12))
  })

  it('cancels timers and repeats periodic ones', () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const ticks: number[] = []
    const repeat = runtime.timers.repeat(10, () => ticks.push(runtime.nowMs))
    const once = runtime.timers.schedule(15, () => ticks.push(-1))
    runtime.timers.cancel(once)
    runtime.timers.cancel(once)
    runtime.advanceSync(35)
    runtime.timers.cancel(repeat)
    runtime.advanceSync(100)
    expect(ticks).toEqual([10, 20, 30])
    expect(runtime.pendingTimers).toBe(0)
  })

  it('runs promise continuations between timers in advance()', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const stamps: number[] = []
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await runtime.timers.sleep(10)
        stamps.push(runtime.nowMs)
      }
    })()
    await runtime.advance(30)
    await chain
    expect(stamps).toEqual([10, 20, 30])
  })

  it('runs until idle and until a predicate holds', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    let done = false
    void runtime.timers.sleep(500).then(() => (done = true))
    runtime.timers.repeat(100, () => undefined)
    await runtime.runUntilIdle()
    expect(done).toBe(true)
    expect(runtime.nowMs).toBe(500)
    let count = 0
    runtime.timers.repeat(7, () => count++)
    expect(await runtime.runUntil(() => count >= 3, 1000)).toBe(true)
    expect(await runtime.runUntil(() => false, 50)).toBe(false)
    expect(runtime.nowMs).toBe(500 + 21 + 50)
  })

  it('settles a promise by driving virtual time, passing values and rejections through', async () => {
    const runtime = new VirtualRuntime({ seed: 5 })
    expect(await runtime.settle(runtime.timers.sleep(250).then(() => runtime.nowMs), 1000)).toBe(250)
    const failing = runtime.timers.sleep(10).then(() => Promise.reject(new Error('boom')))
    await expect(runtime.settle(failing, 1000)).rejects.toThrow('boom')
    await expect(runtime.settle(new Promise(() => undefined), 100)).rejects.toThrow('seed 5: the promise did not settle within 100 ms of virtual time')
    expect(runtime.nowMs).toBe(360)
  })

  it('aborts a sleep through its signal', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const controller = new AbortController()
    const sleeping = runtime.timers.sleep(100, controller.signal)
    controller.abort(new Error('stop'))
    await expect(sleeping).rejects.toThrow('stop')
    expect(runtime.pendingTimers).toBe(0)
  })

  it('steps and drifts the wall clock without touching monotonic time', () => {
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 1_000_000 })
    runtime.advanceSync(1000)
    expect(runtime.clock.realtimeMs()).toBe(1_001_000)
    runtime.clock.stepRealtime(-5000)
    expect(runtime.clock.realtimeMs()).toBe(996_000)
    runtime.clock.setDriftPpm(1000)
    runtime.advanceSync(10_000)
    expect(runtime.clock.realtimeMs()).toBe(996_000 + 10_010)
    expect(runtime.clock.monotonicMs()).toBe(11_000)
  })

  it('refuses bad delays', () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    expect(() => runtime.timers.schedule(-1, () => undefined)).toThrow(RangeError)
    expect(() => runtime.timers.repeat(0, () => undefined)).toThrow(RangeError)
    expect(() => runtime.advanceSync(Number.NaN)).toThrow(RangeError)
  })
})
