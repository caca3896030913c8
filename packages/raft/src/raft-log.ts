/**
 * The log as the core sees it: the stable part in {@link Storage} plus an unstable suffix (and
 * possibly an unstable snapshot) not yet handed to storage, with commit and apply positions.
 *
 * @module
 */
import { DerError, assert } from '@x/common'
import { type Storage, limitSize, storageError, storageErrorKind } from './storage.ts'
import type { Entry, Snapshot } from './types.ts'

/** Entries and snapshot not yet persisted; `offset` is the index of `entries[0]`. */
class Unstable {
  snapshot: Snapshot | undefined
  entries: Entry[] = []
  constructor(public offset: number) {}

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot?.metadata.index
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined
    }
    const last = this.maybeLastIndex()
    if (last === undefined || index > last) return undefined
    return this.entries[index - this.offset]?.term
  }

  /** Entries up to `index` (of `term`) are now in storage. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index)
    if (t === undefined || t !== term || index < this.offset) return
    this.entries = this.entries.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  /** The unstable snapshot at `index` is now in storage. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1
    this.entries = []
    this.snapshot = snapshot
  }

  truncateAndAppend(entries: readonly Entry[]): void {
    const after = (entries[0] as Entry).index
    if (after === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e)
    } else if (after <= this.offset) {
      this.offset = after
      this.entries = [...entries]
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries)
    }
  }
}

/** The log of one node. */
export class RaftLog {
  private readonly unstable: Unstable
  /** Highest index known to be committed. */
  committed: number
  /** Highest index handed to the application for applying. */
  applied: number

  constructor(
    readonly storage: Storage,
    readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex()
    const last = storage.lastIndex()
    this.unstable = new Unstable(last + 1)
    this.committed = first - 1
    this.applied = first - 1
  }

  /** The first index available (after the snapshot). */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex()
  }

  /** The last index in the log. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex()
  }

  /** The term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  /** The term of `index`: 0 beyond the last index, undefined when compacted or unavailable. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1
    if (index < dummy) return undefined
    if (index > this.lastIndex()) return 0
    const t = this.unstable.maybeTerm(index)
    if (t !== undefined) return t
    try {
      return this.storage.term(index)
    } catch (e) {
      if (storageErrorKind(e) !== undefined) return undefined
      throw e
    }
  }

  /** Whether entry `index` exists with term `term`. */
  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex()) return false
    const t = this.term(index)
    return t !== undefined && t === term
  }

  /** Entries from `lo` to the end, at most `maxBytes`; throws `compacted` below the first index. */
  entriesFrom(lo: number, maxBytes?: number): Entry[] {
    if (lo > this.lastIndex()) return []
    return this.slice(lo, this.lastIndex() + 1, maxBytes)
  }

  /** Entries `[lo, hi)`, at most `maxBytes`. */
  slice(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo === hi) return []
    if (lo < this.firstIndex()) throw storageError('compacted', `slice(${lo}, ${hi}): compacted (first index ${this.firstIndex()})`)
    assert(lo < hi && hi <= this.lastIndex() + 1, `slice(${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex()}]`)
    let result: Entry[] = []
    const offset = this.unstable.offset
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes)
      if (stored.length < Math.min(hi, offset) - lo) return stored
      result = stored
    }
    if (hi > offset) {
      const from = this.unstable.entries.slice(Math.max(lo, offset) - offset, hi - offset)
      result = result.length > 0 ? result.concat(from) : from
    }
    return limitSize(result, maxBytes)
  }

  /** Index of the first entry in `entries` whose term conflicts with the log, or 0. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) if (!this.matchTerm(e.index, e.term)) return e.index
    return 0
  }

  /**
   * Fast backtracking: the largest index <= `index` whose term is <= `term` (with its term), so
   * one rejection skips a whole term of conflicting entries (Raft thesis section 5.3 optimisation).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    if (index > this.lastIndex()) return [index, 0]
    for (; index > 0; index--) {
      const t = this.term(index)
      if (t === undefined) return [index, 0]
      if (t <= term) return [index, t]
    }
    return [0, 0]
  }

  /**
   * Appends `entries` following (`index`, `logTerm`) if the log matches there (log matching,
   * section 5.3); returns the index of the last new entry, or undefined on mismatch. Throws
   * DER_PROTO (changing nothing) if the leader's entries would overwrite committed ones.
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNew = index + entries.length
    const conflict = this.findConflict(entries)
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new DerError('DER_PROTO', `entry ${conflict} conflicts with the committed log (committed ${this.committed})`)
      }
      this.append(entries.slice(conflict - index - 1))
    }
    this.commitTo(Math.min(committed, lastNew))
    return lastNew
  }

  /** Appends entries (replacing a conflicting unstable suffix); returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex()
    const after = (entries[0] as Entry).index - 1
    assert(after >= this.committed, `append after ${after} is below committed ${this.committed}`)
    this.unstable.truncateAndAppend(entries)
    return this.lastIndex()
  }

  /** Raises the commit index (never beyond the last index). */
  commitTo(index: number): void {
    const target = Math.min(index, this.lastIndex())
    if (this.committed < target) this.committed = target
  }

  /** Commits `index` if its term is `term` (only current-term entries commit by counting, 5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index)
      return true
    }
    return false
  }

  /** Records that entries up to `index` were handed to the application. */
  appliedTo(index: number): void {
    if (index === 0) return
    assert(index <= this.committed && index >= this.applied, `appliedTo(${index}) outside [${this.applied}, ${this.committed}]`)
    this.applied = index
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index)
  }

  /** Entries not yet handed to storage. */
  unstableEntries(): Entry[] {
    return this.unstable.entries
  }

  /** A received snapshot not yet handed to storage. */
  unstableSnapshot(): Snapshot | undefined {
    return this.unstable.snapshot
  }

  /** Whether a received snapshot waits to be persisted and applied. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined
  }

  /** Committed entries not yet handed for applying (none while a snapshot is pending). */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return []
    const lo = Math.max(this.applied + 1, this.firstIndex())
    if (this.committed + 1 <= lo) return []
    return this.slice(lo, this.committed + 1, this.maxApplyBytes)
  }

  /** Whether committed entries wait to be applied. */
  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.committed > Math.max(this.applied, this.firstIndex() - 1)
  }

  /** The latest snapshot (unstable or stored). */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }

  /** Whether a log ending at (`index`, `term`) is at least as up-to-date as ours (section 5.4.1). */
  isUpToDate(index: number, term: number): boolean {
    const lastTerm = this.lastTerm()
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex())
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index
    this.unstable.restore(snapshot)
  }
}
