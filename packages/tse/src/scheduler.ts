/**
 * The scheduler (DAOS's `tse_sched_t`): it owns tasks' state machine, runs ready tasks when
 * progressed, releases dependents when tasks complete, and can be completed or cancelled.
 *
 * Everything here is synchronous and single-threaded. Time is read from the injected `Runtime`
 * only for delayed tasks, and timers are used only when `autoProgress` is on.
 *
 * @module
 */
import { DerError, type Runtime, type TimerHandle, assert } from '@x/common'
import { type Completion, type ResultCode, outcomeOf, outcomeOfThrown } from './result.ts'
import { type StoredFn, Task, type TaskBody, type TaskState, emptyList } from './task.ts'

/** What {@link SchedulerOptions.trace} reports. */
export type TaskTraceKind = 'schedule' | 'ready' | 'run' | 'reinit' | 'complete' | 'done' | 'cancel'

/** One trace record: a task reached a point of its life. */
export interface TaskTraceRecord {
  /**
   * `schedule`: accepted by the scheduler; `ready`: may run at the next pass; `run`: its body
   * starts; `reinit`: re-initialized; `complete`: completed (callbacks ran, not re-initialized);
   * `done`: dependents released and the scheduler no longer counts it; `cancel`: about to be
   * completed by a cancelling scheduler.
   */
  readonly kind: TaskTraceKind
  /** The task. */
  readonly task: Task<unknown>
  /** Its result at that point. */
  readonly result: ResultCode
}

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Time for delayed tasks, timers for `autoProgress` and progress timeouts. */
  readonly runtime: Runtime
  /** A label for errors and traces. */
  readonly name?: string
  /**
   * Progress by itself: a pass runs in a microtask whenever a task becomes ready, and a runtime
   * timer wakes delayed tasks. Off by default: DAOS's model, where nothing happens unless someone
   * calls progress.
   */
  readonly autoProgress?: boolean
  /** Called at each step of every task's life (for tests and debugging); it must not throw. */
  readonly trace?: (record: TaskTraceRecord) => void
}

/** Where a scheduler stands: `active`, `cancelling` (inside a cancelling {@link Scheduler.complete}), `finished`. */
export type SchedulerState = 'active' | 'cancelling' | 'finished'

/** A scheduler completion callback: gets the scheduler's result, may return one. */
export type SchedulerCompletionCallback = (result: ResultCode) => ResultCode | void

const canceledCode = new DerError('DER_CANCELED').code

function invoke(fn: StoredFn, task: Task<unknown>): ResultCode | void {
  return (fn as (task: Task<unknown>) => ResultCode | void)(task)
}

/** A task's state, read afresh (callbacks may have changed it since the compiler last looked). */
function stateOf(task: Task<unknown>): TaskState {
  return task._state
}

function checkDelay(delayMs: number): void {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new DerError('DER_INVAL', `delayMs must be a finite number >= 0, got ${delayMs}`)
  }
}

/** Whether `target` depends, directly or not, on `from` (so `from` depending on `target` closes a cycle). */
function reaches(from: Task<unknown>, target: Task<unknown>): boolean {
  if (from._dependents.length === 0) return false
  const stack = [...from._dependents]
  const visited = new Set<Task<unknown>>()
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    if (task === target) return true
    if (visited.has(task)) continue
    visited.add(task)
    for (const next of task._dependents) stack.push(next)
  }
  return false
}

/**
 * A task scheduler. Create tasks with {@link createTask}, schedule them, and call
 * {@link progress} (or the async `progress(sched, timeoutMs)` function) to run the
 * ready ones; completions release dependents at once.
 */
export class Scheduler {
  /** The runtime the scheduler reads time from. */
  readonly runtime: Runtime
  /** A label for errors and traces. */
  readonly name: string
  /** Whether the scheduler progresses by itself (see {@link SchedulerOptions.autoProgress}). */
  readonly autoProgress: boolean

