// CaRT on loopback tcp against @grpc/grpc-js unary calls and a raw socket, in the same run and
// the same process (client and server share one event loop for all three):
// - null RPC round trips per second with 1 and 64 in flight;
// - bulk bandwidth for 1 MiB and 64 MiB: CaRT's server pulls the client's registered buffer
//   (RDMA GET over the tcp provider) into a registered buffer, gRPC sends the bytes as the
//   request, the raw socket writes them with a length prefix and the server copies them into a
//   destination buffer; each replies with a small acknowledgement.
// - the object I/O shapes (issue 12), against the raw socket only, with 1 and 16 in flight: an
//   RPC carrying 4 KiB inline (the raw request carries the same 4 KiB), an RPC answered with
//   4 KiB inline, and 4 MiB bulk GET / PUT per RPC (the raw request or reply carries 4 MiB, which
//   the receiver copies into a destination buffer, as CaRT's RMA lands in registered memory).
import { BenchReport } from '@x/bench'
import { type StructCodec, createRealRuntime } from '@x/common'
import { TcpFabric } from '@x/rdma-transport'
import * as grpc from '@grpc/grpc-js'
import { type AddressInfo, createConnection, createServer } from 'node:net'
import { Cart, type LocalBulk, Protocol, defineRpc, readBulkDescriptor, writeBulkDescriptor, type BulkDescriptor } from '../src/index.ts'

const runtime = createRealRuntime()
const now = (): number => runtime.clock.monotonicMs()
const report = new BenchReport('cart')
const measureMs = Number(process.env.CART_BENCH_MS ?? 700)

/** Runs `op` with `inFlight` workers for `durationMs`; returns operations per second. */
async function rate(op: (worker: number) => Promise<unknown>, inFlight: number, durationMs = measureMs): Promise<number> {
  for (let i = 0; i < 50; i++) await op(0) // warm-up
  let count = 0
  const end = now() + durationMs
  const start = now()
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      while (now() < end) {
        await op(worker)
        count++
      }
    }),
  )
  return count / ((now() - start) / 1000)
}

/** Bytes per second of `transfer(size)` repeated `rounds` times after one warm-up. */
async function bandwidth(transfer: () => Promise<unknown>, size: number, rounds: number): Promise<number> {
  await transfer()
  const start = now()
  for (let i = 0; i < rounds; i++) await transfer()
  return (size * rounds) / ((now() - start) / 1000) / 1e6
}

// ---- CaRT -----------------------------------------------------------------------------------
const empty: StructCodec<null> = { name: 'empty', version: 1, compat: 1, encodeFields: () => undefined, decodeFields: () => null }
const bulkIn: StructCodec<BulkDescriptor> = { name: 'bulk', version: 1, compat: 1, encodeFields: (e, v) => writeBulkDescriptor(e, v), decodeFields: (d) => readBulkDescriptor(d) }
const u32: StructCodec<number> = { name: 'u32', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v), decodeFields: (d) => d.u32() }
const bytesCodec: StructCodec<Uint8Array> = { name: 'bytes', version: 1, compat: 1, encodeFields: (e, v) => void e.bytes(v), decodeFields: (d) => d.bytes() }
const nullRpc = defineRpc({ name: 'null', input: empty, output: empty })
const pullRpc = defineRpc({ name: 'pull', input: bulkIn, output: u32 })
const pushRpc = defineRpc({ name: 'push', input: bulkIn, output: u32 })
const putRpc = defineRpc({ name: 'put', input: bytesCodec, output: u32 })
const getRpc = defineRpc({ name: 'get', input: u32, output: bytesCodec })
const protocol = new Protocol({ name: 'bench', baseOpcode: 0x42000000, version: 1, rpcs: [nullRpc, pullRpc, pushRpc, putRpc, getRpc] })
const maxSize = 64 << 20

const fabric = new TcpFabric({ runtime })
const server = new Cart({ fabric, runtime, rank: 0 })
server.registerProtocol(protocol)
const serverContext = await server.createContext({ listen: 'tcp://127.0.0.1:0' })
const serverBuffer = serverContext.bulkCreate(new Uint8Array(maxSize), 'rw')
server.handle(nullRpc, () => null)
server.handle(pullRpc, async (rpc) => {
  const r = await serverContext.bulkTransfer({ op: 'get', remote: rpc.input, local: serverBuffer })
  return r.bytes
})
// 4 MiB object-sized transfers: one server buffer per RPC in flight.
const MiB = 1 << 20
const serverSlots = Array.from({ length: 16 }, () => serverContext.bulkCreate(new Uint8Array(4 * MiB), 'rw'))
let nextSlot = 0
const slotTransfer = async (op: 'get' | 'put', remote: BulkDescriptor): Promise<number> =>
  (await serverContext.bulkTransfer({ op, remote, local: serverSlots[nextSlot++ % serverSlots.length] as LocalBulk, length: remote.totalBytes })).bytes
