/**
 * Map mutations a cluster needs: add and remove items, move buckets, reweight items, and
 * recompute bucket weights, keeping parent weights and device-class shadow trees in step.
 *
 * @module
 */
import { DerError } from '@x/common'
import { makeBucket, recomputeBucket } from './buckets.ts'
import { getOrCreateClassId, isShadowItem, nextFreeBucketId, placeBucket, populateClasses } from './classes.ts'
import { finalizeMap } from './finalize.ts'
import { type BucketAlgId, BucketAlg, type CrushBucket, type CrushMap } from './model.ts'

/** Finds an item id by name (devices and buckets). */
export function itemIdByName(map: CrushMap, name: string): number | undefined {
  for (const [id, n] of map.names) if (n === name) return id
  return undefined
}

function requireBucket(map: CrushMap, id: number): CrushBucket {
  const b = id < 0 ? map.buckets[-1 - id] : undefined
  if (b === undefined) throw new DerError('DER_NONEXIST', `bucket ${id} does not exist`)
  return b
}

function parentsOf(map: CrushMap, id: number): CrushBucket[] {
  return map.buckets.filter((b): b is CrushBucket => b !== undefined && !isShadowItem(map, b.id) && b.items.includes(id))
}

function propagate(map: CrushMap, bucket: CrushBucket): void {
  for (const p of parentsOf(map, bucket.id)) {
    const i = p.items.indexOf(bucket.id)
    if (p.itemWeights[i] === bucket.weight) continue
    p.itemWeights[i] = bucket.weight
    if (p.alg === BucketAlg.uniform) p.itemWeights = p.itemWeights.map(() => bucket.weight)
    recomputeBucket(p, map.tunables.strawCalcVersion)
    propagate(map, p)
  }
}

/** Removes and rebuilds every shadow (device-class) bucket, keeping the known shadow ids. */
export function rebuildClassShadows(map: CrushMap): void {
  if (map.classNames.size === 0) return
  const old = new Map<number, Map<number, number>>()
  for (const [k, v] of map.classBuckets) old.set(k, new Map(v))
  for (let i = 0; i < map.buckets.length; i++) {
    const b = map.buckets[i]
    if (b !== undefined && isShadowItem(map, b.id)) {
      map.buckets[i] = undefined
      map.names.delete(b.id)
      map.classMap.delete(b.id)
      for (const args of map.chooseArgs.values()) args.delete(b.id)
    }
  }
  map.classBuckets.clear()
  populateClasses(map, old)
}

function changed(map: CrushMap): void {
  rebuildClassShadows(map)
  finalizeMap(map)
}

/** Options of {@link addBucket}. */
export interface AddBucketOptions {
  /** Bucket name (`[A-Za-z0-9_.-]+`). */
  name: string
  /** Type name (must exist in the map). */
  typeName: string
  /** Algorithm (default straw2). */
  alg?: BucketAlgId
  /** Explicit id (default: the first free one). */
  id?: number
  /** Parent bucket name; the new bucket is added there with its weight. */
  parent?: string
}

/** Adds an empty bucket, optionally under a parent. Returns its id. */
export function addBucket(map: CrushMap, options: AddBucketOptions): number {
  if (!/^[A-Za-z0-9_.-]+$/.test(options.name)) throw new DerError('DER_INVAL', `invalid bucket name '${options.name}'`)
  if (itemIdByName(map, options.name) !== undefined) throw new DerError('DER_EXIST', `item '${options.name}' already exists`)
  let type: number | undefined
  for (const [t, n] of map.typeNames) if (n === options.typeName) type = t
  if (type === undefined) throw new DerError('DER_NONEXIST', `type '${options.typeName}' is not defined`)
  const id = options.id ?? nextFreeBucketId(map)
  placeBucket(map, makeBucket(options.alg ?? BucketAlg.straw2, 0, type, [], [], map.tunables.strawCalcVersion, id))
  map.names.set(id, options.name)
  if (options.parent !== undefined) attach(map, id, 0, options.parent)
  changed(map)
  return id
}

