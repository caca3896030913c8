import { isDerError } from '@x/common'
import { decodePoolMap, poolTargets } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { startTestSystem } from '../../src/testing/index.ts'

describe('SystemNode: pool operations', () => {
  it('destroy is refused with open handles unless forced; evict closes handles; ACL checks connect', async () => {
    const seed = 401
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 1 << 20, user: 'alice', group: 'staff' })
      const n = sys.node(1)
      const props = await sys.settle(n.poolGetProp({ id: 'tank', names: ['owner', 'group'] }))
      expect(props.properties, `seed ${seed}`).toEqual({ owner: 'alice@', group: 'staff@' })
      const own = await sys.settle(n.poolConnect({ id: 'tank', user: 'alice', groups: ['staff'] }))
      const denied = await sys.settle(n.poolConnect({ id: 'tank', user: 'mallory', groups: ['other'] }).then(() => undefined, (e: unknown) => e))
      expect(isDerError(denied, 'DER_NO_PERM'), `seed ${seed}: ${String(denied)}`).toBe(true)
      await sys.settle(n.poolUpdateAcl({ id: 'tank', entries: ['A::EVERYONE@:r'] }))
      const ro = await sys.settle(n.poolConnect({ id: 'tank', user: 'mallory', groups: ['other'], caps: 'ro' }))
      expect(ro.mapVersion).toBe(1)
      const busy = await sys.settle(n.poolDestroy({ id: 'tank' }).then(() => undefined, (e: unknown) => e))
      expect(isDerError(busy, 'DER_BUSY'), `seed ${seed}: ${String(busy)}`).toBe(true)
      expect((await sys.settle(n.poolQuery({ id: 'tank' }))).handles, `seed ${seed}`).toBe(2)
      const evicted = await sys.settle(n.poolEvict({ id: 'tank', handles: [own.handle] }))
      expect(evicted.evicted).toBe(1)
      expect((await sys.settle(n.poolQuery({ id: 'tank' }))).handles, `seed ${seed}`).toBe(1)
      const acl = await sys.settle(n.poolDeleteAcl({ id: 'tank', principal: 'EVERYONE@' }))
      expect(acl.entries.some((e) => e.includes('EVERYONE@'))).toBe(false)
      await sys.settle(n.poolDestroy({ id: 'tank', force: true }))
      expect((await sys.settle(n.poolList())).pools, `seed ${seed}`).toEqual([])
      const gone = await sys.waitFor(() => sys.engines.every((e) => e.node?.objectService(pool.uuid) === undefined && e.node?.poolService(pool.uuid) === undefined), 5_000)
      expect(gone, `seed ${seed}: every rank closed the pool`).toBe(true)
      expect(sys.engines.every((e) => !e.storages.has(`pool/${pool.uuid}`)), `seed ${seed}: logs removed`).toBe(true)
    } finally {
      await sys.stopAll()
    }
  })

  it('drain moves data away and ends DOWNOUT; a create that cannot reach a rank changes nothing', async () => {
    const seed = 402
    const sys = await startTestSystem({ seed, engines: 3, membership: false })
    try {
      await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
      const n = sys.node(0)
      const drained = await sys.settle(n.poolDrain({ id: 'tank', rank: 2, targetIndexes: [1] }))
      expect(drained.mapVersion, `seed ${seed}`).toBe(2)
      let states: string[] = []
      for (let i = 0; i < 40; i++) {
        const c = await sys.settle(n.poolConnect({ id: 'tank' }))
        states = poolTargets(decodePoolMap(c.poolMap)).filter((t) => t.rank === 2).map((t) => t.state)
        if (states[1] === 'DOWNOUT') break
        await sys.settle(sys.runtime.timers.sleep(250))
      }
      expect(states, `seed ${seed}`).toEqual(['UPIN', 'DOWNOUT'])
      const q = await sys.settle(n.poolQuery({ id: 'tank' }))
      expect(q.rebuild.state, `seed ${seed}`).toBe('done')
      expect(q.targetStates.DOWNOUT).toBe(1)

      await sys.crash(2)
      const failed = await sys.settle(n.poolCreate({ label: 'other', sizeBytes: 1 << 20 }).then(() => undefined, (e: unknown) => e))
      expect(isDerError(failed, 'DER_TIMEDOUT') || isDerError(failed, 'DER_UNREACH'), `seed ${seed}: ${String(failed)}`).toBe(true)
      expect((await sys.settle(n.poolList())).pools.map((p) => p.label), `seed ${seed}`).toEqual(['tank'])
    } finally {
      await sys.stopAll()
    }
  })
})
