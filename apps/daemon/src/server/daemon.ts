/**
 * The daemon assembled: engine, control server and telemetry server, with their stop hooks.
 *
 * @module
 */
import { join } from 'node:path'
import { DerError, type LogRoot, type Runtime } from '@x/common'
import type { ServerConfig } from '../config/model.ts'
import { type ControlHandlers, type ControlServer, startControlServer } from '../control/control-server.ts'
import { type ControlMethodName, controlMethodNames } from '../control/control-api.ts'
import { type BackendHandlers, withPoolAttributes } from './pool-attributes.ts'
import type { MetricsSource, TelemetryServer } from '../telemetry-server.ts'
import { startTelemetryServer } from '../telemetry-server.ts'
import { Engine } from './engine.ts'

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  readonly config: ServerConfig
  /** The data directory (control metadata goes to the config's `control_metadata.path` or `<dataDir>/control_meta`). */
  readonly dataDir: string
  readonly runtime: Runtime
  readonly log: LogRoot
  /** Metrics served on the telemetry port; none: no telemetry server. */
  readonly metrics?: MetricsSource
  /** Overrides the config's control port (0: a free port, for tests). */
  readonly controlPort?: number
  /** Overrides the config's telemetry port (0: a free port, for tests). */
  readonly telemetryPort?: number
  /** Blobstore cluster size of newly formatted targets (small devices in tests). */
  readonly clusterSizeBytes?: number
}

/** A running daemon. */
export interface Daemon {
  readonly engine: Engine
  readonly control: ControlServer
  readonly telemetry: TelemetryServer | undefined
  /** Stops the control server, the telemetry server and the engine (flushing its storage). */
  stop(): Promise<void>
}

/** The control API over the one-engine backend (requests arrive validated by the control server). */
export function engineControlHandlers(engine: Engine): ControlHandlers {
  const backend: BackendHandlers = {
    SystemQuery: async (r) => {
      const all = await engine.systemQuery()
      if (r.ranks === undefined || r.ranks.length === 0) return all
      const unknown = r.ranks.filter((rank) => !all.members.some((m) => m.rank === rank))
      if (unknown.length > 0) throw new DerError('DER_NONEXIST', `rank(s) ${unknown.join(',')} are not members of the system`)
      return { ...all, members: all.members.filter((m) => r.ranks?.includes(m.rank)) }
    },
    SystemStop: async (r) => engine.systemRankOperation('stop', r.ranks),
    SystemStart: async (r) => engine.systemRankOperation('start', r.ranks),
    SystemExclude: async (r) => engine.systemRankOperation('exclude', r.ranks),
    GetAttachInfo: () => Promise.resolve(engine.attachInfo()),
    StorageScan: () => Promise.resolve(engine.storageScan()),
    StorageFormat: async (r) => engine.storageFormat(r.force === true),
    StorageQueryUsage: () => Promise.resolve(engine.storageUsage()),
    PoolCreate: async (r) => ({ pool: await engine.poolCreate(r) }),
    PoolList: async () => ({ pools: await engine.poolList() }),
    PoolQuery: async (r) => engine.poolQuery(r.id, r.identity),
    PoolDestroy: async (r) => engine.poolDestroy({ id: r.id, force: r.force === true }),
    PoolGetProp: async (r) => ({ properties: await engine.poolGetProp(r.id, r.names) }),
    PoolSetProp: async (r) => ({ properties: await engine.poolSetProp(r.id, r.properties) }),
    PoolGetAcl: async (r) => engine.poolGetAcl(r.id),
    PoolUpdateAcl: async (r) => engine.poolAclChange(r.id, { op: 'aclUpdate', entries: r.entries }),
    PoolOverwriteAcl: async (r) => engine.poolAclChange(r.id, { op: 'aclOverwrite', entries: r.entries }),
    PoolDeleteAcl: async (r) => engine.poolAclChange(r.id, { op: 'aclDelete', principal: r.principal }),
    PoolExclude: async (r) => engine.poolTargetsOperation('exclude', r),
    PoolDrain: async (r) => engine.poolTargetsOperation('drain', r),
    PoolReintegrate: async (r) => engine.poolTargetsOperation('reintegrate', r),
    PoolEvict: async (r) => engine.poolEvict(r.id),
    PoolConnect: async (r) => engine.poolConnect(r.id, r.identity, r.caps),
    // The one-engine PoolConnect opens no handle: nothing to give back.
    PoolDisconnect: () => Promise.resolve({}),
    ContainerCreate: async (r) => ({ container: await engine.containerCreate(r) }),
    ContainerList: async (r) => ({ containers: await engine.containerList(r.pool, r.identity) }),
    ContainerQuery: async (r) => engine.containerQuery(r.pool, r.cont, r.identity),
    ContainerDestroy: async (r) => ({ container: await engine.containerDestroy(r.pool, r.cont, r.force === true, r.identity) }),
    ContainerGetProp: async (r) => ({ properties: await engine.containerGetProp(r.pool, r.cont, r.names, r.identity) }),
    ContainerSetProp: async (r) => ({ properties: await engine.containerSetProp(r.pool, r.cont, r.properties, r.identity) }),
    ContainerListAttrs: async (r) => ({ names: await engine.containerListAttrs(r.pool, r.cont, r.identity) }),
    ContainerGetAttr: async (r) => ({ attrs: await engine.containerGetAttr(r.pool, r.cont, r.names, r.identity) }),
    ContainerSetAttr: async (r) => {
      await engine.containerSetAttr(r.pool, r.cont, r.attrs, r.identity)
      return {}
    },
    ContainerDelAttr: async (r) => {
      await engine.containerDelAttr(r.pool, r.cont, r.names, r.identity)
      return {}
    },
    ContainerCreateSnap: async (r) => engine.containerCreateSnap(r.pool, r.cont, r.name, r.identity),
    ContainerListSnaps: async (r) => ({ snapshots: await engine.containerListSnaps(r.pool, r.cont, r.identity) }),
    ContainerDestroySnap: async (r) => engine.containerDestroySnap(r.pool, r.cont, r.snapshot, r.identity),
  }
  return withPoolAttributes(backend)
}

