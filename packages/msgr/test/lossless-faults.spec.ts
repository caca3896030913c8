import { VirtualRuntime } from '@x/common'
import { MemoryFabric, type MemoryFaults } from '@x/rdma-transport'
import { describe, expect, it } from 'vitest'
import { type MessengerOptions, Policies } from '../src/index.ts'
import { messenger, range } from './helpers.ts'

const seeds = process.env.X_SEED === undefined ? [1, 2, 3] : [Number(process.env.X_SEED)]

async function losslessRun(seed: number, faults: MemoryFaults, count: number, extra: Partial<MessengerOptions> = {}) {
  const runtime = new VirtualRuntime({ seed })
  const fabric = new MemoryFabric({ runtime, latencyMs: 0.2, faults: {} })
  const options = { defaultPolicy: Policies.losslessPeer(), ...extra }
  const a = await messenger(fabric, runtime, 'engine.1', 'memory://e1', options)
  const b = await messenger(fabric, runtime, 'engine.2', 'memory://e2', options)
  const ab = a.m.connect('memory://e2', 'engine')
  expect(await runtime.runUntil(() => ab.state === 'open', 5000)).toBe(true)
  const ba = b.m.connect('memory://e1', 'engine')
  fabric.setFaults(faults)
  // Send in bursts while time passes, so faults hit traffic in flight.
  for (let burst = 0; burst < 20; burst++) {
    for (let i = (burst * count) / 20; i < ((burst + 1) * count) / 20; i++) {
      ab.send({ type: a.numbered, payload: { n: i, from: 'a' } })
      ba.send({ type: b.numbered, payload: { n: i, from: 'b' } })
    }
    await runtime.advance(5)
  }
  const done = await runtime.runUntil(() => b.recorder.messages.length >= count && a.recorder.messages.length >= count, 600_000)
  fabric.setFaults({})
  await runtime.advance(2000)
  return { done, a, b, fabric, ab, ba }
}

