/**
 * The multi-engine daemon: one engine of a system on `@x/engine`'s `SystemNode`. On start it
 * serves `GetAttachInfo` at once (its engine's tag-0 fabric URI, from the config), asks every
 * access point's control server for theirs (retrying until each answers, logging who it waits
 * for), opens its targets, and starts its `SystemNode` on TCP with the Raft logs in
 * `FileStorage`s under the control metadata directory. Its control server then forwards every
 * `dmg`/`daos` request to the node, which forwards to the right leader. A `CapsService` on the
 * node's cart is the caps authority of POSIX containers (`@x/dfs`); it stops before the node.
 *
 * Addresses: the control server listens on `engines[0].fabric_iface` and the config's `port`;
 * the daemon is an access point when that `host:port` is one of `access_points` (its Raft id is
 * its position + 1). Context `tag` of the engine listens on `fabric_iface_port + tag`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type * as grpc from '@grpc/grpc-js'
import { DerError, type LogRoot, type Logger, type Runtime, isDerError } from '@x/common'
import { CapsService, type RaftStorageFactory, SystemNode } from '@x/engine'
import { FileStorage } from '@x/raft'
import { TcpFabric } from '@x/rdma-transport'
import type { ServerConfig } from '../config/model.ts'
import type { AttachInfo, ClientIdentity, ControlMethodName, HostStorage, HostUsage, SnapshotInfo } from '../control/control-api.ts'
import { controlMethodNames } from '../control/control-api.ts'
import { ControlClient, controlClientTlsCredentials } from '../control/control-client.ts'
import { type ControlHandlers, type ControlServer, partialControlHandlers, readPemFile, startControlServer } from '../control/control-server.ts'
import type { MetricsSource, TelemetryServer } from '../telemetry-server.ts'
import { startTelemetryServer } from '../telemetry-server.ts'
import { snapshotNameAttributePrefix } from './engine.ts'
import { type BackendHandlers, withPoolAttributes } from './pool-attributes.ts'
import { type EngineTargets, openEngineTargets } from './targets.ts'

/** Options of {@link startSystemDaemon}. */
export interface SystemDaemonOptions {
  readonly config: ServerConfig
  /** The data directory (control metadata goes to `control_metadata.path` or `<dataDir>/control_meta`). */
  readonly dataDir: string
  readonly runtime: Runtime
  readonly log: LogRoot
  /** Metrics served on the telemetry port; none: no telemetry server. */
  readonly metrics?: MetricsSource
  /** Overrides the config's telemetry port (0: a free port, for tests). */
  readonly telemetryPort?: number
  /** Blobstore cluster size of newly formatted targets (small devices in tests). */
  readonly clusterSizeBytes?: number
  /** How long to wait for the access points' attach info and the join (default 120 s). */
  readonly attachTimeoutMs?: number
  /** SWIM between engines (default on). */
  readonly membership?: boolean
}

/** A running multi-engine daemon. */
export interface SystemDaemon {
  readonly node: SystemNode
  readonly control: ControlServer
  readonly telemetry: TelemetryServer | undefined
  /** The engine's rank. */
  readonly rank: number
  /** Stops the control server, telemetry, the node, its Raft storage and its targets. */
  stop(): Promise<void>
}

/** Where this daemon sits in its system, derived from the config. */
export interface SystemPlacement {
  /** The control server's `host:port`. */
  readonly controlAddress: string
  readonly controlHost: string
  /** The engine's tag-0 fabric URI. */
  readonly fabricUri: string
  /** The URI of context `tag`. */
  readonly listen: (tag: number) => string
  /** This daemon's Raft id in the management service, when it is an access point. */
  readonly msId: number | undefined
}

