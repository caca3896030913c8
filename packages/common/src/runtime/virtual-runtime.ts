/**
 * The virtual runtime: a clock that moves only when told to, timers fired in a deterministic
 * order, and a seeded `Random`. One seed reproduces a whole run.
 *
 * @module
 */
import { assert } from '../assert.ts'
import { Random, type Seed } from './random.ts'
import { drainMicrotasks } from './real-runtime.ts'
import { type Clock, type Runtime, type TimerHandle, type Timers, checkDelayMs, sleepWith } from './runtime.ts'

interface VirtualTimer extends TimerHandle {
  dueMs: number
  /** Order among timers due at the same instant: the order they were (re)scheduled in. */
  sequence: number
  periodMs: number | undefined
  callback: () => void
  cancelled: boolean
}

/** A binary min-heap of timers ordered by (dueMs, sequence). */
class TimerHeap {
  private readonly items: VirtualTimer[] = []

  get size(): number {
    return this.items.length
  }

  peek(): VirtualTimer | undefined {
    return this.items[0]
  }

  push(timer: VirtualTimer): void {
    this.items.push(timer)
    let i = this.items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): VirtualTimer | undefined {
    const top = this.items[0]
    const last = this.items.pop()
    if (top === undefined || last === undefined || this.items.length === 0) return top
    this.items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < this.items.length && this.before(left, smallest)) smallest = left
      if (right < this.items.length && this.before(right, smallest)) smallest = right
      if (smallest === i) break
      this.swap(i, smallest)
      i = smallest
    }
    return top
  }

  private before(a: number, b: number): boolean {
    const x = this.items[a] as VirtualTimer
    const y = this.items[b] as VirtualTimer
    return x.dueMs < y.dueMs || (x.dueMs === y.dueMs && x.sequence < y.sequence)
  }

  private swap(a: number, b: number): void {
    const t = this.items[a] as VirtualTimer
    this.items[a] = this.items[b] as VirtualTimer
    this.items[b] = t
  }
}

/** Options of {@link VirtualRuntime}. */
export interface VirtualRuntimeInit {
  /** Seed of the runtime's `Random`. */
  readonly seed: Seed
  /** The wall-clock time at virtual instant 0 (default 2026-01-01T00:00:00Z). */
  readonly realtimeStartMs?: number
}

/** The clock of a {@link VirtualRuntime}: monotonic time plus a steppable, drifting wall clock. */
export class VirtualClock implements Clock {
  private nowMs = 0
  private realtimeOffsetMs: number
  private driftPpm = 0

  constructor(realtimeStartMs: number) {
    this.realtimeOffsetMs = realtimeStartMs
  }

  monotonicMs(): number {
    return this.nowMs
  }

  realtimeMs(): number {
    return Math.floor(this.realtimeOffsetMs + this.nowMs * (1 + this.driftPpm / 1e6))
  }

  /** Steps the wall clock by `deltaMs` (negative steps it back); monotonic time is unaffected. */
  stepRealtime(deltaMs: number): void {
    this.realtimeOffsetMs += deltaMs
  }

  /** Makes the wall clock run fast (positive) or slow (negative) by `ppm` parts per million. */
  setDriftPpm(ppm: number): void {
    // Keep realtime continuous at the moment the rate changes.
    const current = this.realtimeOffsetMs + this.nowMs * (1 + this.driftPpm / 1e6)
    this.driftPpm = ppm
    this.realtimeOffsetMs = current - this.nowMs * (1 + ppm / 1e6)
  }

  /** @internal moves monotonic time; only the runtime calls it. */
  setNow(nowMs: number): void {
    assert(nowMs >= this.nowMs, 'virtual time never goes backwards')
    this.nowMs = nowMs
  }
}

/**
 * A runtime whose time moves only through {@link VirtualRuntime.advance},
 * {@link VirtualRuntime.advanceSync}, {@link VirtualRuntime.runUntilIdle} and
 * {@link VirtualRuntime.runUntil}. Timers due at the same instant fire in scheduling order.
 */
export class VirtualRuntime implements Runtime {
  readonly clock: VirtualClock
  readonly timers: Timers
  readonly random: Random
  private readonly heap = new TimerHeap()
  private nextId = 1
  private nextSequence = 0
  private oneShotPending = 0

