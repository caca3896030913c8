/**
 * The command lines of the `@x` storage system: `dmg` (the administration tool, over gRPC to the
 * daemon's control server: `system query`, `pool create|list|query|destroy`, `-j` JSON envelopes,
 * `ERROR: dmg: DER_NAME(code): ...` messages; {@link runDmg}, `pnpm -s dmg ...` from the repository
 * root), `daos` (the user tool: `container create|list|query|destroy` and `kv put|get|list|remove`,
 * the same `-j`/`-o`/`-l` options, error format and exit codes; {@link runDaos}, `pnpm -s daos ...`;
 * `kv` connects to the pool over the control API and does object I/O with `@x/client` over TCP on
 * the container's KV object, whose id the daemon allocates at container create and stores as the
 * container attribute `x.kv_oid`) and `crushtool`, compatible with Ceph's
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
export { type CommandResult, type ControlCaller, parsePoolSize, parseProperties, poolCreate, poolDestroy, poolList, poolQuery, systemQuery } from './dmg/commands.ts'
export { type JsonEnvelope, errorEnvelope, formatCliError, formatDmgError, formatTable, humanBytes, okEnvelope } from './dmg/format.ts'
export { type ControlOutput, controlExitCodes, createControlProgram, parseControlProgram, printFailure, printResult } from './control-program.ts'
export { type ControlTarget, type DmgGlobalOptions, type DmgIo, dmgExitCodes, resolveControlTarget, runDmg } from './dmg/program.ts'
export {
  type DaosCaller,
  type DaosResult,
  type KvOpener,
  containerCreate,
  containerDestroy,
  containerList,
  containerQuery,
  kvGet,
  kvList,
  kvPut,
  kvRemove,
} from './daos/commands.ts'
export { type DaosIo, daosExitCodes, runDaos } from './daos/program.ts'
export { type KvSession, type KvSessionOptions, openKvSession } from './daos/session.ts'
