/**
 * SWIM configuration: fields with defaults, the formulas they feed, profiles (memberlist's LAN,
 * WAN and local; DAOS's CaRT defaults) and validation.
 *
 * @module
 */
import { DerError } from '@x/common'

/** Which of Lifeguard's three improvements are on (all by default). */
export interface LifeguardOptions {
  /**
   * Local health awareness: a score that rises when this node misses acks and nacks (or has to
   * refute a suspicion about itself) and falls on each successful probe. The probe interval and
   * the probe timeouts are multiplied by `score + 1`, so a node that is itself slow backs off
   * instead of accusing healthy members.
   */
  readonly localHealthAwareness: boolean
  /**
   * Dynamic suspicion timeouts: a suspicion starts at the maximum timeout and shrinks
   * logarithmically toward the minimum as independent confirmations arrive. When off, every
   * suspicion lasts exactly the minimum timeout (classic SWIM).
   */
  readonly dynamicSuspicion: boolean
  /**
   * Buddy system: a ping to a suspected member always carries the suspicion, so the member hears
   * of it (and refutes it) at the first probe instead of waiting for gossip.
   */
  readonly buddySystem: boolean
}

/** A complete, validated SWIM configuration. Times are milliseconds. */
export interface SwimConfig {
  /** The profile this configuration started from (for logs). */
  readonly profile: string
  /**
   * Protocol period: one direct probe starts every `probeIntervalMs * (healthScore + 1)`.
   * Lower detects faster and costs more messages. DAOS: 1,000 ms.
   */
  readonly probeIntervalMs: number
  /**
   * How long to wait for the direct ack before asking `indirectChecks` helpers
   * (`probeTimeoutMs * (healthScore + 1)`). Should be above the round-trip time at the 99th
   * percentile. DAOS: 900 ms.
   */
  readonly probeTimeoutMs: number
  /**
   * How long to wait for an ack through the helpers after the ping-reqs go out (scaled by the
   * health score). A helper sends a nack when its own ping has not been answered after 80 % of
   * this. DAOS reuses its ping timeout: 900 ms.
   */
  readonly indirectProbeTimeoutMs: number
  /** Helpers asked to ping a target that missed the direct ping (SWIM's k). DAOS: 2. */
  readonly indirectChecks: number
  /**
   * Multiplier of the minimum suspicion timeout, used when `suspicionTimeoutMs` is not set:
   * `suspicionMinMs = suspicionMult * max(1, log10(n)) * probeIntervalMs` with n the number of
   * live members. Also sets Lifeguard's expected confirmations: `k = suspicionMult - 2` (0 when
   * fewer than k other members could confirm).
   */
  readonly suspicionMult: number
  /**
   * A fixed minimum suspicion timeout that replaces the formula above (DAOS: 20,000 ms), or
   * `undefined` for the formula.
   */
  readonly suspicionTimeoutMs: number | undefined
  /**
   * Lifeguard's maximum: `suspicionMaxMs = suspicionMaxTimeoutMult * suspicionMinMs`. A suspicion
   * with c of k confirmations lasts
   * `max(min, max - (max - min) * log(c + 1) / log(k + 1))`. 1 keeps the timeout fixed.
   */
  readonly suspicionMaxTimeoutMult: number
  /**
   * Multiplier of the retransmit limit: each update is piggybacked at most
   * `retransmitMult * ceil(log10(n + 1))` times by each node, n the number of live members.
   */
  readonly retransmitMult: number
  /**
   * Besides piggybacking on probes, every `gossipIntervalMs` a node with queued updates sends
   * them to `gossipFanout` random live members (memberlist's gossip). This cuts the time for all
   * members to learn a verdict from about log2(n) periods to a few gossip intervals; it costs
   * nothing when there is nothing to tell. memberlist LAN: 200 ms.
   */
  readonly gossipIntervalMs: number
  /** Members each gossip round goes to; 0 disables gossip (pure SWIM piggybacking). memberlist LAN: 3. */
  readonly gossipFanout: number
  /** At most this many updates ride on one message (DAOS: 8). */
  readonly maxPiggybackUpdates: number
  /** The health score's cap: it stays in `[0, awarenessMaxMultiplier - 1]`. memberlist: 8. */
  readonly awarenessMaxMultiplier: number
  /**
   * Every this many protocol periods, also ping one random `dead` member (carrying the `dead`
   * update about it). A member that was wrongly declared dead (a partition that healed) refutes
   * and comes back. 0 turns it off.
   */
  readonly deadProbeEveryPeriods: number
  /**
   * DAOS's network-outage rule: when this node has received nothing for more than 2/3 of the
   * minimum suspicion timeout, the fault is probably its own link, so expiring suspicions are
   * postponed (by one probe interval at a time) instead of confirmed. An isolated node then does
   * not declare the whole group dead. On in the DAOS profile.
   */
  readonly outageGuard: boolean
  /** Which Lifeguard improvements are on. */
  readonly lifeguard: LifeguardOptions
}

