/**
 * The `Storage` contract and its in-memory implementation.
 *
 * @module
 */
import { DerError, assert, isDerError } from '@x/common'
import { type ConfState, type Entry, type HardState, type Snapshot, emptySnapshot, entriesSizeBytes } from './types.ts'

/** Why a storage read failed; carried in a `DerError`'s `details.kind`. */
export type StorageErrorKind = 'compacted' | 'unavailable' | 'snapshotTemporarilyUnavailable'

/** A `DerError` (`DER_NONEXIST`) that says which entries or snapshot are missing and why. */
export function storageError(kind: StorageErrorKind, message: string): DerError {
  return new DerError('DER_NONEXIST', message, { details: { kind } })
}

/** The {@link StorageErrorKind} of an error thrown by a storage, or undefined if it is not one. */
export function storageErrorKind(error: unknown): StorageErrorKind | undefined {
  if (!isDerError(error, 'DER_NONEXIST')) return undefined
  const kind = error.details['kind']
  return kind === 'compacted' || kind === 'unavailable' || kind === 'snapshotTemporarilyUnavailable' ? kind : undefined
}

/** What a node restarts from. */
export interface InitialState {
  readonly hardState: HardState
  readonly confState: ConfState
}

/**
 * Durable Raft state: the log (after the last snapshot), the hard state and the latest snapshot.
 *
 * The core only reads through the read methods; the application (or the driver) writes what a
 * `Ready` hands it, in this order: `applySnapshot`, `append`, `setHardState`, then `sync`. Reads
 * reflect every write at once; `sync` makes them durable (a crash loses at most the unsynced writes,
 * which must then be lost as a whole suffix, never leaving a hole).
 *
 * Errors: reading compacted entries throws `storageError('compacted')`; entries beyond
 * `lastIndex()` throw `storageError('unavailable')`; a snapshot being prepared may throw
 * `storageError('snapshotTemporarilyUnavailable')`. Any other error (I/O) makes the node
 * inoperable: the application must stop it and recover.
 */
export interface Storage {
  /** The saved hard state and the configuration at the last snapshot or conf change persisted. */
  initialState(): InitialState
  /** Entries `[lo, hi)`, at most `maxBytes` of them (always at least one when any is in range). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[]
  /** The term of entry `index`; `firstIndex() - 1` (the snapshot's index) is allowed. */
  term(index: number): number
  /** The first index still in the log (the snapshot's index + 1). */
  firstIndex(): number
  /** The last index in the log (the snapshot's index when the log is empty). */
  lastIndex(): number
  /** The latest snapshot. */
  snapshot(): Snapshot
  /** Appends entries; an entry at an index already present replaces it and every later entry. */
  append(entries: readonly Entry[]): void
  /** Saves the hard state. */
  setHardState(hardState: HardState): void
  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void
  /** Records a snapshot of the application's state at `index` (must be <= the last index). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot
  /**
   * Discards entries up to and including `index`, which must be covered by the latest snapshot
   * (`index <= snapshot().metadata.index`); the first index becomes `index + 1`.
   */
  compact(index: number): void
  /** Makes every previous write durable. */
  sync(): void
}

/** Keeps at most `maxBytes` of entries, always at least the first. */
export function limitSize(entries: Entry[], maxBytes: number | undefined): Entry[] {
  if (maxBytes === undefined || entries.length === 0) return entries
  let size = entriesSizeBytes(entries.slice(0, 1))
  let n = 1
  for (; n < entries.length; n++) {
    size += entriesSizeBytes(entries.slice(n, n + 1))
    if (size > maxBytes) break
  }
  return n === entries.length ? entries : entries.slice(0, n)
}

/**
 * The in-memory log store shared by {@link MemoryStorage} and the durable file storage: a dummy
 * entry at position 0 holds the snapshot's index and term.
 */
