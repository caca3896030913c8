/**
 * `daos`'s entry point: `pnpm -s daos ARGS` from the repository root.
 *
 * @module
 */
import { createRealRuntime } from '@x/common'
import { runDaos } from './program.ts'

const runtime = createRealRuntime()
process.exitCode = await runDaos(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  runtime,
  isTTY: process.stderr.isTTY,
})
// The object client's fabric may keep sockets in linger; the command is done.
process.exit(process.exitCode)
