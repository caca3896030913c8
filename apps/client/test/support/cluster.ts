// An in-process cluster for the client tests: engines with memory-device targets on a
// MemoryFabric under a VirtualRuntime (the pattern of @x/engine's object tests), and a client
// PoolHandle on its own cart context.
import { Cart } from '@x/cart'
import { VirtualRuntime } from '@x/common'
import { ObjectService, TargetSet } from '@x/engine'
import { type PoolMap, buildPoolMap } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { PoolHandle, type RefreshPoolMap, clientObjectProtocol } from '../../src/index.ts'

export const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
export const contUuid = '11111111-2222-4333-8444-555555555555'

export interface TestEngine {
  readonly rank: number
  readonly cart: Cart
  readonly service: ObjectService
  alive: boolean
}

export interface TestCluster {
  readonly seed: number
  readonly runtime: VirtualRuntime
  readonly engines: TestEngine[]
  readonly cart: Cart
  map: PoolMap
  /** Runs the virtual clock until `promise` settles. */
  settle<T>(promise: Promise<T>, timeoutMs?: number): Promise<T>
  crash(rank: number): Promise<void>
  newPool(options?: { map?: PoolMap; refreshMap?: RefreshPoolMap }): Promise<PoolHandle>
  /** RPCs the client cart sent (counted at the fabric's client side). */
  sent(): number
}

export async function startCluster(options: { seed: number; ranks: number; targetsPerRank?: number; ecCellRecords?: number }): Promise<TestCluster> {
  const runtime = new VirtualRuntime({ seed: options.seed })
  const fabric = new MemoryFabric({ runtime })
  const perRank = options.targetsPerRank ?? 2
  const ranks = Array.from({ length: options.ranks }, (_, r) => r)
  const map = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: perRank })) })
  const uris = new Map(ranks.map((r) => [r, Array.from({ length: perRank }, (_, t) => `memory://rank-${r}-tag-${t}`)]))
  const settle = <T>(promise: Promise<T>, timeoutMs = 120_000): Promise<T> => runtime.settle(promise, timeoutMs)
  const engines: TestEngine[] = []
  for (const rank of ranks) {
    const cart = new Cart({ fabric, runtime, rank, defaultTimeoutMs: 2000 })
    for (const [r, u] of uris) cart.primaryGroup.addRank(r, u)
    const devices = Array.from({ length: perRank }, (_, t) => new MemoryBlockDevice({ name: `r${rank}t${t}`, blockSizeBytes: 4096, blockCount: 1024 }))
    const targets = await settle(TargetSet.create(rank, devices))
    const service = await settle(
      ObjectService.start({
        listen: (tag) => uris.get(rank)?.[tag] ?? `memory://rank-${rank}-tag-${tag}`,
        cart,
        targets,
        poolUuid,
        poolMap: map,
        commitIntervalMs: 50,
        replicaTimeoutMs: 500,
        ...(options.ecCellRecords === undefined ? {} : { ecCellRecords: options.ecCellRecords }),
      }),
    )
    engines.push({ rank, cart, service, alive: true })
  }
  const cart = new Cart({ fabric, runtime, defaultTimeoutMs: 2000 })
  cart.registerProtocol(clientObjectProtocol)
  for (const [r, u] of uris) cart.primaryGroup.addRank(r, u)
  const context = await settle(cart.createContext())
  let pools: PoolHandle[] = []
  const cluster: TestCluster = {
    seed: options.seed,
    runtime,
    engines,
    cart,
    map,
    settle,
    async crash(rank) {
      const e = engines[rank]
      if (e === undefined) throw new Error(`no rank ${rank}`)
      e.alive = false
      e.service.stop()
      await settle(e.cart.close())
    },
    newPool(o = {}) {
      const pool = new PoolHandle({
        context,
        runtime,
        poolUuid,
        poolMap: o.map ?? cluster.map,
        retry: { timeoutMs: 1000 },
        ...(o.refreshMap === undefined ? {} : { refreshMap: o.refreshMap }),
      })
      pools = [...pools, pool]
      return Promise.resolve(pool)
    },
    sent: () => pools.reduce((n, p) => n + p.stats.rpcs, 0),
  }
  return cluster
}

export const te = new TextEncoder()
export const td = new TextDecoder()
export const key = (s: string): Uint8Array => te.encode(s)
