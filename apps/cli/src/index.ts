/**
 * The command lines of the `@x` storage system. Today: `crushtool`, compatible with Ceph's
 * (`-c`, `-d`, `-i`, `-o`, `--build`, `--test` with its `--show-*` outputs, `--compare`, the
 * tunables setters and item edits), runnable from the repository root as `pnpm -s crushtool`.
 *
 * @example
 * ```ts
 * import { runCrushtool } from '@x/cli'
 * import { readFileSync, writeFileSync } from 'node:fs'
 *
 * const status = runCrushtool(['-i', 'map.bin', '--test', '--show-statistics'], {
 *   stdout: (t) => process.stdout.write(t),
 *   stderr: (t) => process.stderr.write(t),
 *   readFile: (p) => readFileSync(p),
 *   writeFile: (p, d) => writeFileSync(p, d),
 *   resolvePath: (p) => p,
 * })
 * ```
 *
 * @packageDocumentation
 */
export { type CrushtoolIo, crushtoolUsage, runCrushtool } from './crushtool/crushtool.ts'
