// The control plane as dmg/daos use it, against a one-engine daemon in this process, each
// measured against raw @grpc/grpc-js doing the same round trips with the same payload in the
// same run:
// - `PoolQuery` on a reused client (request validation, the engine, a pool-service read,
//   JSON bodies) vs a raw unary echo of the same response bytes;
// - a whole `dmg pool query` command in process (argument parsing, a new channel, the call,
//   the table) vs a raw unary echo on a new channel each time.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { BenchReport, measureAsync } from '@x/bench'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { ControlClient, embeddedDefaultConfig, startDaemon } from '@x/daemon'
import { runDmg } from '../src/index.ts'

const runtime = createRealRuntime()
const dir = mkdtempSync(join(tmpdir(), 'x-cli-bench-'))
const base = embeddedDefaultConfig(dir)
const config = { ...base, engines: [{ ...base.engines[0]!, targets: 2, fabricIfacePort: 0, storage: [{ class: 'file' as const, path: join(dir, 'bdev0.img'), sizeBytes: 64 << 20 }] }] }
const daemon = await startDaemon({ config, dataDir: dir, runtime, log: new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('ERR')), controlPort: 0, clusterSizeBytes: 16 * 1024 })

// The raw reference: a grpc-js server answering every call with the bytes of a real PoolQuery response.
const client = new ControlClient({ target: daemon.control.address, clock: runtime.clock })
await client.call('PoolCreate', { label: 'bench', sizeBytes: 32 << 20, properties: {} })
const payload = Buffer.from(JSON.stringify(await client.call('PoolQuery', { id: 'bench' })))
const identity = (b: Buffer): Buffer => b
const echoService: grpc.ServiceDefinition = {
  Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
}
const rawServer = new grpc.Server()
rawServer.addService(echoService, { Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, payload) })
const rawPort = await new Promise<number>((resolve, reject) => rawServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))))
const RawClient = grpc.makeGenericClientConstructor(echoService, 'Echo')
type Echo = grpc.Client & { Echo(req: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void }
const rawCall = (c: Echo): Promise<Buffer> => new Promise((resolve, reject) => c.Echo(Buffer.from('{"id":"bench"}'), (e, r) => (e === null && r !== undefined ? resolve(r) : reject(e ?? new Error('no reply')))))
const newRaw = (): Echo => new RawClient(`127.0.0.1:${rawPort}`, grpc.credentials.createInsecure(), { 'grpc.enable_http_proxy': 0 }) as unknown as Echo

const report = new BenchReport('cli')
const reused = newRaw()
const ours = await measureAsync(() => client.call('PoolQuery', { id: 'bench' }), { minDurationMs: 1500 })
const raw = await measureAsync(() => rawCall(reused), { minDurationMs: 1500 })
report.add({ name: 'control PoolQuery, reused client', unit: 'ops/s', value: ours.operationsPerSecond, reference: 'grpc-js unary echo (same payload)', referenceValue: raw.operationsPerSecond, higherIsBetter: true })
reused.close()

const address = daemon.control.address
const silent = { stdout: () => {}, stderr: () => {}, clock: runtime.clock }
const command = await measureAsync(
  async () => {
    if ((await runDmg(['-l', address, 'pool', 'query', 'bench'], silent)) !== 0) throw new Error('dmg pool query failed')
  },
  { minDurationMs: 1500 },
)
const rawNew = await measureAsync(
  async () => {
    const c = newRaw()
    try {
      await rawCall(c)
    } finally {
      c.close()
    }
  },
  { minDurationMs: 1500 },
)
report.add({ name: 'dmg pool query command (in process, new channel)', unit: 'ops/s', value: command.operationsPerSecond, reference: 'grpc-js unary echo on a new channel', referenceValue: rawNew.operationsPerSecond, higherIsBetter: true })

client.close()
rawServer.forceShutdown()
await daemon.stop()
rmSync(dir, { recursive: true, force: true })
report.write()
