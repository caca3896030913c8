/**
 * The cap-bit model: CephFS's bit values, aggregate masks, the `pAsLsXsFscr` string form, open
 * modes, and the wraparound-safe sequence comparison.
 *
 * @module
 */
import { DerError } from '@x/common'

/** A cap mask: a 32-bit integer of CephFS cap bits (only bits 0..15 are used here). */
export type CapMask = number

/** Generic bit: may cache and trust the value (`s`). */
export const CAP_GSHARED = 1
/** Generic bit: may change the value locally (`x`). */
export const CAP_GEXCL = 2
/** Generic bit: may cache read data (`c`). */
export const CAP_GCACHE = 4
/** Generic bit: may read data (`r`). */
export const CAP_GRD = 8
/** Generic bit: may write data (`w`). */
export const CAP_GWR = 16
/** Generic bit: may buffer writes (`b`). */
export const CAP_GBUFFER = 32
/** Generic bit: may extend the file (`a`). */
export const CAP_GWREXTEND = 64
/** Generic bit: lazy I/O (`l`). */
export const CAP_GLAZYIO = 128

/** Shift of the Auth class (`A`). */
export const CAP_SAUTH = 2
/** Shift of the Link class (`L`). */
export const CAP_SLINK = 4
/** Shift of the Xattr class (`X`). */
export const CAP_SXATTR = 6
/** Shift of the File class (`F`). */
export const CAP_SFILE = 8

/** `p`: pins the inode in the client cache. */
export const CAP_PIN = 1
/** `As`: may trust cached mode/uid/gid. */
export const CAP_AUTH_SHARED = CAP_GSHARED << CAP_SAUTH
/** `Ax`: may change mode/uid/gid locally. */
export const CAP_AUTH_EXCL = CAP_GEXCL << CAP_SAUTH
/** `Ls`: may trust the cached nlink. */
export const CAP_LINK_SHARED = CAP_GSHARED << CAP_SLINK
/** `Lx`: may change nlink locally. */
export const CAP_LINK_EXCL = CAP_GEXCL << CAP_SLINK
/** `Xs`: may trust cached xattrs. */
export const CAP_XATTR_SHARED = CAP_GSHARED << CAP_SXATTR
/** `Xx`: may change xattrs locally. */
export const CAP_XATTR_EXCL = CAP_GEXCL << CAP_SXATTR
/** `Fs`: may trust size/mtime/atime. */
export const CAP_FILE_SHARED = CAP_GSHARED << CAP_SFILE
/** `Fx`: exclusive on file metadata. */
export const CAP_FILE_EXCL = CAP_GEXCL << CAP_SFILE
/** `Fc`: may serve reads from the local cache. */
export const CAP_FILE_CACHE = CAP_GCACHE << CAP_SFILE
/** `Fr`: may read data. */
export const CAP_FILE_RD = CAP_GRD << CAP_SFILE
/** `Fw`: may write data. */
export const CAP_FILE_WR = CAP_GWR << CAP_SFILE
/** `Fb`: may buffer dirty data. */
export const CAP_FILE_BUFFER = CAP_GBUFFER << CAP_SFILE
/** `Fa`: may extend the file. */
export const CAP_FILE_WREXTEND = CAP_GWREXTEND << CAP_SFILE
/** `Fl`: lazy I/O. */
export const CAP_FILE_LAZYIO = CAP_GLAZYIO << CAP_SFILE

/** As|Ls|Xs|Fs. */
export const CAP_ANY_SHARED = CAP_AUTH_SHARED | CAP_LINK_SHARED | CAP_XATTR_SHARED | CAP_FILE_SHARED
/** ANY_SHARED|Fr|Fc. */
export const CAP_ANY_RD = CAP_ANY_SHARED | CAP_FILE_RD | CAP_FILE_CACHE
/** Ax|Lx|Xx|Fx. */
export const CAP_ANY_EXCL = CAP_AUTH_EXCL | CAP_LINK_EXCL | CAP_XATTR_EXCL | CAP_FILE_EXCL
/** Fr|Fc|Fs. */
export const CAP_ANY_FILE_RD = CAP_FILE_RD | CAP_FILE_CACHE | CAP_FILE_SHARED
/** Fw|Fb|Fx. */
export const CAP_ANY_FILE_WR = CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_EXCL
/** ANY_EXCL|ANY_FILE_WR. */
export const CAP_ANY_WR = CAP_ANY_EXCL | CAP_ANY_FILE_WR
/** Every bit this model knows: ANY_RD|ANY_EXCL|ANY_FILE_WR|Fa|Fl|p. */
export const CAP_ANY = CAP_ANY_RD | CAP_ANY_EXCL | CAP_ANY_FILE_WR | CAP_FILE_WREXTEND | CAP_FILE_LAZYIO | CAP_PIN
/** All file-class bits (`Fsxcrwbal`). */
export const CAP_FILE_ANY = 0xff << CAP_SFILE

const classes: ReadonlyArray<readonly [letter: string, shift: number, generic: number]> = [
  ['A', CAP_SAUTH, CAP_GSHARED | CAP_GEXCL],
  ['L', CAP_SLINK, CAP_GSHARED | CAP_GEXCL],
  ['X', CAP_SXATTR, CAP_GSHARED | CAP_GEXCL],
  ['F', CAP_SFILE, 0xff],
]
const genericLetters = 'sxcrwbal'

