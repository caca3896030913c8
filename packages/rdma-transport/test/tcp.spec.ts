import { Random, createRealRuntime } from '@x/common'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { type Endpoint, TcpFabric } from '../src/index.ts'
import { Collector, pattern, sameBytes } from '../src/testing/index.ts'
import { FrameType, encodeHeader } from '../src/tcp/wire.ts'

const seed = Number(process.env.X_SEED ?? 3)

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const runtime = createRealRuntime({ seed })
  const deadline = runtime.clock.monotonicMs() + timeoutMs
  while (!predicate()) {
    if (runtime.clock.monotonicMs() > deadline) return false
    await runtime.timers.sleep(1)
  }
  return true
}

function portOf(endpoint: Endpoint): number {
  return Number(endpoint.address.split(':').at(-1))
}

function rawSend(port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(bytes))
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => resolve('closed'))
  })
}

describe('tcp provider', () => {
  it('small messages overtake a large RMA write on the same connection (no head-of-line blocking)', async () => {
    const fabric = new TcpFabric({ runtime: createRealRuntime({ seed }) })
    try {
      const server = await fabric.open({ listen: 'tcp://127.0.0.1:0' })
      const client = await fabric.open({})
      const serverSide = new Collector(server)
      const clientSide = new Collector(client)
      const connection = await client.connect(server.address)
      const target = new Uint8Array(32 << 20)
      const region = server.registerMemory(target, { remoteRead: true, remoteWrite: true })
      const source = pattern(target.length, 5)
      const write = connection.rdmaWrite(region.key, 0, source)
      connection.send(1, new Uint8Array([42]))
      expect(await until(() => serverSide.of('unexpected').length === 1)).toBe(true)
      const writeDoneBeforeMessage = clientSide.byId(write.id).length
      expect(writeDoneBeforeMessage, 'the small message waited for the whole RMA').toBe(0)
      expect(await until(() => clientSide.byId(write.id).length === 1, 20_000)).toBe(true)
      expect(sameBytes(target, source)).toBe(true)
    } finally {
      await fabric.close()
    }
  })

  it('garbage, bad magic, frames before hello and oversized frames drop the connection; the endpoint lives on', async () => {
    const fabric = new TcpFabric({ runtime: createRealRuntime({ seed }), connectTimeoutMs: 2000 })
    try {
      const server = await fabric.open({ listen: 'tcp://127.0.0.1:0', maxUnexpectedBytes: 1024 })
      const serverSide = new Collector(server)
      const port = portOf(server)
      const random = new Random(seed)
      const inputs: Uint8Array[] = []
      for (let i = 0; i < 20; i++) inputs.push(random.bytes(32 + random.int(200)))
      inputs.push(encodeHeader(FrameType.message, 0, 10, 1, 0, 0, 0))
      inputs.push(encodeHeader(FrameType.hello, 0, 1 << 30, 0, 0, 0, 0))
      inputs.push(Buffer.concat([encodeHeader(FrameType.hello, 0, 3, 0, 0, 0, 0), Buffer.from([1, 2, 3])]))
      for (const input of inputs) expect(await rawSend(port, input), `seed ${seed}`).toBe('closed')
      expect(fabric.stats.protocolErrors).toBe(inputs.length)
      expect(serverSide.events.filter((e) => e.type === 'established')).toHaveLength(0)
      const client = await fabric.open({})
      const connection = await client.connect(server.address)
      connection.send(1, new Uint8Array(1024))
      expect(await until(() => serverSide.of('unexpected').length === 1)).toBe(true)
      expect(() => connection.send(1, new Uint8Array(1025))).toThrow(expect.objectContaining({ name: 'DER_OVERFLOW' }))
    } finally {
      await fabric.close()
    }
  })

  it('a full completion queue at the receiver pushes back all the way to the sender', async () => {
    const fabric = new TcpFabric({ runtime: createRealRuntime({ seed }) })
    try {
      const server = await fabric.open({ listen: 'tcp://127.0.0.1:0', completionCapacity: 4 })
      server.events.setHandler(() => {})
      const client = await fabric.open({})
      const clientSide = new Collector(client)
      const connection = await client.connect(server.address)
      const payload = pattern(64 * 1024, 1)
      const count = 1000
      for (let i = 0; i < count; i++) connection.send(i, payload)
      await until(() => false, 500)
      const completedWhileBlocked = clientSide.of('send').length
      expect(completedWhileBlocked, 'sender never felt the back-pressure').toBeLessThan(count)
      expect(server.completions.size).toBe(4)
      const tags: number[] = []
      while (tags.length < count) {
        expect(await until(() => server.completions.size > 0), `stalled at ${tags.length}`).toBe(true)
        for (const c of server.completions.poll()) tags.push(c.tag)
      }
      expect(tags).toEqual(Array.from({ length: count }, (_, i) => i))
      expect(await until(() => clientSide.of('send').length === count)).toBe(true)
    } finally {
      await fabric.close()
    }
  })

  it('a destroyed socket is a reset on both sides, and outstanding operations fail once', async () => {
    const fabric = new TcpFabric({ runtime: createRealRuntime({ seed }) })
    try {
      const server = await fabric.open({ listen: 'tcp://127.0.0.1:0' })
      const client = await fabric.open({})
      const serverSide = new Collector(server)
      const clientSide = new Collector(client)
      const connection = await client.connect(server.address)
      const waiting = connection.recv(9, 10)
      ;(connection as unknown as { socket: net.Socket }).socket.destroy()
      expect(await until(() => serverSide.events.some((e) => e.type === 'reset' || e.type === 'closed'))).toBe(true)
      expect(await until(() => clientSide.events.some((e) => e.type === 'reset'))).toBe(true)
      expect(clientSide.byId(waiting.id)).toHaveLength(1)
    } finally {
      await fabric.close()
    }
  })
})
