/**
 * `progress(sched, timeoutMs)`: drives a scheduler, waiting on the runtime's timers for delayed
 * tasks and for completions that arrive from elsewhere (network callbacks, promises).
 *
 * @module
 */
import { DerError } from '@x/common'
import type { Scheduler } from './scheduler.ts'

/** Rejects timeouts that are not a number >= 0 (`Infinity` allowed). */
export function checkTimeoutMs(timeoutMs: number): void {
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) throw new DerError('DER_INVAL', `timeoutMs must be >= 0 or Infinity, got ${timeoutMs}`)
}

/**
 * Progresses `scheduler` until it has no work left or `timeoutMs` of runtime time passed
 * (0: one pass; `Infinity`: until done). Between passes it sleeps until a task becomes ready or
 * completes, or a delayed task is due. Resolves to whether work remains.
 */
export async function progress(scheduler: Scheduler, timeoutMs = 0): Promise<boolean> {
  checkTimeoutMs(timeoutMs)
  return driveUntil(scheduler, () => false, timeoutMs)
}

/**
 * Progresses `scheduler` until `done()` holds, the scheduler has no work left, or `timeoutMs`
 * passed. Resolves to whether work remains.
 */
export async function driveUntil(scheduler: Scheduler, done: () => boolean, timeoutMs: number): Promise<boolean> {
  const clock = scheduler.runtime.clock
  const deadline = clock.monotonicMs() + timeoutMs
  for (;;) {
    const busy = scheduler.progress()
    if (!busy || done()) return busy
    const now = clock.monotonicMs()
    const remaining = deadline - now
    if (remaining <= 0) return true
    await scheduler.waitForActivity(Math.min(remaining, Math.max(0, scheduler.nextWakeupMs - now)))
  }
}
