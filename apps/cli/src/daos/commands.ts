/**
 * The `daos` commands as functions: each validates its arguments (`DER_INVAL` before any RPC),
 * calls the control server (and for `kv` the engine's object service) and returns the response
 * and its human rendering.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ClientIdentity, type ControlClient, controlRequestSchemas } from '@x/daemon'
import { parseChunkSize } from '@x/dfs'
import { containerProperties, decodePoolMap, formatObjectId, parseObjectId, placeObject } from '@x/protocol'
import { formatPoolQuery, parseNameList, parseProperties } from '../dmg/commands.ts'
import { formatTable } from '../dmg/format.ts'
import type { KvSession } from './session.ts'

/** A command's outcome: the response (for `-j`) and its text (for humans). */
export interface DaosResult {
  readonly response: unknown
  readonly text: string
}

/** The part of `@x/daemon`'s `ControlClient` the commands use. */
export type DaosCaller = Pick<ControlClient, 'call'>

/** Opens the KV object of a container (see `session.ts`) read-only or read-write. */
export type KvOpener = (poolId: string, contId: string, caps?: 'ro' | 'rw') => Promise<KvSession>

/** The container property holding a POSIX container's file chunk size in bytes (read by `@x/dfs`). */
export const chunkSizeProperty = 'chunk_size'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8')

/** Smallest and largest file chunk size of a POSIX container (`--chunk-size`). */
export const chunkSizeLimitsBytes = { min: 4 * 1024, max: 1 << 30 } as const

/**
 * Parses `--chunk-size` (`64K`, `1MiB`, bytes; binary units as `@x/dfs` reads them): a power of
 * two from 4 KiB to 1 GiB, so chunks tile 4 KiB blocks; `DER_INVAL` otherwise.
 */
export function parseChunkSizeOption(text: string): number {
  let bytes: number
  try {
    bytes = parseChunkSize(text)
  } catch (e) {
    throw new DerError('DER_INVAL', `bad --chunk-size '${text}': ${(e as Error).message}`, { cause: e })
  }
  const { min, max } = chunkSizeLimitsBytes
  if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max || (bytes & (bytes - 1)) !== 0) {
    throw new DerError('DER_INVAL', `bad --chunk-size '${text}': must be a power of two from 4K to 1G (e.g. 1M)`)
  }
  return bytes
}

/** `daos container create POOL LABEL [--type KV|POSIX] [--oclass CLASS] [--chunk-size SIZE] [--properties k:v,...]`. */
export async function containerCreate(
  client: DaosCaller,
  pool: string,
  label: string,
  options: { type?: string | undefined; oclass?: string | undefined; properties?: string | undefined; chunkSize?: string | undefined },
): Promise<DaosResult> {
  const type = (options.type ?? 'KV').toUpperCase()
  if (type !== 'KV' && type !== 'POSIX') throw new DerError('DER_INVAL', `bad --type '${options.type ?? ''}': expected KV or POSIX`)
  const properties = parseProperties(options.properties)
  if (options.chunkSize !== undefined) {
    if (type !== 'POSIX') throw new DerError('DER_INVAL', '--chunk-size applies to POSIX containers only (add --type POSIX)')
    if (Object.hasOwn(properties, chunkSizeProperty)) throw new DerError('DER_INVAL', `give the chunk size once: --chunk-size or --properties ${chunkSizeProperty}:...`)
    properties[chunkSizeProperty] = String(parseChunkSizeOption(options.chunkSize))
  }
  const response = await client.call('ContainerCreate', { pool, label, type, ...(options.oclass === undefined ? {} : { oclass: options.oclass.toUpperCase() }), properties })
  const c = response.container
  return { response, text: `Successfully created container ${c.uuid}\n  Container UUID : ${c.uuid}\n  Container Label: ${c.label}\n  Container Type : ${type}\n` }
}

/** `daos container list POOL`. */
export async function containerList(client: DaosCaller, pool: string): Promise<DaosResult> {
  const response = await client.call('ContainerList', { pool })
  const text = response.containers.length === 0 ? 'No containers.\n' : formatTable(['UUID', 'Label'], response.containers.map((c) => [c.uuid, c.label]))
  return { response, text }
}

