// The mutation switch for the simulator's checkers (issue 13, acceptance 4): with
// `unsafeAcknowledgeBeforeReplicasDurable` the leader acknowledges before the replicas hold the
// write, so a leader crash right after the acknowledgement loses an acknowledged write. Without
// it the same schedule keeps the write.
import { applyPoolMapOperation, groupLeader, placeObject } from '@x/protocol'
import { describe, expect, it } from 'vitest'
import { key, startCluster, td, te } from './cluster.ts'

const seed = Number(process.env.TEST_SEED ?? 0x5afe)

async function crashLeaderRightAfterAck(unsafe: boolean, oclass: string, runSeed: number): Promise<(string | undefined)[]> {
  const c = await startCluster({ seed: runSeed, ranks: 6, unsafeAcknowledgeBeforeReplicasDurable: unsafe, ecCellRecords: 16 })
  const oid = c.newOid(oclass)
  const layout = placeObject(c.map, oid)
  const lead = groupLeader(layout, 0)
  if (lead === undefined) throw new Error('no leader')
  const value = oclass.startsWith('EC') ? { type: 'array' as const, akey: key('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 5, data: te.encode('acked') }] } : { type: 'single' as const, akey: key('a'), value: te.encode('acked') }
  // The client has its acknowledgement; no virtual time passes before the leader dies.
  await c.settle(c.client.update(oid, key('d'), [value]))
  await c.crash(lead.rank as number)
  const v2 = applyPoolMapOperation(c.map, 'exclude', [{ rank: lead.rank as number }])
  for (const e of c.engines) if (e.alive) e.service.setPoolMap(v2)
  await c.runtime.advance(1000)
  const client = c.newClient(v2)
  const after = placeObject(v2, oid)
  const readable = (after.groups[0]?.shards ?? []).filter((s) => !s.remapped)
  const seen: (string | undefined)[] = []
  for (const s of readable) {
    const fetch = oclass.startsWith('EC') ? { type: 'array' as const, akey: key('a'), extents: [{ index: 0, count: 5 }] } : { type: 'single' as const, akey: key('a') }
    const [v] = await c.settle(client.fetch(oid, key('d'), [fetch], { replica: s.position }))
    const text = v === undefined || v.recordSizeBytes === 0 ? undefined : td.decode(v.data)
    seen.push(text === '\0\0\0\0\0' ? undefined : text)
  }
  return seen
}

describe(`mutation switch: acknowledge before the replicas are durable (seed ${seed})`, () => {
  for (const oclass of ['RP_3G1', 'EC_2P1G1']) {
    it(`${oclass}: off (default), a leader crash right after the ack keeps the write on every survivor`, async () => {
      const seen = await crashLeaderRightAfterAck(false, oclass, seed)
      expect(seen.length, `seed ${seed}`).toBeGreaterThan(0)
      for (const v of seen) expect(v, `seed ${seed} ${oclass}: acknowledged write`).toBe('acked')
    })

    it(`${oclass}: on, a leader crash right after the ack loses the acknowledged write`, async () => {
      const seen = await crashLeaderRightAfterAck(true, oclass, seed)
      expect(seen.length, `seed ${seed}`).toBeGreaterThan(0)
      for (const v of seen) expect(v, `seed ${seed} ${oclass}: the mutation must lose the write`).toBeUndefined()
    })
  }
})
