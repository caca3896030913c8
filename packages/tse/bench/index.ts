// Tasks created, scheduled and completed per second, for chains and wide fan-outs, against plain
// promises doing the same work in the same run (chained awaits, Promise.all). The ratio is TSE
// over promises: 1 means as fast, 0.5 means twice the cost.
import { BenchReport, measureAsync, measureSync } from '@x/bench'
import { createRealRuntime } from '@x/common'
import { Scheduler, type Task, runTask } from '../src/index.ts'

const runtime = createRealRuntime()
const n = 1000
const rounds = 9
const roundMs = 200
let sink = 0

/** The unit of work every variant does once per task. */
function work(i: number): number {
  sink = (sink + i) | 0
  return sink
}

// eslint-disable-next-line @typescript-eslint/require-await -- the reference: an async function that finishes at once, as a task body does
async function asyncWork(i: number): Promise<number> {
  return work(i)
}

// ---- TSE, driven by progress() as DAOS's client does ----

function tseChain(): void {
  const sched = new Scheduler({ runtime })
  let previous: Task<number> | undefined
  for (let i = 0; i < n; i++) {
    const task = sched.createTask<number>((t) => {
      work(t.priv)
      t.complete(0)
    }, i)
    if (previous !== undefined) task.registerDeps(previous)
    task.schedule()
    previous = task
  }
  if (sched.progress()) throw new Error('chain left work behind')
}

function tseFanOut(): void {
  const sched = new Scheduler({ runtime })
  // A parent splits the work into n children and completes after them (dc_array_io's shape).
  const parent = sched.createTask(
    (self) => {
      const children: Task<number>[] = []
      for (let i = 0; i < n; i++) {
        const child = sched.createTask<number>((t) => {
          work(t.priv)
          t.complete(0)
        }, i)
        self.registerDeps(child)
        children.push(child)
      }
      for (const child of children) child.schedule()
    },
  )
  parent.schedule()
  if (sched.progress() || !parent.isCompleted) throw new Error('fan-out left work behind')
}

// ---- The promise facade on an auto-progress scheduler ----

const autoSched = new Scheduler({ runtime, autoProgress: true })

async function facadeChain(): Promise<void> {
  for (let i = 0; i < n; i++) await runTask(autoSched, () => work(i))
}

async function facadeFanOut(): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => runTask(autoSched, () => work(i))))
}

// ---- Plain promises ----

async function promiseChain(): Promise<void> {
  for (let i = 0; i < n; i++) await asyncWork(i)
}

async function promiseFanOut(): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => asyncWork(i)))
}

const options = { minDurationMs: roundMs, operationsPerCall: n }
const report = new BenchReport('tse')
console.log(`tasks per call: ${n}; each pair measured back to back in ${rounds} rounds of ${roundMs} ms, the median-ratio round kept`)

interface Variant {
  readonly fn: () => unknown
  readonly async: boolean
}

async function rate(variant: Variant): Promise<number> {
  return variant.async
    ? (await measureAsync(variant.fn as () => Promise<unknown>, options)).operationsPerSecond
    : measureSync(variant.fn, options).operationsPerSecond
}

/**
 * The machine is shared and its load moves: each round measures the pair back to back (in
 * alternating order), and the round with the median ratio is reported, values and all.
 */
async function compare(name: string, ours: Variant, reference: string, theirs: Variant): Promise<void> {
  const samples: { value: number; referenceValue: number; ratio: number }[] = []
  for (let round = 0; round < rounds; round++) {
    let value: number
    let referenceValue: number
    if (round % 2 === 0) {
      referenceValue = await rate(theirs)
      value = await rate(ours)
    } else {
      value = await rate(ours)
      referenceValue = await rate(theirs)
    }
    samples.push({ value, referenceValue, ratio: value / referenceValue })
  }
  samples.sort((a, b) => a.ratio - b.ratio)
  const median = samples[Math.floor(samples.length / 2)] as (typeof samples)[number]
  console.log(`  ${name}: ratios ${samples.map((s) => s.ratio.toFixed(2)).join(' ')}`)
  report.add({ name, unit: 'tasks/s', value: median.value, reference, referenceValue: median.referenceValue, higherIsBetter: true })
}

await compare(`chain of ${n} tasks (progress)`, { fn: tseChain, async: false }, `chained awaits of ${n} async functions`, { fn: promiseChain, async: true })
await compare(`fan-out of ${n} child tasks (progress)`, { fn: tseFanOut, async: false }, `Promise.all of ${n} async functions`, { fn: promiseFanOut, async: true })
await compare(`chain of ${n} runTask awaits (promise facade)`, { fn: facadeChain, async: true }, `chained awaits of ${n} async functions`, { fn: promiseChain, async: true })
await compare(`Promise.all of ${n} runTask (promise facade)`, { fn: facadeFanOut, async: true }, `Promise.all of ${n} async functions`, { fn: promiseFanOut, async: true })
report.write()
if (sink === 42) console.log('(sink)')