/** `daos container query POOL CONT`. */
export async function containerQuery(client: DaosCaller, pool: string, cont: string): Promise<DaosResult> {
  const r = await client.call('ContainerQuery', { pool, cont })
  const text =
    `  Container UUID             : ${r.container.uuid}\n  Container Label            : ${r.container.label}\n  Container Type             : ${r.type}\n` +
    `  Pool UUID                  : ${r.poolUuid}\n  Object Class               : ${r.oclass}\n  KV Object                  : ${r.kvOid}\n` +
    `  Number of open handles     : ${r.openHandles}\n  Number of snapshots        : ${r.snapshots.length}\n`
  return { response: r, text }
}

/** `daos container destroy POOL CONT [--force]`. */
export async function containerDestroy(client: DaosCaller, pool: string, cont: string, options: { force?: boolean | undefined }): Promise<DaosResult> {
  const response = await client.call('ContainerDestroy', { pool, cont, force: options.force === true })
  return { response, text: `Successfully destroyed container ${response.container.uuid}\n` }
}

function keyBytes(key: string): Uint8Array {
  if (typeof key !== 'string' || key.length === 0) throw new DerError('DER_INVAL', 'a non-empty key is required')
  return textEncoder.encode(key)
}

async function withKv<T>(open: KvOpener, pool: string, cont: string, body: (session: KvSession) => Promise<T>, caps: 'ro' | 'rw' = 'rw'): Promise<T> {
  const session = await open(pool, cont, caps)
  try {
    return await body(session)
  } finally {
    await session.close()
  }
}

/** `daos kv put POOL CONT KEY VALUE`: the value is stored as UTF-8. */
export async function kvPut(open: KvOpener, pool: string, cont: string, key: string, value: string): Promise<DaosResult> {
  const k = keyBytes(key)
  if (typeof value !== 'string') throw new DerError('DER_INVAL', 'a value is required')
  return withKv(open, pool, cont, async (s) => {
    await s.kv.put(k, textEncoder.encode(value))
    return { response: { key, sizeBytes: textEncoder.encode(value).length }, text: `Stored key '${key}' (${textEncoder.encode(value).length} bytes)\n` }
  })
}

/** `daos kv get POOL CONT KEY`: `DER_NONEXIST` when the key has no value. */
export async function kvGet(open: KvOpener, pool: string, cont: string, key: string): Promise<DaosResult> {
  const k = keyBytes(key)
  return withKv(open, pool, cont, async (s) => {
    const value = await s.kv.get(k)
    if (value === undefined) throw new DerError('DER_NONEXIST', `key '${key}' not found in container ${cont}`)
    const text = textDecoder.decode(value)
    return { response: { key, value: text, sizeBytes: value.length }, text: `${text}\n` }
  }, 'ro')
}

/** `daos kv list POOL CONT`: every key, sorted. */
export async function kvList(open: KvOpener, pool: string, cont: string): Promise<DaosResult> {
  return withKv(open, pool, cont, async (s) => {
    const keys = (await s.kv.listAll()).map((k) => textDecoder.decode(k))
    return { response: { keys }, text: keys.map((k) => `${k}\n`).join('') }
  }, 'ro')
}

/** `daos kv remove POOL CONT KEY`: removing an absent key succeeds. */
export async function kvRemove(open: KvOpener, pool: string, cont: string, key: string): Promise<DaosResult> {
  const k = keyBytes(key)
  return withKv(open, pool, cont, async (s) => {
    await s.kv.remove(k)
    return { response: { key }, text: `Removed key '${key}'\n` }
  })
}

/**
 * A caller that adds the caller's identity to every request that takes one (pool and container
 * requests), so the pool service checks it against the pool ACL.
 */
export function identifiedCaller(client: DaosCaller, identity: ClientIdentity): DaosCaller {
  return {
    call: (method, request) => {
      const takesIdentity = Object.hasOwn(controlRequestSchemas[method], 'identity')
      return client.call(method, (takesIdentity ? { ...request, identity } : request))
    },
  }
}

