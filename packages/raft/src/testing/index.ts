/**
 * The compliance suite of the {@link Storage} contract: every implementation (fakes included)
 * runs it. Framework-agnostic: each case throws on failure; register them with your test runner.
 *
 * @example
 * ```ts
 * import { it } from 'vitest'
 * import { MemoryStorage } from '@x/raft'
 * import { runStorageCompliance } from '@x/raft/testing'
 *
 * runStorageCompliance({ create: (cs) => MemoryStorage.withVoters(cs.voters, cs.learners) }, it)
 * ```
 *
 * @module
 */
import { DerError, isDerError } from '@x/common'
import { type ConfState, type Entry, type Storage, storageErrorKind } from '../index.ts'

/** Creates storages for the suite. */
export interface StorageHarness {
  /** A brand-new, empty storage whose initial membership is `confState`. */
  create(confState: ConfState): Storage
  /**
   * Simulates a crash and restart: a storage reopened from what `storage` made durable with
   * `sync()`. Omit for storages without durability (the durability cases are then skipped).
   */
  reopen?(storage: Storage): Storage
}

/** One case of the suite. */
export interface ComplianceCase {
  readonly name: string
  run(harness: StorageHarness): void
}

function fail(message: string): never {
  throw new DerError('DER_MISC', `storage compliance: ${message}`)
}

function check(condition: boolean, message: string): void {
  if (!condition) fail(message)
}

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))
  const b = JSON.stringify(expected, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))
  if (a !== b) fail(`${what}: expected ${b}, got ${a}`)
}

function throwsKind(fn: () => unknown, kind: string, what: string): void {
  try {
    fn()
  } catch (e) {
    if (storageErrorKind(e) === kind) return
    fail(`${what}: expected a '${kind}' storage error, got ${String(e)}`)
  }
  fail(`${what}: expected a '${kind}' storage error, got no error`)
}

function throwsDer(fn: () => unknown, what: string): void {
  try {
    fn()
  } catch (e) {
    if (isDerError(e)) return
    fail(`${what}: expected a DerError, got ${String(e)}`)
  }
  fail(`${what}: expected a DerError, got no error`)
}

const conf: ConfState = { voters: [1, 2, 3], learners: [4] }

function ents(from: number, to: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: i % 5 === 0 ? 'confChange' : 'normal', data: new TextEncoder().encode(`${tag}${i}`) })
  return out
}

