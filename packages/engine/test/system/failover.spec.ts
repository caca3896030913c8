import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

const te = new TextEncoder()
const td = new TextDecoder()

describe('SystemNode: leaders fail', () => {
  it('the MS leader crashes: the other two elect, keep serving, and the restarted rank rejoins', async () => {
    const seed = 201
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      await sys.createPool({ label: 'before', sizeBytes: 1 << 20 })
      const leader = sys.msLeader()
      expect(leader, `seed ${seed}`).toBeDefined()
      const oldRank = leader?.rank ?? -1
      await sys.crash(oldRank)
      const survivors = sys.liveRanks()
      expect(survivors.length).toBe(2)
      // Requests through a survivor that is not (yet) the leader are forwarded once a new leader is elected.
      const { pool } = await sys.createPool({ label: 'after', sizeBytes: 1 << 20, nranks: 2 }, survivors[0])
      expect(pool.state, `seed ${seed}`).toBe('ready')
      expect(pool.tgtRanks.length, `seed ${seed}`).toBe(2)
      expect(sys.msLeader()?.rank, `seed ${seed}`).not.toBe(oldRank)
      const list = await sys.settle(sys.node(survivors[1] ?? 0).poolList())
      expect(list.pools.map((p) => p.label), `seed ${seed}`).toEqual(['after', 'before'])
      const node = await sys.restart(oldRank)
      expect(node.rank, `seed ${seed}`).toBe(oldRank)
      const q = await sys.settle(node.systemQuery())
      const member = q.members.find((m) => m.rank === oldRank)
      expect(member?.state, `seed ${seed}`).toBe('joined')
      expect(member?.incarnation, `seed ${seed}`).toBe(2)
      expect((await sys.settle(node.poolQuery({ id: 'before' }))).mapVersion).toBe(1)
    } finally {
      await sys.stopAll()
    }
  })

  it('a partitioned MS leader loses its role; the majority serves; after healing everyone agrees', async () => {
    const seed = 204
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
      const old = sys.msLeader()?.rank ?? 0
      const others = sys.liveRanks().filter((r) => r !== old)
      sys.partition([old], others)
      const res = await sys.settle(sys.node(others[0] ?? 0).systemStop({ ranks: [old] }))
      expect(res.mapVersion, `seed ${seed}`).toBeGreaterThan(0)
      const leaders = sys.engines.filter((e) => e.node?.isMsLeader === true && e.rank !== old)
      expect(leaders.length, `seed ${seed}: a majority leader`).toBe(1)
      sys.heal()
      const agreed = await sys.waitFor(() => sys.engines.filter((e) => e.node?.isMsLeader === true).length === 1 && sys.node(old).isMsLeader === false, 10_000)
      expect(agreed, `seed ${seed}`).toBe(true)
      const q = await sys.settle(sys.node(old).systemQuery({ ranks: [old] }))
      expect(q.members[0]?.state, `seed ${seed}`).toBe('stopped')
      await sys.settle(sys.node(old).systemStart({ ranks: [old] }))
      expect((await sys.settle(sys.node(others[1] ?? 0).systemQuery({ ranks: [old] }))).members[0]?.state).toBe('joined')
    } finally {
      await sys.stopAll()
    }
  })

  it('a pool service replica crashes: the pool keeps answering, containers and ACLs change', async () => {
    const seed = 202
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
      await sys.createContainer({ pool: 'tank', label: 'c1' })
      const psLeader = pool.svcRanks.find((r) => sys.node(r).poolService(pool.uuid)?.isLeader() === true)
      expect(psLeader, `seed ${seed}`).toBeDefined()
      await sys.crash(psLeader ?? 0)
      const via = sys.liveRanks()[0] ?? 0
      const n = sys.node(via)
      await sys.createContainer({ pool: 'tank', label: 'c2', oclass: 'RP_2G1' }, via)
      const conts = await sys.settle(n.containerList({ pool: 'tank' }))
      expect(conts.containers.map((c) => c.label).sort(), `seed ${seed}`).toEqual(['c1', 'c2'])
      const acl = await sys.settle(n.poolUpdateAcl({ id: 'tank', entries: ['A:G:staff@:r'] }))
      expect(acl.entries, `seed ${seed}`).toContain('A:G:staff@:r')
      await sys.settle(n.containerSetAttr({ pool: 'tank', cont: 'c2', attributes: { color: 'blue' } }))
      const attrs = await sys.settle(n.containerGetAttr({ pool: 'tank', cont: 'c2', names: ['color'] }))
      expect(td.decode(attrs.attributes['color'] ?? new Uint8Array()), `seed ${seed}`).toBe('blue')
      const snap = await sys.settle(n.containerCreateSnap({ pool: 'tank', cont: 'c2' }))
      expect((await sys.settle(n.containerListSnaps({ pool: 'tank', cont: 'c2' }))).epochs, `seed ${seed}`).toEqual([snap.epoch])
      // The crashed replica restarts and catches up.
      await sys.restart(psLeader ?? 0)
      const caughtUp = await sys.waitFor(() => sys.node(psLeader ?? 0).poolService(pool.uuid)?.machine.listContainers().length === 2, 20_000)
      expect(caughtUp, `seed ${seed}: restarted replica caught up`).toBe(true)
    } finally {
      await sys.stopAll()
    }
  })

  it('every engine crashes and restarts: pools, containers and data come back', async () => {
    const seed = 203
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 4 << 20 })
      await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
      const c = await sys.client('tank', 'c1')
      for (let i = 0; i < 5; i++) await sys.settle(c.objects.update(c.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a'), value: te.encode(`v${i}`) }]))
      await c.close()
      for (const n of sys.engines) await sys.settle(n.node?.objectService(pool.uuid)?.flushCommits() ?? Promise.resolve())
      for (const rank of [...sys.liveRanks()]) await sys.crash(rank)
      await sys.restartAll()
      const ok = await sys.waitFor(() => sys.engines.every((e) => e.node?.objectService(pool.uuid) !== undefined), 30_000)
      expect(ok, `seed ${seed}: every rank reopened the pool`).toBe(true)
      const pq = await sys.settle(sys.anyNode().poolQuery({ id: 'tank' }))
      expect(pq.pool.uuid, `seed ${seed}`).toBe(pool.uuid)
      expect(pq.containers).toBe(1)
      const again = await sys.client('tank', 'c1')
      for (let i = 0; i < 5; i++) {
        const got = await sys.settle(again.objects.fetch(again.kvOid, te.encode(`k${i}`), [{ type: 'single', akey: te.encode('a') }]))
        expect(got[0] === undefined ? undefined : td.decode(got[0].data), `seed ${seed} k${i}`).toBe(`v${i}`)
      }
      await again.close()
      const members = await sys.settle(sys.anyNode().systemQuery())
      expect(members.members.every((m) => m.state === 'joined' && m.incarnation === 2), `seed ${seed}`).toBe(true)
    } finally {
      await sys.stopAll()
    }
  })
})
