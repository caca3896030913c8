/**
 * Events (DAOS's `daos_event_t`): the completion of one operation, reported through an event
 * queue or tested directly, with parent events that merge many children's completions into one.
 *
 * State machine (illegal moves throw a typed `DerError` and change nothing):
 *
 * | from | call | to |
 * |---|---|---|
 * | `init` | {@link TseEvent.init} | `ready` |
 * | `ready` | {@link TseEvent.launch} / {@link TseEvent.parentBarrier} | `running` |
 * | `running` | {@link TseEvent.complete} | `completed` |
 * | `running` | {@link TseEvent.abort} | `aborted` |
 * | `aborted` | {@link TseEvent.complete} (the operation finishing late) | `aborted` |
 * | `completed`, `aborted` | harvested by {@link EventQueue.poll} or {@link TseEvent.test} | `ready` |
 * | `ready`, `completed`, `aborted` | {@link TseEvent.fini} | `init` |
 *
 * @module
 */
import { DerError } from '@x/common'
import type { EventQueue } from './event-queue.ts'
import { type Completion, type Outcome, type ResultCode, errorOf, outcomeOf, outcomeOfThrown } from './result.ts'
import type { Scheduler } from './scheduler.ts'
import type { Task, TaskBody } from './task.ts'

/**
 * An event's state, as DAOS's `daos_ev_status_t` plus `init` for an event that is not
 * initialized (never, or finalized since).
 */
export type EventState = 'init' | 'ready' | 'running' | 'completed' | 'aborted'

/** An event completion callback: gets the event and its result, may return a result. */
export type EventCompletionCallback = (event: TseEvent, result: ResultCode) => ResultCode | void

/** Where an event belongs: give exactly one of them (`daos_event_init(ev, eqh, parent)`). */
export interface EventInitOptions {
  /** The event queue that reports the event's completion (its scheduler runs the event's tasks). */
  readonly eq?: EventQueue
  /** A parent event: the child inherits its queue and scheduler and is never reported by itself. */
  readonly parent?: TseEvent
  /** For an event with no queue: the scheduler that runs its tasks (DAOS's global scheduler). */
  readonly scheduler?: Scheduler
}

const canceledCode = new DerError('DER_CANCELED').code
let nextEventNumber = 1

/**
 * One event. Create it with `new TseEvent()`, then {@link init} it on an event queue, a parent
 * event or a scheduler.
 */
export class TseEvent {
  /** A label for logs and errors. */
  readonly name: string
  #state: EventState = 'init'
  #eq: EventQueue | undefined = undefined
  #scheduler: Scheduler | undefined = undefined
  #parent: TseEvent | undefined = undefined
  #children: TseEvent[] = []
  #childrenRunning = 0
  #childrenDone = 0
  #barrier = false
  #result: ResultCode = 0
  #error: DerError | undefined = undefined
  #callbacks: EventCompletionCallback[] = []
  #task: Task<unknown> | undefined = undefined

  constructor(name?: string) {
    this.name = name ?? `ev-${nextEventNumber++}`
  }

  /** The event's state. */
  get state(): EventState {
    return this.#state
  }

  /** The result of the last operation: 0, or the first failure (children's included). */
  get result(): ResultCode {
    return this.#result
  }

