/**
 * The FUSE mount of a namespace (`dfuse`): every FUSE operation of the high-level API maps to a
 * {@link Dfs} call, errors to negative errno numbers. The kernel checks permissions
 * (`default_permissions`); caching is the namespace's (caps), so the kernel's attribute and entry
 * caches are kept short (1 s) and its page cache off unless the mount is exclusive.
 *
 * @module
 */
import Fuse from 'fuse-native'
import { type Dfs, type DfsFile, type DfsStat, O } from './dfs.ts'
import { DfsError, errnoNumbers, errnoOf } from './errors.ts'

/** Options of {@link DfuseMount}. */
export interface DfuseOptions {
  /** Print every FUSE request (libfuse's debug). */
  readonly debug?: boolean
  /** Let the kernel cache attributes and entries this long (default 1 s). */
  readonly attrTimeoutSeconds?: number
}

type Cb = (code: number, ...values: unknown[]) => void

function fail(cb: Cb, error: unknown): void {
  cb(-errnoNumbers[errnoOf(error)])
}

function statOf(s: DfsStat): Record<string, number> {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.sizeBytes, nlink: s.nlink, ino: s.ino % 0xffff_ffff, blksize: 4096, blocks: Math.ceil(s.sizeBytes / 512), atime: s.atimeMs, mtime: s.mtimeMs, ctime: s.ctimeMs }
}

/** A namespace mounted on a local directory through FUSE. */
export class DfuseMount {
  private readonly files = new Map<number, DfsFile>()
  private nextFd = 1
  private fuse: Fuse | undefined

  constructor(
    private readonly dfs: Dfs,
    /** The local mount point. */
    readonly mountpoint: string,
    private readonly options: DfuseOptions = {},
  ) {}

