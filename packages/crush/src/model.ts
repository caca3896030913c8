/**
 * The CRUSH map model: devices, types, buckets, rules, tunables, device classes and choose_args,
 * with Ceph's numeric constants.
 *
 * @module
 */

/** Bucket algorithms, numbered as Ceph numbers them (`CRUSH_BUCKET_*`). */
export const BucketAlg = {
  uniform: 1,
  list: 2,
  tree: 3,
  straw: 4,
  straw2: 5,
} as const
/** A bucket algorithm number (1 uniform, 2 list, 3 tree, 4 straw, 5 straw2). */
export type BucketAlgId = (typeof BucketAlg)[keyof typeof BucketAlg]
/** The algorithm names in Ceph's text form, indexed by algorithm number. */
export const bucketAlgNames: Readonly<Record<number, string>> = { 1: 'uniform', 2: 'list', 3: 'tree', 4: 'straw', 5: 'straw2' }

/** Rule step opcodes (`CRUSH_RULE_*`). */
export const RuleOp = {
  noop: 0,
  take: 1,
  chooseFirstn: 2,
  chooseIndep: 3,
  emit: 4,
  chooseleafFirstn: 6,
  chooseleafIndep: 7,
  setChooseTries: 8,
  setChooseleafTries: 9,
  setChooseLocalTries: 10,
  setChooseLocalFallbackTries: 11,
  setChooseleafVaryR: 12,
  setChooseleafStable: 13,
} as const

/** The hole in an indep result (`CRUSH_ITEM_NONE`, printed by crushtool as 2147483647). */
export const CRUSH_ITEM_NONE = 0x7fffffff
/** The internal "not chosen yet" marker (`CRUSH_ITEM_UNDEF`). */
export const CRUSH_ITEM_UNDEF = 0x7ffffffe
/** The hash type rjenkins1, the only one Ceph defines. */
export const CRUSH_HASH_RJENKINS1 = 0
/** 1.0 in 16.16 fixed point. */
export const WEIGHT_ONE = 0x10000
/** The largest device weight the text compiler accepts (100.0). */
export const CRUSH_MAX_DEVICE_WEIGHT = 100 * 0x10000
/** The largest bucket weight the text compiler accepts (65535.0). */
export const CRUSH_MAX_BUCKET_WEIGHT = 65535 * 0x10000
/** The most rules a map may hold. */
export const CRUSH_MAX_RULES = 256
/** Rule mask types. */
export const RuleType = { replicated: 1, erasure: 3 } as const

/** One bucket. Weights are unsigned 16.16 fixed point. */
export interface CrushBucket {
  /** Negative id; the bucket lives at index `-1 - id`. */
  id: number
  /** Type id (type 0 is reserved for devices). */
  type: number
  /** Algorithm number. */
  alg: BucketAlgId
  /** Hash type (0 = rjenkins1; anything else makes every hash 0). */
  hash: number
  /** The bucket's weight as stored (u32). */
  weight: number
  /** Child ids (devices >= 0, buckets < 0). */
  items: number[]
  /** Per-item weights (uniform buckets repeat the single item weight). */
  itemWeights: number[]
  /** list: prefix sums of item weights. */
  sumWeights?: number[]
  /** tree: node weights, `numNodes` long. */
  nodeWeights?: number[]
  /** tree: the node count as stored (a u8 in Ceph). */
  numNodes?: number
  /** straw: straw lengths. */
  straws?: number[]
}

/** One rule step. */
export interface CrushStep {
  /** Opcode ({@link RuleOp}). */
  op: number
  /** First argument (bucket id, numrep or tunable value). */
  arg1: number
  /** Second argument (type for choose steps). */
  arg2: number
}

/** One rule. */
export interface CrushRule {
  /** Rule id (the slot index). */
  id: number
  /** Legacy ruleset (equal to the id in Pacific maps). */
  ruleset: number
  /** Mask type: 1 replicated, 3 erasure. */
  type: number
  /** Legacy mask min_size. */
  minSize: number
  /** Legacy mask max_size. */
  maxSize: number
  /** The steps in order. */
  steps: CrushStep[]
}

/** The tunables of a map. */
export interface CrushTunables {
  /** Local retries after a collision (legacy 2). */
  chooseLocalTries: number
  /** Exhaustive local fallback retries (legacy 5). */
  chooseLocalFallbackTries: number
  /** Total descent retries; the mapper makes this plus one attempts (legacy 19). */
  chooseTotalTries: number
  /** Whether chooseleaf recursion tries once (bobtail). */
  chooseleafDescendOnce: number
  /** Shift feeding r into the leaf descent (firefly). */
  chooseleafVaryR: number
  /** Whether leaf descents are position independent (jewel). */
  chooseleafStable: number
  /** How straw lengths are computed (0 legacy, 1 fixed). */
  strawCalcVersion: number
  /** Bit mask of algorithms allowed for new buckets (bit = 1 << alg). */
  allowedBucketAlgs: number
}

/** One choose_args entry for a bucket: weight sets per position and hash ids. */
export interface ChooseArg {
  /** `positions x size` 16.16 weights, or undefined. */
  weightSet?: number[][]
  /** Ids to hash with instead of the items, or undefined. */
  ids?: number[]
}

/** A choose_args map: bucket id to its entry. */
export type ChooseArgMap = Map<number, ChooseArg>

/** A whole CRUSH map. */
export interface CrushMap {
  /** Bucket slots indexed by `-1 - id`; empty slots are undefined. */
  buckets: (CrushBucket | undefined)[]
  /** Rule slots indexed by id. */
  rules: (CrushRule | undefined)[]
  /** 1 + the largest device id (the mapper rejects items at or above it). */
  maxDevices: number
  /** Tunables. */
  tunables: CrushTunables
  /** Type names by type id. */
  typeNames: Map<number, string>
  /** Item names (devices and buckets) by id. */
  names: Map<number, string>
  /** Rule names by rule id. */
  ruleNames: Map<number, string>
  /** Device class id by device (or bucket) id. */
  classMap: Map<number, number>
  /** Class names by class id. */
  classNames: Map<number, string>
  /** Shadow bucket ids: original bucket id to (class id to shadow id). */
  classBuckets: Map<number, Map<number, number>>
  /** choose_args maps by index (-1 is the compat weight set). */
  chooseArgs: Map<bigint, ChooseArgMap>
}

/** Returns the bucket with the given id, or undefined. */
export function getBucket(map: CrushMap, id: number): CrushBucket | undefined {
  return id < 0 ? map.buckets[-1 - id] : undefined
}

/** An empty map with legacy tunables. */
export function emptyMap(tunables?: CrushTunables): CrushMap {
  return {
    buckets: [],
    rules: [],
    maxDevices: 0,
    tunables: tunables ?? {
      chooseLocalTries: 2,
      chooseLocalFallbackTries: 5,
      chooseTotalTries: 19,
      chooseleafDescendOnce: 0,
      chooseleafVaryR: 0,
      chooseleafStable: 0,
      strawCalcVersion: 0,
      allowedBucketAlgs: 22,
    },
    typeNames: new Map(),
    names: new Map(),
    ruleNames: new Map(),
    classMap: new Map(),
    classNames: new Map(),
    classBuckets: new Map(),
    chooseArgs: new Map(),
  }
}
