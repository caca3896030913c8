/**
 * Strict validation of a parsed server configuration (plain data from YAML) into the typed
 * {@link ServerConfig}, with defaults filled in. Unknown keys are refused; every error is a
 * `DER_INVAL` whose message starts with the YAML path of the bad field
 * (`engines[0].storage[1].size: ...`) and ends with its line when known.
 *
 * @module
 */
import { DerError, parseLogMask } from '@x/common'
import { isAbsolute, join, resolve } from 'node:path'
import {
  defaultCertDir,
  defaultControlPort,
  defaultFabricIface,
  defaultFabricIfacePort,
  defaultLogMask,
  defaultProvider,
  defaultSystemName,
  defaultTelemetryPort,
} from './defaults.ts'
import type { AccessPoint, EngineConfig, ServerConfig, StorageTier, TransportConfig } from './model.ts'
import { describeValue, parseSizeBytes } from './sizes.ts'

/** A path into the YAML document: mapping keys and sequence indexes. */
export type ConfigPath = readonly (string | number)[]

/** Options of {@link validateServerConfig}. */
export interface ValidateOptions {
  /** Gives the 1-based line of the node at a path, when the source is known. */
  readonly lineOf?: (path: ConfigPath) => number | undefined
  /** Relative file paths (devices, logs, certificates) are resolved against this directory. */
  readonly baseDir?: string
}

/** Fabric providers the daemon accepts (`tcp`, and DAOS's names for the same transport). */
export const knownProviders = ['tcp', 'ofi+tcp', 'ofi+tcp;ofi_rxm'] as const
/** Most targets one engine may run. */
export const maxTargetsPerEngine = 64
/** Most engines one server may run. */
export const maxEnginesPerServer = 16
/** Smallest storage tier. */
export const minTierSizeBytes = 2 ** 20
/** DAOS's `DAOS_SYS_NAME_MAX`. */
export const maxSystemNameLength = 15
/** Allowed numbers of access points (management-service replicas): odd, as Raft wants. */
export const accessPointCounts = [1, 3, 5] as const

/** `engines[0].storage[1].size` from `['engines', 0, 'storage', 1, 'size']`. */
export function formatConfigPath(path: ConfigPath): string {
  let text = ''
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`
  return text === '' ? '(document)' : text
}

type Mapping = Record<string, unknown>

class Checker {
  constructor(private readonly options: ValidateOptions) {}

  fail(path: ConfigPath, message: string): never {
    const where = formatConfigPath(path)
    let line: number | undefined
    try {
      line = this.options.lineOf?.(path)
    } catch {
      line = undefined
    }
    const suffix = line === undefined ? '' : ` (line ${line})`
    throw new DerError('DER_INVAL', `${where}: ${message}${suffix}`, { details: { path: where, ...(line === undefined ? {} : { line }) } })
  }

  mapping(value: unknown, path: ConfigPath, allowed: readonly string[]): Mapping {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map || value instanceof Set) {
      this.fail(path, `expected a mapping, got ${describeValue(value)}`)
    }
    const map = value as Mapping
    for (const key of Object.keys(map)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown key '${key}' (allowed: ${allowed.join(', ')})`)
    }
    return map
  }

  list(value: unknown, path: ConfigPath): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `expected a list, got ${describeValue(value)}`)
    return value
  }

  integer(value: unknown, path: ConfigPath, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(path, `expected a whole number, got ${describeValue(value)}`)
    if (value < min || value > max) this.fail(path, `${value} is out of range ${min}..${max}`)
    return value
  }

  port(value: unknown, path: ConfigPath): number {
    return this.integer(value, path, 1, 65535)
  }

  boolean(value: unknown, path: ConfigPath): boolean {
    if (typeof value !== 'boolean') this.fail(path, `expected true or false, got ${describeValue(value)}`)
    return value
  }

  string(value: unknown, path: ConfigPath, pattern?: RegExp, hint?: string): string {
    if (typeof value !== 'string') this.fail(path, `expected a string, got ${describeValue(value)}`)
    if (pattern !== undefined && !pattern.test(value)) this.fail(path, `bad value ${describeValue(value)}${hint === undefined ? '' : ` (${hint})`}`)
    return value
  }

  filePath(value: unknown, path: ConfigPath): string {
    const text = this.string(value, path)
    if (text.trim() === '' || text.includes('\0') || text.length > 4096) this.fail(path, `bad file path ${describeValue(text)}`)
    const baseDir = this.options.baseDir
    return baseDir === undefined || isAbsolute(text) ? text : resolve(baseDir, text)
  }

  size(value: unknown, path: ConfigPath, minBytes: number): number {
    let bytes: number
    try {
      bytes = parseSizeBytes(value, formatConfigPath(path))
    } catch (e) {
      this.fail(path, (e as Error).message.replace(`${formatConfigPath(path)}: `, ''))
    }
    if (bytes < minBytes) this.fail(path, `${bytes} bytes is below the minimum of ${minBytes}`)
    return bytes
  }

  logMask(value: unknown, path: ConfigPath): string {
    const text = this.string(value, path)
    try {
      parseLogMask(text)
    } catch (e) {
      this.fail(path, (e as Error).message)
    }
    if (text.trim() === '') this.fail(path, 'empty log mask')
    return text
  }
}

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const ipv6Pattern = /^[0-9A-Fa-f:.]+$/

