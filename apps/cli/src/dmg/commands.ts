/**
 * The `dmg` commands as functions: each validates its arguments (throwing `DER_INVAL` before
 * any RPC), calls the control server and returns the response and its human rendering.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ControlClient, type PoolInfo, parseSizeBytes } from '@x/daemon'
import { formatTable, humanBytes } from './format.ts'

/** A command's outcome: the response (for `-j`) and its text (for humans). */
export interface CommandResult {
  readonly response: unknown
  readonly text: string
}

/** The part of `@x/daemon`'s `ControlClient` the commands use (a fake in unit tests). */
export type ControlCaller = Pick<ControlClient, 'call'>

/** `dmg system query`. */
export async function systemQuery(client: ControlCaller): Promise<CommandResult> {
  const response = await client.call('SystemQuery', {})
  const rows = response.members.map((m) => [String(m.rank), m.uuid, m.addr, m.fabricUri, m.state[0]?.toUpperCase() + m.state.slice(1)])
  return { response, text: formatTable(['Rank', 'UUID', 'Control Address', 'Fabric Address', 'State'], rows) }
}

/** Parses `--properties k:v,k:v` (DAOS's syntax); `DER_INVAL` on a malformed entry. */
export function parseProperties(text: string | undefined): Record<string, string> {
  const props: Record<string, string> = {}
  if (text === undefined) return props
  for (const entry of text.split(',')) {
    const at = entry.indexOf(':')
    if (at <= 0 || at === entry.length - 1) throw new DerError('DER_INVAL', `bad property '${entry}': expected name:value (e.g. --properties reclaim:disabled,rd_fac:1)`)
    const name = entry.slice(0, at).trim()
    if (Object.hasOwn(props, name)) throw new DerError('DER_INVAL', `property '${name}' given twice`)
    props[name] = entry.slice(at + 1).trim()
  }
  return props
}

/** Parses `--size` (`1G`, `512MiB`, bytes); `DER_INVAL` when missing, malformed or not positive. */
export function parsePoolSize(text: string | undefined): number {
  if (text === undefined || text.trim() === '') throw new DerError('DER_INVAL', 'pool create needs --size (e.g. --size 1G)')
  let bytes: number
  try {
    bytes = parseSizeBytes(text)
  } catch (e) {
    throw new DerError('DER_INVAL', `bad --size '${text}': ${(e as Error).message}`, { cause: e })
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new DerError('DER_INVAL', `bad --size '${text}': must be a positive size such as 1G or 512MiB`)
  return bytes
}

/** `dmg pool create LABEL --size SIZE [--properties k:v,...]`. */
export async function poolCreate(client: ControlCaller, label: string, options: { size?: string | undefined; properties?: string | undefined }): Promise<CommandResult> {
  const sizeBytes = parsePoolSize(options.size)
  const properties = parseProperties(options.properties)
  const response = await client.call('PoolCreate', { label, sizeBytes, properties })
  const p = response.pool
  const text = `Pool created with ${humanBytes(p.sizeBytes)} of storage\n  UUID                 : ${p.uuid}\n  Label                : ${p.label}\n  Service Ranks        : ${p.svcRanks.join(',')}\n  Storage Ranks        : ${p.tgtRanks.join(',')}\n`
  return { response, text }
}

/** `dmg pool list [-v]`. */
export async function poolList(client: ControlCaller, options: { verbose?: boolean | undefined }): Promise<CommandResult> {
  const response = await client.call('PoolList', {})
  if (response.pools.length === 0) return { response, text: 'No pools in system\n' }
  const rows = (pools: readonly PoolInfo[]): string[][] =>
    pools.map((p) => (options.verbose === true ? [p.label, p.uuid, p.state, p.svcRanks.join(','), p.tgtRanks.join(','), humanBytes(p.sizeBytes)] : [p.label, humanBytes(p.sizeBytes), p.state]))
  const header = options.verbose === true ? ['Label', 'UUID', 'State', 'SvcReps', 'Ranks', 'Size'] : ['Pool', 'Size', 'State']
  return { response, text: formatTable(header, rows(response.pools)) }
}

/** `dmg pool query LABEL`. */
export async function poolQuery(client: ControlCaller, id: string): Promise<CommandResult> {
  const r = await client.call('PoolQuery', { id })
  const text = [
    `Pool ${r.pool.uuid}, label ${r.pool.label}, state ${r.pool.state}, map version ${r.mapVersion}`,
    `Pool space info:`,
    `- Target count:${r.totalTargets}`,
    `- Active targets:${r.activeTargets}, disabled targets:${r.disabledTargets}`,
    `- Total size: ${humanBytes(r.space.capacityBytes)}`,
    `- Used: ${humanBytes(r.space.usedBytes)}, free: ${humanBytes(r.space.freeBytes)}`,
    '',
  ].join('\n')
  return { response: r, text }
}

/** `dmg pool destroy LABEL [--force]`. */
export async function poolDestroy(client: ControlCaller, id: string, options: { force?: boolean | undefined }): Promise<CommandResult> {
  const response = await client.call('PoolDestroy', { id, force: options.force === true })
  return { response, text: `Pool-destroy command succeeded (${response.label} ${response.uuid})\n` }
}
