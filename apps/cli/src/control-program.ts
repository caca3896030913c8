/**
 * What `dmg` and `daos` share: the program with the global options (`-o`, `-l`, `-j`, `-i`),
 * printing a result or a failure (text or DAOS's `{response, error, status}` envelope), and
 * parsing with commander mapped to exit codes (0 success, 1 a failed command, 2 bad usage), never
 * a stack trace.
 *
 * @module
 */
import { Command, CommanderError } from 'commander'
import { DerError, isDerError } from '@x/common'
import type { ControlCaller } from './dmg/commands.ts'
import { errorEnvelope, formatCliError, okEnvelope } from './dmg/format.ts'

/**
 * Exit codes of the control-plane CLIs, stable for scripts: 0 success; 1 the command failed (the
 * message, and with `-j` the envelope's `status`, name the DER code); 2 bad usage (unknown
 * command or option, missing argument: `DER_INVAL` with commander's message, then the usage).
 */
export const controlExitCodes = { ok: 0, failed: 1, usage: 2 } as const

/** Where a control-plane CLI writes. */
export interface ControlOutput {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

/** A commander program with the global options of `dmg` and `daos`, writing to `io`. */
export function createControlProgram(tool: string, description: string, io: ControlOutput): Command {
  return new Command(tool)
    .description(description)
    .option('-o, --config <path>', 'config file naming the access points (default 127.0.0.1:10001)')
    .option('-l, --host-list <hosts>', 'control servers to contact (host[:port],...)')
    .option('-j, --json', 'print the result as JSON {response, error, status}')
    .option('-i, --insecure', 'connect without TLS')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()
}

/** Prints a command's result: `text`, or the envelope of `response` with `-j`. */
export function printResult(io: ControlOutput, json: boolean, response: unknown, text: string): void {
  io.stdout(json ? JSON.stringify(okEnvelope(response), null, 2) + '\n' : text)
}

/** Prints a failure (as a DER error; anything else is `DER_MISC`) and returns the exit code. */
export function printFailure(io: ControlOutput, tool: string, json: boolean, failure: unknown): number {
  const der = isDerError(failure) ? failure : new DerError('DER_MISC', failure instanceof Error ? failure.message : String(failure))
  if (json) io.stdout(JSON.stringify(errorEnvelope(der), null, 2) + '\n')
  else io.stderr(formatCliError(tool, der) + '\n')
  return controlExitCodes.failed
}

function eachCommand(command: Command, visit: (command: Command) => void): void {
  visit(command)
  for (const sub of command.commands) eachCommand(sub, visit)
}

/**
 * Parses `argv` with `program` (every subcommand writing to `io` and throwing instead of
 * exiting). Returns the exit code of help, version, bad usage or an unexpected failure, or
 * `undefined` when the command ran (its own code is the caller's).
 */
export async function parseControlProgram(program: Command, tool: string, argv: readonly string[], io: ControlOutput): Promise<number | undefined> {
  // Usage errors name DER_INVAL like every other error (and, with -j, come as an envelope too).
  const json = argv.includes('-j') || argv.includes('--json')
  const outputError = (text: string, write: (t: string) => void): void => {
    const message = text.replace(/^error: /, '').trimEnd()
    write(`${formatCliError(tool, new DerError('DER_INVAL', message))}\n`)
    if (json) io.stdout(JSON.stringify(errorEnvelope(new DerError('DER_INVAL', message)), null, 2) + '\n')
  }
  eachCommand(program, (c) => c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError }))
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return undefined
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? controlExitCodes.ok : controlExitCodes.usage
    }
    io.stderr(`ERROR: ${tool}: ${e instanceof Error ? e.message : String(e)}\n`)
    return controlExitCodes.failed
  }
}

/** A caller that can be closed. */
export type ClosableCaller = ControlCaller & { close?: () => void }

/**
 * A caller over several control servers (`-l a,b,c` or the config's access points): each call
 * goes to the first that answers; a `DER_UNREACH` moves on to the next (remembered for later
 * calls). Clients are opened on the first call only, so argument errors never touch the network.
 */
export function failoverCaller(targets: readonly string[], connect: (target: string) => ClosableCaller): ClosableCaller & { readonly clientsOpened: number } {
  if (targets.length === 0) throw new DerError('DER_INVAL', 'no control server to contact')
  const clients = new Map<string, ClosableCaller>()
  let current = 0
  return {
    get clientsOpened() {
      return clients.size
    },
    call: async (method, request) => {
      let last: unknown
      for (let tried = 0; tried < targets.length; tried++) {
        const index = (current + tried) % targets.length
        const target = targets[index] as string
        let client = clients.get(target)
        if (client === undefined) {
          client = connect(target)
          clients.set(target, client)
        }
        try {
          const response = await client.call(method, request)
          current = index
          return response
        } catch (e) {
          if (!isDerError(e, 'DER_UNREACH')) throw e
          last = e
        }
      }
      if (targets.length > 1 && isDerError(last)) throw new DerError('DER_UNREACH', `none of the control servers answered (${targets.join(', ')}): ${last.message}`)
      throw last
    },
    close: () => {
      for (const c of clients.values()) c.close?.()
      clients.clear()
    },
  }
}
