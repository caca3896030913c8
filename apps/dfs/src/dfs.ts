/**
 * The POSIX namespace on a container (`dfs_*`): mount, path walk with a dentry cache, and every
 * namespace operation with POSIX errors ({@link DfsError}). Caching follows the caps a
 * {@link CapsGate} holds:
 *
 * - dentries of a directory are read under `Fr` and cached only under `Fc` on that directory;
 *   changing a directory needs `Fx` on it (the file class's exclusive bit, held by one client);
 * - an inode's attributes are read under `Fr|As` and cached under `Fs`; changing them needs `Ax`;
 * - file data is read under `Fr` (no other client buffers writes then) and cached under `Fc`;
 *   writes need `Fw` and are buffered under `Fb`, written back on close, fsync, a revoke or when
 *   the buffer is full.
 *
 * @module
 */
import { type ArrayObject, type ContainerHandle, type ListAnchor, type ObjectHandle, type OidRangeSource, type PoolHandle, KvObject, OidGenerator, startAnchor } from '@x/client'
import { CAP_AUTH_EXCL, CAP_AUTH_SHARED, CAP_FILE_BUFFER, CAP_FILE_CACHE, CAP_FILE_EXCL, CAP_FILE_RD, CAP_FILE_SHARED, CAP_FILE_WR, FileMode } from '@x/caps'
import { type Runtime, isDerError } from '@x/common'
import { capsAllocOidsRpc } from '@x/engine'
import { type ObjectId, ObjectType, generateObjectId, parseObjectClass, poolMapFit, placeObject } from '@x/protocol'
import { CapsAgent, type CapsAgentOptions, type CapsGate, LocalGate } from './caps-gate.ts'
import { DfsError } from './errors.ts'
import { AsyncMutex } from './mutex.ts'
import { endsLikeDirectory, nameBytes, splitPath } from './paths.ts'
import {
  type Entry,
  type InodeAttr,
  type InodeKind,
  type InodeTimes,
  type Superblock,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  decodeAttr,
  decodeEntry,
  decodeSuperblock,
  decodeTimes,
  encodeAttr,
  encodeEntry,
  encodeSuperblock,
  encodeTimes,
  kindBits,
  maxXattrTotalBytes,
  maxXattrValueBytes,
} from './records.ts'

/** Open flags (Linux values). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
} as const

/** `setxattr` flags. */
export const XATTR = { CREATE: 1, REPLACE: 2 } as const

/** Who is calling (permission checks; uid 0 passes them all). */
export interface Credentials {
  readonly uid: number
  readonly gid: number
  readonly groups?: readonly number[]
}

/** `stat` of an inode. */
export interface DfsStat {
  /** Inode number (the object id's `lo`). */
  readonly ino: number
  readonly kind: InodeKind
  /** `st_mode`. */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly nlink: number
  readonly sizeBytes: number
  readonly atimeMs: number
  readonly mtimeMs: number
  readonly ctimeMs: number
  /** `st_blksize`: the chunk size. */
  readonly blockSizeBytes: number
}

/** One directory entry of {@link Dfs.readdir}. */
export interface DirEntry {
  readonly name: string
  readonly kind: InodeKind
  readonly ino: number
}

/** A page of {@link Dfs.readdir}: `anchor` resumes after it (`anchor.done` at the end). */
export interface ReaddirPage {
  readonly entries: DirEntry[]
  readonly anchor: ListAnchor
}

/** `statfs`. */
export interface DfsStatfs {
  readonly blockSizeBytes: number
  readonly blocks: number
  readonly blocksFree: number
  readonly files: number
  readonly filesFree: number
  readonly nameMaxBytes: number
}

/** Counters of a mount (tests count lookups as the seed's path_walk trace does). */
export interface DfsStats {
  /** Dentry fetches sent (one per uncached path component). */
  lookupRpcs: number
  /** Dentries served from the cache. */
  lookupHits: number
  /** Attribute fetches sent. */
  attrRpcs: number
  /** Data blocks read from the objects. */
  blockReads: number
  /** Reads served from the data cache. */
  cachedReads: number
  /** Write-backs of buffered data. */
  writebacks: number
}

/** Caching and caps of a mount. */
export type DfsCaching =
  /** Caps from the container's authority (the engine holding shard 0 of the superblock). */
  | { readonly mode: 'caps'; readonly context: CapsAgentOptions['context']; readonly clientId: string; readonly sessionTimeoutMs?: number; readonly renewIntervalMs?: number; readonly pollWaitMs?: number }
  /** This mount is the container's only client: cache everything, no authority. */
  | { readonly mode: 'exclusive' }
  /** No cache at all (every operation reads the objects). */
  | { readonly mode: 'none' }

/** Options of {@link Dfs.mount}. */
export interface DfsMountOptions {
  readonly runtime: Runtime
  /** Default `{ mode: 'none' }`. */
  readonly caching?: DfsCaching
  /** Format the container when it has no superblock (default false: `ENOENT`). */
  readonly create?: boolean
  /** Chunk size of new containers (default 1 MiB, as DAOS). */
  readonly chunkSizeBytes?: number
  /** Object class of new containers' files and directories (default `S1`). */
  readonly objectClass?: string
  /** Credentials of calls that give none (default root). */
  readonly credentials?: Credentials
  /** Bytes of buffered writes per file before a write-back (default 8 MiB). */
  readonly maxDirtyBytes?: number
  /** Size of a cached data block (default 128 KiB). */
  readonly cacheBlockBytes?: number
}

/** Default chunk size of file arrays (DAOS's 1 MiB). */
export const defaultChunkSizeBytes = 1 << 20
const superblockKey = new TextEncoder().encode('dfs_sb')
const oidHighWaterKey = new TextEncoder().encode('dfs_oid_hw')
const attrDkey = new Uint8Array(8) // the array metadata dkey; KV objects reserve keys starting with NUL
const attrAkey = Uint8Array.of(0x41) // 'A'
const timesAkey = Uint8Array.of(0x54) // 'T'
const superblockClass = 'S1'
const localOidRange = 1 << 16
const maxSymlinkDepth = 40
const decoder = new TextDecoder()
const encoder = new TextEncoder()

interface DirRef {
  readonly ino: number
  readonly oid: ObjectId
}

interface Resolved {
  /** The directory holding the last component (the chain of directories from the root). */
  readonly chain: readonly DirRef[]
  readonly parent: DirRef
  /** The last component (empty for the root). */
  readonly name: string
  /** Its entry, if it exists (root: a synthetic one). */
  readonly entry: Entry | undefined
}

interface DirtyExtent {
  offset: number
  length: number
  parts: Uint8Array[]
}

interface DirtyFile {
  readonly oid: ObjectId
  extents: DirtyExtent[]
  bytes: number
  end: number
  flushing: Promise<void> | undefined
}

/** A reference to the inode behind a path, as {@link Dfs.open} keeps it. */
interface InodeRef {
  readonly ino: number
  readonly oid: ObjectId
  readonly kind: InodeKind
}

function inoOf(oid: ObjectId): number {
  return Number(oid.lo)
}

function isPermissionBits(mode: unknown): mode is number {
  return typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777
}

function checkId(id: unknown, what: string): asserts id is number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < -1 || id > 0xffff_fffe) throw new DfsError('EINVAL', `bad ${what} ${String(id)}`)
}