/** Computes a daemon's addresses and access-point role from its config. */
export function systemPlacement(config: ServerConfig): SystemPlacement {
  const engine = config.engines[0]
  if (engine === undefined) throw new DerError('DER_INVAL', 'the config has no engine')
  if (engine.fabricIfacePort === 0) throw new DerError('DER_INVAL', 'engines[0].fabric_iface_port: a multi-engine system needs a fixed port (other engines dial it)')
  if (config.port === 0) throw new DerError('DER_INVAL', 'port: a multi-engine system needs a fixed control port')
  const controlHost = engine.fabricIface
  const controlAddress = `${controlHost}:${config.port}`
  const index = config.accessPoints.findIndex((ap) => `${ap.host}:${ap.port}` === controlAddress)
  return {
    controlAddress,
    controlHost,
    fabricUri: `tcp://${engine.fabricIface}:${engine.fabricIfacePort}`,
    listen: (tag) => `tcp://${engine.fabricIface}:${engine.fabricIfacePort + tag}`,
    msId: index < 0 ? undefined : index + 1,
  }
}

/** Raft logs of the node's groups as `FileStorage`s under `dir` (one directory per group). */
export function fileRaftStorage(dir: string): RaftStorageFactory & { closeAll(): void } {
  const open = new Map<string, FileStorage>()
  const path = (group: string): string => join(dir, group.replace(/[^A-Za-z0-9_.-]/g, '_'))
  return {
    open(group, voters) {
      open.get(group)?.close()
      const storage = FileStorage.open(path(group), { initialConfState: { voters: [...voters], learners: [] } })
      open.set(group, storage)
      return storage
    },
    remove(group) {
      open.get(group)?.close()
      open.delete(group)
      rmSync(path(group), { recursive: true, force: true })
    },
    release(group) {
      open.get(group)?.close()
      open.delete(group)
    },
    closeAll() {
      for (const s of open.values()) s.close()
      open.clear()
    },
  }
}

/** The engine's identity: a UUID kept across restarts and an incarnation raised by each start. */
function nextIdentity(metadataDir: string): { uuid: string; incarnation: number } {
  const path = join(metadataDir, 'engine0-identity.json')
  let uuid: string = randomUUID()
  let incarnation = 0
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { uuid?: unknown; incarnation?: unknown }
    if (typeof saved.uuid === 'string') uuid = saved.uuid
    if (typeof saved.incarnation === 'number' && Number.isSafeInteger(saved.incarnation)) incarnation = saved.incarnation
  }
  const identity = { uuid, incarnation: incarnation + 1 }
  writeFileSync(path, JSON.stringify(identity))
  return identity
}

/** Asks every access point for its engine's URI, retrying each until it answers. */
async function resolveAccessPoints(
  config: ServerConfig,
  self: SystemPlacement,
  runtime: Runtime,
  logger: Logger,
  credentials: grpc.ChannelCredentials | undefined,
  timeoutMs: number,
): Promise<{ msId: number; uri: string }[]> {
  return Promise.all(
    config.accessPoints.map(async (ap, i) => {
      const address = `${ap.host}:${ap.port}`
      if (address === self.controlAddress) return { msId: i + 1, uri: self.fabricUri }
      const started = runtime.clock.monotonicMs()
      let lastLogged = -Infinity
      for (;;) {
        const client = new ControlClient({ target: address, clock: runtime.clock, timeoutMs: 2000, ...(credentials === undefined ? {} : { credentials }) })
        try {
          const info = await client.call('GetAttachInfo', {})
          if (info.systemName !== config.name) throw new DerError('DER_INVAL', `access point ${address} belongs to system '${info.systemName}', not '${config.name}'`)
          logger.info('access point attached', { accessPoint: address, fabricUri: info.fabricUri })
          return { msId: i + 1, uri: info.fabricUri }
        } catch (e) {
          if (isDerError(e, 'DER_INVAL')) throw e
          const waited = runtime.clock.monotonicMs() - started
          if (waited > timeoutMs) throw new DerError('DER_TIMEDOUT', `access point ${address} did not answer GetAttachInfo within ${timeoutMs} ms: ${(e as Error).message}`)
          if (waited - lastLogged >= 10_000) {
            logger.info('waiting for access point', { accessPoint: address, waitedMs: Math.round(waited), error: (e as Error).message })
            lastLogged = waited
          }
        } finally {
          client.close()
        }
        await runtime.timers.sleep(500)
      }
    }),
  )
}

