import { Cart, type Context } from '@x/cart'
import { VirtualRuntime, isDerError } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import { detectionBoundMs } from '@x/swim'
import { describe, expect, it } from 'vitest'
import { MembershipAgent, type MembershipProfile, type RankStateEvent, swimDatagramRpc } from '../../src/membership/index.ts'

const seed = Number(process.env.X_SEED ?? 0x5317)

interface Node {
  rank: number
  cart: Cart
  context: Context
  agent: MembershipAgent
  events: (RankStateEvent & { atMs: number })[]
}

interface Swarm {
  runtime: VirtualRuntime
  fabric: MemoryFabric
  nodes: Node[]
  start(rank: number, incarnation?: number): Promise<Node>
  crash(rank: number): Promise<void>
}

async function swarm(options: { seed: number; ranks: number; profile: MembershipProfile }): Promise<Swarm> {
  const runtime = new VirtualRuntime({ seed: options.seed })
  const fabric = new MemoryFabric({ runtime, latencyMs: 1 })
  const ranks = Array.from({ length: options.ranks }, (_, r) => r)
  const nodes: Node[] = []
  const s: Swarm = {
    runtime,
    fabric,
    nodes,
    async start(rank, incarnation) {
      const cart = new Cart({ fabric, runtime, rank, defaultTimeoutMs: 2000 })
      for (const r of ranks) cart.primaryGroup.addRank(r, [`memory://swim-${r}`])
      const context = await runtime.settle(cart.createContext({ listen: `memory://swim-${rank}` }), 1000)
      const events: Node['events'] = []
      const agent = MembershipAgent.start({
        cart,
        context,
        runtime,
        self: rank,
        members: ranks,
        profile: options.profile,
        onEvent: (e) => events.push({ ...e, atMs: runtime.clock.monotonicMs() }),
        ...(incarnation === undefined ? {} : { incarnation }),
      })
      const node = { rank, cart, context, agent, events }
      nodes[rank] = node
      return node
    },
    async crash(rank) {
      const node = nodes[rank] as Node
      node.agent.stop()
      await runtime.settle(node.cart.close(), 1000)
    },
  }
  for (const r of ranks) await s.start(r)
  return s
}

const deadAt = (node: Node, rank: number): number | undefined => node.events.find((e) => e.rank === rank && e.state === 'dead')?.atMs

