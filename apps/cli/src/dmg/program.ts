/**
 * `dmg` on commander: global options, the command tree and error handling (DER names, exit
 * codes, never a stack trace).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { type Clock, DerError } from '@x/common'
import type * as grpc from '@grpc/grpc-js'
import { type ClientIdentity, ControlClient, controlClientTlsCredentials, defaultControlPort, loadServerConfigFile, readPemFile } from '@x/daemon'
import {
  type CommandContext,
  type CommandResult,
  type ControlCaller,
  type FileReader,
  type PoolCreateOptions,
  poolCreate,
  poolDeleteAcl,
  poolDestroy,
  poolEvict,
  poolGetAcl,
  poolGetProp,
  poolList,
  poolOverwriteAcl,
  poolQuery,
  poolSetProp,
  poolTargetsOperation,
  poolUpdateAcl,
  storageFormat,
  storageQueryUsage,
  storageScan,
  systemQuery,
  systemRankOperation,
  waitRebuild,
} from './commands.ts'
import { type ClosableCaller, controlExitCodes, createControlProgram, failoverCaller, parseControlProgram, printFailure, printResult } from '../control-program.ts'
import { localIdentity } from '../common/identity.ts'

/** Where `dmg` writes and how it reaches the control server (fakes in tests). */
export interface DmgIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Wall clock for call deadlines. */
  readonly clock: Pick<Clock, 'realtimeMs'>
  /** Opens a client to `target` (default: a gRPC `ControlClient` from `@x/daemon`). */
  readonly connect?: (target: string) => ControlCaller & { close?: () => void }
  /** Deadline of each call (default 10 s). */
  readonly timeoutMs?: number
  /** Whether stderr is a terminal (progress bars; default false). */
  readonly isTTY?: boolean
  /** Reads `--acl-file` files (default: the file system). */
  readonly readFile?: FileReader
  /** The caller's identity, the default pool owner (default: the OS user and group). */
  readonly identity?: ClientIdentity
  /** Sleeps between polls (`--wait`; default: none, a single query). */
  readonly sleep?: (ms: number) => Promise<void>
}

/** Exit codes of `dmg`: success, a failed command, bad usage. */
export const dmgExitCodes = controlExitCodes

/** `dmg`'s global options. */
export interface DmgGlobalOptions {
  /** `-o`: a server config naming the access points. */
  config?: string
  /** `-j`: JSON output. */
  json?: boolean
  /** `-i`: no TLS. */
  insecure?: boolean
  /** `-l`: control servers `host[:port],...`. */
  hostList?: string
}

/** Where and how `dmg` reaches the control server. */
export interface ControlTarget {
  /** The first `host:port` to try. */
  readonly target: string
  /** Every `host:port` to try, in order (`-l` hosts, or the config's access points). */
  readonly targets: readonly string[]
  /** Mutual-TLS credentials from the config's `transport_config`; undefined: insecure. */
  readonly credentials: grpc.ChannelCredentials | undefined
}

/** Largest number of hosts in `-l`. */
export const maxHostListLength = 64

