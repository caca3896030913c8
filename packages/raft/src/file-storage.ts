/**
 * `FileStorage`: a durable {@link Storage} on a directory, with a segmented write-ahead log of
 * checksummed records and snapshot files. The live log is also kept in memory (reads never touch
 * the disk); the files exist for recovery.
 *
 * Layout:
 *
 * - `seg-<seq>.wal`: segments. Each starts with a *base* record (the snapshot's metadata, the
 *   dummy entry's index and term, the hard state) and continues with *entry*, *hard state*,
 *   *snapshot-created* and *compact* records. A segment opened at compaction or snapshot install is
 *   *self-contained*: it rewrites the live entries, so every older segment can be deleted.
 * - `snap-<index>.snap`: snapshot files (metadata and data, one checksummed record).
 *
 * Record format: `u32 length | u32 crc32c(type | payload) | u8 type | payload` (little-endian).
 * Writes are buffered and reach the file, with an `fdatasync`, at {@link FileStorage.sync}.
 *
 * Recovery reads the segments in order. A short or checksum-failing record at the end of the last
 * segment is a torn tail (a write interrupted by the crash, never synced): the file is truncated
 * there. Any other bad record (in an older segment, or followed by a valid record) is corruption:
 * opening fails with `DER_CSUM` rather than silently losing synced entries.
 *
 * @module
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DerError, Decoder, Encoder, crc32c, isDerError } from '@x/common'
import { decodeSnapshot, encodeSnapshot } from './codec.ts'
import { type InitialState, MemoryLog, type Storage } from './storage.ts'
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from './types.ts'

const recordHeaderBytes = 9
/** WAL record types. */
const RecordType = { Base: 1, Entry: 2, HardState: 3, SnapshotCreated: 4, Compact: 5 } as const
type RecordType = (typeof RecordType)[keyof typeof RecordType]

/** Options of {@link FileStorage.open}. */
export interface FileStorageOptions {
  /** Membership of a brand-new log (ignored when the directory already holds one). */
  readonly initialConfState?: ConfState
  /** Segment size that triggers a new segment. Default 64 MiB. */
  readonly segmentBytes?: number
  /** Skip fsync (tests of logic only; never in production). Default false. */
  readonly noSync?: boolean
}

/** What recovery found, for tests and logs. */
export interface RecoveryReport {
  readonly segments: number
  readonly records: number
  /** Bytes cut from the tail of the last segment (a torn write). */
  readonly truncatedBytes: number
}

function segmentName(seq: number): string {
  return `seg-${seq.toString(16).padStart(12, '0')}.wal`
}

function snapshotName(index: number): string {
  return `snap-${index.toString(16).padStart(16, '0')}.snap`
}

function writeMeta(e: Encoder, m: SnapshotMetadata): void {
  e.varuint(m.index).varuint(m.term)
  e.varuint(m.confState.voters.length)
  for (const v of m.confState.voters) e.varuint(v)
  e.varuint(m.confState.learners.length)
  for (const v of m.confState.learners) e.varuint(v)
}

function readMeta(d: Decoder): SnapshotMetadata {
  const index = d.varuint()
  const term = d.varuint()
  const voters = d.array((x) => x.varuint())
  const learners = d.array((x) => x.varuint())
  return { index, term, confState: { voters, learners } }
}

function frame(type: RecordType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(recordHeaderBytes + payload.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, payload.length + 1, true)
  out[8] = type
  out.set(payload, 9)
  view.setUint32(4, crc32c(out.subarray(8)), true)
  return out
}

interface ParsedRecord {
  readonly type: number
  readonly payload: Uint8Array
  readonly end: number
}

/** Parses the record at `offset`, or returns undefined if it is short or fails its checksum. */
function parseRecord(bytes: Uint8Array, offset: number): ParsedRecord | undefined {
  if (offset + recordHeaderBytes > bytes.length) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, recordHeaderBytes)
  const length = view.getUint32(0, true)
  const crc = view.getUint32(4, true)
  if (length < 1 || offset + 8 + length > bytes.length) return undefined
  const body = bytes.subarray(offset + 8, offset + 8 + length)
  if (crc32c(body) !== crc) return undefined
  return { type: body[0] as number, payload: body.subarray(1), end: offset + 8 + length }
}

