import { Encoder, LogRoot, MemoryLogSink, Random, type Runtime, VirtualRuntime, createRealRuntime } from '@x/common'
import { type Connection as FabricConnection, type Fabric, MemoryFabric, TcpFabric } from '@x/rdma-transport'
import { describe, expect, it } from 'vitest'
import { Tag, encodeBanner, encodeFrame } from '../src/index.ts'
import { messenger } from './helpers.ts'

const seed = Number(process.env.X_SEED ?? 9)
const msgrTag = 0x6d736772

function hello(name: string, uri: string): Uint8Array {
  return encodeFrame(Tag.hello, [new Encoder().u8(1).string(name).string(uri).u32(1).string('x').finish()])
}

/** Attack inputs: each is the list of fabric messages one hostile peer sends. */
function attacks(random: Random): { name: string; messages: Uint8Array[] }[] {
  const banner = encodeBanner(1n, 0n)
  const wrongBanner = encodeBanner(1n, 0n)
  wrongBanner.set(new TextEncoder().encode('ceph v1\n'))
  const corrupt = hello('client.1', 'memory://evil').slice()
  corrupt[40] = (corrupt[40] as number) ^ 0xff
  const list = [
    { name: 'random bytes', messages: [random.bytes(1 + random.int(100))] },
    { name: 'wrong banner', messages: [wrongBanner] },
    { name: 'required features we lack', messages: [encodeBanner(0xffn, 0x80n)] },
    { name: 'garbage frame', messages: [banner, random.bytes(50)] },
    { name: 'crc mismatch', messages: [banner, corrupt] },
    { name: 'oversized frame', messages: [banner, encodeFrame(Tag.hello, [new Uint8Array(5000)])] },
    { name: 'frame out of order', messages: [banner, encodeFrame(Tag.message, [new Uint8Array(41)])] },
    { name: 'bad hello', messages: [banner, encodeFrame(Tag.hello, [random.bytes(20)])] },
    { name: 'unknown auth method', messages: [banner, hello('client.1', 'memory://evil'), encodeFrame(Tag.authRequest, [new Encoder().u32(99).bytes(new Uint8Array(0)).finish()])] },
  ]
  for (let i = 0; i < 20; i++) {
    const messages = [banner]
    if (random.chance(0.5)) messages.push(hello('client.2', 'memory://evil'))
    const frame = encodeFrame(random.int(25), [random.bytes(random.int(60))]).slice()
    if (random.chance(0.5)) frame[random.int(frame.length)] = random.int(256)
    messages.push(frame)
    list.push({ name: `random frame ${i}`, messages })
  }
  return list
}

async function fuzz(fabric: Fabric, runtime: Runtime, listen: string, until: (p: () => boolean) => Promise<boolean>) {
  const sink = new MemoryLogSink()
  const logger = new LogRoot(sink, runtime.clock, 'warn').logger('msgr')
  const server = await messenger(fabric, runtime, 'engine.1', listen, { maxMessageBytes: 4096, logger })
  const attacker = await fabric.open({})
  const ended = new Set<FabricConnection>()
  attacker.events.setHandler((e) => e.type !== 'established' && ended.add(e.connection))
  attacker.completions.setHandler(() => {})
  const random = new Random(seed)
  for (const attack of attacks(random)) {
    const pending = attacker.connect(server.m.address.uri)
    let connection: FabricConnection | undefined
    pending.then((c) => (connection = c), () => {})
    expect(await until(() => connection !== undefined), attack.name).toBe(true)
    const c = connection as FabricConnection
    for (const message of attack.messages) c.send(msgrTag, message)
    expect(await until(() => ended.has(c)), `seed ${seed}: ${attack.name} did not end the connection`).toBe(true)
  }
  const stats = server.m.stats
  expect(stats.corruptFrames, `seed ${seed}`).toBeGreaterThan(0)
  expect(stats.protocolErrors).toBeGreaterThan(5)
  expect(stats.authFailures).toBeGreaterThan(0)
  expect(sink.records.filter((r) => r.message === 'dropping connection' || r.message === 'refusing peer').length).toBeGreaterThanOrEqual(attacks(new Random(seed)).length - 2)
  expect(sink.records.every((r) => typeof r.fields.reason === 'string')).toBe(true)
  expect(server.recorder.messages).toHaveLength(0)
  // The messenger still serves an honest peer.
  const client = await messenger(fabric, runtime, 'client.3', undefined)
  client.m.connect(server.m.address.uri).send({ type: client.numbered, payload: { n: 1, from: 'c' } })
  expect(await until(() => server.recorder.messages.length === 1)).toBe(true)
  await client.m.shutdown()
  await server.m.shutdown()
}

describe('hostile input: the connection is refused or closed with a logged reason; the process stays up', () => {
  it('over the memory fabric', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 })
    await fuzz(fabric, runtime, 'memory://e1', (p) => runtime.runUntil(p, 5000))
  })

  it('a peer that connects and stays silent is dropped after the handshake timeout', async () => {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
    const silent = await fabric.open({})
    const events: string[] = []
    silent.events.setHandler((e) => events.push(e.type))
    silent.completions.setHandler(() => {})
    const pending = silent.connect('memory://e1')
    await runtime.advance(500)
    expect((await pending).state).toBe('established')
    await runtime.advance(1000)
    expect(events).toEqual(['established', 'closed'])
    expect(server.m.stats.keepaliveTimeouts).toBe(1)
  })

  it('over tcp on 127.0.0.1', async () => {
    const runtime = createRealRuntime({ seed })
    const fabric = new TcpFabric({ runtime })
    const until = async (predicate: () => boolean): Promise<boolean> => {
      const deadline = runtime.clock.monotonicMs() + 5000
      while (!predicate()) {
        if (runtime.clock.monotonicMs() > deadline) return false
        await runtime.timers.sleep(2)
      }
      return true
    }
    try {
      await fuzz(fabric, runtime, 'tcp://127.0.0.1:0', until)
    } finally {
      await fabric.close()
    }
  })
})
