/**
 * The fabric compliance suite: `describeFabricCompliance(setup)` registers vitest `describe`/`it`
 * blocks that any provider of the contract must pass. Both built-in providers run it; a new
 * provider (or a fake) should too.
 *
 * @example
 * ```ts
 * import { VirtualRuntime } from '@x/common'
 * import { MemoryFabric } from '@x/rdma-transport'
 * import { describeFabricCompliance } from '@x/rdma-transport/testing'
 *
 * describeFabricCompliance({
 *   name: 'memory',
 *   async create() {
 *     const runtime = new VirtualRuntime({ seed: 1 })
 *     let n = 0
 *     return {
 *       fabric: new MemoryFabric({ runtime }),
 *       listenAddress: () => `memory://ep-${++n}`,
 *       unusedAddress: () => 'memory://nobody',
 *       until: (predicate, timeoutMs = 10_000) => runtime.runUntil(predicate, timeoutMs),
 *       close: async () => {},
 *     }
 *   },
 * })
 * ```
 *
 * @packageDocumentation
 */
import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import type { Completion, Connection, Endpoint, Fabric, FabricEvent } from '../types.ts'

/** A fresh fabric and the means to drive it, for one test. */
export interface FabricTestHarness {
  readonly fabric: Fabric
  /** A fresh address to listen on (`tcp://127.0.0.1:0` is fine). */
  listenAddress(): string
  /** An address where nothing listens. */
  unusedAddress(): string | Promise<string>
  /** Lets time pass until `predicate()` holds or `timeoutMs` ran out; returns whether it held. */
  until(predicate: () => boolean, timeoutMs?: number): Promise<boolean>
  /** Releases everything the harness created. */
  close(): Promise<void>
}

/** How the compliance suite gets a provider. */
export interface FabricTestSetup {
  /** Shown in the describe block's title. */
  readonly name: string
  /** Creates a harness for one test. */
  create(): Promise<FabricTestHarness>
}

/** Collects an endpoint's events and completions as they arrive. */
export class Collector {
  readonly events: FabricEvent[] = []
  readonly completions: Completion[] = []

  constructor(readonly endpoint: Endpoint) {
    endpoint.events.setHandler((event) => this.events.push(event))
    endpoint.completions.setHandler((completion) => this.completions.push(completion))
  }

  /** Completions of a kind. */
  of(kind: Completion['kind']): Completion[] {
    return this.completions.filter((c) => c.kind === kind)
  }

  /** The completion of an operation id. */
  byId(id: number): Completion[] {
    return this.completions.filter((c) => c.id === id && c.kind !== 'unexpected')
  }
}

/** Drives the harness until `promise` settles, then returns its outcome. */
export async function settle<T>(harness: FabricTestHarness, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  await harness.until(() => done, timeoutMs)
  return promise
}

/** Whether two byte arrays are equal (fast, unlike a deep `toEqual` on megabytes). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

/** Deterministic test bytes. */
export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

async function pair(harness: FabricTestHarness, options: { server?: Parameters<Fabric['open']>[0]; client?: Parameters<Fabric['open']>[0] } = {}) {
  const server = await harness.fabric.open({ listen: harness.listenAddress(), ...options.server })
  const client = await harness.fabric.open({ ...options.client })
  const serverSide = new Collector(server)
  const clientSide = new Collector(client)
  const connection = await settle(harness, client.connect(server.address))
  const accepted = await harness.until(() => serverSide.events.some((e) => e.type === 'established'))
  expect(accepted, 'server saw established').toBe(true)
  const peer = serverSide.events.find((e) => e.type === 'established')?.connection as Connection
  return { server, client, serverSide, clientSide, connection, peer }
}