/** Shared state of a mount (every credential view of it shares one). */
class MountState {
  readonly mutex = new AsyncMutex()
  readonly dentries = new Map<number, Map<string, Entry | null>>()
  /** Directories whose every entry is in `dentries` (a miss is ENOENT without a lookup). */
  readonly complete = new Set<number>()
  readonly attrs = new Map<number, { attr: InodeAttr; times: InodeTimes }>()
  readonly sizes = new Map<number, number>()
  readonly blocks = new Map<number, Map<number, Uint8Array>>()
  readonly generations = new Map<number, number>()
  readonly dirty = new Map<number, DirtyFile>()
  readonly arrays = new Map<string, Promise<ArrayObject>>()
  readonly stats: DfsStats = { lookupRpcs: 0, lookupHits: 0, attrRpcs: 0, blockReads: 0, cachedReads: 0, writebacks: 0 }
  evicted = false
  unmounted = false

  constructor(
    readonly runtime: Runtime,
    readonly container: ContainerHandle,
    readonly superblock: Superblock,
    readonly gate: CapsGate,
    readonly oids: OidGenerator,
    readonly maxDirtyBytes: number,
    readonly cacheBlockBytes: number,
  ) {}

  generation(ino: number): number {
    return this.generations.get(ino) ?? 0
  }

  invalidate(ino: number): void {
    this.generations.set(ino, this.generation(ino) + 1)
    this.dentries.delete(ino)
    this.complete.delete(ino)
    this.attrs.delete(ino)
    this.sizes.delete(ino)
    this.blocks.delete(ino)
  }
}

/** An object-id range source backed by a counter in the superblock (mounts without an authority). */
class SuperblockOidSource implements OidRangeSource {
  constructor(private readonly superblock: KvObject) {}
  async allocate(count: number): Promise<bigint> {
    const size = Math.max(count, localOidRange)
    const v = await this.superblock.get(oidHighWaterKey)
    const first = v === undefined || v.length !== 8 ? 16n : new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0)
    const next = new Uint8Array(8)
    new DataView(next.buffer).setBigUint64(0, first + BigInt(size))
    await this.superblock.put(oidHighWaterKey, next)
    return first
  }
}

/** An object-id range source served by the container's caps authority. */
class AuthorityOidSource implements OidRangeSource {
  constructor(
    private readonly context: CapsAgentOptions['context'],
    private readonly rank: number,
    private readonly poolUuid: string,
    private readonly containerUuid: string,
  ) {}
  async allocate(count: number): Promise<bigint> {
    const out = await this.context.call(capsAllocOidsRpc, { rank: this.rank, tag: 0 }, { poolUuid: this.poolUuid, containerUuid: this.containerUuid, count: Math.max(count, 4096) })
    return out.first
  }
}

/** Normalises errors of the object layer into POSIX ones (`EIO` unless already a DfsError). */
function posix(error: unknown): never {
  if (error instanceof DfsError) throw error
  if (isDerError(error)) throw new DfsError(error.name === 'DER_NOSPACE' ? 'ENOSPC' : 'EIO', error.message, { der: error.name })
  throw error
}

/** A mounted POSIX container (see the module comment). Methods take absolute paths. */
export class Dfs {
  private constructor(
    private readonly state: MountState,
    /** The credentials of this view's calls. */
    readonly credentials: Credentials,
  ) {}