const textDecoder = new TextDecoder()

/**
 * Checks that `identity` may connect to the pool with `caps` (a pool handle opened and closed
 * again: the pool service checks the ACL); no identity: an administrator's request.
 */
async function checkAccess(node: SystemNode, pool: string, identity: ClientIdentity | undefined, caps: 'ro' | 'rw'): Promise<void> {
  if (identity === undefined) return
  const c = await node.poolConnect({ id: pool, caps, user: identity.user, groups: [...identity.groups] })
  await node.poolDisconnect({ id: c.uuid, handle: c.handle }).catch(() => undefined)
}

/** The control API over a `SystemNode` (requests arrive validated by the control server). */
export function systemNodeControlHandlers(node: SystemNode, local: { attachInfo: () => AttachInfo; storage: () => { scan: HostStorage; usage: HostUsage }; credentials: grpc.ChannelCredentials | undefined; runtime: Runtime }): ControlHandlers {
  const aclOf = async (id: string, entries: readonly string[]): Promise<{ owner: string; ownerGroup: string; entries: readonly string[] }> => {
    const props = (await node.poolGetProp({ id, names: ['owner', 'group'] })).properties
    return { owner: props['owner'] ?? '', ownerGroup: props['group'] ?? '', entries }
  }
  const snapshots = async (pool: string, cont: string): Promise<SnapshotInfo[]> => {
    const epochs = (await node.containerListSnaps({ pool, cont })).epochs
    const names = new Set((await node.containerListAttrs({ pool, cont })).names)
    const wanted = epochs.map((e) => `${snapshotNameAttributePrefix}${e}`).filter((n) => names.has(n))
    const attrs = wanted.length === 0 ? {} : (await node.containerGetAttr({ pool, cont, names: wanted })).attributes
    return epochs.map((epoch) => {
      const v = attrs[`${snapshotNameAttributePrefix}${epoch}`]
      return { epoch, name: v === undefined ? '' : textDecoder.decode(v) }
    })
  }
  // Storage commands fan out to every member's control server (each answers for its own engine).
  // A member that does not answer is listed empty (no tiers, zero space) rather than failing the command.
  const fanOut = async <T>(method: 'StorageScan' | 'StorageQueryUsage', mine: () => T, unreachable: (addr: string, rank: number) => T): Promise<T[]> => {
    const members = (await node.systemQuery()).members
    const self = local.attachInfo().controlAddress
    return Promise.all(
      members.map(async (m): Promise<T> => {
        if (m.addr === self) return mine()
        const client = new ControlClient({ target: m.addr, clock: local.runtime.clock, timeoutMs: 3000, ...(local.credentials === undefined ? {} : { credentials: local.credentials }) })
        try {
          const r = (await client.call(method, { local: true })) as unknown as { hosts: T[] }
          return r.hosts[0] ?? unreachable(m.addr, m.rank)
        } catch {
          return unreachable(m.addr, m.rank)
        } finally {
          client.close()
        }
      }),
    )
  }
  const backend: BackendHandlers = {
    SystemQuery: async (r) => node.systemQuery(r),
    SystemStop: async (r) => rankResults(node, 'stop', await node.systemStop(r.ranks === undefined ? {} : { ranks: r.ranks }), r.ranks),
    SystemStart: async (r) => rankResults(node, 'start', await node.systemStart(r.ranks === undefined ? {} : { ranks: r.ranks }), r.ranks),
    SystemExclude: async (r) => {
      if (r.ranks === undefined || r.ranks.length === 0) throw new DerError('DER_INVAL', 'system exclude needs --ranks')
      return rankResults(node, 'exclude', await node.systemExclude({ ranks: r.ranks }), r.ranks)
    },
    GetAttachInfo: () => Promise.resolve(local.attachInfo()),
    StorageScan: async (r) => ({ hosts: r.local === true ? [local.storage().scan] : await fanOut('StorageScan', () => local.storage().scan, (host, rank) => ({ host, rank, tiers: [], formatted: false })) }),
    StorageFormat: async (r) => {
      const members = (await node.systemQuery()).members
      if (r.force === true) {
        const pools = (await node.poolList()).pools
        if (pools.length > 0) throw new DerError('DER_BUSY', `storage format --force: ${pools.length} pool(s) exist (${pools.map((p) => p.label).join(', ')}); destroy them first`)
      }
      return { results: members.map((m) => ({ host: m.addr, rank: m.rank, status: 'already formatted', targets: m.uris.length })) }
    },
    StorageQueryUsage: async (r) => ({ hosts: r.local === true ? [local.storage().usage] : await fanOut('StorageQueryUsage', () => local.storage().usage, (host, rank) => ({ host, rank, totalBytes: 0, usedBytes: 0, freeBytes: 0, targets: [] })) }),
    PoolCreate: async (r) => node.poolCreate(r),
    PoolList: async () => node.poolList(),
    PoolQuery: async (r) => {
      await checkAccess(node, r.id, r.identity, 'ro')
      return node.poolQuery({ id: r.id })
    },
    PoolDestroy: async (r) => node.poolDestroy({ id: r.id, force: r.force === true }),
    PoolGetProp: async (r) => node.poolGetProp(r.names === undefined ? { id: r.id } : { id: r.id, names: r.names }),
    PoolSetProp: async (r) => {
      if (Object.hasOwn(r.properties, 'label')) throw new DerError('DER_INVAL', 'pool set-prop: the label cannot be changed (it names the pool in the management service)')
      await node.poolSetProp({ id: r.id, properties: r.properties })
      return node.poolGetProp({ id: r.id, names: Object.keys(r.properties) })
    },
    PoolGetAcl: async (r) => aclOf(r.id, (await node.poolGetAcl({ id: r.id })).entries),
    PoolUpdateAcl: async (r) => aclOf(r.id, (await node.poolUpdateAcl({ id: r.id, entries: r.entries })).entries),
    PoolOverwriteAcl: async (r) => aclOf(r.id, (await node.poolOverwriteAcl({ id: r.id, entries: r.entries })).entries),
    PoolDeleteAcl: async (r) => aclOf(r.id, (await node.poolDeleteAcl({ id: r.id, principal: r.principal })).entries),
    PoolExclude: async (r) => node.poolExclude({ id: r.id, rank: r.rank, ...(r.targetIdx === undefined || r.targetIdx.length === 0 ? {} : { targetIndexes: r.targetIdx }) }),
    PoolDrain: async (r) => node.poolDrain({ id: r.id, rank: r.rank, ...(r.targetIdx === undefined || r.targetIdx.length === 0 ? {} : { targetIndexes: r.targetIdx }) }),
    PoolReintegrate: async (r) => node.poolReintegrate({ id: r.id, rank: r.rank, ...(r.targetIdx === undefined || r.targetIdx.length === 0 ? {} : { targetIndexes: r.targetIdx }) }),
    PoolEvict: async (r) => node.poolEvict({ id: r.id }),
    PoolConnect: async (r) => {
      const caps = r.caps ?? 'rw'
      if (caps !== 'ro' && caps !== 'rw') throw new DerError('DER_INVAL', `pool connect: capabilities must be ro or rw, got '${caps}'`)
      const c = await node.poolConnect({ id: r.id, caps, ...(r.identity === undefined ? {} : { user: r.identity.user, groups: [...r.identity.groups] }) })
      const first = c.ranks[0] ?? { rank: 0, uris: [] }
      if (r.keepHandle !== true) await node.poolDisconnect({ id: c.uuid, handle: c.handle }).catch(() => undefined)
      const handle = r.keepHandle === true ? c.handle : ''
      return { uuid: c.uuid, label: c.label, poolMap: Buffer.from(c.poolMap).toString('base64'), mapVersion: c.mapVersion, rank: first.rank, uris: first.uris, ranks: c.ranks, handle }
    },
    PoolDisconnect: async (r) => {
      await node.poolDisconnect({ id: r.id, handle: r.handle })
      return {}
    },
    ContainerCreate: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      return node.containerCreate({ pool: r.pool, label: r.label, ...(r.type === undefined ? {} : { type: r.type }), ...(r.oclass === undefined ? {} : { oclass: r.oclass }), ...(r.properties === undefined ? {} : { properties: r.properties }) })
    },
    ContainerList: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      return node.containerList({ pool: r.pool })
    },
    ContainerQuery: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      return node.containerQuery({ pool: r.pool, cont: r.cont })
    },
    ContainerDestroy: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      return node.containerDestroy({ pool: r.pool, cont: r.cont, force: r.force === true })
    },
    ContainerGetProp: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      return node.containerGetProp({ pool: r.pool, cont: r.cont, ...(r.names === undefined || r.names.length === 0 ? {} : { names: r.names }) })
    },
    ContainerSetProp: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      await node.containerSetProp({ pool: r.pool, cont: r.cont, properties: r.properties })
      return node.containerGetProp({ pool: r.pool, cont: r.cont, names: Object.keys(r.properties) })
    },
    ContainerListAttrs: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      return node.containerListAttrs({ pool: r.pool, cont: r.cont })
    },
    ContainerGetAttr: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      if (r.names.length === 0) throw new DerError('DER_INVAL', 'get-attr: no attribute names given')
      const got = (await node.containerGetAttr({ pool: r.pool, cont: r.cont, names: r.names })).attributes
      return { attrs: Object.fromEntries(Object.entries(got).map(([k, v]) => [k, textDecoder.decode(v)])) }
    },
    ContainerSetAttr: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      await node.containerSetAttr({ pool: r.pool, cont: r.cont, attributes: r.attrs })
      return {}
    },
    ContainerDelAttr: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      await node.containerDelAttr({ pool: r.pool, cont: r.cont, names: r.names })
      return {}
    },
    ContainerCreateSnap: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      if (r.name !== undefined) {
        if (!/^[A-Za-z0-9_.:-]{1,127}$/.test(r.name)) throw new DerError('DER_INVAL', `snapshot name '${r.name}' must have 1..127 letters, digits or _ . : -`)
        const taken = (await snapshots(r.pool, r.cont)).find((s) => s.name === r.name)
        if (taken !== undefined) throw new DerError('DER_EXIST', `container ${r.cont}: a snapshot named '${r.name}' exists (epoch ${taken.epoch})`)
      }
      const { epoch } = await node.containerCreateSnap({ pool: r.pool, cont: r.cont })
      if (r.name !== undefined) await node.containerSetAttr({ pool: r.pool, cont: r.cont, attributes: { [`${snapshotNameAttributePrefix}${epoch}`]: r.name } })
      return { epoch, name: r.name ?? '' }
    },
    ContainerListSnaps: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'ro')
      return { snapshots: await snapshots(r.pool, r.cont) }
    },
    ContainerDestroySnap: async (r) => {
      await checkAccess(node, r.pool, r.identity, 'rw')
      const found = (await snapshots(r.pool, r.cont)).find((s) => s.epoch === r.snapshot || (s.name !== '' && s.name === r.snapshot))
      if (found === undefined) throw new DerError('DER_NONEXIST', `container ${r.cont} has no snapshot '${r.snapshot}' (epoch or name)`)
      await node.containerDestroySnap({ pool: r.pool, cont: r.cont, epoch: found.epoch })
      if (found.name !== '') await node.containerDelAttr({ pool: r.pool, cont: r.cont, names: [`${snapshotNameAttributePrefix}${found.epoch}`] }).catch(() => undefined)
      return found
    },
  }
  return withPoolAttributes(backend)
}

