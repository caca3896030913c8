/**
 * The pool map: the pool's targets grouped into failure domains root > host > rank > target,
 * each target with a DAOS component state, and a version bumped on every change. Its CRUSH form
 * ({@link poolMapCrush}) is derived deterministically, so client and engine that hold the same
 * map (same bytes, same version) compute the same placements.
 *
 * @module
 */
import { DerError, assert } from '@x/common'
import { BucketAlg, type CrushMap, CrushMapper, WEIGHT_ONE, applyTunablesProfile, emptyMap, finalizeMap, makeBucket, placeBucket, RuleOp } from '@x/crush'

/** Target (pool component) states, as DAOS names them. */
export const TargetState = {
  /** Added by an extend; placement ignores it until the extend completes. */
  NEW: 'NEW',
  /** Reintegrating: back in the layout, being filled. */
  UP: 'UP',
  /** Up and in: serving. */
  UPIN: 'UPIN',
  /** Failed: excluded, rebuild in progress. */
  DOWN: 'DOWN',
  /** Failed and rebuilt elsewhere. */
  DOWNOUT: 'DOWNOUT',
  /** Being drained: serves I/O, data migrating away. */
  DRAIN: 'DRAIN',
} as const
/** A target state name. */
export type TargetStateName = (typeof TargetState)[keyof typeof TargetState]
/** Wire numbers of the states (stable). */
export const targetStateCodes: Readonly<Record<TargetStateName, number>> = { NEW: 0, UP: 1, UPIN: 2, DOWN: 3, DOWNOUT: 4, DRAIN: 5 }
const stateByCode: readonly TargetStateName[] = ['NEW', 'UP', 'UPIN', 'DOWN', 'DOWNOUT', 'DRAIN']

/** Whether a target in this state takes I/O (DRAIN counts as in; NEW, DOWN and DOWNOUT do not). */
export function isTargetAvailable(state: TargetStateName): boolean {
  return state === 'UPIN' || state === 'UP' || state === 'DRAIN'
}
/** Whether a target in this state is part of the layout (everything but NEW). */
export function isTargetInLayout(state: TargetStateName): boolean {
  return state !== 'NEW'
}

/** One target of the pool. */
export interface PoolTarget {
  /** Pool-wide target id, fixed when the target joins (its CRUSH device id). */
  readonly id: number
  /** The engine rank that owns it. */
  readonly rank: number
  /** Its index inside the rank (the VOS target / xstream index). */
  readonly index: number
  /** Its state. */
  readonly state: TargetStateName
  /** The map version at which it last failed (DAOS's `fseq`), 0 if never. */
  readonly failSeq: number
}

/** One engine rank of the pool. */
export interface PoolRank {
  /** The rank number. */
  readonly rank: number
  /** The host it runs on (its node failure domain). */
  readonly host: string
  /** Its targets, by index. */
  readonly targets: readonly PoolTarget[]
}

/** A pool map. Immutable: every change returns a new map with a higher version. */
export interface PoolMap {
  /** The map version, incremented on every change. */
  readonly version: number
  /** Ranks in the order they joined (fixes their CRUSH ids). */
  readonly ranks: readonly PoolRank[]
}

/** One rank in {@link buildPoolMap}'s input. */
export interface PoolRankSpec {
  /** Rank number (non-negative u32). */
  readonly rank: number
  /** Host name. */
  readonly host: string
  /** Number of targets (1-1024). */
  readonly targets: number
}

/** Limits of a pool map. */
export const poolMapLimits = { maxRanks: 65536, maxTargetsPerRank: 1024, maxHostLength: 255 } as const

/** Builds version 1 of a pool map with every target UPIN (or `state` when given). */
export function buildPoolMap(options: { ranks: readonly PoolRankSpec[]; version?: number; state?: TargetStateName }): PoolMap {
  const ranks: PoolRank[] = []
  let nextId = 0
  const state = options.state ?? 'UPIN'
  for (const spec of options.ranks) {
    ranks.push(makeRank(spec, nextId, state, 0))
    nextId += spec.targets
  }
  const map = { version: options.version ?? 1, ranks }
  validatePoolMap(map)
  return map
}

