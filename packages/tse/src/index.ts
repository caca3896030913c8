/**
 * The task scheduler engine (TSE) and event queues of the client, after DAOS's `tse_*`,
 * `daos_event_*` and `daos_eq_*`: every client operation runs as a task, and applications learn
 * of completions through events, event queues or promises.
 *
 * - **Tasks and schedulers** ({@link Scheduler}, {@link Task}): a task has a body, private
 *   arguments, a result code, dependencies, prep callbacks (run in order before the body) and
 *   completion callbacks (run last registered first). A task runs once all its dependencies
 *   completed; a failed dependency's result becomes the dependent's, which then completes with it
 *   without running its body, unless it called {@link Task.disablePropagate} or a prep callback
 *   cleared the result ({@link Task.setResult}). A completion callback may {@link Task.reinit}
 *   the task to retry it. `task.schedule(true)` runs the body at once on the caller. A body that
 *   creates child tasks and depends on them completes when they all have (DAOS's `dc_array_io`).
 *   A task completes exactly once (per re-init).
 * - **Progress**: {@link Scheduler.progress} runs one pass (`tse_sched_progress`);
 *   `progress(sched, timeoutMs)` ({@link progress}) keeps going until no work remains or the
 *   timeout passes, sleeping on the runtime's timers in between. With `autoProgress` a scheduler
 *   drives itself (a microtask per burst of ready tasks, a timer for delayed ones).
 * - **Events and event queues** ({@link TseEvent}, {@link EventQueue}): events move through
 *   `init`, `ready`, `running`, `completed` and `aborted` as DAOS's do (illegal moves throw typed
 *   `DerError`s), parents merge their children's completions, {@link EventQueue.poll} reaps
 *   completed events, {@link EventQueue.destroy} refuses with `DER_BUSY` while events are in
 *   flight unless forced.
 * - **Promises** ({@link runTask}, {@link whenCompleted}, {@link waitTask}, {@link waitEvent}): for
 *   callers who want neither tasks nor events.
 *
 * Nothing here does I/O or reads the clock except through the injected `Runtime`.
 *
 * Where this deliberately differs from DAOS (single-threaded JavaScript, and safer defaults):
 *
 * - A task whose result is already a failure when it would run (from a dependency, or set by a
 *   prep callback) completes with it without running its body; DAOS runs the body, which must
 *   check `dt_result` itself. Depending on a task that already failed fails the dependent too.
 * - A parent whose children all complete while its body is still on the stack completes when the
 *   body returns, not in the middle of it.
 * - Cancelling a scheduler completes the tasks left with `DER_CANCELED` (or the given code) and
 *   runs their completion callbacks, so events and promises learn the outcome; completing a
 *   scheduler without cancel refuses with `DER_BUSY` while tasks are in flight instead of
 *   blocking.
 * - Registering a dependency that would close a cycle is refused with `DER_INVAL`.
 * - Completing a completed event gives `DER_ALREADY` and completing a ready one `DER_NO_PERM`
 *   (DAOS records the code silently). `abort` moves a running event to `aborted` with
 *   `DER_CANCELED` at once and cancels its task if the task has not started; the operation's
 *   late completion is absorbed. Reaping a parent makes its children ready again.
 * - Ready tasks run in the order they became ready (DAOS scans its init list in scheduling order).
 *
 * @example
 * ```ts
 * import { createRealRuntime } from '@x/common'
 * import { Scheduler } from '@x/tse'
 *
 * const sched = new Scheduler({ runtime: createRealRuntime() })
 * // An array write split into per-dkey child tasks; the parent completes after all of them.
 * const write = sched.createTask((parent) => {
 *   for (const dkey of [1, 2, 3]) {
 *     const io = sched.createTask((t) => t.complete(0), { dkey })
 *     parent.registerDeps(io)
 *     io.schedule(true)
 *   }
 * })
 * write.registerCompCb((t) => console.log('array write done, rc', t.result))
 * write.schedule()
 * sched.progress() // runs the body, the children, then completes the parent
 * ```
 *
 * @example
 * ```ts
 * import { createRealRuntime } from '@x/common'
 * import { EventQueue, TseEvent } from '@x/tse'
 *
 * const runtime = createRealRuntime()
 * const eq = new EventQueue({ runtime })
 * const ev = new TseEvent('fetch').init({ eq })
 * // dc_task_create + dc_task_schedule: the task's completion completes the event.
 * const task = ev.createTask((t) => void runtime.timers.schedule(5, () => t.complete(0))) // an RPC reply, say
 * ev.launchTask(task)
 * const [done] = await eq.poll(1, 16, 1000) // waits up to 1 s for at least one event
 * console.log(done?.name, done?.result) // "fetch 0"; the event is ready for reuse
 * eq.destroy() // DER_BUSY if events were still in flight
 * ```
 *
 * @packageDocumentation
 */
export { type Completion, type Outcome, type ResultCode, errorOf, outcomeOf, outcomeOfThrown } from './result.ts'
export { Task, type TaskBody, type TaskCallback, type TaskState } from './task.ts'
export {
  Scheduler,
  type SchedulerCompletionCallback,
  type SchedulerOptions,
  type SchedulerState,
  type TaskTraceKind,
  type TaskTraceRecord,
} from './scheduler.ts'
export { checkTimeoutMs, driveUntil, progress } from './progress.ts'
export { type EventCompletionCallback, type EventInitOptions, type EventState, TseEvent } from './event.ts'
export { EventQueue, type EventQueueOptions, type EventQueueQuery, type PollOptions } from './event-queue.ts'
export { type RunTaskOptions, runTask, waitEvent, waitTask, whenCompleted } from './promise-facade.ts'
