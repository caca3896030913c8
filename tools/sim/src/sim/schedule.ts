/**
 * The fault schedule of a run: a list of timed fault events drawn from the seed before the run
 * starts, so it can be printed, summarized and replayed. Engine-level events name ranks; the
 * cluster turns them into fabric cuts, crashes, device fault settings and clock skews.
 *
 * @module
 */
import { Random } from '@x/common'
import type { SimConfig } from './config.ts'

/** How a partition cuts the network. */
export type PartitionMode = 'isolate-engine' | 'split-engines' | 'one-way' | 'isolate-client'

/** A device fault window. */
export type DiskFault = 'slow' | 'read-errors' | 'bit-flips' | 'write-errors'

/** One scheduled fault. */
export type FaultEvent =
  | {
      readonly kind: 'partition'
      readonly atMs: number
      readonly mode: PartitionMode
      /** Engines on one side (the sender side of a one-way cut). */
      readonly sideA: readonly number[]
      /** Engines on the other side (for `isolate-client`: the engines the client loses). */
      readonly sideB: readonly number[]
      /** The client of an `isolate-client` cut. */
      readonly client?: number | undefined
      readonly durationMs: number
      /** 0: steady; else the cut toggles every `flapMs`. */
      readonly flapMs: number
    }
  | { readonly kind: 'crash'; readonly atMs: number; readonly rank: number; readonly downMs: number }
  | { readonly kind: 'disk'; readonly atMs: number; readonly rank: number; readonly fault: DiskFault; readonly rate: number; readonly durationMs: number }
  | { readonly kind: 'clock'; readonly atMs: number; readonly rank: number; readonly offsetMs: number; readonly driftPpm: number }

/** Counts of a schedule's events by kind. */
export interface ScheduleSummary {
  readonly partitions: number
  readonly oneWay: number
  readonly flapping: number
  readonly crashes: number
  readonly diskWindows: number
  readonly clockChanges: number
}

function gapMs(random: Random, meanMs: number): number {
  return Math.max(50, Math.round(random.exponential(meanMs)))
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const t = out[i] as T
    out[i] = out[j] as T
    out[j] = t
  }
  return out
}

/** Draws the fault schedule of the safety phase from the configuration's seed. */
export function drawSchedule(config: SimConfig): FaultEvent[] {
  const random = new Random(`sim-schedule-${config.seed}`)
  const ranks = Array.from({ length: config.engines }, (_, r) => r)
  const events: FaultEvent[] = []
  const end = config.safetyMs
  if (config.partitionEveryMs > 0) {
    for (let at = gapMs(random, config.partitionEveryMs); at < end; at += gapMs(random, config.partitionEveryMs)) {
      const mode = random.pick<PartitionMode>(['isolate-engine', 'split-engines', 'one-way', 'isolate-client'])
      const order = shuffle(random, ranks)
      const cut = mode === 'split-engines' ? random.intBetween(1, Math.max(1, Math.floor(config.engines / 2))) : 1
      const sideA = order.slice(0, cut).sort((a, b) => a - b)
      const sideB = mode === 'isolate-client' ? order.slice(0, random.intBetween(1, config.engines)).sort((a, b) => a - b) : order.slice(cut).sort((a, b) => a - b)
      const durationMs = random.intBetween(200, 4_000)
      const flapMs = random.chance(0.25) ? random.intBetween(50, 400) : 0
      events.push({ kind: 'partition', atMs: at, mode, sideA, sideB, client: mode === 'isolate-client' ? random.int(config.clients) : undefined, durationMs, flapMs })
    }
  }
  if (config.crashEveryMs > 0) {
    // At most one engine down at a time: the cluster stays recoverable.
    let upAt = 0
    for (let at = gapMs(random, config.crashEveryMs); at < end; at += gapMs(random, config.crashEveryMs)) {
      if (at < upAt) at = upAt + 1
      if (at >= end) break
      const downMs = random.intBetween(100, 3_000)
      events.push({ kind: 'crash', atMs: at, rank: random.pick(ranks), downMs })
      upAt = at + downMs
    }
  }
  if (config.diskEveryMs > 0) {
    for (let at = gapMs(random, config.diskEveryMs); at < end; at += gapMs(random, config.diskEveryMs)) {
      const fault = random.pick<DiskFault>(['slow', 'slow', 'read-errors', 'bit-flips', 'write-errors'])
      const rate = fault === 'slow' ? random.intBetween(1, 30) : 0.005 + random.float() * 0.05
      events.push({ kind: 'disk', atMs: at, rank: random.pick(ranks), fault, rate, durationMs: random.intBetween(200, 3_000) })
    }
  }
  if (config.clockEveryMs > 0) {
    for (let at = gapMs(random, config.clockEveryMs); at < end; at += gapMs(random, config.clockEveryMs)) {
      events.push({ kind: 'clock', atMs: at, rank: random.pick(ranks), offsetMs: random.intBetween(-300, 300), driftPpm: random.intBetween(-5_000, 5_000) })
    }
  }
  return events.sort((a, b) => a.atMs - b.atMs)
}

/** Counts a schedule's events. */
export function summarizeSchedule(events: readonly FaultEvent[]): ScheduleSummary {
  let partitions = 0
  let oneWay = 0
  let flapping = 0
  let crashes = 0
  let diskWindows = 0
  let clockChanges = 0
  for (const e of events) {
    switch (e.kind) {
      case 'partition':
        partitions++
        if (e.mode === 'one-way') oneWay++
        if (e.flapMs > 0) flapping++
        break
      case 'crash':
        crashes++
        break
      case 'disk':
        diskWindows++
        break
      case 'clock':
        clockChanges++
        break
    }
  }
  return { partitions, oneWay, flapping, crashes, diskWindows, clockChanges }
}

/** One line per event, for the CLI. */
export function describeEvent(e: FaultEvent): string {
  const at = `t=${e.atMs}ms`
  switch (e.kind) {
    case 'partition': {
      const flap = e.flapMs > 0 ? `, flapping every ${e.flapMs} ms` : ''
      const what =
        e.mode === 'isolate-client'
          ? `client ${e.client ?? 0} cut from engines [${e.sideB.join(',')}]`
          : e.mode === 'one-way'
            ? `engine ${e.sideA.join(',')} cannot send to [${e.sideB.join(',')}] (one-way)`
            : `engines [${e.sideA.join(',')}] | [${e.sideB.join(',')}]${e.mode === 'isolate-engine' ? ' (isolated, clients too)' : ''}`
      return `${at} partition ${what} for ${e.durationMs} ms${flap}`
    }
    case 'crash':
      return `${at} crash engine ${e.rank}, restart after ${e.downMs} ms`
    case 'disk':
      return `${at} disk ${e.fault} on engine ${e.rank} (${e.fault === 'slow' ? `up to ${e.rate} ms` : `rate ${e.rate.toFixed(3)}`}) for ${e.durationMs} ms`
    case 'clock':
      return `${at} clock of engine ${e.rank}: offset ${e.offsetMs} ms, drift ${e.driftPpm} ppm`
  }
}