function makeRank(spec: PoolRankSpec, firstId: number, state: TargetStateName, failSeq: number): PoolRank {
  if (typeof spec !== 'object' || spec === null) throw new DerError('DER_INVAL', 'rank spec must be an object')
  if (!Number.isInteger(spec.targets) || spec.targets < 1 || spec.targets > poolMapLimits.maxTargetsPerRank) {
    throw new DerError('DER_INVAL', `rank ${spec.rank}: target count must be 1-${poolMapLimits.maxTargetsPerRank}, got ${spec.targets}`)
  }
  const targets: PoolTarget[] = []
  for (let i = 0; i < spec.targets; i++) targets.push({ id: firstId + i, rank: spec.rank, index: i, state, failSeq })
  return { rank: spec.rank, host: spec.host, targets }
}

/** Throws `DER_INVAL` unless `map` is consistent (unique ranks and ids, sane hosts and states). */
export function validatePoolMap(map: PoolMap): void {
  if (!Number.isInteger(map.version) || map.version < 1 || map.version > 0xffff_ffff) throw new DerError('DER_INVAL', `pool map version must be a u32 >= 1, got ${map.version}`)
  if (map.ranks.length === 0) throw new DerError('DER_INVAL', 'a pool map needs at least one rank')
  if (map.ranks.length > poolMapLimits.maxRanks) throw new DerError('DER_INVAL', `a pool map holds at most ${poolMapLimits.maxRanks} ranks`)
  const rankNumbers = new Set<number>()
  const ids = new Set<number>()
  for (const r of map.ranks) {
    if (!Number.isInteger(r.rank) || r.rank < 0 || r.rank > 0xffff_fffe) throw new DerError('DER_INVAL', `bad rank number ${r.rank}`)
    if (rankNumbers.has(r.rank)) throw new DerError('DER_INVAL', `rank ${r.rank} appears twice`)
    rankNumbers.add(r.rank)
    if (typeof r.host !== 'string' || r.host.length === 0 || r.host.length > poolMapLimits.maxHostLength) {
      throw new DerError('DER_INVAL', `rank ${r.rank}: host name must be 1-${poolMapLimits.maxHostLength} characters`)
    }
    if (r.targets.length === 0 || r.targets.length > poolMapLimits.maxTargetsPerRank) throw new DerError('DER_INVAL', `rank ${r.rank}: bad target count ${r.targets.length}`)
    r.targets.forEach((t, i) => {
      if (t.index !== i || t.rank !== r.rank) throw new DerError('DER_INVAL', `rank ${r.rank}: target ${i} is mislabelled`)
      if (!Number.isInteger(t.id) || t.id < 0 || t.id >= poolMapLimits.maxRanks * poolMapLimits.maxTargetsPerRank) throw new DerError('DER_INVAL', `bad target id ${t.id}`)
      if (ids.has(t.id)) throw new DerError('DER_INVAL', `target id ${t.id} appears twice`)
      ids.add(t.id)
      if (!(t.state in targetStateCodes)) throw new DerError('DER_INVAL', `rank ${r.rank} target ${i}: unknown state '${String(t.state)}'`)
      if (!Number.isInteger(t.failSeq) || t.failSeq < 0 || t.failSeq > map.version) throw new DerError('DER_INVAL', `rank ${r.rank} target ${i}: bad fseq ${t.failSeq}`)
    })
  }
}

/** All targets of the map, by rank order then index. */
export function poolTargets(map: PoolMap): PoolTarget[] {
  return map.ranks.flatMap((r) => r.targets)
}

/** The target with pool-wide id `id`, or undefined. */
export function targetById(map: PoolMap, id: number): PoolTarget | undefined {
  return poolMapIndex(map).byId.get(id)
}

/** The rank entry for `rank`, or undefined. */
export function findRank(map: PoolMap, rank: number): PoolRank | undefined {
  return map.ranks.find((r) => r.rank === rank)
}

/** The host of each rank and target counts by state, for `pool query`. */
export function targetStateCounts(map: PoolMap): Record<TargetStateName, number> {
  const counts: Record<TargetStateName, number> = { NEW: 0, UP: 0, UPIN: 0, DOWN: 0, DOWNOUT: 0, DRAIN: 0 }
  for (const t of poolTargets(map)) counts[t.state]++
  return counts
}

/** Which targets an operation names: a rank and optionally some of its target indexes (all if absent). */
export interface TargetSelector {
  /** The rank. */
  readonly rank: number
  /** Target indexes inside the rank (default: all). */
  readonly targetIndexes?: readonly number[]
}

