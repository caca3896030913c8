import fc from 'fast-check'
import { Random } from '@x/common'
import { describe, expect, it } from 'vitest'
import {
  BucketAlg,
  CrushMapper,
  addBucket,
  addDevice,
  buildMap,
  crushLn,
  divTrunc,
  doRule,
  hash32x3,
  makeBucket,
  movement,
  mulHigh32,
  placeMany,
  testerWeights,
} from '../src/index.ts'

const seed = Number(process.env.X_SEED ?? 20261121)

/** straw2 choose written the naive way: BigInt draws, highest first wins. */
function naiveStraw2(items: number[], weights: number[], x: number, r: number): number {
  let best = 0
  let bestDraw: bigint | undefined
  items.forEach((item, i) => {
    const w = weights[i] ?? 0
    let draw: bigint
    if (w === 0) draw = -(1n << 63n)
    else {
      const ln = crushLn(hash32x3(x, item, r) & 0xffff) - (1n << 48n)
      draw = ln / BigInt(w | 0) // BigInt division truncates toward zero, like C
    }
    if (bestDraw === undefined || draw > bestDraw) {
      best = i
      bestDraw = draw
    }
  })
  return items[best] ?? 0
}

describe('straw2', () => {
  it('agrees with a naive BigInt hash-and-max on random buckets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.integer({ min: 0, max: 1000 }),
        (weights, x, r) => {
          const items = weights.map((_, i) => i)
          const b = makeBucket(BucketAlg.straw2, 0, 1, items, weights, 1, -1)
          const map = { ...buildMap(items.length, [{ name: 'root', alg: 'straw2', size: 0 }]).map }
          map.buckets = [b]
          map.rules = [{ id: 0, ruleset: 0, type: 1, minSize: 1, maxSize: 10, steps: [{ op: 1, arg1: -1, arg2: 0 }, { op: 2, arg1: 1, arg2: 0 }, { op: 4, arg1: 0, arg2: 0 }] }]
          map.tunables.chooseTotalTries = 0
          const got = doRule(map, 0, x, 1, new Array<number>(items.length).fill(0x10000))
          // with one try and every device in, the first draw is the answer
          expect(got).toEqual([naiveStraw2(items, weights, x, 0)])
          void r
        },
      ),
      { seed, numRuns: 300 },
    )
  })

  it('divides like C (truncation toward zero) for every sign and near-integer quotient', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 48), max: 0 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }).filter((d) => d !== 0), (n, d) => {
        expect(divTrunc(n, d)).toBe(Number(BigInt(n) / BigInt(d)))
      }),
      { seed, numRuns: 2000 },
    )
    expect(divTrunc(-(2 ** 48), 3)).toBe(Number(-(2n ** 48n) / 3n))
  })

  it('multiplies u32 values exactly (tree buckets)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, b) => {
        expect(mulHigh32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n))
      }),
      { seed, numRuns: 2000 },
    )
  })

  it('picks items in proportion to their weights (within 5 sigma)', () => {
    const rnd = new Random(seed)
    const weights = Array.from({ length: 8 }, () => rnd.intBetween(1, 8) * 0x8000)
    const items = weights.map((_, i) => i)
    const b = makeBucket(BucketAlg.straw2, 0, 1, items, weights, 1, -1)
    const { map } = buildMap(8, [{ name: 'root', alg: 'straw2', size: 0 }])
    map.buckets = [b]
    map.rules = [{ id: 0, ruleset: 0, type: 1, minSize: 1, maxSize: 10, steps: [{ op: 1, arg1: -1, arg2: 0 }, { op: 2, arg1: 1, arg2: 0 }, { op: 4, arg1: 0, arg2: 0 }] }]
    const mapper = new CrushMapper(map)
    const all = new Array<number>(8).fill(0x10000)
    const counts = new Array<number>(8).fill(0)
    const n = 40000
    const out = new Int32Array(1)
    for (let x = 0; x < n; x++) {
      mapper.map(0, x, 1, all, out)
      counts[out[0] ?? 0]! += 1
    }
    const total = weights.reduce((a, w) => a + w, 0)
    weights.forEach((w, i) => {
      const p = w / total
      const sigma = Math.sqrt(n * p * (1 - p))
      expect(Math.abs((counts[i] ?? 0) - n * p), `seed ${seed} item ${i} weights ${weights.join(',')}`).toBeLessThan(5 * sigma)
    })
  })
})

describe('data movement', () => {
  it('adding one device moves about its weight share of replicas, nearly all to it', () => {
    // flat straw2: one device per host, hosts under the root
    const { map } = buildMap(40, [{ name: 'host', alg: 'straw2', size: 1 }, { name: 'root', alg: 'straw2', size: 0 }])
    const inputs = 20000
    const before = placeMany(map, 0, 3, 0, inputs - 1, testerWeights(map))
    addBucket(map, { name: 'host40', typeName: 'host', parent: 'root' })
    addDevice(map, 40, 'osd.40', 0x10000, 'host40')
    const after = placeMany(map, 0, 3, 0, inputs - 1, testerWeights(map))
    const m = movement(before, after)
    const expectedMoves = (3 * inputs) / 41
    let toNew = 0
    for (let i = 0; i < inputs; i++) for (let k = 0; k < 3; k++) if (after.items[i * 3 + k] === 40) toNew++
    expect(Math.abs(toNew - expectedMoves), `expected about ${expectedMoves} replicas on the new device`).toBeLessThan(expectedMoves * 0.15)
    // straw2 only moves data to the new device (a few extra moves come from firstn retries)
    expect(m.movedReplicas).toBeGreaterThanOrEqual(toNew)
    expect(m.movedReplicas).toBeLessThan(toNew * 1.05)
  })

  it('a reweight rejects about the right share of inputs through the same hash draw', () => {
    const { map } = buildMap(20, [{ name: 'host', alg: 'straw2', size: 1 }, { name: 'root', alg: 'straw2', size: 0 }])
    const w = testerWeights(map)
    w[3] = 0x8000
    const full = placeMany(map, 0, 1, 0, 39999, testerWeights(map))
    const half = placeMany(map, 0, 1, 0, 39999, w)
    let on3Before = 0
    let on3After = 0
    for (let i = 0; i < 40000; i++) {
      if (full.items[i] === 3) on3Before++
      if (half.items[i] === 3) on3After++
    }
    expect(Math.abs(on3After / on3Before - 0.5)).toBeLessThan(0.06)
  })
})
