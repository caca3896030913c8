/**
 * `dmg`'s entry point: `pnpm -s dmg ARGS` from the repository root.
 *
 * @module
 */
import { createRealRuntime } from '@x/common'
import { runDmg } from './program.ts'

const runtime = createRealRuntime()
process.exitCode = await runDmg(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  clock: runtime.clock,
  isTTY: process.stderr.isTTY,
  sleep: (ms) => runtime.timers.sleep(ms),
})