/** The pool-map operations DAOS performs on targets. */
export type PoolMapOperation = 'exclude' | 'drain' | 'reintegrate' | 'rebuildDone' | 'reintegrateDone' | 'extendDone'

// Allowed transitions per operation: from-state to to-state. A state not listed is refused.
const transitions: Readonly<Record<PoolMapOperation, Partial<Record<TargetStateName, TargetStateName>>>> = {
  exclude: { UPIN: 'DOWN', UP: 'DOWN', DRAIN: 'DOWN', NEW: 'DOWNOUT' },
  drain: { UPIN: 'DRAIN' },
  reintegrate: { DOWNOUT: 'UP', DOWN: 'UP' },
  rebuildDone: { DOWN: 'DOWNOUT', DRAIN: 'DOWNOUT' },
  reintegrateDone: { UP: 'UPIN' },
  extendDone: { NEW: 'UPIN' },
}

// States an operation passes over when a whole rank is named (already where it leads).
const skippedStates: Readonly<Record<PoolMapOperation, readonly TargetStateName[]>> = {
  exclude: ['DOWN', 'DOWNOUT'],
  drain: ['DRAIN', 'DOWNOUT'],
  reintegrate: ['UPIN', 'UP'],
  rebuildDone: ['DOWNOUT'],
  reintegrateDone: ['UPIN'],
  extendDone: ['UPIN'],
}

/**
 * Applies `operation` to the selected targets and returns the new map with `version + 1`.
 * Targets already where the operation leads are left as they are; a target in a state the
 * operation cannot start from, an unknown rank or index gives `DER_INVAL` (or `DER_NONEXIST`)
 * and the input map is unchanged. `DER_ALREADY` when nothing would change.
 */
export function applyPoolMapOperation(map: PoolMap, operation: PoolMapOperation, selectors: readonly TargetSelector[]): PoolMap {
  const table = transitions[operation]
  if (table === undefined) throw new DerError('DER_INVAL', `unknown pool map operation '${String(operation)}'`)
  if (selectors.length === 0) throw new DerError('DER_INVAL', `${operation}: no targets selected`)
  const version = map.version + 1
  const chosen = new Map<number, Set<number>>()
  for (const sel of selectors) {
    const rank = findRank(map, sel.rank)
    if (rank === undefined) throw new DerError('DER_NONEXIST', `${operation}: rank ${sel.rank} is not in the pool`)
    const set = chosen.get(sel.rank) ?? new Set<number>()
    const indexes = sel.targetIndexes ?? rank.targets.map((t) => t.index)
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= rank.targets.length) throw new DerError('DER_NONEXIST', `${operation}: rank ${sel.rank} has no target index ${i}`)
      set.add(i)
    }
    chosen.set(sel.rank, set)
  }
  const endStates = new Set<TargetStateName>([...Object.values(table), ...skippedStates[operation]])
  let changed = 0
  const ranks = map.ranks.map((r) => {
    const set = chosen.get(r.rank)
    if (set === undefined) return r
    const targets = r.targets.map((t) => {
      if (!set.has(t.index)) return t
      const to = table[t.state]
      if (to === undefined) {
        if (endStates.has(t.state)) return t
        throw new DerError('DER_INVAL', `${operation}: rank ${r.rank} target ${t.index} is ${t.state}`, { details: { rank: r.rank, target: t.index, state: t.state } })
      }
      changed++
      const failed = to === 'DOWN' || (to === 'DOWNOUT' && t.state === 'NEW')
      return { ...t, state: to, failSeq: failed ? version : t.failSeq }
    })
    return { ...r, targets }
  })
  if (changed === 0) throw new DerError('DER_ALREADY', `${operation}: every selected target is already done`)
  return { version, ranks }
}

/** Adds ranks as NEW targets (a pool extend), returning the map with `version + 1`. */
export function extendPoolMap(map: PoolMap, ranks: readonly PoolRankSpec[]): PoolMap {
  if (ranks.length === 0) throw new DerError('DER_INVAL', 'extend: no ranks given')
  let nextId = 0
  for (const t of poolTargets(map)) nextId = Math.max(nextId, t.id + 1)
  const added: PoolRank[] = []
  for (const spec of ranks) {
    added.push(makeRank(spec, nextId, 'NEW', 0))
    nextId += spec.targets
  }
  const next = { version: map.version + 1, ranks: [...map.ranks, ...added] }
  validatePoolMap(next)
  return next
}