function attach(map: CrushMap, item: number, weight: number, parentName: string): void {
  const pid = itemIdByName(map, parentName)
  if (pid === undefined || pid >= 0) throw new DerError('DER_NONEXIST', `bucket '${parentName}' does not exist`)
  const p = requireBucket(map, pid)
  if (p.items.includes(item)) throw new DerError('DER_EXIST', `item ${item} is already in '${parentName}'`)
  if (item < 0 && (item === pid || isAncestor(map, item, pid))) throw new DerError('DER_INVAL', `moving ${item} under '${parentName}' would make a cycle`)
  p.items.push(item)
  p.itemWeights.push(p.alg === BucketAlg.uniform && p.items.length > 1 ? (p.itemWeights[0] ?? 0) : weight >>> 0)
  if (p.alg === BucketAlg.tree && p.items.length > 64) {
    p.items.pop()
    p.itemWeights.pop()
    throw new DerError('DER_INVAL', 'tree buckets hold at most 64 items')
  }
  recomputeBucket(p, map.tunables.strawCalcVersion)
  propagate(map, p)
}

function isAncestor(map: CrushMap, ancestor: number, id: number): boolean {
  const b = ancestor < 0 ? map.buckets[-1 - ancestor] : undefined
  if (b === undefined) return false
  return b.items.some((it) => it === id || (it < 0 && isAncestor(map, it, id)))
}

/** Adds device `id` named `name` with 16.16 `weight` under bucket `parent` (and an optional class). */
export function addDevice(map: CrushMap, id: number, name: string, weight: number, parent: string, className?: string): void {
  if (!Number.isInteger(id) || id < 0) throw new DerError('DER_INVAL', `device id ${id} must be a non-negative integer`)
  const existing = map.names.get(id)
  if (existing !== undefined && existing !== name) throw new DerError('DER_EXIST', `device ${id} already exists as '${existing}'`)
  if (existing === undefined && itemIdByName(map, name) !== undefined) throw new DerError('DER_EXIST', `item '${name}' already exists`)
  map.names.set(id, name)
  if (className !== undefined) {
    let cid: number | undefined
    for (const [k, v] of map.classNames) if (v === className) cid = k
    if (cid === undefined) {
      cid = 0
      for (const k of map.classNames.keys()) if (k + 1 > cid) cid = k + 1
      map.classNames.set(cid, className)
    }
    map.classMap.set(id, cid)
  }
  attach(map, id, weight, parent)
  changed(map)
}

function detach(map: CrushMap, item: number): void {
  for (const p of parentsOf(map, item)) {
    const i = p.items.indexOf(item)
    p.items.splice(i, 1)
    p.itemWeights.splice(i, 1)
    recomputeBucket(p, map.tunables.strawCalcVersion)
    for (const args of map.chooseArgs.values()) {
      const a = args.get(p.id)
      if (a?.weightSet !== undefined) a.weightSet = a.weightSet.map((row) => row.filter((_, k) => k !== i))
      if (a?.ids !== undefined) a.ids = a.ids.filter((_, k) => k !== i)
    }
    propagate(map, p)
  }
}

/** Removes an item (a device, or an empty bucket) from the map. */
export function removeItem(map: CrushMap, id: number): void {
  if (id < 0) {
    const b = requireBucket(map, id)
    if (b.items.length > 0) throw new DerError('DER_BUSY', `bucket ${id} is not empty`)
    detach(map, id)
    map.buckets[-1 - id] = undefined
    map.classBuckets.delete(id)
    for (const args of map.chooseArgs.values()) args.delete(id)
  } else {
    if (!map.names.has(id) && parentsOf(map, id).length === 0) throw new DerError('DER_NONEXIST', `device ${id} does not exist`)
    detach(map, id)
    map.classMap.delete(id)
  }
  map.names.delete(id)
  changed(map)
}

/** Moves bucket `id` under the bucket named `parent`, keeping its weight. */
export function moveBucket(map: CrushMap, id: number, parent: string): void {
  const b = requireBucket(map, id)
  detach(map, id)
  attach(map, id, b.weight, parent)
  changed(map)
}

