/**
 * Ceph's binary CRUSH map encoding (`CrushWrapper::encode`/`decode`, Pacific, with Luminous
 * classes and choose_args): what `crushtool -o` and `ceph osd getcrushmap` write.
 *
 * @module
 */
import { DecodeError, Decoder, Encoder } from '@x/common'
import { BucketAlg, type BucketAlgId, type ChooseArg, type CrushBucket, type CrushMap, type CrushRule, emptyMap } from './model.ts'
import { finalizeMap } from './finalize.ts'
import { MAX_DEVICE_ID } from './text-codec.ts'

/** The magic number that opens a binary map. */
export const CRUSH_MAGIC = 0x00010000

const textDecoder = new TextDecoder('utf-8', { fatal: true })
const textEncoder = new TextEncoder()

function count(d: Decoder, minBytesEach: number, what: string): number {
  const n = d.u32()
  if (n * minBytesEach > d.remaining) throw new DecodeError('truncated', `${what} count ${n} exceeds the remaining input`, d.offset)
  return n
}

function decodeString(d: Decoder): string {
  const len = d.u32()
  const at = d.offset
  const bytes = d.raw(len)
  try {
    return textDecoder.decode(bytes)
  } catch {
    throw new DecodeError('malformed', 'name is not valid UTF-8', at)
  }
}

function decodeNameMap(d: Decoder, what: string): Map<number, string> {
  const n = count(d, 8, what)
  const m = new Map<number, string>()
  for (let i = 0; i < n; i++) {
    const key = d.i32()
    let len = d.u32()
    if (len === 0) len = d.u32() // the key was 64 bits wide (an old encoding bug Ceph tolerates)
    const at = d.offset
    const bytes = d.raw(len)
    try {
      m.set(key, textDecoder.decode(bytes))
    } catch {
      throw new DecodeError('malformed', `${what} name is not valid UTF-8`, at)
    }
  }
  return m
}

function decodeBucket(d: Decoder, slot: number): CrushBucket | undefined {
  const alg = d.u32()
  if (alg === 0) return undefined
  if (alg < 1 || alg > 5) d.malformed(`unsupported bucket algorithm: ${alg}`)
  const id = d.i32()
  const type = d.u16()
  const alg2 = d.u8()
  const hash = d.u8()
  const weight = d.u32()
  const size = count(d, 4, 'bucket item')
  if (id !== -1 - slot) d.malformed(`bucket in slot ${slot} has id ${id}`)
  if (alg2 !== alg) d.malformed(`bucket ${id} has algorithm ${alg2} after ${alg}`)
  const items: number[] = []
  for (let j = 0; j < size; j++) items.push(d.i32())
  const b: CrushBucket = { id, type, alg: alg as BucketAlgId, hash, weight, items, itemWeights: [] }
  switch (alg) {
    case BucketAlg.uniform: {
      const w = d.u32()
      b.itemWeights = items.map(() => w)
      break
    }
    case BucketAlg.list: {
      const sums: number[] = []
      for (let j = 0; j < size; j++) {
        b.itemWeights.push(d.u32())
        sums.push(d.u32())
      }
      b.sumWeights = sums
      break
    }
    case BucketAlg.tree: {
      const numNodes = d.u8()
      const nodes: number[] = []
      for (let j = 0; j < numNodes; j++) nodes.push(d.u32())
      b.numNodes = numNodes
      b.nodeWeights = nodes
      for (let j = 0; j < size; j++) b.itemWeights.push(nodes[((j + 1) << 1) - 1] ?? 0)
      break
    }
    case BucketAlg.straw: {
      const straws: number[] = []
      for (let j = 0; j < size; j++) {
        b.itemWeights.push(d.u32())
        straws.push(d.u32())
      }
      b.straws = straws
      break
    }
    default:
      for (let j = 0; j < size; j++) b.itemWeights.push(d.u32())
  }
  return b
}

/**
 * Decodes a binary CRUSH map. Bad bytes throw a `DecodeError` (`DER_TRUNC`, `DER_PROTO`), never
 * anything else.
 */
