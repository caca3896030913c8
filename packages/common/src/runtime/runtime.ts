/**
 * The `Runtime` contract: time, timers and randomness, injected into every package so that the
 * whole system can run under a virtual clock with a seed.
 *
 * @module
 */
import type { Random } from './random.ts'

/** Time as the runtime sees it. */
export interface Clock {
  /** Milliseconds on a clock that never goes backwards (fractions allowed). */
  monotonicMs(): number
  /** Milliseconds since the Unix epoch; may step backwards or forwards (NTP, drift, jumps). */
  realtimeMs(): number
}

/** A scheduled callback, as returned by {@link Timers.schedule} and {@link Timers.repeat}. */
export interface TimerHandle {
  /** A number unique among this runtime's timers. */
  readonly id: number
}

/** Options of {@link Timers.schedule} and {@link Timers.repeat}. */
export interface TimerOptions {
  /** Real runtime only: the timer does not keep the process alive. */
  readonly unref?: boolean
}

/** Deferred callbacks. Callbacks due at the same instant run in the order they were scheduled. */
export interface Timers {
  /** Runs `callback` once after `delayMs` (0 means "as soon as possible, after the caller"). */
  schedule(delayMs: number, callback: () => void, options?: TimerOptions): TimerHandle
  /** Runs `callback` every `periodMs` until cancelled. */
  repeat(periodMs: number, callback: () => void, options?: TimerOptions): TimerHandle
  /** Cancels a timer; cancelling one that already fired or was cancelled does nothing. */
  cancel(handle: TimerHandle): void
  /** Resolves after `delayMs`; rejects with the signal's reason if `signal` aborts first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>
}

/** Everything a package needs from its environment besides I/O. */
export interface Runtime {
  readonly clock: Clock
  readonly timers: Timers
  /** The runtime's seeded random stream; `random.fork()` gives components their own. */
  readonly random: Random
}

/** Rejects bad delays with a clear message (negative, NaN, infinite). */
export function checkDelayMs(delayMs: number, what: string): void {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new RangeError(`${what} must be a finite number of milliseconds >= 0, got ${delayMs}`)
  }
}

/** `sleep` on any `Timers`, honouring an `AbortSignal`. */
export function sleepWith(timers: Timers, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      timers.cancel(handle)
      reject(signal?.reason as Error)
    }
    const handle = timers.schedule(delayMs, () => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
