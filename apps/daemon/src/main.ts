/**
 * The daemon's entry point: `tsx src/main.ts [-o CONFIG]` (or `$X_CONFIG`; with neither, the
 * embedded one-node default under `$X_DATA_DIR` or `.x-data`). Runs until SIGINT/SIGTERM.
 *
 * @module
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createRealRuntime, derCodes, isDerError } from '@x/common'
import { resolveServerConfig } from './config/load.ts'
import { resolveDataDir } from './config/defaults.ts'
import { DaemonLogging, PinoLogSink } from './logging/pino-sink.ts'
import { PromMetricsRegistry } from './metrics/prom-registry.ts'
import { startDaemon } from './server/daemon.ts'
import { startSystemDaemon } from './server/system-daemon.ts'
import { GracefulShutdown } from './shutdown.ts'

/** The environment variable naming a config file when `-o` is not given. */
export const configEnvVar = 'X_CONFIG'
/**
 * The environment variable choosing the engine: `single` (the one-engine path, the default of the
 * embedded config) or `system` (a `SystemNode` in a multi-engine system, the default with a
 * config file).
 */
export const daemonModeEnvVar = 'X_DAEMON_MODE'

const usage = `usage: daemon [-o|--config CONFIG]

Starts one engine and its control server. With no config (and no $${configEnvVar}) it runs the
embedded one-node system with file-backed devices under $X_DATA_DIR (default .x-data). With a
config it joins the system of its access_points (a SystemNode; $${daemonModeEnvVar}=single runs the
one-engine path instead).
`

function fail(message: string): never {
  process.stderr.write(`ERROR: daemon: ${message}\n`)
  process.exit(1)
}

function describeError(e: unknown): string {
  if (isDerError(e)) return `${e.name}(${derCodes[e.name]}): ${e.message}`
  return e instanceof Error ? e.message : String(e)
}

async function main(): Promise<void> {
  let values: { config?: string | undefined; help?: boolean | undefined }
  try {
    values = parseArgs({ options: { config: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values
  } catch (e) {
    fail(`${(e as Error).message}\n${usage}`)
  }
  if (values.help === true) {
    process.stdout.write(usage)
    return
  }
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
  const configPath = values.config ?? (process.env[configEnvVar] === '' ? undefined : process.env[configEnvVar])
  const runtime = createRealRuntime()
  let resolved
  try {
    resolved = await resolveServerConfig({ configPath, repoRoot, env: process.env })
  } catch (e) {
    fail(describeError(e))
  }
  const { config } = resolved
  const dataDir = resolved.dataDir ?? resolveDataDir(repoRoot, process.env)
  const sink = new PinoLogSink()
  const logging = new DaemonLogging({ sink, clock: runtime.clock, logMask: config.controlLogMask })
  const logger = logging.root.logger('daemon')
  logger.info('starting', { config: resolved.source, dataDir, system: config.name })
  const shutdown = new GracefulShutdown({ timers: runtime.timers, logger })
  shutdown.register('log', () => sink.close())
  const modeText = process.env[daemonModeEnvVar]
  if (modeText !== undefined && modeText !== '' && modeText !== 'single' && modeText !== 'system') fail(`$${daemonModeEnvVar} must be single or system, got '${modeText}'`)
  const mode = modeText === 'single' || modeText === 'system' ? modeText : resolved.source === 'embedded' ? 'single' : 'system'
  let daemon: { readonly rank: number; readonly control: { readonly address: string }; readonly telemetry: { readonly port: number } | undefined; stop(): Promise<void> }
  try {
    const metrics = new PromMetricsRegistry({ collectProcessMetrics: true })
    if (mode === 'system') {
      logger.info('starting a system engine', { accessPoints: config.accessPoints.map((ap) => `${ap.host}:${ap.port}`) })
      daemon = await startSystemDaemon({ config, dataDir, runtime, log: logging.root, metrics })
    } else {
      const single = await startDaemon({ config, dataDir, runtime, log: logging.root, metrics })
      daemon = { rank: single.engine.rank, control: single.control, telemetry: single.telemetry, stop: () => single.stop() }
    }
  } catch (e) {
    logger.error('start failed', { error: describeError(e) })
    await shutdown.shutdown('start failed')
    fail(describeError(e))
  }
  shutdown.register('daemon', () => daemon.stop())
  shutdown.installSignalHandlers(process, (code) => process.exit(code))
  const configArg = resolved.source === 'embedded' ? '' : ` -o ${resolved.source}`
  process.stdout.write(
    [
      '',
      `daemon ready: system ${config.name}, rank ${daemon.rank}, control ${daemon.control.address}, telemetry ${daemon.telemetry === undefined ? 'off' : `127.0.0.1:${daemon.telemetry.port}/metrics`}`,
      'Try, in another shell at the repository root (pnpm is in node_modules/.bin):',
      `  pnpm -s dmg${configArg} system query`,
      `  pnpm -s dmg${configArg} pool create tank --size 1G`,
      `  pnpm -s daos${configArg} container create tank c1`,
      `  pnpm -s daos${configArg} kv put tank c1 k v`,
      `  pnpm -s daos${configArg} kv get tank c1 k`,
      `  pnpm -s dmg${configArg} pool list -v`,
      `  pnpm -s dmg${configArg} pool query tank`,
      `  pnpm -s dmg${configArg} pool destroy tank --force`,
      'Stop with Ctrl-C (SIGINT) or SIGTERM.',
      '',
    ].join('\n') + '\n',
  )
}

await main()
