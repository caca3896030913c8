/**
 * Path and name checks of the namespace: absolute paths split into components, names checked
 * against `NAME_MAX` and the reserved NUL byte, paths against `PATH_MAX`.
 *
 * @module
 */
import { DfsError } from './errors.ts'
import { maxNameBytes, maxPathBytes } from './records.ts'

const encoder = new TextEncoder()

/** The UTF-8 bytes of an entry name after checking it (`EINVAL`, `ENAMETOOLONG`). */
export function nameBytes(name: string): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) throw new DfsError('ENOENT', 'empty name')
  if (name.includes('/') || name.includes('\0')) throw new DfsError('EINVAL', `bad name ${JSON.stringify(name)}`)
  const bytes = encoder.encode(name)
  if (bytes.length > maxNameBytes) throw new DfsError('ENAMETOOLONG', `name of ${bytes.length} bytes (NAME_MAX ${maxNameBytes})`)
  return bytes
}

/** Splits a path into components (empty and `.` components dropped; `..` kept). */
export function splitPath(path: string): string[] {
  if (typeof path !== 'string') throw new DfsError('EINVAL', 'path must be a string')
  if (path.length === 0) throw new DfsError('ENOENT', 'empty path')
  if (path.includes('\0')) throw new DfsError('EINVAL', 'path contains a NUL byte')
  if (encoder.encode(path).length >= maxPathBytes) throw new DfsError('ENAMETOOLONG', `path longer than PATH_MAX ${maxPathBytes}`)
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  for (const p of parts) if (p !== '..') nameBytes(p)
  return parts
}

/** Whether a path names a directory syntactically (ends with `/`, `/.` or `/..`). */
export function endsLikeDirectory(path: string): boolean {
  return /\/\.{0,2}$/.test(path) && path !== '/'
}
