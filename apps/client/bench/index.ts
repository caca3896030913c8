// The client library's object path on an in-process 3-engine cluster (MemoryFabric, memory
// devices, real time): KV put and get through @x/client against the same operations through
// @x/engine's minimal ObjectClient (the reference) in the same run, and array writes/reads of
// 256 KiB split into 64 KiB chunks against the same bytes written as single-dkey updates.
import { BenchReport, measureAsync } from '@x/bench'
import { Cart } from '@x/cart'
import { createRealRuntime } from '@x/common'
import { ObjectClient, ObjectService, TargetSet } from '@x/engine'
import { ObjectType, buildPoolMap, objectProtocol } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { PoolHandle, chunkDkey, clientObjectProtocol } from '../src/index.ts'

const runtime = createRealRuntime()
const durationMs = Number(process.env['CLIENT_BENCH_MS'] ?? 1500)
// Every overwrite keeps its version (no aggregation yet): array windows are short to bound space.
const arrayDurationMs = Math.min(durationMs, 400)
const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
const contUuid = '11111111-2222-4333-8444-555555555555'
const fabric = new MemoryFabric({ runtime })
const ranks = [0, 1, 2]
const map = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: 2 })) })
const uri = (r: number, t: number): string => `memory://rank-${r}-tag-${t}`
const services: ObjectService[] = []
const carts: Cart[] = []
for (const rank of ranks) {
  const cart = new Cart({ fabric, runtime, rank })
  for (const r of ranks) cart.primaryGroup.addRank(r, [uri(r, 0), uri(r, 1)])
  const targets = await TargetSet.create(rank, [0, 1].map((t) => new MemoryBlockDevice({ name: `r${rank}t${t}`, blockSizeBytes: 4096, blockCount: 131072 })))
  services.push(await ObjectService.start({ listen: (tag) => uri(rank, tag), cart, targets, poolUuid, poolMap: map, commitIntervalMs: 20 }))
  carts.push(cart)
}
function clientCart(protocol: typeof clientObjectProtocol): Cart {
  const cart = new Cart({ fabric, runtime })
  cart.registerProtocol(protocol)
  for (const r of ranks) cart.primaryGroup.addRank(r, [uri(r, 0), uri(r, 1)])
  carts.push(cart)
  return cart
}
const ours = new PoolHandle({ context: await clientCart(clientObjectProtocol).createContext(), runtime, poolUuid, poolMap: map })
const reference = new ObjectClient({ context: await clientCart(objectProtocol).createContext(), runtime, poolUuid, containerUuid: contUuid, poolMap: map })
const cont = ours.openContainer(contUuid)
const te = new TextEncoder()
const akey = Uint8Array.of(0x30)
const value = new Uint8Array(512).fill(7)
const report = new BenchReport('client')

for (const oclass of ['RP_3G1', 'S1']) {
  const kv = await cont.createKv(oclass)
  const oid = kv.object.oid
  let i = 0
  const put = await measureAsync(() => kv.put(te.encode(`k${i++ % 1000}`), value), { minDurationMs: durationMs })
  let j = 0
  const refPut = await measureAsync(() => reference.update(oid, te.encode(`k${j++ % 1000}`), [{ type: 'single', akey, value }]), { minDurationMs: durationMs })
  report.add({ name: `kv put 512B ${oclass}`, unit: 'ops/s', value: put.operationsPerSecond, reference: 'engine ObjectClient update', referenceValue: refPut.operationsPerSecond, higherIsBetter: true })
  const get = await measureAsync(() => kv.get(te.encode(`k${i++ % 1000}`)), { minDurationMs: durationMs })
  const refGet = await measureAsync(() => reference.fetch(oid, te.encode(`k${j++ % 1000}`), [{ type: 'single', akey }]), { minDurationMs: durationMs })
  report.add({ name: `kv get 512B ${oclass}`, unit: 'ops/s', value: get.operationsPerSecond, reference: 'engine ObjectClient fetch', referenceValue: refGet.operationsPerSecond, higherIsBetter: true })
}

// Arrays: 256 KiB per call in 64 KiB chunks (4 dkeys in parallel) vs 4 sequential 64 KiB updates.
const chunkBytes = 65536
const arr = await cont.createArray(await cont.allocateOid('S1', ObjectType.ARRAY), { cellSizeBytes: 1, chunkSizeCells: chunkBytes })
const big = new Uint8Array(4 * chunkBytes).fill(3)
const refOid = await cont.allocateOid('S1', ObjectType.ARRAY)
let w = 0
const write = await measureAsync(() => arr.write((w++ % 8) * big.length, big), { minDurationMs: arrayDurationMs })
let rw = 0
const refWrite = await measureAsync(async () => {
  const base = (rw++ % 8) * 4
  for (let c = 0; c < 4; c++) await reference.update(refOid, chunkDkey(base + c), [{ type: 'array', akey, recordSizeBytes: 1, extents: [{ index: 0, count: chunkBytes, data: big.subarray(c * chunkBytes, (c + 1) * chunkBytes) }] }])
}, { minDurationMs: arrayDurationMs })
const mbps = (opsPerSecond: number): number => (opsPerSecond * big.length) / 1e6
report.add({ name: 'array write 256KiB (4 chunks) S1', unit: 'MB/s', value: mbps(write.operationsPerSecond), reference: 'engine ObjectClient 4 sequential updates', referenceValue: mbps(refWrite.operationsPerSecond), higherIsBetter: true })
let r = 0
const read = await measureAsync(() => arr.read((r++ % 8) * big.length, big.length), { minDurationMs: arrayDurationMs })
let rr = 0
const refRead = await measureAsync(async () => {
  const base = (rr++ % 8) * 4
  for (let c = 0; c < 4; c++) await reference.fetch(refOid, chunkDkey(base + c), [{ type: 'array', akey, extents: [{ index: 0, count: chunkBytes }] }])
}, { minDurationMs: arrayDurationMs })
report.add({ name: 'array read 256KiB (4 chunks) S1', unit: 'MB/s', value: mbps(read.operationsPerSecond), reference: 'engine ObjectClient 4 sequential fetches', referenceValue: mbps(refRead.operationsPerSecond), higherIsBetter: true })

report.write()
for (const s of services) s.stop()
for (const c of carts) await c.close()
