/**
 * A seeded fault schedule for the real-process chaos test: kill -9 then restart, or SIGSTOP then
 * SIGCONT, one engine at a time (so a majority of access points and two of three replicas stay
 * up), at seeded instants. Pure: the same options give the same schedule.
 *
 * @module
 */
import { DerError, Random } from '@x/common'

/** One fault action. */
export type ChaosAction = 'kill9' | 'restart' | 'pause' | 'resume'

/** One scheduled action on one engine. */
export interface ChaosEvent {
  /** When, in ms after the workload starts. */
  readonly atMs: number
  readonly action: ChaosAction
  /** The daemon index. */
  readonly engine: number
}

/** Options of {@link chaosSchedule}. */
export interface ChaosScheduleOptions {
  readonly seed: number
  /** Daemons in the cluster (at least 3). */
  readonly engines: number
  /** Faults are injected within `[0, durationMs)`; every fault is healed by `durationMs`. */
  readonly durationMs: number
  /** Faults to inject (default 3). */
  readonly faults?: number
  /** How long a paused engine stays paused (default 1,500..4,000 ms, seeded). */
  readonly pauseMs?: readonly [number, number]
  /** How long a killed engine stays down before its restart (default 1,000..3,000 ms, seeded). */
  readonly downMs?: readonly [number, number]
  /** Engines never touched (for example the one the client talks to first). */
  readonly spare?: readonly number[]
}

/** Builds the schedule; events are sorted by time and never overlap on engines. */
export function chaosSchedule(options: ChaosScheduleOptions): ChaosEvent[] {
  const { seed, engines, durationMs } = options
  if (!Number.isInteger(engines) || engines < 3) throw new DerError('DER_INVAL', `the chaos schedule needs at least 3 engines, got ${engines}`)
  if (!(durationMs > 0)) throw new DerError('DER_INVAL', `durationMs must be > 0, got ${durationMs}`)
  const faults = options.faults ?? 3
  const random = new Random(seed)
  const [pauseMin, pauseMax] = options.pauseMs ?? [1500, 4000]
  const [downMin, downMax] = options.downMs ?? [1000, 3000]
  const candidates = Array.from({ length: engines }, (_, i) => i).filter((i) => !(options.spare ?? []).includes(i))
  if (candidates.length === 0) throw new DerError('DER_INVAL', 'every engine is spared')
  const slotMs = durationMs / faults
  const events: ChaosEvent[] = []
  for (let f = 0; f < faults; f++) {
    const engine = candidates[random.int(candidates.length)] as number
    const kill = random.chance(0.5)
    const [min, max] = kill ? [downMin, downMax] : [pauseMin, pauseMax]
    const lengthMs = Math.min(random.intBetween(min, max), slotMs * 0.8)
    const startMs = Math.floor(f * slotMs + random.float() * Math.max(0, slotMs - lengthMs) * 0.5)
    const endMs = Math.floor(startMs + lengthMs)
    events.push({ atMs: startMs, action: kill ? 'kill9' : 'pause', engine })
    events.push({ atMs: endMs, action: kill ? 'restart' : 'resume', engine })
  }
  return events.sort((a, b) => a.atMs - b.atMs)
}

/** One line per event: `1200ms kill9 engine 2`. */
export function describeSchedule(events: readonly ChaosEvent[]): string {
  return events.map((e) => `${e.atMs}ms ${e.action} engine ${e.engine}`).join('\n')
}
