import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CAP_ANY,
  CAP_FILE_BUFFER,
  CAP_FILE_CACHE,
  CAP_PIN,
  FileMode,
  allowedCaps,
  capsConflict,
  capsForMode,
  conflictsWith,
  decideIssue,
  fileLockState,
  formatCaps,
  parseCaps,
} from '../src/index.ts'

const bits = Array.from({ length: 16 }, (_, i) => 1 << i).filter((b) => (b & CAP_ANY) !== 0)

describe('conflicts', () => {
  it('is symmetric, and encodes the compatibility rules', () => {
    for (const a of bits) for (const b of bits) expect(capsConflict(a, b), `${formatCaps(a)} vs ${formatCaps(b)}`).toBe(capsConflict(b, a))
    expect(capsConflict(parseCaps('Fb'), parseCaps('Fr'))).toBe(true) // buffered writer vs reader
    expect(capsConflict(parseCaps('Fc'), parseCaps('Fw'))).toBe(true) // cached reader vs writer
    expect(capsConflict(parseCaps('Fr'), parseCaps('Fw'))).toBe(false) // MIX
    expect(capsConflict(parseCaps('Fscr'), parseCaps('Fscr'))).toBe(false) // SYNC
    expect(capsConflict(parseCaps('Ax'), parseCaps('As'))).toBe(true)
    expect(capsConflict(parseCaps('As'), parseCaps('As'))).toBe(false)
    expect(capsConflict(CAP_PIN, CAP_ANY)).toBe(false)
    expect(formatCaps(conflictsWith(parseCaps('Fb')))).toBe('Fsxcrwbal')
  })
})

describe('allowed caps (lock states)', () => {
  const want = (clientId: string, mode: number, eligible = true) => ({ clientId, wanted: capsForMode(mode), eligible })
  it('one interested client is the loner: everything', () => {
    const a = allowedCaps([want('a', FileMode.RDWR), want('b', FileMode.PIN)])
    // Loner per class: a wants A, X and F (not L), so L stays shared for everyone.
    expect(formatCaps(a.get('a') ?? 0)).toBe('pAsxLsXsxFsxcrwbal')
    expect(formatCaps(a.get('b') ?? 0)).toBe('pLs')
    expect(fileLockState([want('a', FileMode.RDWR)])).toBe('excl')
  })
  it('readers only: SYNC, everybody caches', () => {
    const a = allowedCaps([want('a', FileMode.RD), want('b', FileMode.RD)])
    expect(formatCaps(a.get('a') ?? 0)).toBe('pAsLsXsFscrl')
    expect(fileLockState([want('a', FileMode.RD), want('b', FileMode.RD)])).toBe('sync')
  })
  it('a writer among several: MIX, no cache, no buffer, no Fs', () => {
    const a = allowedCaps([want('a', FileMode.RD), want('b', FileMode.WR)])
    expect(formatCaps(a.get('a') ?? 0)).toBe('pLsFrwal') // b is the A and X loner
    expect(formatCaps(a.get('b') ?? 0)).toBe('pAsxLsXsxFrwal')
    expect(fileLockState([want('a', FileMode.RD), want('b', FileMode.WR)])).toBe('mix')
  })
  it('ineligible clients (stale, evicted) do not count as interested', () => {
    const a = allowedCaps([want('a', FileMode.RDWR), want('b', FileMode.RD, false)])
    expect(formatCaps(a.get('a') ?? 0)).toBe('pAsxLsXsxFsxcrwbal')
  })
})

describe('decideIssue', () => {
  it('never adds bits while revoking (C-SRV-3)', () => {
    const next = decideIssue({ pending: parseCaps('pFsxcrwb'), wanted: parseCaps('pFsxcrwbAs'), allowed: parseCaps('pAsFrwl'), othersIssued: 0 })
    expect(formatCaps(next)).toBe('pFrw')
  })
  it('does not grant what conflicts with bits another client still holds (P1, P3, P5)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (wanted, others, pending) => {
        const p = (pending & CAP_ANY) | CAP_PIN
        const o = others & CAP_ANY
        const next = decideIssue({ pending: p, wanted: wanted & CAP_ANY, allowed: CAP_ANY, othersIssued: o })
        const added = next & ~p
        return !capsConflict(added, o) && (next & CAP_PIN) !== 0
      }),
    )
    expect(decideIssue({ pending: CAP_PIN, wanted: CAP_FILE_CACHE | CAP_PIN, allowed: CAP_ANY, othersIssued: CAP_FILE_BUFFER })).toBe(CAP_PIN)
  })
})
