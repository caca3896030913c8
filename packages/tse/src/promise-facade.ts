/**
 * The promise facade: await tasks and events without handling either. {@link runTask} turns a
 * function (sync or async) into a task of the DAG and resolves to its value; {@link whenCompleted}
 * and {@link waitTask} await a task; {@link waitEvent} awaits an event the way DAOS's blocking
 * calls wait on their private event.
 *
 * @module
 */
import { DerError, toDerError } from '@x/common'
import type { TseEvent } from './event.ts'
import { checkTimeoutMs, driveUntil } from './progress.ts'
import type { Scheduler } from './scheduler.ts'
import type { Task } from './task.ts'

function settle(task: Task<unknown>, resolve: () => void, reject: (error: Error) => void): void {
  const error = task.error
  if (error === undefined) resolve()
  else reject(error)
}

/**
 * Resolves when `task` completes for good (its dependents released), or rejects with its error.
 * It does not drive the scheduler: someone must progress it (or use `autoProgress`).
 */
export function whenCompleted(task: Task<unknown>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (task._state === 'completed' && !task._inScheduler) {
      settle(task, resolve, reject)
      return
    }
    const listeners = task._onCompleted ?? (task._onCompleted = [])
    listeners.push((done) => settle(done, resolve, reject))
  })
}

/**
 * Progresses `task`'s scheduler until the task completes, then resolves (or rejects with its
 * error); rejects with `DER_TIMEDOUT` after `timeoutMs` of runtime time. The task must have been
 * scheduled.
 */
export async function waitTask(task: Task<unknown>, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
  checkTimeoutMs(timeoutMs)
  if (task.state === 'created') throw new DerError('DER_NO_PERM', `${task.name} is not scheduled: nothing would complete it`)
  const completed = whenCompleted(task)
  const done = (): boolean => task._state === 'completed' && !task._inScheduler
  await driveUntil(task.scheduler, done, timeoutMs)
  if (!done()) {
    completed.catch(() => undefined)
    throw new DerError('DER_TIMEDOUT', `${task.name} did not complete within ${timeoutMs} ms`)
  }
  return completed
}

/** Options of {@link runTask}. */
export interface RunTaskOptions {
  /** Tasks that must complete first; a failed one fails this task without running it. */
  readonly deps?: readonly Task<unknown>[]
  /** A label for the task. */
  readonly name?: string
  /** Run the function now, on the caller, if nothing holds it back (default true). */
  readonly instant?: boolean
  /** Cancels the task with `DER_CANCELED` (an async function already started is not stopped). */
  readonly signal?: AbortSignal
}

/**
 * Runs `fn` as a task of `scheduler` and resolves to what it returns (or resolves to). The task
 * completes when `fn` settles: with 0, or with the error it threw or rejected with. On a
 * scheduler without `autoProgress`, the returned promise drives the scheduler while it waits.
 */
export function runTask<T>(scheduler: Scheduler, fn: (task: Task<undefined>) => T | PromiseLike<T>, options: RunTaskOptions = {}): Promise<T> {
  let value: T | undefined
  const task = scheduler.createTask<undefined>(
    (self) => {
      let returned: T | PromiseLike<T>
      try {
        returned = fn(self)
      } catch (thrown) {
        self.complete(toDerError(thrown))
        return
      }
      if (isPromiseLike(returned)) {
        returned.then(
          (resolved) => {
            value = resolved
            self.complete(0)
          },
          (thrown: unknown) => self.complete(toDerError(thrown)),
        )
      } else {
        value = returned
        self.complete(0)
      }
    },
    undefined,
    options.name,
  )
  if (options.deps !== undefined && options.deps.length > 0) task.registerDeps(...options.deps)
  const signal = options.signal
  const abort = signal === undefined ? undefined : watchSignal(task, signal)
  if (task._state === 'created') task.schedule(options.instant ?? true)
  if (task._state === 'completed' && !task._inScheduler) {
    // The common case for a synchronous function: done already, one settled promise.
    if (abort !== undefined) unwatchSignal(signal, abort)
    if (task._result === 0) return Promise.resolve(value as T)
    const error: Error = task.error ?? new DerError('DER_MISC')
    return Promise.reject(error)
  }
  if (scheduler.autoProgress) {
    return new Promise<T>((resolve, reject) => {
      ;(task._onCompleted ??= []).push((done) => {
        unwatchSignal(signal, abort)
        const error = done.error
        if (error === undefined) resolve(value as T)
        else reject(error)
      })
    })
  }
  return waitTask(task).then(
    () => {
      unwatchSignal(signal, abort)
      return value as T
    },
    (error: unknown) => {
      unwatchSignal(signal, abort)
      throw error
    },
  )
}

/** Cancels `task` when `signal` aborts; returns the listener to remove later. */
function watchSignal(task: Task<unknown>, signal: AbortSignal): () => void {
  function onAbort(): void {
    task.complete(new DerError('DER_CANCELED', `${task.name} was aborted`, { cause: signal.reason }))
  }
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  return onAbort
}

function unwatchSignal(signal: AbortSignal | undefined, onAbort: (() => void) | undefined): void {
  if (signal !== undefined && onAbort !== undefined) signal.removeEventListener('abort', onAbort)
}

/**
 * Waits until `event` is done and reaps it (DAOS's blocking path: `daos_event_priv_wait`),
 * progressing its scheduler; rejects with the event's error if it failed, or with
 * `DER_TIMEDOUT` after `timeoutMs` of runtime time.
 */
export async function waitEvent(event: TseEvent, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
  checkTimeoutMs(timeoutMs)
  const ready = await event.test(timeoutMs)
  if (!ready) throw new DerError('DER_TIMEDOUT', `${event.name} did not complete within ${timeoutMs} ms`)
  const error = event.error
  if (error !== undefined) throw error
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

