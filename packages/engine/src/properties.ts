/**
 * Validation of system, pool and container properties (names, ranges and defaults after DAOS).
 * Values are strings in canonical form; each validator returns the canonical form or throws
 * DER_INVAL.
 *
 * @module
 */
import { DerError } from '@x/common'

/** How one property is checked. */
export interface PropertySpec {
  /** Returns the canonical value or throws DER_INVAL. */
  readonly check: (value: string) => string
  /** The value a new entity gets when none is given (absent: no default). */
  readonly defaultValue?: string
  /** Set only by the service itself. */
  readonly readOnly?: boolean
  /** Settable at creation, never after. */
  readonly immutable?: boolean
}

/** A table of property specs by name. */
export type PropertyTable = Readonly<Record<string, PropertySpec>>

function oneOf(...choices: string[]): (value: string) => string {
  return (value) => {
    if (!choices.includes(value)) throw new DerError('DER_INVAL', `expected one of ${choices.join(', ')}`)
    return value
  }
}

function intIn(min: number, max: number): (value: string) => string {
  return (value) => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) throw new DerError('DER_INVAL', `expected an integer in [${min}, ${max}]`)
    const n = Number(value)
    if (n < min || n > max) throw new DerError('DER_INVAL', `expected an integer in [${min}, ${max}]`)
    return String(n)
  }
}

function flags(allowed: string[], none: string): (value: string) => string {
  return (value) => {
    if (value === none) return value
    const parts = value.split(';')
    const seen = new Set<string>()
    for (const p of parts) {
      if (!allowed.includes(p)) throw new DerError('DER_INVAL', `expected '${none}' or a ;-list of ${allowed.join(', ')}`)
      if (seen.has(p)) throw new DerError('DER_INVAL', `flag ${p} repeated`)
      seen.add(p)
    }
    return allowed.filter((a) => seen.has(a)).join(';')
  }
}

/** Whether `text` looks like a UUID (8-4-4-4-12 hex digits). */
export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)
}

/** Checks a pool or container label: 1..127 characters of `[A-Za-z0-9_.:-]`, not a UUID. */
export function checkLabel(label: string): string {
  if (label.length < 1 || label.length > 127) throw new DerError('DER_INVAL', `label must have 1..127 characters, got ${label.length}`)
  if (!/^[A-Za-z0-9_.:-]+$/.test(label)) throw new DerError('DER_INVAL', `label '${label}' may hold only letters, digits and _ . : -`)
  if (isUuid(label)) throw new DerError('DER_INVAL', `label '${label}' must not be a UUID`)
  return label
}

/** Checks a UUID and returns it in lower case; DER_INVAL otherwise. */
export function checkUuid(text: string, what: string): string {
  if (!isUuid(text)) throw new DerError('DER_INVAL', `${what} '${text}' is not a UUID`)
  return text.toLowerCase()
}

const userOrGroup = (value: string): string => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@$/.test(value)) throw new DerError('DER_INVAL', 'expected name@')
  return value
}

/** System properties (`dmg system get-prop|set-prop`). */
export const systemProperties: PropertyTable = {
  daos_system: { check: (v) => v, defaultValue: 'daos_server', readOnly: true },
  daos_version: { check: (v) => v, defaultValue: '2.8.0', readOnly: true },
  pool_scrub_mode: { check: oneOf('off', 'lazy', 'timed'), defaultValue: 'off' },
  pool_scrub_thresh: { check: intIn(0, 1_000_000), defaultValue: '0' },
  self_heal: { check: flags(['exclude', 'pool_exclude', 'pool_rebuild'], 'none'), defaultValue: 'exclude;pool_exclude;pool_rebuild' },
}

/** Pool properties (`dmg pool get-prop|set-prop`). */
export const poolProperties: PropertyTable = {
  label: { check: checkLabel, defaultValue: 'pool_label_not_set' },
  reclaim: { check: oneOf('disabled', 'lazy', 'time'), defaultValue: 'lazy' },
  self_heal: { check: flags(['exclude', 'rebuild', 'delay_rebuild'], 'none'), defaultValue: 'exclude;rebuild' },
  space_rb: { check: intIn(0, 100), defaultValue: '5' },
  ec_cell_sz: { check: intIn(1024, 1 << 30), defaultValue: String(128 * 1024) },
  rd_fac: { check: intIn(0, 4), defaultValue: '3' },
  ec_pda: { check: intIn(0, 1 << 30), defaultValue: '1' },
  perf_domain: { check: oneOf('root', 'group'), defaultValue: 'root' },
  data_thresh: { check: intIn(0, 1 << 30), defaultValue: '4096' },
  scrub: { check: oneOf('off', 'lazy', 'timed'), defaultValue: 'off' },
  scrub_freq: { check: intIn(1, 1 << 30), defaultValue: '604800' },
  scrub_thresh: { check: intIn(0, 1 << 30), defaultValue: '0' },
  svc_rf: { check: intIn(0, 4), defaultValue: '2', immutable: true },
  checkpoint: { check: oneOf('disabled', 'timed', 'lazy'), defaultValue: 'timed' },
  checkpoint_freq: { check: intIn(1, 1_000_000), defaultValue: '5' },
  checkpoint_thresh: { check: intIn(10, 75), defaultValue: '50' },
  reintegration: { check: oneOf('data_sync', 'no_data_sync', 'incremental'), defaultValue: 'data_sync' },
  owner: { check: userOrGroup },
  group: { check: userOrGroup },
  global_version: { check: (v) => v, defaultValue: '4', readOnly: true },
  upgrade_status: { check: (v) => v, defaultValue: 'not started', readOnly: true },
}

