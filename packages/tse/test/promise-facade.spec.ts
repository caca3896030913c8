// The promise facade: runTask, whenCompleted, waitTask and waitEvent on virtual time.
import { DerError, VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { EventQueue, Scheduler, TseEvent, runTask, waitEvent, waitTask, whenCompleted } from '../src/index.ts'

describe('promise facade', () => {
  it('runs sync and async functions as tasks and resolves to their values', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const sched = new Scheduler({ runtime })
    const sync = runTask(sched, () => 41 + 1)
    const later = runTask(sched, async () => {
      await runtime.timers.sleep(50)
      return 'slept'
    })
    await expect(sync).resolves.toBe(42)
    let value: string | undefined
    void later.then((v) => (value = v))
    await runtime.advance(49)
    expect(value).toBeUndefined()
    await runtime.advance(1)
    expect(value).toBe('slept')
    expect(sched.checkComplete()).toBe(true)
  })

  it('orders tasks by their dependencies and fails dependents of a failed task without running them', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const sched = new Scheduler({ runtime, autoProgress: true })
    const order: string[] = []
    const first = sched.createTask((t) => {
      order.push('first')
      runtime.timers.schedule(10, () => t.complete(new DerError('DER_IO', 'disk')))
    })
    first.schedule()
    let ran = false
    const second = runTask(
      sched,
      () => {
        ran = true
      },
      { deps: [first] },
    )
    second.catch(() => undefined)
    await runtime.advance(10)
    await expect(second).rejects.toMatchObject({ name: 'DER_IO', message: 'disk' })
    expect(ran).toBe(false)
    expect(order).toEqual(['first'])
  })

  it('rejects with the thrown error, and with DER_CANCELED when aborted', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const sched = new Scheduler({ runtime })
    await expect(runTask(sched, () => Promise.reject(new DerError('DER_NOSPACE')))).rejects.toMatchObject({ name: 'DER_NOSPACE' })
    await expect(runTask(sched, () => {
      throw new Error('plain')
    })).rejects.toMatchObject({ name: 'DER_MISC', message: 'plain' })
    const controller = new AbortController()
    const slow = runTask(sched, () => runtime.timers.sleep(1000), { signal: controller.signal })
    slow.catch(() => undefined)
    controller.abort()
    await expect(slow).rejects.toMatchObject({ name: 'DER_CANCELED' })
    const already = new AbortController()
    already.abort()
    let ran = false
    await expect(runTask(sched, () => (ran = true), { signal: already.signal })).rejects.toMatchObject({ name: 'DER_CANCELED' })
    expect(ran).toBe(false)
  })

  it('waits for a task with a timeout on runtime time', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const sched = new Scheduler({ runtime })
    const task = sched.createTask(undefined)
    await expect(waitTask(task)).rejects.toMatchObject({ name: 'DER_NO_PERM' })
    task.schedule()
    const waiting = waitTask(task, 100)
    waiting.catch(() => undefined)
    await runtime.advance(100)
    await expect(waiting).rejects.toMatchObject({ name: 'DER_TIMEDOUT' })
    const again = waitTask(task)
    runtime.timers.schedule(5, () => task.complete(0))
    await runtime.advance(5)
    await expect(again).resolves.toBeUndefined()
    await expect(whenCompleted(task)).resolves.toBeUndefined()
  })

  it('waits for an event, as the blocking API does on its private event', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const eq = new EventQueue({ runtime })
    const event = new TseEvent('op').init({ eq })
    const task = event.createTask((t) => void runtime.timers.schedule(20, () => t.complete(-1005)))
    event.launchTask(task)
    const waiting = waitEvent(event)
    waiting.catch(() => undefined)
    await runtime.advance(20)
    await expect(waiting).rejects.toMatchObject({ name: 'DER_NONEXIST' })
    expect(event.state).toBe('ready')
    expect(eq.completedCount).toBe(0)
    const standalone = new TseEvent('solo').init({ scheduler: new Scheduler({ runtime }) })
    standalone.launch()
    const timedOut = waitEvent(standalone, 10)
    timedOut.catch(() => undefined)
    await runtime.advance(10)
    await expect(timedOut).rejects.toMatchObject({ name: 'DER_TIMEDOUT' })
  })

  it('runs a fan-out of 1,000 promises on an auto-progress scheduler', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    const sched = new Scheduler({ runtime, autoProgress: true })
    const values = await Promise.all(Array.from({ length: 1000 }, (_, i) => runTask(sched, () => i * 2)))
    expect(values.reduce((a, b) => a + b, 0)).toBe(999 * 1000)
    expect(sched.checkComplete()).toBe(true)
  })
})
