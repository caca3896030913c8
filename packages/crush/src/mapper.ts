/**
 * `crush_do_rule`: the CRUSH mapping, step for step and bit for bit as Ceph computes it
 * (Pacific's conventional path: firstn and indep, retries, collisions, reweights, choose_args).
 *
 * @module
 */
import { DerError } from '@x/common'
import { hash32x2, hash32x3, hash32x4 } from './hash.ts'
import { straw2LnTable16 } from './ln.ts'
import {
  BucketAlg,
  CRUSH_ITEM_NONE,
  CRUSH_ITEM_UNDEF,
  type ChooseArgMap,
  type CrushBucket,
  type CrushMap,
  RuleOp,
} from './model.ts'

/** The largest result (replica count) one mapping may ask for. */
export const MAX_RESULT = 1 << 16

/** choose_args resolved to an array indexed by bucket index (`-1 - id`), as the mapper wants them. */
export type ResolvedChooseArgs = ({ weightSet: number[][] | undefined; ids: number[] | undefined } | undefined)[]

/** Resolves a choose_args map (bucket id keyed) to the mapper's array form. */
export function resolveChooseArgs(args: ChooseArgMap | undefined): ResolvedChooseArgs | undefined {
  if (args === undefined) return undefined
  const out: ResolvedChooseArgs = []
  for (const [id, arg] of args) {
    if (id >= 0) continue
    out[-1 - id] = {
      weightSet: arg.weightSet !== undefined && arg.weightSet.length > 0 ? arg.weightSet : undefined,
      ids: arg.ids,
    }
  }
  return out
}

/**
 * Picks the choose_args a mapping should use the way `CrushWrapper::do_rule` does: the given
 * index, else the compat index -1, else none.
 */
export function selectChooseArgs(map: CrushMap, index: bigint): ChooseArgMap | undefined {
  return map.chooseArgs.get(index) ?? map.chooseArgs.get(-1n)
}

interface PermState {
  gen: number
  permX: number
  permN: number
  perm: Int32Array
}

/**
 * A reusable mapper for one map: it keeps the scratch arrays and the per-bucket permutation
 * cache between calls, so {@link CrushMapper.map} allocates nothing once warm. The map must not
 * change while a mapper is in use (make a new mapper after a mutation).
 */
export class CrushMapper {
  /** The map this mapper reads. */
  readonly crushMap: CrushMap
  private readonly ln: Float64Array
  private gen = 0
  private perms: (PermState | undefined)[] = []
  private scratch = new Int32Array(0)
  private weights: ArrayLike<number> = []
  private weightMax = 0
  private args: ResolvedChooseArgs | undefined
  private readonly maxDevices: number
  private readonly maxBuckets: number
  private readonly buckets: (CrushBucket | undefined)[]
  /** When set, counts how many retries each placement needed (`--show-choose-tries`). */
  chooseTries: Uint32Array | undefined

  constructor(map: CrushMap) {
    this.crushMap = map
    this.ln = straw2LnTable16()
    this.maxDevices = map.maxDevices
    this.maxBuckets = map.buckets.length
    this.buckets = map.buckets
  }