/**
 * Parses an access point `host[:port]` (IPv6 as `[addr]` or `[addr]:port`); the port defaults to
 * `defaultPort`. Throws `DER_INVAL` naming `what`.
 */
export function parseAccessPoint(text: string, defaultPort: number, what = 'access point'): AccessPoint {
  const bad = (why: string): never => {
    throw new DerError('DER_INVAL', `${what}: bad access point '${text}': ${why} (expected host[:port])`)
  }
  let host: string
  let portText: string | undefined
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) bad('unclosed [')
    host = text.slice(1, close)
    const rest = text.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) bad('junk after ]')
      portText = rest.slice(1)
    }
    if (!ipv6Pattern.test(host) || !host.includes(':')) bad('not an IPv6 address inside []')
  } else {
    const colon = text.lastIndexOf(':')
    if (colon >= 0 && text.indexOf(':') !== colon) bad('IPv6 addresses go in brackets')
    host = colon < 0 ? text : text.slice(0, colon)
    portText = colon < 0 ? undefined : text.slice(colon + 1)
    if (host.length > 253 || !hostPattern.test(host)) bad('bad host name')
  }
  let port = defaultPort
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) bad('the port must be a number')
    port = Number(portText)
    if (port < 1 || port > 65535) bad('the port must be in 1..65535')
  }
  return { host, port }
}

const topKeys = [
  'name',
  'port',
  'access_points',
  'transport_config',
  'provider',
  'control_log_mask',
  'control_log_file',
  'control_metadata',
  'telemetry_port',
  'engines',
] as const
const transportKeys = ['allow_insecure', 'ca_cert', 'cert', 'key', 'client_cert_dir'] as const
const engineKeys = ['targets', 'fabric_iface', 'fabric_iface_port', 'log_mask', 'log_file', 'storage'] as const
const tierKeys: Readonly<Record<StorageTier['class'], readonly string[]>> = { ram: ['class', 'size'], file: ['class', 'path', 'size'] }

/**
 * Validates plain data (as YAML gives it) into a {@link ServerConfig} with defaults filled in.
 * `null` or `undefined` stands for an empty document. Throws `DER_INVAL` on the first bad field.
 */