/** Whether `mask` is a valid cap mask of this model (an integer made only of known bits). */
export function isCapMask(mask: unknown): mask is CapMask {
  return typeof mask === 'number' && Number.isInteger(mask) && mask >= 0 && (mask & ~CAP_ANY) === 0 && mask <= CAP_ANY
}

/**
 * Formats a mask as `ceph_cap_string` does: `p`, then per class A, L, X, F the class letter and
 * its generic letters in the order `s x c r w b a l`; an empty mask is `-`.
 */
export function formatCaps(mask: CapMask): string {
  let out = (mask & CAP_PIN) !== 0 ? 'p' : ''
  for (const [letter, shift, generic] of classes) {
    const bits = (mask >>> shift) & generic
    if (bits === 0) continue
    out += letter
    for (let i = 0; i < genericLetters.length; i++) if ((bits & (1 << i)) !== 0) out += genericLetters[i]
  }
  return out === '' ? '-' : out
}

/**
 * Parses the string form back into a mask. Accepts exactly what {@link formatCaps} prints, with
 * letters in any order inside a class; throws `DER_INVAL` on anything else.
 */
export function parseCaps(text: string): CapMask {
  const fail = (why: string): never => {
    throw new DerError('DER_INVAL', `bad cap string ${JSON.stringify(text)}: ${why}`, { details: { text } })
  }
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) fail('empty, too long or not a string')
  if (text === '-') return 0
  let mask = 0
  let i = 0
  if (text[0] === 'p') {
    mask |= CAP_PIN
    i = 1
  }
  const seenClasses = new Set<string>()
  while (i < text.length) {
    const letter = text[i] ?? ''
    const cls = classes.find(([l]) => l === letter)
    if (cls === undefined) fail(`expected a class letter A, L, X or F at ${i}, got ${JSON.stringify(letter)}`)
    const [, shift, generic] = cls as (typeof classes)[number]
    if (seenClasses.has(letter)) fail(`class ${letter} appears twice`)
    seenClasses.add(letter)
    i++
    let bits = 0
    while (i < text.length && genericLetters.includes(text[i] ?? '')) {
      const bit = 1 << genericLetters.indexOf(text[i] ?? '')
      if ((generic & bit) === 0) fail(`class ${letter} has no bit ${text[i]}`)
      if ((bits & bit) !== 0) fail(`bit ${letter}${text[i]} appears twice`)
      bits |= bit
      i++
    }
    if (bits === 0) fail(`class ${letter} without bits`)
    mask |= bits << shift
  }
  return mask
}

/** Open modes (`CEPH_FILE_MODE_*`). */
export const FileMode = {
  /** Directory or path-only open: PIN. */
  PIN: 0,
  /** Read only. */
  RD: 1,
  /** Write only. */
  WR: 2,
  /** Read and write. */
  RDWR: 3,
  /** Lazy I/O. */
  LAZY: 4,
} as const
/** Wire open flags (octal, as `CEPH_O_*`). */
export const OpenFlags = {
  /** `O_RDONLY`. */
  RDONLY: 0,
  /** `O_WRONLY`. */
  WRONLY: 0o1,
  /** `O_RDWR`. */
  RDWR: 0o2,
  /** `O_CREAT`. */
  CREAT: 0o100,
  /** `O_EXCL`. */
  EXCL: 0o200,
  /** `O_TRUNC`. */
  TRUNC: 0o1000,
  /** `O_LAZY` (Ceph's value). */
  LAZY: 0o20000000,
  /** `O_DIRECTORY`. */
  DIRECTORY: 0o200000,
} as const

/** `ceph_flags_to_mode`: open flags to a {@link FileMode} bit set (RDWR also for access mode 3, LAZY or-ed in). */
export function flagsToMode(flags: number): number {
  if (!Number.isInteger(flags) || flags < 0) throw new DerError('DER_INVAL', `open flags must be a non-negative integer, got ${flags}`)
  if ((flags & OpenFlags.DIRECTORY) !== 0) return FileMode.PIN
  const access = flags & 3
  let mode: number = access === OpenFlags.RDONLY ? FileMode.RD : access === OpenFlags.WRONLY ? FileMode.WR : FileMode.RDWR
  if ((flags & OpenFlags.LAZY) !== 0) mode |= FileMode.LAZY
  return mode
}

/** `ceph_caps_for_mode`: the caps an open mode asks for (always with `p`). */
export function capsForMode(mode: number): CapMask {
  let caps = CAP_PIN
  if ((mode & FileMode.RD) !== 0) caps |= CAP_FILE_SHARED | CAP_FILE_RD | CAP_FILE_CACHE
  if ((mode & FileMode.WR) !== 0) caps |= CAP_FILE_EXCL | CAP_FILE_WR | CAP_FILE_BUFFER | CAP_AUTH_SHARED | CAP_AUTH_EXCL | CAP_XATTR_SHARED | CAP_XATTR_EXCL
  if ((mode & FileMode.LAZY) !== 0) caps |= CAP_FILE_LAZYIO
  return caps
}

/** `ceph_seq_cmp`: compares 32-bit sequence numbers across wraparound (negative, 0, positive). */
export function seqCmp(a: number, b: number): number {
  return ((a | 0) - (b | 0)) | 0
}

/** The next 32-bit sequence number after `seq` (wraps to 0). */
export function seqNext(seq: number): number {
  return (seq + 1) >>> 0
}
