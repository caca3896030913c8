/**
 * POSIX errors of the namespace: {@link DfsError} is a `DerError` (so every caller's
 * `isDerError` handling works) that also carries the errno name a POSIX caller expects.
 *
 * @module
 */
import { DerError, type DerName, isDerError } from '@x/common'

/** The errno names DFS operations fail with, and their Linux numbers. */
export const errnoNumbers = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  ENOTSUP: 95,
} as const

/** An errno name of {@link errnoNumbers}. */
export type Errno = keyof typeof errnoNumbers

const derOf: Record<Errno, DerName> = {
  EPERM: 'DER_NO_PERM',
  ENOENT: 'DER_NONEXIST',
  EIO: 'DER_IO',
  EBADF: 'DER_NO_HDL',
  EACCES: 'DER_NO_PERM',
  EBUSY: 'DER_BUSY',
  EEXIST: 'DER_EXIST',
  EXDEV: 'DER_INVAL',
  ENOTDIR: 'DER_NOTDIR',
  EISDIR: 'DER_INVAL',
  EINVAL: 'DER_INVAL',
  EFBIG: 'DER_REC2BIG',
  ENOSPC: 'DER_NOSPACE',
  ERANGE: 'DER_OVERFLOW',
  ENAMETOOLONG: 'DER_INVAL',
  ENOTEMPTY: 'DER_EXIST',
  ELOOP: 'DER_INVAL',
  ENODATA: 'DER_NONEXIST',
  ENOTSUP: 'DER_NOSYS',
}

const dfsErrorMarker = Symbol.for('@x/dfs/DfsError')

/** A failed namespace operation: a `DerError` with the POSIX errno name in {@link DfsError.errno}. */
export class DfsError extends DerError {
  /** The errno name (`ENOENT`). */
  readonly errno: Errno
  readonly [dfsErrorMarker] = true

  constructor(errno: Errno, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(derOf[errno], `${errno}: ${message}`, { details: { ...details, errno } })
    this.errno = errno
  }

  /** The Linux errno number (positive). */
  get errnoNumber(): number {
    return errnoNumbers[this.errno]
  }
}

/** Whether `value` is a {@link DfsError}, optionally with errno `errno`. */
export function isDfsError(value: unknown, errno?: Errno): value is DfsError {
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[dfsErrorMarker] !== true) return false
  return errno === undefined || (value as DfsError).errno === errno
}

/** The errno name of any error: a {@link DfsError}'s own, a DER code's POSIX meaning (`daos_der2errno`), else `EIO`. */
export function errnoOf(error: unknown): Errno {
  if (isDfsError(error)) return error.errno
  if (isDerError(error)) {
    switch (error.name) {
      case 'DER_NONEXIST':
        return 'ENOENT'
      case 'DER_EXIST':
        return 'EEXIST'
      case 'DER_NO_PERM':
        return 'EPERM'
      case 'DER_INVAL':
        return 'EINVAL'
      case 'DER_NOTDIR':
        return 'ENOTDIR'
      case 'DER_NOSPACE':
        return 'ENOSPC'
      case 'DER_NOSYS':
        return 'ENOTSUP'
      case 'DER_BUSY':
        return 'EBUSY'
      default:
        return 'EIO'
    }
  }
  return 'EIO'
}
