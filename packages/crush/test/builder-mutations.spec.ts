import { isDerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  addBucket,
  addDevice,
  applyTunablesProfile,
  buildMap,
  decodeCrushMap,
  doRule,
  encodeCrushMap,
  insertItem,
  itemIdByName,
  moveBucket,
  parseWeight,
  placeMany,
  recomputeWeights,
  removeItem,
  reweightItem,
  testerWeights,
  tunablesOf,
  utilization,
} from '../src/index.ts'

const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'golden')

describe('builder', () => {
  it('builds the same bytes as crushtool --build', () => {
    const { map } = buildMap(100, [
      { name: 'host', alg: 'straw2', size: 5 },
      { name: 'rack', alg: 'straw2', size: 4 },
      { name: 'root', alg: 'straw2', size: 0 },
    ])
    const expected = new Uint8Array(readFileSync(join(golden, 'built-100.bin')))
    expect(Buffer.from(encodeCrushMap(map)).equals(Buffer.from(expected))).toBe(true)
  })

  it('warns about several roots and rejects bad layers', () => {
    expect(buildMap(10, [{ name: 'host', alg: 'straw2', size: 4 }]).warnings[0]).toBe('The crush rulesets will use the root host0')
    expect(() => buildMap(10, [{ name: 'host', alg: 'foo', size: 4 }])).toThrow(/unknown bucket type 'foo'/)
    expect(() => buildMap(10, [])).toThrow(/at least one layer/)
  })
})

describe('tunables profiles', () => {
  it('has Pacific values', () => {
    expect(tunablesOf('legacy')).toMatchObject({ chooseLocalTries: 2, chooseLocalFallbackTries: 5, chooseTotalTries: 19, strawCalcVersion: 0, allowedBucketAlgs: 22 })
    expect(tunablesOf('bobtail')).toMatchObject({ chooseLocalTries: 0, chooseTotalTries: 50, chooseleafDescendOnce: 1, chooseleafVaryR: 0 })
    expect(tunablesOf('firefly').chooseleafVaryR).toBe(1)
    expect(tunablesOf('hammer').allowedBucketAlgs).toBe(54)
    expect(tunablesOf('jewel')).toMatchObject({ chooseleafStable: 1, strawCalcVersion: 0 })
    expect(tunablesOf('optimal')).toMatchObject({ chooseleafStable: 1, strawCalcVersion: 1 })
    const { map } = buildMap(4, [{ name: 'root', alg: 'straw2', size: 0 }])
    applyTunablesProfile(map, 'legacy')
    expect(map.tunables.strawCalcVersion).toBe(0)
  })
})