/** Starts the engine, then the control server, then telemetry; undoes what started on failure. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, runtime } = options
  const logger = options.log.logger('daemon')
  const controlHost = config.accessPoints[0]?.host ?? '127.0.0.1'
  const controlPort = options.controlPort ?? config.port
  const metadataDir = config.controlMetadataPath ?? join(options.dataDir, 'control_meta')
  // The control server starts first on its port so the rank records its real address.
  let engine: Engine | undefined
  let api: ControlHandlers | undefined
  const control = await startControlServer({
    host: controlHost,
    port: controlPort,
    transport: config.transport,
    timers: runtime.timers,
    handlers: Object.fromEntries(
      controlMethodNames.map((name: ControlMethodName) => [
        name,
        (r: unknown) => {
          if (api === undefined) return Promise.reject(new DerError('DER_AGAIN', 'the engine is still starting'))
          return (api[name] as (request: unknown) => Promise<unknown>)(r)
        },
      ]),
    ) as unknown as ControlHandlers,
  })
  let telemetry: TelemetryServer | undefined
  try {
    engine = await Engine.start({
      config,
      metadataDir,
      runtime,
      logger: options.log.logger('engine'),
      controlAddress: control.address,
      ...(options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes }),
    })
    api = engineControlHandlers(engine)
    if (options.metrics !== undefined) telemetry = await startTelemetryServer({ source: options.metrics, port: options.telemetryPort ?? config.telemetryPort })
  } catch (e) {
    await control.close()
    if (engine !== undefined) await engine.stop()
    throw e
  }
  logger.info('daemon started', { control: control.address, telemetryPort: telemetry?.port, rank: engine.rank })
  const started = engine
  let stopping: Promise<void> | undefined
  return {
    engine: started,
    control,
    telemetry,
    stop() {
      stopping ??= (async () => {
        await control.close()
        if (telemetry !== undefined) await telemetry.close()
        await started.stop()
      })()
      return stopping
    },
  }
}
