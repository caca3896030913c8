/**
 * The POSIX namespace (DFS) of a container, on `@x/client`'s objects and arrays, with caps-based
 * caching from the engine's caps authority, a FUSE mount (`dfuse`) and filesystem commands.
 *
 * - **Namespace** ({@link Dfs}): `mount` (reads or writes the superblock, KV object `lo = 0`;
 *   root directory `lo = 1`), `mkdir`, `rmdir`, `open` with POSIX flags ({@link O}) giving a
 *   {@link DfsFile} (read, write, truncate, stat, sync, close), `unlink`, `rename` (replacing,
 *   across directories, POSIX rules), `link`, `symlink`, `readlink`, `stat`/`lstat`, `chmod`,
 *   `chown`, `utimens`, `truncate`, `readdir` with resumable anchors, extended attributes,
 *   `statfs`, and a path walk with a dentry cache. Failures are {@link DfsError}s: a `DerError`
 *   with the POSIX errno name (`ENOENT`, `EEXIST`, `ENOTDIR`, `EISDIR`, `ENOTEMPTY`, `EACCES`,
 *   `EINVAL`, `ENAMETOOLONG`, ...).
 * - **Layout** ({@link encodeEntry}, {@link encodeAttr}, {@link encodeSuperblock}): directories
 *   are KV objects keyed by entry name (an entry holds the child's object id and kind; symlinks
 *   keep target and attributes in it); files are byte arrays with the container's chunk size
 *   (default 1 MiB); each inode object keeps its attributes under the reserved dkey `\0` (mode,
 *   owner, links, xattrs; times apart), so hard links share them.
 * - **Caps** ({@link CapsAgent}, {@link CapsGate}): the authority of a container is the engine
 *   holding shard 0 of its superblock object under the current pool map (`@x/engine`'s
 *   `CapsService`). Dentries are cached under `Fc` on the directory, attributes under `Fs`,
 *   file data under `Fc`; writes are buffered under `Fb` and written back before the authority
 *   lets another client read; changing a directory needs its `Fx`. A client that stops answering
 *   revokes is evicted after the revoke timeout and its caps go to the others.
 * - **FUSE** ({@link DfuseMount}, the `dfuse` binary): `dfuse --pool P --cont C -m DIR` mounts
 *   a container through `fuse-native`, connecting like `daos` does (control API, then cart).
 * - **Commands** ({@link registerFilesystemCommands}): `filesystem copy --src --dst` between
 *   local paths and `daos://POOL/CONT/path` with a `cli-progress` bar (on a terminal, JSON
 *   output off), and `fs ls|stat|mkdir|rm`; wired into `daos` by `@x/cli`.
 *
 * @example
 * ```ts
 * import { Dfs, O } from '@x/dfs'
 *
 * const dfs = await Dfs.mount(pool, containerUuid, { runtime, create: true, caching: { mode: 'exclusive' } })
 * await dfs.mkdir('/data')
 * const f = await dfs.open('/data/a.txt', O.CREAT | O.RDWR, 0o644)
 * await f.write(0, new TextEncoder().encode('hello'))
 * await f.close()
 * console.log((await dfs.stat('/data/a.txt')).sizeBytes) // 5
 * ```
 *
 * @packageDocumentation
 */
export { CapsAgent, type CapsAgentOptions, type CapsGate, type GateHooks, LocalGate } from './caps-gate.ts'
export { type Credentials, Dfs, type DfsCaching, DfsFile, type DfsMountOptions, type DfsStat, type DfsStatfs, type DfsStats, type DirEntry, O, type ReaddirPage, XATTR, defaultChunkSizeBytes, modeKind } from './dfs.ts'
export { DfsError, type Errno, errnoNumbers, errnoOf, isDfsError } from './errors.ts'
export { endsLikeDirectory, nameBytes, splitPath } from './paths.ts'
export {
  type Entry,
  type InodeAttr,
  type InodeKind,
  type InodeTimes,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type Superblock,
  decodeAttr,
  decodeEntry,
  decodeSuperblock,
  decodeTimes,
  encodeAttr,
  encodeEntry,
  encodeSuperblock,
  encodeTimes,
  kindBits,
  maxNameBytes,
  maxPathBytes,
  maxXattrTotalBytes,
  maxXattrValueBytes,
} from './records.ts'
export { type DfsSessionFactory, type FilesystemCommandsIo, registerFilesystemCommands } from './commands.ts'
export { type CopyOptions, type CopyProgress, type DaosUri, DfsTree, LocalTree, type Tree, type TreeKind, copyTree, formatProgress, parseDaosUri } from './copy.ts'
export { type ControlCaller, type DfsSession, type DfsSessionOptions, openDfsSession, parseChunkSize } from './session.ts'
export { DfuseMount, type DfuseOptions, fuseUsable } from './fuse.ts'
export { type DfuseArgs, parseDfuseArgs, runDfuse } from './dfuse-main.ts'