server.handle(pushRpc, (rpc) => slotTransfer('put', rpc.input))
const page = new Uint8Array(4096).fill(9)
server.handle(putRpc, (rpc) => rpc.input.length)
server.handle(getRpc, () => page)
const client = new Cart({ fabric, runtime })
client.registerProtocol(protocol)
const clientContext = await client.createContext()
const target = { uri: serverContext.address }
const cartNull = (): Promise<unknown> => clientContext.call(nullRpc, target, null)
const clientBuffers = new Map<number, LocalBulk>()
for (const size of [1 << 20, 64 << 20]) clientBuffers.set(size, clientContext.bulkCreate(new Uint8Array(size).fill(7), 'ro'))
const cartBulk = (size: number) => (): Promise<unknown> => clientContext.call(pullRpc, target, (clientBuffers.get(size) as LocalBulk).descriptor)
const clientSlots = Array.from({ length: 16 }, () => clientContext.bulkCreate(new Uint8Array(4 * MiB).fill(3), 'rw'))
const cartSlotCall = (rpc: typeof pullRpc) => (worker: number): Promise<unknown> => clientContext.call(rpc, target, (clientSlots[worker] as LocalBulk).descriptor)

// ---- gRPC -----------------------------------------------------------------------------------
const passthrough = (b: Buffer): Buffer => b
const service = {
  call: { path: '/bench.Bench/Call', requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
} satisfies grpc.ServiceDefinition
const ack = Buffer.alloc(4)
const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 })
grpcServer.addService(service, { call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, _call.request.length === 0 ? Buffer.alloc(0) : ack) })
const grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e === null ? resolve(port) : reject(e))))
const GrpcClient = grpc.makeGenericClientConstructor(service, 'Bench')
const grpcClient = new GrpcClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 }) as unknown as {
  call(request: Buffer, callback: (error: grpc.ServiceError | null, reply?: Buffer) => void): void
  close(): void
}
const grpcCall = (payload: Buffer) => (): Promise<unknown> =>
  new Promise((resolve, reject) => grpcClient.call(payload, (e, r) => (e === null ? resolve(r) : reject(e))))
const grpcPayloads = new Map<number, Buffer>([[0, Buffer.alloc(0)], [1 << 20, Buffer.alloc(1 << 20, 7)], [64 << 20, Buffer.alloc(64 << 20, 7)]])

// ---- raw socket: [u32 length][u32 reply length][bytes] requests, [u32 length][bytes] replies --
// Like CaRT's GET and gRPC's request buffer, the receiving side lands the bytes in a destination buffer.
const rawSink = Buffer.alloc(maxSize)
const rawReplies = new Map<number, Uint8Array>([[4096, page], [4 * MiB, new Uint8Array(4 * MiB).fill(4)]])
/** Parses `[u32 length][head rest][length bytes]` frames; payloads are copied into `rawSink`. */
function framer(headBytes: number, onFrame: (head: Buffer) => void): (chunk: Buffer) => void {
  const head = Buffer.alloc(headBytes)
  let headHave = 0
  let need = -1
  let have = 0
  return (chunk: Buffer) => {
    let at = 0
    while (at < chunk.length) {
      if (need < 0) {
        const n = Math.min(headBytes - headHave, chunk.length - at)
        chunk.copy(head, headHave, at, at + n)
        headHave += n
        at += n
        if (headHave < headBytes) return
        need = head.readUInt32LE(0)
        have = 0
        headHave = 0
      }
      const n = Math.min(need - have, chunk.length - at)
      if (n > 0) chunk.copy(rawSink, have, at, at + n)
      have += n
      at += n
      if (have === need) {
        need = -1
        onFrame(head)
      }
    }
  }
}
const rawServer = createServer((socket) => {
  socket.setNoDelay(true)
  socket.on(
    'data',
    framer(8, (head) => {
      const replyBytes = head.readUInt32LE(4)
      const reply = Buffer.alloc(4)
      reply.writeUInt32LE(replyBytes, 0)
      socket.write(reply)
      if (replyBytes > 0) socket.write(rawReplies.get(replyBytes) as Uint8Array)
    }),
  )
})
await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve))
const rawSocket = createConnection({ host: '127.0.0.1', port: (rawServer.address() as AddressInfo).port })
rawSocket.setNoDelay(true)
await new Promise<void>((resolve) => rawSocket.once('connect', resolve))
const rawWaiters: (() => void)[] = []
rawSocket.on(
  'data',
  framer(4, () => rawWaiters.shift()?.()),
)
const rawExchange = (payload: Uint8Array, replyBytes: number) => (): Promise<unknown> =>
  new Promise<void>((resolve) => {
    rawWaiters.push(resolve)
    const header = Buffer.alloc(8)
    header.writeUInt32LE(payload.length, 0)
    header.writeUInt32LE(replyBytes, 4)
    rawSocket.write(header)
    if (payload.length > 0) rawSocket.write(payload)
  })
