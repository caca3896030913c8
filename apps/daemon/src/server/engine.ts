/**
 * One engine of the daemon: its targets on the configured devices, a single-replica management
 * service that records the local rank as joined, and per pool a pool service, a pool map and an
 * object service and a caps authority (`CapsService`, for POSIX containers) on cart over TCP.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Cart } from '@x/cart'
import { DerError, HybridLogicalClock, type Logger, type Runtime } from '@x/common'
import {
  CapsService,
  ManagementMachine,
  ObjectService,
  type PoolRecord,
  PoolServiceMachine,
  ReplicatedService,
  type ServiceMachine,
  type TargetSet,
  checkLabel,
  decodeJoinResult,
  encodeMgmtCommand,
  encodePoolCommand,
} from '@x/engine'
import {
  ObjectType,
  type PoolMapOperation,
  applyPoolMapOperation,
  buildPoolMap,
  decodePoolMap,
  encodePoolMap,
  formatObjectId,
  generateObjectId,
  isTargetAvailable,
  parseObjectClass,
  poolMapFit,
  targetStateCounts,
} from '@x/protocol'
import { FileStorage } from '@x/raft'
import { TcpFabric } from '@x/rdma-transport'
import type { BlockDevice } from '@x/spdk-io'
import type { ServerConfig } from '../config/model.ts'
import { openEngineTargets } from './targets.ts'
import type {
  AclResponse,
  AttachInfo,
  ClientIdentity,
  ContainerCreateRequest,
  ContainerInfo,
  PoolTargetsRequest,
  RankOperationResponse,
  SnapshotInfo,
  StorageFormatResponse,
  StorageScanResponse,
  StorageUsageResponse,
  ContainerQueryResponse,
  PoolConnectResponse,
  PoolCreateRequest,
  PoolDestroyRequest,
  PoolDestroyResponse,
  PoolInfo,
  PoolQueryResponse,
  SystemMember,
} from '../control/control-api.ts'

/** Container attribute prefix holding a snapshot's name (`x.snap.<epoch>`). */
export const snapshotNameAttributePrefix = 'x.snap.'

/** Container attribute holding the container's KV object id (`hi.lo`), set at create. */
export const kvOidAttribute = 'x.kv_oid'
/** Container attribute holding the container type (`KV` or `POSIX`). */
export const containerTypeAttribute = 'x.type'
/** Container attribute holding the KV object's class. */
export const containerOclassAttribute = 'x.oclass'
/** The `lo` of a container's KV object id (object ids are scoped by container, so every container uses the same one). */
export const kvObjectLo = 1n

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Options of {@link Engine.start}. */
export interface EngineOptions {
  readonly config: ServerConfig
  /** Where the control metadata (Raft logs, rank identity, format marker) lives. */
  readonly metadataDir: string
  readonly runtime: Runtime
  readonly logger: Logger
  /** The control server's `host:port` recorded for the rank. */
  readonly controlAddress: string
  /** Block size of the devices (default 4096). */
  readonly blockSizeBytes?: number
  /** Blobstore cluster size (default 64 KiB). */
  readonly clusterSizeBytes?: number
}

interface PoolRuntime {
  readonly uuid: string
  readonly service: ReplicatedService<PoolServiceMachine>
  readonly storage: FileStorage
  objects: ObjectService | undefined
  /** The caps authority of the pool's POSIX containers, on the pool's cart. */
  caps: CapsService | undefined
  cart: Cart | undefined
}

const leaderWaitMs = 10_000

/** Waits until a single-voter service has elected itself. */
async function waitLeader(service: ReplicatedService<ServiceMachine>, runtime: Runtime, what: string): Promise<void> {
  for (let waited = 0; !service.isLeader(); waited += 10) {
    if (waited > leaderWaitMs) throw new DerError('DER_TIMEDOUT', `${what}: no leader after ${leaderWaitMs} ms`)
    await runtime.timers.sleep(10)
  }
}

/** The engine: targets, management service and pools. */
export class Engine {
  private readonly pools = new Map<string, PoolRuntime>()
  private nextRequestSeq = 1
  private readonly clientId = `daemon-${randomUUID()}`
  private stopped = false
  private readonly hlc: HybridLogicalClock

  private constructor(
    private readonly options: EngineOptions,
    /** The engine's targets. */
    readonly targets: TargetSet,
    private readonly devices: readonly BlockDevice[],
    private readonly mgmt: ReplicatedService<ManagementMachine>,
    private readonly mgmtStorage: FileStorage,
    /** The local rank. */
    readonly rank: number,
    private readonly fabric: TcpFabric,
    /** Whether the targets were formatted by this start (false: reopened). */
    readonly formattedNow: boolean,
  ) {
    this.hlc = new HybridLogicalClock(options.runtime.clock)
  }

