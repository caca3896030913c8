/**
 * Object classes: how an object's shards are protected (none, N-way replication, or Reed-Solomon
 * k+p erasure coding) and how many redundancy groups it spreads over, with DAOS's numeric ids
 * (`OBJ_CLASS_DEF(redun, grp_nr) = redun << 24 | grp_nr`, `enum daos_obj_redun`).
 *
 * @module
 */
import { DerError } from '@x/common'

/** The group count DAOS stores for "X" (as many groups as fit the targets): `MAX_NUM_GROUPS`. */
export const GROUPS_MAX = 0xffff
/** The shift of the redundancy id in a class id (`OC_REDUN_SHIFT`). */
export const CLASS_REDUN_SHIFT = 24

/** How one group's shards protect the data. */
export type Redundancy =
  | { readonly kind: 'none' }
  | { readonly kind: 'replication'; readonly replicas: number }
  | { readonly kind: 'erasure'; readonly dataCells: number; readonly parityCells: number }

/** One object class. */
export interface ObjectClass {
  /** The name as DAOS spells it without `OC_` (`RP_3GX`). */
  readonly name: string
  /** DAOS's numeric class id (`redun << 24 | groups`). */
  readonly id: number
  /** DAOS's redundancy id (`OR_RP_3` = 9, `OR_RS_2P1` = 32, ...). */
  readonly redunId: number
  /** The protection of each group. */
  readonly redundancy: Redundancy
  /** Shards per group (1, the replica count, or k + p). */
  readonly groupSize: number
  /** The fixed group count, or {@link GROUPS_MAX} for X. */
  readonly groups: number
  /** Whether the group count is X (resolved against the pool when an id is generated). */
  readonly groupsMax: boolean
  /** How many fault domains may fail without data loss (replicas - 1, parity count, or 0). */
  readonly faultTolerance: number
}

const replicaRedunIds: ReadonlyMap<number, number> = new Map([
  [1, 1],
  [2, 8],
  [3, 9],
  [4, 10],
  [5, 11],
  [6, 12],
  [8, 13],
  [12, 14],
  [16, 15],
  [24, 16],
  [32, 17],
  [48, 18],
  [64, 19],
  [128, 20],
])
// OR_RS_2P1 = 32 onwards, in DAOS's enum order.
const erasureRedunIds: ReadonlyMap<string, number> = new Map([
  ['2P1', 32],
  ['2P2', 33],
  ['4P1', 34],
  ['4P2', 35],
  ['8P1', 36],
  ['8P2', 37],
  ['16P1', 38],
  ['16P2', 39],
  ['4P3', 40],
  ['8P3', 41],
  ['16P3', 42],
])
const groupChoices = [1, 2, 4, 6, 8, 12, 16, 32, GROUPS_MAX] as const

function groupSuffix(groups: number): string {
  return groups === GROUPS_MAX ? 'X' : String(groups)
}

function makeClass(name: string, redunId: number, redundancy: Redundancy, groups: number): ObjectClass {
  const groupSize = redundancy.kind === 'none' ? 1 : redundancy.kind === 'replication' ? redundancy.replicas : redundancy.dataCells + redundancy.parityCells
  const faultTolerance = redundancy.kind === 'none' ? 0 : redundancy.kind === 'replication' ? redundancy.replicas - 1 : redundancy.parityCells
  return Object.freeze({
    name,
    id: ((redunId << CLASS_REDUN_SHIFT) | groups) >>> 0,
    redunId,
    redundancy: Object.freeze(redundancy),
    groupSize,
    groups,
    groupsMax: groups === GROUPS_MAX,
    faultTolerance,
  })
}

