// The messenger on loopback tcp against a raw node:net socket pump measured in the same run:
// throughput for 4 KiB, 64 KiB and 1 MiB messages (lossless sessions: frames, crc32c, seq/ack),
// and small-message round trips per second with 1 and 64 connections.
import { BenchReport } from '@x/bench'
import { type StructCodec, createRealRuntime } from '@x/common'
import { TcpFabric } from '@x/rdma-transport'
import { MessageRegistry, Messenger, Policies } from '../src/index.ts'
import { rawRoundTrips, rawThroughput } from '@x/bench'

const runtime = createRealRuntime({ seed: 1 })
const report = new BenchReport('msgr')
const MiB = 1 << 20

const codec: StructCodec<{ n: number }> = { name: 'bench', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v.n), decodeFields: (d) => ({ n: d.u32() }) }

function registry() {
  const r = new MessageRegistry()
  return { registry: r, type: r.register({ id: 1, name: 'bench', codec }) }
}

async function throughput(sizeBytes: number, totalBytes: number, crcData = true): Promise<number> {
  const fabric = new TcpFabric({ runtime })
  const { registry: r, type } = registry()
  const options = { fabric, runtime, registry: r, defaultPolicy: Policies.losslessPeer(), crcData }
  const server = new Messenger({ ...options, name: 'engine.1' })
  const client = new Messenger({ ...options, name: 'client.1' })
  await server.bind('tcp://127.0.0.1:0')
  await client.bind()
  const count = Math.ceil(totalBytes / sizeBytes)
  let received = 0
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  server.addDispatcher({
    canFastDispatch: () => true,
    fastDispatch: () => {
      if (++received === count) resolveDone()
    },
  })
  const session = client.connect(server.address.uri)
  const data = new Uint8Array(sizeBytes).fill(5)
  const start = runtime.clock.monotonicMs()
  let sent = 0
  const limit = Math.max(8, Math.floor((8 * MiB) / sizeBytes))
  while (sent < count) {
    while (sent < count && session.unacked < limit) session.send({ type, payload: { n: sent++ }, data })
    await runtime.timers.sleep(0)
  }
  await done
  const elapsedMs = runtime.clock.monotonicMs() - start
  await client.shutdown()
  await server.shutdown()
  await fabric.close()
  return (count * sizeBytes) / 1e6 / (elapsedMs / 1000)
}

async function roundTrips(connections: number, durationMs: number): Promise<number> {
  const fabric = new TcpFabric({ runtime })
  const { registry: r, type } = registry()
  const server = new Messenger({ fabric, runtime, registry: r, name: 'engine.1' })
  await server.bind('tcp://127.0.0.1:0')
  server.addDispatcher({ canFastDispatch: () => true, fastDispatch: (m) => m.connection.send({ type, payload: { n: 0 } }) })
  let count = 0
  let running = true
  const clients: Messenger[] = []
  for (let i = 0; i < connections; i++) {
    const client = new Messenger({ fabric, runtime, registry: r, name: `client.${i}` })
    await client.bind()
    client.addDispatcher({
      canFastDispatch: () => true,
      fastDispatch: (m) => {
        count++
        if (running) m.connection.send({ type, payload: { n: 1 } })
      },
    })
    clients.push(client)
  }
  const sessions = clients.map((c) => c.connect(server.address.uri))
  while (sessions.some((s) => s.state !== 'open')) await runtime.timers.sleep(5)
  const start = runtime.clock.monotonicMs()
  for (const session of sessions) session.send({ type, payload: { n: 1 } })
  await runtime.timers.sleep(durationMs)
  running = false
  const elapsedMs = runtime.clock.monotonicMs() - start
  for (const client of clients) await client.shutdown()
  await server.shutdown()
  await fabric.close()
  return count / (elapsedMs / 1000)
}

/**
 * Best of `rounds` interleaved runs of ours and the reference (the machine is shared and noisy);
 * every round is printed, so the spread is visible next to the recorded best.
 */
async function bestOf(label: string, rounds: number, ours: () => Promise<number>, reference: () => Promise<number>): Promise<[number, number]> {
  const oursRounds: number[] = []
  const referenceRounds: number[] = []
  for (let i = 0; i < rounds; i++) {
    referenceRounds.push(await reference())
    oursRounds.push(await ours())
  }
  const show = (values: number[]): string => values.map((v) => v.toFixed(0)).join(' ')
  console.log(`${label}: msgr rounds [${show(oursRounds)}], reference rounds [${show(referenceRounds)}]`)
  return [Math.max(...oursRounds), Math.max(...referenceRounds)]
}

await throughput(64 * 1024, 64 * MiB) // warm-up
for (const [label, size, total] of [['4KiB', 4096, 128 * MiB], ['64KiB', 64 * 1024, 512 * MiB], ['1MiB', MiB, 512 * MiB]] as const) {
  const [value, reference] = await bestOf(`throughput ${label}`, 5, () => throughput(size, total), () => rawThroughput(runtime, size, total))
  report.add({ name: `msgr tcp throughput ${label}`, unit: 'MB/s', value, reference: 'raw node:net socket pump', referenceValue: reference, higherIsBetter: true })
  if (size >= 64 * 1024) {
    // Ceph's ms_crc_data = false: header, front and middle keep their crcs; the data segment does not.
    const [unchecked, reference2] = await bestOf(`throughput ${label} crcData off`, 5, () => throughput(size, total, false), () => rawThroughput(runtime, size, total))
    report.add({ name: `msgr tcp throughput ${label} (crcData off)`, unit: 'MB/s', value: unchecked, reference: 'raw node:net socket pump', referenceValue: reference2, higherIsBetter: true })
  }
}
for (const connections of [1, 64]) {
  const [value, reference] = await bestOf(`round trips x${connections}`, 3, () => roundTrips(connections, 1000), () => rawRoundTrips(runtime, connections, 1000))
  report.add({ name: `msgr tcp round trips x${connections} connections`, unit: 'round trips/s', value, reference: 'raw node:net socket ping-pong', referenceValue: reference, higherIsBetter: true })
}
report.write()
