import { isDerError } from '@x/common'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  type ObjectId,
  type PoolMap,
  ObjectType,
  applyPoolMapOperation,
  buildPoolMap,
  decodePoolMap,
  encodeObjectId,
  encodePoolMap,
  generateObjectId,
  layoutTable,
  parseObjectClass,
  placeObject,
  poolMapFit,
} from '../src/index.ts'

const goldenPath = fileURLToPath(new URL('../testdata/placement-golden.json', import.meta.url))
const classNames = ['S1', 'S2', 'SX', 'RP_2G1', 'RP_2GX', 'RP_3G1', 'RP_3GX', 'EC_2P1G1', 'EC_4P2G1', 'EC_2P1GX'] as const

function pool(): PoolMap {
  return buildPoolMap({ ranks: [0, 1, 2, 3, 4, 5].map((rank) => ({ rank, host: `node${rank >> 1}`, targets: 4 })) })
}

function oidFor(map: PoolMap, className: string, lo: bigint, type: number = ObjectType.MULTI_HASHED): ObjectId {
  return generateObjectId({ lo, type, oclass: parseObjectClass(className), fit: poolMapFit(map) })
}

interface GoldenEntry {
  oid: string
  oclass: string
  domain: 'rank' | 'host'
  mapVersion: number
  layout: ([number, number] | null)[][]
}

function computeGolden(): GoldenEntry[] {
  const base = pool()
  const excluded = applyPoolMapOperation(base, 'exclude', [{ rank: 3, targetIndexes: [2] }])
  const entries: GoldenEntry[] = []
  for (const map of [base, excluded]) {
    for (const name of classNames) {
      for (const lo of [1n, 2n, 12345n, 0xffff_ffff_ffffn]) {
        for (const domain of ['rank', 'host'] as const) {
          if (domain === 'host' && parseObjectClass(name).groupSize > 3) continue
          const oid = oidFor(map, name, lo)
          const layout = placeObject(map, oid, { domain })
          entries.push({ oid: `${oid.hi}.${oid.lo}`, oclass: name, domain, mapVersion: map.version, layout: layoutTable(layout) as ([number, number] | null)[][] })
        }
      }
    }
  }
  return entries
}