/** Parses `-l host[:port],...` (default port 10001); `DER_INVAL` on a malformed entry. */
export function parseHostList(text: string): string[] {
  const hosts: string[] = []
  for (const raw of text.split(',')) {
    const entry = raw.trim()
    const m = /^([A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(entry)
    if (m === null || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) throw new DerError('DER_INVAL', `bad host list '${text}': '${entry}' is not host[:port] (port 1..65535)`)
    const target = `${m[1]}:${m[2] ?? defaultControlPort}`
    if (!hosts.includes(target)) hosts.push(target)
  }
  if (hosts.length > maxHostListLength) throw new DerError('DER_INVAL', `bad host list: at most ${maxHostListLength} hosts`)
  return hosts
}

/**
 * The control addresses: `-l` hosts first, else the config's access points, else
 * 127.0.0.1:10001. A config with `allow_insecure: false` gives mutual TLS with its `ca_cert`,
 * `cert` and `key` unless `-i` is given.
 */
export async function resolveControlTarget(options: DmgGlobalOptions): Promise<ControlTarget> {
  let credentials: grpc.ChannelCredentials | undefined
  let targets = [`127.0.0.1:${defaultControlPort}`]
  if (options.config !== undefined) {
    const config = await loadServerConfigFile(options.config)
    const t = config.transport
    if (!t.allowInsecure && options.insecure !== true) {
      credentials = controlClientTlsCredentials({ caCert: readPemFile(t.caCertPath, 'ca_cert'), cert: readPemFile(t.certPath, 'cert'), key: readPemFile(t.keyPath, 'key') })
    }
    targets = config.accessPoints.length === 0 ? [`127.0.0.1:${config.port}`] : config.accessPoints.map((ap) => `${ap.host}:${ap.port}`)
  }
  if (options.hostList !== undefined) targets = parseHostList(options.hostList)
  return { target: targets[0] as string, targets, credentials }
}

/** The default owner of new pools: the caller's user and primary group. */
function ownerDefaults(identity: ClientIdentity): { user: string; group?: string } {
  const group = identity.groups[0]
  return group === undefined ? { user: identity.user } : { user: identity.user, group }
}

/** Runs `dmg` with `argv` (without `node dmg`); resolves with the exit code. */
export async function runDmg(argv: readonly string[], io: DmgIo): Promise<number> {
  let exitCode: number = dmgExitCodes.ok
  const program = createControlProgram('dmg', 'Administer the system: members, storage and pools (control API over gRPC)', io)
  const readFile: FileReader = io.readFile ?? ((path) => readFileSync(path, 'utf8'))

  const run = (command: (client: ControlCaller, context: CommandContext) => Promise<CommandResult>) => async (): Promise<void> => {
    const globals = program.opts<DmgGlobalOptions>()
    let caller: ClosableCaller | undefined
    try {
      const { targets, credentials } = await resolveControlTarget(globals)
      caller = failoverCaller(
        targets,
        (target) => io.connect?.(target) ?? new ControlClient({ target, clock: io.clock, timeoutMs: io.timeoutMs ?? 10_000, ...(credentials === undefined ? {} : { credentials }) }),
      )
      const context: CommandContext = {
        progress: { write: io.stderr, isTTY: io.isTTY === true },
        showProgress: globals.json !== true,
        ...(io.sleep === undefined ? {} : { sleep: io.sleep }),
      }
      const result = await command(caller, context)
      printResult(io, globals.json === true, result.response, result.text)
    } catch (e) {
      exitCode = printFailure(io, 'dmg', globals.json === true, e)
    } finally {
      caller?.close?.()
    }
  }

  const system = program.command('system').alias('sys').description('system commands (members and their states)')
  system
    .command('query')
    .description('list the members of the system with their state')
    .option('-r, --ranks <ranks>', 'only these ranks (e.g. 0,2-3)')
    .option('-v, --verbose', 'all columns (the default already shows them)')
    .action(async (options: { ranks?: string }) => run((c) => systemQuery(c, options))())
  for (const operation of ['stop', 'start', 'exclude'] as const) {
    const cmd = system
      .command(operation)
      .description(operation === 'stop' ? 'stop engines (their control servers stay up)' : operation === 'start' ? 'start stopped engines' : 'exclude ranks from the system and its pools')
      .option('-r, --ranks <ranks>', operation === 'exclude' ? 'the ranks to exclude (required; e.g. 1,3-4)' : 'only these ranks (default: all)')
    if (operation === 'stop') cmd.option('-f, --force', 'stop even when pools would lose their service quorum')
    cmd.action(async (options: { ranks?: string; force?: boolean }) => run((c) => systemRankOperation(c, operation, options))())
  }

  const storage = program.command('storage').alias('sto').description('storage commands')
  storage
    .command('scan')
    .description('show the storage devices of every engine')
    .option('-v, --verbose', 'one row per device')
    .action(async (options: { verbose?: boolean }) => run((c) => storageScan(c, options))())
  storage
    .command('format')
    .description('format the engines\' storage (new devices are formatted at start)')
    .option('-f, --force', 'reformat (refused while pools exist)')
    .action(async (options: { force?: boolean }) => run((c, ctx) => storageFormat(c, options, ctx))())
  const storageQuery = storage.command('query').description('storage queries')
  storageQuery
    .command('usage')
    .description('space per engine: total, used, free')
    .action(async () => run((c) => storageQueryUsage(c))())

  const pool = program.command('pool').description('pool commands')
  pool
    .command('create <label>')
    .description('create a pool')
    .option('-z, --size <size>', 'total pool size (e.g. 1G, 512MiB)')
    .option('-k, --nranks <n>', 'number of ranks to use (default: all)')
    .option('-P, --properties <list>', 'pool properties as name:value,...')
    .option('-u, --user <name>', 'owner user (default: you)')
    .option('-g, --group <name>', 'owner group (default: your primary group)')
    .option('-a, --acl-file <path>', 'ACL file, one TYPE:FLAGS:PRINCIPAL:PERMS entry per line')
    .action(async (label: string, options: PoolCreateOptions) =>
      run((c, ctx) => poolCreate(c, label, options, { ...ctx, readFile, defaults: ownerDefaults(io.identity ?? localIdentity()) }))(),
    )
  pool
    .command('list')
    .alias('ls')
    .description('list the pools')
    .option('-v, --verbose', 'show UUIDs, states and ranks')
    .action(async (options: { verbose?: boolean }) => run((c) => poolList(c, options))())
  pool
    .command('query <pool>')
    .description('show a pool (label or UUID): map version, targets, space, rebuild')
    .option('-w, --wait-rebuild', 'wait until no rebuild is in progress (progress bar on a terminal)')
    .action(async (id: string, options: { waitRebuild?: boolean }) =>
      run(async (c, ctx) => {
        if (options.waitRebuild === true) await waitRebuild(c, id, ctx)
        return poolQuery(c, id)
      })(),
    )
  pool
    .command('destroy <pool>')
    .description('destroy a pool (label or UUID)')
    .option('-f, --force', 'destroy even with open handles')
    .action(async (id: string, options: { force?: boolean }) => run((c) => poolDestroy(c, id, options))())
  pool
    .command('get-prop <pool> [names]')
    .description('show pool properties (all, or name,...)')
    .action(async (id: string, names: string | undefined) => run((c) => poolGetProp(c, id, names))())
  pool
    .command('set-prop <pool> <properties>')
    .description('set pool properties: name:value,...')
    .action(async (id: string, properties: string) => run((c) => poolSetProp(c, id, properties))())
  pool
    .command('get-acl <pool>')
    .description('show the pool ACL')
    .action(async (id: string) => run((c) => poolGetAcl(c, id))())
  pool
    .command('update-acl <pool>')
    .description('add or replace ACL entries')
    .option('-e, --entry <ace>', 'one entry, e.g. A::alice@:rw')
    .option('-a, --acl-file <path>', 'entries from a file')
    .action(async (id: string, options: { entry?: string; aclFile?: string }) => run((c) => poolUpdateAcl(c, id, options, readFile))())
  pool
    .command('overwrite-acl <pool>')
    .description('replace the whole ACL')
    .option('-a, --acl-file <path>', 'entries from a file (required)')
    .action(async (id: string, options: { aclFile?: string }) => run((c) => poolOverwriteAcl(c, id, options, readFile))())
  pool
    .command('delete-acl <pool>')
    .description('remove the ACL entry of a principal')
    .option('-p, --principal <principal>', 'OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@ (required)')
    .action(async (id: string, options: { principal?: string }) => run((c) => poolDeleteAcl(c, id, options))())
  for (const operation of ['exclude', 'drain', 'reintegrate'] as const) {
    const cmd = pool
      .command(`${operation} <pool>`)
      .description(operation === 'exclude' ? 'exclude targets of a rank (they are rebuilt elsewhere)' : operation === 'drain' ? 'move data off targets of a rank' : 'bring excluded targets of a rank back')
      .option('--rank <rank>', 'the rank (required)')
      .option('--target-idx <list>', 'target indexes in the rank (default: all), e.g. 0,1')
      .option('-w, --wait', 'wait for the rebuild to finish (progress bar on a terminal)')
      .action(async (id: string, options: { rank?: string; targetIdx?: string; wait?: boolean }) => run((c, ctx) => poolTargetsOperation(c, operation, id, options, ctx))())
    if (operation === 'reintegrate') cmd.alias('reint')
  }
  pool
    .command('evict <pool>')
    .description('close every handle of the pool')
    .action(async (id: string) => run((c) => poolEvict(c, id))())

  return (await parseControlProgram(program, 'dmg', argv, io)) ?? exitCode
}
