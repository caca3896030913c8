// The object I/O path in one process (3-6 engines on a MemoryFabric, memory devices, real time,
// one request in flight): KV-style single-value updates and fetches through ObjectClient, and EC
// array writes/reads, each against a bare cart RPC round trip (cart's proto_query, answered by
// the cart itself) on the same fabric in the same run: the floor any object RPC pays.
//
// What-if: the MemoryFabric delivers every message through `timers.schedule(0)`, which the real
// runtime maps to setTimeout (>= 1 ms in Node). The last records run the same fetch and update on
// a runtime whose 0 ms timers run as microtasks, against the plain runtime, to size that cost.
import { type BenchReport, measureAsync, measureSync } from '@x/bench'
import { Cart, protoQueryRpc } from '@x/cart'
import { type Runtime, type TimerHandle, type Timers, crc32c, createRealRuntime, sleepWith } from '@x/common'
import { ObjectIdAllocator, ObjectType, buildPoolMap, generateObjectId, objectProtocol, parseObjectClass, poolMapFit } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { ErasureCodec, ObjectClient, ObjectService, TargetSet } from '../src/index.ts'

/** A real runtime whose 0 ms timers run as microtasks (the what-if above). */
function zeroDelayAsMicrotasks(base: Runtime): Runtime {
  const cancelled = new WeakSet<TimerHandle>()
  let next = 1 << 30
  const timers: Timers = {
    schedule(delayMs, callback, options) {
      if (delayMs > 0) return base.timers.schedule(delayMs, callback, options)
      const handle: TimerHandle = { id: next++ }
      queueMicrotask(() => {
        if (!cancelled.has(handle)) callback()
      })
      return handle
    },
    repeat: (periodMs, callback, options) => base.timers.repeat(periodMs, callback, options),
    cancel(handle) {
      cancelled.add(handle)
      base.timers.cancel(handle)
    },
    sleep: (delayMs, signal) => sleepWith(timers, delayMs, signal),
  }
  return { clock: base.clock, random: base.random, timers }
}

interface Cluster {
  readonly client: ObjectClient
  readonly bare: () => Promise<unknown>
  readonly newOid: (oclass: string) => ReturnType<typeof generateObjectId>
  close(): Promise<void>
}

async function startCluster(runtime: Runtime): Promise<Cluster> {
  const fabric = new MemoryFabric({ runtime })
  const ranks = [0, 1, 2, 3, 4, 5]
  const map = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: 1 })) })
  const uri = (r: number): string => `memory://bench-rank-${r}`
  const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
  const services: ObjectService[] = []
  const carts: Cart[] = []
  for (const rank of ranks) {
    const cart = new Cart({ fabric, runtime, rank })
    for (const r of ranks) cart.primaryGroup.addRank(r, [uri(r)])
    const targets = await TargetSet.create(rank, [new MemoryBlockDevice({ name: `r${rank}`, blockSizeBytes: 4096, blockCount: 65536 })])
    services.push(await ObjectService.start({ listen: () => uri(rank), cart, targets, poolUuid, poolMap: map }))
    carts.push(cart)
  }
  const clientCart = new Cart({ fabric, runtime })
  clientCart.registerProtocol(objectProtocol)
  for (const r of ranks) clientCart.primaryGroup.addRank(r, [uri(r)])
  carts.push(clientCart)
  const context = await clientCart.createContext()
  const client = new ObjectClient({ context, runtime, poolUuid, containerUuid: '11111111-2222-4333-8444-555555555555', poolMap: map })
  const allocator = new ObjectIdAllocator()
  return {
    client,
    bare: () => context.call(protoQueryRpc, { rank: 0, tag: 0 }, { baseOpcode: objectProtocol.baseOpcode }),
    newOid: (oclass) => generateObjectId({ lo: allocator.allocate(), type: ObjectType.KV_HASHED, oclass: parseObjectClass(oclass), fit: poolMapFit(map) }),
    async close() {
      for (const s of services) s.stop()
      for (const c of carts) await c.close()
    },
  }
}