/** Overrides of a profile: any field of {@link SwimConfig}, `lifeguard` field by field. */
export type SwimConfigInput = Partial<Omit<SwimConfig, 'lifeguard'>> & { readonly lifeguard?: Partial<LifeguardOptions> }

/** The names of the built-in profiles. */
export type SwimProfileName = 'lan' | 'wan' | 'local' | 'daos'

const allLifeguard: LifeguardOptions = { localHealthAwareness: true, dynamicSuspicion: true, buddySystem: true }

/** Lifeguard options with every improvement off: classic SWIM, for comparisons. */
export const lifeguardOff: LifeguardOptions = { localHealthAwareness: false, dynamicSuspicion: false, buddySystem: false }

/**
 * memberlist's LAN profile: 1 s period, 500 ms probe timeout, 3 helpers; the suspicion lasts
 * 4 * log10(n) periods at least and 6 times that at most; a fully unhealthy node probes every
 * 8 s.
 */
export const lanProfile: SwimConfig = {
  profile: 'lan',
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectProbeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionTimeoutMs: undefined,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  maxPiggybackUpdates: 8,
  awarenessMaxMultiplier: 8,
  deadProbeEveryPeriods: 10,
  outageGuard: false,
  lifeguard: allLifeguard,
}

/** memberlist's WAN profile: the LAN profile with a 5 s period, 3 s probe timeout and suspicion multiplier 6. */
export const wanProfile: SwimConfig = {
  ...lanProfile,
  profile: 'wan',
  probeIntervalMs: 5000,
  probeTimeoutMs: 3000,
  indirectProbeTimeoutMs: 3000,
  suspicionMult: 6,
  gossipIntervalMs: 500,
  gossipFanout: 4,
}

/** memberlist's local (loopback) profile: 200 ms probe timeout, 1 helper, suspicion multiplier 3, retransmit multiplier 2. */
export const localProfile: SwimConfig = {
  ...lanProfile,
  profile: 'local',
  probeTimeoutMs: 200,
  indirectProbeTimeoutMs: 200,
  indirectChecks: 1,
  suspicionMult: 3,
  retransmitMult: 2,
  gossipIntervalMs: 100,
}

/**
 * DAOS's CaRT SWIM defaults: 1 s period, 900 ms ping timeout (also for indirect pings), 2
 * indirect pings, a fixed 20 s suspicion timeout and 8 updates per message. The suspicion stays
 * fixed (`suspicionMaxTimeoutMult` 1), so a dead member is confirmed 20 s after its first failed
 * probe; awareness, the buddy system and DAOS's network-outage guard are on. DAOS only piggybacks; this profile adds
 * memberlist's gossip (3 members every 200 ms, only while updates are queued) so that every
 * member learns a verdict within a second of the first (set `gossipFanout` 0 for pure DAOS).
 */
export const daosProfile: SwimConfig = {
  ...lanProfile,
  profile: 'daos',
  probeIntervalMs: 1000,
  probeTimeoutMs: 900,
  indirectProbeTimeoutMs: 900,
  indirectChecks: 2,
  suspicionTimeoutMs: 20_000,
  suspicionMaxTimeoutMult: 1,
  maxPiggybackUpdates: 8,
  outageGuard: true,
}

/** The built-in profiles by name. */
export const swimProfiles: Readonly<Record<SwimProfileName, SwimConfig>> = { lan: lanProfile, wan: wanProfile, local: localProfile, daos: daosProfile }