/** CRUSH type ids of the pool map's failure domains. */
export const PoolDomainType = { target: 0, rank: 1, host: 2, root: 3 } as const
/** A placement failure-domain level: one shard of a group per rank, or per host. */
export type PoolDomainLevel = 'rank' | 'host'
/** The CRUSH rule of each domain level (`chooseleaf indep 0 type <level>`). */
export const poolRuleIds: Readonly<Record<PoolDomainLevel, number>> = { rank: 0, host: 1 }

interface PoolMapIndex {
  readonly crush: CrushMap
  readonly byId: Map<number, PoolTarget>
  /** Reweights for the layout (NEW = 0, everything else in). */
  readonly layoutWeights: Uint32Array
  /** Reweights for available targets (only UPIN, UP, DRAIN in). */
  readonly availableWeights: Uint32Array
  readonly hostIndexByRank: Map<number, number>
  readonly hostCount: number
  /** A mapper over `crush`, reused by every placement on this map. */
  readonly mapper: CrushMapper
  /** Fault domains with an available target, per level. */
  readonly availableDomains: Readonly<Record<PoolDomainLevel, number>>
  /** Targets in the layout and domains per level, for class checks. */
  readonly fit: Readonly<Record<PoolDomainLevel, { readonly targets: number; readonly domains: number }>>
}
const indexCache = new WeakMap<PoolMap, PoolMapIndex>()

/** The derived CRUSH map and lookup tables of `map` (cached per map object). */
/** @internal */
export function poolMapIndex(map: PoolMap): PoolMapIndex {
  const cached = indexCache.get(map)
  if (cached !== undefined) return cached
  const crush = emptyMap()
  applyTunablesProfile(crush, 'optimal')
  crush.typeNames.set(PoolDomainType.target, 'target')
  crush.typeNames.set(PoolDomainType.rank, 'rank')
  crush.typeNames.set(PoolDomainType.host, 'host')
  crush.typeNames.set(PoolDomainType.root, 'root')
  const byId = new Map<number, PoolTarget>()
  let maxId = 0
  for (const t of poolTargets(map)) maxId = Math.max(maxId, t.id + 1)
  const layoutWeights = new Uint32Array(maxId)
  const availableWeights = new Uint32Array(maxId)
  // Hosts in order of first appearance; bucket ids interleave so that appending ranks or hosts
  // never renumbers an existing bucket: rank i -> -(2 + 2i), host j -> -(3 + 2j), root -1.
  const hostOrder: string[] = []
  const hostIndex = new Map<string, number>()
  const hostIndexByRank = new Map<number, number>()
  const hostItems = new Map<number, { items: number[]; weights: number[] }>()
  map.ranks.forEach((r, i) => {
    const items: number[] = []
    const weights: number[] = []
    for (const t of r.targets) {
      byId.set(t.id, t)
      items.push(t.id)
      weights.push(isTargetInLayout(t.state) ? WEIGHT_ONE : 0)
      crush.names.set(t.id, `target.${r.rank}.${t.index}`)
      layoutWeights[t.id] = isTargetInLayout(t.state) ? WEIGHT_ONE : 0
      availableWeights[t.id] = isTargetAvailable(t.state) ? WEIGHT_ONE : 0
    }
    const rankId = -(2 + 2 * i)
    const bucket = makeBucket(BucketAlg.straw2, 0, PoolDomainType.rank, items, weights, crush.tunables.strawCalcVersion, rankId)
    placeBucket(crush, bucket)
    crush.names.set(rankId, `rank.${r.rank}`)
    let h = hostIndex.get(r.host)
    if (h === undefined) {
      h = hostOrder.length
      hostOrder.push(r.host)
      hostIndex.set(r.host, h)
      hostItems.set(h, { items: [], weights: [] })
    }
    hostIndexByRank.set(r.rank, h)
    const hi = hostItems.get(h)
    assert(hi !== undefined, 'host entry exists')
    hi.items.push(rankId)
    hi.weights.push(bucket.weight)
  })
  const rootItems: number[] = []
  const rootWeights: number[] = []
  hostOrder.forEach((name, j) => {
    const hi = hostItems.get(j)
    assert(hi !== undefined, 'host entry exists')
    const hostId = -(3 + 2 * j)
    const bucket = makeBucket(BucketAlg.straw2, 0, PoolDomainType.host, hi.items, hi.weights, crush.tunables.strawCalcVersion, hostId)
    placeBucket(crush, bucket)
    crush.names.set(hostId, `host.${name}`.slice(0, 64))
    rootItems.push(hostId)
    rootWeights.push(bucket.weight)
  })
  const root = makeBucket(BucketAlg.straw2, 0, PoolDomainType.root, rootItems, rootWeights, crush.tunables.strawCalcVersion, -1)
  placeBucket(crush, root)
  crush.names.set(-1, 'root')
  for (const [level, ruleId] of Object.entries(poolRuleIds) as [PoolDomainLevel, number][]) {
    crush.rules[ruleId] = {
      id: ruleId,
      ruleset: ruleId,
      type: 3,
      minSize: 1,
      maxSize: 255,
      steps: [
        { op: RuleOp.setChooseleafTries, arg1: 5, arg2: 0 },
        { op: RuleOp.setChooseTries, arg1: 100, arg2: 0 },
        { op: RuleOp.take, arg1: -1, arg2: 0 },
        { op: RuleOp.chooseleafIndep, arg1: 0, arg2: PoolDomainType[level] },
        { op: RuleOp.emit, arg1: 0, arg2: 0 },
      ],
    }
    crush.ruleNames.set(ruleId, `pool_${level}`)
  }
  finalizeMap(crush)
  const availableRanks = map.ranks.filter((r) => r.targets.some((t) => isTargetAvailable(t.state)))
  const availableDomains = { rank: availableRanks.length, host: new Set(availableRanks.map((r) => r.host)).size }
  const mapper = new CrushMapper(crush)
  const layoutTargets = layoutTargetCount(map)
  const fit = { rank: { targets: layoutTargets, domains: domainCount(map, 'rank') }, host: { targets: layoutTargets, domains: domainCount(map, 'host') } }
  const index = { crush, byId, layoutWeights, availableWeights, hostIndexByRank, hostCount: hostOrder.length, mapper, availableDomains, fit }
  indexCache.set(map, index)
  return index
}

