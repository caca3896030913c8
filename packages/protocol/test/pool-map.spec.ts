import { DecodeError, Encoder, Random, isDerError } from '@x/common'
import { doRule } from '@x/crush'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type PoolMap,
  type PoolMapOperation,
  applyPoolMapOperation,
  buildPoolMap,
  checkMapVersion,
  compareMapVersions,
  decodePoolMap,
  domainCount,
  encodePoolMap,
  extendPoolMap,
  poolMapCrush,
  poolRuleIds,
  poolTargets,
  targetStateCounts,
} from '../src/index.ts'

const seed = Number(process.env.X_SEED ?? 20261121)

function sample(): PoolMap {
  return buildPoolMap({
    ranks: [
      { rank: 0, host: 'node-a', targets: 4 },
      { rank: 1, host: 'node-a', targets: 4 },
      { rank: 2, host: 'node-b', targets: 4 },
      { rank: 3, host: 'node-c', targets: 4 },
    ],
  })
}

describe('pool map', () => {
  it('builds a CRUSH map of root > host > rank > target', () => {
    const map = sample()
    const crush = poolMapCrush(map)
    expect(crush.maxDevices).toBe(16)
    expect([...crush.typeNames.values()]).toEqual(['target', 'rank', 'host', 'root'])
    const root = crush.buckets[0]
    expect(root?.items.length).toBe(3)
    expect(domainCount(map, 'rank')).toBe(4)
    expect(domainCount(map, 'host')).toBe(3)
    // The host rule puts three shards on three hosts.
    const picked = doRule(crush, poolRuleIds.host, 77, 3, new Array(16).fill(0x10000))
    const hosts = picked.map((id) => map.ranks.find((r) => r.targets.some((t) => t.id === id))?.host)
    expect(new Set(hosts).size).toBe(3)
  })

  it('bumps the version on every change and follows DAOS state transitions', () => {
    let map = sample()
    expect(map.version).toBe(1)
    map = applyPoolMapOperation(map, 'exclude', [{ rank: 2, targetIndexes: [1] }])
    expect(map.version).toBe(2)
    const t = map.ranks[2]?.targets[1]
    expect(t?.state).toBe('DOWN')
    expect(t?.failSeq).toBe(2)
    map = applyPoolMapOperation(map, 'rebuildDone', [{ rank: 2, targetIndexes: [1] }])
    expect(map.ranks[2]?.targets[1]?.state).toBe('DOWNOUT')
    map = applyPoolMapOperation(map, 'reintegrate', [{ rank: 2 }])
    expect(map.ranks[2]?.targets.map((x) => x.state)).toEqual(['UPIN', 'UP', 'UPIN', 'UPIN'])
    map = applyPoolMapOperation(map, 'reintegrateDone', [{ rank: 2 }])
    map = applyPoolMapOperation(map, 'drain', [{ rank: 0 }])
    expect(targetStateCounts(map)).toMatchObject({ DRAIN: 4, UPIN: 12 })
    expect(map.version).toBe(6)
    map = extendPoolMap(map, [{ rank: 9, host: 'node-d', targets: 2 }])
    expect(map.version).toBe(7)
    expect(map.ranks[4]?.targets.map((x) => [x.id, x.state])).toEqual([
      [16, 'NEW'],
      [17, 'NEW'],
    ])
    map = applyPoolMapOperation(map, 'extendDone', [{ rank: 9 }])
    expect(map.ranks[4]?.targets[0]?.state).toBe('UPIN')
  })

  it('refuses bad operations with a typed error and leaves the map unchanged', () => {
    const map = sample()
    const before = encodePoolMap(map)
    const expectDer = (fn: () => unknown, name: 'DER_INVAL' | 'DER_NONEXIST' | 'DER_ALREADY', text: string): void => {
      try {
        fn()
        expect.unreachable(text)
      } catch (error) {
        expect(isDerError(error, name), String(error)).toBe(true)
        expect(String(error)).toContain(text)
      }
    }
    expectDer(() => applyPoolMapOperation(map, 'rebuildDone', [{ rank: 0 }]), 'DER_INVAL', 'is UPIN')
    expectDer(() => applyPoolMapOperation(map, 'exclude', [{ rank: 7 }]), 'DER_NONEXIST', 'rank 7')
    expectDer(() => applyPoolMapOperation(map, 'exclude', [{ rank: 0, targetIndexes: [4] }]), 'DER_NONEXIST', 'index 4')
    expectDer(() => applyPoolMapOperation(map, 'reintegrateDone', [{ rank: 0 }]), 'DER_ALREADY', 'already')
    expectDer(() => buildPoolMap({ ranks: [] }), 'DER_INVAL', 'at least one rank')
    expectDer(() => buildPoolMap({ ranks: [{ rank: 1, host: 'h', targets: 1 }, { rank: 1, host: 'h', targets: 1 }] }), 'DER_INVAL', 'twice')
    expectDer(() => buildPoolMap({ ranks: [{ rank: 1, host: '', targets: 1 }] }), 'DER_INVAL', 'host name')
    expectDer(() => buildPoolMap({ ranks: [{ rank: 1, host: 'h', targets: 0 }] }), 'DER_INVAL', 'target count')
    expect(encodePoolMap(map)).toEqual(before)
  })

  it('round-trips through its binary encoding', () => {
    const arb = fc
      .array(fc.record({ host: fc.constantFrom('a', 'b', 'c', 'd'), targets: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 12 })
      .chain((ranks) =>
        fc.tuple(
          fc.constant(ranks),
          fc.array(fc.tuple(fc.nat(ranks.length - 1), fc.constantFrom<PoolMapOperation>('exclude', 'drain', 'rebuildDone', 'reintegrate')), { maxLength: 6 }),
        ),
      )
    fc.assert(
      fc.property(arb, ([ranks, ops]) => {
        let map = buildPoolMap({ ranks: ranks.map((r, i) => ({ rank: i * 3, host: r.host, targets: r.targets })) })
        for (const [i, op] of ops) {
          try {
            map = applyPoolMapOperation(map, op, [{ rank: i * 3 }])
          } catch (error) {
            if (!isDerError(error)) throw error
          }
        }
        const decoded = decodePoolMap(encodePoolMap(map))
        expect(decoded).toEqual(map)
        expect(encodePoolMap(decoded)).toEqual(encodePoolMap(map))
      }),
      { seed, numRuns: 200 },
    )
  })

  it('fuzzed decoding only ever throws DecodeError', () => {
    const random = new Random(seed)
    const valid = encodePoolMap(extendPoolMap(applyPoolMapOperation(sample(), 'exclude', [{ rank: 1 }]), [{ rank: 5, host: 'x', targets: 3 }]))
    const isolated = (bytes: Uint8Array, label: string): void => {
      try {
        decodePoolMap(bytes)
      } catch (error) {
        if (!(error instanceof DecodeError)) throw new Error(`seed ${seed}, ${label}: ${String(error)} is not a DecodeError`, { cause: error })
      }
    }
    for (let i = 0; i < 3000; i++) {
      const bytes = valid.slice()
      const flips = 1 + random.int(4)
      for (let f = 0; f < flips; f++) bytes[random.int(bytes.length)] = random.int(256)
      isolated(bytes, `mutation ${i}`)
      isolated(valid.subarray(0, random.int(valid.length)), `truncation ${i}`)
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        isolated(bytes, 'random bytes')
      }),
      { seed, numRuns: 500 },
    )
    // Well-formed structure, inconsistent content: a duplicate rank.
    const e = new Encoder()
    e.struct(1, 1, (f) => {
      f.u32(1)
      f.array([0, 0], (g) => {
        g.u32(4).string('h')
        g.array([0], (h) => h.varuint(0).u8(2).varuint(0))
      })
    })
    expect(() => decodePoolMap(e.finish())).toThrow(DecodeError)
    expect(() => decodePoolMap(e.finish())).toThrow(/appears twice/)
  })

  it('lists targets with stable ids', () => {
    const ids = poolTargets(sample()).map((t) => t.id)
    expect(ids).toEqual([...Array(16).keys()])
  })
})

describe('map versions', () => {
  it('tells a stale sender from a stale server', () => {
    expect(compareMapVersions(3, 3)).toBe('current')
    expect(compareMapVersions(2, 3)).toBe('sender-stale')
    expect(compareMapVersions(4, 3)).toBe('server-stale')
    checkMapVersion(3, 3)
    try {
      checkMapVersion(2, 5)
      expect.unreachable()
    } catch (error) {
      expect(isDerError(error, 'DER_STALE')).toBe(true)
      expect((error as { details: Record<string, unknown> }).details).toMatchObject({ senderVersion: 2, serverVersion: 5 })
    }
  })
})
