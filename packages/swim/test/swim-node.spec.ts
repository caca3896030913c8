import { Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import {
  type MemberUpdate,
  type SwimConfig,
  type SwimMessage,
  type SwimOutput,
  SwimNode,
  resolveSwimConfig,
  retransmitLimit,
  suspicionMaxTimeoutMs,
  suspicionMinTimeoutMs,
} from '../src/index.ts'

const daos = resolveSwimConfig({ gossipFanout: 0, outageGuard: false }, 'daos')

function makeNode(options: { members?: number[]; config?: SwimConfig; seed?: number; incarnation?: number } = {}): SwimNode {
  return new SwimNode({ self: 0, members: options.members ?? [0, 1, 2, 3, 4], config: options.config ?? daos, random: new Random(options.seed ?? 1), nowMs: 0, incarnation: options.incarnation })
}

function msg(from: number, body: SwimMessage['body'], updates: MemberUpdate[] = [], fromIncarnation = 0, to = 0): SwimMessage {
  return { from, fromIncarnation, to, body, updates }
}

/** Ticks at the node's next deadline; returns the output and the time. */
function tickNext(node: SwimNode): SwimOutput & { atMs: number } {
  const atMs = node.nextDeadlineMs()
  return { ...node.tick(atMs), atMs }
}

function firstPing(node: SwimNode): { target: number; seq: number; atMs: number; message: SwimMessage } {
  for (;;) {
    const out = tickNext(node)
    const ping = out.messages.find((m) => m.body.type === 'ping')
    if (ping !== undefined && ping.body.type === 'ping') return { target: ping.to, seq: ping.body.seq, atMs: out.atMs, message: ping }
  }
}

describe('SwimNode: probing', () => {
  it('answers a ping with an ack carrying the same sequence number', () => {
    const node = makeNode()
    const out = node.step(msg(2, { type: 'ping', seq: 41 }), 10)
    expect(out.messages).toEqual([{ from: 0, fromIncarnation: 0, to: 2, body: { type: 'ack', seq: 41 }, updates: [] }])
    expect(out.events).toEqual([])
  })

  it('probes every member once per round in a randomized order that changes between rounds', () => {
    const node = makeNode({ members: [0, 1, 2, 3, 4, 5, 6, 7, 8] })
    const rounds: number[][] = []
    for (let round = 0; round < 3; round++) {
      const targets: number[] = []
      for (let i = 0; i < 8; i++) {
        const ping = firstPing(node)
        targets.push(ping.target)
        node.step(msg(ping.target, { type: 'ack', seq: ping.seq }), ping.atMs + 1)
      }
      expect([...targets].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      rounds.push(targets)
    }
    expect(rounds[0]).not.toEqual(rounds[1])
    expect(node.stats.failedProbes).toBe(0)
  })

  it('asks k helpers with ping-req after the ping timeout, and a relayed ack ends the probe', () => {
    const node = makeNode()
    const ping = firstPing(node)
    const out = node.tick(ping.atMs + 900)
    const requests = out.messages.filter((m) => m.body.type === 'ping-req')
    expect(requests).toHaveLength(2)
    for (const r of requests) {
      expect(r.body).toEqual({ type: 'ping-req', seq: ping.seq, target: ping.target })
      expect(r.to).not.toBe(ping.target)
    }
    const helper = requests[0]?.to as number
    node.step(msg(helper, { type: 'ack', seq: ping.seq }), ping.atMs + 950)
    const later = node.tick(ping.atMs + 2000)
    expect(later.events).toEqual([])
    expect(node.member(ping.target)?.state).toBe('alive')
  })

  it('suspects the target when neither the ping nor the ping-reqs are answered, and missed nacks raise the health score', () => {
    const node = makeNode()
    const ping = firstPing(node)
    node.tick(ping.atMs + 900)
    const out = node.tick(ping.atMs + 1800)
    expect(out.events).toEqual([{ type: 'suspect', member: ping.target, incarnation: 0, atMs: ping.atMs + 1800 }])
    expect(node.healthScore).toBe(2)
    // Lifeguard: the probe that started in the same tick waits (score + 1) times the ping
    // timeout, and the period after it is (score + 1) times as long.
    expect(node.nextDeadlineMs()).toBe(ping.atMs + 1800 + 3 * 900)
    node.tick(ping.atMs + 1800 + 3 * 900)
    expect(node.nextDeadlineMs()).toBe(ping.atMs + 1800 + 3 * 1000)
  })

  it('nacks from the helpers keep the health score down', () => {
    const node = makeNode()
    const ping = firstPing(node)
    const helpers = node.tick(ping.atMs + 900).messages.filter((m) => m.body.type === 'ping-req').map((m) => m.to)
    for (const helper of helpers) node.step(msg(helper, { type: 'nack', seq: ping.seq }), ping.atMs + 1700)
    node.tick(ping.atMs + 1800)
    expect(node.healthScore).toBe(0)
    expect(node.member(ping.target)?.state).toBe('suspect')
  })

  it('relays a ping-req: pings the target, forwards its ack, and nacks when it stays silent', () => {
    const node = makeNode()
    const out = node.step(msg(1, { type: 'ping-req', seq: 77, target: 2 }), 5)
    const relayPing = out.messages[0]
    expect(relayPing?.to).toBe(2)
    expect(relayPing?.body.type).toBe('ping')
    const relaySeq = relayPing?.body.type === 'ping' ? relayPing.body.seq : -1
    const forwarded = node.step(msg(2, { type: 'ack', seq: relaySeq }), 20)
    expect(forwarded.messages.map((m) => [m.to, m.body])).toEqual([[1, { type: 'ack', seq: 77 }]])

    const silent = node.step(msg(3, { type: 'ping-req', seq: 78, target: 4 }), 30)
    expect(silent.messages[0]?.to).toBe(4)
    const nack = node.tick(30 + 720)
    expect(nack.messages.map((m) => [m.to, m.body])).toContainEqual([3, { type: 'nack', seq: 78 }])
  })
})

describe('SwimNode: suspicion, refutation and incarnations', () => {
  it('confirms a suspect dead after the suspicion timeout, once', () => {
    const node = makeNode()
    node.step(msg(1, { type: 'ping', seq: 1 }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 1 }]), 100)
    expect(node.member(2)?.state).toBe('suspect')
    const out = node.tick(100 + 20_000)
    expect(out.events).toContainEqual({ type: 'dead', member: 2, incarnation: 0, atMs: 20_100 })
    const again = node.tick(node.nextDeadlineMs())
    expect(again.events.filter((e) => e.type === 'dead')).toEqual([])
  })

  it('outage guard: a node that hears nothing postpones expiring suspicions instead of confirming them', () => {
    const node = makeNode({ config: resolveSwimConfig({ gossipFanout: 0 }, 'daos') })
    node.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 1 }]), 100)
    expect(node.tick(20_100).events.filter((e) => e.type === 'dead')).toEqual([])
    expect(node.tick(25_000).events.filter((e) => e.type === 'dead')).toEqual([])
    // Traffic again: the next expiry is confirmed.
    node.step(msg(3, { type: 'gossip' }), 25_500)
    const out = node.tick(27_000)
    expect(out.events.filter((e) => e.type === 'dead').map((e) => e.member)).toEqual([2])
  })

  it('a suspected member refutes with a higher incarnation, which clears the suspicion everywhere', () => {
    const node = makeNode({ incarnation: 4 })
    const out = node.step(msg(1, { type: 'ping', seq: 9 }, [{ member: 0, incarnation: 4, state: 'suspect', reporter: 1 }]), 100)
    expect(node.incarnation).toBe(5)
    expect(node.stats.refutations).toBe(1)
    expect(out.messages[0]?.fromIncarnation).toBe(5)
    expect(out.messages[0]?.updates[0]).toEqual({ member: 0, incarnation: 5, state: 'alive', reporter: 0 })

    const observer = makeNode()
    observer.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 1 }]), 10)
    const refuted = observer.step(msg(2, { type: 'gossip' }, [{ member: 2, incarnation: 1, state: 'alive', reporter: 2 }]), 20)
    expect(refuted.events).toEqual([{ type: 'alive', member: 2, incarnation: 1, atMs: 20 }])
    expect(observer.tick(30_000).events.filter((e) => e.type === 'dead')).toEqual([])
  })

  it('ignores stale incarnations without events', () => {
    const node = makeNode()
    node.step(msg(2, { type: 'gossip' }, [], 3), 10)
    expect(node.member(2)?.incarnation).toBe(3)
    const out = node.step(msg(1, { type: 'gossip' }, [
      { member: 2, incarnation: 1, state: 'dead', reporter: 1 },
      { member: 2, incarnation: 2, state: 'suspect', reporter: 1 },
      { member: 2, incarnation: 0, state: 'alive', reporter: 2 },
    ]), 20)
    expect(out.events).toEqual([])
    expect(node.member(2)).toMatchObject({ state: 'alive', incarnation: 3 })
    expect(node.stats.staleUpdates).toBe(3)
  })

  it('dead is final for its incarnation; a higher incarnation brings the member back', () => {
    const node = makeNode()
    node.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'dead', reporter: 1 }]), 10)
    const ignored = node.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 3 }, { member: 2, incarnation: 0, state: 'alive', reporter: 2 }]), 20)
    expect(ignored.events).toEqual([])
    expect(node.member(2)?.state).toBe('dead')
    const back = node.step(msg(2, { type: 'ping', seq: 1 }, [], 7), 30)
    expect(back.events).toEqual([{ type: 'alive', member: 2, incarnation: 7, atMs: 30 }])
  })

  it('buddy system: a ping to a suspect carries the suspicion first; without it, only the queue decides', () => {
    for (const buddySystem of [true, false]) {
      const config = resolveSwimConfig({ gossipFanout: 0, lifeguard: { buddySystem } }, 'daos')
      const node = makeNode({ members: [0, 1, 2], config })
      node.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 1 }]), 1)
      // Drain the queue so that only the buddy rule can put the suspicion on the ping.
      for (let i = 0; i < 20; i++) node.step(msg(1, { type: 'ping', seq: i }), 2)
      let ping: { target: number; message: SwimMessage } | undefined
      for (let i = 0; i < 10 && ping?.target !== 2; i++) {
        ping = firstPing(node)
        if (ping.target !== 2) node.step(msg(ping.target, { type: 'ack', seq: (ping.message.body as { seq: number }).seq }), node.nextDeadlineMs())
      }
      expect(ping?.target).toBe(2)
      const first = ping?.message.updates[0]
      if (buddySystem) expect(first).toEqual({ member: 2, incarnation: 0, state: 'suspect', reporter: 0 })
      else expect(first).toBeUndefined()
    }
  })

  it('dynamic suspicion: starts at the maximum and falls to the minimum with k independent confirmations', () => {
    const lan = resolveSwimConfig({ gossipFanout: 0 }, 'lan')
    const members = Array.from({ length: 10 }, (_, i) => i)
    const node = makeNode({ members, config: lan })
    const min = suspicionMinTimeoutMs(lan, 10)
    const max = suspicionMaxTimeoutMs(lan, 10)
    node.step(msg(1, { type: 'gossip' }, [{ member: 5, incarnation: 0, state: 'suspect', reporter: 1 }]), 0)
    expect(node.tick(max - 1).events.filter((e) => e.type === 'dead')).toEqual([])
    const other = makeNode({ members, config: lan })
    other.step(msg(1, { type: 'gossip' }, [{ member: 5, incarnation: 0, state: 'suspect', reporter: 1 }]), 0)
    // The originator and repeats do not count; 2 and 3 do (k = suspicionMult - 2 = 2).
    other.step(msg(1, { type: 'gossip' }, [{ member: 5, incarnation: 0, state: 'suspect', reporter: 1 }]), 10)
    other.step(msg(2, { type: 'gossip' }, [{ member: 5, incarnation: 0, state: 'suspect', reporter: 2 }]), 20)
    other.step(msg(3, { type: 'gossip' }, [{ member: 5, incarnation: 0, state: 'suspect', reporter: 3 }]), 30)
    expect(other.tick(min - 1).events.filter((e) => e.type === 'dead')).toEqual([])
    expect(other.tick(min).events).toContainEqual({ type: 'dead', member: 5, incarnation: 0, atMs: min })
  })
})

