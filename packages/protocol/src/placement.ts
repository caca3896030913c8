/**
 * Placement: where each shard of an object lives, computed from the object id (its class and
 * group count), the pool map and a failure-domain level, through CRUSH. Pure and deterministic,
 * so client and engine agree.
 *
 * How: each group `g` hashes the oid and `g` into a CRUSH input `x` and maps it through
 * `chooseleaf indep 0 type <rank|host>` over the layout (every target but NEW ones), so a group's
 * shards sit on distinct domains and each position is stable. A shard whose target is not
 * available (DOWN, DOWNOUT) is then remapped on its own, as DAOS's rebuild does: CRUSH with the
 * out targets reweighted to 0, perturbing `x` until it finds a domain the group does not use.
 * So excluding a target moves exactly the shards that were on it.
 *
 * @module
 */
import { DerError } from '@x/common'
import { CRUSH_ITEM_NONE, hash32x2, hash32x3, hash32x4 } from '@x/crush'
import { type ObjectClass, checkFit } from './object-class.ts'
import { type ObjectId, formatObjectId, oidClass, oidGroupCount, validateObjectId } from './object-id.ts'
import { type PoolDomainLevel, type PoolMap, type PoolTarget, domainCount, poolMapIndex, poolRuleIds } from './pool-map.ts'

/** A shard's role in its group. */
export type ShardRole = 'replica' | 'data' | 'parity'

/** One shard of an object. */
export interface ShardPlacement {
  /** The shard index in the object (`group * groupSize + position`). */
  readonly shard: number
  /** The position inside its group (EC: data cells first, then parity). */
  readonly position: number
  /** Its role. */
  readonly role: ShardRole
  /** The pool-wide target id, or undefined when no available target is left for it. */
  readonly targetId: number | undefined
  /** The target's rank (undefined with `targetId`). */
  readonly rank: number | undefined
  /** The target's index inside its rank. */
  readonly targetIndex: number | undefined
  /** Whether this shard was moved off its layout target (which is not available). */
  readonly remapped: boolean
}

/** One redundancy group of an object. */
export interface GroupPlacement {
  /** The group index. */
  readonly group: number
  /** Its shards in position order. */
  readonly shards: readonly ShardPlacement[]
}

/** The layout of one object (`daos object query`). */
export interface ObjectLayout {
  /** The object. */
  readonly oid: ObjectId
  /** Its class. */
  readonly oclass: ObjectClass
  /** The pool map version it was computed from. */
  readonly mapVersion: number
  /** The groups in order. */
  readonly groups: readonly GroupPlacement[]
}

/** Options of {@link placeObject}. */
export interface PlacementOptions {
  /** The failure-domain level that a group's shards must not share (default `rank`). */
  readonly domain?: PoolDomainLevel
}

const maxRemapAttempts = 64
// The largest fixed group count a class names (G32); more is only legal for X resolved on this pool.
const maxFixedGroups = 32

/** The CRUSH input of group `group` of `oid` (a signed 32-bit int, as CRUSH takes it). */
export function placementInput(oid: ObjectId, group: number): number {
  const h = hash32x4(Number(oid.hi >> 32n) | 0, Number(oid.hi & 0xffff_ffffn) | 0, Number(oid.lo >> 32n) | 0, Number(oid.lo & 0xffff_ffffn) | 0)
  return hash32x2(h, group) | 0
}

function roleOf(oclass: ObjectClass, position: number): ShardRole {
  const r = oclass.redundancy
  if (r.kind === 'erasure') return position < r.dataCells ? 'data' : 'parity'
  return 'replica'
}

/**
 * The shards of `oid` on `map`. Throws `DER_INVAL` for a bad id, or when a group needs more
 * domains than the pool has (`grp_size N > domain_nr M`).
 */
