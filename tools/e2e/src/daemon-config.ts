/**
 * The daemon configs of a loopback cluster: one YAML file per daemon (one engine each), in the
 * schema of apps/daemon's `daos_server.yml` (snake_case keys, see apps/daemon/src/config/).
 *
 * Layout: daemon `i` listens for control on its own port, runs one engine whose fabric endpoint
 * is `host:fabricPort`, exports telemetry on its own port and keeps its file devices under its
 * own data directory. The access points are the control addresses of the first 1, 3 or 5
 * daemons (Raft wants an odd number). Pure: no I/O.
 *
 * @module
 */
import { DerError } from '@x/common'

/** One daemon (one engine) of a loopback cluster. */
export interface DaemonSlot {
  /** Position in the cluster, 0-based (not necessarily the rank the system gives it). */
  readonly index: number
  /** Loopback address it binds (control, fabric): `127.0.0.1`, or `127.0.0.2`... for distinct hosts. */
  readonly host: string
  /** Control (gRPC) port. */
  readonly controlPort: number
  /** Prometheus port. */
  readonly telemetryPort: number
  /** Data-plane port of its engine. */
  readonly fabricPort: number
  /** Its data directory (`X_DATA_DIR`, device files, control metadata, logs). */
  readonly dataDir: string
  /** Where its config file is written. */
  readonly configPath: string
  /** Targets of its engine. */
  readonly targets: number
  /** Size of its one file device. */
  readonly deviceSizeBytes: number
  /** A `fault_path` to write (distinct per daemon), when the daemon's schema accepts one. */
  readonly faultPath?: string | undefined
}

/** The whole cluster as the configs describe it. */
export interface ClusterLayout {
  /** System name (1..15 of `[A-Za-z0-9_.-]`). */
  readonly systemName: string
  /** The daemons, by index. */
  readonly daemons: readonly DaemonSlot[]
}

/** How many access points a cluster of `daemons` daemons gets: the largest of 1, 3, 5 that fits. */
export function accessPointCount(daemons: number): number {
  if (!Number.isInteger(daemons) || daemons < 1) throw new DerError('DER_INVAL', `a cluster needs at least one daemon, got ${daemons}`)
  return daemons >= 5 ? 5 : daemons >= 3 ? 3 : 1
}

/** The access points (`host:port`) of a layout. */
export function accessPoints(layout: ClusterLayout): string[] {
  return layout.daemons.slice(0, accessPointCount(layout.daemons.length)).map((d) => `${d.host}:${d.controlPort}`)
}

const q = (text: string): string => JSON.stringify(text)

/** The device file of a daemon. */
export function deviceFilePath(slot: DaemonSlot): string {
  return `${slot.dataDir}/bdev0.img`
}

/** The YAML text of daemon `index`'s config. */
export function daemonConfigYaml(layout: ClusterLayout, index: number): string {
  const slot = layout.daemons[index]
  if (slot === undefined) throw new DerError('DER_INVAL', `no daemon ${index} in a cluster of ${layout.daemons.length}`)
  const lines = [
    `# daemon ${index} of an @x/e2e loopback cluster`,
    `name: ${q(layout.systemName)}`,
    `port: ${slot.controlPort}`,
    'access_points:',
    ...accessPoints(layout).map((ap) => `  - ${q(ap)}`),
    'transport_config:',
    '  allow_insecure: true',
    'provider: tcp',
    'control_log_mask: INFO',
    'control_metadata:',
    `  path: ${q(`${slot.dataDir}/control_meta`)}`,
    `telemetry_port: ${slot.telemetryPort}`,
    ...(slot.faultPath === undefined ? [] : [`fault_path: ${q(slot.faultPath)}`]),
    'engines:',
    `  - targets: ${slot.targets}`,
    `    fabric_iface: ${q(slot.host)}`,
    `    fabric_iface_port: ${slot.fabricPort}`,
    '    log_mask: INFO',
    '    storage:',
    '      - class: file',
    `        path: ${q(deviceFilePath(slot))}`,
    `        size: ${slot.deviceSizeBytes}`,
    '',
  ]
  return lines.join('\n')
}
