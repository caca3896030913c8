/**
 * Bucket construction and maintenance as Ceph's builder does it: list prefix sums, tree node
 * weights, straw lengths (both `straw_calc_version`s), and item add/remove/reweight.
 *
 * @module
 */
import { DerError } from '@x/common'
import { BucketAlg, type BucketAlgId, type CrushBucket } from './model.ts'

const U32 = 0x100000000

/** The tree depth for a bucket of `size` items (`calc_depth`). */
export function treeDepth(size: number): number {
  if (size === 0) return 0
  let depth = 1
  let t = size - 1
  while (t > 0) {
    t >>>= 1
    depth++
  }
  return depth
}

function treeHeight(n: number): number {
  let h = 0
  while ((n & 1) === 0 && h < 31) {
    h++
    n >>= 1
  }
  return h
}

function treeParent(n: number): number {
  const h = treeHeight(n)
  return (n & (1 << (h + 1))) !== 0 ? n - (1 << h) : n + (1 << h)
}

/** The tree node of item `i` (`crush_calc_tree_node`). */
export function treeNode(i: number): number {
  return ((i + 1) << 1) - 1
}

/** Recomputes the derived arrays of a bucket (sums, node weights, straws) and its weight. */
export function recomputeBucket(b: CrushBucket, strawCalcVersion: number): void {
  const n = b.items.length
  let total = 0
  for (let i = 0; i < n; i++) total = (total + (b.itemWeights[i] ?? 0)) % U32
  switch (b.alg) {
    case BucketAlg.uniform: {
      const w = b.itemWeights[0] ?? 0
      total = (w * n) % U32
      break
    }
    case BucketAlg.list: {
      const sums: number[] = []
      let s = 0
      for (let i = 0; i < n; i++) {
        s = (s + (b.itemWeights[i] ?? 0)) % U32
        sums.push(s)
      }
      b.sumWeights = sums
      break
    }
    case BucketAlg.tree: {
      const depth = treeDepth(n)
      const numNodes = depth === 0 ? 0 : 1 << depth
      const nodes = new Array<number>(numNodes).fill(0)
      for (let i = 0; i < n; i++) {
        let node = treeNode(i)
        const w = b.itemWeights[i] ?? 0
        nodes[node] = w
        for (let j = 1; j < depth; j++) {
          node = treeParent(node)
          nodes[node] = ((nodes[node] ?? 0) + w) % U32
        }
      }
      b.nodeWeights = nodes
      b.numNodes = numNodes & 0xff
      break
    }
    case BucketAlg.straw:
      b.straws = calcStraws(b.itemWeights, strawCalcVersion)
      break
    default:
      break
  }
  b.weight = total
}

/** Straw lengths for the given item weights (`crush_calc_straw`), with doubles as in C. */
export function calcStraws(weights: readonly number[], strawCalcVersion: number): number[] {
  const size = weights.length
  const straws = new Array<number>(size).fill(0)
  const w = (i: number): number => weights[i] ?? 0
  const reverse: number[] = []
  if (size > 0) reverse.push(0)
  for (let i = 1; i < size; i++) {
    let j = 0
    for (; j < i; j++) {
      if (w(i) < w(reverse[j] ?? 0)) {
        reverse.splice(j, 0, i)
        break
      }
    }
    if (j === i) reverse.push(i)
  }
  const rw = (k: number): number => w(reverse[k] ?? 0)
  let numleft = size
  let straw = 1.0
  let wbelow = 0
  let lastw = 0
  let i = 0
  while (i < size) {
    if (rw(i) === 0) {
      straws[reverse[i] ?? 0] = 0
      i++
      if (strawCalcVersion >= 1) numleft--
      continue
    }
    straws[reverse[i] ?? 0] = toU32(straw * 0x10000)
    i++
    if (i === size) break
    if (strawCalcVersion === 0) {
      if (rw(i) === rw(i - 1)) continue
      wbelow += (rw(i - 1) - lastw) * numleft
      for (let j = i; j < size; j++) {
        if (rw(j) === rw(i)) numleft--
        else break
      }
    } else {
      wbelow += (rw(i - 1) - lastw) * numleft
      numleft--
    }
    const wnext = Math.imul(numleft, (rw(i) - rw(i - 1)) >>> 0) >>> 0
    const pbelow = wbelow / (wbelow + wnext)
    straw *= Math.pow(1.0 / pbelow, 1.0 / numleft)
    lastw = rw(i - 1)
  }
  return straws
}

function toU32(v: number): number {
  if (!(v >= 0)) return 0
  if (v >= U32) return 0xffffffff
  return Math.floor(v)
}

/** Makes a bucket with its derived data, as `crush_make_bucket` does. */
export function makeBucket(
  alg: BucketAlgId,
  hash: number,
  type: number,
  items: readonly number[],
  weights: readonly number[],
  strawCalcVersion: number,
  id = 0,
): CrushBucket {
  if (alg === BucketAlg.tree && items.length > 64) {
    throw new DerError('DER_INVAL', `tree buckets hold at most 64 items (got ${items.length})`)
  }
  let itemWeights = weights.map((v) => v >>> 0)
  if (alg === BucketAlg.uniform) {
    const w = itemWeights[0] ?? 0
    itemWeights = itemWeights.map(() => w)
  }
  const b: CrushBucket = { id, type, alg, hash, weight: 0, items: [...items], itemWeights }
  recomputeBucket(b, strawCalcVersion)
  return b
}

/** The weight of item `i` inside bucket `b` as Ceph reports it (`crush_get_bucket_item_weight`). */
export function bucketItemWeight(b: CrushBucket, i: number): number {
  if (b.alg === BucketAlg.tree) return b.nodeWeights?.[treeNode(i)] ?? 0
  return b.itemWeights[i] ?? 0
}
