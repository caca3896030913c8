/**
 * {@link fileStorageFactory}: the {@link RaftStorageFactory} a daemon uses, one `@x/raft`
 * `FileStorage` directory per group under a data directory (`<dir>/ms`, `<dir>/pool/<uuid>`).
 *
 * @module
 */
import { DerError } from '@x/common'
import { FileStorage } from '@x/raft'
import type { RaftStorageFactory } from './node.ts'

/** Options of {@link fileStorageFactory}. */
export interface FileStorageFactoryOptions {
  /** The directory holding one subdirectory per group. */
  readonly dir: string
  /** Deletes a directory tree (the daemon passes `(path) => rmSync(path, { recursive: true, force: true })`); without it, a destroyed pool's log stays on disk. */
  readonly removeDir?: (path: string) => void
  /** Skip fsync (tests of logic only). */
  readonly noSync?: boolean
}

/** The factory {@link fileStorageFactory} returns. */
export interface FileRaftStorageFactory extends RaftStorageFactory {
  /** Opens (or returns the open) `FileStorage` of `group`. */
  open(group: string, voters: readonly number[]): FileStorage
  /** Closes `group`'s storage. */
  release(group: string): void
  /** Closes `group`'s storage and deletes its directory (when `removeDir` was given). */
  remove(group: string): void
}

/** A {@link RaftStorageFactory} of `FileStorage`s (see the module comment). */
export function fileStorageFactory(options: FileStorageFactoryOptions): FileRaftStorageFactory {
  const open = new Map<string, FileStorage>()
  const pathOf = (group: string): string => {
    if (!/^(ms|pool\/[0-9a-f-]{36})$/.test(group)) throw new DerError('DER_INVAL', `bad raft group name '${group}'`)
    return `${options.dir.replace(/\/+$/, '')}/${group}`
  }
  return {
    open: (group, voters) => {
      const existing = open.get(group)
      if (existing !== undefined) return existing
      const storage = FileStorage.open(pathOf(group), { initialConfState: { voters: [...voters], learners: [] }, ...(options.noSync === true ? { noSync: true } : {}) })
      open.set(group, storage)
      return storage
    },
    release: (group) => {
      open.get(group)?.close()
      open.delete(group)
    },
    remove: (group) => {
      open.get(group)?.close()
      open.delete(group)
      options.removeDir?.(pathOf(group))
    },
  }
}