  /**
   * Maps input `x` through rule `ruleId` into `result` (at most `resultMax` entries, and at
   * most `result.length` for a typed array). `weights` is the per-device reweight vector (16.16, 0x10000 = in).
   * Returns the result length, exactly as `crush_do_rule` does.
   */
  map(
    ruleId: number,
    x: number,
    resultMax: number,
    weights: ArrayLike<number>,
    result: Int32Array | number[],
    chooseArgs?: ResolvedChooseArgs,
  ): number {
    const map = this.crushMap
    if (ruleId < 0 || ruleId >= map.rules.length) return 0
    const rule = map.rules[ruleId]
    if (rule === undefined) return 0
    if (resultMax <= 0) return 0
    if (resultMax > MAX_RESULT) throw new DerError('DER_INVAL', `result size ${resultMax} is above the supported ${MAX_RESULT}`)
    if (result instanceof Int32Array && result.length < resultMax) resultMax = result.length
    x |= 0
    this.gen++
    this.weights = weights
    this.weightMax = weights.length
    this.args = chooseArgs
    if (this.scratch.length < resultMax * 3) this.scratch = new Int32Array(resultMax * 3)
    const scratch = this.scratch
    let w = 0 // offset of the working set in scratch
    let o = resultMax
    const c = resultMax * 2
    let wsize = 0
    let resultLen = 0
    const t = map.tunables
    let chooseTries = t.chooseTotalTries + 1
    let chooseLeafTries = 0
    let localRetries = t.chooseLocalTries
    let localFallbackRetries = t.chooseLocalFallbackTries
    let varyR = t.chooseleafVaryR
    let stable = t.chooseleafStable
    for (const step of rule.steps) {
      let firstn = false
      switch (step.op) {
        case RuleOp.take: {
          const a = step.arg1
          if ((a >= 0 && a < this.maxDevices) || (a < 0 && -1 - a < this.maxBuckets && this.buckets[-1 - a] !== undefined)) {
            scratch[w] = a
            wsize = 1
          }
          break
        }
        case RuleOp.setChooseTries:
          if (step.arg1 > 0) chooseTries = step.arg1
          break
        case RuleOp.setChooseleafTries:
          if (step.arg1 > 0) chooseLeafTries = step.arg1
          break
        case RuleOp.setChooseLocalTries:
          if (step.arg1 >= 0) localRetries = step.arg1
          break
        case RuleOp.setChooseLocalFallbackTries:
          if (step.arg1 >= 0) localFallbackRetries = step.arg1
          break
        case RuleOp.setChooseleafVaryR:
          if (step.arg1 >= 0) varyR = step.arg1
          break
        case RuleOp.setChooseleafStable:
          if (step.arg1 >= 0) stable = step.arg1
          break
        case RuleOp.chooseFirstn:
        case RuleOp.chooseleafFirstn:
        case RuleOp.chooseIndep:
        case RuleOp.chooseleafIndep: {
          if (wsize === 0) break
          firstn = step.op === RuleOp.chooseFirstn || step.op === RuleOp.chooseleafFirstn
          const recurseToLeaf = step.op === RuleOp.chooseleafFirstn || step.op === RuleOp.chooseleafIndep
          let osize = 0
          for (let i = 0; i < wsize; i++) {
            let numrep = step.arg1
            if (numrep <= 0) {
              numrep += resultMax
              if (numrep <= 0) continue
            }
            const item = scratch[w + i] ?? 0
            const bno = -1 - item
            if (bno < 0 || bno >= this.maxBuckets) continue
            const bucket = this.buckets[bno]
            if (bucket === undefined) continue
            if (firstn) {
              const recurseTries = chooseLeafTries !== 0 ? chooseLeafTries : t.chooseleafDescendOnce !== 0 ? 1 : chooseTries
              osize += this.chooseFirstn(
                bucket, x, numrep, step.arg2, o + osize, 0, resultMax - osize, chooseTries, recurseTries,
                localRetries, localFallbackRetries, recurseToLeaf, varyR, stable, c + osize, 0,
              )
            } else {
              const outSize = numrep < resultMax - osize ? numrep : resultMax - osize
              this.chooseIndep(
                bucket, x, outSize, numrep, step.arg2, o + osize, 0, chooseTries,
                chooseLeafTries !== 0 ? chooseLeafTries : 1, recurseToLeaf, recurseToLeaf ? c + osize : -1, 0,
              )
              osize += outSize
            }
          }
          if (recurseToLeaf) scratch.copyWithin(o, c, c + osize)
          const tmp = o
          o = w
          w = tmp
          wsize = osize
          break
        }
        case RuleOp.emit:
          for (let i = 0; i < wsize && resultLen < resultMax; i++) {
            result[resultLen] = scratch[w + i] ?? 0
            resultLen++
          }
          wsize = 0
          break
        default:
          break
      }
    }
    return resultLen
  }

  private isOut(item: number, x: number): boolean {
    if (item >= this.weightMax) return true
    const w = this.weights[item] ?? 0
    if (w >= 0x10000) return false
    if (w === 0) return true
    return (hash32x2(x, item) & 0xffff) >= w
  }

