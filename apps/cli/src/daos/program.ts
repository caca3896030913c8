/**
 * `daos` on commander: global options (`-o`, `-j`, `-l`, `-i` as `dmg`), the pool, container,
 * object and kv command trees, and error handling (DER names, exit codes 0 / 1 / 2, never a
 * stack trace). Every pool and container request carries the caller's identity (the OS user and
 * groups), checked by the pool service against the pool ACL.
 *
 * @module
 */
import type { Runtime } from '@x/common'
import { type ClientIdentity, ControlClient } from '@x/daemon'
import { openDfsSession, registerFilesystemCommands } from '@x/dfs'
import { type DmgGlobalOptions, dmgExitCodes, resolveControlTarget } from '../dmg/program.ts'
import { type ClosableCaller, createControlProgram, failoverCaller, parseControlProgram, printFailure, printResult } from '../control-program.ts'
import { localIdentity } from '../common/identity.ts'
import {
  type DaosCaller,
  type DaosResult,
  type KvOpener,
  containerCreate,
  containerCreateSnap,
  containerDelAttr,
  containerDestroy,
  containerDestroySnap,
  containerGetAttr,
  containerGetProp,
  containerList,
  containerListAttrs,
  containerListSnaps,
  containerQuery,
  containerSetAttr,
  containerSetProp,
  daosPoolQuery,
  identifiedCaller,
  kvGet,
  kvList,
  kvPut,
  kvRemove,
  objectQuery,
  poolGetAttr,
  poolListAttrs,
  poolListContainers,
  poolSetAttr,
} from './commands.ts'
import { openKvSession } from './session.ts'

/** Where `daos` writes and which runtime it runs on. */
export interface DaosIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Clock and timers (deadlines, the object client's retries). */
  readonly runtime: Runtime
  /** Deadline of each call (default 10 s). */
  readonly timeoutMs?: number
  /** Who the caller is (default: the OS user and its groups). */
  readonly identity?: ClientIdentity
  /** Whether stderr is a terminal (progress bars of `filesystem copy`; default false). */
  readonly isTTY?: boolean
}

/** Exit codes of `daos` (as `dmg`): success, a failed command, bad usage. */
export const daosExitCodes = dmgExitCodes

