// Property: a random DAG of tasks with random failures, timings and scheduling modes completes
// every task exactly once, in an order that respects every dependency, with the results the
// propagation rules predict.
import { VirtualRuntime } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Scheduler, type Task, progress } from '../src/index.ts'

interface NodeSpec {
  /** Indexes (all lower) of the tasks this one depends on. */
  readonly deps: readonly number[]
  readonly fails: boolean
  /** 0: completes in its body; > 0: completes from a runtime timer after that many ms. */
  readonly replyMs: number
  readonly instant: boolean
  readonly delayMs: number
  readonly noPropagate: boolean
  /** Register the dependencies after scheduling (the task is then ready or sleeping, not running). */
  readonly lateDeps: boolean
  /** Attempts that fail with DER_TIMEDOUT before one succeeds; a completion callback re-inits the task. */
  readonly retries: number
}

const nodeSpec = (index: number): fc.Arbitrary<NodeSpec> =>
  fc.record({
    deps: index === 0 ? fc.constant([]) : fc.uniqueArray(fc.nat(index - 1), { maxLength: Math.min(index, 4) }),
    fails: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.15),
    replyMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
    instant: fc.boolean(),
    delayMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) }),
    noPropagate: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.15),
    lateDeps: fc.boolean(),
    retries: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
  })

const dagSpec = fc
  .integer({ min: 1, max: 40 })
  .chain((n) => fc.tuple(fc.tuple(...Array.from({ length: n }, (_, i) => nodeSpec(i))), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }), fc.nat()))

