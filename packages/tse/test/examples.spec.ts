// The two examples of the package documentation, run on the virtual runtime.
import { VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { EventQueue, Scheduler, TseEvent } from '../src/index.ts'

describe('documentation examples', () => {
  it('splits an array write into child tasks and completes the parent after them', () => {
    const sched = new Scheduler({ runtime: new VirtualRuntime({ seed: 1 }) })
    const results: number[] = []
    const write = sched.createTask((parent) => {
      for (const dkey of [1, 2, 3]) {
        const io = sched.createTask((t) => t.complete(0), { dkey })
        parent.registerDeps(io)
        io.schedule(true)
      }
    })
    write.registerCompCb((t) => void results.push(t.result))
    write.schedule()
    expect(sched.progress()).toBe(false)
    expect(results).toEqual([0])
  })

  it('polls an event queue for a task-bound event', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const eq = new EventQueue({ runtime })
    const ev = new TseEvent('fetch').init({ eq })
    const task = ev.createTask((t) => void runtime.timers.schedule(5, () => t.complete(0)))
    ev.launchTask(task)
    const polled = eq.poll(1, 16, 1000)
    await runtime.advance(5)
    const [done] = await polled
    expect(runtime.nowMs).toBe(5)
    expect([done?.name, done?.result, done?.state]).toEqual(['fetch', 0, 'ready'])
    eq.destroy()
    expect(eq.destroyed).toBe(true)
  })
})