export function validateServerConfig(data: unknown, options: ValidateOptions = {}): ServerConfig {
  const c = new Checker(options)
  const top = c.mapping(data ?? {}, [], topKeys)

  const name = top.name === undefined ? defaultSystemName : c.string(top.name, ['name'], new RegExp(`^[A-Za-z0-9_.-]{1,${maxSystemNameLength}}$`), `1..${maxSystemNameLength} letters, digits, '_', '.', '-'`)
  const port = top.port === undefined ? defaultControlPort : c.port(top.port, ['port'])

  let accessPoints: AccessPoint[] = [{ host: '127.0.0.1', port }]
  if (top.access_points !== undefined) {
    const list = c.list(top.access_points, ['access_points'])
    accessPoints = list.map((entry, i) => {
      const text = c.string(entry, ['access_points', i])
      try {
        return parseAccessPoint(text, port, formatConfigPath(['access_points', i]))
      } catch (e) {
        return c.fail(['access_points', i], (e as Error).message.replace(`${formatConfigPath(['access_points', i])}: `, ''))
      }
    })
    if (!(accessPointCounts as readonly number[]).includes(accessPoints.length)) {
      c.fail(['access_points'], `${accessPoints.length} access points; use ${accessPointCounts.join(', ')} (an odd number, for a Raft majority)`)
    }
    const seen = new Set<string>()
    accessPoints.forEach((point, i) => {
      const key = `${point.host.toLowerCase()}:${point.port}`
      if (seen.has(key)) c.fail(['access_points', i], `duplicate access point ${key}`)
      seen.add(key)
    })
  }

  const transport = validateTransport(c, top.transport_config)

  const provider = top.provider === undefined ? defaultProvider : c.string(top.provider, ['provider'])
  if (!(knownProviders as readonly string[]).includes(provider)) c.fail(['provider'], `unknown provider '${provider}' (use one of ${knownProviders.join(', ')})`)

  const controlLogMask = top.control_log_mask === undefined ? defaultLogMask : c.logMask(top.control_log_mask, ['control_log_mask'])
  const controlLogFile = top.control_log_file === undefined ? undefined : c.filePath(top.control_log_file, ['control_log_file'])
  let controlMetadataPath: string | undefined
  if (top.control_metadata !== undefined) {
    const meta = c.mapping(top.control_metadata, ['control_metadata'], ['path'])
    if (meta.path === undefined) c.fail(['control_metadata', 'path'], 'required when control_metadata is given')
    controlMetadataPath = c.filePath(meta.path, ['control_metadata', 'path'])
  }
  const telemetryPort = top.telemetry_port === undefined ? defaultTelemetryPort : c.port(top.telemetry_port, ['telemetry_port'])
  if (telemetryPort === port) c.fail(['telemetry_port'], `${telemetryPort} is also the control port`)

  if (top.engines === undefined) c.fail(['engines'], 'required: at least one engine')
  const engineList = c.list(top.engines, ['engines'])
  if (engineList.length === 0) c.fail(['engines'], 'at least one engine is required')
  if (engineList.length > maxEnginesPerServer) c.fail(['engines'], `${engineList.length} engines; at most ${maxEnginesPerServer}`)
  const engines = engineList.map((entry, i) => validateEngine(c, entry, i))

  // Cross-field checks: distinct endpoints and device files.
  const endpoints = new Map<string, string>()
  engines.forEach((engine, i) => {
    const path = formatConfigPath(['engines', i, 'fabric_iface_port'])
    if (engine.fabricIfacePort === port || engine.fabricIfacePort === telemetryPort) {
      c.fail(['engines', i, 'fabric_iface_port'], `${engine.fabricIfacePort} is also the ${engine.fabricIfacePort === port ? 'control' : 'telemetry'} port`)
    }
    const key = `${engine.fabricIface}:${engine.fabricIfacePort}`
    const other = endpoints.get(key)
    if (other !== undefined) c.fail(['engines', i, 'fabric_iface_port'], `${key} is already used by ${other}`)
    endpoints.set(key, path)
  })
  const files = new Map<string, string>()
  engines.forEach((engine, i) =>
    engine.storage.forEach((tier, j) => {
      if (tier.class !== 'file') return
      const other = files.get(tier.path)
      if (other !== undefined) c.fail(['engines', i, 'storage', j, 'path'], `device file '${tier.path}' is already used by ${other}`)
      files.set(tier.path, formatConfigPath(['engines', i, 'storage', j, 'path']))
    }),
  )

  return { name, port, accessPoints, transport, provider, controlLogMask, controlLogFile, controlMetadataPath, telemetryPort, engines }
}

