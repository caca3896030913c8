/**
 * The simulated cluster: N engines (one target each, a `@x/vos` VOS on a blobstore over a
 * `FaultyBlockDevice` wrapping a `MemoryBlockDevice`; an `ObjectService` on `@x/cart`) and M
 * clients (an `ObjectClient` each), all on one {@link SimFabric} and one `VirtualRuntime`.
 *
 * A crash kills an engine's endpoints (peers see resets), cuts its devices' power (unflushed
 * writes are lost or torn by seeded draws) and drops its in-memory state; a restart wraps the same
 * media in a fresh device, reopens the targets (the VOS recovers from its WAL) and starts a new
 * object service.
 *
 * @module
 */
import { Cart, type Context } from '@x/cart'
import { DerError, Random, type Runtime, type VirtualRuntime } from '@x/common'
import { ObjectClient, ObjectService, TargetSet } from '@x/engine'
import { type ObjectId, ObjectType, type PoolMap, buildPoolMap, generateObjectId, objectProtocol, parseObjectClass, poolMapFit } from '@x/protocol'
import { FaultyBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import { type SkewedClock, skewedRuntime } from './clock.ts'
import type { SimConfig } from './config.ts'
import { SimFabric } from './fabric.ts'
import { SimManagementGroup } from './mgmt.ts'

/** The pool every simulated engine serves. */
export const simPoolUuid = '5e5e5e5e-0000-4000-8000-000000000001'
/** The container the KV workload writes. */
export const simContainerUuid = '5e5e5e5e-0000-4000-8000-000000000002'

/** One simulated engine. */
export interface SimEngine {
  readonly rank: number
  /** The engine's runtime: shared timers, its own skewed wall clock. */
  readonly runtime: Runtime
  readonly clock: SkewedClock
  /** The media, kept across crashes. */
  readonly media: MemoryBlockDevice
  /** The current fault-injecting device over the media (replaced at each restart). */
  device: FaultyBlockDevice
  cart: Cart
  targets: TargetSet
  service: ObjectService
  alive: boolean
  /** Restarts so far. */
  incarnation: number
}

/** One simulated client. */
export interface SimClient {
  readonly index: number
  readonly address: string
  readonly cart: Cart
  readonly context: Context
  readonly object: ObjectClient
}

/** The fabric address of engine `rank`'s target 0. */
export function engineAddress(rank: number): string {
  return `memory://rank-${rank}-tag-0`
}

/** The fabric address of client `index`. */
export function clientAddress(index: number): string {
  return `memory://client-${index}`
}

const blockSizeBytes = 4096
const blockCount = 1024

/** The simulated cluster (see the module comment). */
export class SimCluster {
  readonly runtime: VirtualRuntime
  readonly fabric: SimFabric
  readonly map: PoolMap
  readonly engines: SimEngine[] = []
  readonly clients: SimClient[] = []
  /** Objects of the KV workload, one per key. */
  readonly objects: ObjectId[] = []
  /** The management service's Raft group, on the first three engines. */
  mgmt: SimManagementGroup | undefined
  /** Crashes and restarts done. */
  crashes = 0
  restarts = 0

  private constructor(
    readonly config: SimConfig,
    runtime: VirtualRuntime,
  ) {
    this.runtime = runtime
    this.fabric = new SimFabric({ runtime, latencyMs: 1 })
    this.map = buildPoolMap({ ranks: Array.from({ length: config.engines }, (_, rank) => ({ rank, host: `node${rank}`, targets: 1 })) })
  }

  /** Builds and starts the cluster of `config`. */
  static async start(config: SimConfig, runtime: VirtualRuntime): Promise<SimCluster> {
    const c = new SimCluster(config, runtime)
    for (let rank = 0; rank < config.engines; rank++) await c.startEngine(rank)
    for (let i = 0; i < config.clients + 1; i++) await c.startClient(i)
    const oclass = parseObjectClass(config.objectClass)
    for (let k = 0; k < config.keys; k++) {
      c.objects.push(generateObjectId({ lo: BigInt(k + 1), type: ObjectType.KV_HASHED, oclass, fit: poolMapFit(c.map) }))
    }
    c.mgmt = new SimManagementGroup(runtime, c.fabric, new Random(`sim-${config.seed}-mgmt`), Array.from({ length: Math.min(3, config.engines) }, (_, r) => r))
    return c
  }

  private settle<T>(promise: Promise<T>): Promise<T> {
    return this.runtime.settle(promise, 60_000)
  }

  private newCart(runtime: Runtime, rank: number | undefined): Cart {
    const cart = new Cart({ fabric: this.fabric, runtime, ...(rank === undefined ? {} : { rank }), defaultTimeoutMs: 1_000 })
    for (let r = 0; r < this.config.engines; r++) cart.primaryGroup.addRank(r, [engineAddress(r)])
    return cart
  }

  private async startEngine(rank: number): Promise<void> {
    const { runtime, clock } = skewedRuntime(this.runtime, this.runtime.random.fork())
    const media = new MemoryBlockDevice({ name: `r${rank}`, blockSizeBytes, blockCount })
    const device = this.wrap(media, rank, 0)
    const targets = await this.settle(TargetSet.create(rank, [device]))
    const cart = this.newCart(runtime, rank)
    const service = await this.settle(this.startService(cart, targets))
    this.engines.push({ rank, runtime, clock, media, device, cart, targets, service, alive: true, incarnation: 0 })
  }

  private wrap(media: MemoryBlockDevice, rank: number, incarnation: number): FaultyBlockDevice {
    return new FaultyBlockDevice({ inner: media, seed: `sim-${this.config.seed}-disk-${rank}-${incarnation}`, runtime: this.runtime, closeInner: false })
  }

  private async startService(cart: Cart, targets: TargetSet): Promise<ObjectService> {
    const service = await ObjectService.start({
      listen: () => engineAddress(targets.rank),
      cart,
      targets,
      poolUuid: simPoolUuid,
      poolMap: this.map,
      commitIntervalMs: 50,
      replicaTimeoutMs: 800,
      // The mutation check: the engine's test-only switch acknowledges an update after the
      // leader's local write and replicates it later.
      ...(this.config.mutation === 'ack-before-replicated' ? { unsafeAcknowledgeBeforeReplicasDurable: true } : {}),
    })
    return service
  }

  private async startClient(index: number): Promise<void> {
    const cart = this.newCart(this.runtime, undefined)
    cart.registerProtocol(objectProtocol)
    const address = clientAddress(index)
    const context = await this.settle(cart.createContext({ listen: address }))
    const object = new ObjectClient({ context, runtime: this.runtime, poolUuid: simPoolUuid, containerUuid: simContainerUuid, poolMap: this.map, timeoutMs: this.config.clientTimeoutMs })
    this.clients.push({ index, address, cart, context, object })
  }

  /** Engine `rank`, or `DER_NONEXIST`. */
  engine(rank: number): SimEngine {
    const e = this.engines[rank]
    if (e === undefined) throw new DerError('DER_NONEXIST', `no engine ${rank}`)
    return e
  }

  /**
   * Crashes engine `rank`: its endpoint vanishes (peers see resets), its background work stops,
   * and its device loses power (unflushed writes lost or torn).
   */
  async crash(rank: number): Promise<void> {
    const e = this.engine(rank)
    if (!e.alive) return
    e.alive = false
    this.crashes++
    this.fabric.crash(engineAddress(rank))
    e.service.stop()
    this.mgmt?.crash(rank)
    await e.device.powerCut()
  }

  /** Restarts a crashed engine on its media: fresh device wrapper, targets reopened from the WAL. */
  async restart(rank: number): Promise<void> {
    const e = this.engine(rank)
    if (e.alive) return
    e.incarnation++
    e.device = this.wrap(e.media, rank, e.incarnation)
    e.targets = await TargetSet.open(rank, [e.device])
    e.cart = this.newCart(e.runtime, rank)
    e.service = await this.startService(e.cart, e.targets)
    e.alive = true
    this.mgmt?.restart(rank)
    this.restarts++
  }
}