const rawCall = (payload: Uint8Array): (() => Promise<unknown>) => rawExchange(payload, 0)

// ---- measurements ---------------------------------------------------------------------------
// The machine is shared: each figure is the best of three rounds, the three systems interleaved.
async function bestOf3(run: () => Promise<number[]>): Promise<number[]> {
  let best: number[] = []
  for (let round = 0; round < 3; round++) {
    const r = await run()
    best = r.map((v, i) => Math.max(v, best[i] ?? 0))
  }
  return best
}
for (const inFlight of [1, 64]) {
  const [cart, grpcRate, raw] = (await bestOf3(async () => [
    await rate(cartNull, inFlight),
    await rate(grpcCall(grpcPayloads.get(0) as Buffer), inFlight),
    await rate(rawCall(Buffer.alloc(0)), inFlight),
  ])) as [number, number, number]
  report.add({ name: `null RPC, ${inFlight} in flight vs gRPC`, unit: 'ops/s', value: cart, reference: '@grpc/grpc-js unary', referenceValue: grpcRate, higherIsBetter: true })
  report.add({ name: `null RPC, ${inFlight} in flight vs raw socket`, unit: 'ops/s', value: cart, reference: 'raw tcp socket', referenceValue: raw, higherIsBetter: true })
}
for (const [label, size, rounds] of [['1 MiB', 1 << 20, 100], ['64 MiB', 64 << 20, 4]] as const) {
  const [cart, grpcBw, raw] = (await bestOf3(async () => [
    await bandwidth(cartBulk(size), size, rounds),
    await bandwidth(grpcCall(grpcPayloads.get(size) as Buffer), size, rounds),
    await bandwidth(rawCall(grpcPayloads.get(size) as Buffer), size, rounds),
  ])) as [number, number, number]
  report.add({ name: `bulk ${label} vs gRPC`, unit: 'MB/s', value: cart, reference: '@grpc/grpc-js unary', referenceValue: grpcBw, higherIsBetter: true })
  report.add({ name: `bulk ${label} vs raw socket`, unit: 'MB/s', value: cart, reference: 'raw tcp socket', referenceValue: raw, higherIsBetter: true })
}
const objectShapes: [string, string, number, (worker: number) => Promise<unknown>, () => Promise<unknown>][] = [
  ['RPC with 4 KiB in', 'ops/s', 0, () => clientContext.call(putRpc, target, page), rawExchange(page, 0)],
  ['RPC with 4 KiB out', 'ops/s', 0, () => clientContext.call(getRpc, target, 4096), rawExchange(new Uint8Array(0), 4096)],
  ['bulk 4 MiB GET', 'MB/s', 4 * MiB, cartSlotCall(pullRpc), rawExchange(rawReplies.get(4 * MiB) as Uint8Array, 0)],
  ['bulk 4 MiB PUT', 'MB/s', 4 * MiB, cartSlotCall(pushRpc), rawExchange(new Uint8Array(0), 4 * MiB)],
]
for (const [label, unit, bytes, cartOp, rawOp] of objectShapes) {
  for (const inFlight of [1, 16]) {
    const scale = bytes === 0 ? 1 : bytes / 1e6
    const [cart, raw] = (await bestOf3(async () => [(await rate(cartOp, inFlight)) * scale, (await rate(rawOp, inFlight)) * scale])) as [number, number]
    report.add({ name: `${label}, ${inFlight} in flight vs raw socket`, unit, value: cart, reference: 'raw tcp socket', referenceValue: raw, higherIsBetter: true })
  }
}
report.write()

rawSocket.destroy()
rawServer.close()
grpcClient.close()
grpcServer.forceShutdown()
await client.close()
await server.close()
await fabric.close()