  /** Ready tasks, in the order they became ready (stale entries are skipped). */
  #ready: Task<unknown>[] = []
  /** Sorted by wake-up time, ties in scheduling order. */
  #sleeping: Task<unknown>[] = []
  #completedQueue: Task<unknown>[] = []
  #completedHead = 0
  /** Tasks scheduled and not yet done, in scheduling order: an intrusive doubly linked list. */
  #outstandingHead: Task<unknown> | undefined = undefined
  #outstandingTail: Task<unknown> | undefined = undefined
  #outstandingCount = 0
  #result: ResultCode = 0
  #state: SchedulerState = 'active'
  #progressing = false
  #draining = false
  #passQueued = false
  #nextTaskId = 1
  #waiters: (() => void)[] = []
  readonly #completionCallbacks: SchedulerCompletionCallback[] = []
  #wakeTimer: TimerHandle | undefined = undefined
  #wakeTimerDueMs = Number.POSITIVE_INFINITY
  readonly #tracer: ((record: TaskTraceRecord) => void) | undefined
  readonly #autoPass = (): void => {
    this.#passQueued = false
    this.progress()
  }

  /** Refused with `DER_INVAL` without a runtime. */
  constructor(options: SchedulerOptions) {
    if (typeof options?.runtime?.clock?.monotonicMs !== 'function') throw new DerError('DER_INVAL', 'a scheduler needs a runtime')
    this.runtime = options.runtime
    this.name = options.name ?? 'sched'
    this.autoProgress = options.autoProgress ?? false
    this.#tracer = options.trace
  }

  /** `active`, `cancelling` or `finished`. */
  get state(): SchedulerState {
    return this.#state
  }

  /** The first failure of any task that completed here, or of a completion callback (`ds_result`). */
  get result(): ResultCode {
    return this.#result
  }

  /** Tasks scheduled (or completed) and not yet done. */
  get outstandingTasks(): number {
    return this.#outstandingCount
  }

  /** The runtime time at which the earliest delayed task wakes, or `Infinity`. */
  get nextWakeupMs(): number {
    return this.#sleeping[0]?._wakeupMs ?? Number.POSITIVE_INFINITY
  }

  /**
   * Creates a task (`tse_task_create`) with a body (`undefined` for a task that only waits to be
   * completed) and private arguments. Refused with `DER_SHUTDOWN` once the scheduler finished.
   */
  createTask<P = undefined>(body: TaskBody<P> | undefined, priv?: P, name?: string): Task<P> {
    this.#checkOpen('create a task')
    if (body !== undefined && typeof body !== 'function') throw new DerError('DER_INVAL', 'a task body must be a function')
    return new Task<P>(this, this.#nextTaskId++, body, priv as P, name)
  }

  /**
   * Runs ready tasks and processes completions until nothing more happens (`tse_sched_progress`).
   * Returns whether work remains (tasks scheduled and not done). A call from inside a body or
   * callback of this scheduler does nothing (the outer pass continues).
   */
  progress(): boolean {
    if (this.#state !== 'active' || this.#progressing) return this.#outstandingCount > 0
    this.#progressing = true
    try {
      for (;;) {
        let processed = this.#processReady()
        processed += this.#drainCompleted()
        if (this.#outstandingCount === 0 || processed === 0) break
      }
    } finally {
      this.#progressing = false
    }
    return this.#outstandingCount > 0
  }

  /** Whether no scheduled task is left to run or complete (`tse_sched_check_complete`). */
  checkComplete(): boolean {
    return this.#outstandingCount === 0
  }

  /** Adds a callback run when the scheduler completes; they run last registered first. */
  registerCompCb(callback: SchedulerCompletionCallback): void {
    this.#checkOpen('register a completion callback')
    this.#completionCallbacks.push(callback)
  }

  /**
   * Completes the scheduler (`tse_sched_complete`). Without `cancel`, it progresses once and
   * refuses with `DER_BUSY` (changing nothing) if tasks are still in flight: wait for them first
   * (`progress(sched, timeoutMs)`). With `cancel`, every task not yet completed is completed now
   * with `completion` (`DER_CANCELED` when 0), its completion callbacks running (re-inits are
   * refused). Then the scheduler's completion callbacks run, and it accepts no more tasks.
   * Completing a finished scheduler does nothing.
   */
  complete(completion: Completion = 0, cancel = false): void {
    const outcome = outcomeOf(completion)
    if (this.#state !== 'active') return
    if (!cancel) {
      if (this.progress()) {
        throw new DerError('DER_BUSY', `scheduler ${this.name} still has ${this.#outstandingCount} task(s) in flight`, {
          details: { outstanding: this.#outstandingCount },
        })
      }
    } else {
      this.#state = 'cancelling'
      const cancelOutcome = outcome.code !== 0 ? outcome : { code: canceledCode, error: new DerError('DER_CANCELED', `scheduler ${this.name} was cancelled`) }
      for (;;) {
        const pending = this.#outstandingTasks().filter((task) => task._state !== 'completed')
        if (pending.length === 0) break
        for (const task of pending) {
          if (task._state === 'completed') continue
          if (task._result === 0) {
            task._result = cancelOutcome.code
            task._error = cancelOutcome.error
          }
          this.#trace('cancel', task)
          this.#finish(task)
        }
      }
      this.#drainCompleted()
      this.#ready = []
      this.#sleeping = []
    }
    if (this.#result === 0) this.#result = outcome.code
    this.#state = 'finished'
    this.#cancelWakeTimer()
    for (let callback = this.#completionCallbacks.pop(); callback !== undefined; callback = this.#completionCallbacks.pop()) {
      let rc: ResultCode | void
      try {
        rc = callback(this.#result)
      } catch (thrown) {
        rc = outcomeOfThrown(thrown).code
      }
      if (this.#result === 0 && typeof rc === 'number') this.#result = rc
    }
    this.#notify()
  }

  /**
   * Resolves at the next sign of activity (a task became ready or completed, an event of this
   * scheduler changed) or after `timeoutMs` of runtime time (`Infinity`: no timeout).
   */
  waitForActivity(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let handle: TimerHandle | undefined
      const wake = (): void => {
        if (handle !== undefined) this.runtime.timers.cancel(handle)
        resolve()
      }
      if (Number.isFinite(timeoutMs)) {
        handle = this.runtime.timers.schedule(Math.max(0, timeoutMs), () => {
          handle = undefined
          this.#waiters = this.#waiters.filter((w) => w !== wake)
          resolve()
        })
      }
      this.#waiters.push(wake)
    })
  }

  /** A short description for logs. */
  toString(): string {
    return `Scheduler(${this.name}, ${this.#state}, outstanding=${this.#outstandingCount})`
  }

  // ---- internal: called by Task, TseEvent and EventQueue ----

  /** @internal wakes those waiting in {@link waitForActivity}. */
  _notify(): void {
    this.#notify()
  }

  /** @internal */
  _schedule(task: Task<unknown>, instant: boolean, delayMs: number): ResultCode {
    assert(task.scheduler === this, 'a task is scheduled on its own scheduler')
    this.#checkOpen('schedule a task')
    if (delayMs !== 0) checkDelay(delayMs)
    if (task._state !== 'created') {
      throw new DerError('DER_NO_PERM', `${task.name} cannot be scheduled: it is ${task._state}`)
    }
    if (instant && delayMs > 0) throw new DerError('DER_INVAL', 'a task cannot be both instant and delayed')
    this.#addOutstanding(task)
    this.#trace('schedule', task)
    const ready = task._depCount === 0 && task._prepCallbacks.length === 0
    if (ready && delayMs === 0 && (instant || task._body === undefined)) {
      task._state = 'running'
      this.#startBody(task)
      return stateOf(task) === 'completed' ? task._result : 0
    }
    this.#place(task, delayMs)
    return 0
  }

  /** @internal */
  _complete(task: Task<unknown>, completion: Completion): boolean {
    if (completion === 0) {
      if (task._state === 'completed') return false
      return this.#finish(task)
    }
    const outcome = outcomeOf(completion)
    if (task._state === 'completed') return false
    if (task._result === 0 && outcome.code !== 0) {
      task._result = outcome.code
      task._error = outcome.error
    }
    return this.#finish(task)
  }

  /** @internal */
  _setResult(task: Task<unknown>, completion: Completion): void {
    const outcome = outcomeOf(completion)
    if (task._state === 'completed') throw new DerError('DER_NO_PERM', `${task.name} already completed`)
    task._result = outcome.code
    task._error = outcome.error
  }

  /** @internal */
  _registerDeps(task: Task<unknown>, deps: readonly Task<unknown>[]): void {
    if (task._state === 'completed') throw new DerError('DER_NO_PERM', `cannot add a dependency to ${task.name}: it completed`)
    // Check everything first: a refused call registers nothing.
    for (let i = 0; i < deps.length; i++) this.#checkDependency(task, deps[i] as Task<unknown>)
    for (let i = 0; i < deps.length; i++) this.#addDependency(task, deps[i] as Task<unknown>)
    if (task._state === 'ready' && task._depCount > 0) task._state = 'blocked'
  }

  /** @internal */
  _registerCallback(task: Task<unknown>, kind: 'prep' | 'comp', callback: StoredFn): void {
    if (typeof callback !== 'function') throw new DerError('DER_INVAL', 'a callback must be a function')
    if (task._state === 'completed') throw new DerError('DER_NO_PERM', `cannot add a callback to ${task.name}: it completed`)
    if (kind === 'prep') {
      if (task._prepCallbacks === emptyList) task._prepCallbacks = [callback]
      else task._prepCallbacks.push(callback)
    } else if (task._completionCallbacks === emptyList) {
      task._completionCallbacks = [callback]
    } else {
      task._completionCallbacks.push(callback)
    }
  }

  /** @internal */
  _reinit(task: Task<unknown>, delayMs: number): void {
    checkDelay(delayMs)
    if (this.#state !== 'active') throw new DerError('DER_NO_PERM', `scheduler ${this.name} is ${this.#state}: cannot re-init ${task.name}`)
    if (task._body === undefined) throw new DerError('DER_INVAL', `${task.name} has no body to run again`)
    switch (task._state) {
      case 'completed':
        if (task._inScheduler) throw new DerError('DER_BUSY', `${task.name}'s completion is still being processed`)
        this.#addOutstanding(task)
        break
      case 'running':
        break
      default:
        throw new DerError('DER_NO_PERM', `only a running or completed task can be re-initialized; ${task.name} is ${task._state}`)
    }
    task._generation++
    task._result = 0
    task._error = undefined
    this.#trace('reinit', task)
    this.#place(task, delayMs)
  }

  /** @internal */
  _reset(task: Task<unknown>, body: StoredFn | undefined): void {
    if (body !== undefined && typeof body !== 'function') throw new DerError('DER_INVAL', 'a task body must be a function')
    const idle =
      task._state === 'completed' &&
      !task._inScheduler &&
      task._depCount === 0 &&
      task._dependents.length === 0 &&
      task._prepCallbacks.length === 0 &&
      task._completionCallbacks.length === 0
    if (!idle) throw new DerError('DER_NO_PERM', `${task.name} can be reset only once completed, with no dependency or callback left`)
    task._state = 'created'
    task._body = body
    task._result = 0
    task._error = undefined
    task._wakeupMs = 0
    task._generation++
  }

  // ---- the state machine ----

  #checkDependency(task: Task<unknown>, dep: Task<unknown>): void {
    if (!(dep instanceof Task)) throw new DerError('DER_INVAL', 'a dependency must be a task')
    if (dep === task) throw new DerError('DER_INVAL', `${task.name} cannot depend on itself`)
    if (dep._state !== 'completed' && reaches(task, dep)) {
      throw new DerError('DER_INVAL', `${task.name} depending on ${dep.name} would close a cycle`)
    }
  }

  #addDependency(task: Task<unknown>, dep: Task<unknown>): void {
    if (dep._state === 'completed' && !dep._inScheduler) {
      // Already done: nothing to wait for, but its failure still counts.
      if (dep._result !== 0 && task._result === 0 && !task._noPropagate) {
        task._result = dep._result
        task._error = dep._error
      }
      return
    }
    if (dep._dependents === emptyList) dep._dependents = [task]
    else dep._dependents.push(task)
    task._depCount++
    task._generation++
  }

  #addOutstanding(task: Task<unknown>): void {
    task._inScheduler = true
    task._previousOutstanding = this.#outstandingTail
    task._nextOutstanding = undefined
    if (this.#outstandingTail === undefined) this.#outstandingHead = task
    else this.#outstandingTail._nextOutstanding = task
    this.#outstandingTail = task
    this.#outstandingCount++
  }

  #removeOutstanding(task: Task<unknown>): void {
    const previous = task._previousOutstanding
    const next = task._nextOutstanding
    if (previous === undefined) this.#outstandingHead = next
    else previous._nextOutstanding = next
    if (next === undefined) this.#outstandingTail = previous
    else next._previousOutstanding = previous
    task._previousOutstanding = undefined
    task._nextOutstanding = undefined
    task._inScheduler = false
    this.#outstandingCount--
  }

  #outstandingTasks(): Task<unknown>[] {
    const tasks: Task<unknown>[] = []
    for (let task = this.#outstandingHead; task !== undefined; task = task._nextOutstanding) tasks.push(task)
    return tasks
  }

  #checkOpen(what: string): void {
    if (this.#state !== 'active') throw new DerError('DER_SHUTDOWN', `cannot ${what}: scheduler ${this.name} is ${this.#state}`)
  }

  #trace(kind: TaskTraceKind, task: Task<unknown>): void {
    if (this.#tracer !== undefined) this.#tracer({ kind, task, result: task._result })
  }

  #notify(): void {
    if (this.#waiters.length === 0) return
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  #requestPass(): void {
    if (!this.autoProgress || this.#passQueued || this.#progressing || this.#state !== 'active') return
    this.#passQueued = true
    queueMicrotask(this.#autoPass)
  }

  /** Puts a (re)scheduled task where it belongs: sleeping, blocked or ready. */
  #place(task: Task<unknown>, delayMs: number): void {
    if (delayMs > 0) {
      task._wakeupMs = this.runtime.clock.monotonicMs() + delayMs
      task._state = 'sleeping'
      this.#insertSleeping(task)
    } else if (task._depCount > 0) {
      task._state = 'blocked'
    } else {
      this.#makeReady(task)
    }
  }

  #makeReady(task: Task<unknown>): void {
    task._state = 'ready'
    if (!task._queued) {
      task._queued = true
      this.#ready.push(task)
    }
    this.#trace('ready', task)
    this.#requestPass()
    this.#notify()
  }

  #insertSleeping(task: Task<unknown>): void {
    const sleeping = this.#sleeping
    let low = 0
    let high = sleeping.length
    while (low < high) {
      const mid = (low + high) >> 1
      if ((sleeping[mid] as Task<unknown>)._wakeupMs <= task._wakeupMs) low = mid + 1
      else high = mid
    }
    sleeping.splice(low, 0, task)
    this.#armWakeTimer()
    this.#notify()
  }

  #removeSleeping(task: Task<unknown>): void {
    const index = this.#sleeping.indexOf(task)
    if (index >= 0) this.#sleeping.splice(index, 1)
  }

  #armWakeTimer(): void {
    if (!this.autoProgress || this.#state !== 'active') return
    const first = this.#sleeping[0]
    if (first === undefined || first._wakeupMs >= this.#wakeTimerDueMs) return
    this.#cancelWakeTimer()
    this.#wakeTimerDueMs = first._wakeupMs
    const delayMs = Math.max(0, first._wakeupMs - this.runtime.clock.monotonicMs())
    this.#wakeTimer = this.runtime.timers.schedule(delayMs, () => {
      this.#wakeTimer = undefined
      this.#wakeTimerDueMs = Number.POSITIVE_INFINITY
      this.progress()
      this.#armWakeTimer()
    })
  }

  #cancelWakeTimer(): void {
    if (this.#wakeTimer !== undefined) this.runtime.timers.cancel(this.#wakeTimer)
    this.#wakeTimer = undefined
    this.#wakeTimerDueMs = Number.POSITIVE_INFINITY
  }

  /** Wakes due sleepers, then runs ready tasks until none is left. */
  #processReady(): number {
    if (this.#sleeping.length > 0) {
      const now = this.runtime.clock.monotonicMs()
      while (this.#sleeping.length > 0 && (this.#sleeping[0] as Task<unknown>)._wakeupMs <= now) {
        const task = this.#sleeping.shift() as Task<unknown>
        task._wakeupMs = 0
        if (task._depCount > 0) task._state = 'blocked'
        else this.#makeReady(task)
      }
    }
    // Tasks that become ready while this runs (a chain's next link) run in the same loop: the
    // same order as another pass would give, without paying for one.
    const ready = this.#ready
    let processed = 0
    let head = 0
    while (head < ready.length) {
      const task = ready[head++] as Task<unknown>
      task._queued = false
      if (task._state !== 'ready') continue // completed, re-placed or blocked since it was queued
      if (task._depCount > 0) {
        task._state = 'blocked'
        continue
      }
      processed++
      this.#run(task)
    }
    if (head > 0 && this.#ready === ready) ready.length = 0
    return processed
  }

  /** Runs a ready task's prep callbacks (in order), then its body. */
  #run(task: Task<unknown>): void {
    task._state = 'running'
    if (task._prepCallbacks.length > 0) {
      const callbacks = task._prepCallbacks
      task._prepCallbacks = emptyList
      for (const callback of callbacks) {
        if (stateOf(task) === 'completed') break
        this.#callCallback(task, callback)
      }
      // Completed, or re-initialized, by a prep callback: the body does not run now.
      if (stateOf(task) !== 'running') return
    }
    this.#startBody(task)
  }

  /**
   * Runs the body of a task that is now running. A task whose result is already a failure
   * (propagated from a dependency, or set by a prep callback) completes with it instead.
   */
  #startBody(task: Task<unknown>): void {
    if (task._result !== 0) {
      this.#finish(task)
      return
    }
    const body = task._body
    if (body === undefined) return // waits for complete()
    this.#trace('run', task)
    task._inBody = true
    task._releasedInBody = false
    try {
      invoke(body, task)
    } catch (thrown) {
      if (stateOf(task) !== 'completed') {
        const outcome = outcomeOfThrown(thrown)
        if (task._result === 0) {
          task._result = outcome.code
          task._error = outcome.error
        }
        task._releasedInBody = false
        this.#finish(task)
      }
    } finally {
      task._inBody = false
    }
    // Children that all completed while the body was still creating them: complete it now.
    if (task._releasedInBody && stateOf(task) === 'running' && task._depCount === 0) {
      task._releasedInBody = false
      this.#finish(task)
    }
  }

  #callCallback(task: Task<unknown>, callback: StoredFn): void {
    let rc: ResultCode | void
    try {
      rc = invoke(callback, task)
    } catch (thrown) {
      const outcome = outcomeOfThrown(thrown)
      if (task._result === 0) {
        task._result = outcome.code
        task._error = outcome.error
      }
      return
    }
    if (typeof rc === 'number' && rc !== 0 && task._result === 0) {
      task._result = Number.isSafeInteger(rc) ? rc : new DerError('DER_INVAL').code
    }
  }

  /**
   * Runs completion callbacks, last registered first, and completes the task for good unless one
   * re-initialized it or added a dependency (then the remaining callbacks stay for next time).
   */
  #finish(task: Task<unknown>): boolean {
    const callbacks = task._completionCallbacks
    while (callbacks.length > 0) {
      const callback = callbacks.pop() as StoredFn
      const generation = task._generation
      this.#callCallback(task, callback)
      if (task._generation !== generation && this.#state === 'active') return false
    }
    if (task._state === 'completed') return false // completed again from inside a callback
    this.#markCompleted(task)
    return true
  }

  #markCompleted(task: Task<unknown>): void {
    if (task._state === 'sleeping') this.#removeSleeping(task)
    task._state = 'completed'
    if (!task._inScheduler) this.#addOutstanding(task)
    this.#trace('complete', task)
    if (this.#draining) {
      this.#completedQueue.push(task) // the loop below us picks it up
    } else {
      this.#draining = true
      try {
        this.#postProcess(task)
        this.#drainLocked()
      } finally {
        this.#draining = false
      }
    }
    this.#notify()
  }

  /** Post-processes completed tasks (`tse_sched_process_complete`); re-entrant calls leave it to the outer loop. */
  #drainCompleted(): number {
    if (this.#draining || this.#completedQueue.length === 0) return 0
    this.#draining = true
    try {
      return this.#drainLocked()
    } finally {
      this.#draining = false
    }
  }

  /** Post-processes queued completions; the caller holds the draining flag. */
  #drainLocked(): number {
    const queue = this.#completedQueue
    if (queue.length === 0) return 0
    let processed = 0
    try {
      while (this.#completedHead < queue.length) {
        const task = queue[this.#completedHead++] as Task<unknown>
        this.#postProcess(task)
        processed++
      }
    } finally {
      queue.length = 0
      this.#completedHead = 0
    }
    return processed
  }

  /** Releases a completed task's dependents and forgets it (`tse_task_post_process`). */
  #postProcess(task: Task<unknown>): void {
    if (this.#result === 0 && task._result !== 0) this.#result = task._result
    const dependents = task._dependents
    if (dependents.length > 0) {
      task._dependents = emptyList
      for (const dependent of dependents) dependent.scheduler.#release(dependent, task)
    }
    this.#removeOutstanding(task)
    task._completions++
    this.#trace('done', task)
    const listeners = task._onCompleted
    if (listeners !== undefined) {
      task._onCompleted = undefined
      for (const listener of listeners) listener(task)
    }
  }

  /** One of `dependent`'s dependencies completed. */
  #release(dependent: Task<unknown>, dep: Task<unknown>): void {
    assert(dependent._depCount > 0, 'a released dependent was waiting')
    dependent._depCount--
    if (dependent._state === 'completed') return
    if (dep._result !== 0 && dependent._result === 0 && !dependent._noPropagate) {
      dependent._result = dep._result
      dependent._error = dep._error
    }
    if (dependent._depCount > 0) return
    if (dependent._state === 'running') {
      // A parent whose body created child tasks completes with the last of them, but not while
      // its body is still on the stack (it may be about to add more): then it completes on return.
      if (dependent._inBody) dependent._releasedInBody = true
      else this.#finish(dependent)
    } else if (dependent._state === 'blocked') {
      this.#makeReady(dependent)
    }
  }
}
