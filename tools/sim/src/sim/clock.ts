/**
 * Per-engine clocks for the simulator: every engine shares the virtual monotonic time and timers,
 * but reads a wall clock with its own offset and drift, so HLC epochs of different engines
 * disagree the way real clocks do.
 *
 * @module
 */
import type { Clock, Random, Runtime, Timers } from '@x/common'

/** A wall clock skewed from a base clock by an offset and a drift rate. */
export class SkewedClock implements Clock {
  private offsetMs = 0
  private driftPpm = 0
  private driftSinceMs = 0
  private driftBaseMs = 0

  constructor(private readonly base: Clock) {}

  monotonicMs(): number {
    return this.base.monotonicMs()
  }

  realtimeMs(): number {
    const elapsed = this.base.monotonicMs() - this.driftSinceMs
    return Math.floor(this.base.realtimeMs() + this.offsetMs + this.driftBaseMs + (elapsed * this.driftPpm) / 1e6)
  }

  /** Steps the wall clock by `deltaMs` (negative: back). */
  step(deltaMs: number): void {
    this.offsetMs += deltaMs
  }

  /** Sets the drift rate (parts per million), keeping the clock continuous. */
  setDriftPpm(ppm: number): void {
    const now = this.base.monotonicMs()
    this.driftBaseMs += ((now - this.driftSinceMs) * this.driftPpm) / 1e6
    this.driftSinceMs = now
    this.driftPpm = ppm
  }

  /** The current skew from the base clock, in ms. */
  get skewMs(): number {
    return this.realtimeMs() - this.base.realtimeMs()
  }

  /** Removes offset and drift. */
  reset(): void {
    this.offsetMs = 0
    this.driftPpm = 0
    this.driftBaseMs = 0
    this.driftSinceMs = this.base.monotonicMs()
  }
}

/** A runtime sharing `base`'s timers with a skewed wall clock and a forked random source. */
export function skewedRuntime(base: Runtime, random: Random): { runtime: Runtime; clock: SkewedClock } {
  const clock = new SkewedClock(base.clock)
  const timers: Timers = base.timers
  return { runtime: { clock, timers, random }, clock }
}