  private permChoose(b: CrushBucket, x: number, r: number): number {
    const size = b.items.length
    const idx = -1 - b.id
    let st = this.perms[idx]
    if (st === undefined || st.perm.length < size) {
      st = { gen: 0, permX: 0, permN: 0, perm: new Int32Array(Math.max(size, 1)) }
      this.perms[idx] = st
    }
    if (st.gen !== this.gen) {
      st.gen = this.gen
      st.permX = 0
      st.permN = 0
    }
    const hashOk = b.hash === 0
    const pr = (r >>> 0) % size
    const perm = st.perm
    let s: number
    if (st.permX !== x >>> 0 || st.permN === 0) {
      st.permX = x >>> 0
      if (pr === 0) {
        s = (hashOk ? hash32x3(x, b.id, 0) : 0) % size
        perm[0] = s
        st.permN = 0xffff
        return b.items[s] ?? 0
      }
      for (let i = 0; i < size; i++) perm[i] = i
      st.permN = 0
    } else if (st.permN === 0xffff) {
      for (let i = 1; i < size; i++) perm[i] = i
      perm[perm[0] ?? 0] = 0
      st.permN = 1
    }
    while (st.permN <= pr) {
      const p = st.permN
      if (p < size - 1) {
        const i = (hashOk ? hash32x3(x, b.id, p) : 0) % (size - p)
        if (i !== 0) {
          const tmp = perm[p + i] ?? 0
          perm[p + i] = perm[p] ?? 0
          perm[p] = tmp
        }
      }
      st.permN++
    }
    s = perm[pr] ?? 0
    return b.items[s] ?? 0
  }

  private bucketChoose(b: CrushBucket, x: number, r: number, position: number): number {
    switch (b.alg) {
      case BucketAlg.straw2:
        return this.straw2Choose(b, x, r, position)
      case BucketAlg.uniform:
        return this.permChoose(b, x, r)
      case BucketAlg.list:
        return listChoose(b, x, r)
      case BucketAlg.tree:
        return treeChoose(b, x, r)
      case BucketAlg.straw:
        return strawChoose(b, x, r)
      default:
        return b.items[0] ?? 0
    }
  }

  private straw2Choose(b: CrushBucket, x: number, r: number, position: number): number {
    const items = b.items
    let weights = b.itemWeights
    let ids = items
    const args = this.args
    if (args !== undefined) {
      const arg = args[-1 - b.id]
      if (arg !== undefined) {
        const ws = arg.weightSet
        if (ws !== undefined) weights = ws[position < ws.length ? position : ws.length - 1] ?? weights
        if (arg.ids !== undefined) ids = arg.ids
      }
    }
    const ln = this.ln
    const hashOk = b.hash === 0
    const n = items.length
    let high = 0
    let highDraw = 0
    for (let i = 0; i < n; i++) {
      const wu = weights[i] ?? 0
      let draw: number
      if (wu !== 0) {
        const u = hashOk ? hash32x3(x, ids[i] ?? 0, r) & 0xffff : 0
        draw = divTrunc(ln[u] ?? 0, wu | 0)
      } else {
        draw = -Infinity
      }
      if (i === 0 || draw > highDraw) {
        high = i
        highDraw = draw
      }
    }
    return items[high] ?? 0
  }

  private chooseFirstn(
    bucket: CrushBucket,
    x: number,
    numrep: number,
    type: number,
    out: number,
    outpos: number,
    outSize: number,
    tries: number,
    recurseTries: number,
    localRetries: number,
    localFallbackRetries: number,
    recurseToLeaf: boolean,
    varyR: number,
    stable: number,
    out2: number,
    parentR: number,
  ): number {
    const scratch = this.scratch
    let count = outSize
    let item = 0
    for (let rep = stable !== 0 ? 0 : outpos; rep < numrep && count > 0; rep++) {
      let ftotal = 0
      let skipRep = false
      let retryDescent: boolean
      do {
        retryDescent = false
        let inb = bucket
        let flocal = 0
        let retryBucket: boolean
        do {
          let collide = false
          retryBucket = false
          const r = rep + parentR + ftotal
          let reject: boolean
          const size = inb.items.length
          if (size === 0) {
            reject = true
          } else {
            if (localFallbackRetries > 0 && flocal >= size >> 1 && flocal > localFallbackRetries) {
              item = this.permChoose(inb, x, r)
            } else {
              item = this.bucketChoose(inb, x, r, outpos)
            }
            if (item >= this.maxDevices) {
              skipRep = true
              break
            }
            let itemtype = 0
            let child: CrushBucket | undefined
            if (item < 0) {
              child = this.buckets[-1 - item]
              itemtype = child === undefined ? -1 : child.type
            }
            if (itemtype !== type) {
              if (item >= 0 || child === undefined) {
                skipRep = true
                break
              }
              inb = child
              retryBucket = true
              continue
            }
            for (let i = 0; i < outpos; i++) {
              if (scratch[out + i] === item) {
                collide = true
                break
              }
            }
            reject = false
            if (!collide && recurseToLeaf) {
              if (child !== undefined) {
                const subR = varyR !== 0 ? r >> (varyR - 1) : 0
                const got = this.chooseFirstn(
                  child, x, stable !== 0 ? 1 : outpos + 1, 0, out2, outpos, count, recurseTries, 0,
                  localRetries, localFallbackRetries, false, varyR, stable, -1, subR,
                )
                if (got <= outpos) reject = true
              } else {
                scratch[out2 + outpos] = item
              }
            }
            if (!reject && !collide && itemtype === 0) reject = this.isOut(item, x)
          }
          if (reject || collide) {
            ftotal++
            flocal++
            if (collide && flocal <= localRetries) retryBucket = true
            else if (localFallbackRetries > 0 && flocal <= size + localFallbackRetries) retryBucket = true
            else if (ftotal < tries) retryDescent = true
            else skipRep = true
          }
        } while (retryBucket)
      } while (retryDescent)
      if (skipRep) continue
      scratch[out + outpos] = item
      outpos++
      count--
      const ct = this.chooseTries
      if (ct !== undefined && ftotal < ct.length) ct[ftotal] = (ct[ftotal] ?? 0) + 1
    }
    return outpos
  }