function buildClassTable(): ObjectClass[] {
  const classes: ObjectClass[] = []
  for (const g of groupChoices) classes.push(makeClass(`S${groupSuffix(g)}`, 1, { kind: 'none' }, g))
  for (const r of [2, 3, 4, 5, 6]) {
    for (const g of groupChoices) classes.push(makeClass(`RP_${r}G${groupSuffix(g)}`, replicaRedunIds.get(r) ?? 0, { kind: 'replication', replicas: r }, g))
  }
  for (const r of [12, 16, 24, 32, 48, 64, 128]) classes.push(makeClass(`RP_${r}G1`, replicaRedunIds.get(r) ?? 0, { kind: 'replication', replicas: r }, 1))
  for (const [kp, redunId] of erasureRedunIds) {
    const [k, p] = kp.split('P').map(Number) as [number, number]
    for (const g of groupChoices) classes.push(makeClass(`EC_${kp}G${groupSuffix(g)}`, redunId, { kind: 'erasure', dataCells: k, parityCells: p }, g))
  }
  return classes
}

/** Every object class with an explicit layout that DAOS predefines, in DAOS's enum order. */
export const objectClasses: readonly ObjectClass[] = Object.freeze(buildClassTable())
const classByName = new Map(objectClasses.map((c) => [c.name, c]))
const classById = new Map(objectClasses.map((c) => [c.id, c]))

/**
 * The class named `name` (`RP_3GX`; an `OC_` prefix and any letter case are accepted). Throws
 * `DER_INVAL` with the reason for an unknown name.
 */
export function parseObjectClass(name: string): ObjectClass {
  if (typeof name !== 'string' || name.length === 0) throw new DerError('DER_INVAL', 'object class name is empty')
  let upper = name.trim().toUpperCase()
  if (upper.startsWith('OC_')) upper = upper.slice(3)
  const found = classByName.get(upper)
  if (found !== undefined) return found
  if (/^S\d+$/.test(upper)) throw new DerError('DER_INVAL', `unknown object class '${name}': S takes 1, 2, 4, 6, 8, 12, 16, 32 or X shards`)
  if (/^RP_\d+G(\d+|X)$/.test(upper)) {
    throw new DerError('DER_INVAL', `unknown object class '${name}': replication takes 2-6 replicas (12-128 with G1) and G 1, 2, 4, 6, 8, 12, 16, 32 or X`)
  }
  if (/^EC_\d+P\d+G(\d+|X)$/.test(upper)) {
    throw new DerError('DER_INVAL', `unknown object class '${name}': EC takes ${[...erasureRedunIds.keys()].join(', ')} and G 1, 2, 4, 6, 8, 12, 16, 32 or X`)
  }
  throw new DerError('DER_INVAL', `unknown object class '${name}': expected S<n>, RP_<r>G<g> or EC_<k>P<p>G<g> (such as S1, RP_3GX, EC_2P1G1)`)
}

/** The class with DAOS numeric id `id`. Throws `DER_INVAL` for an unknown id. */
export function objectClassById(id: number): ObjectClass {
  const found = classById.get(id)
  if (found === undefined) throw new DerError('DER_INVAL', `unknown object class id 0x${(id >>> 0).toString(16)}`)
  return found
}

/** The class with this redundancy id and group count, or undefined. */
export function objectClassByRedun(redunId: number, groups: number): ObjectClass | undefined {
  return classById.get(((redunId << CLASS_REDUN_SHIFT) | groups) >>> 0)
}

/** The redundancy-only description of a class (`RP_3`, `EC_2P1`, `S`), without its groups. */
export function redundancyName(redundancy: Redundancy): string {
  if (redundancy.kind === 'none') return 'S'
  if (redundancy.kind === 'replication') return `RP_${redundancy.replicas}`
  return `EC_${redundancy.dataCells}P${redundancy.parityCells}`
}

/** What a pool offers a class: its usable targets and fault domains. */
export interface ClassFit {
  /** Targets placement may use. */
  readonly targets: number
  /** Fault domains at the placement level (ranks or hosts). */
  readonly domains: number
}

/**
 * The number of groups an object of class `oclass` gets in a pool of `fit.targets` targets: the
 * fixed count, or for X as many whole groups as fit (`targets / groupSize`, at least 1). Throws
 * `DER_INVAL` (DAOS's `grp_size N > domain_nr M`) when a group needs more domains than exist.
 */
