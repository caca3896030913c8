import { VirtualRuntime } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import { describe, expect, it } from 'vitest'
import { MessageRegistry, Messenger, Policies } from '../src/index.ts'
import { messenger, range } from './helpers.ts'

const seed = Number(process.env.X_SEED ?? 1)

describe('msgr over the memory fabric', () => {
  it('delivers messages both ways, in order, with names and payloads', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 })
    const server = await messenger(fabric, runtime, 'engine.3', 'memory://engine-3')
    const client = await messenger(fabric, runtime, 'client.4123', undefined)
    const connection = client.m.connect('memory://engine-3', 'engine')
    for (let n = 0; n < 100; n++) connection.send({ type: client.numbered, payload: { n, from: 'c' }, data: new Uint8Array(n) })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 100, 10_000), `seed ${seed}`).toBe(true)
    expect(server.recorder.numbers()).toEqual(range(0, 100))
    const first = server.recorder.messages[5]
    expect(first?.source).toEqual({ type: 'client', id: '4123' })
    expect(first?.data.length).toBe(5)
    first?.connection.send({ type: server.numbered, payload: { n: 7, from: 's' } })
    expect(await runtime.runUntil(() => client.recorder.messages.length === 1, 10_000)).toBe(true)
    expect(client.recorder.numbers()).toEqual([7])
    expect(connection.state).toBe('open')
    expect(await runtime.runUntil(() => connection.unacked === 0, 10_000)).toBe(true)
    expect(server.m.connections).toHaveLength(1)
    expect(client.recorder.events).toEqual(['connect'])
  })

  it('decodes payloads across struct versions (HEAD/COMPAT): an older sender, a newer receiver', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const oldRegistry = new MessageRegistry()
    const oldType = oldRegistry.register<{ n: number }>({
      id: 42,
      name: 'numbered',
      codec: { name: 'numbered', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v.n), decodeFields: (d) => ({ n: d.u32() }) },
    })
    const old = new Messenger({ fabric, runtime, name: 'client.1', registry: oldRegistry })
    await old.bind()
    old.connect('memory://e1').send({ type: oldType, payload: { n: 5 } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 1, 5000)).toBe(true)
    expect(server.recorder.messages[0]?.payload).toEqual({ n: 5, from: '?' })
    // A type the receiver does not know is counted and dropped; the session carries on.
    const unknown = oldRegistry.register<{ n: number }>({ id: 7, name: 'other', codec: oldType.codec })
    const session = old.connect('memory://e1')
    session.send({ type: unknown, payload: { n: 1 } })
    session.send({ type: oldType, payload: { n: 6 } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 2, 5000)).toBe(true)
    expect(server.m.stats.undecodable).toBe(1)
    expect(session.state).toBe('open')
  })

  it('keeps one session per peer (get or create)', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const client = await messenger(fabric, runtime, 'client.1', undefined)
    expect(client.m.connect('memory://e1')).toBe(client.m.connect('memory://e1'))
    expect(() => client.m.connect('bogus')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('a lossy client session ends on a fault and a new one starts from scratch', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1', { policies: { client: Policies.statelessServer() } })
    const client = await messenger(fabric, runtime, 'client.1', undefined, { defaultPolicy: Policies.lossyClient() })
    const first = client.m.connect('memory://e1')
    first.send({ type: client.numbered, payload: { n: 1, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 1, 5000)).toBe(true)
    fabric.resetConnections(client.m.address.uri, 'memory://e1')
    expect(await runtime.runUntil(() => first.state === 'closed', 5000)).toBe(true)
    expect(client.recorder.events).toEqual(['connect', 'reset'])
    expect(() => first.send({ type: client.numbered, payload: { n: 2, from: 'c' } })).toThrow(expect.objectContaining({ name: 'DER_SHUTDOWN' }))
    const second = client.m.connect('memory://e1')
    expect(second).not.toBe(first)
    second.send({ type: client.numbered, payload: { n: 3, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 2, 5000)).toBe(true)
    expect(server.recorder.numbers()).toEqual([1, 3])
  })
})
