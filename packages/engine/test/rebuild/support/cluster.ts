// An in-process cluster for the rebuild tests (after test/object/cluster.ts): engines with
// memory-device targets on a MemoryFabric under a VirtualRuntime, each with an ObjectService and
// a RebuildService, a pool map from @x/protocol, crash and restart of engines, and clients.
import { Cart } from '@x/cart'
import { VirtualRuntime } from '@x/common'
import { ObjectIdAllocator, ObjectType, type ObjectId, type PoolMap, buildPoolMap, generateObjectId, objectProtocol, parseObjectClass, poolMapFit } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { ObjectClient, ObjectService } from '../../../src/object/index.ts'
import { RebuildService, type RebuildStats } from '../../../src/rebuild/index.ts'
import { TargetSet } from '../../../src/target/index.ts'

export const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
export const contUuid = '11111111-2222-4333-8444-555555555555'

export interface RebuildEngine {
  readonly rank: number
  cart: Cart
  targets: TargetSet
  service: ObjectService
  rebuild: RebuildService
  readonly devices: MemoryBlockDevice[]
  alive: boolean
}

export interface RebuildCluster {
  readonly seed: number
  readonly runtime: VirtualRuntime
  readonly fabric: MemoryFabric
  readonly engines: RebuildEngine[]
  /** The map the cluster started with. */
  readonly initialMap: PoolMap
  settle<T>(promise: Promise<T>, timeoutMs?: number): Promise<T>
  /** Crashes an engine: closes its cart, stops its services (its devices keep their data). */
  crash(rank: number): Promise<void>
  /** Restarts a crashed engine from its devices (the VOS recovers from its WAL) with `map`. */
  restart(rank: number, map: PoolMap): Promise<void>
  /** Installs `map` on every live engine's object service. */
  setMap(map: PoolMap): void
  /** Runs a rebuild from `fromMap` to `toMap` on every live engine; returns each engine's stats. */
  rebuildAll(fromMap: PoolMap, toMap: PoolMap): Promise<Map<number, RebuildStats>>
  newOid(oclass: string): ObjectId
  newClient(map: PoolMap): ObjectClient
}

export async function startRebuildCluster(options: { seed: number; ranks: number; targetsPerRank?: number; commitIntervalMs?: number; ecCellRecords?: number; maxPushBytes?: number }): Promise<RebuildCluster> {
  const allocator = new ObjectIdAllocator()
  const runtime = new VirtualRuntime({ seed: options.seed })
  const fabric = new MemoryFabric({ runtime })
  const perRank = options.targetsPerRank ?? 2
  const ranks = Array.from({ length: options.ranks }, (_, r) => r)
  const initialMap = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: perRank })) })
  const uri = (rank: number, tag: number): string => `memory://rank-${rank}-tag-${tag}`
  const uris = (rank: number): string[] => Array.from({ length: perRank }, (_, t) => uri(rank, t))
  const settle = <T>(promise: Promise<T>, timeoutMs = 120_000): Promise<T> => runtime.settle(promise, timeoutMs)

  const boot = async (rank: number, targets: TargetSet, map: PoolMap, devices: MemoryBlockDevice[]): Promise<RebuildEngine> => {
    const cart = new Cart({ fabric, runtime, rank, defaultTimeoutMs: 5000 })
    for (const r of ranks) cart.primaryGroup.addRank(r, uris(r))
    const service = await settle(
      ObjectService.start({ listen: (tag) => uri(rank, tag), cart, targets, poolUuid, poolMap: map, commitIntervalMs: options.commitIntervalMs ?? 50, replicaTimeoutMs: 1000, ecCellRecords: options.ecCellRecords ?? 4 }),
    )
    const rebuild = new RebuildService({ cart, runtime, rank, poolUuid, targets, pushTimeoutMs: 2000, ecCellRecords: options.ecCellRecords ?? 4, ...(options.maxPushBytes === undefined ? {} : { maxPushBytes: options.maxPushBytes }) })
    return { rank, cart, targets, service, rebuild, devices, alive: true }
  }

  const engines: RebuildEngine[] = []
  for (const rank of ranks) {
    const devices = Array.from({ length: perRank }, (_, t) => new MemoryBlockDevice({ name: `r${rank}t${t}`, blockSizeBytes: 4096, blockCount: 1024 }))
    const targets = await settle(TargetSet.create(rank, devices))
    engines.push(await boot(rank, targets, initialMap, devices))
  }
  const clientCart = new Cart({ fabric, runtime, defaultTimeoutMs: 5000 })
  clientCart.registerProtocol(objectProtocol)
  for (const r of ranks) clientCart.primaryGroup.addRank(r, uris(r))
  const context = await settle(clientCart.createContext())
  const engine = (rank: number): RebuildEngine => {
    const e = engines[rank]
    if (e === undefined) throw new Error(`no rank ${rank}`)
    return e
  }
  return {
    seed: options.seed,
    runtime,
    fabric,
    engines,
    initialMap,
    settle,
    async crash(rank) {
      const e = engine(rank)
      e.alive = false
      e.service.stop()
      e.rebuild.stop()
      await settle(e.cart.close())
    },
    async restart(rank, map) {
      const e = engine(rank)
      if (e.alive) throw new Error(`rank ${rank} is running`)
      // The VOS made every acknowledged write durable in its WAL; close and reopen from the devices.
      await settle(e.targets.close())
      const targets = await settle(TargetSet.open(rank, e.devices))
      const fresh = await boot(rank, targets, map, e.devices)
      engines[rank] = fresh
    },
    setMap(map) {
      for (const e of engines) if (e.alive) e.service.setPoolMap(map)
    },
    async rebuildAll(fromMap, toMap) {
      const live = engines.filter((e) => e.alive)
      const results = await settle(Promise.all(live.map((e) => e.rebuild.rebuild({ fromMap, toMap }))))
      return new Map(live.map((e, i) => [e.rank, results[i] as RebuildStats]))
    },
    newOid(oclass) {
      return generateObjectId({ lo: allocator.allocate(), type: ObjectType.KV_HASHED, oclass: parseObjectClass(oclass), fit: poolMapFit(initialMap) })
    },
    newClient(map) {
      return new ObjectClient({ context, runtime, poolUuid, containerUuid: contUuid, poolMap: map, timeoutMs: 3000 })
    },
  }
}

export const te = new TextEncoder()
export const td = new TextDecoder()
export const key = (s: string): Uint8Array => te.encode(s)
