/**
 * One engine of the daemon: its targets on the configured devices, a single-replica management
 * service that records the local rank as joined, and per pool a pool service, a pool map and an
 * object service on cart over TCP.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { Cart } from '@x/cart'
import { DerError, type Logger, type Runtime } from '@x/common'
import {
  ManagementMachine,
  ObjectService,
  type PoolRecord,
  PoolServiceMachine,
  ReplicatedService,
  type ServiceMachine,
  TargetSet,
  checkLabel,
  decodeJoinResult,
  encodeMgmtCommand,
  encodePoolCommand,
} from '@x/engine'
import { ObjectType, buildPoolMap, decodePoolMap, encodePoolMap, formatObjectId, generateObjectId, parseObjectClass, poolMapFit } from '@x/protocol'
import { FileStorage } from '@x/raft'
import { TcpFabric } from '@x/rdma-transport'
import { type BlockDevice, FileBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import type { ServerConfig } from '../config/model.ts'
import type {
  ContainerCreateRequest,
  ContainerInfo,
  ContainerQueryResponse,
  PoolConnectResponse,
  PoolCreateRequest,
  PoolDestroyRequest,
  PoolDestroyResponse,
  PoolInfo,
  PoolQueryResponse,
  SystemMember,
} from '../control/control-api.ts'

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
  cart: Cart | undefined
}

const blockSizeDefault = 4096
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
  ) {}

  /** Opens or formats the devices, starts the management service and joins the local rank. */
  static async start(options: EngineOptions): Promise<Engine> {
    const { config, metadataDir, runtime, logger } = options
    const engineConfig = config.engines[0]
    if (engineConfig === undefined) throw new DerError('DER_INVAL', 'the config has no engine')
    mkdirSync(metadataDir, { recursive: true })
    const blockSizeBytes = options.blockSizeBytes ?? blockSizeDefault
    const marker = join(metadataDir, 'engine0-formatted.json')
    const formatted = existsSync(marker)
    const tiers = engineConfig.storage
    if (tiers.length === 0) throw new DerError('DER_INVAL', 'engines[0].storage: no storage tier')
    const targetCount = engineConfig.targets
    const devices: BlockDevice[] = []
    for (let t = 0; t < targetCount; t++) {
      const tierIndex = t % tiers.length
      const tier = tiers[tierIndex]!
      const sharing = Math.ceil((targetCount - tierIndex) / tiers.length)
      const blockCount = Math.floor(tier.sizeBytes / sharing / blockSizeBytes)
      if (tier.class === 'ram') {
        devices.push(new MemoryBlockDevice({ name: `engine0-target${t}`, blockSizeBytes, blockCount }))
      } else {
        const path = sharing === 1 ? tier.path : `${tier.path}.t${t}`
        mkdirSync(dirname(path), { recursive: true })
        devices.push(await FileBlockDevice.open({ path, blockSizeBytes, blockCount, create: !formatted || !existsSync(path) }))
      }
    }
    const ramOnly = tiers.every((tier) => tier.class === 'ram')
    let targets: TargetSet
    const clusterOptions = options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes }
    if (formatted && !ramOnly) {
      logger.info('opening targets', { targets: targetCount })
      targets = await TargetSet.open(0, devices)
    } else {
      logger.info('formatting targets', { targets: targetCount, devices: tiers.length })
      targets = await TargetSet.create(0, devices, clusterOptions)
      if (!ramOnly) writeFileSync(marker, JSON.stringify({ targets: targetCount }))
    }
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
    const engine = new Engine(options, targets, devices, mgmt, mgmtStorage, join_.rank, fabric)
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
    const pool: PoolRuntime = { uuid, service, storage, objects: undefined, cart: undefined }
    this.pools.set(uuid, pool)
    await waitLeader(service, this.options.runtime, `pool service ${uuid}`)
    await this.startObjects(pool)
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
    const props = request.properties
    if (typeof props !== 'object' || props === null || Object.values(props).some((v) => typeof v !== 'string')) throw new DerError('DER_INVAL', 'pool properties must map names to strings')
    const uuid = randomUUID()
    const init = { op: 'init' as const, props: { ...props, label }, acl: [] }
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
  async poolQuery(id: string): Promise<PoolQueryResponse> {
    const record = await this.findPool(id)
    const pool = this.pools.get(record.uuid)
    if (pool === undefined) throw new DerError('DER_NONEXIST', `pool ${id} is not served by this engine (state ${record.state})`)
    const info = await pool.service.read((m) => m.poolQuery())
    const space = this.targets.space()
    const usedBytes = space.usedBytes
    const capacityBytes = Math.min(record.sizeBytes, space.capacityBytes)
    return {
      pool: poolInfo(record),
      mapVersion: info.mapVersion,
      totalTargets: this.targets.size,
      activeTargets: this.targets.targets.filter((t) => t.opened).length,
      disabledTargets: this.targets.targets.filter((t) => !t.opened).length,
      space: { usedBytes, capacityBytes, freeBytes: Math.max(0, capacityBytes - usedBytes) },
      properties: Object.fromEntries(info.props),
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
  async poolConnect(id: string): Promise<PoolConnectResponse> {
    this.checkRunning()
    const { record, pool } = await this.servedPool(id)
    if (pool.objects === undefined || pool.cart === undefined) throw new DerError('DER_UNREACH', `pool ${record.label}: its object service is not running`)
    const map = await pool.service.read((m) => m.poolMap())
    return {
      uuid: record.uuid,
      label: record.label,
      poolMap: Buffer.from(map.bytes).toString('base64'),
      mapVersion: map.version,
      rank: this.rank,
      uris: pool.cart.contexts.map((c) => c.address),
    }
  }

  private async servedPool(id: string): Promise<{ record: PoolRecord; pool: PoolRuntime }> {
    const record = await this.findPool(id)
    const pool = this.pools.get(record.uuid)
    if (pool === undefined || record.state !== 'ready') throw new DerError('DER_NONEXIST', `pool ${id} is not served by this engine (state ${record.state})`)
    return { record, pool }
  }

  /** Runs `body` with a temporary read-write pool handle (connect, then disconnect). */
  private async withPoolHandle<T>(pool: PoolRuntime, body: (handle: string) => Promise<T>): Promise<T> {
    const handle = randomUUID()
    await pool.service.submit(encodePoolCommand({ op: 'connect', handle, caps: 'rw' }))
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
    })
  }

  /** `daos container list`. */
  async containerList(poolId: string): Promise<ContainerInfo[]> {
    const { pool } = await this.servedPool(poolId)
    return pool.service.read((m) => m.listContainers().map((c) => ({ uuid: c.uuid, label: c.label })))
  }

  /** `daos container query`: `DER_NONEXIST` for an unknown container. */
  async containerQuery(poolId: string, contId: string): Promise<ContainerQueryResponse> {
    const { record, pool } = await this.servedPool(poolId)
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
  async containerDestroy(poolId: string, contId: string, force: boolean): Promise<ContainerInfo> {
    this.checkRunning()
    const { pool } = await this.servedPool(poolId)
    if (typeof contId !== 'string' || contId.length === 0) throw new DerError('DER_INVAL', 'a container label or UUID is required')
    const cont = await pool.service.read((m) => m.containerQuery(contId))
    return this.withPoolHandle(pool, async (handle) => {
      await pool.service.submit(encodePoolCommand({ op: 'contDestroy', handle, cont: cont.uuid, force }))
      this.logger.info('container destroyed', { pool: pool.uuid, uuid: cont.uuid, label: cont.label })
      return { uuid: cont.uuid, label: cont.label }
    })
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