/** `daos pool query POOL`. */
export async function daosPoolQuery(client: DaosCaller, pool: string): Promise<DaosResult> {
  const r = await client.call('PoolQuery', { id: pool })
  return { response: r, text: formatPoolQuery(r) }
}

/** `daos pool list-containers POOL`. */
export async function poolListContainers(client: DaosCaller, pool: string): Promise<DaosResult> {
  return containerList(client, pool)
}

function attrTable(attrs: Readonly<Record<string, string>>): string {
  return formatTable(
    ['Name', 'Value'],
    Object.keys(attrs)
      .sort()
      .map((k) => [k, attrs[k] ?? '']),
  )
}

function checkAttrName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new DerError('DER_INVAL', 'an attribute name is required')
  if (new TextEncoder().encode(name).length > 255) throw new DerError('DER_INVAL', `attribute name '${name.slice(0, 20)}...' is longer than 255 bytes`)
  return name
}

/** `daos pool list-attrs POOL [-V]`. */
export async function poolListAttrs(client: DaosCaller, pool: string, options: { verbose?: boolean | undefined } = {}): Promise<DaosResult> {
  const r = await client.call('PoolListAttrs', { id: pool })
  if (options.verbose === true && r.names.length > 0) {
    const values = await client.call('PoolGetAttr', { id: pool, names: r.names })
    return { response: values, text: attrTable(values.attrs) }
  }
  return { response: r, text: r.names.length === 0 ? 'No attributes.\n' : r.names.map((n) => `${n}\n`).join('') }
}

/** `daos pool get-attr POOL NAME`. */
export async function poolGetAttr(client: DaosCaller, pool: string, name: string): Promise<DaosResult> {
  const r = await client.call('PoolGetAttr', { id: pool, names: [checkAttrName(name)] })
  return { response: r, text: attrTable(r.attrs) }
}

/** `daos pool set-attr POOL NAME VALUE`. */
export async function poolSetAttr(client: DaosCaller, pool: string, name: string, value: string): Promise<DaosResult> {
  const r = await client.call('PoolSetAttr', { id: pool, attrs: { [checkAttrName(name)]: value } })
  return { response: r, text: `Attribute '${name}' set\n` }
}

function containerPropertyTitle(name: string): string {
  const def = containerProperties.find((p) => p.name === name)
  return def === undefined ? name : `${def.description} (${name})`
}

/** `daos container get-prop POOL CONT [names]`. */
export async function containerGetProp(client: DaosCaller, pool: string, cont: string, names: string | undefined): Promise<DaosResult> {
  const list = parseNameList(names)
  const r = await client.call('ContainerGetProp', { pool, cont, ...(list === undefined ? {} : { names: list }) })
  const rows = Object.keys(r.properties)
    .sort()
    .map((k) => [containerPropertyTitle(k), r.properties[k] ?? ''])
  return { response: r, text: `Properties for container ${cont}\n` + formatTable(['Name', 'Value'], rows) }
}

/** `daos container set-prop POOL CONT k:v,...`. */
export async function containerSetProp(client: DaosCaller, pool: string, cont: string, properties: string): Promise<DaosResult> {
  const parsed = parseProperties(properties)
  if (Object.keys(parsed).length === 0) throw new DerError('DER_INVAL', 'container set-prop needs name:value pairs')
  const r = await client.call('ContainerSetProp', { pool, cont, properties: parsed })
  return { response: r, text: 'Properties were successfully set\n' }
}

/** `daos container list-attrs POOL CONT [-V]`. */
export async function containerListAttrs(client: DaosCaller, pool: string, cont: string, options: { verbose?: boolean | undefined } = {}): Promise<DaosResult> {
  const r = await client.call('ContainerListAttrs', { pool, cont })
  if (options.verbose === true && r.names.length > 0) {
    const values = await client.call('ContainerGetAttr', { pool, cont, names: r.names })
    return { response: values, text: attrTable(values.attrs) }
  }
  return { response: r, text: r.names.length === 0 ? 'No attributes.\n' : r.names.map((n) => `${n}\n`).join('') }
}