describe('lossless sessions under seeded faults (memory fabric, virtual time)', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: frames coalesced behind a small send window stay exactly once and in order under faults`, async () => {
      const faults = { dropRate: 0.01, duplicateRate: 0.01, reorderRate: 0.01, delayRate: 0.02, maxDelayMs: 5, resetRate: 0.002 }
      const { done, a, b, fabric, ab, ba } = await losslessRun(seed, faults, 3000, { sendWindow: 2 })
      const why = `seed ${seed}: a got ${a.recorder.messages.length}, b got ${b.recorder.messages.length}, faults ${JSON.stringify(fabric.stats)}`
      expect(done, why).toBe(true)
      expect(b.recorder.numbers('a'), why).toEqual(range(0, 3000))
      expect(a.recorder.numbers('b'), why).toEqual(range(0, 3000))
      expect(a.m.stats.coalescedFrames + b.m.stats.coalescedFrames, why).toBeGreaterThan(1000)
      expect(fabric.stats.dropped + fabric.stats.resets + fabric.stats.duplicated + fabric.stats.reordered, why).toBeGreaterThan(0)
      expect(ab.unacked + ba.unacked, why).toBe(0)
    }, 60_000)

    it(`seed ${seed}: exactly once, in order, across drops, duplicates, reorders, delays and resets`, async () => {
      const faults = { dropRate: 0.005, duplicateRate: 0.005, reorderRate: 0.005, delayRate: 0.02, maxDelayMs: 5, resetRate: 0.001 }
      const { done, a, b, fabric, ab, ba } = await losslessRun(seed, faults, 3000)
      const why = `seed ${seed}: a got ${a.recorder.messages.length}, b got ${b.recorder.messages.length}, faults ${JSON.stringify(fabric.stats)}`
      expect(done, why).toBe(true)
      expect(b.recorder.numbers('a'), why).toEqual(range(0, 3000))
      expect(a.recorder.numbers('b'), why).toEqual(range(0, 3000))
      expect(fabric.stats.dropped + fabric.stats.resets, why).toBeGreaterThan(5)
      expect(fabric.stats.duplicated + fabric.stats.reordered, why).toBeGreaterThan(5)
      expect(ab.stats.reconnects + ba.stats.reconnects, why).toBeGreaterThan(0)
      expect(ab.unacked + ba.unacked, why).toBe(0)
      expect(a.recorder.events.filter((e) => e !== 'connect'), why).toEqual([])
      expect(b.recorder.events.filter((e) => e !== 'connect'), why).toEqual([])
    }, 60_000)
  }

  it('a mesh of four engines dialling each other at once, under faults: every stream exact and in order', async () => {
    const seed = seeds[0] as number
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.3 })
    const nodes: Awaited<ReturnType<typeof messenger>>[] = []
    for (let i = 0; i < 4; i++) nodes.push(await messenger(fabric, runtime, `engine.${i}`, `memory://e${i}`))
    fabric.setFaults({ dropRate: 0.005, duplicateRate: 0.005, reorderRate: 0.005, resetRate: 0.001 })
    const perPair = 400
    for (let round = 0; round < 8; round++) {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue
          const session = from.m.connect(to.m.address.uri)
          for (let k = 0; k < perPair / 8; k++) session.send({ type: from.numbered, payload: { n: round * (perPair / 8) + k, from: from.m.nameText } })
        }
      }
      await runtime.advance(3)
    }
    const done = await runtime.runUntil(() => nodes.every((n) => n.recorder.messages.length >= 3 * perPair), 600_000)
    fabric.setFaults({})
    const why = `seed ${seed}: ${nodes.map((n) => n.recorder.messages.length).join(',')} faults ${JSON.stringify(fabric.stats)}`
    expect(done, why).toBe(true)
    for (const to of nodes) {
      for (const from of nodes) {
        if (from !== to) expect(to.recorder.numbers(from.m.nameText), `${why} ${from.m.nameText} -> ${to.m.nameText}`).toEqual(range(0, perPair))
      }
      expect(to.m.connections).toHaveLength(3)
      expect(to.recorder.events.filter((e) => e !== 'connect'), why).toEqual([])
    }
  }, 60_000)

  it('a partition is detected by keepalive and healed by reconnect, with nothing lost', async () => {
    const seed = seeds[0] as number
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.2 })
    const a = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const b = await messenger(fabric, runtime, 'engine.2', 'memory://e2')
    const ab = a.m.connect('memory://e2')
    for (let i = 0; i < 10; i++) ab.send({ type: a.numbered, payload: { n: i, from: 'a' } })
    expect(await runtime.runUntil(() => b.recorder.messages.length === 10, 5000)).toBe(true)
    fabric.partition('memory://e1', 'memory://e2')
    for (let i = 10; i < 20; i++) ab.send({ type: a.numbered, payload: { n: i, from: 'a' } })
    expect(await runtime.runUntil(() => a.m.stats.keepaliveTimeouts + b.m.stats.keepaliveTimeouts > 0, 5000), `seed ${seed}`).toBe(true)
    expect(await runtime.runUntil(() => ab.state !== 'open', 5000)).toBe(true)
    await runtime.advance(3000)
    expect(b.recorder.messages).toHaveLength(10)
    fabric.heal()
    expect(await runtime.runUntil(() => b.recorder.messages.length === 20, 10_000), `seed ${seed}`).toBe(true)
    expect(b.recorder.numbers()).toEqual(range(0, 20))
    expect(ab.state).toBe('open')
  })

  it('a restarted peer gets a session reset; dispatchers hear remote reset; traffic resumes', async () => {
    const seed = seeds[0] as number
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.2 })
    const a = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const b = await messenger(fabric, runtime, 'engine.2', 'memory://e2')
    const ab = a.m.connect('memory://e2')
    ab.send({ type: a.numbered, payload: { n: 1, from: 'a' } })
    expect(await runtime.runUntil(() => b.recorder.messages.length === 1, 5000)).toBe(true)
    fabric.crash('memory://e2')
    await b.m.shutdown()
    const b2 = await messenger(fabric, runtime, 'engine.2', 'memory://e2')
    expect(await runtime.runUntil(() => ab.state === 'open' && a.recorder.events.includes('remote-reset'), 10_000), `seed ${seed}`).toBe(true)
    expect(a.m.stats.sessionResets).toBeGreaterThan(0)
    ab.send({ type: a.numbered, payload: { n: 2, from: 'a' } })
    expect(await runtime.runUntil(() => b2.recorder.messages.length === 1, 5000)).toBe(true)
    expect(b2.recorder.messages[0]?.seq).toBe(1n)
  })

  it('a stateful server keeps the session for a lossless client across a reset', async () => {
    const seed = seeds[0] as number
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.2 })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1', { policies: { client: Policies.statefulServer() } })
    const client = await messenger(fabric, runtime, 'client.9', undefined, { defaultPolicy: Policies.losslessClient() })
    const session = client.m.connect('memory://e1')
    for (let i = 0; i < 50; i++) session.send({ type: client.numbered, payload: { n: i, from: 'c' } })
    await runtime.advance(1)
    fabric.resetConnections(client.m.address.uri, 'memory://e1')
    for (let i = 50; i < 100; i++) session.send({ type: client.numbered, payload: { n: i, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length >= 100, 10_000), `seed ${seed}`).toBe(true)
    await runtime.advance(100)
    expect(server.recorder.numbers()).toEqual(range(0, 100))
    expect(server.m.connections).toHaveLength(1)
    expect(server.m.connections[0]?.state).toBe('open')
  })
})