/** Container properties (`daos container get-prop|set-prop`). */
export const containerProperties: PropertyTable = {
  label: { check: checkLabel, defaultValue: 'container_label_not_set' },
  layout_type: { check: oneOf('POSIX', 'HDF5', 'PYTHON', 'SPARK', 'DATABASE', 'ROOT', 'SEISMIC', 'METEO', 'unknown'), defaultValue: 'unknown', immutable: true },
  layout_version: { check: intIn(0, 65535), defaultValue: '1', immutable: true },
  cksum: { check: oneOf('off', 'adler32', 'crc16', 'crc32', 'crc64', 'sha1', 'sha256', 'sha512'), defaultValue: 'off', immutable: true },
  cksum_size: { check: intIn(1, 1 << 30), defaultValue: String(32 * 1024), immutable: true },
  // File chunk size of a POSIX container in bytes (`daos container create --chunk-size`, read by @x/dfs).
  chunk_size: { check: intIn(4096, 1 << 30), immutable: true },
  srv_cksum: { check: oneOf('on', 'off'), defaultValue: 'off', immutable: true },
  rd_fac: { check: intIn(0, 4), immutable: true },
  rd_lvl: { check: oneOf('rank', 'node'), defaultValue: 'node', immutable: true },
  status: { check: oneOf('healthy', 'unclean'), defaultValue: 'healthy' },
  ec_cell_sz: { check: intIn(1024, 1 << 30), immutable: true },
  max_snapshot: { check: intIn(0, 1 << 20), defaultValue: '0' },
  dedup: { check: oneOf('off', 'memcmp', 'hash'), defaultValue: 'off', immutable: true },
  dedup_threshold: { check: intIn(0, 1 << 30), defaultValue: '4096', immutable: true },
  compression: { check: oneOf('off', 'lz4', 'deflate', 'deflate1', 'deflate2', 'deflate3', 'deflate4'), defaultValue: 'off', immutable: true },
  encryption: { check: oneOf('off', 'aes-xts128', 'aes-xts256', 'aes-cbc128', 'aes-cbc192', 'aes-cbc256', 'aes-gcm128', 'aes-gcm256'), defaultValue: 'off', immutable: true },
  scrub_disabled: { check: oneOf('true', 'false'), defaultValue: 'false' },
  owner: { check: userOrGroup },
  group: { check: userOrGroup },
}

/** What {@link checkProperties} is checking for. */
export type PropertyUse = 'create' | 'set'

/**
 * Validates `props` against `table` for a create or a later set: unknown names, read-only ones,
 * immutable ones on `set`, and bad values are DER_INVAL naming the property. Returns canonical values.
 */
export function checkProperties(table: PropertyTable, props: ReadonlyMap<string, string>, use: PropertyUse, what: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const name of [...props.keys()].sort()) {
    const spec = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined
    if (spec === undefined) throw new DerError('DER_INVAL', `${what}: unknown property '${name}'`)
    if (spec.readOnly === true) throw new DerError('DER_INVAL', `${what}: property '${name}' is read-only`)
    if (use === 'set' && spec.immutable === true) throw new DerError('DER_INVAL', `${what}: property '${name}' is immutable after creation`)
    const value = props.get(name) as string
    try {
      out.set(name, spec.check(value))
    } catch (e) {
      throw new DerError('DER_INVAL', `${what}: property '${name}' value '${value}': ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  return out
}

/** The defaults of a table merged with (already checked) `props`, sorted by name. */
export function withDefaults(table: PropertyTable, props: ReadonlyMap<string, string>): Map<string, string> {
  const merged = new Map<string, string>()
  for (const name of Object.keys(table).sort()) {
    const given = props.get(name)
    const spec = table[name] as PropertySpec
    if (given !== undefined) merged.set(name, given)
    else if (spec.defaultValue !== undefined) merged.set(name, spec.defaultValue)
  }
  return merged
}
