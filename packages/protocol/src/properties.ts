/**
 * Pool and container properties with DAOS's names, values, ranges and defaults, parsed from the
 * `k:v[,k:v]` text `dmg` and `daos` take (multi-value values use `;`), with a clear `DER_INVAL`
 * for anything wrong. Values travel as canonical text ({@link formatPropertyValue}).
 *
 * @module
 */
import { DerError } from '@x/common'
import { isUuid } from './rpc/schema.ts'

/** Which entity a property belongs to. */
export type PropertyScope = 'pool' | 'container'

/** A parsed property value: a string (enums, labels, lists), a number, or a boolean. */
export type PropertyValue = string | number | boolean

/** How a property's value is written and checked. */
export type PropertyKind =
  | { readonly type: 'label' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'flags'; readonly values: readonly string[] }
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly unit?: 'bytes' | 'percent' | 'seconds' }
  | { readonly type: 'bool' }
  | { readonly type: 'text' }

/** One property definition. */
export interface PropertyDefinition {
  /** DAOS's key (`rd_fac`). */
  readonly name: string
  /** Other accepted keys (`rf` for `rd_fac`). */
  readonly aliases: readonly string[]
  /** What `get-prop` prints as its description. */
  readonly description: string
  /** The entity it belongs to. */
  readonly scope: PropertyScope
  /** Its value type. */
  readonly kind: PropertyKind
  /** Its default, or undefined when computed (read-only ones) or inherited. */
  readonly defaultValue: PropertyValue | undefined
  /** Set only by the system (`global_version`, `svc_list`). */
  readonly readOnly: boolean
  /** Settable at create time only. */
  readonly immutable: boolean
}

const KiB = 1024
const GiB = 1024 * 1024 * 1024

function def(
  scope: PropertyScope,
  name: string,
  description: string,
  kind: PropertyKind,
  defaultValue: PropertyValue | undefined,
  options: { aliases?: readonly string[]; readOnly?: boolean; immutable?: boolean } = {},
): PropertyDefinition {
  return Object.freeze({ name, aliases: options.aliases ?? [], description, scope, kind, defaultValue, readOnly: options.readOnly ?? false, immutable: options.immutable ?? false })
}

const onOff = { type: 'bool' } as const
const ecCell = { type: 'int', min: KiB, max: GiB, unit: 'bytes' } as const

