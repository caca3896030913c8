/**
 * `dfuse --pool POOL --cont CONT -m MOUNTPOINT [--control HOST:PORT] [--caching auto|caps|none]`:
 * connects through the daemon's control API (pool connect, container query) and cart, mounts
 * the container's namespace on MOUNTPOINT with FUSE, and unmounts cleanly on SIGINT or SIGTERM
 * (buffered data written back, caps released). Runs in the foreground.
 *
 * @module
 */
import { userInfo } from 'node:os'
import { Command } from 'commander'
import { createRealRuntime } from '@x/common'
import { ControlClient, defaultControlPort } from '@x/daemon'
import { errnoOf } from './errors.ts'
import { DfuseMount } from './fuse.ts'
import { type ControlCaller, openDfsSession } from './session.ts'

/** Parsed `dfuse` arguments. */
export interface DfuseArgs {
  readonly pool: string
  readonly cont: string
  readonly mountpoint: string
  readonly control: string
  readonly caching: 'auto' | 'caps' | 'none'
  readonly debug: boolean
}

/** Parses `dfuse`'s command line (without `node dfuse`); throws on bad usage. */
export function parseDfuseArgs(argv: readonly string[]): DfuseArgs {
  const program = new Command('dfuse')
    .description('mount a POSIX container with FUSE')
    .requiredOption('--pool <pool>', 'pool label or UUID')
    .requiredOption('--cont <cont>', 'container label or UUID')
    .requiredOption('-m, --mountpoint <dir>', 'local directory to mount on')
    .option('--control <host:port>', 'control server', `127.0.0.1:${defaultControlPort}`)
    .option('--caching <mode>', 'auto (caps when served), caps or none', 'auto')
    .option('-f, --foreground', 'stay in the foreground (always)')
    .option('-d, --debug', 'trace FUSE requests')
    .exitOverride()
  program.parse(['node', 'dfuse', ...argv])
  const o = program.opts<{ pool: string; cont: string; mountpoint: string; control: string; caching: string; debug?: boolean }>()
  if (o.caching !== 'auto' && o.caching !== 'caps' && o.caching !== 'none') throw new Error(`bad --caching ${o.caching}`)
  return { pool: o.pool, cont: o.cont, mountpoint: o.mountpoint, control: o.control, caching: o.caching, debug: o.debug === true }
}

/** Runs dfuse until SIGINT/SIGTERM; resolves with the exit code. */
export async function runDfuse(argv: readonly string[]): Promise<number> {
  let args: DfuseArgs
  try {
    args = parseDfuseArgs(argv)
  } catch (e) {
    process.stderr.write(`dfuse: ${e instanceof Error ? e.message : String(e)}\n`)
    return 2
  }
  const runtime = createRealRuntime()
  const control = new ControlClient({ target: args.control, clock: runtime.clock, timeoutMs: 10_000 })
  const identity = { user: `${userInfo().username}@`, groups: [] as string[] }
  const caller: ControlCaller = { call: (method, request) => control.call(method, { ...request, identity } as never) }
  try {
    const session = await openDfsSession(caller, args.pool, args.cont, { runtime, caching: args.caching })
    const mount = new DfuseMount(session.dfs, args.mountpoint, { debug: args.debug })
    await mount.mount()
    process.stderr.write(`dfuse: ${args.pool}/${args.cont} mounted on ${args.mountpoint} (caching: ${session.caching})\n`)
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    process.stderr.write('dfuse: unmounting\n')
    await mount.unmount()
    await session.close()
    return 0
  } catch (e) {
    process.stderr.write(`dfuse: ${errnoOf(e)}: ${e instanceof Error ? e.message : String(e)}\n`)
    return 1
  } finally {
    control.close()
  }
}
