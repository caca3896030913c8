/**
 * The `dmg` commands as functions: each validates its arguments (throwing `DER_INVAL` before
 * any RPC), calls the control server and returns the response and its human rendering.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ControlClient, type PoolInfo, type PoolQueryResponse, type RankOperationResponse, parseSizeBytes } from '@x/daemon'
import { formatAclEntry, parseAclEntries, poolProperties } from '@x/protocol'
import { type ProgressBar, startProgress } from '../common/progress.ts'
import type { ProgressSink } from '../common/progress.ts'
import { formatTable, humanBytes } from './format.ts'

/** A command's outcome: the response (for `-j`) and its text (for humans). */
export interface CommandResult {
  readonly response: unknown
  readonly text: string
}

/** The part of `@x/daemon`'s `ControlClient` the commands use (a fake in unit tests). */
export type ControlCaller = Pick<ControlClient, 'call'>

/** What long-running commands need besides the caller: progress output and a sleep. */
export interface CommandContext {
  /** Progress bars (none: no bars). */
  readonly progress?: ProgressSink
  /** Whether bars are wanted (off with `-j`). */
  readonly showProgress?: boolean
  /** Sleeps between polls (rebuild waits). */
  readonly sleep?: (ms: number) => Promise<void>
}

function bar(context: CommandContext | undefined, label: string): ProgressBar {
  return startProgress(context?.progress, label, context?.showProgress !== false)
}

/** Largest rank number accepted in a rank set. */
export const maxRank = 65535

/**
 * Parses a rank set (`0,2-4,7`; DAOS's `--ranks` syntax) into sorted unique ranks; `DER_INVAL`
 * on anything else.
 */
export function parseRankSet(text: string): number[] {
  const ranks = new Set<number>()
  if (text.trim() === '') throw new DerError('DER_INVAL', 'empty rank set: expected ranks such as 0,2-4')
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part)
    if (m === null) throw new DerError('DER_INVAL', `bad rank set '${text}': '${part}' is not a rank or a range a-b`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (hi < lo) throw new DerError('DER_INVAL', `bad rank set '${text}': range ${lo}-${hi} is reversed`)
    if (hi > maxRank) throw new DerError('DER_INVAL', `bad rank set '${text}': ranks go up to ${maxRank}`)
    for (let r = lo; r <= hi; r++) ranks.add(r)
  }
  return [...ranks].sort((a, b) => a - b)
}

/** Parses one rank (`--rank 2`); `DER_INVAL` otherwise. */
export function parseRank(text: string | undefined, what = '--rank'): number {
  if (text === undefined) throw new DerError('DER_INVAL', `${what} is required`)
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > maxRank) throw new DerError('DER_INVAL', `bad ${what} '${text}': expected a rank number 0..${maxRank}`)
  return Number(text)
}

/** Parses `--target-idx 0,1,3` (DAOS's syntax: a list of target indexes). */
export function parseTargetIndexes(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined
  const out = new Set<number>()
  for (const part of text.split(',')) {
    if (!/^\s*\d{1,4}\s*$/.test(part) || Number(part) > 1023) throw new DerError('DER_INVAL', `bad --target-idx '${text}': expected target indexes 0..1023 such as 0,1`)
    out.add(Number(part))
  }
  return [...out].sort((a, b) => a - b)
}