export function decodeCrushMap(bytes: Uint8Array): CrushMap {
  const d = new Decoder(bytes)
  const magic = d.u32()
  if (magic !== CRUSH_MAGIC) throw new DecodeError('malformed', 'bad magic number', 0)
  const maxBuckets = d.i32()
  const maxRules = d.u32()
  const maxDevices = d.i32()
  if (maxBuckets < 0 || maxBuckets * 4 > d.remaining) d.malformed(`bad max_buckets ${maxBuckets}`)
  if (maxRules > 256 || maxRules * 4 > d.remaining) d.malformed(`bad max_rules ${maxRules}`)
  if (maxDevices < 0) d.malformed(`bad max_devices ${maxDevices}`)
  const map = emptyMap()
  map.buckets.length = maxBuckets
  for (let i = 0; i < maxBuckets; i++) map.buckets[i] = decodeBucket(d, i)
  map.rules.length = maxRules
  for (let i = 0; i < maxRules; i++) {
    const yes = d.u32()
    if (yes === 0) continue
    const len = count(d, 12, 'rule step')
    const ruleset = d.u8()
    if (ruleset !== i) d.malformed('crush ruleset_id != rule_id; encoding is too old')
    const type = d.u8()
    const minSize = d.u8()
    const maxSize = d.u8()
    const rule: CrushRule = { id: i, ruleset, type, minSize, maxSize, steps: [] }
    for (let j = 0; j < len; j++) rule.steps.push({ op: d.u32(), arg1: d.i32(), arg2: d.i32() })
    map.rules[i] = rule
  }
  map.typeNames = decodeNameMap(d, 'type')
  map.names = decodeNameMap(d, 'item')
  map.ruleNames = decodeNameMap(d, 'rule')
  const t = map.tunables
  if (d.remaining > 0) {
    t.chooseLocalTries = d.u32()
    t.chooseLocalFallbackTries = d.u32()
    t.chooseTotalTries = d.u32()
  }
  if (d.remaining > 0) t.chooseleafDescendOnce = d.u32()
  if (d.remaining > 0) t.chooseleafVaryR = d.u8()
  if (d.remaining > 0) t.strawCalcVersion = d.u8()
  if (d.remaining > 0) t.allowedBucketAlgs = d.u32()
  if (d.remaining > 0) t.chooseleafStable = d.u8()
  if (d.remaining > 0) {
    const n = count(d, 8, 'class map')
    for (let i = 0; i < n; i++) {
      const k = d.i32()
      map.classMap.set(k, d.i32())
    }
    const names = count(d, 8, 'class name')
    for (let i = 0; i < names; i++) {
      const k = d.i32()
      map.classNames.set(k, decodeString(d))
    }
    const cb = count(d, 8, 'class bucket')
    for (let i = 0; i < cb; i++) {
      const k = d.i32()
      const m = new Map<number, number>()
      const inner = count(d, 8, 'class bucket entry')
      for (let j = 0; j < inner; j++) {
        const c = d.i32()
        m.set(c, d.i32())
      }
      map.classBuckets.set(k, m)
    }
  }
  if (d.remaining > 0) {
    const n = count(d, 12, 'choose_args')
    for (let i = 0; i < n; i++) {
      const index = d.i64()
      const args = new Map<number, ChooseArg>()
      const size = count(d, 12, 'choose_args entry')
      for (let j = 0; j < size; j++) {
        const bucketIndex = d.u32()
        if (bucketIndex >= maxBuckets) d.malformed(`choose_args bucket index ${bucketIndex} >= max_buckets ${maxBuckets}`)
        const bucket = map.buckets[bucketIndex]
        const arg: ChooseArg = {}
        const positions = count(d, 4, 'weight set position')
        if (positions > 0) {
          const ws: number[][] = []
          for (let k = 0; k < positions; k++) {
            const len = count(d, 4, 'weight set')
            const row: number[] = []
            for (let l = 0; l < len; l++) row.push(d.u32())
            ws.push(row)
          }
          arg.weightSet = ws
        }
        const idsSize = count(d, 4, 'ids')
        if (idsSize > 0) {
          if (bucket === undefined || idsSize !== bucket.items.length) d.malformed(`choose_args ids size ${idsSize} does not match bucket index ${bucketIndex}`)
          const ids: number[] = []
          for (let k = 0; k < idsSize; k++) ids.push(d.i32())
          arg.ids = ids
        }
        if (arg.weightSet !== undefined) {
          const want = bucket?.items.length ?? -1
          for (const row of arg.weightSet) if (row.length !== want) d.malformed(`choose_args weight set for bucket index ${bucketIndex} has ${row.length} weights, not ${want}`)
        }
        args.set(-1 - bucketIndex, arg)
      }
      map.chooseArgs.set(index, args)
    }
  }
  // everything the mapper will index must be consistent
  for (const b of map.buckets) {
    if (b === undefined) continue
    if (b.alg === BucketAlg.tree && (b.nodeWeights?.length ?? 0) < 2 * b.items.length) d.malformed(`tree bucket ${b.id} has too few nodes`)
  }
  rejectCycles(d, map)
  finalizeMap(map)
  if (map.maxDevices < maxDevices) map.maxDevices = maxDevices
  if (map.maxDevices > MAX_DEVICE_ID) d.malformed(`max_devices ${map.maxDevices} is above the supported ${MAX_DEVICE_ID}`)
  return map
}

/** A bucket that (indirectly) contains itself would make the mapper loop forever. */
function rejectCycles(d: Decoder, map: CrushMap): void {
  const state = new Map<number, 1 | 2>()
  const visit = (id: number): void => {
    const s = state.get(id)
    if (s === 2) return
    if (s === 1) d.malformed(`bucket ${id} contains itself`)
    state.set(id, 1)
    const b = map.buckets[-1 - id]
    for (const it of b?.items ?? []) if (it < 0 && map.buckets[-1 - it] !== undefined) visit(it)
    state.set(id, 2)
  }
  for (const b of map.buckets) if (b !== undefined) visit(b.id)
}