export function resolveGroupCount(oclass: ObjectClass, fit: ClassFit): number {
  checkFit(oclass, fit)
  if (!oclass.groupsMax) return oclass.groups
  return Math.max(1, Math.min(GROUPS_MAX - 1, Math.floor(fit.targets / oclass.groupSize)))
}

/** Shards of an object of this class in a pool with `fit` (groups x group size). */
export function shardCount(oclass: ObjectClass, fit: ClassFit): number {
  return resolveGroupCount(oclass, fit) * oclass.groupSize
}

/** Throws `DER_INVAL` when `fit` cannot hold one group of `oclass` on distinct domains. */
export function checkFit(oclass: ObjectClass, fit: ClassFit): void {
  if (!Number.isInteger(fit.targets) || fit.targets < 0 || !Number.isInteger(fit.domains) || fit.domains < 0) {
    throw new DerError('DER_INVAL', `bad pool fit: targets ${fit.targets}, domains ${fit.domains}`)
  }
  if (fit.targets === 0) throw new DerError('DER_INVAL', `object class ${oclass.name}: the pool has no usable targets`)
  if (oclass.groupSize > fit.domains) {
    throw new DerError('DER_INVAL', `object class ${oclass.name}: grp_size ${oclass.groupSize} > domain_nr ${fit.domains}`, {
      details: { groupSize: oclass.groupSize, domains: fit.domains },
    })
  }
}

/** Inputs of {@link defaultObjectClass}. */
export interface ClassSelection {
  /** Whether the object is an array (array and byte-array types: EC by default when protected). */
  readonly isArray: boolean
  /** Whether the object is a flat KV (gets X groups, like arrays). */
  readonly isFlatKv: boolean
  /** The container's redundancy factor (0-4). */
  readonly redundancyFactor: number
  /** Fault domains at the container's redundancy level. */
  readonly domains: number
}

function ecFor(domains: number, parity: number): string | undefined {
  const table: Record<number, [number, string][]> = {
    1: [
      [18, '16P1'],
      [10, '8P1'],
      [6, '4P1'],
      [3, '2P1'],
    ],
    2: [
      [20, '16P2'],
      [12, '8P2'],
      [8, '4P2'],
      [4, '2P2'],
    ],
    3: [
      [22, '16P3'],
      [14, '8P3'],
      [10, '4P3'],
    ],
  }
  return table[parity]?.find(([min]) => domains >= min)?.[1]
}

/**
 * The class DAOS picks when none is given (`OC_UNKNOWN`, `dc_set_oclass`): by the container's
 * redundancy factor, EC for arrays when enough domains exist, replication otherwise; X groups
 * for arrays and flat KVs, one group for everything else. Throws `DER_INVAL` for a bad factor
 * or when the pick needs more domains than exist.
 */
export function defaultObjectClass(selection: ClassSelection): ObjectClass {
  const { redundancyFactor: rf, domains } = selection
  if (!Number.isInteger(rf) || rf < 0 || rf > 4) throw new DerError('DER_INVAL', `redundancy factor must be 0-4, got ${rf}`)
  const groups = selection.isArray || selection.isFlatKv ? 'X' : '1'
  let redun: string
  if (rf === 0) redun = 'S'
  else if (rf === 4) redun = 'RP_5'
  else {
    const ec = selection.isArray ? ecFor(domains, rf) : undefined
    redun = ec !== undefined ? `EC_${ec}` : `RP_${rf + 1}`
  }
  const oclass = parseObjectClass(redun === 'S' ? `S${groups}` : `${redun}G${groups}`)
  checkFit(oclass, { targets: Math.max(1, domains), domains })
  return oclass
}

/** Throws `DER_INVAL` when `oclass` tolerates fewer failures than the container's `rd_fac`. */
export function checkClassRedundancy(oclass: ObjectClass, redundancyFactor: number): void {
  if (oclass.faultTolerance < redundancyFactor) {
    throw new DerError('DER_INVAL', `object class ${oclass.name} tolerates ${oclass.faultTolerance} failures; the container's rd_fac is ${redundancyFactor}`)
  }
}