/** Groups sorted ranks as DAOS prints them: `[0-2,5]`. */
export function formatRankSet(ranks: readonly number[]): string {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`)
    i = j + 1
  }
  return `[${parts.join(',')}]`
}

const capitalize = (s: string): string => (s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1))

/** `dmg system query [--ranks R]`. */
export async function systemQuery(client: ControlCaller, options: { ranks?: string | undefined } = {}): Promise<CommandResult> {
  const ranks = options.ranks === undefined ? undefined : parseRankSet(options.ranks)
  const response = await client.call('SystemQuery', ranks === undefined ? {} : { ranks })
  const rows = response.members.map((m) => [String(m.rank), m.uuid, m.addr, m.fabricUri, capitalize(m.state)])
  return { response, text: formatTable(['Rank', 'UUID', 'Control Address', 'Fabric Address', 'State'], rows) }
}

function rankResults(response: RankOperationResponse): string {
  const rows = response.results.map((r) => [String(r.rank), r.operation, r.ok ? 'OK' : `FAILED: ${r.info}`, capitalize(r.state)])
  return formatTable(['Rank', 'Operation', 'Result', 'State'], rows)
}

/** `dmg system stop|start|exclude [--ranks R] [--force]` (exclude needs `--ranks`). */
export async function systemRankOperation(client: ControlCaller, operation: 'stop' | 'start' | 'exclude', options: { ranks?: string | undefined; force?: boolean | undefined }): Promise<CommandResult> {
  if (operation === 'exclude' && options.ranks === undefined) throw new DerError('DER_INVAL', 'system exclude needs --ranks (e.g. --ranks 2)')
  const ranks = options.ranks === undefined ? undefined : parseRankSet(options.ranks)
  const method = operation === 'stop' ? 'SystemStop' : operation === 'start' ? 'SystemStart' : 'SystemExclude'
  const response = await client.call(method, { ...(ranks === undefined ? {} : { ranks }), ...(options.force === true ? { force: true } : {}) })
  return { response, text: rankResults(response) }
}

/** `dmg storage scan [-v]`. */
export async function storageScan(client: ControlCaller, options: { verbose?: boolean | undefined } = {}): Promise<CommandResult> {
  const response = await client.call('StorageScan', {})
  if (options.verbose === true) {
    const rows = response.hosts.flatMap((h) => h.tiers.map((t) => [h.host, String(h.rank), t.class, t.path === '' ? '-' : t.path, humanBytes(t.sizeBytes), t.targets.join(',')]))
    return { response, text: formatTable(['Host', 'Rank', 'Class', 'Path', 'Size', 'Targets'], rows) }
  }
  const rows = response.hosts.map((h) => [
    h.host,
    String(h.rank),
    `${humanBytes(h.tiers.reduce((a, t) => a + t.sizeBytes, 0))} (${h.tiers.length} device${h.tiers.length === 1 ? '' : 's'})`,
    h.formatted ? 'yes' : 'no',
  ])
  return { response, text: formatTable(['Host', 'Rank', 'Storage Total', 'Formatted'], rows) }
}

/** `dmg storage format [--force]`, with a progress bar on a terminal. */
export async function storageFormat(client: ControlCaller, options: { force?: boolean | undefined }, context?: CommandContext): Promise<CommandResult> {
  const progress = bar(context, 'Formatting storage')
  let response
  try {
    response = await client.call('StorageFormat', options.force === true ? { force: true } : {})
  } catch (e) {
    progress.done('failed')
    throw e
  }
  progress.done(`${response.results.length} engine(s)`)
  const rows = response.results.map((r) => [r.host, String(r.rank), String(r.targets), r.status])
  return { response, text: formatTable(['Host', 'Rank', 'Targets', 'Result'], rows) }
}

/** `dmg storage query usage`. */
export async function storageQueryUsage(client: ControlCaller): Promise<CommandResult> {
  const response = await client.call('StorageQueryUsage', {})
  const rows = response.hosts.map((h) => [
    h.host,
    String(h.rank),
    humanBytes(h.totalBytes),
    humanBytes(h.usedBytes),
    humanBytes(h.freeBytes),
    h.totalBytes === 0 ? '0 %' : `${Math.round((100 * h.usedBytes) / h.totalBytes)} %`,
  ])
  return { response, text: formatTable(['Host', 'Rank', 'Total', 'Used', 'Free', 'Usage'], rows) }
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

const principalName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@$/

function checkPrincipalName(text: string, what: string): string {
  const name = text.endsWith('@') ? text : `${text}@`
  if (!principalName.test(name)) throw new DerError('DER_INVAL', `bad ${what} '${text}': expected a name such as alice or alice@`)
  return name
}

/**
 * Parses an ACL file's text (DAOS's format: one `TYPE:FLAGS:PRINCIPAL:PERMS` entry per line,
 * `#` comments and blank lines ignored) into canonical entries; `DER_INVAL` names the bad line.
 */
export function parseAclText(text: string, source: string): string[] {
  let entries
  try {
    entries = parseAclEntries(text.split(/\r?\n/).filter((l) => !l.trim().startsWith('#')).join('\n'))
  } catch (e) {
    throw new DerError('DER_INVAL', `${source}: ${(e as Error).message}`, { cause: e })
  }
  if (entries.length === 0) throw new DerError('DER_INVAL', `${source}: no ACL entries`)
  return entries.map(formatAclEntry)
}

/** Reads files for commands (`--acl-file`); tests give a fake. */
export type FileReader = (path: string) => string

function readAclFile(read: FileReader, path: string): string[] {
  let text: string
  try {
    text = read(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new DerError(code === 'ENOENT' ? 'DER_NONEXIST' : 'DER_INVAL', `cannot read ACL file '${path}': ${(e as Error).message}`, { cause: e })
  }
  return parseAclText(text, `ACL file '${path}'`)
}

/** Options of `dmg pool create`. */
export interface PoolCreateOptions {
  size?: string | undefined
  properties?: string | undefined
  nranks?: string | undefined
  user?: string | undefined
  group?: string | undefined
  aclFile?: string | undefined
}

/**
 * `dmg pool create LABEL --size SIZE [--nranks N] [--properties k:v,...] [--user U] [--group G]
 * [--acl-file F]`. The owner defaults to `defaults.user`/`defaults.group` (the caller's).
 */
export async function poolCreate(
  client: ControlCaller,
  label: string,
  options: PoolCreateOptions,
  context?: CommandContext & { readonly readFile?: FileReader; readonly defaults?: { readonly user?: string; readonly group?: string } },
): Promise<CommandResult> {
  const sizeBytes = parsePoolSize(options.size)
  const properties = parseProperties(options.properties)
  let nranks: number | undefined
  if (options.nranks !== undefined) {
    if (!/^\d{1,5}$/.test(options.nranks) || Number(options.nranks) < 1) throw new DerError('DER_INVAL', `bad --nranks '${options.nranks}': expected a positive number of ranks`)
    nranks = Number(options.nranks)
  }
  const user = options.user !== undefined ? checkPrincipalName(options.user, '--user') : context?.defaults?.user
  const group = options.group !== undefined ? checkPrincipalName(options.group, '--group') : context?.defaults?.group
  let acl: string[] | undefined
  if (options.aclFile !== undefined) {
    if (context?.readFile === undefined) throw new DerError('DER_NOSYS', '--acl-file: no file access here')
    acl = readAclFile(context.readFile, options.aclFile)
  }
  const progress = bar(context, `Creating pool ${label}`)
  let response
  try {
    response = await client.call('PoolCreate', {
      label,
      sizeBytes,
      properties,
      ...(nranks === undefined ? {} : { nranks }),
      ...(user === undefined ? {} : { user }),
      ...(group === undefined ? {} : { group }),
      ...(acl === undefined ? {} : { acl }),
    })
  } catch (e) {
    progress.done('failed')
    throw e
  }
  progress.done('ready')
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

/** The human rendering of a pool query (shared by `dmg pool query` and `daos pool query`). */
export function formatPoolQuery(r: PoolQueryResponse): string {
  const lines = [
    `Pool ${r.pool.uuid}, label ${r.pool.label}, state ${r.pool.state}, map version ${r.mapVersion}`,
    `Pool space info:`,
    `- Target count:${r.totalTargets}`,
    `- Active targets:${r.activeTargets}, disabled targets:${r.disabledTargets}`,
    `- Total size: ${humanBytes(r.space.capacityBytes)}`,
    `- Used: ${humanBytes(r.space.usedBytes)}, free: ${humanBytes(r.space.freeBytes)}`,
  ]
  if (r.targetStates !== undefined) lines.push(`Target states: ${Object.entries(r.targetStates).map(([s, n]) => `${s}=${n}`).join(', ')}`)
  if (r.rebuild !== undefined) lines.push(`Rebuild ${r.rebuild.state}, ${r.rebuild.objects} objs, ${r.rebuild.records} recs`)
  return lines.join('\n') + '\n'
}

/** `dmg pool query LABEL`. */
export async function poolQuery(client: ControlCaller, id: string): Promise<CommandResult> {
  const r = await client.call('PoolQuery', { id })
  return { response: r, text: formatPoolQuery(r) }
}

/** `dmg pool destroy LABEL [--force]`. */
export async function poolDestroy(client: ControlCaller, id: string, options: { force?: boolean | undefined }): Promise<CommandResult> {
  const response = await client.call('PoolDestroy', { id, force: options.force === true })
  return { response, text: `Pool-destroy command succeeded (${response.label} ${response.uuid})\n` }
}

/** The `Description (key)` name of a pool property as `get-prop` prints it. */
function poolPropertyTitle(name: string): string {
  const def = poolProperties.find((p) => p.name === name)
  return def === undefined ? name : `${def.description} (${name})`
}

function propertyTable(properties: Readonly<Record<string, string>>, title: (name: string) => string): string {
  const rows = Object.keys(properties)
    .sort()
    .map((k) => [title(k), properties[k] ?? ''])
  return formatTable(['Name', 'Value'], rows)
}

/** Parses a property name list (`label,reclaim`); `DER_INVAL` on an empty name. */
export function parseNameList(text: string | undefined, what = 'property'): string[] | undefined {
  if (text === undefined) return undefined
  const names = text.split(',').map((n) => n.trim())
  if (names.some((n) => n === '')) throw new DerError('DER_INVAL', `bad ${what} list '${text}': empty name`)
  return [...new Set(names)]
}

/** `dmg pool get-prop POOL [names]`. */
export async function poolGetProp(client: ControlCaller, id: string, names: string | undefined): Promise<CommandResult> {
  const list = parseNameList(names)
  const response = await client.call('PoolGetProp', { id, ...(list === undefined ? {} : { names: list }) })
  return { response, text: propertyTable(response.properties, poolPropertyTitle) }
}

/** `dmg pool set-prop POOL k:v,...`. */
export async function poolSetProp(client: ControlCaller, id: string, properties: string): Promise<CommandResult> {
  const parsed = parseProperties(properties)
  if (Object.keys(parsed).length === 0) throw new DerError('DER_INVAL', 'pool set-prop needs name:value pairs')
  const response = await client.call('PoolSetProp', { id, properties: parsed })
  return { response, text: 'pool set-prop succeeded\n' }
}

function aclText(r: { owner: string; ownerGroup: string; entries: readonly string[] }): string {
  return [`# Owner: ${r.owner}`, `# Owner Group: ${r.ownerGroup}`, '# Entries:', ...r.entries].join('\n') + '\n'
}

/** `dmg pool get-acl POOL`. */
export async function poolGetAcl(client: ControlCaller, id: string): Promise<CommandResult> {
  const response = await client.call('PoolGetAcl', { id })
  return { response, text: aclText(response) }
}

/** `dmg pool update-acl POOL (--entry ACE | --acl-file F)`. */
export async function poolUpdateAcl(client: ControlCaller, id: string, options: { entry?: string | undefined; aclFile?: string | undefined }, readFile?: FileReader): Promise<CommandResult> {
  if ((options.entry === undefined) === (options.aclFile === undefined)) throw new DerError('DER_INVAL', 'pool update-acl needs exactly one of --entry ACE or --acl-file FILE')
  let entries: string[]
  if (options.entry !== undefined) entries = parseAclText(options.entry, '--entry')
  else if (readFile === undefined) throw new DerError('DER_NOSYS', '--acl-file: no file access here')
  else entries = readAclFile(readFile, options.aclFile as string)
  const response = await client.call('PoolUpdateAcl', { id, entries })
  return { response, text: aclText(response) }
}

/** `dmg pool overwrite-acl POOL --acl-file F`. */
export async function poolOverwriteAcl(client: ControlCaller, id: string, options: { aclFile?: string | undefined }, readFile?: FileReader): Promise<CommandResult> {
  if (options.aclFile === undefined) throw new DerError('DER_INVAL', 'pool overwrite-acl needs --acl-file FILE')
  if (readFile === undefined) throw new DerError('DER_NOSYS', '--acl-file: no file access here')
  const entries = readAclFile(readFile, options.aclFile)
  const response = await client.call('PoolOverwriteAcl', { id, entries })
  return { response, text: aclText(response) }
}

/** `dmg pool delete-acl POOL --principal P`. */
export async function poolDeleteAcl(client: ControlCaller, id: string, options: { principal?: string | undefined }): Promise<CommandResult> {
  const principal = options.principal?.trim()
  if (principal === undefined || principal === '') throw new DerError('DER_INVAL', 'pool delete-acl needs --principal (OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@)')
  if (!/^(OWNER@|GROUP@|EVERYONE@|[ug]:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)$/.test(principal)) {
    throw new DerError('DER_INVAL', `bad --principal '${principal}': expected OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@`)
  }
  const response = await client.call('PoolDeleteAcl', { id, principal })
  return { response, text: aclText(response) }
}

/** Whether a pool query shows a rebuild still to finish. */
function rebuildPending(r: PoolQueryResponse): boolean {
  return r.rebuild?.state === 'busy'
}

/**
 * Polls `pool query` until no rebuild is in progress, with a progress bar (objects rebuilt; the
 * fraction moves with the number of targets back in service). Bounded by `timeoutMs`.
 */
export async function waitRebuild(client: ControlCaller, id: string, context: CommandContext, timeoutMs = 600_000, pollMs = 500): Promise<PoolQueryResponse> {
  const sleep = context.sleep
  const progress = bar(context, `Rebuilding ${id}`)
  let waited = 0
  for (;;) {
    const r = await client.call('PoolQuery', { id })
    const rb = r.rebuild
    const total = Math.max(1, r.totalTargets)
    const fraction =
      rb?.ranksTotal !== undefined && rb.ranksTotal > 0 && rb.ranksDone !== undefined ? rb.ranksDone / rb.ranksTotal : (total - (r.targetStates?.['DOWN'] ?? 0) - (r.targetStates?.['UP'] ?? 0)) / total
    if (!rebuildPending(r)) {
      progress.done(`${r.rebuild?.state ?? 'idle'}, ${r.rebuild?.objects ?? 0} objs`)
      return r
    }
    progress.update(fraction, `${r.rebuild?.objects ?? 0} objs, ${r.rebuild?.records ?? 0} recs`)
    if (sleep === undefined || waited >= timeoutMs) {
      progress.done('still busy')
      if (sleep === undefined) return r
      throw new DerError('DER_TIMEDOUT', `pool ${id}: rebuild still busy after ${Math.round(waited / 1000)} s`)
    }
    await sleep(pollMs)
    waited += pollMs
  }
}

/** `dmg pool exclude|drain|reintegrate POOL --rank R [--target-idx I,...] [--wait]`. */
export async function poolTargetsOperation(
  client: ControlCaller,
  operation: 'exclude' | 'drain' | 'reintegrate',
  id: string,
  options: { rank?: string | undefined; targetIdx?: string | undefined; wait?: boolean | undefined },
  context?: CommandContext,
): Promise<CommandResult> {
  const rank = parseRank(options.rank)
  const targetIdx = parseTargetIndexes(options.targetIdx)
  const method = operation === 'exclude' ? 'PoolExclude' : operation === 'drain' ? 'PoolDrain' : 'PoolReintegrate'
  const response = await client.call(method, { id, rank, ...(targetIdx === undefined ? {} : { targetIdx }) })
  let text = `${capitalize(operation)} command succeeded (map version ${response.mapVersion})\n`
  if (options.wait === true) {
    const after = await waitRebuild(client, id, context ?? {})
    text += `Rebuild ${after.rebuild?.state ?? 'idle'}, ${after.rebuild?.objects ?? 0} objs, ${after.rebuild?.records ?? 0} recs\n`
  }
  return { response, text }
}

/** `dmg pool evict POOL`. */
export async function poolEvict(client: ControlCaller, id: string): Promise<CommandResult> {
  const response = await client.call('PoolEvict', { id })
  return { response, text: `Pool-evict command succeeded (${response.evicted} handle(s))\n` }
}
