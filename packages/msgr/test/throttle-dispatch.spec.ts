import { VirtualRuntime } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import { describe, expect, it } from 'vitest'
import { Priority, type ReceivedMessage, Throttle } from '../src/index.ts'
import { messenger, range } from './helpers.ts'

const seed = Number(process.env.X_SEED ?? 6)

describe('throttle', () => {
  it('counts bytes and messages; one oversized message fits an empty throttle', () => {
    const throttle = new Throttle({ maxBytes: 100, maxMessages: 3 })
    expect(throttle.tryAcquire(60)).toBe(true)
    expect(throttle.tryAcquire(50)).toBe(false)
    expect(throttle.tryAcquire(40)).toBe(true)
    throttle.release(60)
    throttle.release(40)
    expect(throttle.tryAcquire(500)).toBe(true)
    expect(throttle.tryAcquire(1)).toBe(false)
    expect(() => new Throttle({ maxBytes: 0 })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('holds back dispatch while retained messages use the budget, then delivers the rest in order', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1', { throttle: { maxMessages: 5 } })
    const held: (() => void)[] = []
    const got: number[] = []
    server.m.addDispatcher({
      canFastDispatch: () => true,
      fastDispatch: (m: ReceivedMessage) => {
        got.push((m.payload as { n: number }).n)
        held.push(m.retain())
      },
    })
    const client = await messenger(fabric, runtime, 'client.1', undefined)
    const session = client.m.connect('memory://e1')
    for (let n = 0; n < 50; n++) session.send({ type: client.numbered, payload: { n, from: 'c' } })
    await runtime.advance(500)
    expect(got, `seed ${seed}`).toEqual(range(0, 5))
    expect(server.m.throttle.messages).toBe(5)
    expect(server.m.stats.throttled).toBeGreaterThan(0)
    while (got.length < 50) {
      const release = held.shift()
      expect(release, `stuck at ${got.length}`).toBeDefined()
      release?.()
      await runtime.advance(1)
    }
    expect(got).toEqual(range(0, 50))
    expect(server.recorder.messages).toHaveLength(0)
  })
})

describe('dispatch', () => {
  it('queued dispatch runs higher priorities first; fast dispatch takes what it claims', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const fast: number[] = []
    server.m.addDispatcher({ canFastDispatch: (m) => (m.payload as { n: number }).n >= 1000, fastDispatch: (m) => fast.push((m.payload as { n: number }).n) })
    const client = await messenger(fabric, runtime, 'client.1', undefined)
    const session = client.m.connect('memory://e1')
    expect(await runtime.runUntil(() => session.state === 'open', 1000)).toBe(true)
    const priorities = [Priority.low, Priority.high, Priority.default, Priority.highest]
    for (let n = 0; n < 8; n++) session.send({ type: client.numbered, payload: { n, from: 'c' }, priority: priorities[n % 4] })
    session.send({ type: client.numbered, payload: { n: 1000, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 8, 1000)).toBe(true)
    expect(server.recorder.messages.map((m) => m.priority)).toEqual([255, 255, 196, 196, 127, 127, 64, 64])
    expect(server.recorder.numbers()).toEqual([3, 7, 1, 5, 2, 6, 0, 4])
    expect(fast).toEqual([1000])
  })

  it('a dispatcher that throws is logged and skipped; the session stays up', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const bad = {
      canFastDispatch: (m: ReceivedMessage): boolean => {
        if ((m.payload as { n: number }).n === 1) throw new Error('boom')
        return false
      },
      fastDispatch: () => {},
    }
    server.m.addDispatcher(bad)
    const client = await messenger(fabric, runtime, 'client.1', undefined)
    const session = client.m.connect('memory://e1')
    for (let n = 0; n < 3; n++) session.send({ type: client.numbered, payload: { n, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 3, 1000), `seed ${seed}`).toBe(true)
    expect(session.state).toBe('open')
    expect(server.m.stats.protocolErrors).toBe(0)
  })

  it('keepalives keep an idle session open and detect a dead peer', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const client = await messenger(fabric, runtime, 'client.1', undefined)
    const session = client.m.connect('memory://e1')
    await runtime.advance(10_000)
    expect(session.state).toBe('open')
    expect(server.m.stats.keepaliveTimeouts + client.m.stats.keepaliveTimeouts).toBe(0)
    expect(session.transport?.lastKeepaliveAck).toBeGreaterThan(9000)
    fabric.partition(client.m.address.uri, 'memory://e1')
    await runtime.advance(1500)
    expect(client.m.stats.keepaliveTimeouts, `seed ${seed}`).toBe(1)
    expect(session.state).not.toBe('open')
  })
})
