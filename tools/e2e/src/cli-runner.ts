/**
 * Runs `dmg` and `daos` as real processes, the way the root package.json's `pnpm -s dmg` and
 * `pnpm -s daos` scripts do (`tsx --conditions=@x/source apps/cli/src/<tool>/main.ts`), always
 * with `-j`, and parses the JSON envelope `{response, error, status}`. Bounded: a run that does
 * not finish in time is killed with SIGKILL and rejects with `DER_TIMEDOUT`.
 *
 * @module
 */
import { join } from 'node:path'
import { DerError, type Runtime } from '@x/common'
import { ManagedProcess } from './managed-process.ts'
import { repoRoot } from './repo.ts'

/** The two command-line tools. */
export type CliTool = 'dmg' | 'daos'

/** The parsed outcome of one CLI run. */
export interface CliResult {
  readonly tool: CliTool
  /** The arguments after the tool name (with the harness's global options). */
  readonly args: readonly string[]
  readonly exitCode: number | null
  /** The envelope's `status`: 0, or a negative DER code. */
  readonly status: number
  /** The envelope's `response` (null on failure). */
  readonly response: unknown
  /** The envelope's `error` (null on success): `DER_NAME: message`. */
  readonly error: string | null
  readonly stdout: string
  readonly stderr: string
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  readonly runtime: Runtime
  /** `-o CONFIG`. */
  readonly configPath?: string
  /** `-l HOST:PORT` (overrides the config's first access point). */
  readonly hostList?: string
  /** Kill the run after this long (default 60 s). */
  readonly timeoutMs?: number
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>
}

/** The Node arguments that run `tool` from source. */
export function cliNodeArgs(tool: CliTool): string[] {
  return ['--conditions=@x/source', '--import', 'tsx', join(repoRoot, 'apps', 'cli', 'src', tool, 'main.ts')]
}

/** Parses a `-j` envelope; `DER_PROTO` when the output is not one. */
export function parseEnvelope(stdout: string): { status: number; response: unknown; error: string | null } {
  let data: unknown
  try {
    data = JSON.parse(stdout)
  } catch {
    throw new DerError('DER_PROTO', `not a JSON envelope: ${stdout.slice(0, 300)}`)
  }
  if (data === null || typeof data !== 'object' || !('status' in data) || typeof data.status !== 'number') {
    throw new DerError('DER_PROTO', `not a JSON envelope (no numeric status): ${stdout.slice(0, 300)}`)
  }
  const envelope = data as { status: number; response?: unknown; error?: unknown }
  return { status: envelope.status, response: envelope.response ?? null, error: typeof envelope.error === 'string' ? envelope.error : null }
}

/** Runs `tool -j [-o config] [-l host] ...args` and parses its envelope. */
export async function runCli(tool: CliTool, args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  const globals = ['-j', ...(options.configPath === undefined ? [] : ['-o', options.configPath]), ...(options.hostList === undefined ? [] : ['-l', options.hostList])]
  const fullArgs = [...globals, ...args]
  const child = ManagedProcess.spawn({ name: tool, args: [...cliNodeArgs(tool), ...fullArgs], cwd: repoRoot, runtime: options.runtime, ...(options.env === undefined ? {} : { env: options.env }) })
  const timeoutMs = options.timeoutMs ?? 60_000
  let exit
  try {
    exit = await child.waitExit(timeoutMs)
  } catch (e) {
    await child.kill9()
    throw new DerError('DER_TIMEDOUT', `${tool} ${fullArgs.join(' ')}: no exit within ${timeoutMs} ms; output: ${child.tailText(20)}`, { cause: e })
  }
  let envelope
  try {
    envelope = parseEnvelope(child.stdout)
  } catch (e) {
    throw new DerError('DER_PROTO', `${tool} ${fullArgs.join(' ')} (exit ${exit.code ?? exit.signal}): ${(e as Error).message}; stderr: ${child.stderr.slice(0, 500)}`, { cause: e })
  }
  return { tool, args: fullArgs, exitCode: exit.code, ...envelope, stdout: child.stdout, stderr: child.stderr }
}

/** The response of a successful run; throws a `DerError` with the CLI's message otherwise. */
export function expectOk(result: CliResult): unknown {
  if (result.status !== 0 || result.exitCode !== 0) {
    throw new DerError('DER_MISC', `${result.tool} ${result.args.join(' ')} failed (exit ${result.exitCode}, status ${result.status}): ${result.error ?? result.stderr}`)
  }
  return result.response
}