/** Runs `daos` with `argv` (without `node daos`); resolves with the exit code. */
export async function runDaos(argv: readonly string[], io: DaosIo): Promise<number> {
  let exitCode: number = daosExitCodes.ok
  const program = createControlProgram('daos', 'Use pools and containers: containers, attributes, snapshots, objects and key-value data', io)

  const connect = async (): Promise<{ caller: ClosableCaller; client: DaosCaller; timeoutMs: number }> => {
    const globals = program.opts<DmgGlobalOptions>()
    const { targets, credentials } = await resolveControlTarget(globals)
    const timeoutMs = io.timeoutMs ?? 10_000
    const caller = failoverCaller(targets, (target) => new ControlClient({ target, clock: io.runtime.clock, timeoutMs, ...(credentials === undefined ? {} : { credentials }) }))
    return { caller, client: identifiedCaller(caller, io.identity ?? localIdentity()), timeoutMs }
  }

  const run = (command: (client: DaosCaller, openKv: KvOpener) => Promise<DaosResult>) => async (): Promise<void> => {
    const globals = program.opts<DmgGlobalOptions>()
    let caller: ClosableCaller | undefined
    try {
      const connected = await connect()
      caller = connected.caller
      const { client, timeoutMs } = connected
      const openKv: KvOpener = (pool, cont, caps) => openKvSession(client, pool, cont, { runtime: io.runtime, timeoutMs: Math.min(timeoutMs, 5000), ...(caps === undefined ? {} : { caps }) })
      const result = await command(client, openKv)
      printResult(io, globals.json === true, result.response, result.text)
    } catch (e) {
      exitCode = printFailure(io, 'daos', globals.json === true, e)
    } finally {
      caller?.close?.()
    }
  }

  const pool = program.command('pool').description('pool commands (as a user: checked against the pool ACL)')
  pool
    .command('query <pool>')
    .description('show a pool: map version, targets, space, rebuild')
    .action(async (id: string) => run((c) => daosPoolQuery(c, id))())
  pool
    .command('list-containers <pool>')
    .alias('list-cont')
    .description('list the containers of a pool')
    .action(async (id: string) => run((c) => poolListContainers(c, id))())
  pool
    .command('list-attrs <pool>')
    .alias('list-attr')
    .description('list the pool user attributes')
    .option('-V, --verbose', 'with their values')
    .action(async (id: string, options: { verbose?: boolean }) => run((c) => poolListAttrs(c, id, options))())
  pool
    .command('get-attr <pool> <name>')
    .description('print a pool attribute')
    .action(async (id: string, name: string) => run((c) => poolGetAttr(c, id, name))())
  pool
    .command('set-attr <pool> <name> <value>')
    .description('set a pool attribute (UTF-8 value)')
    .action(async (id: string, name: string, value: string) => run((c) => poolSetAttr(c, id, name, value))())

  const container = program.command('container').alias('cont').description('container commands')
  container
    .command('create <pool> <label>')
    .description('create a container in a pool (label or UUID)')
    .option('-t, --type <type>', 'container type: KV (default) or POSIX')
    .option('--oclass <class>', 'object class of the container KV object (default S1)')
    .option('-z, --chunk-size <size>', 'POSIX: file chunk size, a power of two from 4K to 1G (default 1M)')
    .option('-P, --properties <list>', 'container properties as name:value,...')
    .action(async (poolId: string, label: string, options: { type?: string; oclass?: string; properties?: string; chunkSize?: string }) => run((c) => containerCreate(c, poolId, label, options))())
  container
    .command('list <pool>')
    .alias('ls')
    .description('list the containers of a pool')
    .action(async (poolId: string) => run((c) => containerList(c, poolId))())
  container
    .command('query <pool> <cont>')
    .description('show a container (label or UUID)')
    .action(async (poolId: string, cont: string) => run((c) => containerQuery(c, poolId, cont))())
  container
    .command('destroy <pool> <cont>')
    .description('destroy a container')
    .option('-f, --force', 'destroy even with open handles')
    .action(async (poolId: string, cont: string, options: { force?: boolean }) => run((c) => containerDestroy(c, poolId, cont, options))())
  container
    .command('get-prop <pool> <cont> [names]')
    .description('show container properties (all, or name,...)')
    .action(async (poolId: string, cont: string, names: string | undefined) => run((c) => containerGetProp(c, poolId, cont, names))())
  container
    .command('set-prop <pool> <cont> <properties>')
    .description('set container properties: name:value,...')
    .action(async (poolId: string, cont: string, properties: string) => run((c) => containerSetProp(c, poolId, cont, properties))())
  container
    .command('list-attrs <pool> <cont>')
    .alias('list-attr')
    .description('list the container user attributes')
    .option('-V, --verbose', 'with their values')
    .action(async (poolId: string, cont: string, options: { verbose?: boolean }) => run((c) => containerListAttrs(c, poolId, cont, options))())
  container
    .command('get-attr <pool> <cont> <name>')
    .description('print a container attribute')
    .action(async (poolId: string, cont: string, name: string) => run((c) => containerGetAttr(c, poolId, cont, name))())
  container
    .command('set-attr <pool> <cont> <name> <value>')
    .description('set a container attribute (UTF-8 value)')
    .action(async (poolId: string, cont: string, name: string, value: string) => run((c) => containerSetAttr(c, poolId, cont, name, value))())
  container
    .command('del-attr <pool> <cont> <name>')
    .description('delete a container attribute')
    .action(async (poolId: string, cont: string, name: string) => run((c) => containerDelAttr(c, poolId, cont, name))())
  container
    .command('create-snap <pool> <cont>')
    .alias('snap')
    .description('take a snapshot at the current epoch')
    .option('-s, --snap <name>', 'a name for the snapshot')
    .action(async (poolId: string, cont: string, options: { snap?: string }) => run((c) => containerCreateSnap(c, poolId, cont, options))())
  container
    .command('list-snaps <pool> <cont>')
    .alias('list-snap')
    .description('list the snapshots (epochs and names)')
    .action(async (poolId: string, cont: string) => run((c) => containerListSnaps(c, poolId, cont))())
  container
    .command('destroy-snap <pool> <cont>')
    .description('destroy a snapshot')
    .option('-e, --epc <epoch>', 'the snapshot epoch')
    .option('-s, --snap <name>', 'the snapshot name')
    .action(async (poolId: string, cont: string, options: { epc?: string; snap?: string }) => run((c) => containerDestroySnap(c, poolId, cont, options))())

  const object = program.command('object').alias('obj').description('object commands')
  object
    .command('query <pool> <cont> <oid>')
    .description('show where the shards of object OID (hi.lo) are placed')
    .action(async (poolId: string, cont: string, oid: string) => run((c) => objectQuery(c, poolId, cont, oid))())

  const kv = program.command('kv').description('key-value commands on a container')
  kv.command('put <pool> <cont> <key> <value>')
    .description('store VALUE (UTF-8) under KEY')
    .action(async (poolId: string, cont: string, key: string, value: string) => run((_, open) => kvPut(open, poolId, cont, key, value))())
  kv.command('get <pool> <cont> <key>')
    .description('print the value under KEY (DER_NONEXIST when absent)')
    .action(async (poolId: string, cont: string, key: string) => run((_, open) => kvGet(open, poolId, cont, key))())
  kv.command('list <pool> <cont>')
    .description('list the keys')
    .action(async (poolId: string, cont: string) => run((_, open) => kvList(open, poolId, cont))())
  kv.command('remove <pool> <cont> <key>')
    .description('remove KEY')
    .action(async (poolId: string, cont: string, key: string) => run((_, open) => kvRemove(open, poolId, cont, key))())

  // `filesystem` (alias `fs`): the POSIX namespace of a container through @x/dfs, on one control
  // connection opened on first use and closed when the command is done.
  let fsConnection: Promise<{ caller: ClosableCaller; client: DaosCaller; timeoutMs: number }> | undefined
  registerFilesystemCommands(
    program,
    async (poolId, contId) => {
      fsConnection ??= connect()
      const { client, timeoutMs } = await fsConnection
      return openDfsSession(client, poolId, contId, { runtime: io.runtime, timeoutMs: Math.min(timeoutMs, 5000) })
    },
    {
      stdout: io.stdout,
      stderr: io.stderr,
      fail: (code) => {
        exitCode = code
      },
      interactive: io.isTTY === true && !argv.includes('-j') && !argv.includes('--json'),
    },
  )

  try {
    return (await parseControlProgram(program, 'daos', argv, io)) ?? exitCode
  } finally {
    if (fsConnection !== undefined) (await fsConnection.catch(() => undefined))?.caller.close?.()
  }
}