/** The CRUSH map of `map`: devices are targets; buckets rank, host and one root; two rules. */
export function poolMapCrush(map: PoolMap): CrushMap {
  return poolMapIndex(map).crush
}

/** Fault domains at `level` with at least one target in the layout (not NEW). */
export function domainCount(map: PoolMap, level: PoolDomainLevel): number {
  const domains = new Set<string>()
  for (const r of map.ranks) {
    if (r.targets.some((t) => isTargetInLayout(t.state))) domains.add(level === 'rank' ? `r${r.rank}` : `h${r.host}`)
  }
  return domains.size
}

/** Targets in the layout (not NEW). */
export function layoutTargetCount(map: PoolMap): number {
  return poolTargets(map).filter((t) => isTargetInLayout(t.state)).length
}

/** What the map offers object classes at `level` (targets in the layout and domains). */
export function poolMapFit(map: PoolMap, level: PoolDomainLevel = 'rank'): { targets: number; domains: number } {
  return { targets: layoutTargetCount(map), domains: domainCount(map, level) }
}

/** State name for a wire code; throws `DER_INVAL` on an unknown code. */
export function targetStateFromCode(code: number): TargetStateName {
  const s = stateByCode[code]
  if (s === undefined) throw new DerError('DER_INVAL', `unknown target state code ${code}`)
  return s
}

/** How a request's map version compares with the server's. */
export type MapVersionCheck = 'current' | 'sender-stale' | 'server-stale'

/**
 * Compares the map version a request carries with the server's: `sender-stale` (the server
 * answers `DER_STALE` with its map), `server-stale` (the server must refresh before serving),
 * or `current`.
 */
export function compareMapVersions(senderVersion: number, serverVersion: number): MapVersionCheck {
  if (senderVersion < serverVersion) return 'sender-stale'
  if (senderVersion > serverVersion) return 'server-stale'
  return 'current'
}

/** Throws `DER_STALE` (with both versions in its details) unless the sender's map is current. */
export function checkMapVersion(senderVersion: number, serverVersion: number): void {
  const check = compareMapVersions(senderVersion, serverVersion)
  if (check === 'current') return
  throw new DerError('DER_STALE', check === 'sender-stale' ? `pool map version ${senderVersion} is older than ${serverVersion}` : `server pool map version ${serverVersion} is older than the request's ${senderVersion}`, {
    details: { senderVersion, serverVersion, check },
  })
}
