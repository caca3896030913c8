/**
 * Tree copy between local paths and `daos://POOL/CONT/path` (`daos filesystem copy`), in both
 * directions, with progress reports: files (in chunks), directories, symlinks and modes.
 * As `cp -r`: when the destination is an existing directory the source goes inside it under its
 * own name; otherwise the destination is created with the source's content.
 *
 * @module
 */
import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import type { Dfs } from './dfs.ts'
import { O } from './dfs.ts'
import { DfsError } from './errors.ts'

/** A parsed `daos://POOL/CONT/path`. */
export interface DaosUri {
  readonly pool: string
  readonly cont: string
  /** Absolute path inside the container (`/` for the root). */
  readonly path: string
}

/** Parses `daos://POOL/CONT[/path]`; undefined for anything else (a local path). `EINVAL` for a malformed daos URI. */
export function parseDaosUri(text: string): DaosUri | undefined {
  if (typeof text !== 'string' || !text.startsWith('daos://')) return undefined
  const rest = text.slice('daos://'.length)
  const [pool, cont, ...parts] = rest.split('/')
  if (pool === undefined || pool === '' || cont === undefined || cont === '') throw new DfsError('EINVAL', `bad daos URI ${JSON.stringify(text)}: expected daos://POOL/CONT/path`)
  return { pool, cont, path: `/${parts.filter((p) => p !== '').join('/')}` }
}

/** Kinds of tree entries. */
export type TreeKind = 'dir' | 'file' | 'symlink'

/** One side of a copy: a filesystem tree with the few calls a copy needs. */
export interface Tree {
  /** `lstat`: undefined when absent. */
  lstat(path: string): Promise<{ kind: TreeKind; mode: number; sizeBytes: number } | undefined>
  mkdir(path: string, mode: number): Promise<void>
  readdir(path: string): Promise<string[]>
  readlink(path: string): Promise<string>
  symlink(target: string, path: string): Promise<void>
  /** Reads `length` bytes at `offset` of a file. */
  read(path: string, offset: number, length: number): Promise<Uint8Array>
  /** Creates (or truncates) a file and writes chunks from `source`. */
  writeFile(path: string, mode: number, chunks: AsyncIterable<Uint8Array>): Promise<void>
  join(dir: string, name: string): string
  basename(path: string): string
}

/**
 * A local directory tree. It uses node:fs's synchronous calls: a copy is one sequential stream
 * anyway, and the tree then works under a virtual clock (tests) as under the real one.
 */
export class LocalTree implements Tree {
  lstat(path: string): Promise<{ kind: TreeKind; mode: number; sizeBytes: number } | undefined> {
    return Promise.resolve().then(() => {
      const s = fs.lstatSync(path, { throwIfNoEntry: false })
      if (s === undefined) return undefined
      const kind: TreeKind | undefined = s.isDirectory() ? 'dir' : s.isFile() ? 'file' : s.isSymbolicLink() ? 'symlink' : undefined
      if (kind === undefined) throw new DfsError('ENOTSUP', `${path}: not a file, directory or symlink`)
      return { kind, mode: s.mode & 0o7777, sizeBytes: s.size }
    })
  }
  mkdir(path: string, mode: number): Promise<void> {
    return Promise.resolve().then(() => fs.mkdirSync(path, mode))
  }
  readdir(path: string): Promise<string[]> {
    return Promise.resolve().then(() => fs.readdirSync(path).sort())
  }
  readlink(path: string): Promise<string> {
    return Promise.resolve().then(() => fs.readlinkSync(path))
  }
  symlink(target: string, path: string): Promise<void> {
    return Promise.resolve().then(() => fs.symlinkSync(target, path))
  }
  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve().then(() => {
      const fd = fs.openSync(path, 'r')
      try {
        const buf = new Uint8Array(length)
        const n = fs.readSync(fd, buf, 0, length, offset)
        return buf.subarray(0, n)
      } finally {
        fs.closeSync(fd)
      }
    })
  }
  async writeFile(path: string, mode: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const fd = fs.openSync(path, 'w', mode)
    try {
      for await (const c of chunks) {
        let at = 0
        while (at < c.length) at += fs.writeSync(fd, c, at, c.length - at)
      }
      fs.fchmodSync(fd, mode)
    } finally {
      fs.closeSync(fd)
    }
  }
  join(dir: string, name: string): string {
    return nodePath.join(dir, name)
  }
  basename(path: string): string {
    return nodePath.basename(path)
  }
}

