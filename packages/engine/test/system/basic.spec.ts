import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

describe('SystemNode: three engines', () => {
  it('elect an MS leader, join, create a pool and a container, and serve object I/O', async () => {
    const seed = 101
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      const q = await sys.settle(sys.anyNode().systemQuery())
      expect(q.members.map((m) => m.rank), `seed ${seed}`).toEqual([0, 1, 2])
      expect(q.members.every((m) => m.state === 'joined'), `seed ${seed}`).toBe(true)
      expect(sys.engines.filter((e) => e.node?.isMsLeader).length, `seed ${seed}`).toBe(1)

      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 }, 2)
      expect(pool.state, `seed ${seed}`).toBe('ready')
      expect(pool.tgtRanks, `seed ${seed}`).toEqual([0, 1, 2])
      expect(pool.svcRanks, `seed ${seed}`).toEqual([0, 1, 2])
      for (const rank of [0, 1, 2]) expect(sys.node(rank).objectService(pool.uuid), `seed ${seed} rank ${rank}`).toBeDefined()

      const { container } = await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' }, 1)
      expect(container.label).toBe('c1')
      const c = await sys.client('tank', 'c1', 0)
      expect(c.connect.ranks.map((r) => r.rank), `seed ${seed}`).toEqual([0, 1, 2])
      expect(c.map.version).toBe(1)
      await sys.settle(c.objects.update(c.kvOid, te.encode('k'), [{ type: 'single', akey: te.encode('a'), value: te.encode('hello') }]))
      const got = await sys.settle(c.objects.fetch(c.kvOid, te.encode('k'), [{ type: 'single', akey: te.encode('a') }]))
      expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${seed}`).toBe('hello')
      await c.close()

      await sys.createContainer({ pool: 'tank', label: 'ec', oclass: 'EC_2P1G1', type: 'POSIX' }, 2)
      const ecq = await sys.settle(sys.node(0).containerQuery({ pool: 'tank', cont: 'ec' }))
      expect([ecq.oclass, ecq.type, ecq.properties['layout_type']], `seed ${seed}`).toEqual(['EC_2P1G1', 'POSIX', 'POSIX'])
      const ec = await sys.client('tank', 'ec', 2)
      const data = te.encode('0123456789abcdef'.repeat(64))
      await sys.settle(ec.objects.update(ec.kvOid, te.encode('d'), [{ type: 'array', akey: te.encode('x'), recordSizeBytes: 1, extents: [{ index: 0, count: data.length, data }] }]))
      const back = await sys.settle(ec.objects.fetch(ec.kvOid, te.encode('d'), [{ type: 'array', akey: te.encode('x'), extents: [{ index: 0, count: data.length }] }]))
      expect(back[0]?.data, `seed ${seed}`).toEqual(data)
      await ec.close()

      const list = await sys.settle(sys.node(0).poolList())
      expect(list.pools.map((p) => p.label)).toEqual(['tank'])
      const pq = await sys.settle(sys.node(1).poolQuery({ id: 'tank' }))
      expect(pq.totalTargets, `seed ${seed}`).toBe(6)
      expect(pq.activeTargets).toBe(6)
      expect(pq.mapVersion).toBe(1)
    } finally {
      await sys.stopAll()
    }
  })

  it('forwards requests from followers and from an engine without an MS replica', async () => {
    const seed = 103
    const sys = await startTestSystem({ seed, engines: 4, accessPoints: 3, membership: false })
    try {
      const plain = sys.engines[3]?.node
      expect(plain?.managementService, `seed ${seed}: engine 3 is not an access point`).toBeUndefined()
      const followers = sys.engines.filter((e) => e.node !== undefined && e.node.managementService !== undefined && !e.node.isMsLeader)
      expect(followers.length, `seed ${seed}`).toBe(2)
      const viaPlain = await sys.createPool({ label: 'p0', sizeBytes: 1 << 20, nranks: 2 }, plain?.rank)
      expect(viaPlain.pool.tgtRanks.length, `seed ${seed}`).toBe(2)
      expect(viaPlain.pool.svcRanks.length, `seed ${seed}`).toBe(2)
      for (const [i, f] of followers.entries()) {
        const { pool } = await sys.createPool({ label: `p${i + 1}`, sizeBytes: 1 << 20 }, f.rank)
        expect(pool.svcRanks.length, `seed ${seed}`).toBe(3)
        await sys.createContainer({ pool: `p${i + 1}`, label: 'c' }, f.rank)
      }
      // A pool service whose replicas are elsewhere answers through any engine.
      const outside = [0, 1, 2, 3].find((r) => !viaPlain.pool.svcRanks.includes(r)) ?? 0
      const pq = await sys.settle(sys.node(outside).poolQuery({ id: 'p0' }))
      expect(pq.totalTargets, `seed ${seed}`).toBe(4)
      const q = await sys.settle((plain ?? sys.anyNode()).systemQuery())
      expect(q.members.length).toBe(4)
      expect((await sys.settle(sys.node(outside).poolList())).pools.map((p) => p.label)).toEqual(['p0', 'p1', 'p2'])
      await sys.settle(sys.node(outside).poolDestroy({ id: 'p1' }))
      expect((await sys.settle(sys.anyNode().poolList())).pools.map((p) => p.label)).toEqual(['p0', 'p2'])
    } finally {
      await sys.stopAll()
    }
  })

  it('refuses bad input with typed errors and changes nothing', async () => {
    const seed = 102
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      const n = sys.node(1)
      const bad = async (p: Promise<unknown>, name: string): Promise<void> => {
        const e = await sys.settle(p.then(() => undefined, (x: unknown) => x))
        expect(isDerError(e, name as never), `seed ${seed}: expected ${name}, got ${String(e)}`).toBe(true)
      }
      await bad(n.poolCreate({ label: 'bad label!', sizeBytes: 1 << 20 }), 'DER_INVAL')
      await bad(n.poolCreate({ label: 'p', sizeBytes: -1 }), 'DER_INVAL')
      await bad(n.poolCreate({ label: 'p', sizeBytes: 2 ** 40 }), 'DER_NOSPACE')
      await bad(n.poolCreate({ label: 'p', sizeBytes: 1 << 20, properties: { nosuch: 'x' } }), 'DER_INVAL')
      await bad(n.poolCreate({ label: 'p', sizeBytes: 1 << 20, acl: ['A::NOBODY:zz'] }), 'DER_INVAL')
      await bad(n.poolCreate({ label: 'p', sizeBytes: 1 << 20, nranks: 7 }), 'DER_INVAL')
      expect((await sys.settle(n.poolList())).pools, `seed ${seed}`).toEqual([])
      await bad(n.poolQuery({ id: 'nosuch' }), 'DER_NONEXIST')
      await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
      await bad(n.poolCreate({ label: 'tank', sizeBytes: 1 << 20 }), 'DER_EXIST')
      await bad(n.containerCreate({ pool: 'tank', label: 'c', oclass: 'NOPE' }), 'DER_INVAL')
      await bad(n.containerCreate({ pool: 'tank', label: 'c', type: 'BLOCK' }), 'DER_INVAL')
      await bad(n.containerCreate({ pool: 'nosuch', label: 'c' }), 'DER_NONEXIST')
      expect((await sys.settle(n.containerList({ pool: 'tank' }))).containers).toEqual([])
      await bad(n.poolSetProp({ id: 'tank', properties: { reclaim: 'sometimes' } }), 'DER_INVAL')
      await bad(n.poolUpdateAcl({ id: 'tank', entries: ['garbage'] }), 'DER_INVAL')
      await bad(n.poolExclude({ id: 'tank', rank: 9 }), 'DER_NONEXIST')
      await bad(n.poolReintegrate({ id: 'tank', rank: 0 }), 'DER_ALREADY')
      const pq = await sys.settle(n.poolQuery({ id: 'tank' }))
      expect(pq.mapVersion, `seed ${seed}`).toBe(1)
      expect(pq.properties['reclaim']).not.toBe('sometimes')
      expect((await sys.settle(n.poolList())).pools.length).toBe(1)
    } finally {
      await sys.stopAll()
    }
  })
})
