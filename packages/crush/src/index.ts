/**
 * CRUSH placement, bit-identical to Ceph's `crush_do_rule` (Pacific 16.2.15), with the map
 * formats and tools around it:
 *
 * - **Model**: {@link CrushMap} with devices, types, buckets (uniform, list, tree, straw,
 *   straw2; rjenkins1), rules and their steps, {@link CrushTunables} and the named profiles
 *   ({@link applyTunablesProfile}), choose_args weight sets and ids, device classes with shadow
 *   hierarchies.
 * - **Mapping**: {@link doRule} for one input and {@link CrushMapper} for many (no allocation
 *   once warm). Hashing ({@link hash32x3} and friends) and straw2's fixed-point logarithm
 *   ({@link crushLn}, Ceph's tables) are exact integer math.
 * - **Codecs**: the text format of `crushtool -c`/`-d` ({@link parseCrushText},
 *   {@link printCrushText}) and Ceph's binary encoding ({@link decodeCrushMap},
 *   {@link encodeCrushMap}); both match crushtool byte for byte on the maps we tested.
 * - **Builder and mutations**: {@link buildMap} (`crushtool --build`), {@link addDevice},
 *   {@link addBucket}, {@link removeItem}, {@link moveBucket}, {@link reweightItem},
 *   {@link recomputeWeights}.
 * - **Analysis**: {@link placeMany}, {@link utilization}, {@link movement}, and
 *   {@link runCrushTest}, which prints what `crushtool --test` prints.
 *
 * Known limits: tree and uniform buckets inside device-class shadow trees are undefined
 * behaviour in Ceph (uninitialised node weights) and are not reproduced; mutations of maps that
 * carry choose_args keep the weight sets as they are instead of re-deriving them as Ceph's
 * `adjust_item_weight` does; device ids stay below 2^24 and bucket ids above -2^20.
 *
 * @example
 * ```ts
 * import { buildMap, doRule } from '@x/crush'
 *
 * const { map } = buildMap(16, [
 *   { name: 'host', alg: 'straw2', size: 4 },
 *   { name: 'root', alg: 'straw2', size: 0 },
 * ])
 * const weights = new Array(16).fill(0x10000)
 * console.log(doRule(map, 0, 1234, 3, weights)) // three devices on three different hosts
 * ```
 *
 * @packageDocumentation
 */
export {
  BucketAlg,
  type BucketAlgId,
  CRUSH_HASH_RJENKINS1,
  CRUSH_ITEM_NONE,
  CRUSH_ITEM_UNDEF,
  CRUSH_MAX_BUCKET_WEIGHT,
  CRUSH_MAX_DEVICE_WEIGHT,
  CRUSH_MAX_RULES,
  type ChooseArg,
  type ChooseArgMap,
  type CrushBucket,
  type CrushMap,
  type CrushRule,
  type CrushStep,
  type CrushTunables,
  RuleOp,
  RuleType,
  WEIGHT_ONE,
  bucketAlgNames,
  emptyMap,
  getBucket,
} from './model.ts'
export { hash32x1, hash32x2, hash32x3, hash32x4 } from './hash.ts'
export { crushLn, straw2LnTable16 } from './ln.ts'
export { CrushMapper, MAX_RESULT, type ResolvedChooseArgs, divTrunc, doRule, mulHigh32, resolveChooseArgs, selectChooseArgs } from './mapper.ts'
export { bucketItemWeight, calcStraws, makeBucket, recomputeBucket, treeDepth, treeNode } from './buckets.ts'
export { MAX_BUCKETS, findNonShadowRoots, getOrCreateClassId, isShadowItem, nextFreeBucketId, placeBucket, populateClasses } from './classes.ts'
export { finalizeMap } from './finalize.ts'
export { MAX_DEVICE_ID, formatWeight, parseCrushText, parseWeight, printCrushText, splitIdClass } from './text-codec.ts'
export { CRUSH_MAGIC, decodeCrushMap, encodeCrushMap, isBinaryCrushMap } from './binary-codec.ts'
export { type TunablesProfile, applyTunablesProfile, tunablesOf, tunablesProfiles } from './tunables.ts'
export { type BuildLayer, type BuildResult, buildMap } from './builder.ts'
export {
  type AddBucketOptions,
  addBucket,
  addDevice,
  defaultBucketAlg,
  insertItem,
  itemIdByName,
  moveBucket,
  rebuildClassShadows,
  recomputeWeights,
  removeItem,
  reweightItem,
} from './mutations.ts'
export { type DeviceUtilization, type Movement, type Placements, deviceCrushWeights, movement, placeMany, utilization } from './analysis.ts'
export {
  type CrushTestOptions,
  type CrushTestOutput,
  compareCrushMaps,
  devicesPresent,
  formatFloatG6,
  maximumAffectedByRule,
  runCrushTest,
  testerDeviceWeight,
  testerWeights,
} from './tester.ts'
