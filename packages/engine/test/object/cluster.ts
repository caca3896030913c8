// An in-process cluster for the object I/O tests: engines with memory-device targets on a
// MemoryFabric under a VirtualRuntime, a pool map from @x/protocol, and an ObjectClient.
import { Cart } from '@x/cart'
import { VirtualRuntime } from '@x/common'
import { ObjectIdAllocator, ObjectType, type ObjectId, type PoolMap, buildPoolMap, generateObjectId, objectProtocol, parseObjectClass, poolMapFit } from '@x/protocol'
import { MemoryFabric } from '@x/rdma-transport'
import { FaultyBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import { ObjectClient, ObjectService } from '../../src/object/index.ts'
import { TargetSet } from '../../src/target/index.ts'

export const poolUuid = '0f0e0d0c-0b0a-4908-8706-050403020100'
export const contUuid = '11111111-2222-4333-8444-555555555555'

export interface TestEngine {
  readonly rank: number
  cart: Cart
  targets: TargetSet
  service: ObjectService
  /** The target devices (fault injection wrappers), by target index. */
  readonly devices: FaultyBlockDevice[]
  alive: boolean
}

export interface TestCluster {
  readonly seed: number
  readonly runtime: VirtualRuntime
  readonly fabric: MemoryFabric
  readonly engines: TestEngine[]
  readonly client: ObjectClient
  readonly clientCart: Cart
  map: PoolMap
  /** Runs the virtual clock until `promise` settles (or `timeoutMs` of virtual time pass). */
  settle<T>(promise: Promise<T>, timeoutMs?: number): Promise<T>
  /** Crashes an engine: closes its contexts and stops its background work. */
  crash(rank: number): Promise<void>
  /**
   * Crashes an engine hard: power cut on its devices (unflushed device writes lost or torn by
   * the seed), then closes its contexts and stops its background work.
   */
  powerCut(rank: number): Promise<void>
  /** Restarts a crashed engine from its devices' crash image (TargetSet.open: the VOS recovers from its WAL) with `map`. */
  restart(rank: number, map?: PoolMap): Promise<TestEngine>
  /** The cart addresses of an engine's targets. */
  uris(rank: number): string[]
  newOid(oclass: string): ObjectId
  newClient(map?: PoolMap): ObjectClient
}

const allocator = new ObjectIdAllocator()

export async function startCluster(options: {
  seed: number
  ranks: number
  targetsPerRank?: number
  commitIntervalMs?: number
  ecCellRecords?: number
  unsafeAcknowledgeBeforeReplicasDurable?: boolean
  refreshMap?: (wantedVersion: number) => Promise<PoolMap | undefined>
}): Promise<TestCluster> {
  const runtime = new VirtualRuntime({ seed: options.seed })
  const fabric = new MemoryFabric({ runtime })
  const perRank = options.targetsPerRank ?? 2
  const ranks = Array.from({ length: options.ranks }, (_, r) => r)
  const map = buildPoolMap({ ranks: ranks.map((rank) => ({ rank, host: `node${rank}`, targets: perRank })) })
  const uris = new Map(ranks.map((r) => [r, Array.from({ length: perRank }, (_, t) => `memory://rank-${r}-tag-${t}`)]))
  const settle = <T>(promise: Promise<T>, timeoutMs = 60_000): Promise<T> => runtime.settle(promise, timeoutMs)
  const engines: TestEngine[] = []
  const boot = async (rank: number, targets: TargetSet, devices: FaultyBlockDevice[], poolMap: PoolMap): Promise<TestEngine> => {
    const cart = new Cart({ fabric, runtime, rank, defaultTimeoutMs: 5000 })
    for (const [r, u] of uris) cart.primaryGroup.addRank(r, u)
    const service = await settle(
      ObjectService.start({
      listen: (tag) => uris.get(rank)?.[tag] ?? `memory://rank-${rank}-tag-${tag}`,
      cart,
      targets,
      poolUuid,
      poolMap,
      commitIntervalMs: options.commitIntervalMs ?? 50,
      replicaTimeoutMs: 1000,
      ...(options.ecCellRecords === undefined ? {} : { ecCellRecords: options.ecCellRecords }),
      ...(options.unsafeAcknowledgeBeforeReplicasDurable === undefined ? {} : { unsafeAcknowledgeBeforeReplicasDurable: options.unsafeAcknowledgeBeforeReplicasDurable }),
      ...(options.refreshMap === undefined ? {} : { refreshMap: options.refreshMap }),
      }),
    )
    return { rank, cart, targets, service, devices, alive: true }
  }
  for (const rank of ranks) {
    const devices = Array.from(
      { length: perRank },
      (_, t) => new FaultyBlockDevice({ inner: new MemoryBlockDevice({ name: `r${rank}t${t}`, blockSizeBytes: 4096, blockCount: 1024 }), seed: options.seed * 1000 + rank * 16 + t }),
    )
    const targets = await settle(TargetSet.create(rank, devices))
    engines.push(await boot(rank, targets, devices, map))
  }
  const clientCart = new Cart({ fabric, runtime, defaultTimeoutMs: 5000 })
  clientCart.registerProtocol(objectProtocol)
  for (const [r, u] of uris) clientCart.primaryGroup.addRank(r, u)
  const context = await settle(clientCart.createContext())
  const newClient = (m: PoolMap = map): ObjectClient => new ObjectClient({ context, runtime, poolUuid, containerUuid: contUuid, poolMap: m, timeoutMs: 3000 })
  const cluster: TestCluster = {
    seed: options.seed,
    runtime,
    fabric,
    engines,
    client: newClient(),
    clientCart,
    map,
    settle,
    async crash(rank) {
      const e = engines[rank]
      if (e === undefined) throw new Error(`no rank ${rank}`)
      e.alive = false
      e.service.stop()
      await settle(e.cart.close())
    },
    async powerCut(rank) {
      const e = engines[rank]
      if (e === undefined) throw new Error(`no rank ${rank}`)
      for (const d of e.devices) await settle(d.powerCut())
      await cluster.crash(rank)
    },
    async restart(rank, poolMap = cluster.map) {
      const e = engines[rank]
      if (e === undefined || e.alive) throw new Error(`rank ${rank} is not crashed`)
      for (const d of e.devices) await settle(d.powerOn())
      const targets = await settle(TargetSet.open(rank, e.devices))
      const fresh = await boot(rank, targets, e.devices, poolMap)
      engines[rank] = fresh
      return fresh
    },
    uris(rank) {
      return uris.get(rank) ?? []
    },
    newOid(oclass) {
      return generateObjectId({ lo: allocator.allocate(), type: ObjectType.KV_HASHED, oclass: parseObjectClass(oclass), fit: poolMapFit(map) })
    },
    newClient,
  }
  return cluster
}

export const te = new TextEncoder()
export const td = new TextDecoder()
export const key = (s: string): Uint8Array => te.encode(s)
