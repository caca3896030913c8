/**
 * `crushtool --build`: a map of N devices grouped layer by layer into buckets, with the
 * replicated rule Ceph adds (`chooseleaf firstn 0 type <first layer>`).
 *
 * @module
 */
import { DerError } from '@x/common'
import { makeBucket } from './buckets.ts'
import { findNonShadowRoots, nextFreeBucketId, placeBucket } from './classes.ts'
import { finalizeMap } from './finalize.ts'
import { type BucketAlgId, type CrushMap, type CrushStep, RuleOp, emptyMap } from './model.ts'
import { applyTunablesProfile } from './tunables.ts'

/** One layer of `--build`: a type name, its bucket algorithm, and items per bucket (0 = all). */
export interface BuildLayer {
  /** Type name, also the bucket name prefix. */
  name: string
  /** Algorithm name: uniform, list, tree, straw or straw2. */
  alg: string
  /** Items per bucket; 0 puts everything in one bucket named after the layer. */
  size: number
}

/** The result of {@link buildMap}: the map and any warning crushtool prints. */
export interface BuildResult {
  /** The built map. */
  map: CrushMap
  /** Warning lines (several roots), for standard error. */
  warnings: string[]
}

const algByName: Record<string, BucketAlgId> = { uniform: 1, list: 2, tree: 3, straw: 4, straw2: 5 }

/** Builds a map like `crushtool --build --num_osds N name alg size ...`. */
export function buildMap(numOsds: number, layers: readonly BuildLayer[]): BuildResult {
  if (!Number.isInteger(numOsds) || numOsds < 0) throw new DerError('DER_INVAL', `bad --num_osds ${numOsds}`)
  if (layers.length === 0) throw new DerError('DER_INVAL', 'must specify at least one layer')
  const map = emptyMap()
  applyTunablesProfile(map, 'optimal')
  let lowerItems: number[] = []
  let lowerWeights: number[] = []
  for (let i = 0; i < numOsds; i++) {
    lowerItems.push(i)
    lowerWeights.push(0x10000)
    map.names.set(i, `osd.${i}`)
  }
  map.typeNames.set(0, 'osd')
  let type = 1
  for (const l of layers) {
    map.typeNames.set(type, l.name)
    const alg = algByName[l.alg]
    if (alg === undefined) throw new DerError('DER_INVAL', `unknown bucket type '${l.alg}'`)
    if (!Number.isInteger(l.size) || l.size < 0) throw new DerError('DER_INVAL', `bad layer size ${l.size}`)
    const curItems: number[] = []
    const curWeights: number[] = []
    let pos = 0
    let i = 0
    while (pos < lowerItems.length) {
      const items: number[] = []
      const weights: number[] = []
      let weight = 0
      for (let j = 0; j < l.size || l.size === 0; j++) {
        if (pos === lowerItems.length) break
        items.push(lowerItems[pos] ?? 0)
        weights.push(lowerWeights[pos] ?? 0)
        weight += lowerWeights[pos] ?? 0
        pos++
      }
      const id = nextFreeBucketId(map)
      placeBucket(map, makeBucket(alg, 0, type, items, weights, map.tunables.strawCalcVersion, id))
      map.names.set(id, (l.size !== 0 ? `${l.name}${i}` : l.name).slice(0, 19))
      curItems.push(id)
      curWeights.push(weight)
      i++
    }
    lowerItems = curItems
    lowerWeights = curWeights
    type++
  }
  const last = layers[layers.length - 1] as BuildLayer
  const root = last.size === 0 ? last.name : `${last.name}0`
  const warnings: string[] = []
  const roots = findNonShadowRoots(map)
  if (roots.length > 1) {
    warnings.push(
      `The crush rulesets will use the root ${root}`,
      'and ignore the others.',
      `There are ${roots.length} roots, they can be`,
      'grouped into a single root by appending something like:',
      '  root straw 0',
      '',
    )
  }
  let rootId: number | undefined
  for (const [id, n] of map.names) if (n === root) rootId = id
  const failureDomain = map.typeNames.get(1)
  const steps: CrushStep[] = [{ op: RuleOp.take, arg1: rootId ?? -1, arg2: 0 }]
  if (failureDomain !== undefined && layers.length > 0) steps.push({ op: RuleOp.chooseleafFirstn, arg1: 0, arg2: 1 })
  else steps.push({ op: RuleOp.chooseFirstn, arg1: 0, arg2: 0 })
  steps.push({ op: RuleOp.emit, arg1: 0, arg2: 0 })
  map.rules = [{ id: 0, ruleset: 0, type: 1, minSize: 1, maxSize: 10, steps }]
  map.ruleNames.set(0, 'replicated_rule')
  finalizeMap(map)
  if (map.maxDevices < numOsds) map.maxDevices = numOsds
  return { map, warnings }
}
