// Unit tests at DAOS's own sizes (sched_test_3's re-inits, sched_test_6's 128 dependencies) and
// the input checks of the task API.
import { DerError, VirtualRuntime, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Scheduler, type Task, type TaskTraceRecord, progress } from '../src/index.ts'

const newScheduler = (trace?: (record: TaskTraceRecord) => void): Scheduler =>
  new Scheduler({ runtime: new VirtualRuntime({ seed: 7 }), ...(trace === undefined ? {} : { trace }) })

function derName(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (isDerError(error)) return error.name
    throw error
  }
  return undefined
}

describe('Scheduler at DAOS test sizes', () => {
  it('re-initializes a task 30,000 times from its completion callback (sched_test_3)', () => {
    const sched = newScheduler()
    const reinits = 30_000
    let counter = 0
    const task = sched.createTask((self) => {
      counter++
      self.registerCompCb((t) => {
        if (counter < reinits) t.reinit()
      })
      self.complete(0)
    })
    task.schedule()
    expect(sched.progress()).toBe(false)
    expect(counter).toBe(reinits)
    expect(task.completions).toBe(1)
    expect(sched.checkComplete()).toBe(true)
  })

  it('runs N -> 1 and 1 -> N with 128 dependencies (sched_test_6)', () => {
    const sched = newScheduler()
    const counter = { value: 0 }
    const checks: number[] = []
    const main = sched.createTask((t) => void checks.push(t.priv.value), counter)
    const incs = Array.from({ length: 128 }, () => sched.createTask((t) => void t.priv.value++, counter))
    for (const inc of incs) inc.schedule()
    main.registerDeps(...incs)
    main.schedule()
    sched.progress()
    expect(checks).toEqual([])
    for (const inc of incs) inc.complete(0)
    sched.progress()
    expect(checks).toEqual([128])
    main.complete(0)
    expect(sched.checkComplete()).toBe(true)

    counter.value = 0
    const root = sched.createTask((t) => void t.priv.value++, counter)
    const leaves = Array.from({ length: 128 }, () => {
      const leaf = sched.createTask((t) => void checks.push(t.priv.value), counter)
      leaf.registerDeps(root)
      leaf.schedule()
      return leaf
    })
    root.schedule()
    sched.progress()
    root.complete(0)
    sched.progress()
    for (const leaf of leaves) leaf.complete(0)
    expect(checks.slice(1)).toEqual(new Array(128).fill(1))
    expect(sched.checkComplete()).toBe(true)
  })

  it('runs a 100,000-task chain in one progress call without deep recursion', () => {
    const sched = newScheduler()
    let previous: Task<undefined> | undefined
    let ran = 0
    for (let i = 0; i < 100_000; i++) {
      const task = sched.createTask((t) => {
        ran++
        t.complete(0)
      })
      if (previous !== undefined) task.registerDeps(previous)
      task.schedule()
      previous = task
    }
    expect(sched.progress()).toBe(false)
    expect(ran).toBe(100_000)
  })

  it('runs sched_test_9\'s 10,000 parent tasks, each with a two-task child chain', () => {
    const sched = newScheduler()
    let parentsDone = 0
    for (let i = 0; i < 10_000; i++) {
      const parent = sched.createTask((self) => {
        const child1 = sched.createTask((t) => t.complete(0))
        const child2 = sched.createTask(() => {
          throw new Error('child2 completes in its prep callback; its body never runs')
        })
        child2.registerPrepCb((t) => void t.complete(0))
        child2.registerDeps(child1)
        self.registerDeps(child2)
        child1.schedule()
        child2.schedule()
      })
      parent.registerCompCb((t) => void t.complete(0)) // completing again from a callback is ignored
      parent.registerCompCb(() => void parentsDone++)
      parent.schedule(true)
    }
    expect(sched.progress()).toBe(false)
    expect(parentsDone).toBe(10_000)
    expect(sched.result).toBe(0)
  })

  it('completes a 10,000-child parent (dc_array_io) after its last child', () => {
    const sched = newScheduler()
    let children = 0
    const parent = sched.createTask((self) => {
      for (let i = 0; i < 10_000; i++) {
        const child = sched.createTask((t) => {
          children++
          t.complete(0)
        })
        self.registerDeps(child)
        child.schedule(true)
      }
    })
    parent.schedule(true)
    expect(parent.isCompleted).toBe(true)
    expect(children).toBe(10_000)
    expect(sched.checkComplete()).toBe(true)
  })
})

