/**
 * The on-object layout of a POSIX container and its records, each a versioned struct:
 *
 * - the **superblock**: a KV object with `lo = 0` holding {@link Superblock} under key `dfs_sb`;
 * - **directories**: KV objects whose keys are entry names and whose values are {@link Entry}
 *   records (the child's object id and type; a symlink's target and attributes live in its
 *   entry); keys starting with a NUL byte are reserved (the directory's own attributes);
 * - **files**: byte arrays (`@x/client` arrays, 1-byte cells, chunks of the container's chunk
 *   size); their size is the array's size;
 * - every directory and file object keeps its inode attributes under the reserved dkey of 8 NUL bytes (an array's metadata dkey):
 *   akey `A` an {@link InodeAttr} record (mode, owner, links, extended attributes) and akey `T`
 *   a {@link InodeTimes} record, apart so that writers may stamp times without touching the rest.
 *
 * @module
 */
import { DecodeError, Decoder, Encoder } from '@x/common'
import type { ObjectId } from '@x/protocol'

/** `S_IFMT`. */
export const S_IFMT = 0o170000
/** `S_IFDIR`. */
export const S_IFDIR = 0o040000
/** `S_IFREG`. */
export const S_IFREG = 0o100000
/** `S_IFLNK`. */
export const S_IFLNK = 0o120000

/** Kinds of inodes DFS stores. */
export type InodeKind = 'dir' | 'file' | 'symlink'

/** The `S_IFMT` bits of a kind. */
export function kindBits(kind: InodeKind): number {
  return kind === 'dir' ? S_IFDIR : kind === 'file' ? S_IFREG : S_IFLNK
}

/** Longest name of an entry, in UTF-8 bytes (`NAME_MAX`). */
export const maxNameBytes = 255
/** Longest path, in UTF-8 bytes (`PATH_MAX`). */
export const maxPathBytes = 4096
/** Most bytes of one extended attribute value (Linux's `XATTR_SIZE_MAX`). */
export const maxXattrValueBytes = 65536
/** Most bytes of all extended attributes of an inode (names and values). */
export const maxXattrTotalBytes = 65536

/** The attributes of an inode. */
export interface InodeAttr {
  /** `st_mode` (type and permission bits). */
  readonly mode: number
  /** Owner. */
  readonly uid: number
  /** Group. */
  readonly gid: number
  /** Hard links. */
  readonly nlink: number
  /** Extended attributes. */
  readonly xattrs: ReadonlyMap<string, Uint8Array>
}

/** The times of an inode, in milliseconds since the epoch. */
export interface InodeTimes {
  /** Last access. */
  readonly atimeMs: number
  /** Last data change. */
  readonly mtimeMs: number
  /** Last status change. */
  readonly ctimeMs: number
}

/** A directory entry. */
export interface Entry {
  /** What the entry names. */
  readonly kind: InodeKind
  /** The inode's object (symlinks: a unique id with no object, their inode number). */
  readonly oid: ObjectId
  /** Symlinks only: the target. */
  readonly target?: string
  /** Symlinks only: their attributes. */
  readonly attr?: InodeAttr
  /** Symlinks only: their times. */
  readonly times?: InodeTimes
}

/** The superblock of a POSIX container. */
export interface Superblock {
  /** Layout version (1). */
  readonly layoutVersion: number
  /** Chunk size of file arrays in bytes. */
  readonly chunkSizeBytes: number
  /** Object class of new files and directories (`S1`, `RP_3G1`...). */
  readonly objectClass: string
  /** The root directory's object id. */
  readonly root: ObjectId
}

const kinds: readonly InodeKind[] = ['dir', 'file', 'symlink']
const limits = { maxBytesLength: maxXattrTotalBytes + maxPathBytes, maxItems: 4096 }

function encodeAttrFields(e: Encoder, a: InodeAttr): void {
  e.u32(a.mode).u32(a.uid).u32(a.gid).u32(a.nlink)
  e.map(a.xattrs, (k, name) => void k.string(name), (v, value) => void v.bytes(value))
}

function decodeAttrFields(d: Decoder): InodeAttr {
  const mode = d.u32()
  const uid = d.u32()
  const gid = d.u32()
  const nlink = d.u32()
  const xattrs = d.map((k) => k.string(), (v) => v.bytes())
  return { mode, uid, gid, nlink, xattrs }
}