describe(`membership over cart (seed ${seed})`, () => {
  for (const [profile, ranks] of [
    ['daos', 5],
    ['local', 3],
    ['lan', 4],
  ] as const) {
    it(`${profile}, ${ranks} ranks: a crashed rank is reported dead by every other rank within the profile's bound`, async () => {
      const s = await swarm({ seed, ranks, profile })
      await s.runtime.advance(10_000)
      for (const n of s.nodes) {
        expect(n.events.filter((e) => e.state !== 'alive'), `seed ${seed} rank ${n.rank}: no verdicts while healthy`).toEqual([])
        expect([...n.agent.view().values()].every((v) => v === 'alive'), `seed ${seed}`).toBe(true)
      }
      const victim = ranks - 1
      const crashedAt = s.runtime.clock.monotonicMs()
      await s.crash(victim)
      const config = s.nodes[0]?.agent.config
      if (config === undefined) throw new Error('no config')
      // The first verdict within SWIM's bound; gossip spreads it within a few gossip rounds more.
      const boundMs = detectionBoundMs(config, ranks) + config.probeIntervalMs + 4 * config.gossipIntervalMs
      await s.runtime.advance(boundMs)
      for (const n of s.nodes.filter((x) => x.rank !== victim)) {
        const at = deadAt(n, victim)
        expect(at, `seed ${seed} ${profile}: rank ${n.rank} reports rank ${victim} dead`).toBeDefined()
        expect((at as number) - crashedAt, `seed ${seed} ${profile}: within ${boundMs} ms`).toBeLessThanOrEqual(boundMs)
        expect(n.agent.view().get(victim), `seed ${seed}`).toBe('dead')
        expect(n.events.filter((e) => e.state === 'dead' && e.rank !== victim), `seed ${seed}: no other rank dead`).toEqual([])
      }
    })
  }

  it('packet loss without a crash: no rank is ever declared dead', async () => {
    const s = await swarm({ seed: seed + 1, ranks: 5, profile: 'daos' })
    s.fabric.setFaults({ dropRate: 0.1 })
    await s.runtime.advance(120_000)
    expect(s.fabric.stats.dropped, `seed ${seed + 1}: messages were lost`).toBeGreaterThan(100)
    for (const n of s.nodes) {
      expect(n.events.filter((e) => e.state === 'dead'), `seed ${seed + 1} rank ${n.rank}`).toEqual([])
      expect(n.agent.stats.sendFailures, `seed ${seed + 1}: lost datagrams are counted`).toBeGreaterThan(0)
    }
  })

  it('a restarted rank (new incarnation) is reported alive again', async () => {
    const s = await swarm({ seed: seed + 2, ranks: 4, profile: 'local' })
    await s.runtime.advance(2000)
    await s.crash(2)
    await s.runtime.advance(30_000)
    for (const n of s.nodes.filter((x) => x.rank !== 2)) expect(deadAt(n, 2), `seed ${seed + 2}`).toBeDefined()
    const deadIncarnation = s.nodes[0]?.events.find((e) => e.rank === 2 && e.state === 'dead')?.incarnation ?? -1
    // The engine restarts with no SWIM state: it is told it was dead, refutes, and comes back.
    const restarted = await s.start(2)
    await s.runtime.advance(15_000)
    expect(restarted.agent.incarnation, `seed ${seed + 2}`).toBeGreaterThan(deadIncarnation)
    for (const n of s.nodes.filter((x) => x.rank !== 2)) {
      const back = n.events.filter((e) => e.rank === 2 && e.state === 'alive' && e.incarnation > deadIncarnation)
      expect(back.length, `seed ${seed + 2}: rank ${n.rank} sees rank 2 alive again`).toBeGreaterThan(0)
      expect(n.agent.view().get(2), `seed ${seed + 2}`).toBe('alive')
    }
    expect([...restarted.agent.view().values()].every((v) => v === 'alive'), `seed ${seed + 2}`).toBe(true)
  })

  it('setMembers: a removed rank is neither probed nor reported; re-added, it is reported with its state', async () => {
    const s = await swarm({ seed: seed + 3, ranks: 4, profile: 'local' })
    await s.runtime.advance(2000)
    for (const n of s.nodes) n.agent.setMembers([0, 1, 2])
    await s.crash(3)
    await s.runtime.advance(30_000)
    for (const n of s.nodes.slice(0, 3)) {
      expect(n.events.filter((e) => e.rank === 3 && e.state !== 'alive'), `seed ${seed + 3}`).toEqual([])
      expect(n.agent.view().has(3), `seed ${seed + 3}`).toBe(false)
      expect(n.agent.members, `seed ${seed + 3}`).toEqual([0, 1, 2].filter((r) => r !== n.rank))
    }
    const zero = s.nodes[0] as Node
    const before = zero.events.length
    zero.agent.setMembers([0, 1, 2, 3])
    // Rank 3 was alive when it was removed; the node never probed it since, so it reports what it knows.
    expect(zero.events.slice(before).map((e) => e.rank), `seed ${seed + 3}`).toEqual([3])
    await s.runtime.advance(30_000)
    expect(zero.agent.view().get(3), `seed ${seed + 3}: probed again, it is found dead`).toBe('dead')
  })

  it('a rank added to the system later is learned through setMembers, then watched like the others', async () => {
    const s = await swarm({ seed: seed + 5, ranks: 3, profile: 'local' })
    await s.runtime.advance(2000)
    // A fourth engine starts knowing everyone; the others do not know it yet and drop its messages.
    const cart = new Cart({ fabric: s.fabric, runtime: s.runtime, rank: 3, defaultTimeoutMs: 2000 })
    for (const r of [0, 1, 2, 3]) cart.primaryGroup.addRank(r, [`memory://swim-${r}`])
    for (const n of s.nodes) n.cart.primaryGroup.addRank(3, ['memory://swim-3'])
    const context = await s.runtime.settle(cart.createContext({ listen: 'memory://swim-3' }), 1000)
    const late = MembershipAgent.start({ cart, context, runtime: s.runtime, self: 3, members: [0, 1, 2, 3], profile: 'local', onEvent: () => undefined })
    await s.runtime.advance(5000)
    for (const n of s.nodes) expect(n.agent.view().has(3), `seed ${seed + 5}: not a member yet`).toBe(false)
    for (const n of s.nodes) n.agent.setMembers([0, 1, 2, 3])
    await s.runtime.advance(5000)
    for (const n of s.nodes) {
      expect(n.agent.view().get(3), `seed ${seed + 5} rank ${n.rank}`).toBe('alive')
      expect(n.events.some((e) => e.rank === 3 && e.state === 'alive'), `seed ${seed + 5}`).toBe(true)
    }
    late.stop()
    await s.runtime.settle(cart.close(), 1000)
    await s.runtime.advance(30_000)
    for (const n of s.nodes) expect(n.agent.view().get(3), `seed ${seed + 5} rank ${n.rank}`).toBe('dead')
  })

  it('refuses bad options and drops malformed or foreign datagrams', async () => {
    const s = await swarm({ seed: seed + 4, ranks: 3, profile: 'local' })
    const runtime = s.runtime
    const cart = new Cart({ fabric: s.fabric, runtime, rank: 9 })
    const context = await runtime.settle(cart.createContext({ listen: 'memory://swim-9' }), 1000)
    const base = { cart, context, runtime, self: 9, members: [9], onEvent: () => undefined }
    for (const bad of [{ self: -1 }, { self: 1.5 }, { members: [0, 'x'] }, { profile: 'wan' }, { config: { probeTimeoutMs: 5000 } }, { sendTimeoutMs: 0 }]) {
      let error: unknown
      try {
        MembershipAgent.start({ ...base, ...(bad as object) })
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL'), `seed ${seed + 4}: ${JSON.stringify(bad)} -> ${String(error)}`).toBe(true)
    }
    const agent = MembershipAgent.start(base)
    expect(() => MembershipAgent.start(base)).toThrow(/already runs/)
    agent.stop()
    const target = s.nodes[0] as Node
    const sender = s.nodes[1] as Node
    await runtime.settle(sender.context.call(swimDatagramRpc, { rank: 0, tag: 0 }, { payload: new Uint8Array([1, 2, 3]) }), 1000)
    expect(target.agent.stats.dropped, `seed ${seed + 4}`).toBe(1)
    expect(() => target.agent.setMembers([0, -3])).toThrow(/rank/)
    expect(target.agent.members, `seed ${seed + 4}: a refused change changes nothing`).toEqual([1, 2])
  })
})
