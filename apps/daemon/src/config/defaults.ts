/**
 * Defaults of the server configuration and the embedded default: the one-node system that runs
 * when no config file is given.
 *
 * | YAML key | default |
 * |---|---|
 * | `name` | `daos_server` |
 * | `port` | 10001 |
 * | `access_points` | `127.0.0.1` on `port` |
 * | `transport_config.allow_insecure` | false |
 * | `transport_config.ca_cert` / `cert` / `key` | `/etc/daos/certs/daosCA.crt`, `server.crt`, `server.key` |
 * | `transport_config.client_cert_dir` | `/etc/daos/certs/clients` |
 * | `provider` | `tcp` |
 * | `control_log_mask` | `INFO` |
 * | `telemetry_port` | 9191 |
 * | `engines[i].fabric_iface` | `127.0.0.1` |
 * | `engines[i].fabric_iface_port` | 31416 + 1000 × i |
 * | `engines[i].log_mask` | `INFO` |
 *
 * Required: `engines` (at least one), and in each engine `targets` and `storage`.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import type { ServerConfig } from './model.ts'

/** The default system name, as in DAOS. */
export const defaultSystemName = 'daos_server'
/** The default control-plane port, as in DAOS. */
export const defaultControlPort = 10001
/** The default Prometheus port, as in DAOS. */
export const defaultTelemetryPort = 9191
/** The default fabric provider. */
export const defaultProvider = 'tcp'
/** The default fabric interface address. */
export const defaultFabricIface = '127.0.0.1'
/** The first engine's default data-plane port; engine `i` gets this plus 1000 × i. */
export const defaultFabricIfacePort = 31416
/** The default log mask of engines and the control server. */
export const defaultLogMask = 'INFO'
/** DAOS's default certificate directory. */
export const defaultCertDir = '/etc/daos/certs'
/** Where the embedded default keeps its data, relative to the repository root. */
export const defaultDataDirName = '.x-data'
/** The environment variable that overrides the data directory of the embedded default. */
export const dataDirEnvVar = 'X_DATA_DIR'
/** Targets of the embedded default's engine. */
export const embeddedTargets = 4
/** Size of each file-backed device of the embedded default (files are sparse). */
export const embeddedDeviceSizeBytes = 2 ** 30

/**
 * The data directory of the embedded default: `$X_DATA_DIR` when set (resolved against
 * `repoRoot` if relative), otherwise `<repoRoot>/.x-data`.
 */
export function resolveDataDir(repoRoot: string, env: Readonly<Record<string, string | undefined>> = {}): string {
  const fromEnv = env[dataDirEnvVar]
  return fromEnv !== undefined && fromEnv !== '' ? resolve(repoRoot, fromEnv) : resolve(repoRoot, defaultDataDirName)
}

/**
 * The embedded default: a one-node system named `daos_server`, one engine with
 * {@link embeddedTargets} targets on two file-backed devices under `dataDir`, the control port
 * 10001 with insecure local access, telemetry on 127.0.0.1:9191 and the `tcp` provider on
 * 127.0.0.1. Logs go to stdout.
 */
export function embeddedDefaultConfig(dataDir: string): ServerConfig {
  const root = resolve(dataDir)
  return {
    name: defaultSystemName,
    port: defaultControlPort,
    accessPoints: [{ host: '127.0.0.1', port: defaultControlPort }],
    transport: {
      allowInsecure: true,
      caCertPath: join(defaultCertDir, 'daosCA.crt'),
      certPath: join(defaultCertDir, 'server.crt'),
      keyPath: join(defaultCertDir, 'server.key'),
      clientCertDir: join(defaultCertDir, 'clients'),
    },
    provider: defaultProvider,
    controlLogMask: defaultLogMask,
    controlLogFile: undefined,
    controlMetadataPath: join(root, 'control_meta'),
    telemetryPort: defaultTelemetryPort,
    engines: [
      {
        targets: embeddedTargets,
        fabricIface: defaultFabricIface,
        fabricIfacePort: defaultFabricIfacePort,
        logMask: defaultLogMask,
        logFile: undefined,
        storage: [
          { class: 'file', path: join(root, 'engine0', 'bdev0.img'), sizeBytes: embeddedDeviceSizeBytes },
          { class: 'file', path: join(root, 'engine0', 'bdev1.img'), sizeBytes: embeddedDeviceSizeBytes },
        ],
      },
    ],
  }
}