/** The suite's cases. */
export const storageComplianceCases: readonly ComplianceCase[] = [
  {
    name: 'a new storage is empty: first index 1, last index 0, zero hard state, the initial membership',
    run(h) {
      const s = h.create(conf)
      equal(s.firstIndex(), 1, 'firstIndex')
      equal(s.lastIndex(), 0, 'lastIndex')
      equal(s.term(0), 0, 'term(0)')
      equal(s.entries(1, 1), [], 'entries(1, 1)')
      equal(s.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: conf }, 'initialState')
      equal(s.snapshot().metadata.index, 0, 'snapshot index')
    },
  },
  {
    name: 'appended entries read back, with terms and a size limit that still returns one entry',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 10, 1))
      s.append(ents(11, 12, 2))
      equal(s.lastIndex(), 12, 'lastIndex')
      equal(s.entries(3, 13), ents(3, 12, 1).map((e) => (e.index > 10 ? { ...e, term: 2 } : e)), 'entries(3, 13)')
      equal(s.term(11), 2, 'term(11)')
      equal(s.entries(1, 10, 0).length, 1, 'entries with maxBytes 0')
      check(s.entries(1, 10, 40).length < 9, 'maxBytes limits the result')
    },
  },
  {
    name: 'an append at an existing index replaces that entry and everything after it',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 10, 1))
      s.append(ents(6, 7, 3, 'new'))
      equal(s.lastIndex(), 7, 'lastIndex after overwrite')
      equal(s.entries(5, 8), [...ents(5, 5, 1), ...ents(6, 7, 3, 'new')], 'entries after overwrite')
    },
  },
  {
    name: 'an append that would leave a gap is refused with a DerError and changes nothing',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 3, 1))
      throwsDer(() => s.append(ents(5, 6, 1)), 'append with a gap')
      equal(s.lastIndex(), 3, 'lastIndex after refused append')
    },
  },
  {
    name: 'reads outside the log fail with compacted / unavailable storage errors',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 10, 1))
      s.createSnapshot(5, conf, new Uint8Array([1]))
      s.compact(5)
      throwsKind(() => s.entries(4, 8), 'compacted', 'entries below first index')
      throwsKind(() => s.term(4), 'compacted', 'term below first index')
      throwsKind(() => s.entries(8, 12), 'unavailable', 'entries beyond last index')
      throwsKind(() => s.term(11), 'unavailable', 'term beyond last index')
      equal(s.term(5), 1, 'term of the compaction point')
    },
  },
  {
    name: 'hard state round-trips',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 4, 2))
      s.setHardState({ term: 2, vote: 3, commit: 4 })
      equal(s.initialState().hardState, { term: 2, vote: 3, commit: 4 }, 'hard state')
    },
  },
  {
    name: 'createSnapshot then compact: the first index moves past the snapshot; stale snapshots are refused',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 20, 1))
      const snap = s.createSnapshot(12, { voters: [1, 2], learners: [] }, new Uint8Array([9, 9]))
      equal(snap.metadata, { index: 12, term: 1, confState: { voters: [1, 2], learners: [] } }, 'snapshot metadata')
      s.compact(10)
      equal(s.firstIndex(), 11, 'firstIndex after compact(10)')
      equal(s.entries(11, 21).length, 10, 'entries kept')
      throwsDer(() => s.createSnapshot(11, conf, new Uint8Array(0)), 'older snapshot')
      throwsDer(() => s.createSnapshot(25, conf, new Uint8Array(0)), 'snapshot beyond the log')
      throwsDer(() => s.compact(15), 'compact beyond the snapshot')
      equal(s.snapshot().metadata.index, 12, 'snapshot kept')
    },
  },
  {
    name: 'applySnapshot replaces the log and the membership',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 5, 1))
      const cs = { voters: [1, 2, 3, 5], learners: [] }
      s.applySnapshot({ metadata: { index: 50, term: 4, confState: cs }, data: new Uint8Array([7]) })
      equal(s.firstIndex(), 51, 'firstIndex')
      equal(s.lastIndex(), 50, 'lastIndex')
      equal(s.term(50), 4, 'term(50)')
      equal(s.initialState().confState, cs, 'membership')
      s.append(ents(51, 52, 4))
      equal(s.lastIndex(), 52, 'append after snapshot')
    },
  },
  {
    name: 'appending entries that are partly compacted keeps only the new part',
    run(h) {
      const s = h.create(conf)
      s.append(ents(1, 10, 1))
      s.createSnapshot(8, conf, new Uint8Array(0))
      s.compact(8)
      s.append(ents(5, 12, 1))
      equal(s.firstIndex(), 9, 'firstIndex')
      equal(s.lastIndex(), 12, 'lastIndex')
    },
  },
  {
    name: 'durability: entries, hard state and snapshot survive a restart after sync',
    run(h) {
      if (h.reopen === undefined) return
      let s = h.create(conf)
      s.append(ents(1, 30, 1))
      s.append(ents(25, 40, 2, 'b'))
      s.setHardState({ term: 2, vote: 1, commit: 33 })
      s.createSnapshot(20, conf, new Uint8Array([1, 2, 3]))
      s.compact(15)
      s.sync()
      const expected = { first: s.firstIndex(), last: s.lastIndex(), entries: s.entries(s.firstIndex(), s.lastIndex() + 1), state: s.initialState(), snap: s.snapshot() }
      s = h.reopen(s)
      equal({ first: s.firstIndex(), last: s.lastIndex(), entries: s.entries(s.firstIndex(), s.lastIndex() + 1), state: s.initialState(), snap: s.snapshot() }, expected, 'state after restart')
      s.applySnapshot({ metadata: { index: 100, term: 5, confState: conf }, data: new Uint8Array([4]) })
      s.append(ents(101, 103, 5))
      s.sync()
      s = h.reopen(s)
      equal([s.firstIndex(), s.lastIndex(), s.snapshot().metadata.index, Array.from(s.snapshot().data)], [101, 103, 100, [4]], 'after applySnapshot and restart')
    },
  },
]

/** Registers every case with a test runner's `it` (or any `(name, fn) => void`). */
export function runStorageCompliance(harness: StorageHarness, register: (name: string, fn: () => void) => void): void {
  for (const c of storageComplianceCases) register(c.name, () => c.run(harness))
}
