import { VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type Connection, type Endpoint, type MemoryFaults, MemoryFabric } from '../src/index.ts'
import { Collector } from '../src/testing/index.ts'

const seed = Number(process.env.X_SEED ?? 7)

async function setup(faults: MemoryFaults = {}) {
  const runtime = new VirtualRuntime({ seed })
  const fabric = new MemoryFabric({ runtime, latencyMs: 1, faults })
  const server = fabric.openSync({ listen: 'memory://server' })
  const client = fabric.openSync({})
  const serverSide = new Collector(server)
  const clientSide = new Collector(client)
  const pending = client.connect(server.address)
  await runtime.runUntilIdle()
  const connection = await pending
  return { runtime, fabric, server, client, serverSide, clientSide, connection }
}

function sendNumbered(connection: Connection, count: number): void {
  for (let i = 0; i < count; i++) connection.send(i, new Uint8Array([i & 255]))
}

describe('memory provider fault injection', () => {
  it('drops messages at the configured rate, deterministically per seed', async () => {
    const run = async () => {
      const { runtime, fabric, serverSide, connection } = await setup({ dropRate: 0.2 })
      sendNumbered(connection, 1000)
      await runtime.runUntilIdle()
      return { tags: serverSide.of('unexpected').map((c) => c.tag), dropped: fabric.stats.dropped }
    }
    const first = await run()
    expect(first.dropped, `seed ${seed}`).toBeGreaterThan(100)
    expect(first.dropped).toBeLessThan(300)
    expect(first.tags.length + first.dropped).toBe(1000)
    expect([...first.tags].sort((a, b) => a - b)).toEqual(first.tags)
    expect(await run()).toEqual(first)
  })

  it('duplicates and reorders messages', async () => {
    const { runtime, fabric, serverSide, connection } = await setup({ duplicateRate: 0.1, reorderRate: 0.1, delayRate: 0.1 })
    sendNumbered(connection, 1000)
    await runtime.runUntilIdle()
    const tags = serverSide.of('unexpected').map((c) => c.tag)
    expect(fabric.stats.duplicated, `seed ${seed}`).toBeGreaterThan(0)
    expect(fabric.stats.reordered).toBeGreaterThan(0)
    expect(tags.length).toBe(1000 + fabric.stats.duplicated)
    expect(new Set(tags).size).toBe(1000)
    expect(tags.some((tag, i) => i > 0 && tag < (tags[i - 1] as number))).toBe(true)
  })

  it('resets connections on both sides at the configured rate', async () => {
    const { runtime, serverSide, clientSide, connection } = await setup({ resetRate: 0.05 })
    sendNumbered(connection, 200)
    await runtime.runUntilIdle()
    expect(clientSide.events.map((e) => e.type)).toEqual(['established', 'reset'])
    expect(serverSide.events.map((e) => e.type)).toEqual(['established', 'reset'])
    expect(clientSide.of('send')).toHaveLength(200)
    expect(clientSide.of('send').filter((c) => c.status === 'error').length).toBeGreaterThan(0)
  })

  it('partitions cut messages, RMA and connects until healed', async () => {
    const { runtime, fabric, server, client, serverSide, clientSide, connection } = await setup()
    const region = server.registerMemory(new Uint8Array(8), { remoteRead: true, remoteWrite: true })
    fabric.partition(server.address, client.address)
    connection.send(1, new Uint8Array(1))
    const read = connection.rdmaRead(region.key, 0, new Uint8Array(8))
    const refused = client.connect(server.address).catch((e: unknown) => e)
    await runtime.runUntilIdle()
    expect(serverSide.of('unexpected')).toHaveLength(0)
    expect(clientSide.byId(read.id)[0]?.error?.name).toBe('DER_UNREACH')
    expect(await refused).toMatchObject({ name: 'DER_UNREACH' })
    fabric.heal()
    connection.send(2, new Uint8Array(1))
    await runtime.runUntilIdle()
    expect(serverSide.of('unexpected').map((c) => c.tag)).toEqual([2])
  })

  it('a crashed endpoint resets its peers, fails their operations once, and can restart', async () => {
    const { runtime, fabric, server, clientSide, client, connection } = await setup()
    const region = server.registerMemory(new Uint8Array(8), { remoteRead: true, remoteWrite: true })
    const waiting = connection.recv(5, 10)
    const read = connection.rdmaRead(region.key, 0, new Uint8Array(8))
    fabric.crash(server.address)
    await runtime.runUntilIdle()
    expect(clientSide.events.map((e) => e.type)).toEqual(['established', 'reset'])
    expect(clientSide.byId(waiting.id)).toHaveLength(1)
    expect(clientSide.byId(read.id)).toHaveLength(1)
    const restarted: Endpoint = fabric.openSync({ listen: server.address })
    restarted.events.setHandler(() => {})
    const again = client.connect(server.address)
    await runtime.runUntilIdle()
    expect((await again).state).toBe('established')
  })
})