  constructor(init: VirtualRuntimeInit) {
    this.random = new Random(init.seed)
    this.clock = new VirtualClock(init.realtimeStartMs ?? Date.UTC(2026, 0, 1))
    this.timers = {
      schedule: (delayMs, callback) => {
        checkDelayMs(delayMs, 'schedule(): delayMs')
        return this.add(delayMs, undefined, callback)
      },
      repeat: (periodMs, callback) => {
        checkDelayMs(periodMs, 'repeat(): periodMs')
        if (periodMs === 0) throw new RangeError('repeat(): periodMs must be > 0')
        return this.add(periodMs, periodMs, callback)
      },
      cancel: (handle) => {
        const timer = handle as VirtualTimer
        if (timer.cancelled) return
        timer.cancelled = true
        if (timer.periodMs === undefined) this.oneShotPending--
      },
      sleep: (delayMs, signal) => sleepWith(this.timers, delayMs, signal),
    }
  }

  /** Virtual milliseconds since the runtime was created. */
  get nowMs(): number {
    return this.clock.monotonicMs()
  }

  /** One-shot timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.oneShotPending
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way, synchronously. Promise
   * continuations queued by the callbacks run only after this returns: use it for
   * callback-driven (pure) code, and {@link advance} for promise-based code.
   */
  advanceSync(ms: number): number {
    checkDelayMs(ms, 'advanceSync(): ms')
    const target = this.nowMs + ms
    let fired = 0
    while (this.fireNextDueBy(target)) fired++
    this.clock.setNow(target)
    return fired
  }

  /** Moves time forward by `ms`, firing due timers and letting promise continuations run between them. */
  async advance(ms: number): Promise<number> {
    checkDelayMs(ms, 'advance(): ms')
    const target = this.nowMs + ms
    let fired = 0
    await drainMicrotasks()
    while (this.fireNextDueBy(target)) {
      fired++
      await drainMicrotasks()
    }
    this.clock.setNow(target)
    return fired
  }

  /**
   * Fires timers in order until no one-shot timer is pending (repeating timers fire along the
   * way but do not keep the runtime busy). Throws after `maxTimers` firings: a loop that keeps
   * scheduling work is a bug to see, not a hang.
   */
  async runUntilIdle(maxTimers = 1_000_000): Promise<number> {
    let fired = 0
    await drainMicrotasks()
    while (this.oneShotPending > 0) {
      if (fired >= maxTimers) throw new Error(`runUntilIdle(): still busy after ${maxTimers} timers`)
      if (this.fireNextDueBy(Number.POSITIVE_INFINITY)) fired++
      await drainMicrotasks()
    }
    return fired
  }

  /**
   * Fires timers in order until `predicate()` holds or `timeoutMs` of virtual time passed;
   * returns whether the predicate held.
   */
  async runUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    checkDelayMs(timeoutMs, 'runUntil(): timeoutMs')
    const deadline = this.nowMs + timeoutMs
    await drainMicrotasks()
    while (!predicate()) {
      if (!this.fireNextDueBy(deadline)) {
        this.clock.setNow(deadline)
        return predicate()
      }
      await drainMicrotasks()
    }
    return true
  }

  /**
   * Drives virtual time (as {@link runUntil}) until `promise` settles, then returns its outcome:
   * its value, or its rejection. Throws, naming the seed, when it has not settled within
   * `timeoutMs` of virtual time.
   */
  async settle<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
    let settled = false
    const tracked = promise.finally(() => {
      settled = true
    })
    tracked.catch(() => undefined) // observed below; keeps an early rejection from being reported as unhandled
    if (!(await this.runUntil(() => settled, timeoutMs))) {
      throw new Error(`seed ${this.random.seed}: the promise did not settle within ${timeoutMs} ms of virtual time`)
    }
    return tracked
  }

  private add(delayMs: number, periodMs: number | undefined, callback: () => void): TimerHandle {
    const timer: VirtualTimer = {
      id: this.nextId++,
      dueMs: this.nowMs + delayMs,
      sequence: this.nextSequence++,
      periodMs,
      callback,
      cancelled: false,
    }
    if (periodMs === undefined) this.oneShotPending++
    this.heap.push(timer)
    return timer
  }

  /** Fires the earliest live timer if it is due at or before `limitMs`. */
  private fireNextDueBy(limitMs: number): boolean {
    for (;;) {
      const top = this.heap.peek()
      if (top === undefined || top.dueMs > limitMs) return false
      this.heap.pop()
      if (top.cancelled) continue
      this.clock.setNow(top.dueMs)
      if (top.periodMs === undefined) {
        top.cancelled = true
        this.oneShotPending--
      } else {
        top.dueMs += top.periodMs
        top.sequence = this.nextSequence++
        this.heap.push(top)
      }
      top.callback()
      return true
    }
  }
}
