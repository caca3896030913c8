// Lease-based reads (readOnly: 'lease'): answered at once inside the lease, never while another
// leader may exist. The randomized test checks lease safety at every election under tick drift.
import { Random } from '@x/common'
import { describe, expect, it } from 'vitest'
import { MemoryStorage, RawNode, leaseTicksFor, message } from '../src/index.ts'
import { SimCluster } from './support/sim.ts'

function leaderOf(sim: SimCluster): RawNode {
  const l = sim.leader()?.node
  if (l === undefined) throw new Error(`seed ${sim.options.seed}: no leader`)
  return l
}

describe('leader leases', () => {
  it('the lease length accounts for tick phase and clock drift', () => {
    expect(leaseTicksFor(10, 0)).toBe(8)
    expect(leaseTicksFor(10, 0.1)).toBe(7)
    expect(leaseTicksFor(20, 0.5)).toBe(11)
  })

  it('a leader inside its lease answers a read at once; outside it, it needs a heartbeat round', () => {
    const sim = new SimCluster({ seed: 5, nodes: 3, leaseReads: true })
    sim.faultsOn = false
    sim.runtime.advanceSync(600)
    const leader = leaderOf(sim)
    expect(leader.raft.inLeaderLease(), 'seed 5: lease after heartbeat rounds').toBe(true)
    leader.readIndex(new TextEncoder().encode('now'))
    const rd = leader.ready()
    expect(rd.readStates.map((r) => r.index)).toEqual([leader.status().hardState.commit])
    expect(rd.messages.filter((m) => m.type === 'MsgHeartbeat')).toEqual([])
    leader.advance(rd)
    // Cut the leader off: its lease runs out before anyone else can be elected.
    sim.partition([[sim.leader()?.id ?? 0], [1, 2, 3].filter((id) => id !== sim.leader()?.id)])
    sim.runtime.advanceSync(10 * leader.raft.leaseTicks + 20)
    expect(leader.raft.inLeaderLease()).toBe(false)
    sim.runtime.advanceSync(1000)
    expect(sim.violations).toEqual([])
    expect(sim.leaders.size).toBeGreaterThan(1)
  })

  it('a leadership transfer ends the lease', () => {
    const sim = new SimCluster({ seed: 6, nodes: 3, leaseReads: true })
    sim.faultsOn = false
    sim.runtime.advanceSync(600)
    const leader = leaderOf(sim)
    expect(leader.raft.inLeaderLease()).toBe(true)
    const other = [1, 2, 3].find((id) => id !== leader.id) as number
    leader.transferLeadership(other)
    expect(leader.raft.inLeaderLease()).toBe(false)
  })

  it('a node started in lease mode ignores votes for one election timeout (its startup lease)', () => {
    const node = new RawNode({ id: 1, storage: MemoryStorage.withVoters([1, 2, 3]), random: new Random(1), readOnly: 'lease' })
    node.step(message({ type: 'MsgVote', from: 2, to: 1, term: 5 }))
    expect(node.status().hardState.term).toBe(0)
    for (let i = 0; i < 10; i++) node.tick()
    node.step(message({ type: 'MsgVote', from: 2, to: 1, term: 5 }))
    expect(node.status().hardState).toMatchObject({ term: 5, vote: 2 })
  })

  it('lease mode without check-quorum is refused', () => {
    expect(() => new RawNode({ id: 1, storage: MemoryStorage.withVoters([1]), random: new Random(1), readOnly: 'lease', checkQuorum: false })).toThrow(
      expect.objectContaining({ name: 'DER_INVAL' }),
    )
  })
})