/** Sets the 16.16 CRUSH weight of item `id` in every bucket holding it, then updates ancestors. */
export function reweightItem(map: CrushMap, id: number, weight: number): void {
  const parents = parentsOf(map, id)
  if (parents.length === 0) throw new DerError('DER_NONEXIST', `item ${id} is in no bucket`)
  for (const p of parents) {
    const i = p.items.indexOf(id)
    if (p.alg === BucketAlg.uniform) p.itemWeights = p.itemWeights.map(() => weight >>> 0)
    else p.itemWeights[i] = weight >>> 0
    recomputeBucket(p, map.tunables.strawCalcVersion)
    propagate(map, p)
  }
  changed(map)
}

/** Recomputes every bucket's weight bottom-up from its items (`crushtool --reweight`). */
export function recomputeWeights(map: CrushMap): void {
  const done = new Set<number>()
  const visit = (b: CrushBucket): number => {
    if (done.has(b.id)) return b.weight
    for (let i = 0; i < b.items.length; i++) {
      const it = b.items[i] ?? 0
      if (it < 0) {
        const child = map.buckets[-1 - it]
        if (child !== undefined) b.itemWeights[i] = visit(child)
      }
    }
    if (b.alg === BucketAlg.uniform && b.items.length > 0) b.itemWeights = b.itemWeights.map(() => b.itemWeights[0] ?? 0)
    recomputeBucket(b, map.tunables.strawCalcVersion)
    done.add(b.id)
    return b.weight
  }
  for (const b of map.buckets) if (b !== undefined && !isShadowItem(map, b.id)) visit(b)
  changed(map)
}

/** The algorithm Ceph gives new buckets: the best one `allowed_bucket_algs` permits. */
export function defaultBucketAlg(map: CrushMap): BucketAlgId {
  const allowed = map.tunables.allowedBucketAlgs
  for (const alg of [BucketAlg.straw2, BucketAlg.straw, BucketAlg.tree, BucketAlg.list, BucketAlg.uniform] as const) {
    if ((allowed & (1 << alg)) !== 0) return alg
  }
  return BucketAlg.straw2
}

/**
 * Inserts device `id` (named `name`, 16.16 `weight`) at a location given as type name → bucket
 * name, as `ceph osd crush add` / `crushtool --add-item --loc` do: missing buckets are created
 * level by level (with the default algorithm) until an existing one is reached.
 */
export function insertItem(map: CrushMap, id: number, weight: number, name: string, loc: ReadonlyMap<string, string>, className?: string): void {
  if (!Number.isInteger(id) || id < 0) throw new DerError('DER_INVAL', `device id ${id} must be a non-negative integer`)
  if (map.names.has(id) || itemIdByName(map, name) !== undefined) throw new DerError('DER_EXIST', `item ${name} (${id}) already exists`)
  for (const t of loc.keys()) if (![...map.typeNames.values()].includes(t)) throw new DerError('DER_NONEXIST', `type '${t}' is not defined`)
  const types = [...map.typeNames.entries()].filter(([t]) => t !== 0).sort((a, b) => a[0] - b[0])
  let cur = id
  let parent: string | undefined
  const created: number[] = []
  for (const [type, typeName] of types) {
    const where = loc.get(typeName)
    if (where === undefined) continue
    const existing = itemIdByName(map, where)
    if (existing === undefined) {
      const bid = nextFreeBucketId(map)
      placeBucket(map, makeBucket(defaultBucketAlg(map), 0, type, [cur], [0], map.tunables.strawCalcVersion, bid))
      map.names.set(bid, where)
      created.push(bid)
      cur = bid
      continue
    }
    const b = existing < 0 ? map.buckets[-1 - existing] : undefined
    if (b === undefined) throw new DerError('DER_INVAL', `'${where}' is not a bucket`)
    if (b.type !== type) throw new DerError('DER_INVAL', `bucket '${where}' is not of type '${typeName}'`)
    parent = where
    break
  }
  if (created.length === 0 && parent === undefined) throw new DerError('DER_INVAL', 'the location names no bucket')
  map.names.set(id, name)
  if (className !== undefined) map.classMap.set(id, getOrCreateClassId(map, className))
  if (parent !== undefined) attach(map, cur, 0, parent)
  // set the weight where the device now is, then let the ancestors follow
  for (const p of parentsOf(map, id)) {
    const i = p.items.indexOf(id)
    p.itemWeights[i] = weight >>> 0
    recomputeBucket(p, map.tunables.strawCalcVersion)
    propagate(map, p)
  }
  changed(map)
}