  private chooseIndep(
    bucket: CrushBucket,
    x: number,
    left: number,
    numrep: number,
    type: number,
    out: number,
    outpos: number,
    tries: number,
    recurseTries: number,
    recurseToLeaf: boolean,
    out2: number,
    parentR: number,
  ): void {
    const scratch = this.scratch
    const endpos = outpos + left
    for (let rep = outpos; rep < endpos; rep++) {
      scratch[out + rep] = CRUSH_ITEM_UNDEF
      if (out2 >= 0) scratch[out2 + rep] = CRUSH_ITEM_UNDEF
    }
    let ftotal = 0
    for (; left > 0 && ftotal < tries; ftotal++) {
      for (let rep = outpos; rep < endpos; rep++) {
        if (scratch[out + rep] !== CRUSH_ITEM_UNDEF) continue
        let inb = bucket
        for (;;) {
          let r = rep + parentR
          const size = inb.items.length
          if (inb.alg === BucketAlg.uniform && size % numrep === 0) r += (numrep + 1) * ftotal
          else r += numrep * ftotal
          r |= 0
          if (size === 0) break
          const item = this.bucketChoose(inb, x, r, outpos)
          if (item >= this.maxDevices) {
            scratch[out + rep] = CRUSH_ITEM_NONE
            if (out2 >= 0) scratch[out2 + rep] = CRUSH_ITEM_NONE
            left--
            break
          }
          let itemtype = 0
          let child: CrushBucket | undefined
          if (item < 0) {
            child = this.buckets[-1 - item]
            itemtype = child === undefined ? -1 : child.type
          }
          if (itemtype !== type) {
            if (item >= 0 || child === undefined) {
              scratch[out + rep] = CRUSH_ITEM_NONE
              if (out2 >= 0) scratch[out2 + rep] = CRUSH_ITEM_NONE
              left--
              break
            }
            inb = child
            continue
          }
          let collide = false
          for (let i = outpos; i < endpos; i++) {
            if (scratch[out + i] === item) {
              collide = true
              break
            }
          }
          if (collide) break
          if (recurseToLeaf) {
            if (child !== undefined) {
              this.chooseIndep(child, x, 1, numrep, 0, out2, rep, recurseTries, 0, false, -1, r)
              if (scratch[out2 + rep] === CRUSH_ITEM_NONE) break
            } else {
              scratch[out2 + rep] = item
            }
          }
          if (itemtype === 0 && this.isOut(item, x)) break
          scratch[out + rep] = item
          left--
          break
        }
      }
    }
    for (let rep = outpos; rep < endpos; rep++) {
      if (scratch[out + rep] === CRUSH_ITEM_UNDEF) scratch[out + rep] = CRUSH_ITEM_NONE
      if (out2 >= 0 && scratch[out2 + rep] === CRUSH_ITEM_UNDEF) scratch[out2 + rep] = CRUSH_ITEM_NONE
    }
    const ct = this.chooseTries
    if (ct !== undefined && ftotal < ct.length) ct[ftotal] = (ct[ftotal] ?? 0) + 1
  }
}