describe('mutations', () => {
  const fresh = (): ReturnType<typeof buildMap>['map'] =>
    decodeCrushMap(new Uint8Array(readFileSync(join(golden, 'example.bin'))))

  it('reweighting an item updates every ancestor and the shadow trees', () => {
    const map = fresh()
    const h1 = itemIdByName(map, 'h1') ?? 0
    const root = itemIdByName(map, 'default') ?? 0
    reweightItem(map, 0, 0x20000)
    const r1 = itemIdByName(map, 'r1') ?? 0
    const hb = map.buckets[-1 - h1]
    const rb = map.buckets[-1 - r1]
    expect(hb?.weight).toBe(hb?.itemWeights.reduce((a, b) => a + b, 0))
    expect(rb?.itemWeights[rb.items.indexOf(h1)]).toBe(hb?.weight)
    expect(map.buckets[-1 - root]?.itemWeights[0]).toBe(rb?.weight)
    expect(map.buckets[-1 - h1]?.itemWeights[0]).toBe(0x20000)
    const shadow = map.classBuckets.get(h1)?.get(0) ?? 0 // hdd shadow of h1
    expect(map.buckets[-1 - shadow]?.itemWeights[0]).toBe(0x20000)
  })

  it('adds, moves and removes items, keeping mappings valid', () => {
    const map = fresh()
    addBucket(map, { name: 'h7', typeName: 'host', parent: 'r2' })
    addDevice(map, 18, 'osd.18', 0x10000, 'h7', 'hdd')
    expect(map.maxDevices).toBe(19)
    const w = testerWeights(map)
    let hits = 0
    for (let x = 0; x < 2000; x++) if (doRule(map, 0, x, 3, w).includes(18)) hits++
    expect(hits).toBeGreaterThan(0)
    moveBucket(map, itemIdByName(map, 'h7') ?? 0, 'r1')
    expect(map.buckets[-1 - (itemIdByName(map, 'r1') ?? 0)]?.items).toContain(itemIdByName(map, 'h7'))
    removeItem(map, 18)
    removeItem(map, itemIdByName(map, 'h7') ?? 0)
    expect(itemIdByName(map, 'h7')).toBeUndefined()
    for (let x = 0; x < 200; x++) expect(doRule(map, 0, x, 3, testerWeights(map))).not.toContain(18)
  })

  it('refuses bad mutations with typed errors and no change', () => {
    const map = fresh()
    const bytes = encodeCrushMap(map)
    const expectDer = (fn: () => void, name: string): void => {
      try {
        fn()
        expect.unreachable()
      } catch (e) {
        expect(isDerError(e, name as 'DER_INVAL')).toBe(true)
      }
    }
    expectDer(() => removeItem(map, itemIdByName(map, 'h1') ?? 0), 'DER_BUSY')
    expectDer(() => addBucket(map, { name: 'h1', typeName: 'host' }), 'DER_EXIST')
    expectDer(() => addBucket(map, { name: 'x', typeName: 'nosuchtype' }), 'DER_NONEXIST')
    expectDer(() => moveBucket(map, itemIdByName(map, 'default') ?? 0, 'h1'), 'DER_INVAL')
    expect(Buffer.from(encodeCrushMap(map)).equals(Buffer.from(bytes))).toBe(true)
  })

  it('recomputes weights bottom-up', () => {
    const map = fresh()
    const r1 = itemIdByName(map, 'r1') ?? 0
    const rb = map.buckets[-1 - r1]
    if (rb === undefined) throw new Error('no r1')
    rb.itemWeights[0] = 1
    recomputeWeights(map)
    const h1 = map.buckets[-1 - (itemIdByName(map, 'h1') ?? 0)]
    expect(map.buckets[-1 - r1]?.itemWeights[0]).toBe(h1?.weight)
  })
})

describe('analysis', () => {
  it('utilization tracks CRUSH weight', () => {
    const { map } = buildMap(20, [{ name: 'host', alg: 'straw2', size: 2 }, { name: 'root', alg: 'straw2', size: 0 }])
    const w = testerWeights(map)
    const u = utilization(map, placeMany(map, 0, 3, 0, 19999, w), w)
    expect(u).toHaveLength(20)
    for (const d of u) expect(Math.abs(d.ratio - 1)).toBeLessThan(0.1)
  })
})

describe('edits replayed against crushtool', () => {
  const load = (name: string): ReturnType<typeof decodeCrushMap> => decodeCrushMap(new Uint8Array(readFileSync(join(golden, `${name}.bin`))))
  const edits: { name: string; base: string; apply: (map: ReturnType<typeof decodeCrushMap>) => void }[] = [
    { name: 'edit-add-new-host', base: 'built-100', apply: (m) => insertItem(m, 100, parseWeight('1.5'), 'osd.100', new Map([['host', 'newhost'], ['rack', 'newrack'], ['root', 'root']])) },
    { name: 'edit-add-existing-host', base: 'built-100', apply: (m) => insertItem(m, 100, parseWeight('2.0'), 'osd.100', new Map([['host', 'host3']])) },
    { name: 'edit-add-legacy-straw', base: 'tunables-legacy', apply: (m) => insertItem(m, 60, parseWeight('1.0'), 'osd.60', new Map([['host', 'hx'], ['rack', 'rack0']])) },
    { name: 'edit-reweight', base: 'alg-straw', apply: (m) => reweightItem(m, itemIdByName(m, 'osd.1') ?? -999, parseWeight('0.3')) },
    { name: 'edit-remove', base: 'built-100', apply: (m) => removeItem(m, itemIdByName(m, 'osd.7') ?? -999) },
    { name: 'edit-move', base: 'built-100', apply: (m) => moveBucket(m, itemIdByName(m, 'host3') ?? 0, 'rack2') },
  ]
  for (const e of edits) {
    it(`${e.name} gives crushtool's bytes`, () => {
      const map = load(e.base)
      e.apply(map)
      expect(Buffer.from(encodeCrushMap(map)).equals(readFileSync(join(golden, `${e.name}.bin`)))).toBe(true)
    })
  }
})