function encodeTimesFields(e: Encoder, t: InodeTimes): void {
  e.f64(t.atimeMs).f64(t.mtimeMs).f64(t.ctimeMs)
}

function decodeTimesFields(d: Decoder): InodeTimes {
  const atimeMs = d.f64()
  const mtimeMs = d.f64()
  const ctimeMs = d.f64()
  if (![atimeMs, mtimeMs, ctimeMs].every(Number.isFinite)) d.malformed('times must be finite')
  return { atimeMs, mtimeMs, ctimeMs }
}

/** Encodes an {@link InodeAttr}. */
export function encodeAttr(a: InodeAttr): Uint8Array {
  return new Encoder(64).struct(1, 1, (e) => encodeAttrFields(e, a)).finish()
}

/** Decodes an {@link InodeAttr}; `DecodeError` on bad bytes. */
export function decodeAttr(bytes: Uint8Array): InodeAttr {
  const d = new Decoder(bytes, limits)
  const a = d.struct(1, decodeAttrFields)
  d.expectEnd()
  return a
}

/** Encodes an {@link InodeTimes}. */
export function encodeTimes(t: InodeTimes): Uint8Array {
  return new Encoder(32).struct(1, 1, (e) => encodeTimesFields(e, t)).finish()
}

/** Decodes an {@link InodeTimes}; `DecodeError` on bad bytes. */
export function decodeTimes(bytes: Uint8Array): InodeTimes {
  const d = new Decoder(bytes, limits)
  const t = d.struct(1, decodeTimesFields)
  d.expectEnd()
  return t
}

/** Encodes an {@link Entry}. */
export function encodeEntry(entry: Entry): Uint8Array {
  return new Encoder(48)
    .struct(1, 1, (e) => {
      e.u8(kinds.indexOf(entry.kind)).u64(entry.oid.hi).u64(entry.oid.lo)
      e.optional(entry.target, (o, t) => void o.string(t))
      e.optional(entry.attr, (o, a) => encodeAttrFields(o, a))
      e.optional(entry.times, (o, t) => encodeTimesFields(o, t))
    })
    .finish()
}

/** Decodes an {@link Entry}; `DecodeError` on bad bytes. */
export function decodeEntry(bytes: Uint8Array): Entry {
  const d = new Decoder(bytes, limits)
  const entry = d.struct(1, (s): Entry => {
    const kind = kinds[s.u8()]
    if (kind === undefined) throw new DecodeError('malformed', 'unknown entry kind', 0)
    const oid = { hi: s.u64(), lo: s.u64() }
    const target = s.optional((o) => o.string())
    const attr = s.optional((o) => decodeAttrFields(o))
    const times = s.optional((o) => decodeTimesFields(o))
    if (kind === 'symlink' && (target === undefined || attr === undefined || times === undefined)) s.malformed('a symlink entry needs its target, attributes and times')
    return { kind, oid, ...(target === undefined ? {} : { target }), ...(attr === undefined ? {} : { attr }), ...(times === undefined ? {} : { times }) }
  })
  d.expectEnd()
  return entry
}

/** Encodes a {@link Superblock}. */
export function encodeSuperblock(sb: Superblock): Uint8Array {
  return new Encoder(64)
    .struct(1, 1, (e) => {
      e.u32(0x44465331) // "DFS1"
      e.u32(sb.layoutVersion).u32(sb.chunkSizeBytes).string(sb.objectClass).u64(sb.root.hi).u64(sb.root.lo)
    })
    .finish()
}

/** Decodes a {@link Superblock}; `DecodeError` on bad bytes or a wrong magic. */
export function decodeSuperblock(bytes: Uint8Array): Superblock {
  const d = new Decoder(bytes, { maxBytesLength: 64 })
  const sb = d.struct(1, (s): Superblock => {
    if (s.u32() !== 0x44465331) throw new DecodeError('malformed', 'not a DFS superblock (bad magic)', 0)
    const layoutVersion = s.u32()
    const chunkSizeBytes = s.u32()
    if (chunkSizeBytes < 1) s.malformed('chunk size must be > 0')
    return { layoutVersion, chunkSizeBytes, objectClass: s.string(), root: { hi: s.u64(), lo: s.u64() } }
  })
  d.expectEnd()
  return sb
}
