// Torn-tail crash tests of FileStorage: the tail of the last segment is truncated, or a byte of it
// corrupted, at every offset of the last records. Recovery must give exactly a synced prefix (a torn
// final record is cut off) or refuse to open with DER_CSUM (corruption followed by valid records);
// never another error, never a log that differs from what was synced.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDerError } from '@x/common'
import { afterAll, describe, expect, it } from 'vitest'
import { type Entry, FileStorage } from '../src/index.ts'

const root = mkdtempSync(join(tmpdir(), 'raft-crash-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const conf = { voters: [1, 2, 3], learners: [] }
const entry = (index: number, term: number, size: number): Entry => ({ term, index, type: 'normal', data: new Uint8Array(size).fill(index & 0xff) })

interface Boundary {
  sizeBytes: number
  lastIndex: number
}

function build(dir: string): { boundaries: Boundary[]; segment: string } {
  const s = FileStorage.open(dir, { initialConfState: conf })
  for (let i = 1; i <= 20; i++) s.append([entry(i, 1, 10 + i)])
  s.setHardState({ term: 1, vote: 1, commit: 20 })
  s.createSnapshot(10, conf, new Uint8Array([1, 2, 3]))
  s.compact(8)
  s.sync()
  const segment = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().pop() as string
  const boundaries: Boundary[] = [{ sizeBytes: statSync(join(dir, segment)).size, lastIndex: 20 }]
  // The tail: four more synced appends of one entry each (the last overwrites index 23).
  for (const [index, term] of [[21, 2], [22, 2], [23, 2], [23, 3]] as const) {
    s.append([entry(index, term, 7)])
    s.sync()
    boundaries.push({ sizeBytes: statSync(join(dir, segment)).size, lastIndex: index })
  }
  s.close()
  return { boundaries, segment }
}

function logOf(s: FileStorage): string {
  return JSON.stringify({ first: s.firstIndex(), entries: s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => [e.index, e.term, e.data.length]), hs: s.initialState().hardState, snap: s.snapshot().metadata.index })
}

describe('FileStorage torn-tail recovery', () => {
  const pristine = join(root, 'pristine')
  const { boundaries, segment } = build(pristine)
  const expected = new Map<number, string>()
  // The log as it was at each synced boundary (recover from a copy truncated exactly there).
  for (const b of boundaries) {
    const dir = join(root, `b${b.sizeBytes}`)
    copyDir(pristine, dir)
    truncateSync(join(dir, segment), b.sizeBytes)
    const s = FileStorage.open(dir, { noSync: true })
    expected.set(b.sizeBytes, logOf(s))
    s.close()
  }
  const first = boundaries[0] as Boundary
  const last = boundaries[boundaries.length - 1] as Boundary

  it('recovers the last synced prefix when the file is cut at any offset of the last records', () => {
    let cases = 0
    for (let size = first.sizeBytes; size <= last.sizeBytes; size++) {
      const dir = join(root, `t${size}`)
      copyDir(pristine, dir)
      truncateSync(join(dir, segment), size)
      const s = FileStorage.open(dir, { noSync: true })
      const boundary = [...boundaries].reverse().find((b) => b.sizeBytes <= size) as Boundary
      expect(logOf(s), `cut at ${size}`).toBe(expected.get(boundary.sizeBytes))
      expect(s.recovery.truncatedBytes, `cut at ${size}`).toBe(size - boundary.sizeBytes)
      // The repaired log accepts new writes and recovers them.
      s.append([entry(s.lastIndex() + 1, 9, 3)])
      s.sync()
      s.close()
      const again = FileStorage.open(dir, { noSync: true })
      expect(again.term(again.lastIndex()), `reopen after cut at ${size}`).toBe(9)
      again.close()
      rmSync(dir, { recursive: true })
      cases++
    }
    expect(cases).toBeGreaterThan(40)
  })

  it('a corrupted byte in the last records gives a synced prefix or DER_CSUM, never anything else', () => {
    let recovered = 0
    let refused = 0
    for (let at = first.sizeBytes; at < last.sizeBytes; at++) {
      const dir = join(root, `c${at}`)
      copyDir(pristine, dir)
      const path = join(dir, segment)
      const bytes = readFileSync(path)
      bytes[at] = (bytes[at] as number) ^ 0x5a
      writeFileSync(path, bytes)
      try {
        const s = FileStorage.open(dir, { noSync: true })
        const boundary = [...boundaries].reverse().find((b) => b.sizeBytes <= at) as Boundary
        // Only a corrupted final record is a torn tail; the log is what was synced before it.
        expect(at, `corruption at ${at} accepted`).toBeGreaterThanOrEqual((boundaries[boundaries.length - 2] as Boundary).sizeBytes)
        expect(logOf(s), `corruption at ${at}`).toBe(expected.get(boundary.sizeBytes))
        s.close()
        recovered++
      } catch (e) {
        expect(isDerError(e, 'DER_CSUM'), `corruption at ${at}: ${String(e)}`).toBe(true)
        refused++
      }
      rmSync(dir, { recursive: true })
    }
    expect(recovered).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })

  it('corruption in an older segment or a snapshot file refuses to open with DER_CSUM', () => {
    const dir = join(root, 'older')
    const s = FileStorage.open(dir, { initialConfState: conf, segmentBytes: 200 })
    for (let i = 1; i <= 30; i++) s.append([entry(i, 1, 20)])
    s.sync()
    s.close()
    const segments = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort()
    expect(segments.length).toBeGreaterThan(2)
    const path = join(dir, segments[0] as string)
    const bytes = readFileSync(path)
    bytes[20] = (bytes[20] as number) ^ 1
    writeFileSync(path, bytes)
    expect(() => FileStorage.open(dir)).toThrow(expect.objectContaining({ name: 'DER_CSUM' }))

    const snapDir = join(root, 'snap')
    const t = FileStorage.open(snapDir, { initialConfState: conf })
    t.append([entry(1, 1, 5), entry(2, 1, 5)])
    t.createSnapshot(2, conf, new Uint8Array(100).fill(3))
    t.close()
    const snapFile = readdirSync(snapDir).find((n) => n.endsWith('.snap')) as string
    const snapBytes = readFileSync(join(snapDir, snapFile))
    snapBytes[50] = (snapBytes[50] as number) ^ 1
    writeFileSync(join(snapDir, snapFile), snapBytes)
    expect(() => FileStorage.open(snapDir)).toThrow(expect.objectContaining({ name: 'DER_CSUM' }))
  })
})

function copyDir(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true })
  mkdirSync(to, { recursive: true })
  for (const n of readdirSync(from)) copyFileSync(join(from, n), join(to, n))
}

describe('FileStorage crash during segment cleanup', () => {
  it('recovers when only some of the old segments were deleted (newest first)', () => {
    const dir = join(root, 'cleanup')
    const s = FileStorage.open(dir, { initialConfState: conf, segmentBytes: 300, noSync: true })
    for (let i = 1; i <= 40; i++) s.append([entry(i, 1, 20)])
    s.sync()
    const before = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort()
    expect(before.length).toBeGreaterThan(3)
    s.createSnapshot(30, conf, new Uint8Array([5]))
    s.compact(25)
    s.sync()
    const expectedLog = logOf(s)
    s.close()
    // Simulate a crash half-way through deleting: put back the oldest segments (a prefix).
    const pristineCopy = join(root, 'cleanup-pristine')
    const s2 = FileStorage.open(pristineCopy, { initialConfState: conf, segmentBytes: 300, noSync: true })
    for (let i = 1; i <= 40; i++) s2.append([entry(i, 1, 20)])
    s2.sync()
    s2.close()
    for (const n of before.slice(0, 2)) copyFileSync(join(pristineCopy, n), join(dir, n))
    const reopened = FileStorage.open(dir, { noSync: true })
    expect(logOf(reopened)).toBe(expectedLog)
    reopened.close()
  })
})
