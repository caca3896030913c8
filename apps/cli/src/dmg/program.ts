/**
 * `dmg` on commander: global options, the command tree and error handling (DER names, exit
 * codes, never a stack trace).
 *
 * @module
 */
import { type Clock, DerError } from '@x/common'
import type * as grpc from '@grpc/grpc-js'
import { ControlClient, controlClientTlsCredentials, defaultControlPort, loadServerConfigFile, readPemFile } from '@x/daemon'
import { type CommandResult, type ControlCaller, poolCreate, poolDestroy, poolList, poolQuery, systemQuery } from './commands.ts'
import { controlExitCodes, createControlProgram, parseControlProgram, printFailure, printResult } from '../control-program.ts'

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
  /** `host:port`. */
  readonly target: string
  /** Mutual-TLS credentials from the config's `transport_config`; undefined: insecure. */
  readonly credentials: grpc.ChannelCredentials | undefined
}

/**
 * The control address: `-l` first host, else the config's first access point, else
 * 127.0.0.1:10001. A config with `allow_insecure: false` gives mutual TLS with its `ca_cert`,
 * `cert` and `key` unless `-i` is given.
 */
export async function resolveControlTarget(options: DmgGlobalOptions): Promise<ControlTarget> {
  let credentials: grpc.ChannelCredentials | undefined
  let target = `127.0.0.1:${defaultControlPort}`
  if (options.config !== undefined) {
    const config = await loadServerConfigFile(options.config)
    const t = config.transport
    if (!t.allowInsecure && options.insecure !== true) {
      credentials = controlClientTlsCredentials({ caCert: readPemFile(t.caCertPath, 'ca_cert'), cert: readPemFile(t.certPath, 'cert'), key: readPemFile(t.keyPath, 'key') })
    }
    const ap = config.accessPoints[0]
    target = ap === undefined ? `127.0.0.1:${config.port}` : `${ap.host}:${ap.port}`
  }
  if (options.hostList !== undefined) {
    const first = options.hostList.split(',')[0]?.trim() ?? ''
    if (!/^[A-Za-z0-9_.-]+(:\d{1,5})?$/.test(first)) throw new DerError('DER_INVAL', `bad host list '${options.hostList}': expected host[:port][,...]`)
    target = first.includes(':') ? first : `${first}:${defaultControlPort}`
  }
  return { target, credentials }
}

/** Runs `dmg` with `argv` (without `node dmg`); resolves with the exit code. */
export async function runDmg(argv: readonly string[], io: DmgIo): Promise<number> {
  let exitCode: number = dmgExitCodes.ok
  const program = createControlProgram('dmg', 'Administer the system: members and pools (control API over gRPC)', io)

  const run = (command: (client: ControlCaller) => Promise<CommandResult>) => async (): Promise<void> => {
    const globals = program.opts<DmgGlobalOptions>()
    let client: (ControlCaller & { close?: () => void }) | undefined
    try {
      const { target, credentials } = await resolveControlTarget(globals)
      // Connect on the first call only: arguments are validated before any RPC.
      const lazy: ControlCaller = {
        call: (method, request) => {
          client ??= io.connect?.(target) ?? new ControlClient({ target, clock: io.clock, timeoutMs: io.timeoutMs ?? 10_000, ...(credentials === undefined ? {} : { credentials }) })
          return client.call(method, request)
        },
      }
      const result = await command(lazy)
      printResult(io, globals.json === true, result.response, result.text)
    } catch (e) {
      exitCode = printFailure(io, 'dmg', globals.json === true, e)
    } finally {
      client?.close?.()
    }
  }

  const system = program.command('system').description('system commands')
  system
    .command('query')
    .description('list the members of the system with their state')
    .action(run((c) => systemQuery(c)))

  const pool = program.command('pool').description('pool commands')
  pool
    .command('create <label>')
    .description('create a pool')
    .option('-z, --size <size>', 'total pool size (e.g. 1G, 512MiB)')
    .option('-P, --properties <list>', 'pool properties as name:value,...')
    .action(async (label: string, options: { size?: string; properties?: string }) => run((c) => poolCreate(c, label, options))())
  pool
    .command('list')
    .description('list the pools')
    .option('-v, --verbose', 'show UUIDs, states and ranks')
    .action(async (options: { verbose?: boolean }) => run((c) => poolList(c, options))())
  pool
    .command('query <pool>')
    .description('show a pool (label or UUID): map version, targets, space')
    .action(async (id: string) => run((c) => poolQuery(c, id))())
  pool
    .command('destroy <pool>')
    .description('destroy a pool (label or UUID)')
    .option('-f, --force', 'destroy even with open handles')
    .action(async (id: string, options: { force?: boolean }) => run((c) => poolDestroy(c, id, options))())

  return (await parseControlProgram(program, 'dmg', argv, io)) ?? exitCode
}
