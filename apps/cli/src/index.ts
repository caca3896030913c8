/**
 * The command lines of the `@x` storage system: `dmg` and `daos` (over gRPC to the daemons'
 * control servers) and `crushtool`, runnable from the repository root as `pnpm -s dmg ...`,
 * `pnpm -s daos ...` and `pnpm -s crushtool ...`.
 *
 * - **`dmg`** ({@link runDmg}), the administration tool: `system query|stop|start|exclude`
 *   (`--ranks 0,2-3`), `storage scan|format|query usage`, `pool create LABEL --size --nranks
 *   --properties --user --group --acl-file`, `pool list [-v]`, `pool query [--wait-rebuild]`,
 *   `pool destroy [--force]`, `pool get-prop|set-prop`, `pool get-acl|update-acl|delete-acl|
 *   overwrite-acl`, `pool exclude|drain|reintegrate --rank R [--target-idx I,..] [--wait]`,
 *   `pool evict`. A new pool is owned by the caller's user and primary group unless
 *   `--user`/`--group` say otherwise.
 * - **`daos`** ({@link runDaos}), the user tool: `pool query|list-containers|list-attrs|get-attr|
 *   set-attr`, `container create POOL LABEL [--type] [--oclass] [--chunk-size] [--properties]|list|query|
 *   destroy|get-prop|set-prop|get-attr|set-attr|del-attr|list-attrs|create-snap|list-snaps|
 *   destroy-snap`, `object query POOL CONT OID` (the shards' placement, computed with CRUSH as
 *   clients and engines do) and `kv put|get|list|remove POOL CONT` (object I/O with `@x/client`
 *   over TCP on the container's KV object), and `filesystem` (alias `fs`) from `@x/dfs` on POSIX
 *   containers: `copy --src --dst` (local paths and `daos://POOL/CONT/path`, either way), `ls
 *   [-L]`, `stat`, `mkdir [-p]`, `rm [-r]` (with caps-based caching from the engines' caps
 *   authority). `--chunk-size` (a power of two from 4K to 1G, {@link parseChunkSizeOption}) is
 *   stored as the container property `chunk_size`. Every request carries the caller's identity (the
 *   OS user and groups as `name@` principals, {@link localIdentity}); the pool service checks it
 *   against the pool ACL (`OWNER@`, `GROUP@`, `EVERYONE@`, named users and groups), and a denied
 *   caller gets `DER_NO_PERM`.
 * - **Global options** of both: `-o CONFIG` (the access points and TLS files of a
 *   `daos_server.yml`-style config), `-l host[:port],...` (control servers, tried in order: an
 *   unreachable one moves on to the next, {@link failoverCaller}), `-j/--json` (DAOS's envelope
 *   `{response, error, status}`, status = the DER number), `-i/--insecure` (no TLS).
 * - **Output**: tables for humans, JSON for scripts, progress bars on stderr for long operations
 *   (`storage format`, `pool create`, rebuild waits, `filesystem copy`; `cli-progress`) only when stderr is a terminal and `-j` is
 *   off ({@link startProgress}). Errors are one line, `ERROR: dmg: DER_NONEXIST(-1005): ...`,
 *   never a stack trace; an unreachable or silent control server is `DER_UNREACH` within the
 *   call deadline (10 s).
 * - **Exit codes** ({@link controlExitCodes}), stable for scripts: `0` success; `1` the command
 *   failed (the DER name is in the message and, with `-j`, in `status`); `2` bad usage (unknown
 *   command or option, missing argument: `ERROR: dmg: DER_INVAL(-1003): ...` then the usage).
 *   Arguments are checked before any RPC, so a refused command changes nothing.
 * - **`crushtool`**, compatible with Ceph's (`-c`, `-d`, `-i`, `-o`, `--build`, `--test` with
 *   its `--show-*` outputs, `--compare`, the tunables setters and item edits).
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
export {
  type CommandContext,
  type CommandResult,
  type ControlCaller,
  type FileReader,
  type PoolCreateOptions,
  formatPoolQuery,
  formatRankSet,
  maxRank,
  parseAclText,
  parseNameList,
  parsePoolSize,
  parseProperties,
  parseRank,
  parseRankSet,
  parseTargetIndexes,
  poolCreate,
  poolDeleteAcl,
  poolDestroy,
  poolEvict,
  poolGetAcl,
  poolGetProp,
  poolList,
  poolOverwriteAcl,
  poolQuery,
  poolSetProp,
  poolTargetsOperation,
  poolUpdateAcl,
  storageFormat,
  storageQueryUsage,
  storageScan,
  systemQuery,
  systemRankOperation,
  waitRebuild,
} from './dmg/commands.ts'
export { type JsonEnvelope, errorEnvelope, formatCliError, formatDmgError, formatTable, humanBytes, okEnvelope } from './dmg/format.ts'
export { type ClosableCaller, type ControlOutput, controlExitCodes, createControlProgram, failoverCaller, parseControlProgram, printFailure, printResult } from './control-program.ts'
export { type ControlTarget, type DmgGlobalOptions, type DmgIo, dmgExitCodes, maxHostListLength, parseHostList, resolveControlTarget, runDmg } from './dmg/program.ts'
export {
  type DaosCaller,
  type DaosResult,
  type KvOpener,
  chunkSizeLimitsBytes,
  chunkSizeProperty,
  containerCreate,
  containerCreateSnap,
  containerDelAttr,
  containerDestroy,
  containerDestroySnap,
  containerGetAttr,
  containerGetProp,
  containerList,
  containerListAttrs,
  containerListSnaps,
  containerQuery,
  containerSetAttr,
  containerSetProp,
  daosPoolQuery,
  identifiedCaller,
  kvGet,
  kvList,
  kvPut,
  kvRemove,
  objectQuery,
  parseChunkSizeOption,
  poolGetAttr,
  poolListAttrs,
  poolListContainers,
  poolSetAttr,
} from './daos/commands.ts'
export { type DaosIo, daosExitCodes, runDaos } from './daos/program.ts'
export { type KvSession, type KvSessionOptions, openKvSession } from './daos/session.ts'
export { identityFrom, localIdentity, parseGroupFile } from './common/identity.ts'
export { type ProgressBar, type ProgressSink, progressBarWidth, progressStream, startProgress } from './common/progress.ts'