async function rankResults(node: SystemNode, operation: string, response: { mapVersion: number }, ranks: readonly number[] | undefined): Promise<{ results: { rank: number; operation: string; ok: boolean; state: string; info: string }[]; mapVersion: number }> {
  const members = (await node.systemQuery(ranks === undefined || ranks.length === 0 ? {} : { ranks })).members
  return { results: members.map((m) => ({ rank: m.rank, operation, ok: true, state: m.state, info: m.info })), mapVersion: response.mapVersion }
}

/**
 * Waits until the node serves every ready pool that has targets on its rank (`SystemNode.start`
 * reopens them in the background; object I/O meeting a pool not yet reopened would fail), so the
 * daemon answers requests only once its engine is whole. Bounded by `timeoutMs`, then logs and
 * goes on.
 */
async function waitPoolsReopened(node: SystemNode, runtime: Runtime, logger: Logger, timeoutMs: number): Promise<void> {
  const started = runtime.clock.monotonicMs()
  for (;;) {
    let missing: string[]
    try {
      const pools = (await node.poolList()).pools
      missing = pools.filter((p) => p.state === 'ready' && p.tgtRanks.includes(node.rank) && node.objectService(p.uuid) === undefined).map((p) => p.label)
    } catch (e) {
      missing = [`(pool list: ${(e as Error).message})`]
    }
    if (missing.length === 0) return
    if (runtime.clock.monotonicMs() - started > timeoutMs) {
      logger.warn('pools not reopened in time; serving anyway', { pools: missing })
      return
    }
    await runtime.timers.sleep(100)
  }
}

