import { isDerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  ObjectType,
  applyPoolMapOperation,
  buildPoolMap,
  dkeyGroup,
  dkeyHash,
  ecRecordCell,
  encodeObjectId,
  generateObjectId,
  groupLeader,
  jumpConsistentHash,
  layoutMoves,
  murmurHash64a,
  parseObjectClass,
  placeObject,
  poolMapFit,
} from '../src/index.ts'

interface Vectors {
  murmur64a: { key: string; hash: string }[]
  jump: { key: string; buckets: number; bucket: number }[]
}
const vectors = JSON.parse(readFileSync(new URL('../testdata/hash-vectors.json', import.meta.url), 'utf8')) as Vectors
const text = new TextEncoder()

describe('dkey hashing and groups', () => {
  it('matches MurmurHash64A and jump hash vectors from a C implementation', () => {
    for (const v of vectors.murmur64a) expect(murmurHash64a(text.encode(v.key)).toString(), v.key).toBe(v.hash)
    for (const v of vectors.jump) expect(jumpConsistentHash(BigInt(v.key), v.buckets), `${v.key} in ${v.buckets}`).toBe(v.bucket)
  })

  it('spreads dkeys over groups and moves few when groups grow (jump hash)', () => {
    const counts = new Array<number>(8).fill(0)
    let moved = 0
    for (let i = 0; i < 4000; i++) {
      const h = murmurHash64a(text.encode(`key-${i}`))
      const a = jumpConsistentHash(h, 8)
      const b = jumpConsistentHash(h, 9)
      counts[a] = (counts[a] ?? 0) + 1
      if (a !== b) {
        moved++
        expect(b).toBe(8)
      }
    }
    for (const c of counts) expect(Math.abs(c - 500)).toBeLessThan(100)
    expect(moved).toBeGreaterThan(4000 / 9 / 2)
    expect(moved).toBeLessThan((4000 / 9) * 1.5)
  })

  it('uses the u64 value itself for u64-dkey types', () => {
    const oid = encodeObjectId({ type: ObjectType.DKEY_UINT64, oclass: parseObjectClass('SX'), groups: 4, lo: 1n })
    const dkey = new Uint8Array(8)
    new DataView(dkey.buffer).setBigUint64(0, 77n, true)
    expect(dkeyHash(oid, dkey)).toBe(77n)
    expect(dkeyGroup(oid, dkey)).toBe(jumpConsistentHash(77n, 4))
    try {
      dkeyHash(oid, new Uint8Array(3))
      expect.unreachable()
    } catch (error) {
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
    }
  })

  it('maps EC records to stripes and data cells', () => {
    expect(ecRecordCell(0n, 1, 4096, 4)).toEqual({ stripe: 0n, position: 0 })
    expect(ecRecordCell(4096n, 1, 4096, 4)).toEqual({ stripe: 0n, position: 1 })
    expect(ecRecordCell(16384n, 1, 4096, 4)).toEqual({ stripe: 1n, position: 0 })
    expect(ecRecordCell(1023n, 4, 4096, 2)).toEqual({ stripe: 0n, position: 0 })
    expect(ecRecordCell(1024n, 4, 4096, 2)).toEqual({ stripe: 0n, position: 1 })
    expect(() => ecRecordCell(0n, 8, 4, 2)).toThrow(/bad EC geometry/)
  })
})

describe('leaders and moves', () => {
  const map = buildPoolMap({ ranks: [0, 1, 2, 3, 4].map((rank) => ({ rank, host: `h${rank}`, targets: 2 })) })

  it('leads EC groups from parity and spreads replica leaders', () => {
    const ec = placeObject(map, generateObjectId({ lo: 5n, type: 0, oclass: parseObjectClass('EC_2P1G1'), fit: poolMapFit(map) }))
    expect(groupLeader(ec, 0)?.role).toBe('parity')
    const positions = new Set<number>()
    for (let lo = 1n; lo <= 60n; lo++) {
      const rp = placeObject(map, generateObjectId({ lo, type: 0, oclass: parseObjectClass('RP_3G1'), fit: poolMapFit(map) }))
      positions.add(groupLeader(rp, 0)?.position ?? -1)
      expect(groupLeader(rp, 0)).toBe(groupLeader(rp, 0))
    }
    expect(positions).toEqual(new Set([0, 1, 2]))
    expect(() => groupLeader(ec, 3)).toThrow(/no group 3/)
  })

  it('reports exactly the shards that moved, and leaders move off excluded targets', () => {
    const oid = generateObjectId({ lo: 11n, type: 0, oclass: parseObjectClass('RP_3GX'), fit: poolMapFit(map) })
    const before = placeObject(map, oid)
    const victim = before.groups[0]?.shards[0]
    expect(victim?.rank).not.toBeUndefined()
    const after = placeObject(applyPoolMapOperation(map, 'exclude', [{ rank: victim?.rank ?? 0 }]), oid)
    const moves = layoutMoves(before, after)
    const expected = before.groups.flatMap((g) => g.shards.filter((s) => s.rank === victim?.rank).map((s) => s.shard))
    expect(moves.map((m) => m.shard)).toEqual(expected)
    for (const g of after.groups) expect(groupLeader(after, g.group)?.rank).not.toBe(victim?.rank)
  })
})
