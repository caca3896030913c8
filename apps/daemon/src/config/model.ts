/**
 * The typed model of the server configuration, our `daos_server.yml`. YAML keys are snake_case
 * (`access_points`, `telemetry_port`); the model uses camelCase with units last. Every field of
 * the model is filled in: {@link loadServerConfig} applies the defaults of `defaults.ts`.
 *
 * @module
 */

/** A management-service replica to contact: `host[:port]` in the YAML. */
export interface AccessPoint {
  /** Host name or IP address (IPv6 in brackets in the YAML: `[::1]:10001`). */
  readonly host: string
  /** Control port; defaults to the config's `port`. */
  readonly port: number
}

/** `transport_config`: TLS for the control plane, or none when `allow_insecure` is true. */
export interface TransportConfig {
  /** `allow_insecure`: no certificates, plain gRPC (default false, as in DAOS). */
  readonly allowInsecure: boolean
  /** `ca_cert`: the CA certificate that signs servers and admin clients. */
  readonly caCertPath: string
  /** `cert`: this server's certificate. */
  readonly certPath: string
  /** `key`: this server's private key. */
  readonly keyPath: string
  /** `client_cert_dir`: certificates of the clients allowed to connect. */
  readonly clientCertDir: string
}

/** A storage tier held in memory (DAOS's `class: ram`, tmpfs SCM). */
export interface RamTier {
  readonly class: 'ram'
  /** `size`: bytes of memory for this tier. */
  readonly sizeBytes: number
}

/** A storage tier on a file-backed device (our stand-in for DAOS's `dcpm`/`nvme` devices). */
export interface FileTier {
  readonly class: 'file'
  /** `path`: the device file (created sparse at format time). Absolute after loading a file. */
  readonly path: string
  /** `size`: bytes of the device. */
  readonly sizeBytes: number
}

/** One `storage[]` tier of an engine. */
export type StorageTier = RamTier | FileTier

/** The storage tier classes. */
export const storageClasses = ['ram', 'file'] as const

/** One `engines[]` entry: an engine process with its targets, fabric endpoint, logs and storage. */
export interface EngineConfig {
  /** `targets`: VOS targets (one service loop each), 1..64. Required. */
  readonly targets: number
  /** `fabric_iface`: interface name or IP address of the data plane (default `127.0.0.1`). */
  readonly fabricIface: string
  /** `fabric_iface_port`: data-plane port (default 31416 + 1000 × engine index). */
  readonly fabricIfacePort: number
  /** `log_mask`: DAOS `D_LOG_MASK` syntax, `ERR,raft=DEBUG` (default `INFO`). */
  readonly logMask: string
  /** `log_file`: where the engine writes its JSON log lines; absent means stdout. */
  readonly logFile: string | undefined
  /** `storage`: tiers, at least one; a `ram` tier, if any, comes first. */
  readonly storage: readonly StorageTier[]
}

/** The whole server configuration. */
export interface ServerConfig {
  /** `name`: the system name (default `daos_server`). */
  readonly name: string
  /** `port`: the control-plane (gRPC) port (default 10001). */
  readonly port: number
  /** `access_points`: management-service replicas (default `127.0.0.1` on `port`); 1, 3 or 5 of them. */
  readonly accessPoints: readonly AccessPoint[]
  /** `transport_config`: control-plane security. */
  readonly transport: TransportConfig
  /** `provider`: the fabric provider (default `tcp`). */
  readonly provider: string
  /** `control_log_mask`: log mask of the control server (default `INFO`). */
  readonly controlLogMask: string
  /** `control_log_file`: the control server's log file; absent means stdout. */
  readonly controlLogFile: string | undefined
  /** `control_metadata.path`: where the management service keeps its database; absent means in memory. */
  readonly controlMetadataPath: string | undefined
  /** `telemetry_port`: the Prometheus endpoint's port, on 127.0.0.1 (default 9191). */
  readonly telemetryPort: number
  /** `engines`: at least one. */
  readonly engines: readonly EngineConfig[]
}
