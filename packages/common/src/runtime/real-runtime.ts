/**
 * The real runtime: the platform's clock and timers, and a `Random` seeded from the OS. This is
 * the one module of the repository allowed to touch `Date.now`, `performance.now` and the
 * global timers (the lint rules refuse them everywhere else in packages).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { Random, type Seed } from './random.ts'
import { type Clock, type Runtime, type TimerHandle, type TimerOptions, type Timers, checkDelayMs, sleepWith } from './runtime.ts'

class RealClock implements Clock {
  monotonicMs(): number {
    return performance.now()
  }
  realtimeMs(): number {
    return Date.now()
  }
}

interface RealTimerHandle extends TimerHandle {
  native: ReturnType<typeof setTimeout> | undefined
  /** Set instead of `native` for zero delays. */
  immediate?: ReturnType<typeof setImmediate> | undefined
}

class RealTimers implements Timers {
  private nextId = 1

  schedule(delayMs: number, callback: () => void, options: TimerOptions = {}): TimerHandle {
    checkDelayMs(delayMs, 'schedule(): delayMs')
    const handle: RealTimerHandle = { id: this.nextId++, native: undefined }
    if (delayMs === 0) {
      // A zero delay runs on the next turn of the event loop, after pending I/O: `setTimeout(0)`
      // would wait at least 1 ms, which is the whole budget of an in-process RPC hop.
      handle.immediate = setImmediate(() => {
        handle.immediate = undefined
        callback()
      })
      if (options.unref === true) handle.immediate.unref()
      return handle
    }
    handle.native = setTimeout(() => {
      handle.native = undefined
      callback()
    }, delayMs)
    if (options.unref === true) handle.native.unref()
    return handle
  }

  repeat(periodMs: number, callback: () => void, options: TimerOptions = {}): TimerHandle {
    checkDelayMs(periodMs, 'repeat(): periodMs')
    if (periodMs === 0) throw new RangeError('repeat(): periodMs must be > 0')
    const handle: RealTimerHandle = { id: this.nextId++, native: setInterval(callback, periodMs) }
    if (options.unref === true) handle.native?.unref()
    return handle
  }

  cancel(handle: TimerHandle): void {
    const immediate = (handle as RealTimerHandle).immediate
    if (immediate !== undefined) {
      clearImmediate(immediate)
      ;(handle as RealTimerHandle).immediate = undefined
    }
    const native = (handle as RealTimerHandle).native
    if (native !== undefined) {
      clearTimeout(native)
      ;(handle as RealTimerHandle).native = undefined
    }
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, delayMs, signal)
  }
}

/** Options of {@link createRealRuntime}. */
export interface RealRuntimeInit {
  /** Seed of the runtime's `Random`; by default 64 bits from the OS. */
  readonly seed?: Seed
}

/** A runtime on the platform's clock and timers. */
export function createRealRuntime(init: RealRuntimeInit = {}): Runtime {
  const seed = init.seed ?? randomBytes(8).readBigUInt64LE()
  return { clock: new RealClock(), timers: new RealTimers(), random: new Random(seed) }
}

/**
 * Resolves once every pending microtask (and those they queue) has run: the virtual runtime
 * calls it between timers so that promise continuations see the instant their timer fired.
 */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