function invalid(message: string, details: Record<string, unknown>): never {
  throw new DerError('DER_INVAL', `swim config: ${message}`, { details })
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`, { field: name, value })
  }
}

const knownFields = new Set<string>([...Object.keys(lanProfile), 'lifeguard'])
const knownLifeguardFields = new Set<string>(Object.keys(allLifeguard))

/**
 * Builds a configuration from a profile (default `lan`) and overrides, and validates it. Throws
 * `DER_INVAL` naming the field for an unknown field, a non-integer or out-of-range value, a
 * probe timeout not below the period, or a fixed suspicion timeout shorter than one period.
 */
export function resolveSwimConfig(input: SwimConfigInput = {}, profile: SwimProfileName = 'lan'): SwimConfig {
  if (typeof input !== 'object' || input === null) invalid('expected an object of overrides', { input })
  const base = (swimProfiles as Record<string, SwimConfig | undefined>)[profile]
  if (base === undefined) invalid(`unknown profile '${String(profile)}' (lan, wan, local, daos)`, { profile })
  for (const key of Object.keys(input)) {
    if (!knownFields.has(key)) invalid(`unknown field '${key}'`, { field: key })
  }
  const lifeguardInput: unknown = input.lifeguard ?? {}
  if (typeof lifeguardInput !== 'object' || lifeguardInput === null) invalid('lifeguard must be an object', { value: lifeguardInput })
  for (const [key, value] of Object.entries(lifeguardInput)) {
    if (!knownLifeguardFields.has(key)) invalid(`unknown field 'lifeguard.${key}'`, { field: key })
    if (typeof value !== 'boolean') invalid(`lifeguard.${key} must be a boolean, got ${String(value)}`, { field: key, value })
  }
  const config: SwimConfig = { ...base, ...input, lifeguard: { ...base.lifeguard, ...(lifeguardInput as Partial<LifeguardOptions>) } }
  if (typeof config.profile !== 'string') invalid('profile must be a string', { value: config.profile })
  checkInteger('probeIntervalMs', config.probeIntervalMs, 1, 3_600_000)
  checkInteger('probeTimeoutMs', config.probeTimeoutMs, 1, 3_600_000)
  checkInteger('indirectProbeTimeoutMs', config.indirectProbeTimeoutMs, 1, 3_600_000)
  checkInteger('indirectChecks', config.indirectChecks, 0, 64)
  checkInteger('suspicionMult', config.suspicionMult, 1, 1000)
  checkInteger('suspicionMaxTimeoutMult', config.suspicionMaxTimeoutMult, 1, 1000)
  checkInteger('retransmitMult', config.retransmitMult, 1, 1000)
  checkInteger('gossipIntervalMs', config.gossipIntervalMs, 1, 3_600_000)
  checkInteger('gossipFanout', config.gossipFanout, 0, 64)
  checkInteger('maxPiggybackUpdates', config.maxPiggybackUpdates, 0, 1024)
  checkInteger('awarenessMaxMultiplier', config.awarenessMaxMultiplier, 1, 64)
  checkInteger('deadProbeEveryPeriods', config.deadProbeEveryPeriods, 0, 1_000_000)
  if (typeof config.outageGuard !== 'boolean') invalid(`outageGuard must be a boolean, got ${String(config.outageGuard)}`, { field: 'outageGuard', value: config.outageGuard })
  if (config.suspicionTimeoutMs !== undefined) checkInteger('suspicionTimeoutMs', config.suspicionTimeoutMs, 1, 86_400_000)
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    invalid(`probeTimeoutMs (${config.probeTimeoutMs}) must be below probeIntervalMs (${config.probeIntervalMs})`, { probeTimeoutMs: config.probeTimeoutMs, probeIntervalMs: config.probeIntervalMs })
  }
  if (config.suspicionTimeoutMs !== undefined && config.suspicionTimeoutMs < config.probeIntervalMs) {
    invalid(`suspicionTimeoutMs (${config.suspicionTimeoutMs}) must be at least one probe interval (${config.probeIntervalMs})`, { suspicionTimeoutMs: config.suspicionTimeoutMs })
  }
  return Object.freeze({ ...config, lifeguard: Object.freeze({ ...config.lifeguard }) })
}

/** Times each node piggybacks one update: `retransmitMult * ceil(log10(n + 1))`. */
export function retransmitLimit(retransmitMult: number, memberCount: number): number {
  return retransmitMult * Math.ceil(Math.log10(memberCount + 1))
}

/**
 * The minimum suspicion timeout: the fixed `suspicionTimeoutMs`, or
 * `suspicionMult * max(1, log10(n)) * probeIntervalMs`.
 */
export function suspicionMinTimeoutMs(config: SwimConfig, memberCount: number): number {
  if (config.suspicionTimeoutMs !== undefined) return config.suspicionTimeoutMs
  return Math.round(config.suspicionMult * Math.max(1, Math.log10(Math.max(1, memberCount))) * config.probeIntervalMs)
}

/** The maximum suspicion timeout: `suspicionMaxTimeoutMult * suspicionMinMs`. */
export function suspicionMaxTimeoutMs(config: SwimConfig, memberCount: number): number {
  return config.suspicionMaxTimeoutMult * suspicionMinTimeoutMs(config, memberCount)
}

/**
 * Independent confirmations that bring a suspicion down to its minimum: `suspicionMult - 2`, or 0
 * when fewer than that many members besides the suspecter and the suspect exist.
 */
export function suspicionConfirmationsNeeded(config: SwimConfig, memberCount: number): number {
  const k = config.suspicionMult - 2
  return k < 1 || memberCount - 2 < k ? 0 : k
}

/**
 * The configured bound on the time from a member's crash to the first `dead` verdict when the
 * other nodes are healthy: one protocol period until some member probes it (each live member
 * probes once per period, so with n > 2 members the crashed one is usually probed within a
 * period), the failed probe (direct plus indirect timeout), then the suspicion timeout (the
 * maximum with dynamic suspicion, else the minimum).
 */
export function detectionBoundMs(config: SwimConfig, memberCount: number): number {
  const suspicionMs = config.lifeguard.dynamicSuspicion ? suspicionMaxTimeoutMs(config, memberCount) : suspicionMinTimeoutMs(config, memberCount)
  return config.probeIntervalMs + config.probeTimeoutMs + config.indirectProbeTimeoutMs + suspicionMs
}