export class MemoryLog {
  /** `ents[0]` is the dummy entry (snapshot index and term); real entries follow. */
  ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]
  /** The saved hard state. */
  hardState: HardState = { term: 0, vote: 0, commit: 0 }
  /** The latest snapshot. */
  snap: Snapshot = emptySnapshot
  /** The configuration in force at the latest conf change known to storage (tracked by callers). */
  confState: ConfState = { voters: [], learners: [] }

  private get offset(): number {
    return (this.ents[0] as Entry).index
  }

  /** See {@link Storage.firstIndex}. */
  firstIndex(): number {
    return this.offset + 1
  }

  /** See {@link Storage.lastIndex}. */
  lastIndex(): number {
    return this.offset + this.ents.length - 1
  }

  /** See {@link Storage.term}. */
  term(index: number): number {
    const offset = this.offset
    if (index < offset) throw storageError('compacted', `term(${index}): compacted (first index ${offset + 1})`)
    if (index - offset >= this.ents.length) throw storageError('unavailable', `term(${index}): beyond last index ${this.lastIndex()}`)
    return (this.ents[index - offset] as Entry).term
  }

  /** See {@link Storage.entries}. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const offset = this.offset
    if (lo <= offset) throw storageError('compacted', `entries(${lo}, ${hi}): compacted (first index ${offset + 1})`)
    if (hi > this.lastIndex() + 1) throw storageError('unavailable', `entries(${lo}, ${hi}): beyond last index ${this.lastIndex()}`)
    if (lo > hi) throw new DerError('DER_INVAL', `entries(${lo}, ${hi}): lo > hi`)
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes)
  }

  /** See {@link Storage.append}. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = this.firstIndex()
    const last = (entries[entries.length - 1] as Entry).index
    if (last < first) return // all compacted already
    let toAppend = entries
    if (first > (entries[0] as Entry).index) toAppend = entries.slice(first - (entries[0] as Entry).index)
    const start = (toAppend[0] as Entry).index
    for (let i = 1; i < toAppend.length; i++) assert((toAppend[i] as Entry).index === start + i, 'append(): entries are not contiguous')
    const at = start - this.offset
    if (at > this.ents.length) throw new DerError('DER_INVAL', `append(): gap: first new index ${start}, last index ${this.lastIndex()}`)
    this.ents.length = at
    for (const e of toAppend) this.ents.push(e)
  }

  /** See {@link Storage.applySnapshot}. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index < this.snap.metadata.index) throw new DerError('DER_STALE', `applySnapshot(): snapshot ${snapshot.metadata.index} older than ${this.snap.metadata.index}`)
    this.snap = snapshot
    this.ents = [{ term: snapshot.metadata.term, index: snapshot.metadata.index, type: 'normal', data: new Uint8Array(0) }]
    this.confState = snapshot.metadata.confState
  }

  /** See {@link Storage.createSnapshot}. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new DerError('DER_STALE', `createSnapshot(${index}): not newer than snapshot ${this.snap.metadata.index}`)
    if (index > this.lastIndex()) throw new DerError('DER_INVAL', `createSnapshot(${index}): beyond last index ${this.lastIndex()}`)
    this.snap = { metadata: { index, term: this.term(index), confState }, data }
    return this.snap
  }

  /** See {@link Storage.compact}. */
  compact(index: number): void {
    const offset = this.offset
    if (index <= offset) return
    if (index > this.lastIndex()) throw new DerError('DER_INVAL', `compact(${index}): beyond last index ${this.lastIndex()}`)
    if (index > this.snap.metadata.index) throw new DerError('DER_INVAL', `compact(${index}): beyond the latest snapshot ${this.snap.metadata.index}`)
    const dummy = this.ents[index - offset] as Entry
    this.ents = [{ term: dummy.term, index: dummy.index, type: 'normal', data: new Uint8Array(0) }, ...this.ents.slice(index - offset + 1)]
  }
}

/**
 * A {@link Storage} in memory: reads and writes are immediate, `sync` does nothing. Used by tests and
 * the simulator, where "what was synced" is what a restarted node sees.
 *
 * `compact(i)` keeps entry `i` as the new dummy entry: the first index becomes `i + 1`.
 */
export class MemoryStorage implements Storage {
  private readonly log = new MemoryLog()

  /** A storage that starts with the given membership (index 0, before any entry). */
  static withVoters(voters: readonly number[], learners: readonly number[] = []): MemoryStorage {
    const s = new MemoryStorage()
    s.log.confState = { voters: [...voters], learners: [...learners] }
    s.log.snap = { metadata: { index: 0, term: 0, confState: s.log.confState }, data: new Uint8Array(0) }
    return s
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
    this.log.append(entries)
  }

  setHardState(hardState: HardState): void {
    this.log.hardState = hardState
  }

  applySnapshot(snapshot: Snapshot): void {
    this.log.applySnapshot(snapshot)
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    return this.log.createSnapshot(index, confState, data)
  }

  compact(index: number): void {
    this.log.compact(index)
  }

  sync(): void {}
}
