// The interpreter behind the golden scripts in testdata/: commands build schedulers, tasks,
// events and queues by name, and everything that happens (trace records, callbacks, checks) is
// written to the case's output.
import { DerError, VirtualRuntime, isDerError, isDerName } from '@x/common'
import {
  EventQueue,
  type EventQueueQuery,
  Scheduler,
  type Task,
  type TaskTraceRecord,
  TseEvent,
  progress,
  runTask,
  waitEvent,
  waitTask,
} from '../../src/index.ts'

interface Command {
  readonly verb: string
  readonly args: readonly string[]
  readonly options: ReadonlyMap<string, string>
}

function parseCommand(line: string): Command {
  const [verb, ...rest] = line.trim().split(/\s+/)
  const args: string[] = []
  const options = new Map<string, string>()
  for (const token of rest) {
    const eq = token.indexOf('=')
    if (eq > 0) options.set(token.slice(0, eq), token.slice(eq + 1))
    else args.push(token)
  }
  return { verb: verb ?? '', args, options }
}

/** A result code written as a number or a DER name. */
function parseCode(text: string): number {
  if (isDerName(text)) return new DerError(text).code
  const value = Number(text)
  if (!Number.isInteger(value)) throw new Error(`bad result code ${text}`)
  return value
}

function codeName(code: number): string {
  if (code === 0) return '0'
  const error = DerError.fromCode(code)
  return error.name === 'DER_UNKNOWN' ? String(code) : error.name
}

export class Interpreter {
  readonly runtime = new VirtualRuntime({ seed: 1 })
  readonly #out: string[] = []
  readonly #schedulers = new Map<string, Scheduler>()
  readonly #tasks = new Map<string, Task<unknown>>()
  readonly #events = new Map<string, TseEvent>()
  readonly #queues = new Map<string, EventQueue>()
  readonly #counters = new Map<string, number>()
  readonly #callbackCount = new Map<string, number>()
  readonly #pending = new Map<string, { settled: boolean; result: string }>()

  /** Runs one command and returns what it printed. */
  async run(line: string): Promise<string> {
    this.#out.length = 0
    const command = parseCommand(line)
    try {
      await this.#dispatch(command)
    } catch (thrown) {
      if (!isDerError(thrown)) throw thrown
      this.#log(`error: ${thrown.name}`)
    }
    return this.#out.join('\n')
  }