/** Every pool property. */
export const poolProperties: readonly PropertyDefinition[] = Object.freeze([
  def('pool', 'label', 'Pool label', { type: 'label' }, 'pool_label_not_set'),
  def('pool', 'reclaim', 'Reclaim strategy', { type: 'enum', values: ['disabled', 'lazy', 'time'] }, 'lazy'),
  def('pool', 'self_heal', 'Self-healing policy', { type: 'flags', values: ['none', 'exclude', 'rebuild', 'delay_rebuild'] }, 'exclude;rebuild'),
  def('pool', 'space_rb', 'Rebuild space ratio', { type: 'int', min: 0, max: 100, unit: 'percent' }, 5),
  def('pool', 'ec_cell_sz', 'EC cell size', ecCell, 128 * KiB),
  def('pool', 'rd_fac', 'Pool redundancy factor', { type: 'int', min: 0, max: 4 }, 3, { aliases: ['rf'] }),
  def('pool', 'ec_pda', 'Performance domain affinity level of EC', { type: 'int', min: 0, max: 0x7fff_ffff }, 1),
  def('pool', 'rp_pda', 'Performance domain affinity level of RP', { type: 'int', min: -1, max: 0x7fff_ffff }, -1),
  def('pool', 'perf_domain', 'Pool performance domain', { type: 'enum', values: ['root', 'group'] }, 'root'),
  def('pool', 'data_thresh', 'Data bdev threshold size', { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes' }, 4 * KiB),
  def('pool', 'global_version', 'Global Version', { type: 'int', min: 0, max: 0xffff_ffff }, 4, { readOnly: true }),
  def('pool', 'upgrade_status', 'Upgrade Status', { type: 'enum', values: ['not started', 'in progress', 'completed', 'failed'] }, 'not started', { readOnly: true }),
  def('pool', 'scrub', 'Checksum scrubbing mode', { type: 'enum', values: ['off', 'lazy', 'timed'] }, 'off'),
  def('pool', 'scrub_freq', 'Checksum scrubbing frequency', { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'seconds' }, 604800),
  def('pool', 'scrub_thresh', 'Checksum scrubbing threshold', { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, 0),
  def('pool', 'svc_rf', 'Pool service redundancy factor', { type: 'int', min: 0, max: 4 }, 2, { immutable: true }),
  def('pool', 'svc_list', 'Pool service replica list', { type: 'text' }, undefined, { readOnly: true }),
  def('pool', 'checkpoint', 'Checkpoint mode', { type: 'enum', values: ['disabled', 'timed', 'lazy'] }, 'timed'),
  def('pool', 'checkpoint_freq', 'Checkpoint frequency', { type: 'int', min: 1, max: 1_000_000, unit: 'seconds' }, 5),
  def('pool', 'checkpoint_thresh', 'Checkpoint threshold', { type: 'int', min: 10, max: 75, unit: 'percent' }, 50),
  def('pool', 'reintegration', 'Reintegration mode', { type: 'enum', values: ['data_sync', 'no_data_sync', 'incremental'] }, 'data_sync'),
  def('pool', 'svc_ops_enabled', 'Pool service operations enabled', onOff, true),
  def('pool', 'svc_ops_entry_age', 'Pool service operations entry age', { type: 'int', min: 60, max: 600, unit: 'seconds' }, 300),
])

/** Every container property. */
export const containerProperties: readonly PropertyDefinition[] = Object.freeze([
  def('container', 'label', 'Label', { type: 'label' }, 'container_label_not_set'),
  def('container', 'layout_type', 'Layout type', { type: 'enum', values: ['POSIX', 'HDF5', 'PYTHON', 'SPARK', 'DATABASE', 'ROOT', 'SEISMIC', 'METEO', 'unknown'] }, 'unknown', {
    immutable: true,
  }),
  def('container', 'layout_version', 'Layout version', { type: 'int', min: 0, max: 0xffff }, 1, { immutable: true }),
  def('container', 'cksum', 'Checksum', { type: 'enum', values: ['off', 'adler32', 'crc16', 'crc32', 'crc64', 'sha1', 'sha256', 'sha512'] }, 'off', {
    aliases: ['csum'],
    immutable: true,
  }),
  def('container', 'cksum_size', 'Checksum chunk-size', { type: 'int', min: 1, max: 0x7fff_ffff, unit: 'bytes' }, 32 * KiB, { aliases: ['csum_chunk_size'], immutable: true }),
  def('container', 'srv_cksum', 'Server Checksumming', onOff, false, { aliases: ['csum_server_verify'], immutable: true }),
  def('container', 'rd_fac', 'Redundancy Factor', { type: 'int', min: 0, max: 4 }, undefined, { aliases: ['rf'], immutable: true }),
  def('container', 'rd_lvl', 'Redundancy Level', { type: 'enum', values: ['rank', 'node'] }, 'node', { aliases: ['rf_lvl'], immutable: true }),
  def('container', 'status', 'Health', { type: 'enum', values: ['HEALTHY', 'UNCLEAN'] }, 'HEALTHY'),
  def('container', 'ec_cell_sz', 'EC Cell Size', ecCell, undefined, { immutable: true }),
  def('container', 'ec_pda', 'Performance domain affinity level of EC', { type: 'int', min: 0, max: 0x7fff_ffff }, undefined, { immutable: true }),
  def('container', 'rp_pda', 'Performance domain affinity level of RP', { type: 'int', min: -1, max: 0x7fff_ffff }, undefined, { immutable: true }),
  def('container', 'perf_domain', 'Performance domain level', { type: 'enum', values: ['root', 'group'] }, undefined, { immutable: true }),
  def('container', 'max_snapshot', 'Max Snapshot', { type: 'int', min: 0, max: 0xffff_ffff }, 0),
  def('container', 'alloc_oid', 'Highest Allocated OID', { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, 0, { readOnly: true }),
  def('container', 'owner', 'Owner', { type: 'text' }, undefined, { readOnly: true }),
  def('container', 'group', 'Group', { type: 'text' }, undefined, { readOnly: true }),
  def('container', 'global_version', 'Global Version', { type: 'int', min: 0, max: 0xffff_ffff }, undefined, { readOnly: true }),
  def('container', 'obj_version', 'Object Version', { type: 'int', min: 0, max: 0xffff_ffff }, undefined, { readOnly: true }),
  def('container', 'scrub_disabled', 'Scrubber Disabled', onOff, false),
  def('container', 'dedup', 'Deduplication', { type: 'enum', values: ['off', 'memcmp', 'hash'] }, 'off', { immutable: true }),
  def('container', 'dedup_threshold', 'Dedupe Threshold', { type: 'int', min: 0, max: 0x7fff_ffff, unit: 'bytes' }, 4 * KiB, { immutable: true }),
  def('container', 'compression', 'Compression', { type: 'enum', values: ['off', 'lz4', 'deflate', 'deflate1', 'deflate2', 'deflate3', 'deflate4'] }, 'off', { immutable: true }),
  def('container', 'encryption', 'Encryption', { type: 'enum', values: ['off', 'aes-xts128', 'aes-xts256', 'aes-cbc128', 'aes-cbc192', 'aes-cbc256', 'aes-gcm128', 'aes-gcm256'] }, 'off', {
    immutable: true,
  }),
])

function table(scope: PropertyScope): readonly PropertyDefinition[] {
  return scope === 'pool' ? poolProperties : containerProperties
}

/** The definition of property `name` (or an alias) in `scope`; `DER_INVAL` naming the known keys otherwise. */
export function findProperty(scope: PropertyScope, name: string): PropertyDefinition {
  const key = name.trim().toLowerCase()
  const found = table(scope).find((p) => p.name === key || p.aliases.includes(key))
  if (found === undefined) throw new DerError('DER_INVAL', `unknown ${scope} property '${name}'; known: ${table(scope).map((p) => p.name).join(', ')}`)
  return found
}

const labelPattern = /^[A-Za-z0-9:._-]{1,127}$/

/** Throws `DER_INVAL` unless `label` is a valid pool or container label (1-127 of `[A-Za-z0-9:._-]`, not a UUID). */
export function validateLabel(label: string, what = 'label'): void {
  if (typeof label !== 'string' || !labelPattern.test(label)) throw new DerError('DER_INVAL', `invalid ${what} '${String(label)}': use 1-127 characters from A-Z a-z 0-9 : . _ -`)
  if (isUuid(label.toLowerCase())) throw new DerError('DER_INVAL', `invalid ${what} '${label}': a label must not look like a UUID`)
}

const sizeUnits: Record<string, number> = { '': 1, B: 1, K: KiB, KB: 1000, KIB: KiB, M: KiB ** 2, MB: 1000 ** 2, MIB: KiB ** 2, G: GiB, GB: 1000 ** 3, GIB: GiB, T: KiB ** 4, TB: 1000 ** 4, TIB: KiB ** 4 }

function parseInteger(def: PropertyDefinition, kind: Extract<PropertyKind, { type: 'int' }>, text: string): number {
  let value: number | undefined
  if (kind.unit === 'bytes') {
    const m = /^(\d+)\s*([A-Za-z]*)$/.exec(text)
    const unit = m === null ? undefined : sizeUnits[(m[2] ?? '').toUpperCase()]
    if (m !== null && unit !== undefined) value = Number(m[1]) * unit
  } else if (kind.unit === 'percent') {
    const m = /^(\d+)%?$/.exec(text)
    if (m !== null) value = Number(m[1])
  } else if (/^-?\d+$/.test(text)) value = Number(text)
  if (def.name === 'rd_fac' && /^rd_fac\d$/.test(text)) value = Number(text.slice(6))
  if (value === undefined || !Number.isSafeInteger(value)) throw new DerError('DER_INVAL', `${def.scope} property ${def.name}: '${text}' is not ${kind.unit === 'bytes' ? 'a size (such as 131072 or 128KiB)' : 'an integer'}`)
  if (value < kind.min || value > kind.max) throw new DerError('DER_INVAL', `${def.scope} property ${def.name}: ${value} is outside ${kind.min}-${kind.max}`)
  return value
}

/**
 * Parses the value of property `name` in `scope`. With `forCreate` false, immutable properties
 * are refused (they can only be set at create time); read-only ones are always refused.
 */
export function parseProperty(scope: PropertyScope, name: string, text: string, options: { forCreate?: boolean; allowReadOnly?: boolean } = {}): { name: string; value: PropertyValue } {
  const d = findProperty(scope, name)
  if (d.readOnly && options.allowReadOnly !== true) throw new DerError('DER_INVAL', `${scope} property ${d.name} is read-only`)
  if (d.immutable && options.forCreate === false) throw new DerError('DER_INVAL', `${scope} property ${d.name} can only be set at create time`)
  const value = text.trim()
  const k = d.kind
  switch (k.type) {
    case 'label':
      validateLabel(value, `${scope} label`)
      return { name: d.name, value }
    case 'enum': {
      const found = k.values.find((v) => v.toLowerCase() === value.toLowerCase())
      if (found === undefined) throw new DerError('DER_INVAL', `${scope} property ${d.name}: '${value}' is not one of ${k.values.join(', ')}`)
      return { name: d.name, value: found }
    }
    case 'flags': {
      const parts = value.split(';').map((p) => p.trim().toLowerCase())
      for (const p of parts) if (!k.values.includes(p)) throw new DerError('DER_INVAL', `${scope} property ${d.name}: '${p}' is not one of ${k.values.join(', ')} (combine with ';')`)
      if (parts.includes('none') && parts.length > 1) throw new DerError('DER_INVAL', `${scope} property ${d.name}: 'none' cannot be combined`)
      if (new Set(parts).size !== parts.length) throw new DerError('DER_INVAL', `${scope} property ${d.name}: repeated flag in '${value}'`)
      return { name: d.name, value: k.values.filter((v) => parts.includes(v)).join(';') }
    }
    case 'int':
      return { name: d.name, value: parseInteger(d, k, value) }
    case 'bool': {
      const lower = value.toLowerCase()
      if (['on', 'true', '1', 'yes'].includes(lower)) return { name: d.name, value: true }
      if (['off', 'false', '0', 'no'].includes(lower)) return { name: d.name, value: false }
      throw new DerError('DER_INVAL', `${scope} property ${d.name}: '${value}' is not on or off`)
    }
    case 'text':
      return { name: d.name, value }
  }
}

/** The canonical text of a value (what travels on the wire and what get-prop prints). */
export function formatPropertyValue(value: PropertyValue): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  return String(value)
}

/**
 * Parses `k:v[,k:v]` (the `--properties` / `set-prop` argument) into a map from canonical name
 * to value. The value is everything after the first `:`. A repeated property is refused.
 */
export function parseProperties(scope: PropertyScope, text: string, options: { forCreate?: boolean } = {}): Map<string, PropertyValue> {
  const out = new Map<string, PropertyValue>()
  if (text.trim() === '') throw new DerError('DER_INVAL', `no ${scope} properties given`)
  for (const item of text.split(',')) {
    const colon = item.indexOf(':')
    if (colon <= 0) throw new DerError('DER_INVAL', `${scope} property '${item}' must be name:value`)
    const parsed = parseProperty(scope, item.slice(0, colon), item.slice(colon + 1), options)
    if (out.has(parsed.name)) throw new DerError('DER_INVAL', `${scope} property ${parsed.name} is given twice`)
    out.set(parsed.name, parsed.value)
  }
  return out
}

/** The default value of every property in `scope` that has one. */
export function defaultProperties(scope: PropertyScope): Map<string, PropertyValue> {
  const out = new Map<string, PropertyValue>()
  for (const p of table(scope)) if (p.defaultValue !== undefined) out.set(p.name, p.defaultValue)
  return out
}

/** Properties to the wire form (`{name, value}` with canonical text). */
export function propertiesToWire(props: ReadonlyMap<string, PropertyValue>): { name: string; value: string }[] {
  return [...props].map(([name, value]) => ({ name, value: formatPropertyValue(value) }))
}

/** Properties from the wire form, validated (read-only values allowed: replies carry them). */
export function propertiesFromWire(scope: PropertyScope, entries: readonly { name: string; value: string }[]): Map<string, PropertyValue> {
  const out = new Map<string, PropertyValue>()
  for (const e of entries) {
    const parsed = parseProperty(scope, e.name, e.value, { allowReadOnly: true })
    if (out.has(parsed.name)) throw new DerError('DER_INVAL', `${scope} property ${parsed.name} is given twice`)
    out.set(parsed.name, parsed.value)
  }
  return out
}