/** Whether any valid record starts after `offset` (distinguishes corruption from a torn tail). */
function validRecordAfter(bytes: Uint8Array, offset: number): boolean {
  for (let at = offset + 1; at + recordHeaderBytes <= bytes.length; at++) {
    const r = parseRecord(bytes, at)
    if (r !== undefined && r.type >= RecordType.Base && r.type <= RecordType.Compact && r.payload.length > 0) return true
  }
  return false
}

/** A durable Raft log in a directory. Not safe for two processes at once. */
export class FileStorage implements Storage {
  private readonly log = new MemoryLog()
  private fd = -1
  private seq = 0
  private segmentSize = 0
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private readonly segmentBytes: number
  private readonly noSync: boolean
  private segments: number[] = []
  private closed = false
  /** What recovery found when this storage was opened. */
  recovery: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0 }

  private constructor(
    readonly dir: string,
    options: FileStorageOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 64 << 20
    if (!Number.isSafeInteger(this.segmentBytes) || this.segmentBytes < 64) throw new DerError('DER_INVAL', `file storage: segmentBytes must be an integer >= 64, got ${this.segmentBytes}`)
    this.noSync = options.noSync ?? false
  }

  /** Opens (recovering) or creates the log in `dir`. Throws DER_CSUM on corruption, DER_IO on I/O errors. */
  static open(dir: string, options: FileStorageOptions = {}): FileStorage {
    const s = new FileStorage(dir, options)
    try {
      mkdirSync(dir, { recursive: true })
      s.recover(options.initialConfState ?? { voters: [], learners: [] })
    } catch (e) {
      s.closeQuietly()
      if (isDerError(e)) throw e
      throw new DerError('DER_IO', `file storage ${dir}: ${(e as Error).message}`, { cause: e })
    }
    return s
  }

  private closeQuietly(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }

  private recover(initial: ConfState): void {
    const names = readdirSync(this.dir)
    for (const n of names) if (n.endsWith('.tmp')) unlinkSync(join(this.dir, n))
    this.segments = names
      .filter((n) => /^seg-[0-9a-f]{12}\.wal$/.test(n))
      .map((n) => parseInt(n.slice(4, 16), 16))
      .sort((a, b) => a - b)
    let records = 0
    let truncatedBytes = 0
    let based = false
    for (let i = 0; i < this.segments.length; i++) {
      const seq = this.segments[i] as number
      const path = join(this.dir, segmentName(seq))
      const bytes = new Uint8Array(readFileSync(path))
      const last = i === this.segments.length - 1
      let offset = 0
      let first = true
      while (offset < bytes.length) {
        const r = parseRecord(bytes, offset)
        if (r === undefined) {
          if (!last || validRecordAfter(bytes, offset)) {
            throw new DerError('DER_CSUM', `file storage ${this.dir}: corrupt record in ${segmentName(seq)} at byte ${offset}`)
          }
          truncatedBytes = bytes.length - offset
          const fd = openSync(path, 'r+')
          ftruncateSync(fd, offset)
          if (!this.noSync) fsyncSync(fd)
          closeSync(fd)
          break
        }
        if (first && r.type !== RecordType.Base) throw new DerError('DER_CSUM', `file storage ${this.dir}: ${segmentName(seq)} does not start with a base record`)
        try {
          this.replay(r, first, based)
        } catch (e) {
          throw new DerError('DER_CSUM', `file storage ${this.dir}: bad record in ${segmentName(seq)} at byte ${offset}: ${(e as Error).message}`, { cause: e })
        }
        if (first) based = true
        first = false
        records++
        offset = r.end
      }
      if (first && last) {
        // The newest segment lost even its base record: it held nothing synced.
        unlinkSync(path)
        this.segments.pop()
      }
    }
    this.recovery = { segments: this.segments.length, records, truncatedBytes }
    // Only the latest snapshot's file is kept (older ones go once a newer marker is durable).
    if (this.log.snap.metadata.index > 0) this.log.snap = { metadata: this.log.snap.metadata, data: this.loadSnapshotData(this.log.snap.metadata) }
    if (this.segments.length === 0) {
      this.log.confState = initial
      this.log.snap = { metadata: { index: 0, term: 0, confState: initial }, data: new Uint8Array(0) }
      this.openSegment(1, true)
      this.flush(true)
    } else {
      const seq = this.segments[this.segments.length - 1] as number
      this.seq = seq
      this.fd = openSync(join(this.dir, segmentName(seq)), 'a')
      this.segmentSize = readFileSync(join(this.dir, segmentName(seq))).length
    }
  }

  private replay(r: ParsedRecord, firstInSegment: boolean, based: boolean): void {
    const d = new Decoder(r.payload)
    switch (r.type) {
      case RecordType.Base: {
        const selfContained = d.bool()
        const meta = readMeta(d)
        const dummyIndex = d.varuint()
        const dummyTerm = d.varuint()
        const hs = { term: d.varuint(), vote: d.varuint(), commit: d.varuint() }
        d.expectEnd()
        if (!firstInSegment) throw new Error('base record inside a segment')
        if (!based || selfContained) {
          this.log.snap = { metadata: meta, data: new Uint8Array(0) }
          this.log.confState = meta.confState
          this.log.ents = [{ term: dummyTerm, index: dummyIndex, type: 'normal', data: new Uint8Array(0) }]
          this.log.hardState = hs
        }
        return
      }
      case RecordType.Entry: {
        const term = d.varuint()
        const index = d.varuint()
        const kind = d.u8()
        const data = d.bytes().slice()
        d.expectEnd()
        if (kind > 1) throw new Error(`entry type ${kind}`)
        this.log.append([{ term, index, type: kind === 0 ? 'normal' : 'confChange', data }])
        return
      }
      case RecordType.HardState:
        this.log.hardState = { term: d.varuint(), vote: d.varuint(), commit: d.varuint() }
        d.expectEnd()
        return
      case RecordType.SnapshotCreated: {
        const meta = readMeta(d)
        d.expectEnd()
        if (meta.index > this.log.snap.metadata.index) this.log.snap = { metadata: meta, data: new Uint8Array(0) }
        return
      }
      case RecordType.Compact: {
        const index = d.varuint()
        d.expectEnd()
        if (index <= this.log.lastIndex()) this.log.compact(index)
        return
      }
      default:
        throw new Error(`unknown record type ${r.type}`)
    }
  }

  private loadSnapshotData(meta: SnapshotMetadata): Uint8Array {
    if (meta.index === 0) return new Uint8Array(0)
    const path = join(this.dir, snapshotName(meta.index))
    if (!existsSync(path)) throw new DerError('DER_CSUM', `snapshot file ${snapshotName(meta.index)} is missing`)
    const bytes = new Uint8Array(readFileSync(path))
    const r = parseRecord(bytes, 0)
    if (r === undefined || r.end !== bytes.length) throw new DerError('DER_CSUM', `snapshot file ${snapshotName(meta.index)} is corrupt`)
    const snap = decodeSnapshot(r.payload)
    if (snap.metadata.index !== meta.index || snap.metadata.term !== meta.term) throw new DerError('DER_CSUM', `snapshot file ${snapshotName(meta.index)} does not match its record`)
    return snap.data
  }

  private baseRecord(selfContained: boolean): Uint8Array {
    const first = this.log.ents[0] as Entry
    const hs = this.log.hardState
    const e = new Encoder(64).bool(selfContained)
    writeMeta(e, this.log.snap.metadata)
    e.varuint(first.index).varuint(first.term).varuint(hs.term).varuint(hs.vote).varuint(hs.commit)
    return frame(RecordType.Base, e.finish())
  }

  /** Starts segment `seq`; a self-contained one rewrites the live entries after its base record. */
  private openSegment(seq: number, selfContained: boolean): void {
    this.flush(false)
    if (this.fd >= 0) {
      if (!this.noSync) fdatasyncSync(this.fd)
      closeSync(this.fd)
    }
    this.seq = seq
    this.fd = openSync(join(this.dir, segmentName(seq)), 'wx')
    this.segmentSize = 0
    this.segments.push(seq)
    this.queue(this.baseRecord(selfContained))
    if (selfContained) for (const entry of this.log.ents.slice(1)) this.queue(this.entryRecord(entry))
    this.syncDir()
  }

  private entryRecord(entry: Entry): Uint8Array {
    const e = new Encoder(entry.data.length + 24).varuint(entry.term).varuint(entry.index).u8(entry.type === 'normal' ? 0 : 1).bytes(entry.data)
    return frame(RecordType.Entry, e.finish())
  }

  private queue(record: Uint8Array): void {
    this.pending.push(record)
    this.pendingBytes += record.length
  }

  private flush(sync: boolean): void {
    if (this.pendingBytes > 0) {
      const buffer = new Uint8Array(this.pendingBytes)
      let at = 0
      for (const p of this.pending) {
        buffer.set(p, at)
        at += p.length
      }
      let written = 0
      while (written < buffer.length) written += writeSync(this.fd, buffer, written, buffer.length - written)
      this.segmentSize += buffer.length
      this.pending = []
      this.pendingBytes = 0
    }
    if (sync && !this.noSync) fdatasyncSync(this.fd)
  }

  private syncDir(): void {
    if (this.noSync) return
    const fd = openSync(this.dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new DerError('DER_SHUTDOWN', `file storage ${this.dir} is closed`)
  }

  private maybeRoll(): void {
    if (this.segmentSize + this.pendingBytes >= this.segmentBytes) this.openSegment(this.seq + 1, false)
  }

  /** Deletes every segment before the current one (which must be self-contained). */
  private dropOldSegments(): void {
    const keep = this.seq
    // Newest first: a crash half-way leaves a prefix of old segments that still replays cleanly
    // before the self-contained one resets the log.
    for (const seq of [...this.segments].reverse()) if (seq < keep) unlinkSync(join(this.dir, segmentName(seq)))
    this.segments = this.segments.filter((s) => s >= keep)
    this.syncDir()
  }

  private writeSnapshotFile(snap: Snapshot): void {
    const name = snapshotName(snap.metadata.index)
    const tmp = join(this.dir, `${name}.tmp`)
    const fd = openSync(tmp, 'w')
    try {
      const bytes = frame(RecordType.Base, encodeSnapshot(snap))
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
      if (!this.noSync) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, join(this.dir, name))
    this.syncDir()
  }

  private dropOldSnapshots(keepIndex: number): void {
    for (const n of readdirSync(this.dir)) {
      const m = /^snap-([0-9a-f]{16})\.snap$/.exec(n)
      if (m !== null && parseInt(m[1] as string, 16) < keepIndex) unlinkSync(join(this.dir, n))
    }
  }

  initialState(): InitialState {
    return { hardState: this.log.hardState, confState: this.log.snap.metadata.confState }
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.log.entries(lo, hi, maxBytes)
  }

  term(index: number): number {
    return this.log.term(index)
  }

  firstIndex(): number {
    return this.log.firstIndex()
  }

  lastIndex(): number {
    return this.log.lastIndex()
  }

  snapshot(): Snapshot {
    return this.log.snap
  }

  append(entries: readonly Entry[]): void {
    this.checkOpen()
    if (entries.length === 0) return
    this.log.append(entries)
    for (const entry of entries) if (entry.index >= this.log.firstIndex()) this.queue(this.entryRecord(entry))
    this.maybeRoll()
  }

  setHardState(hardState: HardState): void {
    this.checkOpen()
    this.log.hardState = hardState
    this.queue(frame(RecordType.HardState, new Encoder(24).varuint(hardState.term).varuint(hardState.vote).varuint(hardState.commit).finish()))
  }

  applySnapshot(snapshot: Snapshot): void {
    this.checkOpen()
    this.log.applySnapshot(snapshot)
    this.writeSnapshotFile(snapshot)
    this.openSegment(this.seq + 1, true)
    this.flush(true)
    this.dropOldSegments()
    this.dropOldSnapshots(snapshot.metadata.index)
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    this.checkOpen()
    const snap = this.log.createSnapshot(index, confState, data)
    this.writeSnapshotFile(snap)
    const e = new Encoder(64)
    writeMeta(e, snap.metadata)
    this.queue(frame(RecordType.SnapshotCreated, e.finish()))
    this.flush(true)
    this.dropOldSnapshots(index)
    return snap
  }

  compact(index: number): void {
    this.checkOpen()
    if (index <= this.log.firstIndex() - 1) return
    this.log.compact(index)
    if (this.segments.length > 1 || this.segmentSize + this.pendingBytes >= this.segmentBytes / 2) {
      this.openSegment(this.seq + 1, true)
      this.flush(true)
      this.dropOldSegments()
    } else {
      this.queue(frame(RecordType.Compact, new Encoder(12).varuint(index).finish()))
    }
  }

  sync(): void {
    this.checkOpen()
    this.flush(true)
  }

  /**
   * Closes the files without flushing buffered writes, as a crash would: writes since the last
   * `sync()` are lost. For crash tests.
   */
  abandon(): void {
    this.pending = []
    this.pendingBytes = 0
    this.closeQuietly()
    this.closed = true
  }

  /** Flushes, syncs and closes the files. */
  close(): void {
    if (this.closed) return
    this.flush(true)
    this.closeQuietly()
    this.closed = true
  }
}