/** `daos container get-attr POOL CONT NAME`. */
export async function containerGetAttr(client: DaosCaller, pool: string, cont: string, name: string): Promise<DaosResult> {
  const r = await client.call('ContainerGetAttr', { pool, cont, names: [checkAttrName(name)] })
  return { response: r, text: attrTable(r.attrs) }
}

/** `daos container set-attr POOL CONT NAME VALUE`. */
export async function containerSetAttr(client: DaosCaller, pool: string, cont: string, name: string, value: string): Promise<DaosResult> {
  const r = await client.call('ContainerSetAttr', { pool, cont, attrs: { [checkAttrName(name)]: value } })
  return { response: r, text: `Attribute '${name}' set\n` }
}

/** `daos container del-attr POOL CONT NAME`. */
export async function containerDelAttr(client: DaosCaller, pool: string, cont: string, name: string): Promise<DaosResult> {
  const r = await client.call('ContainerDelAttr', { pool, cont, names: [checkAttrName(name)] })
  return { response: r, text: `Attribute '${name}' deleted\n` }
}

/** `daos container create-snap POOL CONT [--snap NAME]`. */
export async function containerCreateSnap(client: DaosCaller, pool: string, cont: string, options: { snap?: string | undefined }): Promise<DaosResult> {
  const r = await client.call('ContainerCreateSnap', { pool, cont, ...(options.snap === undefined ? {} : { name: options.snap }) })
  return { response: r, text: `snapshot/epoch ${r.epoch} has been created${r.name === '' ? '' : ` (${r.name})`}\n` }
}

/** `daos container list-snaps POOL CONT`. */
export async function containerListSnaps(client: DaosCaller, pool: string, cont: string): Promise<DaosResult> {
  const r = await client.call('ContainerListSnaps', { pool, cont })
  const text = r.snapshots.length === 0 ? 'No snapshots.\n' : formatTable(['Epoch', 'Name'], r.snapshots.map((s) => [s.epoch, s.name]))
  return { response: r, text }
}

/** `daos container destroy-snap POOL CONT (--epc EPOCH | --snap NAME)`. */
export async function containerDestroySnap(client: DaosCaller, pool: string, cont: string, options: { epc?: string | undefined; snap?: string | undefined }): Promise<DaosResult> {
  if ((options.epc === undefined) === (options.snap === undefined)) throw new DerError('DER_INVAL', 'destroy-snap needs exactly one of --epc EPOCH or --snap NAME')
  if (options.epc !== undefined && !/^\d{1,20}$/.test(options.epc)) throw new DerError('DER_INVAL', `bad --epc '${options.epc}': expected an epoch number`)
  const r = await client.call('ContainerDestroySnap', { pool, cont, snapshot: options.epc ?? (options.snap as string) })
  return { response: r, text: `snapshot/epoch ${r.epoch} has been destroyed\n` }
}

/**
 * `daos object query POOL CONT OID`: the object's layout on the pool's current map, computed by
 * CRUSH placement exactly as clients and engines compute it (`{oid, version, class, groups:
 * [{shards: [{rank, target}]}]}`).
 */
export async function objectQuery(client: DaosCaller, pool: string, cont: string, oidText: string): Promise<DaosResult> {
  const oid = parseObjectId(oidText)
  const connect = await client.call('PoolConnect', { id: pool })
  await client.call('ContainerQuery', { pool, cont })
  const layout = placeObject(decodePoolMap(Buffer.from(connect.poolMap, 'base64')), oid)
  const response = {
    oid: formatObjectId(oid),
    version: layout.mapVersion,
    class: layout.oclass.name,
    groups: layout.groups.map((g) => ({ group: g.group, shards: g.shards.map((s) => ({ shard: s.shard, role: s.role, rank: s.rank ?? null, target: s.targetIndex ?? null })) })),
  }
  const lines = [`oid: ${response.oid} ver ${response.version} class ${response.class} grp_nr: ${response.groups.length}`]
  for (const g of response.groups) {
    lines.push(`grp: ${g.group}`)
    for (const s of g.shards) lines.push(`  shard ${s.shard} (${s.role}): rank ${s.rank ?? '-'} target ${s.target ?? '-'}`)
  }
  return { response, text: lines.join('\n') + '\n' }
}