describe('Task API input checks', () => {
  it('refuses bad completions, delays and callbacks with DER_INVAL and changes nothing', () => {
    const sched = newScheduler()
    const task = sched.createTask(undefined)
    task.schedule()
    expect(derName(() => task.complete(1.5))).toBe('DER_INVAL')
    expect(derName(() => task.complete(Number.NaN))).toBe('DER_INVAL')
    expect(derName(() => task.complete('x' as unknown as number))).toBe('DER_INVAL')
    expect(task.state).toBe('running')
    const other = sched.createTask((t) => t.complete(0))
    expect(derName(() => other.scheduleWithDelay(-1))).toBe('DER_INVAL')
    expect(derName(() => other.scheduleWithDelay(Number.POSITIVE_INFINITY))).toBe('DER_INVAL')
    expect(derName(() => other.registerCompCb(42 as unknown as () => void))).toBe('DER_INVAL')
    expect(derName(() => other.registerDeps({} as Task<unknown>))).toBe('DER_INVAL')
    expect(derName(() => sched.createTask('body' as unknown as () => void))).toBe('DER_INVAL')
    expect(other.state).toBe('created')
    expect(other.pendingDependencies).toBe(0)
  })

  it('refuses a scheduler without a runtime', () => {
    expect(derName(() => new Scheduler({} as never))).toBe('DER_INVAL')
  })

  it('keeps the DerError given to complete() and builds one for bare codes', () => {
    const sched = newScheduler()
    const a = sched.createTask(undefined)
    const b = sched.createTask(undefined)
    const c = sched.createTask(undefined)
    const error = new DerError('DER_NOSPACE', 'pool full')
    a.complete(error)
    b.complete(-1005)
    c.complete(-1)
    expect(a.error).toBe(error)
    expect(b.error?.name).toBe('DER_NONEXIST')
    expect(c.error?.name).toBe('DER_UNKNOWN')
    expect(c.error?.details).toEqual({ code: -1 })
  })

  it('turns a thrown non-DerError into DER_MISC with the original as cause', () => {
    const sched = newScheduler()
    const boom = new TypeError('boom')
    const task = sched.createTask(() => {
      throw boom
    })
    task.schedule(true)
    expect(task.error?.name).toBe('DER_MISC')
    expect(task.error?.cause).toBe(boom)
  })

  it('records the first failure as the scheduler result and runs scheduler callbacks last-first', () => {
    const order: string[] = []
    const sched = newScheduler()
    sched.registerCompCb(() => void order.push('first'))
    sched.registerCompCb((rc) => {
      order.push(`second rc=${rc}`)
    })
    sched.createTask((t) => t.complete(-2001)).schedule(true)
    sched.createTask((t) => t.complete(-1005)).schedule(true)
    sched.complete()
    expect(order).toEqual(['second rc=-2001', 'first'])
    expect(sched.result).toBe(-2001)
    expect(derName(() => sched.registerCompCb(() => 0))).toBe('DER_SHUTDOWN')
  })

  it('traces every step of a task in order', () => {
    const kinds: string[] = []
    const sched = newScheduler((r) => kinds.push(`${r.kind}:${r.task.name}`))
    const task = sched.createTask((t) => t.complete(0), undefined, 't')
    task.schedule()
    sched.progress()
    expect(kinds).toEqual(['schedule:t', 'ready:t', 'run:t', 'complete:t', 'done:t'])
  })

  it('refuses negative and NaN progress timeouts', async () => {
    const sched = newScheduler()
    await expect(progress(sched, -1)).rejects.toMatchObject({ name: 'DER_INVAL' })
    await expect(progress(sched, Number.NaN)).rejects.toMatchObject({ name: 'DER_INVAL' })
  })
})