/**
 * Starts a multi-engine daemon: control server (attach info first), access-point resolution,
 * targets, the `SystemNode` (join), then telemetry. Undoes what started on failure.
 */
export async function startSystemDaemon(options: SystemDaemonOptions): Promise<SystemDaemon> {
  const { config, runtime } = options
  const logger = options.log.logger('daemon')
  const placement = systemPlacement(config)
  const metadataDir = config.controlMetadataPath ?? join(options.dataDir, 'control_meta')
  mkdirSync(metadataDir, { recursive: true })
  const t = config.transport
  const credentials = t.allowInsecure ? undefined : controlClientTlsCredentials({ caCert: readPemFile(t.caCertPath, 'ca_cert'), cert: readPemFile(t.certPath, 'cert'), key: readPemFile(t.keyPath, 'key') })
  let rank = -1
  const attachInfo = (): AttachInfo => ({ systemName: config.name, rank, fabricUri: placement.fabricUri, controlAddress: placement.controlAddress, accessPoint: placement.msId !== undefined })
  let api: ControlHandlers | undefined
  const early = partialControlHandlers({ GetAttachInfo: () => Promise.resolve(attachInfo()) })
  const control = await startControlServer({
    host: placement.controlHost,
    port: config.port,
    transport: config.transport,
    timers: runtime.timers,
    handlers: Object.fromEntries(
      controlMethodNames.map((name: ControlMethodName) => [
        name,
        (r: unknown) => {
          if (api !== undefined) return (api[name] as (request: unknown) => Promise<unknown>)(r)
          if (name === 'GetAttachInfo') return early.GetAttachInfo({})
          return Promise.reject(new DerError('DER_AGAIN', 'the engine is still joining its system; retry in a moment'))
        },
      ]),
    ) as unknown as ControlHandlers,
  })
  let engineTargets: EngineTargets | undefined
  let node: SystemNode | undefined
  let caps: CapsService | undefined
  let telemetry: TelemetryServer | undefined
  const raftStorage = fileRaftStorage(join(metadataDir, 'raft'))
  const fabric = new TcpFabric({ runtime, host: config.engines[0]!.fabricIface })
  try {
    const accessPoints = await resolveAccessPoints(config, placement, runtime, logger, credentials, options.attachTimeoutMs ?? 120_000)
    engineTargets = await openEngineTargets({ engine: config.engines[0]!, metadataDir, logger: options.log.logger('engine'), ...(options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes }) })
    const identity = nextIdentity(metadataDir)
    const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '_') || 'localhost'
    logger.info('joining the system', { accessPoints: accessPoints.map((ap) => ap.uri), msId: placement.msId, incarnation: identity.incarnation })
    node = await SystemNode.start({
      runtime,
      fabric,
      listen: placement.listen,
      targets: engineTargets.targets,
      storage: raftStorage,
      identity,
      // Engines on one machine are told apart by their fabric address (loopback 127.0.0.x).
      faultDomain: `/${host}-${config.engines[0]!.fabricIface}`,
      controlAddress: placement.controlAddress,
      accessPoints,
      ...(placement.msId === undefined ? {} : { msId: placement.msId }),
      logger: options.log.logger('system'),
      timing: { joinTimeoutMs: options.attachTimeoutMs ?? 120_000 },
      ...(options.membership === false ? { membership: false as const } : {}),
    })
    rank = node.rank
    // The caps authority of POSIX containers (@x/dfs) on the engine's cart.
    caps = new CapsService({ cart: node.cart, rank: node.rank, logger: options.log.logger('caps') })
    await waitPoolsReopened(node, runtime, logger, options.attachTimeoutMs ?? 120_000)
    const started = node
    const targets = engineTargets.targets
    const storage = (): { scan: HostStorage; usage: HostUsage } => {
      const e = config.engines[0]!
      const space = targets.space()
      return {
        scan: {
          host: placement.controlAddress,
          rank,
          formatted: true,
          tiers: e.storage.map((tier, i) => ({
            class: tier.class,
            path: tier.class === 'file' ? tier.path : '',
            sizeBytes: tier.sizeBytes,
            targets: Array.from({ length: e.targets }, (_, x) => x).filter((x) => x % e.storage.length === i),
          })),
        },
        usage: {
          host: placement.controlAddress,
          rank,
          totalBytes: space.capacityBytes,
          usedBytes: space.usedBytes,
          freeBytes: Math.max(0, space.capacityBytes - space.usedBytes),
          targets: space.targets.map((x, index) => ({ index, totalBytes: x.capacityBytes, freeBytes: Math.max(0, x.capacityBytes - x.usedBytes) })),
        },
      }
    }
    api = systemNodeControlHandlers(started, { attachInfo, storage, credentials, runtime })
    if (options.metrics !== undefined) telemetry = await startTelemetryServer({ source: options.metrics, port: options.telemetryPort ?? config.telemetryPort })
  } catch (e) {
    await control.close()
    caps?.stop()
    await node?.stop().catch(() => undefined)
    raftStorage.closeAll()
    await engineTargets?.close().catch(() => undefined)
    await fabric.close().catch(() => undefined)
    throw e
  }
  logger.info('daemon started', { control: control.address, rank, msId: placement.msId })
  const running = node
  const capsService = caps
  const targetsToClose = engineTargets
  let stopping: Promise<void> | undefined
  return {
    node: running,
    control,
    telemetry,
    rank,
    stop() {
      stopping ??= (async () => {
        await control.close()
        if (telemetry !== undefined) await telemetry.close()
        capsService.stop()
        await running.stop()
        raftStorage.closeAll()
        await targetsToClose.close()
        await fabric.close().catch(() => undefined)
      })()
      return stopping
    },
  }
}