/**
 * C's signed 64-bit division truncating toward zero, for a numerator |n| <= 2^48 and a
 * non-zero s32 divisor, computed exactly with doubles (the product check fixes the rare
 * off-by-one of a rounded quotient).
 */
export function divTrunc(n: number, d: number): number {
  let q = Math.trunc(n / d)
  const p = q * d
  if (d > 0) {
    // n <= 0 here: the true result is ceil(n / d)
    if (n >= 0) {
      if (p > n) q -= 1
      else if (p + d <= n) q += 1
    } else if (p < n) q += 1
    else if (p - d >= n) q -= 1
  } else if (n <= 0) {
    // d < 0 and n <= 0: the result is floor(n / d) >= 0
    if (p < n) q -= 1
    else if (p + d >= n) q += 1
  } else if (p > n) q += 1
  else if (p - d <= n) q -= 1
  return q === 0 ? 0 : q
}

function listChoose(b: CrushBucket, x: number, r: number): number {
  const items = b.items
  const sums = b.sumWeights ?? []
  const weights = b.itemWeights
  const hashOk = b.hash === 0
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] ?? 0
    const h = hashOk ? hash32x4(x, item, r, b.id) & 0xffff : 0
    // (h * sum) >> 16 with h < 2^16 and sum < 2^32: exact below 2^48
    const w = Math.floor((h * (sums[i] ?? 0)) / 65536)
    if (w < (weights[i] ?? 0)) return item
  }
  return items[0] ?? 0
}

function treeChoose(b: CrushBucket, x: number, r: number): number {
  const nodes = b.nodeWeights ?? []
  const numNodes = b.numNodes ?? 0
  const hashOk = b.hash === 0
  let n = numNodes >> 1
  if (n === 0) return b.items[0] ?? 0
  while ((n & 1) === 0) {
    const w = nodes[n] ?? 0
    const h = hashOk ? hash32x4(x, n, r, b.id) : 0
    const t = mulHigh32(h, w)
    let hgt = 0
    let m = n
    while ((m & 1) === 0 && hgt < 31) {
      hgt++
      m >>= 1
    }
    const l = n - (1 << (hgt - 1))
    if (t < (nodes[l] ?? 0)) n = l
    else n = n + (1 << (hgt - 1))
    if (n === 0) break
  }
  return b.items[n >> 1] ?? 0
}

/** The high 32 bits of the 64-bit product of two u32 values. */
export function mulHigh32(a: number, b: number): number {
  const aLo = a & 0xffff
  const aHi = a >>> 16
  const bLo = b & 0xffff
  const bHi = b >>> 16
  const lo = aLo * bLo
  const mid1 = aHi * bLo
  const mid2 = aLo * bHi
  const hi = aHi * bHi
  // sum = hi*2^32 + (mid1 + mid2)*2^16 + lo
  const midSum = mid1 + mid2 + Math.floor(lo / 65536) // < 2^34
  return hi + Math.floor(midSum / 65536)
}

function strawChoose(b: CrushBucket, x: number, r: number): number {
  const items = b.items
  const straws = b.straws ?? []
  const hashOk = b.hash === 0
  let high = 0
  let highDraw = 0
  for (let i = 0; i < items.length; i++) {
    const h = hashOk ? hash32x3(x, items[i] ?? 0, r) & 0xffff : 0
    const draw = h * (straws[i] ?? 0) // < 2^48, exact
    if (i === 0 || draw > highDraw) {
      high = i
      highDraw = draw
    }
  }
  return items[high] ?? 0
}

/**
 * Maps `x` through rule `ruleId` and returns the result, like Ceph's `crush_do_rule`.
 * `weights` is the reweight vector per device (16.16; 0x10000 = fully in); `chooseArgs` the
 * weight-set map to use (see {@link selectChooseArgs}). For many inputs use a
 * {@link CrushMapper}, which reuses its scratch space.
 */
export function doRule(
  map: CrushMap,
  ruleId: number,
  x: number,
  numRep: number,
  weights: ArrayLike<number>,
  chooseArgs?: ChooseArgMap,
): number[] {
  const mapper = new CrushMapper(map)
  const result: number[] = []
  const n = mapper.map(ruleId, x, numRep, weights, result, resolveChooseArgs(chooseArgs))
  result.length = n
  return result
}