/** Adds the object I/O records to `report`. */
export async function benchObjectIo(report: BenchReport, durationMs: number): Promise<void> {
  // The codec alone: a 4+2 and a 2+1 stripe of 64 KiB cells, against crc32c over the same bytes.
  const cells = Array.from({ length: 4 }, (_, i) => new Uint8Array(65536).map((_, j) => (i * 31 + j * 7) & 0xff))
  const stripeMb = (4 * 65536) / 1e6
  const crc = measureSync(() => cells.forEach((c) => crc32c(c)), { minDurationMs: 500 })
  for (const p of [2, 1]) {
    const codec = ErasureCodec.of(p === 2 ? 4 : 2, p)
    const data = p === 2 ? cells : cells.slice(0, 2)
    const mb = (data.length * 65536) / 1e6
    const m = measureSync(() => codec.encode(data), { minDurationMs: 500 })
    report.add({ name: `EC encode ${data.length}+${p}, 64 KiB cells (data MB/s)`, unit: 'MB/s', value: m.operationsPerSecond * mb, reference: 'crc32c over the same 4 cells', referenceValue: crc.operationsPerSecond * stripeMb, higherIsBetter: true })
  }
  const codec42 = ErasureCodec.of(4, 2)
  const all = [...cells, ...codec42.encode(cells)]
  const lost = all.map((c, i) => (i === 0 || i === 2 ? undefined : c))
  const rebuild = measureSync(() => codec42.reconstruct(lost), { minDurationMs: 500 })
  report.add({ name: 'EC reconstruct 2 lost data cells of 4+2, 64 KiB cells (stripe MB/s)', unit: 'MB/s', value: rebuild.operationsPerSecond * stripeMb, reference: 'crc32c over the same 4 cells', referenceValue: crc.operationsPerSecond * stripeMb, higherIsBetter: true })

  const cluster = await startCluster(createRealRuntime())
  const { client, newOid } = cluster
  const bare = await measureAsync(cluster.bare, { minDurationMs: durationMs })
  const te = new TextEncoder()
  const akey = Uint8Array.of(0x30)
  const value = new Uint8Array(512).fill(7)
  for (const oclass of ['S1', 'RP_3G1', 'EC_2P1G1']) {
    const oid = newOid(oclass)
    let i = 0
    const put = await measureAsync(() => client.update(oid, te.encode(`k${i++ % 1000}`), [{ type: 'single', akey, value }]), { minDurationMs: durationMs })
    report.add({ name: `object update 512B single value ${oclass} (1 in flight)`, unit: 'ops/s', value: put.operationsPerSecond, reference: 'bare cart RPC round trip, same fabric', referenceValue: bare.operationsPerSecond, higherIsBetter: true })
    let j = 0
    const get = await measureAsync(() => client.fetch(oid, te.encode(`k${j++ % 1000}`), [{ type: 'single', akey }]), { minDurationMs: durationMs })
    report.add({ name: `object fetch 512B single value ${oclass} (1 in flight)`, unit: 'ops/s', value: get.operationsPerSecond, reference: 'bare cart RPC round trip, same fabric', referenceValue: bare.operationsPerSecond, higherIsBetter: true })
  }
  // Arrays of 256 KiB per update: EC_4P2G1 (full stripes: 4 x 64 KiB cells) against RP_3G1.
  const big = new Uint8Array(256 * 1024).map((_, i) => i & 0xff)
  const mbps = (opsPerSecond: number): number => (opsPerSecond * big.length) / 1e6
  const arrayMs = Math.min(durationMs, 600)
  const results = new Map<string, { write: number; read: number }>()
  for (const oclass of ['RP_3G1', 'EC_4P2G1']) {
    const oid = newOid(oclass)
    let w = 0
    const write = await measureAsync(() => client.update(oid, te.encode(`c${w++ % 8}`), [{ type: 'array', akey, recordSizeBytes: 1, extents: [{ index: 0, count: big.length, data: big }] }]), { minDurationMs: arrayMs })
    let r = 0
    const read = await measureAsync(() => client.fetch(oid, te.encode(`c${r++ % 8}`), [{ type: 'array', akey, extents: [{ index: 0, count: big.length }] }]), { minDurationMs: arrayMs })
    results.set(oclass, { write: mbps(write.operationsPerSecond), read: mbps(read.operationsPerSecond) })
  }
  const rp = results.get('RP_3G1')
  const ec = results.get('EC_4P2G1')
  if (rp !== undefined && ec !== undefined) {
    report.add({ name: 'array write 256KiB EC_4P2G1 (full stripes, 1 in flight)', unit: 'MB/s', value: ec.write, reference: 'same writes with RP_3G1', referenceValue: rp.write, higherIsBetter: true })
    report.add({ name: 'array read 256KiB EC_4P2G1 (gathered from 4 data shards)', unit: 'MB/s', value: ec.read, reference: 'same reads with RP_3G1', referenceValue: rp.read, higherIsBetter: true })
  }
  // The what-if: the same S1 fetch and RP_3G1 update with 0 ms timers as microtasks.
  const plain: Record<string, number> = {}
  for (const [label, oclass] of [
    ['fetch', 'S1'],
    ['update', 'RP_3G1'],
  ] as const) {
    const oid = newOid(oclass)
    let i = 0
    await client.update(oid, te.encode('k0'), [{ type: 'single', akey, value }])
    plain[label] = (await measureAsync(() => (label === 'fetch' ? client.fetch(oid, te.encode('k0'), [{ type: 'single', akey }]) : client.update(oid, te.encode(`k${i++ % 1000}`), [{ type: 'single', akey, value }])), { minDurationMs: durationMs })).operationsPerSecond
  }
  await cluster.close()
  const fast = await startCluster(zeroDelayAsMicrotasks(createRealRuntime()))
  for (const [label, oclass] of [
    ['fetch', 'S1'],
    ['update', 'RP_3G1'],
  ] as const) {
    const oid = fast.newOid(oclass)
    let i = 0
    await fast.client.update(oid, te.encode('k0'), [{ type: 'single', akey, value }])
    const m = await measureAsync(() => (label === 'fetch' ? fast.client.fetch(oid, te.encode('k0'), [{ type: 'single', akey }]) : fast.client.update(oid, te.encode(`k${i++ % 1000}`), [{ type: 'single', akey, value }])), { minDurationMs: durationMs })
    report.add({ name: `what-if: object ${label} 512B ${oclass}, 0 ms timers as microtasks`, unit: 'ops/s', value: m.operationsPerSecond, reference: 'same on the real runtime (setTimeout)', referenceValue: plain[label] ?? 0, higherIsBetter: true })
  }
  await fast.close()
}