  private handlers(): Record<string, (...args: never[]) => void> {
    const dfs = this.dfs
    const run = <T>(cb: Cb, work: () => Promise<T>, done: (value: T) => void): void => {
      Promise.resolve().then(work).then(done, (e: unknown) => fail(cb, e))
    }
    const ok = (cb: Cb) => () => cb(0)
    const file = (fd: number): DfsFile => {
      const f = this.files.get(fd)
      if (f === undefined) throw new DfsError('EBADF', `no open file ${fd}`)
      return f
    }
    const openFd = (f: DfsFile): number => {
      const fd = this.nextFd++
      this.files.set(fd, f)
      return fd
    }
    const h: Record<string, (...args: never[]) => void> = {
      init: (cb: Cb) => cb(0),
      statfs: (_path: string, cb: Cb) =>
        run(cb, () => dfs.statfs(), (s) => cb(0, { bsize: s.blockSizeBytes, frsize: s.blockSizeBytes, blocks: s.blocks, bfree: s.blocksFree, bavail: s.blocksFree, files: s.files, ffree: s.filesFree, favail: s.filesFree, fsid: 0x44465331, flag: 0, namemax: s.nameMaxBytes })),
      getattr: (path: string, cb: Cb) => run(cb, () => dfs.stat(path, false), (s) => cb(0, statOf(s))),
      fgetattr: (path: string, fd: number, cb: Cb) => run(cb, () => (this.files.has(fd) ? file(fd).stat() : dfs.stat(path, false)), (s) => cb(0, statOf(s))),
      access: (path: string, mode: number, cb: Cb) => run(cb, () => dfs.access(path, mode), ok(cb)),
      readdir: (path: string, cb: Cb) => run(cb, () => dfs.readdirAll(path), (entries) => cb(0, entries.map((e) => e.name))),
      readlink: (path: string, cb: Cb) => run(cb, () => dfs.readlink(path), (target) => cb(0, target)),
      mkdir: (path: string, mode: number, cb: Cb) => run(cb, () => dfs.mkdir(path, mode & 0o7777), ok(cb)),
      rmdir: (path: string, cb: Cb) => run(cb, () => dfs.rmdir(path), ok(cb)),
      unlink: (path: string, cb: Cb) => run(cb, () => dfs.unlink(path), ok(cb)),
      rename: (src: string, dest: string, cb: Cb) => run(cb, () => dfs.rename(src, dest), ok(cb)),
      link: (src: string, dest: string, cb: Cb) => run(cb, () => dfs.link(src, dest), ok(cb)),
      symlink: (target: string, path: string, cb: Cb) => run(cb, () => dfs.symlink(target, path), ok(cb)),
      chmod: (path: string, mode: number, cb: Cb) => run(cb, () => dfs.chmod(path, mode & 0o7777), ok(cb)),
      chown: (path: string, uid: number, gid: number, cb: Cb) => run(cb, () => dfs.chown(path, uid === 0xffff_ffff ? -1 : uid, gid === 0xffff_ffff ? -1 : gid), ok(cb)),
      utimens: (path: string, atime: number, mtime: number, cb: Cb) => run(cb, () => dfs.utimens(path, atime, mtime), ok(cb)),
      truncate: (path: string, size: number, cb: Cb) => run(cb, () => dfs.truncate(path, size), ok(cb)),
      ftruncate: (path: string, fd: number, size: number, cb: Cb) => run(cb, () => (this.files.has(fd) ? file(fd).truncate(size) : dfs.truncate(path, size)), ok(cb)),
      create: (path: string, mode: number, cb: Cb) => run(cb, () => dfs.open(path, O.CREAT | O.RDWR, mode & 0o7777), (f) => cb(0, openFd(f))),
      open: (path: string, flags: number, cb: Cb) => run(cb, () => dfs.open(path, flags & ~(O.CREAT | O.EXCL | O.TRUNC)), (f) => cb(0, openFd(f))),
      read: (_path: string, fd: number, buffer: Buffer, length: number, position: number, cb: Cb) =>
        run(cb, () => file(fd).read(position, length), (data) => {
          buffer.set(data)
          cb(data.length)
        }),
      write: (_path: string, fd: number, buffer: Buffer, length: number, position: number, cb: Cb) =>
        run(cb, () => file(fd).write(position, new Uint8Array(buffer.buffer, buffer.byteOffset, length)), (n) => cb(n)),
      flush: (_path: string, fd: number, cb: Cb) => run(cb, () => (this.files.has(fd) ? file(fd).sync() : Promise.resolve()), ok(cb)),
      fsync: (_path: string, _datasync: number, fd: number, cb: Cb) => run(cb, () => (this.files.has(fd) ? file(fd).sync() : Promise.resolve()), ok(cb)),
      release: (_path: string, fd: number, cb: Cb) =>
        run(cb, async () => {
          const f = this.files.get(fd)
          this.files.delete(fd)
          await f?.close()
        }, ok(cb)),
      setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: Cb) => run(cb, () => dfs.setxattr(path, name, new Uint8Array(value), flags), ok(cb)),
      getxattr: (path: string, name: string, _position: number, cb: Cb) => run(cb, () => dfs.getxattr(path, name), (v) => cb(0, Buffer.from(v))),
      listxattr: (path: string, cb: Cb) => run(cb, () => dfs.listxattr(path), (names) => cb(0, names)),
      removexattr: (path: string, name: string, cb: Cb) => run(cb, () => dfs.removexattr(path, name), ok(cb)),
    }
    return h
  }

  /** Mounts (the mount point must exist and be empty). */
  mount(): Promise<void> {
    const timeout = this.options.attrTimeoutSeconds ?? 1
    // fuse-native passes only the options it knows: big_writes and max_write (128 KiB writes
    // instead of 4 KiB ones) ride along in the fsname option's value.
    const fsname = 'dfuse,big_writes,max_write=131072'
    const fuse = new Fuse(this.mountpoint, this.handlers(), { debug: this.options.debug === true, force: true, defaultPermissions: true, fsname, subtype: 'dfs', maxRead: 131072, attrTimeout: timeout, entryTimeout: timeout, acAttrTimeout: timeout, timeout: false })
    return new Promise((resolve, reject) => {
      fuse.mount((error) => {
        if (error !== null) reject(new DfsError('EIO', `mount on ${this.mountpoint} failed: ${error.message}`))
        else {
          this.fuse = fuse
          resolve()
        }
      })
    })
  }

  /** Unmounts and closes every file still open (writing back buffered data). */
  async unmount(): Promise<void> {
    const fuse = this.fuse
    this.fuse = undefined
    if (fuse !== undefined) {
      await new Promise<void>((resolve, reject) => fuse.unmount((error) => (error === null ? resolve() : reject(error))))
    }
    for (const [fd, f] of [...this.files]) {
      this.files.delete(fd)
      await f.close().catch(() => undefined)
    }
  }
}

/** Whether FUSE can be used here (`/dev/fuse` is openable and fuse-native's binding loads). */
export async function fuseUsable(): Promise<{ ok: boolean; reason: string }> {
  const { accessSync, constants } = await import('node:fs')
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK)
  } catch {
    return { ok: false, reason: '/dev/fuse is missing or not accessible (FUSE needs it; run as root or in the fuse group)' }
  }
  return new Promise((resolve) => {
    try {
      Fuse.isConfigured((error, configured) => resolve(error === null && configured ? { ok: true, reason: '' } : { ok: false, reason: 'fuse-native reports FUSE as not configured' }))
    } catch (e) {
      resolve({ ok: false, reason: `fuse-native failed to load: ${String(e)}` })
    }
  })
}
