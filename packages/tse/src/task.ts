/**
 * A TSE task: a body, private arguments, a result code, dependencies, prep and completion
 * callbacks. The scheduler ({@link Scheduler}) owns the state machine; a task's methods are its
 * user-facing half (DAOS's `tse_task_*` calls).
 *
 * @module
 */
import type { DerError } from '@x/common'
import { type Completion, type ResultCode, errorOf } from './result.ts'
import type { Scheduler } from './scheduler.ts'

/**
 * Where a task stands:
 *
 * - `created`: not scheduled yet (also after {@link Task.reset}).
 * - `sleeping`: scheduled with a delay that has not passed.
 * - `blocked`: scheduled, waiting for dependencies.
 * - `ready`: waiting for the next progress pass to run its prep callbacks and body.
 * - `running`: its body started (or it has no body); it waits for {@link Task.complete}, or for
 *   the child tasks it registered as dependencies.
 * - `completed`: completed once and for all (unless re-initialized).
 */
export type TaskState = 'created' | 'sleeping' | 'blocked' | 'ready' | 'running' | 'completed'

/** A task's body: starts the work and eventually calls {@link Task.complete} (now or later). */
export type TaskBody<P = unknown> = (task: Task<P>) => void

/**
 * A prep or completion callback. Its return value (a result code; nothing means 0) becomes the
 * task's result if the result is still 0. A callback may re-initialize the task
 * ({@link Task.reinit}) or register new dependencies: the completion then stops there.
 */
export type TaskCallback<P = unknown> = (task: Task<P>) => ResultCode | void

/** Internal storage of a user function, free of the task's type parameter. */
export type StoredFn = (task: never) => ResultCode | void

/**
 * The shared, frozen empty list every task starts with (most tasks never get dependents or
 * callbacks); the scheduler replaces it with a real array on the first push.
 */
export const emptyList: never[] = Object.freeze([]) as unknown as never[]

/**
 * One task of a {@link Scheduler}. Create it with {@link Scheduler.createTask}.
 *
 * @typeParam P - the type of the private arguments (`tse_task_get_priv`).
 */
export class Task<P = unknown> {
  /** A number unique within the scheduler, in creation order. */
  readonly id: number
  /** The scheduler the task runs on (`tse_task2sched`). */
  readonly scheduler: Scheduler
  #name: string | undefined
  /** The private arguments (`tse_task_get_priv` / `tse_task_set_priv`). */
  priv: P

  /** @internal */ _body: StoredFn | undefined
  /** @internal */ _state: TaskState = 'created'
  /** @internal */ _result: ResultCode = 0
  /** @internal */ _error: DerError | undefined = undefined
  /** @internal dependencies not completed yet (`dtp_dep_cnt`). */ _depCount = 0
  /** @internal tasks that depend on this one (`dtp_dep_list`). */ _dependents: Task<unknown>[] = emptyList
  /** @internal FIFO. */ _prepCallbacks: StoredFn[] = emptyList
  /** @internal run from the end: last registered runs first. */ _completionCallbacks: StoredFn[] = emptyList
  /** @internal neighbours in the scheduler's list of outstanding tasks. */ _previousOutstanding: Task<unknown> | undefined = undefined
  /** @internal */ _nextOutstanding: Task<unknown> | undefined = undefined
  /** @internal bumped by re-init and by new dependencies (`dtp_generation`). */ _generation = 0
  /** @internal */ _wakeupMs = 0
  /** @internal */ _noPropagate = false
  /** @internal counted among the scheduler's outstanding tasks. */ _inScheduler = false
  /** @internal sitting in the scheduler's ready queue (possibly as a stale entry). */ _queued = false
  /** @internal run once when the task completes for good. */ _onCompleted: ((task: Task<unknown>) => void)[] | undefined = undefined
  /** @internal how many times the task completed for good (re-inits allow more than one). */ _completions = 0
  /** @internal its body is on the stack. */ _inBody = false
  /** @internal its dependencies all completed while its body was on the stack. */ _releasedInBody = false

  /** @internal use {@link Scheduler.createTask}. */
  constructor(scheduler: Scheduler, id: number, body: TaskBody<P> | undefined, priv: P, name: string | undefined) {
    this.scheduler = scheduler
    this.id = id
    this._body = body
    this.priv = priv
    this.#name = name
  }

  /** A label for traces and errors (default `task-<id>`). */
  get name(): string {
    return this.#name ?? `task-${this.id}`
  }

