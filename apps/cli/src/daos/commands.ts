/**
 * The `daos` commands as functions: each validates its arguments (`DER_INVAL` before any RPC),
 * calls the control server (and for `kv` the engine's object service) and returns the response
 * and its human rendering.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { ControlClient } from '@x/daemon'
import { parseProperties } from '../dmg/commands.ts'
import { formatTable } from '../dmg/format.ts'
import type { KvSession } from './session.ts'

/** A command's outcome: the response (for `-j`) and its text (for humans). */
export interface DaosResult {
  readonly response: unknown
  readonly text: string
}

/** The part of `@x/daemon`'s `ControlClient` the commands use. */
export type DaosCaller = Pick<ControlClient, 'call'>

/** Opens the KV object of a container (see `session.ts`). */
export type KvOpener = (poolId: string, contId: string) => Promise<KvSession>

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8')

/** `daos container create POOL LABEL [--type KV|POSIX] [--oclass CLASS] [--properties k:v,...]`. */
export async function containerCreate(
  client: DaosCaller,
  pool: string,
  label: string,
  options: { type?: string | undefined; oclass?: string | undefined; properties?: string | undefined },
): Promise<DaosResult> {
  const type = (options.type ?? 'KV').toUpperCase()
  if (type !== 'KV' && type !== 'POSIX') throw new DerError('DER_INVAL', `bad --type '${options.type ?? ''}': expected KV or POSIX`)
  const properties = parseProperties(options.properties)
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

async function withKv<T>(open: KvOpener, pool: string, cont: string, body: (session: KvSession) => Promise<T>): Promise<T> {
  const session = await open(pool, cont)
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
  })
}

/** `daos kv list POOL CONT`: every key, sorted. */
export async function kvList(open: KvOpener, pool: string, cont: string): Promise<DaosResult> {
  return withKv(open, pool, cont, async (s) => {
    const keys = (await s.kv.listAll()).map((k) => textDecoder.decode(k))
    return { response: { keys }, text: keys.map((k) => `${k}\n`).join('') }
  })
}

/** `daos kv remove POOL CONT KEY`: removing an absent key succeeds. */
export async function kvRemove(open: KvOpener, pool: string, cont: string, key: string): Promise<DaosResult> {
  const k = keyBytes(key)
  return withKv(open, pool, cont, async (s) => {
    await s.kv.remove(k)
    return { response: { key }, text: `Removed key '${key}'\n` }
  })
}
