// The namespace operations of the reference test, run the same way on a DFS mount and on a local
// directory (node:fs), each returning a comparable result ({ ok } or { err: errno name }).
import { constants as C, promises as fsp } from 'node:fs'
import * as nodePath from 'node:path'
import fc from 'fast-check'
import { type Dfs, O, errnoOf } from '../../src/index.ts'

export type Op =
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'rmdir'; path: string }
  | { op: 'unlink'; path: string }
  | { op: 'write'; path: string; flags: number; mode: number; offset: number; size: number; fill: number }
  | { op: 'read'; path: string; flags: number; offset: number; length: number }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'readlink'; path: string }
  | { op: 'stat'; path: string; follow: boolean }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'readdir'; path: string }

export type Result = { ok: unknown } | { err: string }

const names = ['a', 'b', 'c']
const pathArb = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'))
const targets = ['a', 'b', 'a/b', '../a', 'c/a', 'missing']
const writeFlags = [O.CREAT | O.WRONLY, O.CREAT | O.EXCL | O.WRONLY, O.CREAT | O.TRUNC | O.RDWR, O.WRONLY, O.WRONLY | O.APPEND, O.RDWR | O.CREAT | O.APPEND, O.RDWR | O.DIRECTORY]
const readFlags = [O.RDONLY, O.RDWR, O.RDONLY | O.DIRECTORY]

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb, mode: fc.constantFrom(0o755, 0o700) }),
  fc.record({ op: fc.constant('rmdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('unlink' as const), path: pathArb }),
  fc.record({ op: fc.constant('write' as const), path: pathArb, flags: fc.constantFrom(...writeFlags), mode: fc.constantFrom(0o644, 0o600), offset: fc.integer({ min: 0, max: 70_000 }), size: fc.integer({ min: 0, max: 70_000 }), fill: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('read' as const), path: pathArb, flags: fc.constantFrom(...readFlags), offset: fc.integer({ min: 0, max: 140_000 }), length: fc.integer({ min: 0, max: 140_000 }) }),
  fc.record({ op: fc.constant('truncate' as const), path: pathArb, size: fc.integer({ min: 0, max: 140_000 }) }),
  fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('symlink' as const), target: fc.constantFrom(...targets), path: pathArb }),
  fc.record({ op: fc.constant('readlink' as const), path: pathArb }),
  fc.record({ op: fc.constant('stat' as const), path: pathArb, follow: fc.boolean() }),
  fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(0o644, 0o755, 0o600) }),
  fc.record({ op: fc.constant('readdir' as const), path: fc.oneof(pathArb, fc.constant('')) }),
)

function hash(bytes: Uint8Array): string {
  let h = 0x811c9dc5
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return `${bytes.length}:${h.toString(16)}`
}

function kindOf(mode: number): string {
  const t = mode & 0o170000
  return t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'other'
}

async function capture(fn: () => Promise<unknown>, errno: (e: unknown) => string): Promise<Result> {
  try {
    return { ok: await fn() }
  } catch (e) {
    return { err: errno(e) }
  }
}

/** Runs `op` on a DFS mount under directory `base` (`/run-N`). */
export function runDfs(dfs: Dfs, base: string, op: Op): Promise<Result> {
  const p = (s: string): string => (s === '' ? base : `${base}/${s}`)
  return capture(async () => {
    switch (op.op) {
      case 'mkdir':
        return dfs.mkdir(p(op.path), op.mode)
      case 'rmdir':
        return dfs.rmdir(p(op.path))
      case 'unlink':
        return dfs.unlink(p(op.path))
      case 'write': {
        const f = await dfs.open(p(op.path), op.flags, op.mode)
        try {
          return await f.write(op.offset, new Uint8Array(op.size).fill(op.fill))
        } finally {
          await f.close()
        }
      }
      case 'read': {
        const f = await dfs.open(p(op.path), op.flags)
        try {
          return hash(await f.read(op.offset, op.length))
        } finally {
          await f.close()
        }
      }
      case 'truncate':
        return dfs.truncate(p(op.path), op.size)
      case 'rename':
        return dfs.rename(p(op.from), p(op.to))
      case 'link':
        return dfs.link(p(op.from), p(op.to))
      case 'symlink':
        return dfs.symlink(op.target, p(op.path))
      case 'readlink':
        return dfs.readlink(p(op.path))
      case 'stat': {
        const s = await dfs.stat(p(op.path), op.follow)
        return { kind: kindOf(s.mode), perm: s.kind === 'symlink' ? 0 : s.mode & 0o7777, size: s.kind === 'dir' ? 0 : s.sizeBytes, nlink: s.kind === 'file' ? s.nlink : 0 }
      }
      case 'chmod':
        return dfs.chmod(p(op.path), op.mode)
      case 'readdir':
        return (await dfs.readdirAll(p(op.path))).map((e) => `${e.name}:${e.kind}`).join(',')
    }
  }, (e) => errnoOf(e))
}

/** Runs `op` on a local directory `root`. */
export function runLocal(root: string, op: Op): Promise<Result> {
  const p = (s: string): string => (s === '' ? root : nodePath.join(root, s))
  return capture(async () => {
    switch (op.op) {
      case 'mkdir':
        return fsp.mkdir(p(op.path), op.mode)
      case 'rmdir':
        return fsp.rmdir(p(op.path))
      case 'unlink':
        return fsp.unlink(p(op.path))
      case 'write': {
        const f = await fsp.open(p(op.path), op.flags, op.mode)
        try {
          return (await f.write(new Uint8Array(op.size).fill(op.fill), 0, op.size, op.offset)).bytesWritten
        } finally {
          await f.close()
        }
      }
      case 'read': {
        const f = await fsp.open(p(op.path), op.flags)
        try {
          const buf = new Uint8Array(op.length)
          const { bytesRead } = await f.read(buf, 0, op.length, op.offset)
          return hash(buf.subarray(0, bytesRead))
        } finally {
          await f.close()
        }
      }
      case 'truncate':
        return fsp.truncate(p(op.path), op.size)
      case 'rename':
        return fsp.rename(p(op.from), p(op.to))
      case 'link':
        return fsp.link(p(op.from), p(op.to))
      case 'symlink':
        return fsp.symlink(op.target, p(op.path))
      case 'readlink':
        return fsp.readlink(p(op.path))
      case 'stat': {
        const s = op.follow ? await fsp.stat(p(op.path)) : await fsp.lstat(p(op.path))
        const kind = kindOf(s.mode)
        return { kind, perm: kind === 'symlink' ? 0 : s.mode & 0o7777, size: kind === 'dir' ? 0 : s.size, nlink: kind === 'file' ? s.nlink : 0 }
      }
      case 'chmod':
        return fsp.chmod(p(op.path), op.mode)
      case 'readdir': {
        const entries = await fsp.readdir(p(op.path), { withFileTypes: true })
        return entries
          .map((e) => `${e.name}:${e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : 'file'}`)
          .sort()
          .join(',')
      }
    }
  }, (e) => {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' ? code : 'EIO'
  })
}

export { C }