  set name(name: string) {
    this.#name = name
  }

  /** The task's state. */
  get state(): TaskState {
    return this._state
  }

  /** The result: 0, or the first failure (its own, a callback's, or a dependency's). */
  get result(): ResultCode {
    return this._result
  }

  /** The error behind a non-zero {@link result}. */
  get error(): DerError | undefined {
    return errorOf(this._result, this._error)
  }

  /** Whether the task completed (and was not re-initialized since). */
  get isCompleted(): boolean {
    return this._state === 'completed'
  }

  /** Dependencies that have not completed yet. */
  get pendingDependencies(): number {
    return this._depCount
  }

  /** How many times the task completed for good: 1 normally, more after re-inits of a completed task. */
  get completions(): number {
    return this._completions
  }

  /**
   * Overrides the result (for a callback or body that handled a failure, such as a dependency's
   * that propagated). Refused with `DER_NO_PERM` once the task completed.
   */
  setResult(completion: Completion): void {
    this.scheduler._setResult(this, completion)
  }

  /**
   * Schedules the task (`tse_task_schedule`). With `instant` and a ready task (no pending
   * dependencies, no prep callbacks) the body runs now, on the caller; otherwise the next
   * progress pass runs it. Returns the result if the task completed during the call, else 0.
   */
  schedule(instant = false): ResultCode {
    return this.scheduler._schedule(this, instant, 0)
  }

  /** Schedules the task to become ready after `delayMs` of runtime time (`tse_task_schedule_with_delay`). */
  scheduleWithDelay(delayMs: number): ResultCode {
    return this.scheduler._schedule(this, false, delayMs)
  }

  /**
   * Completes the task (`tse_task_complete`): the result becomes `completion` unless it is already
   * a failure, completion callbacks run (last registered first), then dependents are released.
   * Completing a task that has not run yet cancels it. Returns false when the task had already
   * completed (a task completes exactly once) or a callback re-initialized it.
   */
  complete(completion: Completion = 0): boolean {
    return this.scheduler._complete(this, completion)
  }

  /**
   * Makes the task depend on `deps` (`tse_task_register_deps`): it runs only after all of them
   * completed, and a failed dependency's result becomes its result (unless
   * {@link disablePropagate} was called). Refused with `DER_NO_PERM` on a completed task, and with
   * `DER_INVAL` (nothing registered) for a dependency on itself or one that would close a cycle.
   */
  registerDeps(...deps: Task<unknown>[]): void {
    this.scheduler._registerDeps(this, deps)
  }

  /** Adds a prep callback: prep callbacks run in registration order just before the body. */
  registerPrepCb(callback: TaskCallback<P>): void {
    this.scheduler._registerCallback(this, 'prep', callback)
  }

  /** Adds a completion callback: completion callbacks run in reverse registration order. */
  registerCompCb(callback: TaskCallback<P>): void {
    this.scheduler._registerCallback(this, 'comp', callback)
  }

  /** Adds a prep and/or a completion callback at once (`tse_task_register_cbs`). */
  registerCbs(callbacks: { readonly prep?: TaskCallback<P>; readonly comp?: TaskCallback<P> }): void {
    if (callbacks.prep !== undefined) this.registerPrepCb(callbacks.prep)
    if (callbacks.comp !== undefined) this.registerCompCb(callbacks.comp)
  }

  /**
   * Puts a running or completed task back in the scheduler (`tse_task_reinit`): its result is
   * cleared and it runs again, after `delayMs` if given. Called from a completion callback, it
   * turns the completion into a retry. Refused with `DER_NO_PERM` for a task that is neither
   * running nor completed, or while the scheduler is cancelling.
   */
  reinit(delayMs = 0): void {
    this.scheduler._reinit(this, delayMs)
  }

  /**
   * Makes a completed task new again with another body and private arguments
   * (`tse_task_reset`); schedule it again afterwards. Refused with `DER_NO_PERM` unless the task
   * completed and has no callbacks left.
   */
  reset(body: TaskBody<P> | undefined, priv: P): void {
    this.scheduler._reset(this, body)
    this.priv = priv
  }

  /** Keeps this task's result from being overwritten by failed dependencies (`tse_disable_propagate`). */
  disablePropagate(): void {
    this._noPropagate = true
  }

  /** A short description for logs: `task-3(running, rc=0)`. */
  toString(): string {
    return `${this.name}(${this._state}, rc=${this._result})`
  }
}