/** Registers the compliance tests for a provider. */
export function describeFabricCompliance(setup: FabricTestSetup): void {
  describe(`fabric compliance: ${setup.name}`, () => {
    const test = (title: string, body: (harness: FabricTestHarness) => Promise<void>): void => {
      it(title, async () => {
        const harness = await setup.create()
        try {
          await body(harness)
        } finally {
          await harness.fabric.close()
          await harness.close()
        }
      })
    }

    test('connects: both sides see established, with each other\'s addresses', async (h) => {
      const { server, client, clientSide, connection, peer } = await pair(h)
      expect(connection.state).toBe('established')
      expect(connection.initiator).toBe(true)
      expect(connection.peerAddress).toBe(server.address)
      expect(peer.initiator).toBe(false)
      expect(peer.peerAddress).toBe(client.address)
      expect(clientSide.events.map((e) => e.type)).toEqual(['established'])
      expect(server.connections).toContain(peer)
    })

    test('a connect to nothing is refused: event plus DER_UNREACH', async (h) => {
      const client = await h.fabric.open({})
      const side = new Collector(client)
      const target = await h.unusedAddress()
      const error = await settle(h, client.connect(target)).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isDerError(error, 'DER_UNREACH'), String(error)).toBe(true)
      expect(side.events.map((e) => e.type)).toEqual(['refused'])
    })

    test('bad addresses are rejected with DER_INVAL', async (h) => {
      const client = await h.fabric.open({})
      for (const bad of ['nope', 'tcp://', 'tcp://host:99999', 'memory://', 'udp://1.2.3.4:5']) {
        const error = await client.connect(bad).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(isDerError(error, 'DER_INVAL'), bad).toBe(true)
      }
      await expect(h.fabric.open({ listen: 'garbage' })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_INVAL'))
    })

    test('tagged messages arrive in order, intact, exactly once, both ways', async (h) => {
      const { serverSide, clientSide, connection, peer } = await pair(h)
      const count = 300
      for (let i = 0; i < count; i++) connection.send(i % 7, pattern((i * 37) % 3000, i))
      for (let i = 0; i < count; i++) peer.send(100 + i, pattern(i % 50, i + 1))
      expect(await h.until(() => serverSide.of('unexpected').length === count && clientSide.of('unexpected').length === count)).toBe(true)
      const received = serverSide.of('unexpected')
      received.forEach((c, i) => {
        expect(c.tag).toBe(i % 7)
        expect(sameBytes(c.data, pattern((i * 37) % 3000, i)), `message ${i}`).toBe(true)
        expect(c.connection).toBe(peer)
      })
      expect(clientSide.of('unexpected').map((c) => c.tag)).toEqual(Array.from({ length: count }, (_, i) => 100 + i))
      expect(await h.until(() => clientSide.of('send').length === count)).toBe(true)
      expect(clientSide.of('send').every((c) => c.status === 'ok')).toBe(true)
    })

    test('a gather list arrives as one contiguous message', async (h) => {
      const { serverSide, connection } = await pair(h)
      const parts = [pattern(10, 1), new Uint8Array(0), pattern(70_000, 2), pattern(3, 3)]
      connection.send(8, parts)
      connection.send(9, [])
      expect(await h.until(() => serverSide.of('unexpected').length === 2)).toBe(true)
      const [first, second] = serverSide.of('unexpected')
      const joined = new Uint8Array(70_013)
      joined.set(parts[0] as Uint8Array, 0)
      joined.set(parts[2] as Uint8Array, 10)
      joined.set(parts[3] as Uint8Array, 70_010)
      expect(first?.bytes).toBe(70_013)
      expect(sameBytes(first?.data, joined)).toBe(true)
      expect(second?.bytes).toBe(0)
      expect(() => connection.send(1, [new Uint8Array(1), 'x' as unknown as Uint8Array])).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    })

    test('large messages arrive intact between small ones', async (h) => {
      const { serverSide, connection } = await pair(h, { server: { maxUnexpectedBytes: 4 << 20 } })
      const sizes = [1, (3 << 20) + 3, 7, 1 << 20, 0, 200_000]
      sizes.forEach((size, i) => connection.send(i, pattern(size, i + 1)))
      expect(await h.until(() => serverSide.of('unexpected').length === sizes.length, 30_000)).toBe(true)
      serverSide.of('unexpected').forEach((c, i) => {
        expect(c.tag).toBe(i)
        expect(sameBytes(c.data, pattern(sizes[i] as number, i + 1)), `message ${i}`).toBe(true)
      })
    })

    test('a posted receive takes the message with its tag; a too-small one gets DER_TRUNC', async (h) => {
      const { serverSide, connection, peer } = await pair(h)
      const recv = peer.recv(42, 100, { context: 'mine' })
      const small = peer.recv(43, 10)
      connection.send(41, pattern(5, 1))
      connection.send(42, pattern(100, 2))
      connection.send(43, pattern(11, 3))
      expect(await h.until(() => serverSide.completions.length === 3)).toBe(true)
      const matched = serverSide.byId(recv.id)
      expect(matched).toHaveLength(1)
      expect(matched[0]?.context).toBe('mine')
      expect(matched[0]?.data).toEqual(pattern(100, 2))
      expect(serverSide.byId(small.id)[0]?.error?.name).toBe('DER_TRUNC')
      expect(serverSide.of('unexpected').map((c) => c.tag)).toEqual([41])
    })

    test('a message above the peer\'s unexpected limit throws DER_OVERFLOW and sends nothing', async (h) => {
      const { serverSide, connection } = await pair(h, { server: { maxUnexpectedBytes: 1024 } })
      expect(connection.peerMaxUnexpectedBytes).toBe(1024)
      expect(() => connection.send(1, new Uint8Array(1025))).toThrow(expect.objectContaining({ name: 'DER_OVERFLOW' }))
      connection.send(1, new Uint8Array(1024))
      expect(await h.until(() => serverSide.of('unexpected').length === 1)).toBe(true)
      expect(serverSide.of('unexpected')[0]?.bytes).toBe(1024)
    })

    test('rdmaWrite then rdmaRead move bytes one-sidedly, large transfers included', async (h) => {
      const { server, clientSide, connection } = await pair(h)
      const target = new Uint8Array(3 * 1024 * 1024 + 17)
      const region = server.registerMemory(target, { remoteRead: true, remoteWrite: true })
      const remote = server.describe(region, 0)
      expect(remote).toEqual({ address: server.address, key: region.key, offset: 0, length: target.length })
      const source = pattern(target.length - 5, 9)
      const write = connection.rdmaWrite(region.key, 5, source, { context: 'w' })
      expect(await h.until(() => clientSide.byId(write.id).length === 1, 30_000)).toBe(true)
      expect(clientSide.byId(write.id)[0]).toMatchObject({ status: 'ok', kind: 'rdma-write', context: 'w', bytes: source.length })
      expect(sameBytes(target.subarray(5), source)).toBe(true)
      const back = new Uint8Array(1000)
      const read = connection.rdmaRead(region.key, 2_000_000, back)
      expect(await h.until(() => clientSide.byId(read.id).length === 1, 30_000)).toBe(true)
      expect(clientSide.byId(read.id)[0]?.status).toBe('ok')
      expect(sameBytes(back, target.subarray(2_000_000, 2_001_000))).toBe(true)
      const whole = new Uint8Array(target.length)
      const readAll = connection.rdmaRead(region.key, 0, whole)
      expect(await h.until(() => clientSide.byId(readAll.id).length === 1, 30_000)).toBe(true)
      expect(sameBytes(whole, target)).toBe(true)
    })

    test('many RMA reads and writes in flight at once each complete with their own bytes', async (h) => {
      const { server, clientSide, connection } = await pair(h)
      const sliceBytes = 300_000
      const slices = 6
      const target = pattern(slices * sliceBytes, 21)
      const region = server.registerMemory(target, { remoteRead: true, remoteWrite: true })
      // Reads of every slice, posted together, then writes of new bytes to every slice.
      const backs = Array.from({ length: slices }, () => new Uint8Array(sliceBytes))
      const reads = backs.map((back, i) => connection.rdmaRead(region.key, i * sliceBytes, back, { context: i }))
      expect(await h.until(() => reads.every((r) => clientSide.byId(r.id).length === 1), 30_000)).toBe(true)
      backs.forEach((back, i) => {
        expect(clientSide.byId(reads[i]?.id ?? -1)[0]?.context).toBe(i)
        expect(sameBytes(back, target.subarray(i * sliceBytes, (i + 1) * sliceBytes)), `read ${i}`).toBe(true)
      })
      const sources = Array.from({ length: slices }, (_, i) => pattern(sliceBytes, 100 + i))
      const writes = sources.map((source, i) => connection.rdmaWrite(region.key, i * sliceBytes, source))
      // Small messages posted among them still arrive.
      connection.send(7, pattern(10, 7))
      expect(await h.until(() => writes.every((w) => clientSide.byId(w.id).length === 1), 30_000)).toBe(true)
      for (const w of writes) expect(clientSide.byId(w.id)[0]?.status).toBe('ok')
      sources.forEach((source, i) => expect(sameBytes(target.subarray(i * sliceBytes, (i + 1) * sliceBytes), source), `write ${i}`).toBe(true))
    })

    test('bad key, range or access fails on the initiator with a typed error; the target lives on', async (h) => {
      const { server, serverSide, clientSide, connection } = await pair(h)
      const readOnly = server.registerMemory(new Uint8Array(64).fill(7), { remoteRead: true, remoteWrite: false })
      const writeOnly = server.registerMemory(new Uint8Array(64), { remoteRead: false, remoteWrite: true })
      const gone = server.registerMemory(new Uint8Array(64), { remoteRead: true, remoteWrite: true })
      gone.deregister()
      expect(gone.registered).toBe(false)
      const cases: [string, () => { id: number }][] = [
        ['DER_NONEXIST', () => connection.rdmaRead(readOnly.key + 1, 0, new Uint8Array(4))],
        ['DER_NONEXIST', () => connection.rdmaRead(gone.key, 0, new Uint8Array(4))],
        ['DER_INVAL', () => connection.rdmaRead(readOnly.key, 60, new Uint8Array(5))],
        ['DER_INVAL', () => connection.rdmaWrite(writeOnly.key, 64, new Uint8Array(1))],
        ['DER_NO_PERM', () => connection.rdmaWrite(readOnly.key, 0, new Uint8Array(4))],
        ['DER_NO_PERM', () => connection.rdmaRead(writeOnly.key, 0, new Uint8Array(4))],
      ]
      const ops = cases.map(([code, post]) => [code, post()] as const)
      expect(await h.until(() => ops.every(([, op]) => clientSide.byId(op.id).length === 1))).toBe(true)
      for (const [code, op] of ops) {
        const completion = clientSide.byId(op.id)[0]
        expect(completion?.status).toBe('error')
        expect(completion?.error?.name, code).toBe(code)
      }
      expect(() => connection.rdmaRead(0, 0, new Uint8Array(1))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
      expect(() => connection.rdmaRead(readOnly.key, -1, new Uint8Array(1))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
      connection.send(9, pattern(10, 1))
      expect(await h.until(() => serverSide.of('unexpected').length === 1)).toBe(true)
      expect(connection.state).toBe('established')
      const ok = new Uint8Array(64)
      const read = connection.rdmaRead(readOnly.key, 0, ok)
      expect(await h.until(() => clientSide.byId(read.id).length === 1)).toBe(true)
      expect(ok).toEqual(new Uint8Array(64).fill(7))
    })

    test('the completion queue is bounded: DER_AGAIN when full, room again after polling', async (h) => {
      const server = await h.fabric.open({ listen: h.listenAddress() })
      const client = await h.fabric.open({ completionCapacity: 8 })
      new Collector(server)
      client.events.setHandler(() => {})
      const connection = await settle(h, client.connect(server.address))
      for (let i = 0; i < 8; i++) connection.send(1, new Uint8Array(10))
      expect(client.completions.available).toBe(0)
      expect(() => connection.send(1, new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'DER_AGAIN' }))
      expect(await h.until(() => client.completions.size === 8)).toBe(true)
      expect(client.completions.poll(3)).toHaveLength(3)
      expect(client.completions.available).toBe(3)
      connection.send(1, new Uint8Array(10))
      expect(await h.until(() => client.completions.size === 6)).toBe(true)
      expect(client.completions.poll()).toHaveLength(6)
      expect(client.completions.available).toBe(8)
    })

    test('back-pressure: a slow receiver with a small queue gets every message, in order', async (h) => {
      const server = await h.fabric.open({ listen: h.listenAddress(), completionCapacity: 4 })
      const client = await h.fabric.open({})
      server.events.setHandler(() => {})
      const clientSide = new Collector(client)
      const connection = await settle(h, client.connect(server.address))
      const count = 200
      for (let i = 0; i < count; i++) connection.send(i, pattern(100, i))
      const got: number[] = []
      let maxQueued = 0
      while (got.length < count) {
        const ready = await h.until(() => server.completions.size > 0, 10_000)
        expect(ready, `stalled after ${got.length}`).toBe(true)
        maxQueued = Math.max(maxQueued, server.completions.size)
        for (const c of server.completions.poll(2)) {
          expect(c.data).toEqual(pattern(100, c.tag))
          got.push(c.tag)
        }
      }
      expect(maxQueued).toBeLessThanOrEqual(4)
      expect(got).toEqual(Array.from({ length: count }, (_, i) => i))
      expect(await h.until(() => clientSide.of('send').length === count)).toBe(true)
    })

    test('cancel: a posted receive and an RMA complete exactly once, as cancelled', async (h) => {
      const { server, serverSide, clientSide, connection, peer } = await pair(h)
      const recv = peer.recv(5, 10)
      expect(recv.cancel()).toBe(true)
      expect(recv.cancel()).toBe(false)
      expect(recv.done).toBe(true)
      const region = server.registerMemory(new Uint8Array(1 << 20), { remoteRead: true, remoteWrite: true })
      const read = connection.rdmaRead(region.key, 0, new Uint8Array(1 << 20))
      expect(read.cancel()).toBe(true)
      connection.send(5, new Uint8Array(3))
      expect(await h.until(() => serverSide.of('unexpected').length === 1)).toBe(true)
      await h.until(() => false, 50)
      expect(serverSide.byId(recv.id)).toEqual([expect.objectContaining({ status: 'cancelled', kind: 'recv' })])
      expect(clientSide.byId(read.id)).toEqual([expect.objectContaining({ status: 'cancelled', kind: 'rdma-read' })])
      const done = clientSide.of('send')[0]
      expect(done?.status).toBe('ok')
    })

    test('close: the peer sees closed, outstanding operations fail once with DER_UNREACH', async (h) => {
      const { serverSide, clientSide, connection, peer } = await pair(h)
      const waiting = peer.recv(77, 10)
      const mine = connection.recv(78, 10)
      connection.close()
      connection.close()
      expect(connection.state).toBe('closed')
      expect(clientSide.byId(mine.id)).toEqual([expect.objectContaining({ status: 'error' })])
      expect(await h.until(() => serverSide.events.some((e) => e.type === 'closed'))).toBe(true)
      expect(serverSide.byId(waiting.id)).toEqual([expect.objectContaining({ status: 'error' })])
      expect(serverSide.byId(waiting.id)[0]?.error?.name).toBe('DER_UNREACH')
      expect(peer.state).toBe('closed')
      expect(() => connection.send(1, new Uint8Array(1))).toThrow(expect.objectContaining({ name: 'DER_UNREACH' }))
      expect(clientSide.events.map((e) => e.type)).toEqual(['established', 'closed'])
    })

    test('closing an endpoint ends its connections; its peers see closed or reset', async (h) => {
      const { server, clientSide, connection } = await pair(h)
      await server.close()
      expect(await h.until(() => clientSide.events.some((e) => e.type === 'closed' || e.type === 'reset'))).toBe(true)
      expect(connection.state).toBe('closed')
    })

    test('pause holds unexpected messages until resume, order kept', async (h) => {
      const { serverSide, connection, peer } = await pair(h)
      peer.pause()
      for (let i = 0; i < 20; i++) connection.send(i, pattern(8, i))
      await h.until(() => false, 100)
      expect(serverSide.of('unexpected')).toHaveLength(0)
      peer.resume()
      expect(await h.until(() => serverSide.of('unexpected').length === 20)).toBe(true)
      expect(serverSide.of('unexpected').map((c) => c.tag)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    })

    test('many connections to one endpoint keep their messages apart', async (h) => {
      const server = await h.fabric.open({ listen: h.listenAddress() })
      const serverSide = new Collector(server)
      const clients = await Promise.all(Array.from({ length: 16 }, () => h.fabric.open({})))
      const connections = []
      for (const client of clients) {
        client.events.setHandler(() => {})
        client.completions.setHandler(() => {})
        connections.push(await settle(h, client.connect(server.address)))
      }
      connections.forEach((c, k) => {
        for (let i = 0; i < 50; i++) c.send(k, pattern(16, k * 1000 + i))
      })
      expect(await h.until(() => serverSide.of('unexpected').length === 16 * 50)).toBe(true)
      const byConnection = new Map<Connection, number[]>()
      for (const c of serverSide.of('unexpected')) {
        const list = byConnection.get(c.connection) ?? []
        list.push(c.tag)
        expect(c.data).toEqual(pattern(16, c.tag * 1000 + list.length - 1))
        byConnection.set(c.connection, list)
      }
      expect(byConnection.size).toBe(16)
    })
  })
}
