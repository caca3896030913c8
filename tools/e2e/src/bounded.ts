/**
 * Bounded waiting on the injected `Runtime`: a promise with a deadline, and polling a condition
 * until it holds or time runs out. Every wait of the harness goes through these.
 *
 * @module
 */
import { DerError, type Runtime } from '@x/common'

/** Resolves or rejects as `promise` does, or rejects with `DER_TIMEDOUT` after `timeoutMs`. */
export function withTimeout<T>(runtime: Runtime, promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const handle = runtime.timers.schedule(timeoutMs, () => reject(new DerError('DER_TIMEDOUT', `${what}: no answer within ${timeoutMs} ms`)))
    promise.then(
      (value) => {
        runtime.timers.cancel(handle)
        resolve(value)
      },
      (error: unknown) => {
        runtime.timers.cancel(handle)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

/** Options of {@link waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this long. */
  readonly timeoutMs: number
  /** Pause between attempts (default 250 ms). */
  readonly intervalMs?: number
  /** What is awaited, for the error message. */
  readonly what: string
}

/**
 * Calls `probe` until it returns a value other than `undefined` (an exception counts as "not
 * yet"); rejects with `DER_TIMEDOUT` naming `what` and the last error after `timeoutMs`.
 */
export async function waitUntil<T>(runtime: Runtime, probe: () => Promise<T | undefined> | T | undefined, options: WaitUntilOptions): Promise<T> {
  const start = runtime.clock.monotonicMs()
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
      lastError = undefined
    } catch (e) {
      lastError = e
    }
    const elapsedMs = runtime.clock.monotonicMs() - start
    if (elapsedMs >= options.timeoutMs) {
      const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`
      throw new DerError('DER_TIMEDOUT', `${options.what}: not reached within ${options.timeoutMs} ms${why}`)
    }
    await runtime.timers.sleep(Math.min(options.intervalMs ?? 250, Math.max(1, options.timeoutMs - elapsedMs)))
  }
}