function encodeNameMap(e: Encoder, m: ReadonlyMap<number, string>): void {
  const keys = [...m.keys()].sort((a, b) => a - b)
  e.u32(keys.length)
  for (const k of keys) {
    e.i32(k)
    const bytes = textEncoder.encode(m.get(k) ?? '')
    e.u32(bytes.length).raw(bytes)
  }
}

/** Encodes a map in Ceph's binary format (as `crushtool -o` writes it). */
export function encodeCrushMap(map: CrushMap): Uint8Array {
  const e = new Encoder(4096)
  e.u32(CRUSH_MAGIC).i32(map.buckets.length).u32(map.rules.length).i32(map.maxDevices)
  for (let i = 0; i < map.buckets.length; i++) {
    const b = map.buckets[i]
    if (b === undefined) {
      e.u32(0)
      continue
    }
    e.u32(b.alg).i32(b.id).u16(b.type).u8(b.alg).u8(b.hash).u32(b.weight >>> 0).u32(b.items.length)
    for (const it of b.items) e.i32(it)
    switch (b.alg) {
      case BucketAlg.uniform:
        e.u32((b.itemWeights[0] ?? 0) >>> 0)
        break
      case BucketAlg.list:
        b.items.forEach((_, j) => e.u32((b.itemWeights[j] ?? 0) >>> 0).u32((b.sumWeights?.[j] ?? 0) >>> 0))
        break
      case BucketAlg.tree: {
        const nodes = b.nodeWeights ?? []
        const n = b.numNodes ?? 0
        e.u8(n)
        for (let j = 0; j < n; j++) e.u32((nodes[j] ?? 0) >>> 0)
        break
      }
      case BucketAlg.straw:
        b.items.forEach((_, j) => e.u32((b.itemWeights[j] ?? 0) >>> 0).u32((b.straws?.[j] ?? 0) >>> 0))
        break
      default:
        for (let j = 0; j < b.items.length; j++) e.u32((b.itemWeights[j] ?? 0) >>> 0)
    }
  }
  for (let i = 0; i < map.rules.length; i++) {
    const r = map.rules[i]
    if (r === undefined) {
      e.u32(0)
      continue
    }
    e.u32(1).u32(r.steps.length).u8(i & 0xff).u8(r.type & 0xff).u8(r.minSize & 0xff).u8(r.maxSize & 0xff)
    for (const s of r.steps) e.u32(s.op >>> 0).i32(s.arg1 | 0).i32(s.arg2 | 0)
  }
  encodeNameMap(e, map.typeNames)
  encodeNameMap(e, map.names)
  encodeNameMap(e, map.ruleNames)
  const t = map.tunables
  e.u32(t.chooseLocalTries >>> 0).u32(t.chooseLocalFallbackTries >>> 0).u32(t.chooseTotalTries >>> 0)
  e.u32(t.chooseleafDescendOnce >>> 0).u8(t.chooseleafVaryR & 0xff).u8(t.strawCalcVersion & 0xff)
  e.u32(t.allowedBucketAlgs >>> 0).u8(t.chooseleafStable & 0xff)
  const classKeys = [...map.classMap.keys()].sort((a, b) => a - b)
  e.u32(classKeys.length)
  for (const k of classKeys) e.i32(k).i32(map.classMap.get(k) ?? 0)
  const cn = new Map<number, string>(map.classNames)
  const cnKeys = [...cn.keys()].sort((a, b) => a - b)
  e.u32(cnKeys.length)
  for (const k of cnKeys) {
    const bytes = textEncoder.encode(cn.get(k) ?? '')
    e.i32(k).u32(bytes.length).raw(bytes)
  }
  const cbKeys = [...map.classBuckets.keys()].sort((a, b) => a - b)
  e.u32(cbKeys.length)
  for (const k of cbKeys) {
    const inner = map.classBuckets.get(k) ?? new Map<number, number>()
    const ik = [...inner.keys()].sort((a, b) => a - b)
    e.i32(k).u32(ik.length)
    for (const c of ik) e.i32(c).i32(inner.get(c) ?? 0)
  }
  const caKeys = [...map.chooseArgs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  e.u32(caKeys.length)
  for (const key of caKeys) {
    const args = map.chooseArgs.get(key) ?? new Map<number, ChooseArg>()
    e.i64(key)
    const entries = [...args.entries()]
      .filter(([id, a]) => id < 0 && -1 - id < map.buckets.length && ((a.weightSet?.length ?? 0) > 0 || (a.ids?.length ?? 0) > 0))
      .sort((a, b) => b[0] - a[0])
    e.u32(entries.length)
    for (const [id, a] of entries) {
      e.u32(-1 - id)
      const ws = a.weightSet ?? []
      e.u32(ws.length)
      for (const row of ws) {
        e.u32(row.length)
        for (const w of row) e.u32(w >>> 0)
      }
      const ids = a.ids ?? []
      e.u32(ids.length)
      for (const v of ids) e.i32(v)
    }
  }
  return e.finish()
}

/** Whether bytes look like a binary CRUSH map (they open with the magic number). */
export function isBinaryCrushMap(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x00 && bytes[1] === 0x00 && bytes[2] === 0x01 && bytes[3] === 0x00
}
