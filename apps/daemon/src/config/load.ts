/**
 * Loading the server configuration from YAML (the `yaml` package), and dumping it back.
 *
 * @module
 */
import { DerError, isDerError } from '@x/common'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { type Document, LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, stringify } from 'yaml'
import { embeddedDefaultConfig, resolveDataDir } from './defaults.ts'
import type { ServerConfig, StorageTier } from './model.ts'
import { formatSizeBytes } from './sizes.ts'
import { type ConfigPath, validateServerConfig } from './validate.ts'

/** Largest config text accepted. */
export const maxConfigBytes = 1 << 20

/** Options of {@link loadServerConfig}. */
export interface LoadOptions {
  /** Relative file paths in the config are resolved against this directory (the config file's). */
  readonly baseDir?: string
  /** The source's name for messages (a file path). */
  readonly sourceName?: string
}

/**
 * Parses and validates a YAML server config. Unknown keys, wrong types, bad ranges and YAML
 * syntax errors all throw `DER_INVAL`, naming the field's YAML path and its line. Nothing else is
 * thrown.
 */
export function loadServerConfig(text: string, options: LoadOptions = {}): ServerConfig {
  const prefix = options.sourceName === undefined ? '' : `${options.sourceName}: `
  try {
    if (typeof text !== 'string') throw new DerError('DER_INVAL', 'config text must be a string')
    if (text.length > maxConfigBytes) throw new DerError('DER_INVAL', `config is ${text.length} bytes; at most ${maxConfigBytes}`)
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, strict: true, schema: 'core', merge: false })
    // Warnings (unresolved tags such as `!foo`) are refused too: a config means what it says.
    const syntax = doc.errors[0] ?? doc.warnings[0]
    if (syntax !== undefined) {
      const line = syntax.linePos?.[0].line
      const first = (syntax.message.split('\n')[0] ?? syntax.message).replace(/:\s*$/, '')
      throw new DerError('DER_INVAL', `YAML syntax error: ${first}`, { details: line === undefined ? {} : { line } })
    }
    const data: unknown = doc.toJS({ maxAliasCount: 50 })
    return validateServerConfig(data, {
      lineOf: (path) => lineOf(doc, lineCounter, path),
      ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
    })
  } catch (e) {
    if (isDerError(e)) throw prefix === '' ? e : new DerError(e.name, `${prefix}${e.message}`, { cause: e, details: e.details })
    throw new DerError('DER_INVAL', `${prefix}bad config: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
}

/** Reads and loads a config file; relative paths inside it are resolved against its directory. */
export async function loadServerConfigFile(path: string): Promise<ServerConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new DerError(code === 'ENOENT' ? 'DER_NONEXIST' : 'DER_INVAL', `cannot read config file '${path}': ${(e as Error).message}`, { cause: e })
  }
  return loadServerConfig(text, { baseDir: dirname(resolve(path)), sourceName: path })
}

/** Options of {@link resolveServerConfig}. */
export interface ResolveConfigOptions {
  /** The `-o`/`--config` path given by the user, if any. */
  readonly configPath?: string | undefined
  /** The repository root, under which the embedded default keeps `.x-data`. */
  readonly repoRoot: string
  /** The environment (`X_DATA_DIR`). */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** A resolved config and where it came from. */
export interface ResolvedServerConfig {
  readonly config: ServerConfig
  /** The config file, or `'embedded'` for the embedded default. */
  readonly source: string
  /** The embedded default's data directory (undefined for a config file). */
  readonly dataDir: string | undefined
}

/**
 * The config the daemon runs with: the given file, or with none the embedded default under
 * {@link resolveDataDir}'s data directory.
 */
export async function resolveServerConfig(options: ResolveConfigOptions): Promise<ResolvedServerConfig> {
  if (options.configPath !== undefined) {
    return { config: await loadServerConfigFile(options.configPath), source: options.configPath, dataDir: undefined }
  }
  const dataDir = resolveDataDir(options.repoRoot, options.env ?? {})
  return { config: embeddedDefaultConfig(dataDir), source: 'embedded', dataDir }
}

/** The 1-based line of the node at `path`, or of its deepest existing ancestor. */
function lineOf(doc: Document, lineCounter: LineCounter, path: ConfigPath): number | undefined {
  let node: unknown = doc.contents
  let offset = isNode(node) ? node.range?.[0] : undefined
  for (const part of path) {
    let next: unknown
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part))
      if (pair === undefined) break
      if (isNode(pair.key)) offset = pair.key.range?.[0] ?? offset
      next = pair.value
    } else if (isSeq(node) && typeof part === 'number') {
      next = node.items[part]
    } else {
      break
    }
    if (!isNode(next)) break
    offset = next.range?.[0] ?? offset
    node = next
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line
}

function tierToYaml(tier: StorageTier): Record<string, unknown> {
  return tier.class === 'ram'
    ? { class: 'ram', size: formatSizeBytes(tier.sizeBytes) }
    : { class: 'file', path: tier.path, size: formatSizeBytes(tier.sizeBytes) }
}

/** The config as YAML data with every field written out (snake_case keys, sizes with units). */
export function serverConfigToYamlData(config: ServerConfig): Record<string, unknown> {
  return {
    name: config.name,
    port: config.port,
    access_points: config.accessPoints.map((p) => `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`),
    transport_config: {
      allow_insecure: config.transport.allowInsecure,
      ca_cert: config.transport.caCertPath,
      cert: config.transport.certPath,
      key: config.transport.keyPath,
      client_cert_dir: config.transport.clientCertDir,
    },
    provider: config.provider,
    control_log_mask: config.controlLogMask,
    ...(config.controlLogFile === undefined ? {} : { control_log_file: config.controlLogFile }),
    ...(config.controlMetadataPath === undefined ? {} : { control_metadata: { path: config.controlMetadataPath } }),
    telemetry_port: config.telemetryPort,
    engines: config.engines.map((engine) => ({
      targets: engine.targets,
      fabric_iface: engine.fabricIface,
      fabric_iface_port: engine.fabricIfacePort,
      log_mask: engine.logMask,
      ...(engine.logFile === undefined ? {} : { log_file: engine.logFile }),
      storage: engine.storage.map(tierToYaml),
    })),
  }
}

/** Dumps a config as YAML that {@link loadServerConfig} reads back to the same model. */
export function dumpServerConfig(config: ServerConfig): string {
  return stringify(serverConfigToYamlData(config))
}
