/**
 * {@link startTestSystem}: N {@link SystemNode}s in one process on a `MemoryFabric` under a
 * `VirtualRuntime`, with memory-device targets behind fault-injecting wrappers and Raft logs on
 * {@link DurableMemoryStorage}; crash and restart engines; create pools and containers; get an
 * object client of a container.
 *
 * @module
 */
import { Cart } from '@x/cart'
import { DerError, type Logger, type Runtime, VirtualRuntime } from '@x/common'
import { type ObjectId, type PoolMap, decodePoolMap, objectProtocol, parseObjectId } from '@x/protocol'
import { type Fabric, MemoryFabric } from '@x/rdma-transport'
import { FaultyBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import { ObjectClient } from '../object/index.ts'
import {
  type AccessPoint,
  type ContainerCreateRequest,
  type ContainerCreateResponse,
  type PoolConnectResponse,
  type PoolCreateRequest,
  type PoolCreateResponse,
  type RaftStorageFactory,
  type RebuildFactory,
  SystemNode,
  type SystemNodeOptions,
  type SystemTiming,
} from '../system/index.ts'
import { TargetSet } from '../target/index.ts'
import { DurableMemoryStorage } from './durable-memory-storage.ts'

/** Options of {@link startTestSystem}. */
export interface TestSystemOptions {
  /** Seeds the virtual runtime, device faults and identities; print it in failure messages. */
  readonly seed: number
  /** Number of engines (default 3). */
  readonly engines?: number
  /** Targets per engine (default 2). */
  readonly targetsPerEngine?: number
  /** How many of the first engines are access points (default min(3, engines)). */
  readonly accessPoints?: number
  /** Default: a new `VirtualRuntime` of `seed`. Anything else must be driven by the caller. */
  readonly runtime?: Runtime
  /** Default: a new `MemoryFabric` on the runtime. */
  readonly fabric?: Fabric
  /** Blocks of 4 KiB per target device (default 2048: 8 MiB). */
  readonly blocksPerTarget?: number
  /** Node timings (defaults: {@link defaultTestTiming}). */
  readonly timing?: Partial<SystemTiming>
  /** SWIM options for every node (default: the `local` profile); `false` turns SWIM off. */
  readonly membership?: SystemNodeOptions['membership']
  /** The rebuild factory of every node (default: `RebuildService`); `false`: no rebuild. */
  readonly rebuild?: RebuildFactory | false
  /** Logger of every node (default: silent). */
  readonly logger?: Logger
  /** Fault domains: engine index -> `/host` (default `/node<i>`, one per engine). */
  readonly faultDomain?: (engine: number) => string
}

/** Timings of test nodes: the defaults with shorter pulls and request timeouts. */
export const defaultTestTiming: Partial<SystemTiming> = { rpcTimeoutMs: 2_000, longRpcTimeoutMs: 20_000, memberSyncMs: 500, mapPullMs: 1_000, joinTimeoutMs: 30_000 }

/** One engine of a test system. */
export interface TestEngine {
  /** Index in the system (0-based; stable across restarts). */
  readonly index: number
  /** The running node (undefined while crashed or stopped). */
  node: SystemNode | undefined
  /** Its rank (known after the first join; kept across restarts). */
  rank: number | undefined
  /** The fault-injecting target devices, by target index. */
  readonly devices: readonly FaultyBlockDevice[]
  /** Raft logs by group name. */
  readonly storages: Map<string, DurableMemoryStorage>
  /** The incarnation of the current (or last) start. */
  incarnation: number
  /** The engine's URI for context `tag`. */
  uri(tag: number): string
}

/** A client's view of one container: an object client on its own cart, and the container's KV object id. */
export interface TestContainerClient {
  readonly connect: PoolConnectResponse
  readonly map: PoolMap
  readonly containerUuid: string
  /** The container's KV object (allocated at container create). */
  readonly kvOid: ObjectId
  readonly objects: ObjectClient
  readonly cart: Cart
  /** Closes the client cart. */
  close(): Promise<void>
}

/** An in-process system (see {@link startTestSystem}). */
export interface TestSystem {
  readonly seed: number
  readonly runtime: Runtime
  readonly fabric: Fabric
  readonly engines: readonly TestEngine[]
  readonly accessPoints: readonly AccessPoint[]
  /** Runs the virtual clock until `promise` settles (a `DER_TIMEDOUT` after `timeoutMs` of virtual time). */
  settle<T>(promise: Promise<T>, timeoutMs?: number): Promise<T>
  /** Runs the virtual clock until `predicate` holds; false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<boolean>
  /** The running node of `rank`. */
  node(rank: number): SystemNode
  /** Any running node (the lowest rank). */
  anyNode(): SystemNode
  /** The engine that has (or had) `rank`. */
  engineOf(rank: number): TestEngine
  /** The running node whose MS replica leads (undefined when none does). */
  msLeader(): SystemNode | undefined
  /** Running ranks. */
  liveRanks(): number[]
  /** Crashes `rank`: nothing flushed, unsynced Raft writes and device cache lost (power cut). */
  crash(rank: number): Promise<void>
  /** Stops `rank` cleanly (commits flushed, targets closed). */
  stop(rank: number): Promise<void>
  /** Restarts a crashed or stopped `rank` with incarnation + 1 and waits for its join (the MS needs a quorum up). */
  restart(rank: number): Promise<SystemNode>
  /** Restarts every crashed or stopped engine concurrently (their joins need each other when the MS is down). */
  restartAll(): Promise<SystemNode[]>
  /** Creates a pool through `via` (default: any node). */
  createPool(request: PoolCreateRequest, via?: number): Promise<PoolCreateResponse>
  /** Creates a container through `via` (default: any node). */
  createContainer(request: ContainerCreateRequest, via?: number): Promise<ContainerCreateResponse>
  /** Connects to a pool and opens an object client on a container. */
  client(pool: string, container: string, via?: number): Promise<TestContainerClient>
  /** Cuts the fabric between every context of the ranks in `a` and those in `b` (a `MemoryFabric` only). */
  partition(a: readonly number[], b: readonly number[]): void
  /** Heals every partition. */
  heal(): void
  /** Stops every running node. */
  stopAll(): Promise<void>
}

function identityUuid(seed: number, index: number): string {
  const hex = (n: number, width: number): string => (n >>> 0).toString(16).padStart(width, '0').slice(-width)
  return `${hex(seed, 8)}-${hex(index, 4)}-4000-8000-${hex(index * 7919 + 1, 12)}`
}

/**
 * Starts `engines` system nodes (the first `accessPoints` of them run the management service)
 * on a `MemoryFabric` under a `VirtualRuntime`, and waits until all joined.
 *
 * @example
 * ```ts
 * import { startTestSystem } from '@x/engine/testing'
 *
 * const sys = await startTestSystem({ seed: 7, engines: 3 })
 * const { pool } = await sys.createPool({ label: 'tank', sizeBytes: 1 << 20 })
 * await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
 * const c = await sys.client('tank', 'c1')
 * await sys.settle(c.objects.update(c.kvOid, new TextEncoder().encode('k'), [{ akey: new TextEncoder().encode('a'), value: new Uint8Array([1]) }]))
 * await sys.crash(sys.msLeader()!.rank)  // the two others elect a new MS leader
 * await sys.restart(...)                 // rejoins with incarnation + 1
 * await sys.stopAll()
 * ```
 */
export async function startTestSystem(options: TestSystemOptions): Promise<TestSystem> {
  const seed = options.seed
  const runtime = options.runtime ?? new VirtualRuntime({ seed })
  const fabric = options.fabric ?? new MemoryFabric({ runtime })
  const engineCount = options.engines ?? 3
  const perEngine = options.targetsPerEngine ?? 2
  const apCount = options.accessPoints ?? Math.min(3, engineCount)
  if (!Number.isInteger(engineCount) || engineCount < 1) throw new DerError('DER_INVAL', `engines must be >= 1, got ${engineCount}`)
  if (!Number.isInteger(apCount) || apCount < 1 || apCount > engineCount) throw new DerError('DER_INVAL', `accessPoints must be 1..${engineCount}, got ${apCount}`)
  const blocks = options.blocksPerTarget ?? 2048
  const timing = { ...defaultTestTiming, ...options.timing }
  const membership = options.membership ?? { profile: 'local' as const }
  const faultDomain = options.faultDomain ?? ((i: number) => `/node${i}`)
  const virtual = runtime instanceof VirtualRuntime ? runtime : undefined
  const settle = <T>(promise: Promise<T>, timeoutMs = 120_000): Promise<T> => (virtual === undefined ? promise : virtual.settle(promise, timeoutMs))
  const waitFor = async (predicate: () => boolean, timeoutMs = 60_000): Promise<boolean> => {
    if (virtual !== undefined) return virtual.runUntil(predicate, timeoutMs)
    const until = runtime.clock.monotonicMs() + timeoutMs
    while (!predicate()) {
      if (runtime.clock.monotonicMs() > until) return false
      await runtime.timers.sleep(10)
    }
    return true
  }
  const uriOf = (index: number, tag: number): string => `memory://engine-${index}-tag-${tag}`
  const accessPoints: AccessPoint[] = Array.from({ length: apCount }, (_, i) => ({ msId: i + 1, uri: uriOf(i, 0) }))
  const engines: TestEngine[] = Array.from({ length: engineCount }, (_, index) => ({
    index,
    node: undefined,
    rank: undefined,
    devices: Array.from(
      { length: perEngine },
      (_, t) => new FaultyBlockDevice({ inner: new MemoryBlockDevice({ name: `e${index}t${t}`, blockSizeBytes: 4096, blockCount: blocks }), seed: seed * 1000 + index * 16 + t }),
    ),
    storages: new Map(),
    incarnation: 0,
    uri: (tag: number) => uriOf(index, tag),
  }))
  const storageOf = (engine: TestEngine): RaftStorageFactory => ({
    open: (group, voters) => {
      let s = engine.storages.get(group)
      if (s === undefined) {
        s = DurableMemoryStorage.withVoters(voters)
        engine.storages.set(group, s)
      }
      return s
    },
    remove: (group) => {
      engine.storages.delete(group)
    },
  })
  const formatted = new Set<number>()
  const boot = async (engine: TestEngine): Promise<SystemNode> => {
    engine.incarnation++
    const targets = formatted.has(engine.index) ? await TargetSet.open(engine.rank ?? 0, engine.devices) : await TargetSet.create(engine.rank ?? 0, engine.devices)
    formatted.add(engine.index)
    const ap = accessPoints.find((a) => a.uri === engine.uri(0))
    const node = await SystemNode.start({
      runtime,
      fabric,
      listen: (tag) => engine.uri(tag),
      targets,
      storage: storageOf(engine),
      identity: { uuid: identityUuid(seed, engine.index), incarnation: engine.incarnation },
      faultDomain: faultDomain(engine.index),
      controlAddress: `127.0.0.1:${10001 + engine.index}`,
      accessPoints,
      ...(ap === undefined ? {} : { msId: ap.msId }),
      timing,
      membership,
      objectService: { commitIntervalMs: 50, replicaTimeoutMs: 1_000 },
      ...(options.rebuild === undefined ? {} : { rebuild: options.rebuild }),
      ...(options.logger === undefined ? {} : { logger: options.logger.child({ engine: engine.index }) }),
    })
    engine.node = node
    engine.rank = node.rank
    nodeTargets.set(node, targets)
    return node
  }
  const nodeTargets = new Map<SystemNode, TargetSet>()
  await settle(Promise.all(engines.map((e) => boot(e))))

  const engineOf = (rank: number): TestEngine => {
    const e = engines.find((x) => x.rank === rank)
    if (e === undefined) throw new DerError('DER_NONEXIST', `seed ${seed}: no engine has rank ${rank}`)
    return e
  }
  const node = (rank: number): SystemNode => {
    const n = engineOf(rank).node
    if (n === undefined) throw new DerError('DER_UNREACH', `seed ${seed}: rank ${rank} is down`)
    return n
  }
  const live = (): TestEngine[] => engines.filter((e) => e.node !== undefined).sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0))
  const down = async (rank: number, crash: boolean): Promise<void> => {
    const engine = engineOf(rank)
    const n = engine.node
    if (n === undefined) return
    engine.node = undefined
    const targets = nodeTargets.get(n)
    nodeTargets.delete(n)
    // A crash drops the engine's endpoints at once (peers see their connections reset), like a kill -9.
    if (crash && fabric instanceof MemoryFabric) for (let tag = 0; tag < perEngine; tag++) fabric.crash(engine.uri(tag))
    await settle(n.stop({ crash }))
    if (crash) {
      for (const d of engine.devices) await settle(d.powerCut())
      for (const [group, s] of engine.storages) engine.storages.set(group, s.reopen())
      for (const d of engine.devices) await settle(d.powerOn())
    } else {
      if (targets !== undefined) await settle(targets.close())
      for (const [group, s] of engine.storages) engine.storages.set(group, s.reopen())
    }
  }
  const sys: TestSystem = {
    seed,
    runtime,
    fabric,
    engines,
    accessPoints,
    settle,
    waitFor,
    node,
    anyNode: () => {
      const e = live()[0]
      if (e?.node === undefined) throw new DerError('DER_UNREACH', `seed ${seed}: no engine is running`)
      return e.node
    },
    engineOf,
    msLeader: () => live().find((e) => e.node?.isMsLeader === true)?.node,
    liveRanks: () => live().map((e) => e.rank ?? -1),
    crash: (rank) => down(rank, true),
    stop: (rank) => down(rank, false),
    restart: async (rank) => {
      const engine = engineOf(rank)
      if (engine.node !== undefined) throw new DerError('DER_BUSY', `seed ${seed}: rank ${rank} is running`)
      return settle(boot(engine))
    },
    restartAll: () => settle(Promise.all(engines.filter((e) => e.node === undefined).map((e) => boot(e)))),
    createPool: (request, via) => settle((via === undefined ? sys.anyNode() : node(via)).poolCreate(request)),
    createContainer: (request, via) => settle((via === undefined ? sys.anyNode() : node(via)).containerCreate(request)),
    client: async (pool, container, via) => {
      const n = via === undefined ? sys.anyNode() : node(via)
      const connect = await settle(n.poolConnect({ id: pool }))
      const query = await settle(n.containerQuery({ pool, cont: container }))
      const map = decodePoolMap(connect.poolMap)
      const cart = new Cart({ fabric, runtime, defaultTimeoutMs: 5_000 })
      cart.registerProtocol(objectProtocol)
      for (const r of connect.ranks) if (r.uris.length > 0) cart.primaryGroup.addRank(r.rank, r.uris)
      const context = await settle(cart.createContext())
      const objects = new ObjectClient({ context, runtime, poolUuid: connect.uuid, containerUuid: query.container.uuid, poolMap: map, poolHandle: connect.handle, timeoutMs: 3_000 })
      return { connect, map, containerUuid: query.container.uuid, kvOid: parseObjectId(query.kvOid), objects, cart, close: () => settle(cart.close()) }
    },
    partition: (a, b) => {
      if (!(fabric instanceof MemoryFabric)) throw new DerError('DER_NOSYS', 'partition needs a MemoryFabric')
      for (const ra of a) {
        for (const rb of b) {
          for (let ta = 0; ta < perEngine; ta++) for (let tb = 0; tb < perEngine; tb++) fabric.partition(engineOf(ra).uri(ta), engineOf(rb).uri(tb))
        }
      }
    },
    heal: () => {
      if (fabric instanceof MemoryFabric) fabric.heal()
    },
    stopAll: async () => {
      for (const e of live()) if (e.rank !== undefined) await down(e.rank, false)
    },
  }
  return sys
}
