// The reference of the transport benchmarks (rdma-transport, msgr): a raw node:net socket pump on
// 127.0.0.1, measured in the same run as the code under test.
import net from 'node:net'

/**
 * The part of `@x/common`'s `Runtime` the reference needs, spelled out structurally: @x/bench must
 * not depend on @x/common, which uses @x/bench for its own benchmark (a build cycle otherwise).
 */
export interface BenchRuntime {
  readonly clock: { monotonicMs(): number }
  readonly timers: { sleep(delayMs: number): Promise<void> }
}

/** A connected pair of raw sockets on 127.0.0.1. */
export interface RawPair {
  client: net.Socket
  server: net.Socket
  close(): Promise<void>
}

/** Opens a listening socket on 127.0.0.1 (port 0) and connects one client to it. */
export async function rawPair(): Promise<RawPair> {
  let serverSide: net.Socket | undefined
  const server = net.createServer({ noDelay: true }, (socket) => (serverSide = socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const client = net.connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve) => client.once('connect', resolve))
  while (serverSide === undefined) await new Promise((resolve) => client.once('ready', resolve).emit('ready'))
  const s = serverSide
  return {
    client,
    server: s,
    close: async () => {
      client.destroy()
      s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** MB/s of pushing `totalBytes` in writes of `sizeBytes` from client to server. */
/** MB/s of `totalBytes` pumped in messages of `sizeBytes` through a raw socket pair. */
export async function rawThroughput(runtime: BenchRuntime, sizeBytes: number, totalBytes: number): Promise<number> {
  const pair = await rawPair()
  const payload = Buffer.alloc(sizeBytes, 7)
  let received = 0
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  pair.server.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received >= totalBytes) resolveDone()
  })
  const start = runtime.clock.monotonicMs()
  let sent = 0
  while (sent < totalBytes) {
    sent += sizeBytes
    if (!pair.client.write(payload)) await new Promise((resolve) => pair.client.once('drain', resolve))
  }
  await done
  const elapsedMs = runtime.clock.monotonicMs() - start
  await pair.close()
  return totalBytes / 1e6 / (elapsedMs / 1000)
}

/** Round trips per second of `connections` sockets each bouncing a 16-byte message, for `durationMs`. */
/** Round trips per second of small messages over `connections` raw socket pairs for `durationMs`. */
export async function rawRoundTrips(runtime: BenchRuntime, connections: number, durationMs: number): Promise<number> {
  const pairs = await Promise.all(Array.from({ length: connections }, () => rawPair()))
  const message = Buffer.alloc(16, 1)
  let count = 0
  let running = true
  const start = runtime.clock.monotonicMs()
  for (const pair of pairs) {
    let pending = 0
    pair.server.on('data', (chunk: Buffer) => {
      pending += chunk.length
      while (pending >= 16) {
        pending -= 16
        pair.server.write(message)
      }
    })
    let back = 0
    pair.client.on('data', (chunk: Buffer) => {
      back += chunk.length
      while (back >= 16) {
        back -= 16
        count++
        if (running) pair.client.write(message)
      }
    })
    pair.client.write(message)
  }
  await runtime.timers.sleep(durationMs)
  running = false
  const elapsedMs = runtime.clock.monotonicMs() - start
  const result = count / (elapsedMs / 1000)
  for (const pair of pairs) await pair.close()
  return result
}
