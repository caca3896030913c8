/**
 * The daemon assembled: engine, control server and telemetry server, with their stop hooks.
 *
 * @module
 */
import { join } from 'node:path'
import { DerError, type LogRoot, type Runtime } from '@x/common'
import type { ServerConfig } from '../config/model.ts'
import { type ControlHandlers, type ControlServer, startControlServer } from '../control/control-server.ts'
import {
  type ContainerCreateRequest,
  type ContainerDestroyRequest,
  type ContainerIdRequest,
  type ContainerListRequest,
  type ControlMethodName,
  type PoolCreateRequest,
  type PoolDestroyRequest,
  type PoolIdRequest,
  controlMethodNames,
} from '../control/control-api.ts'
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

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DerError('DER_INVAL', `${what}: request must be an object`)
  return value as Record<string, unknown>
}

/** The control API's handlers over an engine; requests are validated field by field. */
export function engineControlHandlers(engine: Engine): ControlHandlers {
  return {
    SystemQuery: async () => engine.systemQuery(),
    PoolCreate: async (request: PoolCreateRequest) => {
      const r = record(request, 'pool create')
      const properties = r['properties'] ?? {}
      if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw new DerError('DER_INVAL', 'pool create: properties must be an object')
      return { pool: await engine.poolCreate({ label: r['label'] as string, sizeBytes: r['sizeBytes'] as number, properties: properties as Record<string, string> }) }
    },
    PoolList: async () => ({ pools: await engine.poolList() }),
    PoolQuery: async (request: PoolIdRequest) => engine.poolQuery(record(request, 'pool query')['id'] as string),
    PoolDestroy: async (request: PoolDestroyRequest) => {
      const r = record(request, 'pool destroy')
      return engine.poolDestroy({ id: r['id'] as string, force: r['force'] === true })
    },
    PoolConnect: async (request: PoolIdRequest) => engine.poolConnect(record(request, 'pool connect')['id'] as string),
    ContainerCreate: async (request: ContainerCreateRequest) => ({ container: await engine.containerCreate(record(request, 'container create') as unknown as ContainerCreateRequest) }),
    ContainerList: async (request: ContainerListRequest) => ({ containers: await engine.containerList(record(request, 'container list')['pool'] as string) }),
    ContainerQuery: async (request: ContainerIdRequest) => {
      const r = record(request, 'container query')
      return engine.containerQuery(r['pool'] as string, r['cont'] as string)
    },
    ContainerDestroy: async (request: ContainerDestroyRequest) => {
      const r = record(request, 'container destroy')
      return { container: await engine.containerDestroy(r['pool'] as string, r['cont'] as string, r['force'] === true) }
    },
  }
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
  const handlers = (): Engine => {
    if (engine === undefined) throw new DerError('DER_AGAIN', 'the engine is still starting')
    return engine
  }
  const control = await startControlServer({
    host: controlHost,
    port: controlPort,
    transport: config.transport,
    timers: runtime.timers,
    handlers: Object.fromEntries(
      controlMethodNames.map((name: ControlMethodName) => [name, (r: unknown) => (engineControlHandlers(handlers())[name] as (request: unknown) => Promise<unknown>)(r)]),
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