  #log(line: string): void {
    this.#out.push(line)
  }

  #trace = (record: TaskTraceRecord): void => {
    if (record.kind === 'schedule') return
    const rc = record.kind === 'complete' || record.kind === 'done' || record.kind === 'cancel' ? ` rc=${codeName(record.result)}` : ''
    this.#log(`${record.kind} ${record.task.name}${rc}`)
  }

  #sched(name: string | undefined): Scheduler {
    const sched = this.#schedulers.get(name ?? 's')
    if (sched === undefined) throw new Error(`no scheduler ${name}`)
    return sched
  }

  #task(name: string | undefined): Task<unknown> {
    const task = this.#tasks.get(name ?? '')
    if (task === undefined) throw new Error(`no task ${name}`)
    return task
  }

  #event(name: string | undefined): TseEvent {
    const event = this.#events.get(name ?? '')
    if (event === undefined) throw new Error(`no event ${name}`)
    return event
  }

  #queue(name: string | undefined): EventQueue {
    const queue = this.#queues.get(name ?? '')
    if (queue === undefined) throw new Error(`no event queue ${name}`)
    return queue
  }

  #counter(name: string): number {
    return this.#counters.get(name) ?? 0
  }

  /** Runs a comma-separated list of steps for a task's body or callback; returns a callback's result. */
  #steps(spec: string, task: Task<unknown>): number | undefined {
    let ret: number | undefined
    for (const step of spec.split(',')) {
      const [op, arg = ''] = step.split(/:(.*)/s) as [string, string?]
      switch (op) {
        case 'hold':
        case 'none':
          break
        case 'complete':
          task.complete(arg === '' ? 0 : parseCode(arg))
          break
        case 'inc':
          this.#counters.set(arg, this.#counter(arg) + 1)
          break
        case 'check': {
          const [counter, want] = arg.split('=') as [string, string]
          const value = this.#counter(counter)
          this.#log(`check ${counter}=${value} ${value === Number(want) ? 'ok' : `MISMATCH (want ${want})`}`)
          break
        }
        case 'reinit':
          task.reinit(0)
          break
        case 'reinit-delay':
          task.reinit(Number(arg))
          break
        case 'reinit-until': {
          const [counter, limit] = arg.split('=') as [string, string]
          if (this.#counter(counter) < Number(limit)) task.reinit(0)
          break
        }
        case 'ret':
          ret = parseCode(arg)
          break
        case 'throw':
          throw new DerError(arg as 'DER_IO', 'thrown by the script')
        case 'clear':
          task.setResult(0)
          break
        case 'dep':
          task.registerDeps(this.#task(arg))
          break
        case 'comp-cb':
          // Registers a completion callback from inside a body; its steps are joined with '+'.
          task.registerCompCb(this.#callback(task, 'comp', arg.replaceAll('+', ',')))
          break
        case 'schedule':
          this.#task(arg).schedule(false)
          break
        case 'spawn':
        case 'spawn-instant':
        case 'spawn-hold':
        case 'spawn-fail': {
          const count = Number(arg)
          const children: Task<unknown>[] = []
          for (let i = 1; i <= count; i++) {
            const name = `${task.name}.${i}`
            const body = op === 'spawn-hold' ? 'hold' : op === 'spawn-fail' && i === count ? 'complete:DER_IO' : 'complete'
            const child = this.#createTask(task.scheduler, name, body)
            task.registerDeps(child)
            children.push(child)
          }
          for (const child of children) child.schedule(op === 'spawn-instant')
          break
        }
        default:
          throw new Error(`unknown step ${step}`)
      }
    }
    return ret
  }

  #createTask(sched: Scheduler, name: string, bodySpec: string, priv?: unknown): Task<unknown> {
    if (this.#tasks.has(name)) throw new Error(`task ${name} exists`)
    const body = bodySpec === 'none' ? undefined : (task: Task<unknown>) => void this.#steps(bodySpec, task)
    const task = sched.createTask(body, priv, name)
    this.#tasks.set(name, task)
    return task
  }

  #callback(task: Task<unknown>, kind: 'prep' | 'comp', spec: string): (t: Task<unknown>) => number | undefined {
    const key = `${task.name}/${kind}`
    const index = (this.#callbackCount.get(key) ?? 0) + 1
    this.#callbackCount.set(key, index)
    return (t) => {
      this.#log(`${kind} ${t.name}#${index} rc=${codeName(t.result)}`)
      return this.#steps(spec, t)
    }
  }

  /** Starts an async operation; `settle NAME` waits for it and prints its outcome. */
  #start(name: string, promise: Promise<string>): void {
    const entry = { settled: false, result: '' }
    this.#pending.set(name, entry)
    promise.then(
      (result) => {
        entry.settled = true
        entry.result = result
      },
      (error: unknown) => {
        entry.settled = true
        entry.result = isDerError(error) ? `error: ${error.name}` : `error: ${String(error)}`
      },
    )
  }

  async #dispatch(c: Command): Promise<void> {
    const opt = (key: string): string | undefined => c.options.get(key)
    const [a0, a1, a2] = c.args
    switch (c.verb) {
      // ---- schedulers and tasks ----
      case 'sched': {
        const name = a0 ?? 's'
        this.#schedulers.set(name, new Scheduler({ runtime: this.runtime, name, trace: this.#trace, autoProgress: c.args.includes('auto') }))
        break
      }
      case 'task': {
        const sched = this.#sched(opt('sched'))
        const count = Number(opt('count') ?? '1')
        const names = count === 1 ? [a0 as string] : Array.from({ length: count }, (_, i) => `${a0}${i + 1}`)
        for (const name of names) this.#createTask(sched, name, opt('body') ?? 'none')
        break
      }
      case 'deps':
        this.#task(a0).registerDeps(...c.args.slice(1).map((n) => this.#task(n)))
        break
      case 'prep':
      case 'comp': {
        const task = this.#task(a0)
        const callback = this.#callback(task, c.verb, opt('cb') ?? 'none')
        if (c.verb === 'prep') task.registerPrepCb(callback)
        else task.registerCompCb(callback)
        break
      }
      case 'no-propagate':
        this.#task(a0).disablePropagate()
        break
      case 'schedule': {
        const delay = opt('delay')
        for (const name of c.args.filter((n) => n !== 'instant')) {
          const task = this.#task(name)
          const rc = delay === undefined ? task.schedule(c.args.includes('instant')) : task.scheduleWithDelay(Number(delay))
          if (rc !== 0) this.#log(`schedule ${name} returned rc=${codeName(rc)}`)
        }
        break
      }
      case 'complete': {
        const task = this.#task(a0)
        const accepted = task.complete(a1 === undefined ? 0 : parseCode(a1))
        if (!accepted) this.#log(`complete ${a0}: ignored`)
        break
      }
      case 'reinit':
        this.#task(a0).reinit(Number(opt('delay') ?? '0'))
        break
      case 'reset': {
        const task = this.#task(a0)
        const spec = opt('body') ?? 'none'
        task.reset(spec === 'none' ? undefined : (t) => void this.#steps(spec, t), undefined)
        break
      }
      case 'set-result':
        this.#task(a0).setResult(parseCode(a1 ?? '0'))
        break
      case 'progress': {
        const busy = this.#sched(a0).progress()
        this.#log(`busy=${busy}`)
        break
      }
      case 'progress-async': {
        // progress(sched, timeoutMs), run on virtual time until it settles.
        const timeoutMs = opt('timeout') === 'inf' ? Number.POSITIVE_INFINITY : Number(opt('timeout') ?? '0')
        const start = this.runtime.nowMs
        let result: boolean | undefined
        void progress(this.#sched(a0), timeoutMs).then((busy) => (result = busy))
        await this.runtime.runUntil(() => result !== undefined, 1_000_000)
        this.#log(`busy=${result} after ${this.runtime.nowMs - start}ms`)
        break
      }
      case 'sched-complete': {
        const sched = this.#sched(a0)
        sched.complete(a1 === undefined || a1 === 'cancel' ? 0 : parseCode(a1), c.args.includes('cancel'))
        this.#log(`sched ${sched.name} ${sched.state} result=${codeName(sched.result)}`)
        break
      }
      case 'sched-cb': {
        const sched = this.#sched(a0)
        sched.registerCompCb((rc) => {
          this.#log(`sched-comp ${sched.name} rc=${codeName(rc)}`)
          return a1 === undefined ? 0 : parseCode(a1)
        })
        break
      }
      case 'check': {
        const sched = this.#sched(a0)
        this.#log(`complete=${sched.checkComplete()} outstanding=${sched.outstandingTasks} result=${codeName(sched.result)}`)
        break
      }
      case 'state':
        for (const name of c.args) {
          const task = this.#task(name)
          this.#log(`${name}: ${task.state} rc=${codeName(task.result)} deps=${task.pendingDependencies} completions=${task.completions}`)
        }
        break
      case 'counter':
        for (const name of c.args) this.#log(`${name}=${this.#counter(name)}`)
        break
      case 'later': {
        // later MS COMMAND...: runs COMMAND from a runtime timer (its output joins whatever runs then).
        const rest = c.args.slice(1).join(' ') + [...c.options].map(([k, v]) => ` ${k}=${v}`).join('')
        this.runtime.timers.schedule(Number(a0), () => {
          this.#log(`(at ${this.runtime.nowMs}ms) ${rest}`)
          this.#dispatch(parseCommand(rest)).catch((error: unknown) => this.#log(`error: ${isDerError(error) ? error.name : String(error)}`))
        })
        break
      }
      case 'advance':
        this.runtime.advanceSync(Number(a0))
        this.#log(`now=${this.runtime.nowMs}`)
        break
      // ---- promise facade ----
      case 'run-task': {
        // run-task NAME sched=S steps=... [deps=a+b]: runTask with a sync function.
        const sched = this.#sched(opt('sched'))
        const deps = (opt('deps') ?? '').split('+').filter((n) => n !== '').map((n) => this.#task(n))
        const spec = opt('steps') ?? 'none'
        this.#start(
          a0 as string,
          runTask(sched, (t) => (this.#steps(spec, t as Task<unknown>), `value of ${a0}`), { deps, name: a0 as string }),
        )
        break
      }
      case 'wait-task':
        this.#start(`wait:${a0}`, waitTask(this.#task(a0), opt('timeout') === undefined ? Number.POSITIVE_INFINITY : Number(opt('timeout'))).then(() => 'ok'))
        break
      case 'wait-event':
        this.#start(`wait:${a0}`, waitEvent(this.#event(a0), opt('timeout') === undefined ? Number.POSITIVE_INFINITY : Number(opt('timeout'))).then(() => 'ok'))
        break
      case 'settle': {
        // settle NAME [within=MS]: lets virtual time run until the operation settles.
        const entry = this.#pending.get(a0 as string)
        if (entry === undefined) throw new Error(`nothing pending under ${a0}`)
        await this.runtime.runUntil(() => entry.settled, Number(opt('within') ?? '0'))
        this.#log(entry.settled ? `${a0}: ${entry.result}` : `${a0}: pending`)
        if (entry.settled) this.#pending.delete(a0 as string)
        break
      }
      // ---- events and event queues ----
      case 'eq': {
        const queue = new EventQueue({ runtime: this.runtime, name: a0, trace: this.#trace })
        this.#queues.set(a0 as string, queue)
        this.#schedulers.set(a0 as string, queue.scheduler)
        break
      }
      case 'event': {
        const event = this.#events.get(a0 as string) ?? new TseEvent(a0)
        this.#events.set(a0 as string, event)
        const eq = opt('eq')
        const parent = opt('parent')
        const sched = opt('sched')
        if (eq === undefined && parent === undefined && sched === undefined) break // left in init
        event.init({
          ...(eq === undefined ? {} : { eq: this.#queue(eq) }),
          ...(parent === undefined ? {} : { parent: this.#event(parent) }),
          ...(sched === undefined ? {} : { scheduler: this.#sched(sched) }),
        })
        break
      }
      case 'launch':
        for (const name of c.args) this.#event(name).launch()
        break
      case 'barrier':
        this.#event(a0).parentBarrier()
        break
      case 'ev-complete': {
        const accepted = this.#event(a0).complete(a1 === undefined ? 0 : parseCode(a1))
        if (!accepted) this.#log(`ev-complete ${a0}: absorbed`)
        break
      }
      case 'abort':
        this.#event(a0).abort()
        break
      case 'fini':
        this.#event(a0).fini()
        break
      case 'test':
        this.#log(`${a0} ready=${this.#event(a0).testNow()}`)
        break
      case 'ev-cb': {
        const event = this.#event(a0)
        event.registerCompCb((ev, rc) => {
          this.#log(`ev-comp ${ev.name} rc=${codeName(rc)}`)
          return a1 === undefined ? 0 : parseCode(a1)
        })
        break
      }
      case 'ev-task': {
        // ev-task TASK event=E body=...: dc_task_create.
        const event = this.#event(opt('event'))
        const spec = opt('body') ?? 'none'
        const task = event.createTask(spec === 'none' ? undefined : (t) => void this.#steps(spec, t as Task<unknown>), undefined, a0)
        this.#tasks.set(a0 as string, task)
        break
      }
      case 'launch-task': {
        // launch-task EVENT TASK [deferred]: dc_task_schedule.
        const rc = this.#event(a0).launchTask(this.#task(a1), a2 !== 'deferred')
        if (rc !== 0) this.#log(`launch-task returned rc=${codeName(rc)}`)
        break
      }
      case 'ev-state':
        for (const name of c.args) {
          const event = this.#event(name)
          this.#log(`${name}: ${event.state} rc=${codeName(event.result)}`)
        }
        break
      case 'poll': {
        const queue = this.#queue(a0)
        const min = Number(opt('min') ?? '1')
        const max = Number(opt('max') ?? '16')
        const timeoutMs = opt('timeout') === 'inf' ? Number.POSITIVE_INFINITY : Number(opt('timeout') ?? '0')
        const start = this.runtime.nowMs
        let reaped: TseEvent[] | undefined
        let failure: unknown
        queue.poll(min, max, timeoutMs, { waitRunning: c.args.includes('wait-running') }).then(
          (events) => (reaped = events),
          (error: unknown) => (failure = error),
        )
        await this.runtime.runUntil(() => reaped !== undefined || failure !== undefined, 1_000_000)
        if (failure !== undefined) throw failure as Error
        const names = (reaped ?? []).map((e) => `${e.name}(rc=${codeName(e.result)})`)
        this.#log(`reaped ${names.length}${names.length > 0 ? `: ${names.join(' ')}` : ''} after ${this.runtime.nowMs - start}ms`)
        break
      }
      case 'query': {
        const events = this.#queue(a0).query((a1 ?? 'all') as EventQueueQuery)
        this.#log(`${events.length}${events.length > 0 ? `: ${events.map((e) => `${e.name}(${e.state})`).join(' ')}` : ''}`)
        break
      }
      case 'destroy':
        this.#queue(a0).destroy(a1 === 'force')
        this.#log(`${a0} destroyed`)
        break
      default:
        throw new Error(`unknown command ${c.verb}`)
    }
  }
}
