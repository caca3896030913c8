/**
 * `daos` on commander: global options (`-o`, `-j`, `-l`, `-i` as `dmg`), the container and kv
 * command trees, and error handling (DER names, exit codes 0 / 1 / 2, never a stack trace).
 *
 * @module
 */
import type { Runtime } from '@x/common'
import { ControlClient } from '@x/daemon'
import { type DmgGlobalOptions, dmgExitCodes, resolveControlTarget } from '../dmg/program.ts'
import { createControlProgram, parseControlProgram, printFailure, printResult } from '../control-program.ts'
import { type DaosCaller, type DaosResult, type KvOpener, containerCreate, containerDestroy, containerList, containerQuery, kvGet, kvList, kvPut, kvRemove } from './commands.ts'
import { openKvSession } from './session.ts'

/** Where `daos` writes and which runtime it runs on. */
export interface DaosIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Clock and timers (deadlines, the object client's retries). */
  readonly runtime: Runtime
  /** Deadline of each call (default 10 s). */
  readonly timeoutMs?: number
}

/** Exit codes of `daos` (as `dmg`): success, a failed command, bad usage. */
export const daosExitCodes = dmgExitCodes

/** Runs `daos` with `argv` (without `node daos`); resolves with the exit code. */
export async function runDaos(argv: readonly string[], io: DaosIo): Promise<number> {
  let exitCode: number = daosExitCodes.ok
  const program = createControlProgram('daos', 'Use pools and containers: containers and key-value data', io)

  const run = (command: (client: DaosCaller, openKv: KvOpener) => Promise<DaosResult>) => async (): Promise<void> => {
    const globals = program.opts<DmgGlobalOptions>()
    let client: ControlClient | undefined
    try {
      const { target, credentials } = await resolveControlTarget(globals)
      const timeoutMs = io.timeoutMs ?? 10_000
      const lazy: DaosCaller = {
        call: (method, request) => {
          client ??= new ControlClient({ target, clock: io.runtime.clock, timeoutMs, ...(credentials === undefined ? {} : { credentials }) })
          return client.call(method, request)
        },
      }
      const openKv: KvOpener = (pool, cont) => openKvSession(lazy, pool, cont, { runtime: io.runtime, timeoutMs: Math.min(timeoutMs, 5000) })
      const result = await command(lazy, openKv)
      printResult(io, globals.json === true, result.response, result.text)
    } catch (e) {
      exitCode = printFailure(io, 'daos', globals.json === true, e)
    } finally {
      client?.close()
    }
  }

  const container = program.command('container').description('container commands')
  container
    .command('create <pool> <label>')
    .description('create a container in a pool (label or UUID)')
    .option('-t, --type <type>', 'container type: KV (default) or POSIX')
    .option('--oclass <class>', 'object class of the container KV object (default S1)')
    .option('-P, --properties <list>', 'container properties as name:value,...')
    .action(async (pool: string, label: string, options: { type?: string; oclass?: string; properties?: string }) => run((c) => containerCreate(c, pool, label, options))())
  container
    .command('list <pool>')
    .description('list the containers of a pool')
    .action(async (pool: string) => run((c) => containerList(c, pool))())
  container
    .command('query <pool> <cont>')
    .description('show a container (label or UUID)')
    .action(async (pool: string, cont: string) => run((c) => containerQuery(c, pool, cont))())
  container
    .command('destroy <pool> <cont>')
    .description('destroy a container')
    .option('-f, --force', 'destroy even with open handles')
    .action(async (pool: string, cont: string, options: { force?: boolean }) => run((c) => containerDestroy(c, pool, cont, options))())

  const kv = program.command('kv').description('key-value commands on a container')
  kv.command('put <pool> <cont> <key> <value>')
    .description('store VALUE (UTF-8) under KEY')
    .action(async (pool: string, cont: string, key: string, value: string) => run((_, open) => kvPut(open, pool, cont, key, value))())
  kv.command('get <pool> <cont> <key>')
    .description('print the value under KEY (DER_NONEXIST when absent)')
    .action(async (pool: string, cont: string, key: string) => run((_, open) => kvGet(open, pool, cont, key))())
  kv.command('list <pool> <cont>')
    .description('list the keys')
    .action(async (pool: string, cont: string) => run((_, open) => kvList(open, pool, cont))())
  kv.command('remove <pool> <cont> <key>')
    .description('remove KEY')
    .action(async (pool: string, cont: string, key: string) => run((_, open) => kvRemove(open, pool, cont, key))())

  return (await parseControlProgram(program, 'daos', argv, io)) ?? exitCode
}