function validateTransport(c: Checker, value: unknown): TransportConfig {
  const base = ['transport_config']
  const t = value === undefined ? {} : c.mapping(value, base, transportKeys)
  const allowInsecure = t.allow_insecure === undefined ? false : c.boolean(t.allow_insecure, [...base, 'allow_insecure'])
  const pathOr = (key: string, fallback: string): string => (t[key] === undefined ? fallback : c.filePath(t[key], [...base, key]))
  return {
    allowInsecure,
    caCertPath: pathOr('ca_cert', join(defaultCertDir, 'daosCA.crt')),
    certPath: pathOr('cert', join(defaultCertDir, 'server.crt')),
    keyPath: pathOr('key', join(defaultCertDir, 'server.key')),
    clientCertDir: pathOr('client_cert_dir', join(defaultCertDir, 'clients')),
  }
}

function validateEngine(c: Checker, value: unknown, index: number): EngineConfig {
  const base = ['engines', index]
  const e = c.mapping(value, base, engineKeys)
  if (e.targets === undefined) c.fail([...base, 'targets'], `required: the number of targets, 1..${maxTargetsPerEngine}`)
  const targets = c.integer(e.targets, [...base, 'targets'], 1, maxTargetsPerEngine)
  const fabricIface = e.fabric_iface === undefined ? defaultFabricIface : c.string(e.fabric_iface, [...base, 'fabric_iface'], /^[A-Za-z0-9_.:-]{1,64}$/, 'an interface name or IP address')
  const fabricIfacePort = e.fabric_iface_port === undefined ? defaultFabricIfacePort + 1000 * index : c.port(e.fabric_iface_port, [...base, 'fabric_iface_port'])
  const logMask = e.log_mask === undefined ? defaultLogMask : c.logMask(e.log_mask, [...base, 'log_mask'])
  const logFile = e.log_file === undefined ? undefined : c.filePath(e.log_file, [...base, 'log_file'])
  if (e.storage === undefined) c.fail([...base, 'storage'], 'required: at least one storage tier (class ram or file)')
  const tiers = c.list(e.storage, [...base, 'storage'])
  if (tiers.length === 0) c.fail([...base, 'storage'], 'at least one storage tier is required')
  const storage = tiers.map((tier, j) => validateTier(c, tier, [...base, 'storage', j]))
  storage.forEach((tier, j) => {
    if (tier.class === 'ram' && j > 0) c.fail([...base, 'storage', j, 'class'], 'a ram tier must be the first tier (as DAOS wants SCM first)')
  })
  return { targets, fabricIface, fabricIfacePort, logMask, logFile, storage }
}

function validateTier(c: Checker, value: unknown, path: ConfigPath): StorageTier {
  const loose = c.mapping(value, path, ['class', 'path', 'size'])
  if (loose.class === undefined) c.fail([...path, 'class'], 'required: ram or file')
  const cls = c.string(loose.class, [...path, 'class'])
  if (cls !== 'ram' && cls !== 'file') c.fail([...path, 'class'], `unknown storage class '${cls}' (use ram or file)`)
  c.mapping(value, path, tierKeys[cls])
  if (loose.size === undefined) c.fail([...path, 'size'], 'required: a size such as 1G or 512MiB')
  const sizeBytes = c.size(loose.size, [...path, 'size'], minTierSizeBytes)
  if (cls === 'ram') return { class: 'ram', sizeBytes }
  if (loose.path === undefined) c.fail([...path, 'path'], 'required: the device file of a file tier')
  return { class: 'file', path: c.filePath(loose.path, [...path, 'path']), sizeBytes }
}
