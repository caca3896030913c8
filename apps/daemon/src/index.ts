/**
 * The engine daemon: its configuration, logging, metrics, telemetry endpoint, graceful shutdown,
 * the engine it runs and the gRPC control server `dmg` talks to. `src/main.ts` is the process
 * entry (`tsx --conditions=@x/source src/main.ts [-o CONFIG]`, or `$X_CONFIG`, else the embedded
 * default).
 *
 * - **Two engine paths.** With no config (the embedded default, `npm start`) the daemon runs
 *   the one-engine path ({@link Engine}, {@link startDaemon}). With a config file it runs one
 *   engine of a multi-engine system on `@x/engine`'s `SystemNode` ({@link startSystemDaemon});
 *   `$X_DAEMON_MODE=single|system` overrides the choice. On both paths each engine cart also
 *   runs `@x/engine`'s `CapsService`, the caps authority of POSIX containers (`@x/dfs`,
 *   `daos filesystem`), stopped before the cart at shutdown.
 * - **Multi-engine** ({@link startSystemDaemon}, {@link systemPlacement}): the control server
 *   listens on `engines[0].fabric_iface` and `port`; the daemon is an access point when that
 *   `host:port` is in `access_points` (Raft id = position + 1); context `tag` of its engine
 *   listens on `fabric_iface_port + tag`. It serves `GetAttachInfo` at once, resolves every
 *   access point's engine URI with `GetAttachInfo` (retrying, logging whom it waits for), opens
 *   its targets, starts its `SystemNode` (Raft logs in `FileStorage`s under the control metadata
 *   directory, {@link fileRaftStorage}; identity UUID kept, incarnation raised per start) and
 *   joins; then every control request goes to the node ({@link systemNodeControlHandlers}),
 *   which forwards to the right leader. Three daemons on one machine use 127.0.0.1/.2/.3 or
 *   distinct ports, each with its own data directory.
 * - **One engine** ({@link Engine}, {@link startDaemon}): opens or formats the file (or ram)
 *   devices of the engine's storage tiers into a `@x/engine` `TargetSet`
 *   ({@link openEngineTargets}: one device per target; a tier shared by several targets is split
 *   into per-target files `<path>.t<i>`), runs a single-replica management service (Raft on a
 *   `FileStorage` under the control metadata directory) that records the local rank as joined,
 *   and per pool a pool service and an `ObjectService` on cart over `TcpFabric`. Restarts reopen
 *   ready pools and clean up interrupted creates and destroys. Pool exclude/drain/reintegrate
 *   change the pool map only (no rebuild on one engine).
 * - **Control API** ({@link controlServiceDefinition}, {@link ControlClient},
 *   {@link startControlServer}): unary gRPC methods with JSON bodies for every `dmg` and `daos`
 *   command ({@link controlMethodNames}: system, storage, pool, ACL, container, attribute and
 *   snapshot operations, `PoolConnect`/`PoolDisconnect`, `GetAttachInfo`). Requests are checked
 *   against a schema before any handler runs ({@link validateControlRequest}: unknown, missing
 *   or mistyped fields are `DER_INVAL`). Requests from `daos` carry the caller's identity
 *   ({@link ClientIdentity}); the pool service checks it against the pool ACL (`DER_NO_PERM`).
 *   Pool user attributes live on a reserved container ({@link withPoolAttributes}). Failures carry
 *   their DER name in the `x-der-name` trailer and come back as `DerError`s
 *   ({@link grpcErrorToDer}; an unreachable or silent server is `DER_UNREACH`). Insecure when
 *   `allow_insecure` is true, otherwise mutual TLS with the config's `ca_cert`, `cert` and `key`
 *   ({@link controlServerCredentials}, {@link controlClientTlsCredentials}); clients ignore HTTP
 *   proxy variables.
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
  type AclResponse,
  type AttachInfo,
  type AttrNamesResponse,
  type AttrValuesResponse,
  type ClientIdentity,
  type ContainerAttrNamesRequest,
  type ContainerCreateRequest,
  type ContainerCreateResponse,
  type ContainerDestroyRequest,
  type ContainerDestroyResponse,
  type ContainerDestroySnapRequest,
  type ContainerGetPropRequest,
  type ContainerIdRequest,
  type ContainerInfo,
  type ContainerListRequest,
  type ContainerListResponse,
  type ContainerQueryResponse,
  type ContainerSetAttrRequest,
  type ContainerSetPropRequest,
  type ContainerSnapRequest,
  type ControlMethodName,
  type ControlMethods,
  type EmptyResponse,
  type FormatResult,
  type HostStorage,
  type HostUsage,
  type IdentifiedRequest,
  type PoolAclEntriesRequest,
  type PoolConnectRequest,
  type PoolConnectResponse,
  type PoolCreateRequest,
  type PoolCreateResponse,
  type PoolDeleteAclRequest,
  type PoolDestroyRequest,
  type PoolDisconnectRequest,
  type PoolDestroyResponse,
  type PoolEvictResponse,
  type PoolGetAttrRequest,
  type PoolGetPropRequest,
  type PoolIdRequest,
  type PoolInfo,
  type PoolListRequest,
  type PoolListResponse,
  type PoolMapChangeResponse,
  type PoolQueryResponse,
  type PoolSetAttrRequest,
  type PoolSetPropRequest,
  type PoolSpace,
  type PoolTargetsRequest,
  type PoolUserRequest,
  type PropertiesResponse,
  type RankOperationRequest,
  type RankOperationResponse,
  type RankResult,
  type RankUris,
  type RebuildStatus,
  type SnapshotInfo,
  type SnapshotListResponse,
  type StorageFormatRequest,
  type StorageFormatResponse,
  type StorageLocalRequest,
  type StorageScanResponse,
  type StorageTierInfo,
  type StorageUsageResponse,
  type SystemMember,
  type SystemQueryRequest,
  type SystemQueryResponse,
  type TargetUsage,
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
export { type RequestFieldKind, controlRequestSchemas, maxRequestItems, maxRequestStringLength, validateControlRequest } from './control/requests.ts'
export { type BackendHandlers, poolAttributesContainer, reservedNamePrefix, withPoolAttributes } from './server/pool-attributes.ts'
export { ControlClient, type ControlClientOptions, type ControlTlsFiles, controlClientTlsCredentials } from './control/control-client.ts'
export { type ControlHandlers, type ControlServer, type ControlServerOptions, controlServerCredentials, partialControlHandlers, readPemFile, startControlServer } from './control/control-server.ts'
export { Engine, type EngineOptions, containerOclassAttribute, containerTypeAttribute, kvObjectLo, kvOidAttribute, snapshotNameAttributePrefix } from './server/engine.ts'
export { type Daemon, type DaemonOptions, engineControlHandlers, startDaemon } from './server/daemon.ts'
export { type EngineTargets, type OpenTargetsOptions, openEngineTargets } from './server/targets.ts'
export {
  type SystemDaemon,
  type SystemDaemonOptions,
  type SystemPlacement,
  fileRaftStorage,
  startSystemDaemon,
  systemNodeControlHandlers,
  systemPlacement,
} from './server/system-daemon.ts'
