/**
 * Device classes and their shadow hierarchies (`populate_classes` / `device_class_clone`).
 *
 * @module
 */
import { DerError } from '@x/common'
import { bucketItemWeight, makeBucket } from './buckets.ts'
import { BucketAlg, type ChooseArg, type CrushBucket, type CrushMap } from './model.ts'

/** The most bucket slots a map may have (bucket ids go down to -MAX_BUCKETS). */
export const MAX_BUCKETS = 1 << 20

/** Whether an item is a shadow bucket (its name holds `~`). */
export function isShadowItem(map: CrushMap, id: number): boolean {
  return map.names.get(id)?.includes('~') ?? false
}

/** Returns the class id of a class name, creating it (next id) when new. */
export function getOrCreateClassId(map: CrushMap, name: string): number {
  for (const [id, n] of map.classNames) if (n === name) return id
  let next = 0
  for (const id of map.classNames.keys()) if (id + 1 > next) next = id + 1
  map.classNames.set(next, name)
  return next
}

/** Ids of every non-shadow bucket that is no other bucket's item, ascending. */
export function findNonShadowRoots(map: CrushMap): number[] {
  const used = new Set<number>()
  for (const b of map.buckets) if (b !== undefined) for (const it of b.items) used.add(it)
  const roots: number[] = []
  for (const b of map.buckets) {
    if (b === undefined || used.has(b.id) || isShadowItem(map, b.id)) continue
    roots.push(b.id)
  }
  return roots.sort((a, b) => a - b)
}

/** Places a bucket at its id's slot, growing the slot array by doubling from 8 as Ceph does. */
export function placeBucket(map: CrushMap, b: CrushBucket): void {
  const pos = -1 - b.id
  if (pos < 0) throw new DerError('DER_INVAL', `bucket id ${b.id} is not negative`)
  if (pos >= MAX_BUCKETS) throw new DerError('DER_INVAL', `bucket id ${b.id} is below the supported -${MAX_BUCKETS}`)
  let max = map.buckets.length
  while (pos >= max) max = max === 0 ? 8 : max * 2
  if (max !== map.buckets.length) map.buckets.length = max
  if (map.buckets[pos] !== undefined) throw new DerError('DER_EXIST', `Duplicate bucket id ${b.id}`)
  map.buckets[pos] = b
}

/** The first free bucket id (`crush_get_next_bucket_id`-like, also skipping `reserved`). */
export function nextFreeBucketId(map: CrushMap, reserved?: ReadonlySet<number>): number {
  let id = -1
  while ((-1 - id < map.buckets.length && map.buckets[-1 - id] !== undefined) || (reserved?.has(id) ?? false)) id--
  return id
}

/**
 * Removes every shadow bucket and rebuilds the shadow trees for every class, reusing the ids in
 * `oldClassBuckets` (what `populate_classes` does). A uniform bucket stops the building, as in
 * Ceph.
 */
export function populateClasses(map: CrushMap, oldClassBuckets: Map<number, Map<number, number>>): void {
  const used = new Set<number>()
  for (const m of oldClassBuckets.values()) for (const id of m.values()) used.add(id)
  const roots = findNonShadowRoots(map)
  const classIds = [...map.classNames.keys()].sort((a, b) => a - b)
  try {
    for (const root of roots) {
      for (const c of classIds) cloneForClass(map, root, c, oldClassBuckets, used)
    }
  } catch (e) {
    // Ceph cannot clone uniform buckets: it stops building shadows at the first one, and
    // rules that take a class from the affected roots then fail with "no class information"
    if (!(e instanceof UniformCloneError)) throw e
  }
}

class UniformCloneError extends Error {}

function cloneForClass(
  map: CrushMap,
  originalId: number,
  classId: number,
  old: Map<number, Map<number, number>>,
  used: Set<number>,
): number {
  const name = `${map.names.get(originalId) ?? `bucket${-1 - originalId}`}~${map.classNames.get(classId) ?? ''}`
  for (const [id, n] of map.names) if (n === name) return id
  const original = map.buckets[-1 - originalId]
  if (original === undefined) throw new DerError('DER_NONEXIST', `bucket ${originalId} does not exist`)
  if (original.alg === BucketAlg.uniform) throw new UniformCloneError(`uniform bucket ${originalId} cannot be cloned for a class`)
  const items: number[] = []
  const weights: number[] = []
  const origPos: number[] = []
  for (let i = 0; i < original.items.length; i++) {
    const item = original.items[i] ?? 0
    const weight = bucketItemWeight(original, i)
    if (item >= 0) {
      if (map.classMap.get(item) !== classId) continue
      items.push(item)
      weights.push(weight)
    } else {
      const childId = cloneForClass(map, item, classId, old, used)
      const child = map.buckets[-1 - childId]
      items.push(childId)
      weights.push(child?.weight ?? 0)
    }
    origPos.push(i)
  }
  let bno = old.get(originalId)?.get(classId)
  if (bno === undefined) bno = nextFreeBucketId(map, used)
  const copy = makeBucket(original.alg, original.hash, original.type, items, weights, map.tunables.strawCalcVersion, bno)
  placeBucket(map, copy)
  map.names.set(bno, name)
  map.classMap.set(bno, classId)
  let cb = map.classBuckets.get(originalId)
  if (cb === undefined) {
    cb = new Map()
    map.classBuckets.set(originalId, cb)
  }
  cb.set(classId, bno)
  // derive weight sets of every choose_args map for the clone
  for (const args of map.chooseArgs.values()) {
    const orig = args.get(originalId)
    if (orig?.weightSet === undefined) continue
    const positions = orig.weightSet.length
    const ws: number[][] = []
    for (let p = 0; p < positions; p++) {
      const row: number[] = []
      for (let k = 0; k < items.length; k++) {
        const item = items[k] ?? 0
        if (item >= 0) row.push(orig.weightSet[p]?.[origPos[k] ?? 0] ?? 0)
        else {
          const childArg = args.get(item)
          const childRow = childArg?.weightSet?.[p]
          row.push(childRow === undefined ? (map.buckets[-1 - item]?.weight ?? 0) : childRow.reduce((s, v) => s + v, 0) >>> 0)
        }
      }
      ws.push(row)
    }
    const entry: ChooseArg = { weightSet: ws }
    args.set(bno, entry)
  }
  return bno
}