export function placeObject(map: PoolMap, oid: ObjectId, options: PlacementOptions = {}): ObjectLayout {
  validateObjectId(oid)
  const level = options.domain ?? 'rank'
  const oclass = oidClass(oid)
  const index = poolMapIndex(map)
  checkFit(oclass, index.fit[level])
  const groupCount = oidGroupCount(oid)
  if (groupCount > maxFixedGroups && groupCount > index.fit[level].targets) {
    throw new DerError('DER_INVAL', `object ${formatObjectId(oid)} has ${groupCount} groups but the pool has only ${index.fit[level].targets} targets`)
  }
  const mapper = index.mapper
  const ruleId = poolRuleIds[level]
  const size = oclass.groupSize
  const out = new Int32Array(size)
  const one = new Int32Array(1)
  const availableDomains = index.availableDomains[level]
  const domainOf = (t: PoolTarget): number => (level === 'rank' ? t.rank : (index.hostIndexByRank.get(t.rank) ?? -1))
  const groups: GroupPlacement[] = []
  for (let g = 0; g < groupCount; g++) {
    const x = placementInput(oid, g)
    out.fill(CRUSH_ITEM_NONE)
    const n = mapper.map(ruleId, x, size, index.layoutWeights, out)
    const targets: (PoolTarget | undefined)[] = []
    for (let p = 0; p < size; p++) {
      const id = p < n ? (out[p] as number) : CRUSH_ITEM_NONE
      targets.push(id === CRUSH_ITEM_NONE ? undefined : index.byId.get(id))
    }
    const remapped: boolean[] = targets.map((t) => t === undefined || index.availableWeights[t.id] === 0)
    for (let p = 0; p < size; p++) {
      if (!(remapped[p] ?? false)) continue
      targets[p] = undefined
      const usedDomains = new Set<number>()
      const usedTargets = new Set<number>()
      for (const t of targets) {
        if (t === undefined) continue
        usedDomains.add(domainOf(t))
        usedTargets.add(t.id)
      }
      const needDistinctDomain = usedDomains.size < availableDomains
      for (let attempt = 1; attempt <= maxRemapAttempts; attempt++) {
        const x2 = hash32x3(x, p, attempt) | 0
        const m = mapper.map(ruleId, x2, 1, index.availableWeights, one)
        if (m < 1 || one[0] === CRUSH_ITEM_NONE) continue
        const t = index.byId.get(one[0] as number)
        if (t === undefined || usedTargets.has(t.id)) continue
        if (needDistinctDomain && usedDomains.has(domainOf(t))) continue
        targets[p] = t
        break
      }
    }
    const shards: ShardPlacement[] = targets.map((t, p) => ({
      shard: g * size + p,
      position: p,
      role: roleOf(oclass, p),
      targetId: t?.id,
      rank: t?.rank,
      targetIndex: t?.index,
      remapped: remapped[p] ?? false,
    }))
    groups.push({ group: g, shards })
  }
  return { oid, oclass, mapVersion: map.version, groups }
}

/** The shards of `oid` as `[[rank, targetIndex], ...]` per group (for tables and goldens). */
export function layoutTable(layout: ObjectLayout): (readonly [number, number] | null)[][] {
  return layout.groups.map((g) => g.shards.map((s) => (s.rank === undefined || s.targetIndex === undefined ? null : ([s.rank, s.targetIndex] as const))))
}

/** A one-line description of a layout (`1.2 RP_3G1 v5: [0:1 2:0 1:3]`). */
export function formatLayout(layout: ObjectLayout): string {
  const groups = layout.groups.map((g) => `[${g.shards.map((s) => (s.rank === undefined ? '-' : `${s.rank}:${s.targetIndex}`)).join(' ')}]`)
  return `${formatObjectId(layout.oid)} ${layout.oclass.name} v${layout.mapVersion}: ${groups.join(' ')}`
}

/** Throws `DER_INVAL` when a class cannot be placed on `map` at `level` (for generation time). */
export function checkPlaceable(map: PoolMap, oclass: ObjectClass, level: PoolDomainLevel = 'rank'): void {
  const domains = domainCount(map, level)
  if (oclass.groupSize > domains) throw new DerError('DER_INVAL', `object class ${oclass.name}: grp_size ${oclass.groupSize} > domain_nr ${domains}`)
}

/**
 * The leader shard of a group: for EC the last available parity shard (DAOS leads EC groups from
 * parity), else the first available shard starting at a position picked by hashing the oid and
 * group, so leaders of different objects spread over a group's shards. Undefined when no shard
 * of the group is available.
 */
export function groupLeader(layout: ObjectLayout, group: number): ShardPlacement | undefined {
  const g = layout.groups[group]
  if (g === undefined) throw new DerError('DER_INVAL', `object ${formatObjectId(layout.oid)} has no group ${group}`)
  const available = g.shards.filter((s) => s.targetId !== undefined)
  if (available.length === 0) return undefined
  const r = layout.oclass.redundancy
  if (r.kind === 'erasure') {
    const parity = available.filter((s) => s.role === 'parity')
    if (parity.length > 0) return parity[parity.length - 1]
    return available[0]
  }
  const size = g.shards.length
  const start = (placementInput(layout.oid, group) >>> 0) % size
  for (let i = 0; i < size; i++) {
    const s = g.shards[(start + i) % size]
    if (s?.targetId !== undefined) return s
  }
  return undefined
}

/** One shard that changed target between two layouts of the same object. */
export interface ShardMove {
  /** The shard index. */
  readonly shard: number
  /** Its target before (undefined if it had none). */
  readonly fromTargetId: number | undefined
  /** Its target after. */
  readonly toTargetId: number | undefined
}

/** The shards whose targets differ between `before` and `after` (what rebuild must move). */
export function layoutMoves(before: ObjectLayout, after: ObjectLayout): ShardMove[] {
  if (before.oid.hi !== after.oid.hi || before.oid.lo !== after.oid.lo) throw new DerError('DER_INVAL', 'layouts of different objects')
  const moves: ShardMove[] = []
  before.groups.forEach((g, gi) => {
    g.shards.forEach((s, si) => {
      const t = after.groups[gi]?.shards[si]
      if (t?.targetId !== s.targetId) moves.push({ shard: s.shard, fromTargetId: s.targetId, toTargetId: t?.targetId })
    })
  })
  return moves
}