  /** Opens or formats the devices, starts the management service and joins the local rank. */
  static async start(options: EngineOptions): Promise<Engine> {
    const { config, metadataDir, runtime, logger } = options
    const engineConfig = config.engines[0]
    if (engineConfig === undefined) throw new DerError('DER_INVAL', 'the config has no engine')
    const opened = await openEngineTargets({
      engine: engineConfig,
      metadataDir,
      logger,
      ...(options.blockSizeBytes === undefined ? {} : { blockSizeBytes: options.blockSizeBytes }),
      ...(options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes }),
    })
    const { targets, devices } = opened
    const mgmtStorage = FileStorage.open(join(metadataDir, 'mgmt'), { initialConfState: { voters: [1], learners: [] } })
    const mgmt = new ReplicatedService({ id: 1, runtime, storage: mgmtStorage, send: () => {}, machine: new ManagementMachine(), tickMs: 10 })
    mgmt.start()
    await waitLeader(mgmt, runtime, 'management service')
    const fabric = new TcpFabric({ runtime, host: engineConfig.fabricIface })
    const identityPath = join(metadataDir, 'engine0-identity.json')
    let uuid: string
    if (existsSync(identityPath)) {
      uuid = (JSON.parse(readFileSync(identityPath, 'utf8')) as { uuid: string }).uuid
    } else {
      uuid = randomUUID()
      writeFileSync(identityPath, JSON.stringify({ uuid }))
    }
    const previous = mgmt.machine.systemQuery().find((m) => m.uuid === uuid)
    const fabricUri = `tcp://${engineConfig.fabricIface}:${engineConfig.fabricIfacePort}`
    const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '_') || 'localhost'
    const join_ = decodeJoinResult(
      await mgmt.submit(encodeMgmtCommand({ op: 'join', uuid, addr: options.controlAddress, fabricUri, faultDomain: `/${host}`, incarnation: (previous?.incarnation ?? 0) + 1 })),
    )
    logger.info('rank joined', { rank: join_.rank, uuid, mapVersion: join_.mapVersion })
    const engine = new Engine(options, targets, devices, mgmt, mgmtStorage, join_.rank, fabric, opened.formattedNow)
    await engine.recoverPools()
    return engine
  }

  private get logger(): Logger {
    return this.options.logger
  }

  private async submitMgmt(command: Parameters<typeof encodeMgmtCommand>[0]): Promise<void> {
    await this.mgmt.submit(encodeMgmtCommand(command), { clientId: this.clientId, seq: this.nextRequestSeq++ })
  }

  /** Reopens the pool services of ready pools; finishes interrupted creates and destroys. */
  private async recoverPools(): Promise<void> {
    for (const pool of this.mgmt.machine.poolList()) {
      if (pool.state === 'ready') {
        await this.openPool(pool.uuid)
        continue
      }
      this.logger.warn('cleaning up an interrupted pool operation', { uuid: pool.uuid, label: pool.label, state: pool.state })
      if (pool.state === 'creating') await this.submitMgmt({ op: 'poolDestroy', uuid: pool.uuid })
      rmSync(this.poolDir(pool.uuid), { recursive: true, force: true })
      await this.submitMgmt({ op: 'poolRemove', uuid: pool.uuid })
    }
  }

  private poolDir(uuid: string): string {
    return join(this.options.metadataDir, 'pools', uuid)
  }

  private async openPool(uuid: string): Promise<PoolRuntime> {
    const storage = FileStorage.open(this.poolDir(uuid), { initialConfState: { voters: [1], learners: [] } })
    const service = new ReplicatedService({ id: 1, runtime: this.options.runtime, storage, send: () => {}, machine: new PoolServiceMachine(uuid), tickMs: 10 })
    service.start()
    const pool: PoolRuntime = { uuid, service, storage, objects: undefined, caps: undefined, cart: undefined }
    this.pools.set(uuid, pool)
    await waitLeader(service, this.options.runtime, `pool service ${uuid}`)
    await this.startObjects(pool)
    const blob = service.machine.poolMap()
    if (blob.version > 1) pool.objects?.setPoolMap(decodePoolMap(blob.bytes))
    return pool
  }

  /** Starts the pool's object service on its own cart (the first pool on the configured fabric port). */
  private async startObjects(pool: PoolRuntime): Promise<void> {
    const engineConfig = this.options.config.engines[0]!
    const slot = [...this.pools.values()].filter((p) => p.cart !== undefined).length
    const basePort = engineConfig.fabricIfacePort
    const uris = Array.from({ length: this.targets.size }, (_, tag) => `tcp://${engineConfig.fabricIface}:${basePort === 0 ? 0 : basePort + slot * this.targets.size + tag}`)
    const cart = new Cart({ fabric: this.fabric, runtime: this.options.runtime, rank: this.rank })
    if (basePort !== 0) cart.primaryGroup.addRank(this.rank, uris)
    const poolMap = buildPoolMap({ ranks: [{ rank: this.rank, host: hostname() || 'localhost', targets: this.targets.size }] })
    try {
      pool.objects = await ObjectService.start({ listen: (tag) => uris[tag]!, cart, targets: this.targets, poolUuid: pool.uuid, poolMap })
      pool.caps = new CapsService({ cart, rank: this.rank, logger: this.logger })
      pool.cart = cart
    } catch (e) {
      await cart.close().catch(() => undefined)
      this.logger.error('object service did not start; the pool serves management requests only', { uuid: pool.uuid, error: (e as Error).message })
    }
  }

  /** Whether the pool's object service is serving (false for unknown pools). */
  objectServiceRunning(poolUuid: string): boolean {
    return this.pools.get(poolUuid)?.objects !== undefined
  }

  /** `dmg system query`. */
  async systemQuery(): Promise<{ members: SystemMember[]; mapVersion: number }> {
    return this.mgmt.read((m) => ({
      members: m.systemQuery().map((x) => ({ rank: x.rank, uuid: x.uuid, addr: x.addr, fabricUri: x.fabricUri, faultDomain: x.faultDomain, state: x.state })),
      mapVersion: m.systemMapVersion,
    }))
  }

  /** `dmg pool create`: validates everything first, then records, initializes and readies the pool. */
  async poolCreate(request: PoolCreateRequest): Promise<PoolInfo> {
    this.checkRunning()
    if (typeof request.label !== 'string') throw new DerError('DER_INVAL', 'a pool label is required')
    const label = checkLabel(request.label)
    if (!Number.isSafeInteger(request.sizeBytes) || request.sizeBytes <= 0) throw new DerError('DER_INVAL', `pool size must be a positive number of bytes, got ${String(request.sizeBytes)}`)
    const capacity = this.targets.space().capacityBytes
    if (request.sizeBytes > capacity) throw new DerError('DER_NOSPACE', `pool size ${request.sizeBytes} bytes exceeds the engine's capacity of ${capacity} bytes`)
    const props = request.properties ?? {}
    if (typeof props !== 'object' || props === null || Object.values(props).some((v) => typeof v !== 'string')) throw new DerError('DER_INVAL', 'pool properties must map names to strings')
    if (request.nranks !== undefined && request.nranks !== 1) {
      throw new DerError('DER_INVAL', `pool create: --nranks ${request.nranks} asks for more ranks than the 1 joined rank of this one-engine system`)
    }
    const owner: Record<string, string> = {}
    if (request.user !== undefined) owner['owner'] = request.user
    if (request.group !== undefined) owner['group'] = request.group
    const uuid = randomUUID()
    const init = { op: 'init' as const, props: { ...props, ...owner, label }, acl: [...(request.acl ?? [])] }
    new PoolServiceMachine(uuid).check(init)
    if (this.mgmt.machine.poolList().some((p) => p.label === label)) throw new DerError('DER_EXIST', `a pool labelled '${label}' already exists`)
    await this.submitMgmt({ op: 'poolCreate', uuid, label, sizeBytes: request.sizeBytes, svcRanks: [this.rank], tgtRanks: [this.rank] })
    try {
      const pool = await this.openPool(uuid)
      await pool.service.submit(encodePoolCommand(init))
      const map = buildPoolMap({ ranks: [{ rank: this.rank, host: hostname() || 'localhost', targets: this.targets.size }] })
      await pool.service.submit(encodePoolCommand({ op: 'mapUpdate', version: map.version, map: encodePoolMap(map) }))
      await this.submitMgmt({ op: 'poolReady', uuid })
    } catch (e) {
      this.logger.error('pool create failed; rolling back', { uuid, label, error: (e as Error).message })
      await this.removePool(uuid).catch(() => undefined)
      throw e
    }
    this.logger.info('pool created', { uuid, label, sizeBytes: request.sizeBytes })
    return poolInfo(this.mgmt.machine.poolQuery(uuid))
  }

  /** `dmg pool list`. */
  async poolList(): Promise<PoolInfo[]> {
    return this.mgmt.read((m) => m.poolList().map(poolInfo))
  }

  /** `dmg pool query`. */
  async poolQuery(id: string, identity?: ClientIdentity): Promise<PoolQueryResponse> {
    const record = await this.findPool(id)
    const pool = this.pools.get(record.uuid)
    if (pool === undefined) throw new DerError('DER_NONEXIST', `pool ${id} is not served by this engine (state ${record.state})`)
    await this.checkAccess(pool, identity, 'ro')
    const { info, blob, containers } = await pool.service.read((m) => ({ info: m.poolQuery(), blob: m.poolMap(), containers: m.listContainers().filter((c) => !c.label.startsWith('x.')).length }))
    const space = this.targets.space()
    const usedBytes = space.usedBytes
    const capacityBytes = Math.min(record.sizeBytes, space.capacityBytes)
    const map = decodePoolMap(blob.bytes)
    const counts = targetStateCounts(map)
    const active = Object.entries(counts).reduce((a, [state, n]) => a + (isTargetAvailable(state as never) ? n : 0), 0)
    const total = Object.values(counts).reduce((a, n) => a + n, 0)
    return {
      pool: poolInfo(record),
      mapVersion: info.mapVersion,
      totalTargets: total,
      activeTargets: active,
      disabledTargets: total - active,
      space: { usedBytes, capacityBytes, freeBytes: Math.max(0, capacityBytes - usedBytes) },
      properties: Object.fromEntries(info.props),
      targetStates: Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
      rebuild: { state: 'idle', objects: 0, records: 0 },
      containers,
      handles: info.handles,
    }
  }

  /** `dmg pool destroy`: `DER_BUSY` while the pool has open handles, unless forced. */
  async poolDestroy(request: PoolDestroyRequest): Promise<PoolDestroyResponse> {
    this.checkRunning()
    const record = await this.findPool(request.id)
    const pool = this.pools.get(record.uuid)
    if (pool !== undefined && request.force !== true) {
      const info = await pool.service.read((m) => m.poolQuery())
      if (info.handles > 0) throw new DerError('DER_BUSY', `pool ${record.label} has ${info.handles} open handle(s); use --force to destroy it anyway`)
    }
    await this.submitMgmt({ op: 'poolDestroy', uuid: record.uuid })
    await this.removePool(record.uuid)
    this.logger.info('pool destroyed', { uuid: record.uuid, label: record.label })
    return { uuid: record.uuid, label: record.label }
  }

  /** `daos` pool connect: the pool map and the object service's fabric URIs. */
  async poolConnect(id: string, identity?: ClientIdentity, caps = 'rw'): Promise<PoolConnectResponse> {
    this.checkRunning()
    if (caps !== 'ro' && caps !== 'rw') throw new DerError('DER_INVAL', `pool connect: capabilities must be ro or rw, got '${caps}'`)
    const { record, pool } = await this.servedPool(id)
    await this.checkAccess(pool, identity, caps)
    if (pool.objects === undefined || pool.cart === undefined) throw new DerError('DER_UNREACH', `pool ${record.label}: its object service is not running`)
    const map = await pool.service.read((m) => m.poolMap())
    return {
      uuid: record.uuid,
      label: record.label,
      poolMap: Buffer.from(map.bytes).toString('base64'),
      mapVersion: map.version,
      rank: this.rank,
      uris: pool.cart.contexts.map((c) => c.address),
      ranks: [{ rank: this.rank, uris: pool.cart.contexts.map((c) => c.address) }],
      handle: '',
    }
  }

  private async servedPool(id: string): Promise<{ record: PoolRecord; pool: PoolRuntime }> {
    const record = await this.findPool(id)
    const pool = this.pools.get(record.uuid)
    if (pool === undefined || record.state !== 'ready') throw new DerError('DER_NONEXIST', `pool ${id} is not served by this engine (state ${record.state})`)
    return { record, pool }
  }

  /**
   * Checks that `identity` may connect to the pool with `caps` (the pool ACL, owner and group);
   * `DER_NO_PERM` otherwise. No identity: an administrator's request, not checked.
   */
  private async checkAccess(pool: PoolRuntime, identity: ClientIdentity | undefined, caps: 'ro' | 'rw'): Promise<void> {
    if (identity === undefined) return
    const probe = { op: 'connect' as const, handle: randomUUID(), caps, user: identity.user, groups: [...identity.groups] }
    await pool.service.read((m) => m.check(probe))
  }

  /** Runs `body` with a temporary read-write pool handle (connect as `identity`, then disconnect). */
  private async withPoolHandle<T>(pool: PoolRuntime, body: (handle: string) => Promise<T>, identity?: ClientIdentity): Promise<T> {
    const handle = randomUUID()
    await pool.service.submit(encodePoolCommand({ op: 'connect', handle, caps: 'rw', ...(identity === undefined ? {} : { user: identity.user, groups: [...identity.groups] }) }))
    try {
      return await body(handle)
    } finally {
      await pool.service.submit(encodePoolCommand({ op: 'disconnect', handle })).catch(() => undefined)
    }
  }

  /**
   * `daos container create`: records the container in the pool service with its label and
   * properties, and allocates its KV object id (class `oclass`, default `S1`, `lo` =
   * {@link kvObjectLo}) stored as the {@link kvOidAttribute} attribute.
   */
  async containerCreate(request: ContainerCreateRequest): Promise<ContainerInfo> {
    this.checkRunning()
    if (typeof request.pool !== 'string') throw new DerError('DER_INVAL', 'container create: a pool label or UUID is required')
    if (typeof request.label !== 'string') throw new DerError('DER_INVAL', 'container create: a container label is required')
    const label = checkLabel(request.label)
    const type = request.type === undefined ? 'KV' : request.type
    if (type !== 'KV' && type !== 'POSIX') throw new DerError('DER_INVAL', `container create: type must be KV or POSIX, got '${String(type)}'`)
    const oclassName = request.oclass === undefined ? 'S1' : request.oclass
    if (typeof oclassName !== 'string') throw new DerError('DER_INVAL', 'container create: oclass must be a string')
    const oclass = parseObjectClass(oclassName)
    if (oclass.redundancy.kind === 'erasure') throw new DerError('DER_NOSYS', `erasure-coded class ${oclass.name} is not served by the engines yet`)
    const props = request.properties ?? {}
    if (typeof props !== 'object' || props === null || Array.isArray(props) || Object.values(props).some((v) => typeof v !== 'string')) {
      throw new DerError('DER_INVAL', 'container create: properties must map names to strings')
    }
    const { pool } = await this.servedPool(request.pool)
    const map = await pool.service.read((m) => m.poolMap())
    const oid = generateObjectId({ lo: kvObjectLo, type: ObjectType.KV_HASHED, oclass, fit: poolMapFit(decodePoolMap(map.bytes)) })
    const uuid = randomUUID()
    const allProps: Record<string, string> = { ...props, label }
    if (type === 'POSIX' && allProps['layout_type'] === undefined) allProps['layout_type'] = 'POSIX'
    return this.withPoolHandle(pool, async (handle) => {
      await pool.service.submit(encodePoolCommand({ op: 'contCreate', handle, uuid, props: allProps }))
      const attrs = { [kvOidAttribute]: textEncoder.encode(formatObjectId(oid)), [containerTypeAttribute]: textEncoder.encode(type), [containerOclassAttribute]: textEncoder.encode(oclass.name) }
      await pool.service.submit(encodePoolCommand({ op: 'contSetAttrs', cont: uuid, attrs }))
      this.logger.info('container created', { pool: pool.uuid, uuid, label, oclass: oclass.name })
      return { uuid, label }
    }, request.identity)
  }

  /** `daos container list`. */
  async containerList(poolId: string, identity?: ClientIdentity): Promise<ContainerInfo[]> {
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    return pool.service.read((m) => m.listContainers().map((c) => ({ uuid: c.uuid, label: c.label })))
  }

  /** `daos container query`: `DER_NONEXIST` for an unknown container. */
  async containerQuery(poolId: string, contId: string, identity?: ClientIdentity): Promise<ContainerQueryResponse> {
    const { record, pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    if (typeof contId !== 'string' || contId.length === 0) throw new DerError('DER_INVAL', 'a container label or UUID is required')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    const attr = (name: string, fallback: string): string => {
      const v = cont.attrs.get(name)
      return v === undefined ? fallback : textDecoder.decode(v)
    }
    return {
      poolUuid: record.uuid,
      container: { uuid: cont.uuid, label: cont.label },
      type: attr(containerTypeAttribute, 'KV'),
      oclass: attr(containerOclassAttribute, ''),
      kvOid: attr(kvOidAttribute, ''),
      properties: Object.fromEntries(cont.props),
      openHandles: cont.handles.size,
      snapshots: cont.snapshots.map((e) => e.toString()),
    }
  }

  /** `daos container destroy`: `DER_BUSY` with open handles unless forced. */
  async containerDestroy(poolId: string, contId: string, force: boolean, identity?: ClientIdentity): Promise<ContainerInfo> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    if (typeof contId !== 'string' || contId.length === 0) throw new DerError('DER_INVAL', 'a container label or UUID is required')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    return this.withPoolHandle(pool, async (handle) => {
      await pool.service.submit(encodePoolCommand({ op: 'contDestroy', handle, cont: cont.uuid, force }))
      this.logger.info('container destroyed', { pool: pool.uuid, uuid: cont.uuid, label: cont.label })
      return { uuid: cont.uuid, label: cont.label }
    }, identity)
  }

  // ---- system and storage ----

  /** `dmg system stop|start|exclude`: records the ranks' states (every rank when none given). */
  async systemRankOperation(operation: 'stop' | 'start' | 'exclude', ranks: readonly number[] | undefined): Promise<RankOperationResponse> {
    this.checkRunning()
    if (operation === 'exclude' && (ranks === undefined || ranks.length === 0)) throw new DerError('DER_INVAL', 'system exclude needs --ranks')
    const chosen = ranks === undefined || ranks.length === 0 ? this.mgmt.machine.systemQuery().map((m) => m.rank) : [...new Set(ranks)]
    await this.mgmt.read((m) => m.check({ op: operation, ranks: chosen }))
    await this.submitMgmt({ op: operation, ranks: chosen })
    if (chosen.includes(this.rank)) {
      if (operation === 'stop' || operation === 'exclude') await this.stopObjectServices()
      else await this.startObjectServices()
    }
    this.logger.info(`system ${operation}`, { ranks: chosen })
    return this.mgmt.read((m) => ({
      results: m.systemQuery(chosen).map((x) => ({ rank: x.rank, operation, ok: true, state: x.state, info: x.info })),
      mapVersion: m.systemMapVersion,
    }))
  }

  private async stopObjectServices(): Promise<void> {
    for (const pool of this.pools.values()) {
      pool.caps?.stop()
      pool.caps = undefined
      if (pool.objects !== undefined) {
        await pool.objects.flushCommits().catch(() => undefined)
        pool.objects.stop()
        pool.objects = undefined
      }
      if (pool.cart !== undefined) {
        await pool.cart.close().catch(() => undefined)
        pool.cart = undefined
      }
    }
  }

  private async startObjectServices(): Promise<void> {
    for (const pool of this.pools.values()) {
      if (pool.objects !== undefined) continue
      await this.startObjects(pool)
      const started = pool.objects as ObjectService | undefined
      const blob = pool.service.machine.poolMap()
      if (blob.version > 1) started?.setPoolMap(decodePoolMap(blob.bytes))
    }
  }

  /** GetAttachInfo: this engine's system name, rank, tag-0 fabric URI and control address. */
  attachInfo(): AttachInfo {
    const e = this.options.config.engines[0]!
    return { systemName: this.options.config.name, rank: this.rank, fabricUri: `tcp://${e.fabricIface}:${e.fabricIfacePort}`, controlAddress: this.options.controlAddress, accessPoint: true }
  }

  private tierTargets(): { class: string; path: string; sizeBytes: number; targets: number[] }[] {
    const e = this.options.config.engines[0]!
    return e.storage.map((tier, i) => ({
      class: tier.class,
      path: tier.class === 'file' ? tier.path : '',
      sizeBytes: tier.sizeBytes,
      targets: Array.from({ length: e.targets }, (_, t) => t).filter((t) => t % e.storage.length === i),
    }))
  }

  /** `dmg storage scan`: the engine's tiers and devices. */
  storageScan(): StorageScanResponse {
    return { hosts: [{ host: this.options.controlAddress, rank: this.rank, tiers: this.tierTargets(), formatted: true }] }
  }

  /**
   * `dmg storage format`: the daemon formats new devices when it starts, so a running engine
   * reports `already formatted`; `--force` reformats only when no pool exists (`DER_BUSY`
   * otherwise: formatting would destroy their data).
   */
  async storageFormat(force: boolean): Promise<StorageFormatResponse> {
    this.checkRunning()
    const pools = await this.poolList()
    const result = { host: this.options.controlAddress, rank: this.rank, targets: this.targets.size }
    if (!force) return { results: [{ ...result, status: this.formattedNow ? 'formatted' : 'already formatted' }] }
    if (pools.length > 0) throw new DerError('DER_BUSY', `storage format --force: ${pools.length} pool(s) exist (${pools.map((p) => p.label).join(', ')}); destroy them first`)
    return { results: [{ ...result, status: 'formatted' }] }
  }

  /** `dmg storage query usage`: space per target and in total. */
  storageUsage(): StorageUsageResponse {
    const space = this.targets.space()
    return {
      hosts: [
        {
          host: this.options.controlAddress,
          rank: this.rank,
          totalBytes: space.capacityBytes,
          usedBytes: space.usedBytes,
          freeBytes: Math.max(0, space.capacityBytes - space.usedBytes),
          targets: space.targets.map((t, index) => ({ index, totalBytes: t.capacityBytes, freeBytes: Math.max(0, t.capacityBytes - t.usedBytes) })),
        },
      ],
    }
  }

  // ---- pool properties, ACL, map operations, evict ----

  /** `dmg pool get-prop [names]`. */
  async poolGetProp(id: string, names?: readonly string[]): Promise<Record<string, string>> {
    const { pool } = await this.servedPool(id)
    return Object.fromEntries(await pool.service.read((m) => m.getProps(names)))
  }

  /** `dmg pool set-prop k:v,...`; renaming (`label`) is refused: the management service keys pools by label. */
  async poolSetProp(id: string, properties: Readonly<Record<string, string>>): Promise<Record<string, string>> {
    this.checkRunning()
    const { pool } = await this.servedPool(id)
    if (Object.hasOwn(properties, 'label')) throw new DerError('DER_INVAL', 'pool set-prop: the label cannot be changed (it names the pool in the management service)')
    await pool.service.submit(encodePoolCommand({ op: 'setProps', props: { ...properties } }))
    return this.poolGetProp(id, Object.keys(properties))
  }

  /** `dmg pool get-acl`. */
  async poolGetAcl(id: string): Promise<AclResponse> {
    const { pool } = await this.servedPool(id)
    return pool.service.read((m) => {
      const props = m.getProps()
      return { owner: props.get('owner') ?? '', ownerGroup: props.get('group') ?? '', entries: m.getAcl() }
    })
  }

  /** `dmg pool update-acl|overwrite-acl|delete-acl`: validated by the pool service, then the new ACL. */
  async poolAclChange(id: string, change: { op: 'aclUpdate' | 'aclOverwrite'; entries: readonly string[] } | { op: 'aclDelete'; principal: string }): Promise<AclResponse> {
    this.checkRunning()
    const { pool } = await this.servedPool(id)
    await pool.service.submit(encodePoolCommand(change.op === 'aclDelete' ? change : { op: change.op, entries: [...change.entries] }))
    return this.poolGetAcl(id)
  }

  /**
   * `dmg pool exclude|drain|reintegrate --rank R [--target-idx I,...]`: a new pool map version
   * with those targets' states changed (`DER_ALREADY` when nothing changes). This one-engine
   * system has no rebuild: an exclusion leaves the targets DOWN, a drain DRAIN, and a
   * reintegration goes straight to UPIN.
   */
  async poolTargetsOperation(operation: 'exclude' | 'drain' | 'reintegrate', request: PoolTargetsRequest): Promise<{ mapVersion: number }> {
    this.checkRunning()
    const { record, pool } = await this.servedPool(request.id)
    let map = decodePoolMap((await pool.service.read((m) => m.poolMap())).bytes)
    const selector = [{ rank: request.rank, ...(request.targetIdx === undefined || request.targetIdx.length === 0 ? {} : { targetIndexes: [...request.targetIdx] }) }]
    const steps: PoolMapOperation[] = operation === 'reintegrate' ? ['reintegrate', 'reintegrateDone'] : [operation]
    for (const step of steps) map = applyPoolMapOperation(map, step, selector)
    await pool.service.submit(encodePoolCommand({ op: 'mapUpdate', version: map.version, map: encodePoolMap(map) }))
    pool.objects?.setPoolMap(map)
    this.logger.info(`pool ${operation}`, { pool: record.uuid, rank: request.rank, targets: request.targetIdx, mapVersion: map.version })
    return { mapVersion: map.version }
  }

  /** `dmg pool evict`: closes every pool handle. */
  async poolEvict(id: string): Promise<{ evicted: number }> {
    this.checkRunning()
    const { pool } = await this.servedPool(id)
    const handles = await pool.service.read((m) => m.poolQuery().handles)
    if (handles === 0) return { evicted: 0 }
    await pool.service.submit(encodePoolCommand({ op: 'evict' }))
    return { evicted: handles }
  }

  // ---- container properties, attributes, snapshots ----

  /** `daos container get-prop`. */
  async containerGetProp(poolId: string, contId: string, names: readonly string[] | undefined, identity?: ClientIdentity): Promise<Record<string, string>> {
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    if (names === undefined || names.length === 0) return Object.fromEntries(cont.props)
    const out: Record<string, string> = {}
    for (const n of names) {
      const v = cont.props.get(n)
      if (v === undefined) throw new DerError('DER_INVAL', `unknown container property '${n}'`)
      out[n] = v
    }
    return out
  }

  /** `daos container set-prop`. */
  async containerSetProp(poolId: string, contId: string, properties: Readonly<Record<string, string>>, identity?: ClientIdentity): Promise<Record<string, string>> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'rw')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    await pool.service.submit(encodePoolCommand({ op: 'contSetProps', cont: cont.uuid, props: { ...properties } }))
    return this.containerGetProp(poolId, cont.uuid, Object.keys(properties))
  }

  /** `daos container list-attrs`: every attribute name (reserved `x.` ones included; the handler layer filters). */
  async containerListAttrs(poolId: string, contId: string, identity?: ClientIdentity): Promise<string[]> {
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    return pool.service.read((m) => m.listAttrs(contId))
  }

  /** `daos container get-attr`: UTF-8 values; an unknown name is `DER_NONEXIST`. */
  async containerGetAttr(poolId: string, contId: string, names: readonly string[], identity?: ClientIdentity): Promise<Record<string, string>> {
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    if (names.length === 0) throw new DerError('DER_INVAL', 'get-attr: no attribute names given')
    const attrs = await pool.service.read((m) => m.getAttrs(contId, names))
    return Object.fromEntries([...attrs].map(([k, v]) => [k, textDecoder.decode(v)]))
  }

  /** `daos container set-attr`: UTF-8 values. */
  async containerSetAttr(poolId: string, contId: string, attrs: Readonly<Record<string, string>>, identity?: ClientIdentity): Promise<void> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'rw')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    const bytes = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, textEncoder.encode(v)]))
    await pool.service.submit(encodePoolCommand({ op: 'contSetAttrs', cont: cont.uuid, attrs: bytes }))
  }

  /** `daos container del-attr`. */
  async containerDelAttr(poolId: string, contId: string, names: readonly string[], identity?: ClientIdentity): Promise<void> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'rw')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    await pool.service.submit(encodePoolCommand({ op: 'contDelAttrs', cont: cont.uuid, names: [...names] }))
  }

  /** `daos container create-snap [--snap NAME]`: a snapshot at a fresh HLC epoch; its name is kept as an `x.snap.<epoch>` attribute. */
  async containerCreateSnap(poolId: string, contId: string, name: string | undefined, identity?: ClientIdentity): Promise<SnapshotInfo> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'rw')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    if (name !== undefined) {
      if (!/^[A-Za-z0-9_.:-]{1,127}$/.test(name)) throw new DerError('DER_INVAL', `snapshot name '${name}' must have 1..127 letters, digits or _ . : -`)
      const taken = [...cont.attrs].find(([k, v]) => k.startsWith(snapshotNameAttributePrefix) && textDecoder.decode(v) === name)
      if (taken !== undefined) throw new DerError('DER_EXIST', `container ${cont.label}: a snapshot named '${name}' exists (epoch ${taken[0].slice(snapshotNameAttributePrefix.length)})`)
    }
    const epoch = this.hlc.now()
    await pool.service.submit(encodePoolCommand({ op: 'snapCreate', cont: cont.uuid, epoch }))
    if (name !== undefined) await pool.service.submit(encodePoolCommand({ op: 'contSetAttrs', cont: cont.uuid, attrs: { [`${snapshotNameAttributePrefix}${epoch}`]: textEncoder.encode(name) } }))
    return { epoch: epoch.toString(), name: name ?? '' }
  }

  /** `daos container list-snaps`. */
  async containerListSnaps(poolId: string, contId: string, identity?: ClientIdentity): Promise<SnapshotInfo[]> {
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'ro')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    return cont.snapshots.map((e) => {
      const v = cont.attrs.get(`${snapshotNameAttributePrefix}${e}`)
      return { epoch: e.toString(), name: v === undefined ? '' : textDecoder.decode(v) }
    })
  }

  /** `daos container destroy-snap --epc E | --snap NAME`. */
  async containerDestroySnap(poolId: string, contId: string, snapshot: string, identity?: ClientIdentity): Promise<SnapshotInfo> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    await this.checkAccess(pool, identity, 'rw')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    const snaps = await this.containerListSnaps(poolId, cont.uuid)
    const found = snaps.find((s) => s.epoch === snapshot || (s.name !== '' && s.name === snapshot))
    if (found === undefined) throw new DerError('DER_NONEXIST', `container ${cont.label} has no snapshot '${snapshot}' (epoch or name)`)
    await pool.service.submit(encodePoolCommand({ op: 'snapDestroy', cont: cont.uuid, epoch: BigInt(found.epoch) }))
    if (found.name !== '') await pool.service.submit(encodePoolCommand({ op: 'contDelAttrs', cont: cont.uuid, names: [`${snapshotNameAttributePrefix}${found.epoch}`] }))
    return found
  }

  private async findPool(id: string): Promise<PoolRecord> {
    if (typeof id !== 'string' || id.length === 0) throw new DerError('DER_INVAL', 'a pool label or UUID is required')
    return this.mgmt.read((m) => m.poolQuery(id))
  }

  private async removePool(uuid: string): Promise<void> {
    const pool = this.pools.get(uuid)
    if (pool !== undefined) {
      this.pools.delete(uuid)
      await this.closePool(pool)
    }
    rmSync(this.poolDir(uuid), { recursive: true, force: true })
    const record = this.mgmt.machine.poolList().find((p) => p.uuid === uuid)
    if (record !== undefined && record.state !== 'destroying') await this.submitMgmt({ op: 'poolDestroy', uuid })
    if (record !== undefined) await this.submitMgmt({ op: 'poolRemove', uuid })
  }

  private async closePool(pool: PoolRuntime): Promise<void> {
    pool.caps?.stop()
    pool.caps = undefined
    if (pool.objects !== undefined) {
      await pool.objects.flushCommits().catch(() => undefined)
      pool.objects.stop()
    }
    if (pool.cart !== undefined) await pool.cart.close()
    pool.service.stop()
    pool.storage.close()
  }

  private checkRunning(): void {
    if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the engine is shutting down')
  }

  /** Stops the pools, the management service and the targets, flushing their storage. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const pool of this.pools.values()) await this.closePool(pool)
    this.pools.clear()
    this.mgmt.stop()
    this.mgmtStorage.close()
    await this.targets.close()
    for (const device of this.devices) await device.close()
  }
}

function poolInfo(p: PoolRecord): PoolInfo {
  return { uuid: p.uuid, label: p.label, state: p.state, sizeBytes: p.sizeBytes, svcRanks: [...p.svcRanks], tgtRanks: [...p.tgtRanks] }
}
