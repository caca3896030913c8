/**
 * Event queues (DAOS's `daos_eq_*`): each owns a scheduler for the tasks of its events, keeps its
 * running and completed events, and hands completed ones out through {@link EventQueue.poll}.
 *
 * @module
 */
import { DerError, type Runtime } from '@x/common'
import type { TseEvent } from './event.ts'
import { Scheduler, type TaskTraceRecord } from './scheduler.ts'

/** Options of an {@link EventQueue}. */
export interface EventQueueOptions {
  /** Time for poll timeouts and the queue's scheduler. */
  readonly runtime: Runtime
  /** A label for errors and traces. */
  readonly name?: string
  /** Passed to the queue's scheduler (see `SchedulerOptions.autoProgress`). */
  readonly autoProgress?: boolean
  /** Passed to the queue's scheduler (see `SchedulerOptions.trace`). */
  readonly trace?: (record: TaskTraceRecord) => void
}

/** Which events {@link EventQueue.query} lists (`DAOS_EQR_COMPLETED`, `DAOS_EQR_WAITING`, `DAOS_EQR_ALL`). */
export type EventQueueQuery = 'completed' | 'running' | 'all'

/** Options of {@link EventQueue.poll}. */
export interface PollOptions {
  /** Stop waiting when no event is running (nothing could complete): DAOS's `wait_running`. */
  readonly waitRunning?: boolean
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new DerError('DER_INVAL', `${what} must be an integer >= 0, got ${value}`)
}

/**
 * An event queue. Events initialized on it report their completion here; {@link poll} progresses
 * the queue's scheduler and reaps completed events (which become ready again).
 */
export class EventQueue {
  /** The queue's own scheduler: tasks of its events run here. */
  readonly scheduler: Scheduler
  /** A label for errors and traces. */
  readonly name: string
  /** @internal launched top-level events, in launch order. */ readonly _running = new Set<TseEvent>()
  /** @internal completed or aborted top-level events not reaped yet, in completion order. */ readonly _completed = new Set<TseEvent>()
  /** @internal */ _destroyed = false

  constructor(options: EventQueueOptions) {
    this.name = options.name ?? 'eq'
    this.scheduler = new Scheduler({
      runtime: options.runtime,
      name: `${this.name}.sched`,
      ...(options.autoProgress === undefined ? {} : { autoProgress: options.autoProgress }),
      ...(options.trace === undefined ? {} : { trace: options.trace }),
    })
  }

  /** Whether {@link destroy} succeeded. */
  get destroyed(): boolean {
    return this._destroyed
  }

  /** Top-level events in flight. */
  get runningCount(): number {
    return this._running.size
  }

  /** Top-level events completed or aborted and not reaped yet. */
  get completedCount(): number {
    return this._completed.size
  }

  /**
   * Progresses the scheduler once and reaps up to `max` done events, in completion order: each
   * becomes `ready` again. A parent is reaped only once none of its children runs.
   */
  pollNow(max: number): TseEvent[] {
    this.#checkAlive('poll')
    checkCount(max, 'max')
    if (max === 0) throw new DerError('DER_INVAL', 'max must be at least 1')
    this.scheduler.progress()
    const out: TseEvent[] = []
    this.#harvest(out, max)
    return out
  }

  /**
   * Reaps done events (`daos_eq_poll`): progresses the scheduler and waits, up to `timeoutMs` of
   * runtime time (`Infinity`: no limit; 0: no wait), until at least `min` events were reaped, and
   * returns at most `max` of them (fewer on timeout). Refused with `DER_INVAL` for bad counts,
   * `DER_NONEXIST` once the queue is destroyed.
   */
  async poll(min: number, max: number, timeoutMs: number, options: PollOptions = {}): Promise<TseEvent[]> {
    this.#checkAlive('poll')
    checkCount(min, 'min')
    checkCount(max, 'max')
    if (max === 0 || min > max) throw new DerError('DER_INVAL', `poll needs 0 <= min <= max and max >= 1, got min=${min} max=${max}`)
    if (Number.isNaN(timeoutMs) || timeoutMs < 0) throw new DerError('DER_INVAL', `timeoutMs must be >= 0 or Infinity, got ${timeoutMs}`)
    const clock = this.scheduler.runtime.clock
    const deadline = clock.monotonicMs() + timeoutMs
    const out: TseEvent[] = []
    for (;;) {
      if (this._destroyed) {
        if (out.length > 0) return out
        throw new DerError('DER_NONEXIST', `event queue ${this.name} was destroyed while polling`)
      }
      this.scheduler.progress()
      this.#harvest(out, max)
      if (out.length >= min || out.length >= max) return out
      if (options.waitRunning === true && this._running.size === 0 && this._completed.size === 0) return out
      const now = clock.monotonicMs()
      const remaining = deadline - now
      if (remaining <= 0) return out
      await this.scheduler.waitForActivity(Math.min(remaining, Math.max(0, this.scheduler.nextWakeupMs - now)))
    }
  }

  /**
   * Lists events without reaping them (`daos_eq_query`): completed ones first, then running ones.
   * The events still belong to the queue: the caller may abort them, not complete them.
   */
  query(kind: EventQueueQuery = 'all'): TseEvent[] {
    this.#checkAlive('query')
    const out: TseEvent[] = []
    if (kind === 'completed' || kind === 'all') out.push(...this._completed)
    if (kind === 'running' || kind === 'all') out.push(...this._running)
    return out
  }

  /**
   * Destroys the queue (`daos_eq_destroy`). Without `force` it is refused with `DER_BUSY` (nothing
   * changes) while events are running or completed and not reaped. With `force`, running events
   * are aborted, unreaped ones forgotten, and the scheduler is cancelled. Destroying twice gives
   * `DER_NONEXIST`.
   */
  destroy(force = false): void {
    this.#checkAlive('destroy')
    if (!force && (this._running.size > 0 || this._completed.size > 0)) {
      throw new DerError('DER_BUSY', `event queue ${this.name} has ${this._running.size} running and ${this._completed.size} unreaped event(s)`, {
        details: { running: this._running.size, completed: this._completed.size },
      })
    }
    this._destroyed = true
    this.scheduler.progress()
    for (const event of [...this._running]) event._abortForDestroy()
    this._running.clear()
    this._completed.clear()
    this.scheduler.complete(0, true)
  }

  /** A short description for logs. */
  toString(): string {
    return `EventQueue(${this.name}, running=${this._running.size}, completed=${this._completed.size}${this._destroyed ? ', destroyed' : ''})`
  }

  #checkAlive(what: string): void {
    if (this._destroyed) throw new DerError('DER_NONEXIST', `cannot ${what}: event queue ${this.name} was destroyed`)
  }

  #harvest(out: TseEvent[], max: number): void {
    for (const event of this._completed) {
      if (out.length >= max) return
      if (!event._isHarvestable()) continue
      event._harvest()
      out.push(event)
    }
  }
}
