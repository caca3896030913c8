/**
 * {@link DurableMemoryStorage}: a `MemoryStorage` whose crash image is what the last `sync()`
 * saw, so a simulated crash drops exactly the unsynced Raft writes.
 *
 * @module
 */
import { type ConfState, type Entry, type HardState, type InitialState, MemoryStorage, type Snapshot, type Storage } from '@x/raft'

interface Image {
  readonly hardState: HardState
  readonly snapshot: Snapshot
  readonly entries: Entry[]
  readonly firstIndex: number
  readonly firstTerm: number
}

/** A Raft `Storage` in memory that survives a simulated crash with only its synced writes. */
export class DurableMemoryStorage implements Storage {
  private durable: Image

  constructor(private readonly live: MemoryStorage) {
    this.durable = this.image()
  }

  /** A new storage whose first membership is `voters` (and `learners`). */
  static withVoters(voters: readonly number[], learners: readonly number[] = []): DurableMemoryStorage {
    return new DurableMemoryStorage(MemoryStorage.withVoters(voters, learners))
  }

  private image(): Image {
    const first = this.live.firstIndex()
    const last = this.live.lastIndex()
    return { hardState: this.live.initialState().hardState, snapshot: this.live.snapshot(), entries: last >= first ? this.live.entries(first, last + 1) : [], firstIndex: first, firstTerm: this.live.term(first - 1) }
  }

  /** The storage a restarted node finds: only the synced writes. */
  reopen(): DurableMemoryStorage {
    const { snapshot: snap, firstIndex, firstTerm } = this.durable
    const cs = snap.metadata.confState
    const s = MemoryStorage.withVoters(cs.voters, cs.learners)
    if (firstIndex - 1 < snap.metadata.index) {
      if (firstIndex > 1) s.applySnapshot({ metadata: { index: firstIndex - 1, term: firstTerm, confState: cs }, data: new Uint8Array(0) })
      s.append(this.durable.entries)
      s.createSnapshot(snap.metadata.index, cs, snap.data)
    } else {
      if (snap.metadata.index > 0) s.applySnapshot(snap)
      s.append(this.durable.entries)
    }
    s.setHardState(this.durable.hardState)
    return new DurableMemoryStorage(s)
  }

  /** See `Storage.initialState`. */
  initialState(): InitialState {
    return this.live.initialState()
  }
  /** See `Storage.entries`. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.live.entries(lo, hi, maxBytes)
  }
  /** See `Storage.term`. */
  term(index: number): number {
    return this.live.term(index)
  }
  /** See `Storage.firstIndex`. */
  firstIndex(): number {
    return this.live.firstIndex()
  }
  /** See `Storage.lastIndex`. */
  lastIndex(): number {
    return this.live.lastIndex()
  }
  /** See `Storage.snapshot`. */
  snapshot(): Snapshot {
    return this.live.snapshot()
  }
  /** See `Storage.append`. */
  append(entries: readonly Entry[]): void {
    this.live.append(entries)
  }
  /** See `Storage.setHardState`. */
  setHardState(hardState: HardState): void {
    this.live.setHardState(hardState)
  }
  /** See `Storage.applySnapshot`. */
  applySnapshot(snapshot: Snapshot): void {
    this.live.applySnapshot(snapshot)
  }
  /** See `Storage.createSnapshot`. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    return this.live.createSnapshot(index, confState, data)
  }
  /** See `Storage.compact`. */
  compact(index: number): void {
    this.live.compact(index)
  }
  /** Makes every write so far survive a crash. */
  sync(): void {
    this.durable = this.image()
  }
}