  /**
   * Mounts the POSIX namespace of container `containerUuid` (`dfs_mount`): reads the superblock
   * (or writes it and the root directory with `create`), and starts the caps session when caching
   * is `caps`.
   */
  static async mount(pool: PoolHandle, containerUuid: string, options: DfsMountOptions): Promise<Dfs> {
    const caching = options.caching ?? { mode: 'none' }
    const fit = poolMapFit(pool.poolMap)
    const sbOid = generateObjectId({ lo: 0n, type: ObjectType.KV_HASHED, oclass: parseObjectClass(superblockClass), fit })
    let authorityRank = 0
    let oidSource: OidRangeSource | undefined
    if (caching.mode === 'caps') {
      authorityRank = placeObject(pool.poolMap, sbOid).groups[0]?.shards[0]?.rank ?? 0
      oidSource = new AuthorityOidSource(caching.context, authorityRank, pool.options.poolUuid, containerUuid)
    }
    const bootstrap = pool.openContainer(containerUuid)
    const sbKv = bootstrap.openKv(sbOid)
    let superblock: Superblock
    const existing = await sbKv.get(superblockKey).catch(posix)
    if (existing === undefined) {
      if (options.create !== true) throw new DfsError('ENOENT', `container ${containerUuid} has no POSIX superblock (not formatted)`)
      const chunk = options.chunkSizeBytes ?? defaultChunkSizeBytes
      if (!Number.isSafeInteger(chunk) || chunk < 1 || chunk > 0xffff_ffff) throw new DfsError('EINVAL', `bad chunk size ${chunk}`)
      const objectClass = options.objectClass ?? 'S1'
      const cls = parseObjectClass(objectClass)
      const root = generateObjectId({ lo: 1n, type: ObjectType.KV_HASHED, oclass: cls, fit })
      superblock = { layoutVersion: 1, chunkSizeBytes: chunk, objectClass: cls.name, root }
      const nowMs = options.runtime.clock.realtimeMs()
      const cred = options.credentials ?? { uid: 0, gid: 0 }
      await bootstrap.openObject(root).update(attrDkey, [
        { type: 'single', akey: attrAkey, value: encodeAttr({ mode: S_IFDIR | 0o755, uid: cred.uid, gid: cred.gid, nlink: 2, xattrs: new Map() }) },
        { type: 'single', akey: timesAkey, value: encodeTimes({ atimeMs: nowMs, mtimeMs: nowMs, ctimeMs: nowMs }) },
      ])
      await sbKv.put(superblockKey, encodeSuperblock(superblock))
    } else {
      try {
        superblock = decodeSuperblock(existing)
      } catch (error) {
        throw new DfsError('EIO', `bad superblock: ${String(error)}`)
      }
    }
    oidSource ??= new SuperblockOidSource(sbKv)
    const container = pool.openContainer(containerUuid, { oidSource })
    let gate: CapsGate
    let agent: CapsAgent | undefined
    if (caching.mode === 'caps') {
      agent = new CapsAgent({
        context: caching.context,
        runtime: options.runtime,
        poolUuid: pool.options.poolUuid,
        containerUuid,
        authorityRank,
        clientId: caching.clientId,
        ...(caching.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: caching.sessionTimeoutMs }),
        ...(caching.renewIntervalMs === undefined ? {} : { renewIntervalMs: caching.renewIntervalMs }),
        ...(caching.pollWaitMs === undefined ? {} : { pollWaitMs: caching.pollWaitMs }),
      })
      gate = agent
    } else gate = new LocalGate(caching.mode === 'exclusive')
    const state = new MountState(options.runtime, container, superblock, gate, new OidGenerator(oidSource, 4096), options.maxDirtyBytes ?? 8 << 20, options.cacheBlockBytes ?? 128 << 10)
    const dfs = new Dfs(state, options.credentials ?? { uid: 0, gid: 0 })
    if (agent !== undefined) {
      await agent.start({
        invalidate: (ino) => state.invalidate(ino),
        writeback: (ino) => dfs.writeback(ino),
        evicted: (lost) => {
          state.evicted = true
          for (const ino of lost) state.dirty.delete(ino)
        },
      })
    }
    return dfs
  }

  /** The same mount, calling as `credentials`. */
  as(credentials: Credentials): Dfs {
    checkId(credentials.uid, 'uid')
    checkId(credentials.gid, 'gid')
    return new Dfs(this.state, credentials)
  }

  /** Counters of this mount. */
  get stats(): DfsStats {
    return this.state.stats
  }

  /** The superblock (chunk size, object class, root). */
  get superblock(): Superblock {
    return this.state.superblock
  }

  /** The caps gate of this mount (a `CapsAgent` when caching is `caps`). */
  get gate(): CapsGate {
    return this.state.gate
  }

  /** Writes back everything buffered and stops the caps session (`dfs_umount`). */
  async unmount(): Promise<void> {
    if (this.state.unmounted) return
    for (const ino of [...this.state.dirty.keys()]) await this.writeback(ino)
    this.state.unmounted = true
    await this.state.gate.stop(true)
  }

  // ------------------------------------------------------------------ plumbing

  private live(): void {
    if (this.state.unmounted) throw new DfsError('EIO', 'unmounted')
    if (this.state.evicted) throw new DfsError('EIO', 'this client was evicted by the caps authority')
  }

  private async withCaps<T>(ino: number, need: number, want: number, fn: (got: number) => Promise<T>): Promise<T> {
    const got = await this.state.gate.get(ino, need, want)
    try {
      return await fn(got)
    } finally {
      this.state.gate.put(ino, got)
    }
  }

  private object(oid: ObjectId): ObjectHandle {
    return this.state.container.openObject(oid)
  }

  private kv(oid: ObjectId): KvObject {
    return new KvObject(this.object(oid))
  }

  private array(oid: ObjectId): Promise<ArrayObject> {
    const key = `${oid.hi}.${oid.lo}`
    let a = this.state.arrays.get(key)
    if (a === undefined) {
      if (this.state.arrays.size > 4096) this.state.arrays.clear()
      a = this.state.container.openArray(oid)
      a.catch(() => this.state.arrays.delete(key))
      this.state.arrays.set(key, a)
    }
    return a
  }

  private get root(): DirRef {
    const oid = this.state.superblock.root
    return { ino: inoOf(oid), oid }
  }

  private isRoot(): boolean {
    return this.credentials.uid === 0
  }

  /** Permission check: `want` is a mask of 4 (r), 2 (w), 1 (x). */
  private may(attr: InodeAttr, want: number): boolean {
    if (this.credentials.uid === 0) return true
    const c = this.credentials
    let bits: number
    if (attr.uid === c.uid) bits = (attr.mode >> 6) & 7
    else if (attr.gid === c.gid || (c.groups ?? []).includes(attr.gid)) bits = (attr.mode >> 3) & 7
    else bits = attr.mode & 7
    return (bits & want) === want
  }

  private async requireAccess(ref: InodeRef, want: number, what: string): Promise<void> {
    if (this.isRoot()) return
    const { attr } = await this.readAttr(ref)
    if (!this.may(attr, want)) throw new DfsError('EACCES', `${what}: permission denied`, { ino: ref.ino })
  }

  /** Reads the attributes and times of an object inode (cached under `Fs`). */
  private async readAttr(ref: InodeRef): Promise<{ attr: InodeAttr; times: InodeTimes }> {
    const s = this.state
    return this.withCaps(ref.ino, CAP_FILE_RD | CAP_AUTH_SHARED, CAP_FILE_SHARED | CAP_FILE_CACHE, async (got) => {
      const canCache = (got & CAP_FILE_SHARED) !== 0
      const cached = canCache ? s.attrs.get(ref.ino) : undefined
      if (cached !== undefined) return cached
      const gen = s.generation(ref.ino)
      s.stats.attrRpcs++
      const [a, t] = await this.object(ref.oid).fetch(attrDkey, [
        { type: 'single', akey: attrAkey },
        { type: 'single', akey: timesAkey },
      ]).catch(posix)
      if (a === undefined || a.recordSizeBytes === 0 || t === undefined || t.recordSizeBytes === 0) throw new DfsError('ENOENT', `inode ${ref.ino} has no attributes (removed)`, { ino: ref.ino })
      const value = { attr: decodeAttr(a.data), times: decodeTimes(t.data) }
      if (canCache && s.generation(ref.ino) === gen) s.attrs.set(ref.ino, value)
      return value
    })
  }

  private async writeAttr(ref: InodeRef, attr: InodeAttr | undefined, times: InodeTimes | undefined): Promise<void> {
    const writes: { type: 'single'; akey: Uint8Array; value: Uint8Array }[] = []
    if (attr !== undefined) writes.push({ type: 'single', akey: attrAkey, value: encodeAttr(attr) })
    if (times !== undefined) writes.push({ type: 'single', akey: timesAkey, value: encodeTimes(times) })
    await this.object(ref.oid).update(attrDkey, writes).catch(posix)
    const cached = this.state.attrs.get(ref.ino)
    if (cached !== undefined) this.state.attrs.set(ref.ino, { attr: attr ?? cached.attr, times: times ?? cached.times })
  }

  /** Changes an inode's attributes under `Ax` (read, modify, write; the cache follows). */
  private async changeAttr(ref: InodeRef, change: (attr: InodeAttr, times: InodeTimes) => { attr?: InodeAttr; times?: InodeTimes }): Promise<void> {
    await this.withCaps(ref.ino, CAP_AUTH_EXCL, 0, async () => {
      const { attr, times } = await this.readAttr(ref)
      const next = change(attr, times)
      await this.writeAttr(ref, next.attr, next.times)
    })
  }

  private nowMs(): number {
    return this.state.runtime.clock.realtimeMs()
  }

  /** Looks `name` up in `dir` (a dentry fetch unless cached under `Fc`). */
  private async lookup(dir: DirRef, name: string): Promise<Entry | undefined> {
    const s = this.state
    const key = nameBytes(name)
    return this.withCaps(dir.ino, CAP_FILE_RD, CAP_FILE_SHARED | CAP_FILE_CACHE, async (got) => {
      const canCache = (got & CAP_FILE_CACHE) !== 0
      if (canCache) {
        const hit = s.dentries.get(dir.ino)?.get(name)
        if (hit !== undefined || s.complete.has(dir.ino)) {
          s.stats.lookupHits++
          return hit ?? undefined
        }
      }
      const gen = s.generation(dir.ino)
      s.stats.lookupRpcs++
      const v = await this.kv(dir.oid).get(key).catch(posix)
      let entry: Entry | undefined
      if (v !== undefined) {
        try {
          entry = decodeEntry(v)
        } catch (error) {
          throw new DfsError('EIO', `bad entry ${JSON.stringify(name)}: ${String(error)}`)
        }
      }
      if (canCache && s.generation(dir.ino) === gen) this.cacheDentry(dir.ino, name, entry ?? null)
      return entry
    })
  }

  private cacheDentry(dirIno: number, name: string, entry: Entry | null): void {
    let m = this.state.dentries.get(dirIno)
    if (m === undefined) {
      m = new Map()
      this.state.dentries.set(dirIno, m)
    }
    if (m.size > 65536) {
      m.clear()
      this.state.complete.delete(dirIno)
    }
    m.set(name, entry)
  }

  /** Writes (or with `undefined` removes) an entry; the caller holds `Fx` on `dir`. */
  private async putEntry(dir: DirRef, name: string, entry: Entry | undefined): Promise<void> {
    const kv = this.kv(dir.oid)
    if (entry === undefined) await kv.remove(nameBytes(name)).catch(posix)
    else await kv.put(nameBytes(name), encodeEntry(entry)).catch(posix)
    if (this.state.dentries.has(dir.ino) || this.state.complete.has(dir.ino)) this.cacheDentry(dir.ino, name, entry ?? null)
  }

  /**
   * Resolves a path to its parent chain and last entry. Intermediate symlinks are always
   * followed; the last one when `follow`. `ENOENT`, `ENOTDIR`, `ELOOP`, `EACCES` as POSIX.
   */
  private async resolve(path: string, follow: boolean, base?: readonly DirRef[], depth = 0): Promise<Resolved> {
    const parts = splitPath(path)
    let chain: DirRef[] = path.startsWith('/') || base === undefined ? [this.root] : [...base]
    if (parts.length === 0) return { chain: chain.slice(0, -1), parent: chain[chain.length - 2] ?? this.root, name: '', entry: this.dirEntry(chain[chain.length - 1] ?? this.root) }
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string
      const last = i === parts.length - 1
      const dir = chain[chain.length - 1] ?? this.root
      if (name === '..') {
        if (chain.length > 1) chain.pop()
        if (last) {
          const d = chain[chain.length - 1] ?? this.root
          return { chain: chain.slice(0, -1), parent: chain[chain.length - 2] ?? this.root, name: '', entry: this.dirEntry(d) }
        }
        continue
      }
      await this.requireAccess({ ...dir, kind: 'dir' }, 1, `search ${path}`)
      const entry = await this.lookup(dir, name)
      if (last && (!follow || entry === undefined || entry.kind !== 'symlink')) {
        if (entry !== undefined && entry.kind !== 'dir' && endsLikeDirectory(path)) throw new DfsError('ENOTDIR', `${path}: not a directory`)
        return { chain, parent: dir, name, entry }
      }
      if (entry === undefined) throw new DfsError('ENOENT', `${path}: no such file or directory (at ${JSON.stringify(name)})`)
      if (entry.kind === 'symlink') {
        if (depth >= maxSymlinkDepth) throw new DfsError('ELOOP', `${path}: too many levels of symbolic links`)
        const target = await this.resolve(entry.target ?? '', true, chain, depth + 1)
        if (last) return target
        if (target.entry === undefined) throw new DfsError('ENOENT', `${path}: dangling symbolic link at ${JSON.stringify(name)}`)
        if (target.entry.kind !== 'dir') throw new DfsError('ENOTDIR', `${path}: ${JSON.stringify(name)} is not a directory`)
        chain = target.name === '' ? [...target.chain, { ino: inoOf(target.entry.oid), oid: target.entry.oid }] : [...target.chain, { ino: inoOf(target.entry.oid), oid: target.entry.oid }]
        continue
      }
      if (entry.kind !== 'dir') throw new DfsError('ENOTDIR', `${path}: ${JSON.stringify(name)} is not a directory`)
      chain.push({ ino: inoOf(entry.oid), oid: entry.oid })
    }
    throw new DfsError('EIO', 'unreachable')
  }

  private dirEntry(d: DirRef): Entry {
    return { kind: 'dir', oid: d.oid }
  }

  /** Resolves the parent of a path that is about to be created or removed (its name must be a real name). */
  private async resolveForChange(path: string): Promise<Resolved & { entry: Entry | undefined }> {
    const r = await this.resolve(path, false)
    if (r.name === '' || r.name === '..') throw new DfsError(r.name === '' && path.replace(/\/+$/, '') === '' ? 'EBUSY' : 'EINVAL', `${path}: not a name that can change`)
    return r
  }

  private async requireDirWrite(dir: DirRef, path: string): Promise<void> {
    await this.requireAccess({ ...dir, kind: 'dir' }, 3, `modify the directory of ${path}`)
  }

  private newAttr(kind: InodeKind, mode: number): { attr: InodeAttr; times: InodeTimes } {
    const now = this.nowMs()
    return {
      attr: { mode: kindBits(kind) | (mode & 0o7777), uid: this.credentials.uid, gid: this.credentials.gid, nlink: kind === 'dir' ? 2 : 1, xattrs: new Map() },
      times: { atimeMs: now, mtimeMs: now, ctimeMs: now },
    }
  }

  private async allocate(type: number): Promise<ObjectId> {
    return this.state.oids.generate(this.state.superblock.objectClass, type, this.state.container.pool.poolMap)
  }

  private refOf(entry: Entry): InodeRef {
    return { ino: inoOf(entry.oid), oid: entry.oid, kind: entry.kind }
  }

  // ------------------------------------------------------------------ namespace

  /** `mkdir`: `EEXIST`, `ENOENT`, `ENOTDIR`, `EACCES`. */
  async mkdir(path: string, mode = 0o755): Promise<void> {
    this.live()
    if (!isPermissionBits(mode)) throw new DfsError('EINVAL', `bad mode ${String(mode)}`)
    return await this.state.mutex.run(async () => {
      const r = await this.resolveForChange(path)
      await this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
        const existing = await this.lookup(r.parent, r.name)
        if (existing !== undefined) throw new DfsError('EEXIST', `${path}: exists`)
        await this.requireDirWrite(r.parent, path)
        const oid = await this.allocate(ObjectType.KV_HASHED)
        const { attr, times } = this.newAttr('dir', mode)
        const ino = inoOf(oid)
        // Caps on the new directory are taken before anyone can see it: it is known complete (empty).
        await this.withCaps(ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async (got) => {
          const gen = this.state.generation(ino)
          await Promise.all([this.writeAttr({ ino, oid, kind: 'dir' }, attr, times), this.putEntry(r.parent, r.name, { kind: 'dir', oid })])
          if ((got & CAP_FILE_CACHE) !== 0 && this.state.generation(ino) === gen) {
            this.state.dentries.set(ino, new Map())
            this.state.complete.add(ino)
          }
        })
      })
    })
  }

  /** Lists the names of a directory object (reserved keys skipped), at most `max`. */
  private async listNames(dir: DirRef, anchor: ListAnchor, max: number): Promise<{ names: string[]; anchor: ListAnchor }> {
    const page = await this.kv(dir.oid).list(anchor, max).catch(posix)
    const names = page.keys.filter((k) => k.length > 0 && k[0] !== 0).map((k) => decoder.decode(k))
    return { names, anchor: page.anchor }
  }

  private async isEmptyDir(dir: DirRef): Promise<boolean> {
    let anchor: ListAnchor = startAnchor
    for (;;) {
      const page = await this.listNames(dir, anchor, 16)
      if (page.names.length > 0) return false
      if (page.anchor.done) return true
      anchor = page.anchor
    }
  }

  /** `rmdir`: `ENOENT`, `ENOTDIR`, `ENOTEMPTY`, `EBUSY` (root), `EACCES`. */
  async rmdir(path: string): Promise<void> {
    this.live()
    return await this.state.mutex.run(async () => {
      const r = await this.resolve(path, false)
      if (r.name === '') throw new DfsError(r.chain.length === 0 ? 'EBUSY' : 'EINVAL', `${path}: cannot remove`)
      if (r.name === '..') throw new DfsError('ENOTEMPTY', `${path}: cannot remove ..`)
      await this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
        const entry = await this.lookup(r.parent, r.name)
        if (entry === undefined) throw new DfsError('ENOENT', `${path}: no such directory`)
        if (entry.kind !== 'dir') throw new DfsError('ENOTDIR', `${path}: not a directory`)
        await this.requireDirWrite(r.parent, path)
        const child = this.refOf(entry)
        await this.withCaps(child.ino, CAP_FILE_EXCL, 0, async () => {
          if (!(await this.isEmptyDir(child))) throw new DfsError('ENOTEMPTY', `${path}: directory not empty`)
          await this.putEntry(r.parent, r.name, undefined)
          await this.object(child.oid).punch().catch(posix)
          this.state.invalidate(child.ino)
        })
      })
    })
  }

  /** Drops one link of an inode whose entry was removed or replaced (the object goes at 0). */
  private async dropLink(entry: Entry): Promise<void> {
    if (entry.kind === 'symlink') return
    const ref = this.refOf(entry)
    if (entry.kind === 'dir') {
      await this.object(ref.oid).punch().catch(posix)
      this.state.invalidate(ref.ino)
      return
    }
    let gone = false
    await this.changeAttr(ref, (attr, times) => {
      gone = attr.nlink <= 1
      return { attr: { ...attr, nlink: Math.max(0, attr.nlink - 1) }, times: { ...times, ctimeMs: this.nowMs() } }
    })
    if (gone) {
      this.state.dirty.delete(ref.ino)
      await this.object(ref.oid).punch().catch(posix)
      this.state.arrays.delete(`${ref.oid.hi}.${ref.oid.lo}`)
      this.state.invalidate(ref.ino)
    }
  }

  /** `unlink`: `ENOENT`, `EISDIR`, `ENOTDIR`, `EACCES`. */
  async unlink(path: string): Promise<void> {
    this.live()
    return await this.state.mutex.run(async () => {
      const r = await this.resolve(path, false)
      if (r.name === '' || r.name === '..') throw new DfsError('EISDIR', `${path}: is a directory`)
      await this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
        const entry = await this.lookup(r.parent, r.name)
        if (entry === undefined) throw new DfsError('ENOENT', `${path}: no such file`)
        if (entry.kind === 'dir') throw new DfsError('EISDIR', `${path}: is a directory`)
        await this.requireDirWrite(r.parent, path)
        await Promise.all([this.putEntry(r.parent, r.name, undefined), this.dropLink(entry)])
      })
    })
  }

  /** `symlink(target, path)`: `EEXIST`, `ENOENT`, `ENOTDIR`, `EACCES`. */
  async symlink(target: string, path: string): Promise<void> {
    this.live()
    if (typeof target !== 'string' || target.length === 0) throw new DfsError('ENOENT', 'empty symlink target')
    if (encoder.encode(target).length >= 4096) throw new DfsError('ENAMETOOLONG', 'symlink target longer than PATH_MAX')
    return await this.state.mutex.run(async () => {
      const r = await this.resolveForChange(path)
      await this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
        if ((await this.lookup(r.parent, r.name)) !== undefined) throw new DfsError('EEXIST', `${path}: exists`)
        await this.requireDirWrite(r.parent, path)
        const oid = await this.allocate(ObjectType.KV_HASHED)
        const { attr, times } = this.newAttr('symlink', 0o777)
        await this.putEntry(r.parent, r.name, { kind: 'symlink', oid, target, attr, times })
      })
    })
  }

  /** `readlink`: `EINVAL` when not a symlink. */
  async readlink(path: string): Promise<string> {
    this.live()
    const r = await this.resolve(path, false)
    if (r.entry === undefined) throw new DfsError('ENOENT', `${path}: no such file`)
    if (r.entry.kind !== 'symlink' || r.entry.target === undefined) throw new DfsError('EINVAL', `${path}: not a symbolic link`)
    return r.entry.target
  }

  /** `link(existing, path)`: `EEXIST`, `ENOENT`, `EPERM` (directories), `EACCES`. */
  async link(existing: string, path: string): Promise<void> {
    this.live()
    return await this.state.mutex.run(async () => {
      const src = await this.resolve(existing, false)
      if (src.entry === undefined) throw new DfsError('ENOENT', `${existing}: no such file`)
      const r = await this.resolveForChange(path)
      const srcEntry = src.entry
      await this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
        if ((await this.lookup(r.parent, r.name)) !== undefined) throw new DfsError('EEXIST', `${path}: exists`)
        if (srcEntry.kind === 'dir') throw new DfsError('EPERM', `${existing}: hard links to directories are not allowed`)
        await this.requireDirWrite(r.parent, path)
        if (srcEntry.kind === 'file') {
          await this.changeAttr(this.refOf(srcEntry), (attr, times) => ({ attr: { ...attr, nlink: attr.nlink + 1 }, times: { ...times, ctimeMs: this.nowMs() } }))
        }
        await this.putEntry(r.parent, r.name, srcEntry)
      })
    })
  }

  /**
   * `rename(from, to)` with POSIX rules: replaces `to` (a file by a file, an empty directory by
   * a directory), `EISDIR`/`ENOTDIR` on kind mismatch, `ENOTEMPTY`, `EINVAL` when `to` is inside
   * `from`, nothing when both name the same inode. Holds `Fx` on both directories (taken in
   * inode order, so two clients never wait on each other).
   */
  async rename(from: string, to: string): Promise<void> {
    this.live()
    return await this.state.mutex.run(async () => {
      const a = await this.resolve(from, false)
      if (a.name === '' || a.name === '..') throw new DfsError(a.chain.length === 0 ? 'EBUSY' : 'EINVAL', `${from}: cannot rename`)
      const b = await this.resolve(to, false)
      if (b.name === '' || b.name === '..') throw new DfsError(b.chain.length === 0 ? 'EBUSY' : 'EINVAL', `${to}: cannot be a rename target`)
      const dirs = a.parent.ino === b.parent.ino ? [a.parent] : [a.parent, b.parent].sort((x, y) => x.ino - y.ino)
      const gots: number[] = []
      try {
        for (const d of dirs) gots.push(await this.state.gate.get(d.ino, CAP_FILE_EXCL, CAP_FILE_CACHE))
        const src = await this.lookup(a.parent, a.name)
        if (src === undefined) throw new DfsError('ENOENT', `${from}: no such file or directory`)
        if (src.kind !== 'dir' && endsLikeDirectory(from)) throw new DfsError('ENOTDIR', `${from}: not a directory`)
        const srcIno = inoOf(src.oid)
        if (src.kind === 'dir' && (b.chain.some((d) => d.ino === srcIno) || b.parent.ino === srcIno)) throw new DfsError('EINVAL', `${to} is inside ${from}`)
        const dst = await this.lookup(b.parent, b.name)
        await this.requireDirWrite(a.parent, from)
        await this.requireDirWrite(b.parent, to)
        if (dst !== undefined) {
          if (dst.oid.lo === src.oid.lo && dst.oid.hi === src.oid.hi) return
          if (src.kind === 'dir' && dst.kind !== 'dir') throw new DfsError('ENOTDIR', `${to}: not a directory`)
          if (src.kind !== 'dir' && dst.kind === 'dir') throw new DfsError('EISDIR', `${to}: is a directory`)
          if (dst.kind === 'dir' && !(await this.isEmptyDir(this.refOf(dst)))) throw new DfsError('ENOTEMPTY', `${to}: directory not empty`)
        } else if (src.kind !== 'dir' && endsLikeDirectory(to)) throw new DfsError('ENOTDIR', `${to}: not a directory`)
        await this.putEntry(b.parent, b.name, src)
        await this.putEntry(a.parent, a.name, undefined)
        if (dst !== undefined) await this.dropLink(dst)
      } finally {
        gots.forEach((got, i) => {
          const d = dirs[i]
          if (d !== undefined) this.state.gate.put(d.ino, got)
        })
      }
    })
  }

  /** `stat` (follows symlinks) or `lstat` (`follow: false`). */
  async stat(path: string, follow = true): Promise<DfsStat> {
    this.live()
    const r = await this.resolve(path, follow)
    if (r.entry === undefined) throw new DfsError('ENOENT', `${path}: no such file or directory`)
    return this.statEntry(r.entry)
  }

  private async statEntry(entry: Entry): Promise<DfsStat> {
    const ref = this.refOf(entry)
    const blockSizeBytes = this.state.superblock.chunkSizeBytes
    if (entry.kind === 'symlink') {
      const attr = entry.attr as InodeAttr
      const times = entry.times as InodeTimes
      return { ino: ref.ino, kind: 'symlink', mode: attr.mode, uid: attr.uid, gid: attr.gid, nlink: 1, sizeBytes: encoder.encode(entry.target ?? '').length, ...times, blockSizeBytes }
    }
    const [{ attr, times }, sizeBytes] = await Promise.all([this.readAttr(ref), entry.kind === 'file' ? this.fileSize(ref) : Promise.resolve(0)])
    return { ino: ref.ino, kind: entry.kind, mode: attr.mode, uid: attr.uid, gid: attr.gid, nlink: entry.kind === 'dir' ? 1 : attr.nlink, sizeBytes, ...times, blockSizeBytes }
  }

  /** A file's size: the array's (cached under `Fs`), or the end of this mount's buffered data. */
  private async fileSize(ref: InodeRef): Promise<number> {
    const s = this.state
    const stored = await this.withCaps(ref.ino, CAP_FILE_RD, CAP_FILE_SHARED, async (got) => {
      const canCache = (got & CAP_FILE_SHARED) !== 0
      const cached = canCache ? s.sizes.get(ref.ino) : undefined
      if (cached !== undefined) return cached
      const gen = s.generation(ref.ino)
      const size = await (await this.array(ref.oid)).getSize().catch(posix)
      if (canCache && s.generation(ref.ino) === gen) s.sizes.set(ref.ino, size)
      return size
    })
    return Math.max(stored, s.dirty.get(ref.ino)?.end ?? 0)
  }

  /** Resolves a path to an object inode (following symlinks). */
  private async inode(path: string): Promise<InodeRef> {
    const r = await this.resolve(path, true)
    if (r.entry === undefined) throw new DfsError('ENOENT', `${path}: no such file or directory`)
    return this.refOf(r.entry)
  }

  /** `chmod` (owner or root): `EPERM` otherwise. */
  async chmod(path: string, mode: number): Promise<void> {
    this.live()
    if (!isPermissionBits(mode)) throw new DfsError('EINVAL', `bad mode ${String(mode)}`)
    const ref = await this.inode(path)
    await this.changeAttr(ref, (attr, times) => {
      if (this.credentials.uid !== 0 && attr.uid !== this.credentials.uid) throw new DfsError('EPERM', `${path}: not the owner`)
      return { attr: { ...attr, mode: (attr.mode & S_IFMT) | mode }, times: { ...times, ctimeMs: this.nowMs() } }
    })
  }

  /** `chown` (root only; -1 keeps a value). */
  async chown(path: string, uid: number, gid: number): Promise<void> {
    this.live()
    checkId(uid, 'uid')
    checkId(gid, 'gid')
    const ref = await this.inode(path)
    await this.changeAttr(ref, (attr, times) => {
      if (this.credentials.uid !== 0) {
        const ownerKeepsUid = attr.uid === this.credentials.uid && (uid === -1 || uid === attr.uid)
        const groupOk = gid === -1 || gid === this.credentials.gid || (this.credentials.groups ?? []).includes(gid)
        if (!ownerKeepsUid || !groupOk) throw new DfsError('EPERM', `${path}: only root may give a file away`)
      }
      return { attr: { ...attr, uid: uid === -1 ? attr.uid : uid, gid: gid === -1 ? attr.gid : gid }, times: { ...times, ctimeMs: this.nowMs() } }
    })
  }

  /** `utimensat`: sets access and modification times (ms since the epoch). */
  async utimens(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    this.live()
    if (!Number.isFinite(atimeMs) || !Number.isFinite(mtimeMs)) throw new DfsError('EINVAL', 'times must be finite')
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') return
    await this.changeAttr(ref, (attr) => {
      if (this.credentials.uid !== 0 && attr.uid !== this.credentials.uid) throw new DfsError('EPERM', `${path}: not the owner`)
      return { times: { atimeMs, mtimeMs, ctimeMs: this.nowMs() } }
    })
  }

  /** `truncate(path, size)`: `EISDIR`, `EINVAL` (negative), `EACCES`. */
  async truncate(path: string, sizeBytes: number): Promise<void> {
    this.live()
    const ref = await this.inode(path)
    if (ref.kind === 'dir') throw new DfsError('EISDIR', `${path}: is a directory`)
    await this.requireAccess(ref, 2, `truncate ${path}`)
    await this.truncateInode(ref, sizeBytes)
  }

  private async truncateInode(ref: InodeRef, sizeBytes: number): Promise<void> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new DfsError('EINVAL', `bad size ${String(sizeBytes)}`)
    await this.writeback(ref.ino)
    await this.withCaps(ref.ino, CAP_FILE_WR, 0, async () => {
      const arr = await this.array(ref.oid)
      await arr.setSize(sizeBytes).catch(posix)
      const now = this.nowMs()
      await this.object(ref.oid).update(attrDkey, [{ type: 'single', akey: timesAkey, value: encodeTimes({ ...(await this.readAttr(ref)).times, mtimeMs: now, ctimeMs: now }) }]).catch(posix)
      this.state.invalidate(ref.ino)
    })
  }

  /** One page of a directory from `anchor` (`.` and `..` are not listed). */
  async readdir(path: string, anchor: ListAnchor = startAnchor, maxEntries = 256): Promise<ReaddirPage> {
    this.live()
    const r = await this.resolve(path, true)
    if (r.entry === undefined) throw new DfsError('ENOENT', `${path}: no such directory`)
    if (r.entry.kind !== 'dir') throw new DfsError('ENOTDIR', `${path}: not a directory`)
    const dir: DirRef = { ino: inoOf(r.entry.oid), oid: r.entry.oid }
    await this.requireAccess({ ...dir, kind: 'dir' }, 4, `list ${path}`)
    const page = await this.withCaps(dir.ino, CAP_FILE_RD, CAP_FILE_CACHE, () => this.listNames(dir, anchor, maxEntries))
    const entries: DirEntry[] = []
    for (const name of page.names) {
      const e = await this.lookup(dir, name)
      if (e !== undefined) entries.push({ name, kind: e.kind, ino: inoOf(e.oid) })
    }
    return { entries, anchor: page.anchor }
  }

  /** Every entry of a directory, sorted by name. */
  async readdirAll(path: string): Promise<DirEntry[]> {
    const out: DirEntry[] = []
    let anchor: ListAnchor = startAnchor
    for (;;) {
      const page = await this.readdir(path, anchor)
      out.push(...page.entries)
      if (page.anchor.done) break
      anchor = page.anchor
    }
    return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
  }

  /** `setxattr`: flags {@link XATTR} (`EEXIST` with CREATE, `ENODATA` with REPLACE). */
  async setxattr(path: string, name: string, value: Uint8Array, flags = 0): Promise<void> {
    this.live()
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new DfsError('ERANGE', 'bad xattr name')
    if (!(value instanceof Uint8Array) || value.length > maxXattrValueBytes) throw new DfsError('ERANGE', 'xattr value too large')
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') throw new DfsError('EPERM', `${path}: no extended attributes on symbolic links`)
    await this.requireAccess(ref, 2, `setxattr ${path}`)
    await this.changeAttr(ref, (attr, times) => {
      const has = attr.xattrs.has(name)
      if ((flags & XATTR.CREATE) !== 0 && has) throw new DfsError('EEXIST', `${path}: xattr ${name} exists`)
      if ((flags & XATTR.REPLACE) !== 0 && !has) throw new DfsError('ENODATA', `${path}: no xattr ${name}`)
      const xattrs = new Map(attr.xattrs)
      xattrs.set(name, new Uint8Array(value))
      let total = 0
      for (const [k, v] of xattrs) total += k.length + v.length
      if (total > maxXattrTotalBytes) throw new DfsError('ENOSPC', `${path}: extended attributes exceed ${maxXattrTotalBytes} bytes`)
      return { attr: { ...attr, xattrs }, times: { ...times, ctimeMs: this.nowMs() } }
    })
  }

  /** `getxattr`: `ENODATA` when absent. */
  async getxattr(path: string, name: string): Promise<Uint8Array> {
    this.live()
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') throw new DfsError('ENODATA', `${path}: no xattr ${name}`)
    const v = (await this.readAttr(ref)).attr.xattrs.get(name)
    if (v === undefined) throw new DfsError('ENODATA', `${path}: no xattr ${name}`)
    return v
  }

  /** `listxattr`. */
  async listxattr(path: string): Promise<string[]> {
    this.live()
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') return []
    return [...(await this.readAttr(ref)).attr.xattrs.keys()].sort()
  }

  /** `removexattr`: `ENODATA` when absent. */
  async removexattr(path: string, name: string): Promise<void> {
    this.live()
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') throw new DfsError('ENODATA', `${path}: no xattr ${name}`)
    await this.requireAccess(ref, 2, `removexattr ${path}`)
    await this.changeAttr(ref, (attr, times) => {
      if (!attr.xattrs.has(name)) throw new DfsError('ENODATA', `${path}: no xattr ${name}`)
      const xattrs = new Map(attr.xattrs)
      xattrs.delete(name)
      return { attr: { ...attr, xattrs }, times: { ...times, ctimeMs: this.nowMs() } }
    })
  }

  /** `statfs`. The pool's free space is not queried (no client call for it yet): fixed large numbers. */
  async statfs(): Promise<DfsStatfs> {
    this.live()
    return await Promise.resolve({ blockSizeBytes: 4096, blocks: 2 ** 32, blocksFree: 2 ** 31, files: 2 ** 32, filesFree: 2 ** 31, nameMaxBytes: 255 })
  }

  /** `access(path, mode)`: mode bits 4 (r), 2 (w), 1 (x); `EACCES` when denied. */
  async access(path: string, mode: number): Promise<void> {
    this.live()
    const ref = await this.inode(path)
    if (ref.kind === 'symlink') return
    await this.requireAccess(ref, mode & 7, `access ${path}`)
  }

  // ------------------------------------------------------------------ files

  /**
   * `open` with POSIX flags ({@link O}): `O_CREAT` (mode applies to a new file), `O_EXCL`
   * (`EEXIST`), `O_TRUNC`, `O_APPEND`, `O_DIRECTORY` (`ENOTDIR`); `EISDIR` for a directory
   * opened for writing or created over; `ENOENT`; `EACCES`.
   */
  async open(path: string, flags: number, mode = 0o644): Promise<DfsFile> {
    this.live()
    if (!Number.isInteger(flags) || flags < 0) throw new DfsError('EINVAL', `bad open flags ${String(flags)}`)
    if (!isPermissionBits(mode)) throw new DfsError('EINVAL', `bad mode ${String(mode)}`)
    const access = flags & 3
    if (access === 3) throw new DfsError('EINVAL', 'bad access mode')
    const writable = access !== O.RDONLY
    const create = async (): Promise<{ entry: Entry; created: boolean }> =>
      this.state.mutex.run(async () => {
        const r = await this.resolve(path, (flags & O.EXCL) === 0 && (flags & O.NOFOLLOW) === 0)
        if (r.name === '' || r.name === '..') {
          if ((flags & O.EXCL) !== 0) throw new DfsError('EEXIST', `${path}: exists`)
          throw new DfsError('EISDIR', `${path}: is a directory`)
        }
        return this.withCaps(r.parent.ino, CAP_FILE_EXCL, CAP_FILE_CACHE, async () => {
          const existing = await this.lookup(r.parent, r.name)
          if (existing !== undefined) {
            if ((flags & O.EXCL) !== 0) throw new DfsError('EEXIST', `${path}: exists`)
            return { entry: existing, created: false }
          }
          if (endsLikeDirectory(path)) throw new DfsError('EISDIR', `${path}: cannot create a file named like a directory`)
          await this.requireDirWrite(r.parent, path)
          const oid = await this.allocate(ObjectType.ARRAY)
          const { attr, times } = this.newAttr('file', mode)
          const entry: Entry = { kind: 'file', oid }
          const ino = inoOf(oid)
          // Caps on the new inode are taken before anyone can see it, so its attributes and size
          // are cached from the start; the three updates go out together (nobody else can read
          // the directory while we hold its Fx).
          await this.withCaps(ino, CAP_FILE_EXCL | CAP_AUTH_EXCL, CAP_FILE_SHARED | CAP_FILE_CACHE, async (got) => {
            const gen = this.state.generation(ino)
            const [arr] = await Promise.all([
              this.state.container.createArray(oid, { cellSizeBytes: 1, chunkSizeCells: this.state.superblock.chunkSizeBytes }).catch(posix),
              this.writeAttr({ ino, oid, kind: 'file' }, attr, times),
              this.putEntry(r.parent, r.name, entry),
            ])
            this.state.arrays.set(`${oid.hi}.${oid.lo}`, Promise.resolve(arr))
            if ((got & CAP_FILE_SHARED) !== 0 && this.state.generation(ino) === gen) {
              this.state.attrs.set(ino, { attr, times })
              this.state.sizes.set(ino, 0)
            }
          })
          return { entry, created: true }
        })
      })
    let entry: Entry
    let created = false
    if ((flags & O.CREAT) !== 0) {
      const c = await create()
      entry = c.entry
      created = c.created
    } else {
      const r = await this.resolve(path, (flags & O.NOFOLLOW) === 0)
      if (r.entry === undefined) throw new DfsError('ENOENT', `${path}: no such file or directory`)
      entry = r.entry
    }
    if (entry.kind === 'symlink') throw new DfsError('ELOOP', `${path}: is a symbolic link (O_NOFOLLOW)`)
    if (entry.kind === 'dir') {
      if (writable || (flags & O.CREAT) !== 0) throw new DfsError('EISDIR', `${path}: is a directory`)
    } else if ((flags & O.DIRECTORY) !== 0) throw new DfsError('ENOTDIR', `${path}: not a directory`)
    const ref = this.refOf(entry)
    if (!created) await this.requireAccess(ref, (access === O.RDONLY ? 4 : 0) | (writable ? 2 : 0), `open ${path}`)
    const file = new DfsFile(this, this.state, ref, flags)
    if (entry.kind === 'file' && writable && (flags & O.TRUNC) !== 0 && !created) await this.truncateInode(ref, 0)
    return file
  }

  /** Writes back the buffered data of `ino` (idempotent; concurrent callers share one write-back). */
  async writeback(ino: number): Promise<void> {
    const s = this.state
    const d = s.dirty.get(ino)
    if (d === undefined) return
    if (d.flushing !== undefined) {
      await d.flushing
      return this.writeback(ino)
    }
    const run = async (): Promise<void> => {
      const extents = d.extents
      d.extents = []
      d.bytes = 0
      try {
        if (extents.length > 0) {
          s.stats.writebacks++
          const arr = await this.array(d.oid)
          for (const e of extents) {
            const data = e.parts.length === 1 ? (e.parts[0] as Uint8Array) : concat(e.parts, e.length)
            await arr.write(e.offset, data).catch(posix)
          }
          await this.touchTimes({ ino, oid: d.oid, kind: 'file' })
        }
      } finally {
        d.flushing = undefined
        if (d.extents.length === 0) {
          s.dirty.delete(ino)
          s.sizes.delete(ino)
          s.blocks.delete(ino)
          s.gate.cleaned(ino)
        }
      }
    }
    d.flushing = run()
    await d.flushing
  }

  private async touchTimes(ref: InodeRef): Promise<void> {
    const now = this.nowMs()
    const cached = this.state.attrs.get(ref.ino)
    const atimeMs = cached?.times.atimeMs ?? now
    await this.writeAttr(ref, undefined, { atimeMs, mtimeMs: now, ctimeMs: now })
  }

  /** @internal Reads file data (buffered data overlaid). */
  async readFile(ref: InodeRef, offset: number, length: number): Promise<Uint8Array> {
    const s = this.state
    return this.withCaps(ref.ino, CAP_FILE_RD, CAP_FILE_CACHE | CAP_FILE_SHARED, async (got) => {
      const size = await this.fileSize(ref)
      if (offset >= size || length === 0) return new Uint8Array(0)
      const n = Math.min(length, size - offset)
      const d = s.dirty.get(ref.ino)
      const storedSize = Math.max(0, size)
      const out = await this.readStored(ref, offset, n, storedSize, (got & CAP_FILE_CACHE) !== 0)
      if (d !== undefined) for (const e of d.extents) overlay(out, offset, e)
      return out
    })
  }

  private async readStored(ref: InodeRef, offset: number, length: number, size: number, cache: boolean): Promise<Uint8Array> {
    const s = this.state
    const arr = await this.array(ref.oid)
    if (!cache) {
      s.stats.blockReads++
      return arr.read(offset, length).catch(posix)
    }
    const b = s.cacheBlockBytes
    const out = new Uint8Array(length)
    const first = Math.floor(offset / b)
    const last = Math.floor((offset + length - 1) / b)
    const gen = s.generation(ref.ino)
    let blocks = s.blocks.get(ref.ino)
    await Promise.all(
      Array.from({ length: last - first + 1 }, async (_, k) => {
        const i = first + k
        let block = blocks?.get(i)
        if (block === undefined) {
          const start = i * b
          const count = Math.min(b, size - start)
          if (count <= 0) return
          s.stats.blockReads++
          block = await arr.read(start, count).catch(posix)
          if (s.generation(ref.ino) === gen) {
            blocks ??= s.blocks.get(ref.ino)
            if (blocks === undefined) {
              blocks = new Map()
              s.blocks.set(ref.ino, blocks)
            }
            if (blocks.size > 512) blocks.clear()
            blocks.set(i, block)
          }
        } else s.stats.cachedReads++
        const from = Math.max(offset, i * b)
        const to = Math.min(offset + length, i * b + block.length)
        if (to > from) out.set(block.subarray(from - i * b, to - i * b), from - offset)
      }),
    )
    return out
  }

  /** @internal Writes file data (buffered under `Fb`). */
  async writeFile(ref: InodeRef, offset: number, data: Uint8Array, append: boolean): Promise<number> {
    const s = this.state
    if (data.length === 0) return 0
    return this.withCaps(ref.ino, CAP_FILE_WR, CAP_FILE_BUFFER | CAP_FILE_SHARED | CAP_FILE_RD, async (got) => {
      const at = append ? await this.fileSize(ref) : offset
      if (!Number.isSafeInteger(at + data.length)) throw new DfsError('EFBIG', 'file too large')
      s.blocks.delete(ref.ino)
      if ((got & CAP_FILE_BUFFER) !== 0) {
        let d = s.dirty.get(ref.ino)
        if (d === undefined) {
          d = { oid: ref.oid, extents: [], bytes: 0, end: 0, flushing: undefined }
          s.dirty.set(ref.ino, d)
          s.gate.dirtied(ref.ino)
        }
        const copy = new Uint8Array(data)
        const lastExtent = d.extents[d.extents.length - 1]
        if (lastExtent !== undefined && lastExtent.offset + lastExtent.length === at && lastExtent.length < 4 << 20) {
          lastExtent.parts.push(copy)
          lastExtent.length += copy.length
        } else d.extents.push({ offset: at, length: copy.length, parts: [copy] })
        d.bytes += copy.length
        d.end = Math.max(d.end, at + copy.length, await this.storedSizeHint(ref))
        if (d.bytes >= s.maxDirtyBytes) await this.writeback(ref.ino)
        return data.length
      }
      const arr = await this.array(ref.oid)
      await arr.write(at, data).catch(posix)
      s.sizes.delete(ref.ino)
      await this.touchTimes(ref)
      return data.length
    })
  }

  private async storedSizeHint(ref: InodeRef): Promise<number> {
    const cached = this.state.sizes.get(ref.ino)
    if (cached !== undefined) return cached
    const size = await (await this.array(ref.oid)).getSize().catch(posix)
    this.state.sizes.set(ref.ino, size)
    return size
  }

  /** @internal `fstat` of an open inode. */
  statInode(ref: InodeRef): Promise<DfsStat> {
    return this.statEntry({ kind: ref.kind, oid: ref.oid })
  }

  /** @internal Truncates an open file. */
  truncateOpen(ref: InodeRef, sizeBytes: number): Promise<void> {
    return this.truncateInode(ref, sizeBytes)
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function overlay(out: Uint8Array, offset: number, e: DirtyExtent): void {
  let at = e.offset
  for (const p of e.parts) {
    const from = Math.max(offset, at)
    const to = Math.min(offset + out.length, at + p.length)
    if (to > from) out.set(p.subarray(from - at, to - at), from - offset)
    at += p.length
  }
}

/** An open file or directory (`dfs_obj_t`): read, write, truncate, stat, sync, close. */
export class DfsFile {
  private closed = false
  private readonly mode: number

  /** @internal */
  constructor(
    private readonly dfs: Dfs,
    private readonly state: MountState,
    /** The inode. */
    readonly inode: { readonly ino: number; readonly oid: ObjectId; readonly kind: InodeKind },
    /** The open flags. */
    readonly flags: number,
  ) {
    const access = flags & 3
    this.mode = access === O.RDONLY ? FileMode.RD : access === O.WRONLY ? FileMode.WR : FileMode.RDWR
    if (inode.kind === 'file') state.gate.openFile(inode.ino, this.mode)
  }

  private check(what: 'read' | 'write'): void {
    if (this.closed) throw new DfsError('EBADF', 'file is closed')
    if (this.state.evicted) throw new DfsError('EIO', 'this client was evicted by the caps authority')
    if (this.inode.kind === 'dir') throw new DfsError('EISDIR', 'is a directory')
    const access = this.flags & 3
    if (what === 'read' && access === O.WRONLY) throw new DfsError('EBADF', 'file not open for reading')
    if (what === 'write' && access === O.RDONLY) throw new DfsError('EBADF', 'file not open for writing')
  }

  /** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.check('read')
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) throw new DfsError('EINVAL', 'bad offset or length')
    return await this.dfs.readFile(this.inode, offset, length)
  }

  /** Writes `data` at `offset` (at the end with `O_APPEND`); returns the bytes written. */
  async write(offset: number, data: Uint8Array): Promise<number> {
    this.check('write')
    if (!Number.isSafeInteger(offset) || offset < 0) throw new DfsError('EINVAL', 'bad offset')
    if (!(data instanceof Uint8Array)) throw new DfsError('EINVAL', 'data must be a Uint8Array')
    return await this.dfs.writeFile(this.inode, offset, data, (this.flags & O.APPEND) !== 0)
  }

  /** `ftruncate`. */
  async truncate(sizeBytes: number): Promise<void> {
    this.check('write')
    await this.dfs.truncateOpen(this.inode, sizeBytes)
  }

  /** `fstat`. */
  async stat(): Promise<DfsStat> {
    if (this.closed) throw new DfsError('EBADF', 'file is closed')
    return await this.dfs.statInode(this.inode)
  }

  /** `fsync`: writes back buffered data. */
  async sync(): Promise<void> {
    if (this.closed) throw new DfsError('EBADF', 'file is closed')
    await this.dfs.writeback(this.inode.ino)
  }

  /** `close`: writes back buffered data, then gives the open's caps back. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      if (!this.state.evicted) await this.dfs.writeback(this.inode.ino)
    } finally {
      if (this.inode.kind === 'file') this.state.gate.closeFile(this.inode.ino, this.mode)
    }
  }
}

/** Converts a DFS stat to `st_mode` type bits helpers. */
export function modeKind(mode: number): InodeKind | undefined {
  const t = mode & S_IFMT
  return t === S_IFDIR ? 'dir' : t === S_IFREG ? 'file' : t === S_IFLNK ? 'symlink' : undefined
}


