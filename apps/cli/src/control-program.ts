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
import { errorEnvelope, formatCliError, okEnvelope } from './dmg/format.ts'

/** Exit codes of the control-plane CLIs: success, a failed command, bad usage. */
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
  eachCommand(program, (c) => c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }))
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
