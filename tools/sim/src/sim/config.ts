/**
 * A simulation's shape, drawn from its seed (swarm testing, as TigerBeetle's VOPR does): cluster
 * size, workload mix and every fault probability come from the seed, so each seed explores a
 * differently shaped world, and the seed alone reproduces the run.
 *
 * @module
 */
import { DerError, Random } from '@x/common'

/** Which families of faults a run may inject. */
export type FaultProfile = 'none' | 'net' | 'disk' | 'crash' | 'all'

/** Every profile name, for validation and help. */
export const faultProfiles: readonly FaultProfile[] = ['none', 'net', 'disk', 'crash', 'all']

/** A deliberately broken safety rule (the mutation check). */
export type Mutation = 'none' | 'ack-before-replicated'

/** Options a caller chooses; everything else is drawn from the seed. */
export interface SimOptions {
  /** The seed: reproduces the whole run. */
  readonly seed: number
  /** Scheduler ticks (of {@link tickMs}) in the safety phase (default drawn: 600..1,500). */
  readonly ticks?: number
  /** Engines (default drawn: 3..5). */
  readonly engines?: number
  /** Fault families (default `all`). */
  readonly faults?: FaultProfile
  /** A broken safety rule to prove the checkers catch it (default none). */
  readonly mutation?: Mutation
}

/** The length of one scheduler tick, in virtual ms. */
export const tickMs = 10

/** Network fault rates of the safety phase (the memory fabric's knobs). */
export interface NetworkFaultRates {
  readonly dropRate: number
  readonly duplicateRate: number
  readonly reorderRate: number
  readonly delayRate: number
  readonly maxDelayMs: number
  readonly resetRate: number
}

/** A fully drawn configuration. */
export interface SimConfig {
  readonly seed: number
  readonly profile: FaultProfile
  readonly mutation: Mutation
  readonly engines: number
  readonly clients: number
  readonly keys: number
  /** The object class of the KV objects (one object per key). */
  readonly objectClass: 'RP_2G1' | 'RP_3G1'
  readonly ticks: number
  /** Virtual ms of the safety phase (ticks x tickMs). */
  readonly safetyMs: number
  /** Virtual ms of the liveness phase after the heal. */
  readonly livenessMs: number
  /** How long each operation may take once the cluster is healed and settled. */
  readonly livenessBoundMs: number
  /** Client RPC timeout. */
  readonly clientTimeoutMs: number
  /** Mean think time between a client's operations. */
  readonly thinkMs: number
  /** Workload mix: probability of put, get, delete (the rest). */
  readonly mix: { readonly put: number; readonly get: number }
  readonly network: NetworkFaultRates
  /** Mean gap between partition events (0: none). */
  readonly partitionEveryMs: number
  /** Mean gap between engine crashes (0: none). */
  readonly crashEveryMs: number
  /** Mean gap between disk fault windows (0: none). */
  readonly diskEveryMs: number
  /** Mean gap between clock skew changes (0: none). */
  readonly clockEveryMs: number
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new DerError('DER_INVAL', message)
}

/** Validates caller options: a `DER_INVAL` naming the bad field. */
export function validateOptions(options: SimOptions): void {
  check(Number.isSafeInteger(options.seed) && options.seed >= 0, `--seed must be a non-negative integer, got ${String(options.seed)}`)
  if (options.ticks !== undefined) check(Number.isSafeInteger(options.ticks) && options.ticks >= 10 && options.ticks <= 1_000_000, `--ticks must be an integer in 10..1000000, got ${String(options.ticks)}`)
  if (options.engines !== undefined) check(Number.isSafeInteger(options.engines) && options.engines >= 3 && options.engines <= 16, `--engines must be an integer in 3..16, got ${String(options.engines)}`)
  if (options.faults !== undefined) check(faultProfiles.includes(options.faults), `--faults must be one of ${faultProfiles.join(', ')}, got ${String(options.faults)}`)
  if (options.mutation !== undefined) check(options.mutation === 'none' || options.mutation === 'ack-before-replicated', `unknown mutation ${String(options.mutation)}`)
}

/** Draws the configuration of a run from its seed and the caller's options. */
export function drawConfig(options: SimOptions): SimConfig {
  validateOptions(options)
  const random = new Random(`sim-config-${options.seed}`)
  const profile = options.faults ?? 'all'
  const net = profile === 'net' || profile === 'all'
  const disk = profile === 'disk' || profile === 'all'
  const crash = profile === 'crash' || profile === 'all'
  const engines = options.engines ?? random.intBetween(3, 5)
  const ticks = options.ticks ?? random.intBetween(600, 1500)
  const pick = (lo: number, hi: number): number => lo + random.float() * (hi - lo)
  const network: NetworkFaultRates = net
    ? {
        dropRate: pick(0, 0.05),
        duplicateRate: pick(0, 0.05),
        reorderRate: pick(0, 0.05),
        delayRate: pick(0, 0.2),
        maxDelayMs: random.intBetween(5, 60),
        resetRate: random.chance(0.5) ? pick(0, 0.005) : 0,
      }
    : { dropRate: 0, duplicateRate: 0, reorderRate: 0, delayRate: 0, maxDelayMs: 20, resetRate: 0 }
  const putShare = pick(0.3, 0.5)
  const getShare = pick(0.3, 1 - putShare - 0.1)
  return {
    seed: options.seed,
    profile,
    mutation: options.mutation ?? 'none',
    engines,
    clients: random.intBetween(2, 4),
    keys: random.intBetween(2, 5),
    objectClass: engines >= 3 && random.chance(0.6) ? 'RP_3G1' : 'RP_2G1',
    ticks,
    safetyMs: ticks * tickMs,
    livenessMs: 5_000,
    livenessBoundMs: 3_000,
    clientTimeoutMs: 2_000,
    thinkMs: random.intBetween(10, 60),
    mix: { put: putShare, get: getShare },
    network,
    partitionEveryMs: net ? random.intBetween(1_000, 4_000) : 0,
    crashEveryMs: crash ? random.intBetween(1_500, 5_000) : 0,
    diskEveryMs: disk ? random.intBetween(1_000, 4_000) : 0,
    clockEveryMs: net ? random.intBetween(1_500, 5_000) : 0,
  }
}
