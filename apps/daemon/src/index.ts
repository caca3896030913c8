/**
 * The engine daemon: its configuration, logging, metrics, telemetry endpoint, graceful shutdown,
 * the engine it runs and the gRPC control server `dmg` talks to. `src/main.ts` is the process
 * entry (`tsx --conditions=@x/source src/main.ts [-o CONFIG]`, or `$X_CONFIG`, else the embedded
 * default).
 *
 * - **Engine** ({@link Engine}, {@link startDaemon}): opens or formats the file (or ram) devices
 *   of the engine's storage tiers into a `@x/engine` `TargetSet` (one device per target; a tier
 *   shared by several targets is split into per-target files `<path>.t<i>`), runs a
 *   single-replica management service (Raft on a `FileStorage` under the control metadata
 *   directory) that records the local rank as joined (its UUID kept across restarts), and per
 *   pool: a management entry, a pool service (its own Raft group) initialised with the pool's
 *   properties and a `buildPoolMap` map over the local targets, and an `ObjectService` on cart over
 *   `TcpFabric` (the first pool on the configured fabric port). Restarts reopen ready pools and
 *   clean up interrupted creates and destroys.
 * - **Control API** ({@link controlServiceDefinition}, {@link ControlClient},
 *   {@link startControlServer}): `SystemQuery`, `PoolCreate`, `PoolList`, `PoolQuery`,
 *   `PoolDestroy` as unary gRPC methods with JSON bodies; failures carry their DER name in the
 *   `x-der-name` trailer and come back as `DerError`s ({@link grpcErrorToDer}; an unreachable
 *   server is `DER_UNREACH`). Insecure when `allow_insecure` is true, otherwise mutual TLS with the
 *   config's `ca_cert`, `cert` and `key` ({@link controlServerCredentials},
 *   {@link controlClientTlsCredentials}).
 *
 * - **Configuration**, in the spirit of DAOS's `daos_server.yml`: a typed model
 *   ({@link ServerConfig}), a strict YAML loader ({@link loadServerConfig},
 *   {@link loadServerConfigFile}) that refuses unknown keys and bad types or ranges with a
 *   `DER_INVAL` naming the field's YAML path and line (`engines[0].storage[1].size: ... (line 12)`),
 *   defaults (control port 10001, telemetry port 9191, provider `tcp`, ...), sizes with units
 *   (`1G`, `512MiB`: {@link parseSizeBytes}), storage tiers of class `ram` or `file`, and
 *   {@link dumpServerConfig}, whose output loads back to the same model.
 * - **The embedded default** ({@link embeddedDefaultConfig}): with no config at all, a one-node
 *   system named `daos_server` with one engine of four targets on two file-backed devices under
 *   the data directory (`$X_DATA_DIR`, or `.x-data` at the repository root:
 *   {@link resolveDataDir}), insecure local access, telemetry on 127.0.0.1:9191;
 *   {@link resolveServerConfig} picks it when no config file is given.
 * - **Logging**: {@link PinoLogSink} writes `@x/common` log records as pino JSON lines to stdout,
 *   a file or a stream; {@link DaemonLogging} applies the config's `log_mask` and changes it at
 *   run time.
 * - **Metrics**: {@link PromMetricsRegistry}, the `@x/common` metrics facade on prom-client with
 *   a registry of its own, served in the Prometheus text format by
 *   {@link startTelemetryServer} on 127.0.0.1.
 * - **Shutdown**: {@link GracefulShutdown} runs stop hooks in reverse order on SIGINT/SIGTERM,
 *   each within a timeout.
 *
 * @example
 * ```ts
 * import { createRealRuntime } from '@x/common'
 * import { DaemonLogging, GracefulShutdown, PinoLogSink, PromMetricsRegistry, loadServerConfig, startTelemetryServer } from '@x/daemon'
 *
 * const config = loadServerConfig(`
 * engines:
 *   - targets: 4
 *     storage:
 *       - { class: ram, size: 1GiB }
 *       - { class: file, path: /var/x/bdev0.img, size: 64G }
 * `)
 * const runtime = createRealRuntime()
 * const sink = new PinoLogSink()
 * const logging = new DaemonLogging({ sink, clock: runtime.clock, logMask: config.engines[0]!.logMask })
 * const metrics = new PromMetricsRegistry()
 * const telemetry = await startTelemetryServer({ source: metrics, port: config.telemetryPort })
 * const shutdown = new GracefulShutdown({ timers: runtime.timers, logger: logging.root.logger('daemon') })
 * shutdown.register('log', () => sink.close())
 * shutdown.register('telemetry', () => telemetry.close())
 * shutdown.installSignalHandlers(process, (code) => process.exit(code))
 * ```
 *
 * @packageDocumentation
 */