  /** The error behind a non-zero {@link result}. */
  get error(): DerError | undefined {
    return errorOf(this.#result, this.#error)
  }

  /** The event queue, if any (children report their parent's). */
  get eq(): EventQueue | undefined {
    return this.#eq
  }

  /** The scheduler that runs the event's tasks. */
  get scheduler(): Scheduler | undefined {
    return this.#scheduler
  }

  /** The parent event, if this is a child. */
  get parent(): TseEvent | undefined {
    return this.#parent
  }

  /** The child events, in the order they were initialized (`daos_event_next`). */
  get children(): readonly TseEvent[] {
    return [...this.#children]
  }

  /** Whether this parent completes by itself when its last child does (see {@link parentBarrier}). */
  get isBarrier(): boolean {
    return this.#barrier
  }

  /**
   * Initializes the event (`daos_event_init`): `init` -> `ready`. Refused with `DER_ALREADY` if it
   * is initialized, `DER_INVAL` without exactly one place to belong or with a parent that is not
   * ready, `DER_NO_PERM` for a grandchild (events nest one level), `DER_NONEXIST` on a destroyed
   * queue.
   */
  init(options: EventInitOptions): this {
    if (this.#state !== 'init') throw new DerError('DER_ALREADY', `${this.name} is already initialized (${this.#state}); fini it first`)
    const { eq, parent, scheduler } = options
    const places = (eq === undefined ? 0 : 1) + (parent === undefined ? 0 : 1) + (scheduler === undefined ? 0 : 1)
    if (places !== 1) throw new DerError('DER_INVAL', `${this.name}: give exactly one of eq, parent or scheduler`)
    if (parent !== undefined) {
      if (!(parent instanceof TseEvent) || parent === this) throw new DerError('DER_INVAL', `${this.name}: the parent must be another event`)
      if (parent.#state !== 'ready') throw new DerError('DER_INVAL', `${this.name}: parent ${parent.name} is ${parent.#state}, not ready`)
      if (parent.#parent !== undefined) throw new DerError('DER_NO_PERM', `${this.name}: events nest one level only (${parent.name} is a child)`)
      if (parent.#eq?._destroyed === true) throw new DerError('DER_NONEXIST', `${this.name}: the event queue of ${parent.name} was destroyed`)
      parent.#children.push(this)
      this.#parent = parent
      this.#eq = parent.#eq
      this.#scheduler = parent.#scheduler
    } else if (eq !== undefined) {
      if (eq._destroyed) throw new DerError('DER_NONEXIST', `${this.name}: event queue ${eq.name} was destroyed`)
      this.#eq = eq
      this.#scheduler = eq.scheduler
    } else {
      this.#scheduler = scheduler
    }
    this.#state = 'ready'
    this.#result = 0
    this.#error = undefined
    return this
  }

  /**
   * Marks the event in flight (`daos_event_launch`): `ready` -> `running`. A parent launches only
   * once all its children did (`DER_NO_PERM` otherwise); a barrier parent whose children all
   * completed already completes at once. Refused with `DER_UNINIT` before init, `DER_NO_PERM`
   * unless ready, `DER_NONEXIST` on a destroyed queue.
   */
  launch(): void {
    this.#checkLaunchable()
    this.#launch()
  }

  /**
   * Makes a parent a barrier and launches it (`daos_event_parent_barrier`): no more children may
   * be added and it completes when its last child does. Refused with `DER_INVAL` for an event
   * without children, and as {@link launch} is.
   */
  parentBarrier(): void {
    this.#checkState('be a barrier')
    if (this.#children.length === 0) throw new DerError('DER_INVAL', `${this.name} has no children to wait for`)
    this.#checkLaunchable()
    this.#barrier = true
    this.#launch()
  }

  /**
   * Completes the operation (`daos_event_complete`): `running` -> `completed`; completion
   * callbacks run (in registration order), the parent or the queue learns of it. On an aborted
   * event it is absorbed (returns false): the operation finished after all. Refused with
   * `DER_ALREADY` on a completed event, `DER_NO_PERM` on a ready one, `DER_UNINIT` before init.
   */
  complete(completion: Completion = 0): boolean {
    const outcome = outcomeOf(completion)
    switch (this.#state) {
      case 'running':
        this.#finish(outcome)
        return true
      case 'aborted':
        return false
      case 'completed':
        throw new DerError('DER_ALREADY', `${this.name} already completed`)
      case 'ready':
        throw new DerError('DER_NO_PERM', `${this.name} was not launched`)
      case 'init':
        throw new DerError('DER_UNINIT', `${this.name} is not initialized`)
    }
  }

  /**
   * Aborts a running event (`daos_event_abort`): `running` -> `aborted` with `DER_CANCELED`,
   * reported like a completion. A task launched with the event that has not started yet is
   * cancelled; one already running cannot be stopped, and its late completion is absorbed.
   * Refused with `DER_NO_PERM` unless running, `DER_UNINIT` before init.
   */
  abort(): void {
    if (this.#state !== 'running') {
      if (this.#state === 'init') throw new DerError('DER_UNINIT', `${this.name} is not initialized`)
      throw new DerError('DER_NO_PERM', `only a running event can be aborted; ${this.name} is ${this.#state}`)
    }
    this.#finish({ code: canceledCode, error: new DerError('DER_CANCELED', `${this.name} was aborted`) }, 'aborted')
    const task = this.#task
    this.#task = undefined
    if (task !== undefined && task.state !== 'running' && task.state !== 'completed') task.complete(canceledCode)
  }

  /**
   * Progresses the event's scheduler once and reaps the event if it is done
   * (`daos_event_test` with no wait): a completed or aborted event with no running child becomes
   * `ready` again and leaves its queue. Returns whether the event is ready. Refused with
   * `DER_NO_PERM` on a child event, `DER_UNINIT` before init, `DER_NONEXIST` on a destroyed queue.
   */
  testNow(): boolean {
    this.#checkState('be tested')
    if (this.#parent !== undefined) throw new DerError('DER_NO_PERM', `${this.name} is a child event: test its parent`)
    if (this.#eq?._destroyed === true) throw new DerError('DER_NONEXIST', `the event queue of ${this.name} was destroyed`)
    this.#scheduler?.progress()
    if (this.#state === 'ready') return true
    if (!this._isHarvestable()) return false
    this._harvest()
    return true
  }

  /** {@link testNow}, waiting up to `timeoutMs` of runtime time (`Infinity`: no limit) for the event to be done. */
  async test(timeoutMs = 0): Promise<boolean> {
    const scheduler = this.#scheduler
    if (scheduler === undefined) return this.testNow()
    const deadline = scheduler.runtime.clock.monotonicMs() + timeoutMs
    for (;;) {
      if (this.testNow()) return true
      const now = scheduler.runtime.clock.monotonicMs()
      const remaining = deadline - now
      if (remaining <= 0) return false
      await scheduler.waitForActivity(Math.min(remaining, Math.max(0, scheduler.nextWakeupMs - now)))
    }
  }

  /** Adds a completion callback (`daos_event_register_comp_cb`); callbacks run once, at the next completion. */
  registerCompCb(callback: EventCompletionCallback): void {
    this.#checkState('take a callback')
    if (typeof callback !== 'function') throw new DerError('DER_INVAL', 'a callback must be a function')
    this.#callbacks.push(callback)
  }

  /**
   * Finalizes the event (`daos_event_fini`) and its children: back to `init`, unlinked from its
   * parent and queue. Refused with `DER_BUSY` while it or a child is running, `DER_INVAL` for a
   * child whose parent is not ready, `DER_UNINIT` if not initialized.
   */
  fini(): void {
    this.#checkState('be finalized')
    if (this.#state === 'running') throw new DerError('DER_BUSY', `${this.name} is running`)
    const busyChild = this.#children.find((child) => child.#state === 'running')
    if (busyChild !== undefined) throw new DerError('DER_BUSY', `child ${busyChild.name} of ${this.name} is running`)
    const parent = this.#parent
    if (parent !== undefined && parent.#state !== 'ready') {
      throw new DerError('DER_INVAL', `${this.name}: a child can be finalized only while its parent is ready (${parent.name} is ${parent.#state})`)
    }
    for (const child of this.#children) child.#detach()
    if (parent !== undefined) {
      parent.#children = parent.#children.filter((child) => child !== this)
      if (this.#state === 'completed' || this.#state === 'aborted') parent.#childrenDone--
    }
    this.#eq?._completed.delete(this)
    this.#detach()
  }

  /**
   * Creates a task whose completion completes this event with the task's result
   * (`dc_task_create`); launch both with {@link launchTask}.
   */
  createTask<P = undefined>(body: TaskBody<P> | undefined, priv?: P, name?: string): Task<P> {
    this.#checkState('create a task')
    const scheduler = this.#scheduler
    if (scheduler === undefined) throw new DerError('DER_UNINIT', `${this.name} has no scheduler`)
    const task = scheduler.createTask(body, priv, name ?? `${this.name}.task`)
    task.registerCompCb((done) => {
      // Only the task this event was launched with completes it (not one whose launch failed,
      // nor one whose event was aborted meanwhile).
      if (this.#task !== (done as Task<unknown>)) return
      this.#task = undefined
      if (this.#state === 'running') this.#finish({ code: done.result, error: done.error })
    })
    return task
  }

  /**
   * Launches this event and schedules `task` (`dc_task_schedule`); with `instant` (the default,
   * as DAOS's API calls do) the body runs now. If the event cannot be launched, the task is
   * completed with that error and the error is thrown. Returns what {@link Task.schedule} returns.
   */
  launchTask(task: Task<unknown>, instant = true): ResultCode {
    try {
      this.launch()
    } catch (thrown) {
      task.complete(outcomeOfThrown(thrown).error ?? canceledCode)
      throw thrown
    }
    this.#task = task
    return task.schedule(instant)
  }

  /** A short description for logs. */
  toString(): string {
    return `${this.name}(${this.#state}, rc=${this.#result})`
  }

  // ---- internal: used by EventQueue ----

  /** @internal done and no child still running. */
  _isHarvestable(): boolean {
    return (this.#state === 'completed' || this.#state === 'aborted') && this.#childrenRunning === 0
  }

  /** @internal reaps a done event: back to ready (its children too), out of the queue. */
  _harvest(): void {
    this.#state = 'ready'
    this.#barrier = false
    this.#eq?._completed.delete(this)
    for (const child of this.#children) {
      if (child.#state === 'completed' || child.#state === 'aborted') child.#state = 'ready'
    }
    this.#childrenDone = 0
  }

  /** @internal for a force-destroyed queue: abort if running, and forget the queue's lists. */
  _abortForDestroy(): void {
    if (this.#state === 'running') this.abort()
  }

  // ---- private ----

  #checkState(what: string): void {
    if (this.#state === 'init') throw new DerError('DER_UNINIT', `${this.name} is not initialized and cannot ${what}`)
  }

  #checkLaunchable(): void {
    if (this.#state !== 'ready') {
      if (this.#state === 'init') throw new DerError('DER_UNINIT', `${this.name} is not initialized`)
      throw new DerError('DER_NO_PERM', `only a ready event can be launched; ${this.name} is ${this.#state}`)
    }
    if (this.#children.length > this.#childrenRunning + this.#childrenDone) {
      throw new DerError('DER_NO_PERM', `${this.name}: launch all children before their parent`)
    }
    if (this.#eq?._destroyed === true) throw new DerError('DER_NONEXIST', `the event queue of ${this.name} was destroyed`)
  }

  #launch(): void {
    this.#state = 'running'
    // A new operation: forget the last one's result, unless children already reported theirs.
    if (this.#childrenDone === 0) {
      this.#result = 0
      this.#error = undefined
    }
    const parent = this.#parent
    if (parent !== undefined) parent.#childrenRunning++
    else this.#eq?._running.add(this)
    if (this.#barrier && this.#childrenDone === this.#children.length) this.#finish({ code: this.#result, error: this.#error })
    this.#scheduler?._notify()
  }

  /** Runs the callbacks and settles the event as `completed` (or `aborted`), then tells its parent or queue. */
  #finish(outcome: Outcome, state: 'completed' | 'aborted' = 'completed'): void {
    this.#settle(outcome, state)
    const parent = this.#parent
    if (parent === undefined) {
      this.#report()
      return
    }
    {
      parent.#childrenRunning--
      parent.#childrenDone++
      if (parent.#result === 0 && this.#result !== 0) {
        parent.#result = this.#result
        parent.#error = this.#error
      }
      const lastChild = parent.#childrenDone === parent.#children.length
      if (!lastChild || parent.#state !== 'running' || !parent.#barrier) {
        this.#scheduler?._notify()
        return
      }
      parent.#settle({ code: parent.#result, error: parent.#error }, 'completed')
      parent.#report()
    }
  }

  /** A top-level event is done: its queue moves it to the completed list. */
  #report(): void {
    const eq = this.#eq
    if (eq !== undefined && !eq._destroyed) {
      eq._running.delete(this)
      eq._completed.add(this)
    }
    this.#scheduler?._notify()
  }

  #settle(outcome: Outcome, state: 'completed' | 'aborted'): void {
    let { code, error } = outcome
    const callbacks = this.#callbacks
    this.#callbacks = []
    for (const callback of callbacks) {
      let rc: ResultCode | void
      try {
        rc = callback(this, code)
      } catch (thrown) {
        const failed = outcomeOfThrown(thrown)
        rc = failed.code
        if (code === 0) error = failed.error
      }
      if (code === 0 && typeof rc === 'number' && rc !== 0) code = rc
    }
    if (this.#result === 0) {
      this.#result = code
      this.#error = error
    }
    this.#state = state
  }

  #detach(): void {
    this.#state = 'init'
    this.#eq = undefined
    this.#scheduler = undefined
    this.#parent = undefined
    this.#children = []
    this.#childrenRunning = 0
    this.#childrenDone = 0
    this.#barrier = false
    this.#callbacks = []
    this.#task = undefined
    this.#result = 0
    this.#error = undefined
  }
}