describe('random task DAGs', () => {
  it('complete every task exactly once, after all of its dependencies, with the predicted results', async () => {
    await fc.assert(
      fc.asyncProperty(dagSpec, async ([nodes, order, seed]) => {
        const runtime = new VirtualRuntime({ seed })
        const doneOrder: number[] = []
        const sched = new Scheduler({
          runtime,
          trace: (record) => {
            if (record.kind === 'done') doneOrder.push(record.task.priv as number)
          },
        })
        const tasks: Task<number>[] = []
        const bodyRuns = new Array<number>(nodes.length).fill(0)
        const callbackRuns = new Array<number>(nodes.length).fill(0)
        const violations: string[] = []
        nodes.forEach((node, index) => {
          const task = sched.createTask<number>((self) => {
            bodyRuns[index]! += 1
            for (const dep of node.deps) {
              if (!tasks[dep]!.isCompleted) violations.push(`task ${index} ran before its dependency ${dep} completed`)
            }
            const attempt = bodyRuns[index]!
            let rc = node.fails ? -1003 : 0
            if (attempt <= node.retries) {
              rc = -1011 // DER_TIMEDOUT: retried by the callback below, as DAOS retries RPCs
              self.registerCompCb((t) => t.reinit(attempt % 2 === 0 ? 0 : 3))
            }
            if (node.replyMs === 0) self.complete(rc)
            else runtime.timers.schedule(node.replyMs, () => self.complete(rc))
          }, index)
          task.registerCompCb(() => void (callbackRuns[index]! += 1))
          if (node.noPropagate) task.disablePropagate()
          tasks.push(task)
        })
        const late = (node: NodeSpec): boolean => node.lateDeps && !node.instant
        nodes.forEach((node, index) => {
          if (node.deps.length > 0 && !late(node)) tasks[index]!.registerDeps(...node.deps.map((d) => tasks[d]!))
        })
        for (const index of order) {
          const node = nodes[index]!
          if (node.delayMs > 0) tasks[index]!.scheduleWithDelay(node.delayMs)
          else tasks[index]!.schedule(node.instant)
        }
        nodes.forEach((node, index) => {
          if (node.deps.length > 0 && late(node)) tasks[index]!.registerDeps(...node.deps.map((d) => tasks[d]!))
        })
        let busy: boolean | undefined
        void progress(sched, Number.POSITIVE_INFINITY).then((b) => (busy = b))
        await runtime.runUntil(() => busy !== undefined, 1_000_000)

        // The predicted outcome: a task fails if it fails itself (when it runs) or inherits a failure.
        const failed: boolean[] = []
        const ran: boolean[] = []
        nodes.forEach((node, index) => {
          const inherited = !node.noPropagate && node.deps.some((d) => failed[d])
          ran[index] = !inherited
          failed[index] = inherited || node.fails
        })
        const context = `seed=${seed} nodes=${JSON.stringify(nodes)} order=${JSON.stringify(order)}`
        expect(busy, context).toBe(false)
        expect(violations, context).toEqual([])
        expect(sched.checkComplete(), context).toBe(true)
        expect(runtime.pendingTimers, `${context}: progress left timers behind`).toBe(0)
        expect([...doneOrder].sort((a, b) => a - b), context).toEqual([...nodes.keys()])
        nodes.forEach((node, index) => {
          const task = tasks[index]!
          expect(task.completions, `${context} task ${index}`).toBe(1)
          expect(callbackRuns[index], `${context} task ${index}`).toBe(1)
          expect(bodyRuns[index], `${context} task ${index}`).toBe(ran[index] ? 1 + node.retries : 0)
          expect(task.result !== 0, `${context} task ${index}`).toBe(failed[index])
          for (const dep of node.deps) {
            expect(doneOrder.indexOf(dep) < doneOrder.indexOf(index), `${context}: ${dep} before ${index}`).toBe(true)
          }
        })
      }),
      { numRuns: Number(process.env.X_RUNS ?? 200), ...(process.env.X_SEED === undefined ? {} : { seed: Number(process.env.X_SEED) }) },
    )
  })

  it('complete every task exactly once when the scheduler is cancelled midway', async () => {
    await fc.assert(
      fc.asyncProperty(dagSpec, fc.integer({ min: 0, max: 25 }), async ([nodes, order, seed], cancelAtMs) => {
        const runtime = new VirtualRuntime({ seed })
        const done = new Array<number>(nodes.length).fill(0)
        const sched = new Scheduler({
          runtime,
          trace: (record) => {
            if (record.kind === 'done') done[record.task.priv as number]! += 1
          },
        })
        const tasks: Task<number>[] = []
        const violations: string[] = []
        nodes.forEach((node, index) => {
          const task = sched.createTask<number>((self) => {
            for (const dep of node.deps) {
              if (!tasks[dep]!.isCompleted) violations.push(`task ${index} ran before its dependency ${dep} completed`)
            }
            const rc = node.fails ? -1003 : 0
            if (node.replyMs === 0) self.complete(rc)
            else runtime.timers.schedule(node.replyMs, () => self.complete(rc))
          }, index)
          tasks.push(task)
        })
        nodes.forEach((node, index) => {
          if (node.deps.length > 0) tasks[index]!.registerDeps(...node.deps.map((d) => tasks[d]!))
        })
        for (const index of order) {
          const node = nodes[index]!
          if (node.delayMs > 0) tasks[index]!.scheduleWithDelay(node.delayMs)
          else tasks[index]!.schedule(node.instant)
        }
        const completedBefore = new Map<number, number>()
        runtime.timers.schedule(cancelAtMs, () => {
          tasks.forEach((task, index) => {
            if (task.isCompleted) completedBefore.set(index, task.result)
          })
          sched.complete(0, true)
        })
        void progress(sched, Number.POSITIVE_INFINITY)
        await runtime.runUntil(() => sched.state === 'finished', 1_000_000)
        // Replies that arrive after the cancel are ignored: the tasks completed already.
        await runtime.runUntilIdle()
        const context = `seed=${seed} cancelAtMs=${cancelAtMs} nodes=${JSON.stringify(nodes)} order=${JSON.stringify(order)}`
        expect(sched.state, context).toBe('finished')
        expect(violations, context).toEqual([])
        expect(done, context).toEqual(new Array(nodes.length).fill(1))
        tasks.forEach((task, index) => {
          expect(task.completions, `${context} task ${index}`).toBe(1)
          const before = completedBefore.get(index)
          if (before !== undefined) expect(task.result, `${context} task ${index}`).toBe(before)
          else expect(task.result, `${context} task ${index}`).not.toBe(0)
        })
      }),
      { numRuns: Number(process.env.X_RUNS ?? 150), ...(process.env.X_SEED === undefined ? {} : { seed: Number(process.env.X_SEED) }) },
    )
  })
})