describe('SwimNode: dissemination, join and leave', () => {
  it('piggybacks an update at most retransmitMult * ceil(log10(n + 1)) times', () => {
    const node = makeNode()
    node.step(msg(1, { type: 'gossip' }, [{ member: 2, incarnation: 0, state: 'suspect', reporter: 1 }]), 1)
    let carried = 0
    for (let i = 0; i < 50; i++) {
      const out = node.step(msg(3, { type: 'ping', seq: i }), 2)
      carried += out.messages.flatMap((m) => m.updates).filter((u) => u.member === 2).length
    }
    expect(carried).toBe(retransmitLimit(daos.retransmitMult, 5))
  })

  it('a seed answers a join from a stranger with its table and announces the newcomer', () => {
    const seed = makeNode()
    const out = seed.step(msg(9, { type: 'join' }, [{ member: 9, incarnation: 2, state: 'alive', reporter: 9 }], 2), 5)
    expect(out.events).toEqual([{ type: 'alive', member: 9, incarnation: 2, atMs: 5 }])
    const sync = out.messages[0]
    expect(sync?.body.type).toBe('sync')
    const joiner = new SwimNode({ self: 9, incarnation: 2, config: daos, random: new Random(3), nowMs: 0 })
    joiner.join([0], 0)
    expect(joiner.isJoining).toBe(true)
    const learned = joiner.step(sync as SwimMessage, 6)
    expect(joiner.isJoining).toBe(false)
    expect(learned.events.map((e) => e.member).sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('a leaving member announces left, stops suspecting, and completes once the update is spent', () => {
    const node = makeNode()
    node.leave(0)
    expect(node.isLeaving).toBe(true)
    let leftSeen = 0
    for (let i = 0; i < 40 && !node.isLeaveComplete; i++) {
      const out = tickNext(node)
      leftSeen += out.messages.flatMap((m) => m.updates).filter((u) => u.member === 0 && u.state === 'left').length
      expect(out.events.filter((e) => e.type === 'suspect')).toEqual([])
    }
    expect(node.isLeaveComplete).toBe(true)
    expect(leftSeen).toBe(retransmitLimit(daos.retransmitMult, 5))
  })
})

describe('SwimNode: bad input', () => {
  it('ignores messages from non-members (but not their joins)', () => {
    const node = makeNode()
    const out = node.step(msg(99, { type: 'ping', seq: 1 }, [{ member: 1, incarnation: 5, state: 'dead', reporter: 99 }]), 1)
    expect(out).toEqual({ messages: [], events: [] })
    expect(node.stats.ignoredNonMember).toBe(1)
    expect(node.member(1)?.state).toBe('alive')
    expect(node.member(99)).toBeUndefined()
  })

  it('ignores messages for another member, from itself, unexpected acks, and updates about strangers', () => {
    const node = makeNode()
    expect(node.step(msg(1, { type: 'ping', seq: 1 }, [], 0, 3), 1).messages).toEqual([])
    expect(node.step(msg(0, { type: 'ping', seq: 1 }), 1).messages).toEqual([])
    expect(node.stats.ignoredMisdirected).toBe(2)
    node.step(msg(1, { type: 'ack', seq: 12345 }), 2)
    node.step(msg(1, { type: 'nack', seq: 12345 }), 2)
    expect(node.stats.ignoredUnexpected).toBe(2)
    node.step(msg(1, { type: 'gossip' }, [{ member: 50, incarnation: 0, state: 'suspect', reporter: 1 }]), 3)
    expect(node.stats.unknownMemberUpdates).toBe(1)
    expect(node.member(50)).toBeUndefined()
  })

  it('refuses malformed message objects with DER_INVAL and no state change', () => {
    const node = makeNode()
    const before = JSON.stringify([node.members(), node.stats])
    const bad: unknown[] = [
      null,
      { from: -1, fromIncarnation: 0, to: 0, body: { type: 'ping', seq: 1 }, updates: [] },
      { from: 1, fromIncarnation: 0.5, to: 0, body: { type: 'ping', seq: 1 }, updates: [] },
      { from: 1, fromIncarnation: 0, to: 0, body: { type: 'pong', seq: 1 }, updates: [] },
      { from: 1, fromIncarnation: 0, to: 0, body: { type: 'ping', seq: 1 }, updates: [{ member: 2, incarnation: 0, state: 'zombie', reporter: 1 }] },
      { from: 1, fromIncarnation: 0, to: 0, body: { type: 'ping-req', seq: 1 }, updates: [] },
      { from: 1, fromIncarnation: 0, to: 0, body: { type: 'ping', seq: 1 }, updates: 'none' },
    ]
    for (const message of bad) {
      let caught: unknown
      try {
        node.step(message as SwimMessage, 5)
      } catch (error) {
        caught = error
      }
      expect(isDerError(caught, 'DER_INVAL'), `${JSON.stringify(message)} -> ${String(caught)}`).toBe(true)
    }
    expect(JSON.stringify([node.members(), node.stats])).toBe(before)
  })

  it('refuses bad constructor input with DER_INVAL', () => {
    expect(() => new SwimNode({ self: -3, random: new Random(1), nowMs: 0 })).toThrow(/self must be a member id/)
    expect(() => new SwimNode({ self: 1, incarnation: -1, random: new Random(1), nowMs: 0 })).toThrow(/incarnation/)
  })
})