describe('placement', () => {
  it('matches the golden table (identical on client and engine, across machines)', () => {
    const actual = computeGolden()
    if (process.env.X_UPDATE_GOLDEN === '1') writeFileSync(goldenPath, `[\n${actual.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`)
    const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as GoldenEntry[]
    expect(actual.length).toBe(golden.length)
    for (let i = 0; i < golden.length; i++) expect(actual[i], `${golden[i]?.oclass} ${golden[i]?.oid} ${golden[i]?.domain} v${golden[i]?.mapVersion}`).toEqual(golden[i])
  })

  it('is the same after the map travels as bytes (client and engine agree)', () => {
    const map = applyPoolMapOperation(pool(), 'exclude', [{ rank: 1 }])
    const copy = decodePoolMap(encodePoolMap(map))
    for (let lo = 1n; lo < 300n; lo++) {
      const oid = oidFor(map, 'RP_3GX', lo)
      expect(layoutTable(placeObject(copy, oid))).toEqual(layoutTable(placeObject(map, oid)))
    }
  })

  it('never puts two shards of a group on one rank (or host) when enough exist', () => {
    const map = pool()
    for (const name of classNames) {
      for (let lo = 1n; lo <= 200n; lo++) {
        const oid = oidFor(map, name, lo)
        const layout = placeObject(map, oid)
        expect(layout.groups.length).toBe(parseObjectClass(name).groupsMax ? Math.floor(24 / parseObjectClass(name).groupSize) : parseObjectClass(name).groups)
        for (const g of layout.groups) {
          const ranks = g.shards.map((s) => s.rank)
          expect(ranks.every((r) => r !== undefined)).toBe(true)
          expect(new Set(ranks).size, `${name} lo=${lo}`).toBe(ranks.length)
        }
        if (parseObjectClass(name).groupSize <= 3) {
          for (const g of placeObject(map, oid, { domain: 'host' }).groups) {
            const hosts = g.shards.map((s) => (s.rank === undefined ? -1 : s.rank >> 1))
            expect(new Set(hosts).size, `${name} lo=${lo} host`).toBe(hosts.length)
          }
        }
      }
    }
  })

  it('refuses a class wider than the domains (grp_size N > domain_nr M)', () => {
    const small = buildPoolMap({ ranks: [0, 1, 2, 3].map((rank) => ({ rank, host: 'one', targets: 8 })) })
    const oid = encodeObjectId({ type: 0, oclass: parseObjectClass('EC_4P2G1'), lo: 1n })
    try {
      placeObject(small, oid)
      expect.unreachable()
    } catch (error) {
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
      expect(String(error)).toContain('grp_size 6 > domain_nr 4')
    }
    const rp2 = encodeObjectId({ type: 0, oclass: parseObjectClass('RP_2G1'), lo: 1n })
    expect(() => placeObject(small, rp2, { domain: 'host' })).toThrow(/grp_size 2 > domain_nr 1/)
    expect(() => placeObject(small, { hi: 0n, lo: 1n })).toThrow(/no groups/)
    const tooWide = encodeObjectId({ type: 0, oclass: parseObjectClass('SX'), groups: 1000, lo: 1n })
    expect(() => placeObject(small, tooWide)).toThrow(/1000 groups but the pool has only 32 targets/)
  })

  it('moves only the shards that were on an excluded target (measured over many oids)', () => {
    const map = pool()
    const excluded = applyPoolMapOperation(map, 'exclude', [{ rank: 4, targetIndexes: [1] }])
    const lostId = map.ranks[4]?.targets[1]?.id
    let movedFromLost = 0
    let totalShards = 0
    for (const name of ['RP_3G1', 'RP_2GX', 'EC_2P1G1', 'EC_4P2G1', 'SX'] as const) {
      for (let lo = 1n; lo <= 400n; lo++) {
        const oid = oidFor(map, name, lo)
        const before = placeObject(map, oid)
        const after = placeObject(excluded, oid)
        before.groups.forEach((g, gi) => {
          g.shards.forEach((s, si) => {
            totalShards++
            const moved = after.groups[gi]?.shards[si]
            if (s.targetId === lostId) {
              movedFromLost++
              expect(moved?.targetId).not.toBe(lostId)
              expect(moved?.targetId).not.toBeUndefined()
              expect(moved?.remapped).toBe(true)
            } else {
              expect(moved?.targetId, `${name} lo=${lo} shard ${s.shard}`).toBe(s.targetId)
            }
          })
          const ranks = after.groups[gi]?.shards.map((s) => s.rank) ?? []
          expect(new Set(ranks).size, `${name} lo=${lo}: remap keeps ranks distinct`).toBe(ranks.length)
        })
      }
    }
    // One target of 24 holds about 1/24 of the shards.
    expect(movedFromLost).toBeGreaterThan(totalShards / 48)
    expect(movedFromLost).toBeLessThan(totalShards / 12)
  })

  it('keeps every shard placed when a group outnumbers the surviving ranks (degraded)', () => {
    const three = buildPoolMap({ ranks: [0, 1, 2].map((rank) => ({ rank, host: `h${rank}`, targets: 4 })) })
    const degraded = applyPoolMapOperation(three, 'exclude', [{ rank: 0 }])
    for (let lo = 1n; lo <= 100n; lo++) {
      const oid = oidFor(three, 'RP_3G1', lo)
      const shards = placeObject(degraded, oid).groups[0]?.shards ?? []
      expect(shards.every((s) => s.targetId !== undefined && s.rank !== 0), `lo=${lo}`).toBe(true)
      expect(new Set(shards.map((s) => s.targetId)).size).toBe(3)
    }
    const gone = applyPoolMapOperation(degraded, 'exclude', [{ rank: 1 }, { rank: 2 }])
    const lost = placeObject(gone, oidFor(three, 'RP_3G1', 1n)).groups[0]?.shards ?? []
    expect(lost.every((s) => s.targetId === undefined && s.remapped)).toBe(true)
  })

  it('spreads shards evenly over targets', () => {
    const map = pool()
    const counts = new Map<number, number>()
    let n = 0
    for (let lo = 1n; lo <= 3000n; lo++) {
      for (const g of placeObject(map, oidFor(map, 'RP_3G1', lo)).groups) {
        for (const s of g.shards) {
          counts.set(s.targetId ?? -1, (counts.get(s.targetId ?? -1) ?? 0) + 1)
          n++
        }
      }
    }
    expect(counts.size).toBe(24)
    for (const c of counts.values()) expect(Math.abs(c - n / 24) / (n / 24)).toBeLessThan(0.25)
  })

  it('orders EC shards data first, then parity', () => {
    const map = pool()
    const layout = placeObject(map, oidFor(map, 'EC_4P2G1', 9n))
    expect(layout.groups[0]?.shards.map((s) => s.role)).toEqual(['data', 'data', 'data', 'data', 'parity', 'parity'])
    expect(layout.groups[0]?.shards.map((s) => s.shard)).toEqual([0, 1, 2, 3, 4, 5])
    const gx = placeObject(map, oidFor(map, 'EC_2P1GX', 9n))
    expect(gx.groups.length).toBe(8)
    expect(gx.groups[3]?.shards.map((s) => [s.shard, s.role])).toEqual([
      [9, 'data'],
      [10, 'data'],
      [11, 'parity'],
    ])
    expect(placeObject(map, oidFor(map, 'RP_2G1', 9n)).groups[0]?.shards.map((s) => s.role)).toEqual(['replica', 'replica'])
  })

  it('skips NEW targets until the extend completes, and keeps drained targets serving', () => {
    let map = pool()
    map = applyPoolMapOperation(map, 'drain', [{ rank: 0 }])
    const drainedIds = new Set(map.ranks[0]?.targets.map((t) => t.id))
    let onDrained = 0
    for (let lo = 1n; lo <= 200n; lo++) {
      for (const g of placeObject(map, oidFor(map, 'RP_2G1', lo)).groups) for (const s of g.shards) if (drainedIds.has(s.targetId ?? -1)) onDrained++
    }
    expect(onDrained).toBeGreaterThan(0)
    const grown = buildPoolMap({ ranks: [0, 1, 2].map((rank) => ({ rank, host: `h${rank}`, targets: 2 })) })
    const extended = applyPoolMapOperation(grown, 'exclude', [{ rank: 2 }])
    for (let lo = 1n; lo <= 100n; lo++) {
      for (const g of placeObject(extended, oidFor(extended, 'RP_2G1', lo)).groups) for (const s of g.shards) expect(s.rank).not.toBe(2)
    }
  })
})
