/**
 * Measured scenarios on a {@link SwimCluster}, shared by the tests and the benchmark.
 *
 * @module
 */
import { type Seed } from '@x/common'
import { type SwimConfig } from '../config.ts'
import { type MemberId } from '../types.ts'
import { SwimCluster } from './swim-cluster.ts'

/** Options of {@link measureCrashDetection}. */
export interface CrashDetectionOptions {
  /** Group size. */
  readonly size: number
  /** Simulation seed. */
  readonly seed: Seed
  /** Configuration of every node. */
  readonly config: SwimConfig
  /** Network loss rate (default 0). */
  readonly lossRate?: number
  /** Time the group runs before the crash (default 5 periods). */
  readonly warmupMs?: number
  /** Give up after this long (default 120 s). */
  readonly timeoutMs?: number
}

/** The outcome of one crash: when the first and the last survivor declared the member dead. */
export interface CrashDetection {
  /** The member that crashed. */
  readonly crashed: MemberId
  /** Crash to the first `dead` event, or undefined if none came in time. */
  readonly firstDeadMs: number | undefined
  /** Crash to the moment every survivor saw it dead, or undefined. */
  readonly allDeadMs: number | undefined
  /** `dead` events about survivors (false positives), over the whole run. */
  readonly falseDeaths: number
  /** Survivors that emitted more than one `dead` event about the crashed member. */
  readonly duplicateDeadEvents: number
}

/** Crashes one random member of a fresh group and measures how long detection and dissemination take. */
export function measureCrashDetection(options: CrashDetectionOptions): CrashDetection {
  const cluster = new SwimCluster({ size: options.size, seed: options.seed, config: options.config, lossRate: options.lossRate ?? 0, wire: false })
  cluster.run(options.warmupMs ?? 5 * options.config.probeIntervalMs)
  const crashed = cluster.runtime.random.int(options.size)
  cluster.crash(crashed)
  const crashedAtMs = cluster.nowMs
  const done = cluster.runUntil(() => cluster.allSee(crashed, 'dead'), options.timeoutMs ?? 120_000, 50)
  const deadEvents = cluster.events.filter((e) => e.member === crashed && e.type === 'dead' && e.atMs >= crashedAtMs)
  const perObserver = new Map<MemberId, number>()
  for (const e of deadEvents) perObserver.set(e.observer, (perObserver.get(e.observer) ?? 0) + 1)
  const firstMs = deadEvents.length > 0 ? Math.min(...deadEvents.map((e) => e.atMs)) - crashedAtMs : undefined
  const lastFirstPerObserver = new Map<MemberId, number>()
  for (const e of deadEvents) if (!lastFirstPerObserver.has(e.observer)) lastFirstPerObserver.set(e.observer, e.atMs)
  return {
    crashed,
    firstDeadMs: firstMs,
    allDeadMs: done ? Math.max(...lastFirstPerObserver.values()) - crashedAtMs : undefined,
    falseDeaths: cluster.events.filter((e) => e.type === 'dead' && e.member !== crashed).length,
    duplicateDeadEvents: [...perObserver.values()].filter((n) => n > 1).length,
  }
}

/** Options of {@link measureFalsePositives}. */
export interface FalsePositiveOptions {
  /** Group size. */
  readonly size: number
  /** Simulation seed. */
  readonly seed: Seed
  /** Configuration of every node. */
  readonly config: SwimConfig
  /** Network loss rate. */
  readonly lossRate: number
  /** Simulated time. */
  readonly durationMs: number
  /** Members whose inbound messages are delayed this much more (slow members). */
  readonly slowMembers?: ReadonlyMap<MemberId, number>
  /** Smallest and largest one-way delay (default 1 and 5 ms). */
  readonly minDelayMs?: number
  /** See `minDelayMs`. */
  readonly maxDelayMs?: number
}

/** What a healthy group (no crash) suffered in a run. */
export interface FalsePositiveRun {
  /** Members wrongly declared dead, counted once per (member, incarnation) whoever declared it. */
  readonly falseDeaths: number
  /** `dead` events about members that never failed, counted per observer. */
  readonly falseDeathEvents: number
  /** Members wrongly suspected, counted once per (member, incarnation) whoever suspected it. */
  readonly falseSuspicions: number
  /** `suspect` events about members that never failed, counted per observer. */
  readonly falseSuspicionEvents: number
  /** Member-hours simulated (size * duration). */
  readonly memberHours: number
  /** Messages sent per member per protocol period (`probeIntervalMs`). */
  readonly messagesPerMemberPerPeriod: number
  /** Bytes sent per member per protocol period. */
  readonly bytesPerMemberPerPeriod: number
  /** False suspicions raised by the slow members (their own probes), when there are any. */
  readonly suspicionsBySlowMembers: number
}

/** Runs a healthy group on a lossy network and counts false suspicions and false deaths. */
export function measureFalsePositives(options: FalsePositiveOptions): FalsePositiveRun {
  const cluster = new SwimCluster({
    size: options.size,
    seed: options.seed,
    config: options.config,
    lossRate: options.lossRate,
    minDelayMs: options.minDelayMs,
    maxDelayMs: options.maxDelayMs,
  })
  const slow = options.slowMembers ?? new Map<MemberId, number>()
  for (const [id, extraMs] of slow) cluster.setInboundDelay(id, extraMs)
  cluster.run(options.durationMs)
  const periods = options.durationMs / options.config.probeIntervalMs
  const distinct = (type: 'dead' | 'suspect'): number => new Set(cluster.events.filter((e) => e.type === type).map((e) => `${e.member}@${e.incarnation}`)).size
  return {
    falseDeaths: distinct('dead'),
    falseDeathEvents: cluster.events.filter((e) => e.type === 'dead').length,
    falseSuspicions: distinct('suspect'),
    falseSuspicionEvents: cluster.events.filter((e) => e.type === 'suspect').length,
    memberHours: (options.size * options.durationMs) / 3_600_000,
    messagesPerMemberPerPeriod: cluster.messagesSent / options.size / periods,
    bytesPerMemberPerPeriod: cluster.bytesSent / options.size / periods,
    suspicionsBySlowMembers: cluster.events.filter((e) => e.type === 'suspect' && slow.has(e.observer) && !slow.has(e.member)).length,
  }
}
