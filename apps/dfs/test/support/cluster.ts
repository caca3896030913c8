// An in-process cluster for the DFS tests (after apps/client/test/support/cluster.ts): engines
// with memory-device targets, each running the object service and the caps service, on a
// MemoryFabric under a VirtualRuntime; clients share one cart context.
import { Cart } from '@x/cart'
import { PoolHandle, clientObjectProtocol } from '@x/client'
import { type Runtime, VirtualRuntime, createRealRuntime } from '@x/common'
import { CapsService, ObjectService, TargetSet, capsProtocol } from '@x/engine'
import { type PoolMap, buildPoolMap } from '@x/protocol'
import { type Fabric, MemoryFabric, TcpFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { Dfs, type DfsMountOptions } from '../../src/index.ts'

export const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
export const contUuid = '11111111-2222-4333-8444-555555555555'

export interface TestCluster<R extends Runtime = VirtualRuntime> {
  readonly seed: number
  readonly runtime: R
  readonly caps: CapsService[]
  readonly map: PoolMap
  settle<T>(promise: Promise<T>, timeoutMs?: number): Promise<T>
  pool(): PoolHandle
  /** Mounts the test container (formatting it on first use). */
  mount(options?: Partial<DfsMountOptions> & { clientId?: string; capsMode?: 'caps' | 'exclusive' | 'none' }): Promise<Dfs>
  /** As {@link TestCluster.mount} without driving the clock (for code already inside a settle). */
  mountRaw(options?: Partial<DfsMountOptions> & { clientId?: string; capsMode?: 'caps' | 'exclusive' | 'none' }): Promise<Dfs>
  stop(): void
}

export const capsTimeouts = { sessionTimeoutMs: 8000, renewIntervalMs: 2000 }

export function startCluster(options: { seed: number; ranks?: number; blockCount?: number }): Promise<TestCluster> {
  const runtime = new VirtualRuntime({ seed: options.seed })
  return buildCluster(runtime, new MemoryFabric({ runtime }), () => 'memory', options, <T>(promise: Promise<T>, timeoutMs = 600_000): Promise<T> => runtime.settle(promise, timeoutMs))
}

/**
 * The same cluster on the real clock and TCP on loopback (FUSE tests and benches: the kernel calls
 * in at real time; the memory fabric's zero-delay timers cost a millisecond each on the real clock).
 */
export function startRealCluster(options: { seed: number; ranks?: number; blockCount?: number }): Promise<TestCluster<Runtime>> {
  const runtime = createRealRuntime({ seed: options.seed })
  const base = 20_000 + runtime.random.int(30_000)
  let next = 0
  return buildCluster(runtime, new TcpFabric({ runtime, host: '127.0.0.1' }), () => `tcp://127.0.0.1:${base + next++}`, options, <T>(promise: Promise<T>): Promise<T> => promise)
}

async function buildCluster<R extends Runtime>(
  runtime: R,
  fabric: Fabric,
  uri: (rank: number, tag: number) => string,
  options: { seed: number; ranks?: number; blockCount?: number },
  settle: <T>(promise: Promise<T>, timeoutMs?: number) => Promise<T>,
): Promise<TestCluster<R>> {
  const perRank = 1
  const ranks = Array.from({ length: options.ranks ?? 2 }, (_, r) => r)
  const map = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: perRank })) })
  const uris = new Map(ranks.map((r) => [r, Array.from({ length: perRank }, (_, t) => { const u = uri(r, t); return u === 'memory' ? `memory://rank-${r}-tag-${t}` : u })]))
  const caps: CapsService[] = []
  const services: ObjectService[] = []
  for (const rank of ranks) {
    const cart = new Cart({ fabric, runtime, rank, defaultTimeoutMs: 5000 })
    for (const [r, u] of uris) cart.primaryGroup.addRank(r, u)
    const devices = Array.from({ length: perRank }, (_, t) => new MemoryBlockDevice({ name: `r${rank}t${t}`, blockSizeBytes: 4096, blockCount: options.blockCount ?? 16384 }))
    const targets = await settle(TargetSet.create(rank, devices))
    caps.push(new CapsService({ cart, rank, authority: { sessionTimeoutMs: capsTimeouts.sessionTimeoutMs, revokeEvictionTimeoutMs: 4000, revokeWarningMs: 2000 }, firstOid: 1n << 20n }))
    services.push(
      await settle(
        ObjectService.start({
          listen: (tag) => uris.get(rank)?.[tag] ?? `memory://rank-${rank}-tag-${tag}`,
          cart,
          targets,
          poolUuid,
          poolMap: map,
          commitIntervalMs: 50,
          replicaTimeoutMs: 500,
        }),
      ),
    )
  }
  const cart = new Cart({ fabric, runtime, defaultTimeoutMs: 5000 })
  cart.registerProtocol(clientObjectProtocol)
  cart.registerProtocol(capsProtocol)
  for (const [r, u] of uris) cart.primaryGroup.addRank(r, u)
  const context = await settle(cart.createContext())
  let clients = 0
  const pool = (): PoolHandle => new PoolHandle({ context, runtime, poolUuid, poolMap: map, retry: { timeoutMs: 5000 } })
  type MountOptions = Partial<DfsMountOptions> & { clientId?: string; capsMode?: 'caps' | 'exclusive' | 'none' }
  const mountRaw = (o: MountOptions = {}): Promise<Dfs> => {
    const mode = o.capsMode ?? 'caps'
    const clientId = o.clientId ?? `client-${++clients}`
    const caching = mode === 'caps' ? { mode, context, clientId, ...capsTimeouts, pollWaitMs: 2000 } : { mode }
    return Dfs.mount(pool(), contUuid, { runtime, create: true, caching, chunkSizeBytes: 64 * 1024, ...o })
  }
  return {
    seed: options.seed,
    runtime,
    caps,
    map,
    settle,
    pool,
    mount: (o = {}) => settle(mountRaw(o)),
    mountRaw,
    stop() {
      for (const c of caps) c.stop()
      for (const s of services) s.stop()
    },
  }
}

export const te = new TextEncoder()
export const td = new TextDecoder()