/** A tree inside a mounted container. */
export class DfsTree implements Tree {
  constructor(private readonly dfs: Dfs) {}
  async lstat(path: string): Promise<{ kind: TreeKind; mode: number; sizeBytes: number } | undefined> {
    try {
      const s = await this.dfs.stat(path, false)
      return { kind: s.kind, mode: s.mode & 0o7777, sizeBytes: s.sizeBytes }
    } catch (e) {
      if (e instanceof DfsError && e.errno === 'ENOENT') return undefined
      throw e
    }
  }
  mkdir(path: string, mode: number): Promise<void> {
    return this.dfs.mkdir(path, mode)
  }
  async readdir(path: string): Promise<string[]> {
    return (await this.dfs.readdirAll(path)).map((e) => e.name)
  }
  readlink(path: string): Promise<string> {
    return this.dfs.readlink(path)
  }
  symlink(target: string, path: string): Promise<void> {
    return this.dfs.symlink(target, path)
  }
  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    const f = await this.dfs.open(path, O.RDONLY)
    try {
      return await f.read(offset, length)
    } finally {
      await f.close()
    }
  }
  async writeFile(path: string, mode: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const f = await this.dfs.open(path, O.CREAT | O.WRONLY | O.TRUNC, mode)
    try {
      let at = 0
      for await (const c of chunks) at += await f.write(at, c)
    } finally {
      await f.close()
    }
    await this.dfs.chmod(path, mode)
  }
  join(dir: string, name: string): string {
    return dir === '/' ? `/${name}` : `${dir.replace(/\/+$/, '')}/${name}`
  }
  basename(path: string): string {
    const parts = path.split('/').filter((p) => p !== '')
    return parts[parts.length - 1] ?? ''
  }
}

/** Progress of a copy. */
export interface CopyProgress {
  readonly filesDone: number
  readonly filesTotal: number
  readonly bytesDone: number
  readonly bytesTotal: number
  readonly dirs: number
  readonly symlinks: number
}

/** Options of {@link copyTree}. */
export interface CopyOptions {
  /** Called after every chunk and entry. */
  readonly onProgress?: (progress: CopyProgress) => void
  /** Bytes per read/write (default 1 MiB). */
  readonly chunkBytes?: number
}

interface Plan {
  files: number
  bytes: number
}

async function measure(tree: Tree, path: string, plan: Plan): Promise<void> {
  const s = await tree.lstat(path)
  if (s === undefined) return
  if (s.kind === 'file') {
    plan.files++
    plan.bytes += s.sizeBytes
  } else if (s.kind === 'dir') for (const name of await tree.readdir(path)) await measure(tree, tree.join(path, name), plan)
}

/** Copies `srcPath` of `src` to `dstPath` of `dst` (see the module comment); resolves with the final progress. */
export async function copyTree(src: Tree, srcPath: string, dst: Tree, dstPath: string, options: CopyOptions = {}): Promise<CopyProgress> {
  const chunk = options.chunkBytes ?? 1 << 20
  const top = await src.lstat(srcPath)
  if (top === undefined) throw new DfsError('ENOENT', `${srcPath}: no such file or directory`)
  const plan: Plan = { files: 0, bytes: 0 }
  await measure(src, srcPath, plan)
  const p = { filesDone: 0, filesTotal: plan.files, bytesDone: 0, bytesTotal: plan.bytes, dirs: 0, symlinks: 0 }
  const report = (): void => options.onProgress?.({ ...p })
  const existing = await dst.lstat(dstPath)
  const target = existing?.kind === 'dir' && src.basename(srcPath) !== '' ? dst.join(dstPath, src.basename(srcPath)) : dstPath
  const copy = async (from: string, to: string): Promise<void> => {
    const s = await src.lstat(from)
    if (s === undefined) return
    if (s.kind === 'dir') {
      const there = await dst.lstat(to)
      if (there === undefined) await dst.mkdir(to, s.mode | 0o700)
      else if (there.kind !== 'dir') throw new DfsError('ENOTDIR', `${to}: exists and is not a directory`)
      p.dirs++
      for (const name of await src.readdir(from)) await copy(src.join(from, name), dst.join(to, name))
      report()
      return
    }
    if (s.kind === 'symlink') {
      await dst.symlink(await src.readlink(from), to)
      p.symlinks++
      report()
      return
    }
    const size = s.sizeBytes
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < size; at += chunk) {
        const data = await src.read(from, at, Math.min(chunk, size - at))
        if (data.length === 0) break
        p.bytesDone += data.length
        yield data
        report()
      }
    }
    await dst.writeFile(to, s.mode, chunks())
    p.filesDone++
    report()
  }
  await copy(srcPath, target)
  report()
  return { ...p }
}

/** A one-line progress bar: `[#####.....]  50%  3/6 files  1.5/3.0 MiB`. */
export function formatProgress(p: CopyProgress, width = 30): string {
  const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesTotal > 0 ? p.filesDone / p.filesTotal : 1
  const filled = Math.round(Math.min(1, fraction) * width)
  const mib = (n: number): string => (n / (1 << 20)).toFixed(1)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${p.filesDone}/${p.filesTotal} files  ${mib(p.bytesDone)}/${mib(p.bytesTotal)} MiB`
}