export type { AccessPoint, EngineConfig, FileTier, RamTier, ServerConfig, StorageTier, TransportConfig } from './config/model.ts'
export { storageClasses } from './config/model.ts'
export { describeValue, formatSizeBytes, parseSizeBytes } from './config/sizes.ts'
export {
  dataDirEnvVar,
  defaultCertDir,
  defaultControlPort,
  defaultDataDirName,
  defaultFabricIface,
  defaultFabricIfacePort,
  defaultLogMask,
  defaultProvider,
  defaultSystemName,
  defaultTelemetryPort,
  embeddedDefaultConfig,
  embeddedDeviceSizeBytes,
  embeddedTargets,
  resolveDataDir,
} from './config/defaults.ts'
export {
  type ConfigPath,
  type ValidateOptions,
  accessPointCounts,
  formatConfigPath,
  knownProviders,
  maxEnginesPerServer,
  maxSystemNameLength,
  maxTargetsPerEngine,
  minTierSizeBytes,
  parseAccessPoint,
  validateServerConfig,
} from './config/validate.ts'
export {
  type LoadOptions,
  type ResolveConfigOptions,
  type ResolvedServerConfig,
  dumpServerConfig,
  loadServerConfig,
  loadServerConfigFile,
  maxConfigBytes,
  resolveServerConfig,
  serverConfigToYamlData,
} from './config/load.ts'
export { DaemonLogging, type DaemonLoggingOptions, type LogDestination, PinoLogSink, type PinoLogSinkOptions } from './logging/pino-sink.ts'
export { PromMetricsRegistry, type PromMetricsRegistryOptions } from './metrics/prom-registry.ts'
export { type MetricsSource, type TelemetryServer, type TelemetryServerOptions, startTelemetryServer } from './telemetry-server.ts'
export {
  GracefulShutdown,
  type GracefulShutdownOptions,
  type ShutdownReport,
  type SignalSource,
  type StopHook,
  type StopHookOutcome,
  exitCodes,
  shutdownSignals,
} from './shutdown.ts'
export {
  type ContainerCreateRequest,
  type ContainerCreateResponse,
  type ContainerDestroyRequest,
  type ContainerDestroyResponse,
  type ContainerIdRequest,
  type ContainerInfo,
  type ContainerListRequest,
  type ContainerListResponse,
  type ContainerQueryResponse,
  type ControlMethodName,
  type ControlMethods,
  type PoolConnectResponse,
  type PoolCreateRequest,
  type PoolCreateResponse,
  type PoolDestroyRequest,
  type PoolDestroyResponse,
  type PoolIdRequest,
  type PoolInfo,
  type PoolListRequest,
  type PoolListResponse,
  type PoolQueryResponse,
  type PoolSpace,
  type SystemMember,
  type SystemQueryRequest,
  type SystemQueryResponse,
  controlMethodNames,
  controlServiceDefinition,
  controlServiceName,
  decodeControlMessage,
  derMetadataKey,
  derToGrpcStatus,
  encodeControlMessage,
  grpcErrorToDer,
  maxControlMessageBytes,
} from './control/control-api.ts'
export { ControlClient, type ControlClientOptions, type ControlTlsFiles, controlClientTlsCredentials } from './control/control-client.ts'
export { type ControlHandlers, type ControlServer, type ControlServerOptions, controlServerCredentials, readPemFile, startControlServer } from './control/control-server.ts'
export { Engine, type EngineOptions, containerOclassAttribute, containerTypeAttribute, kvObjectLo, kvOidAttribute } from './server/engine.ts'
export { type Daemon, type DaemonOptions, engineControlHandlers, startDaemon } from './server/daemon.ts'
