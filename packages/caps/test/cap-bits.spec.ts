import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CAP_ANY,
  CAP_FILE_EXCL,
  CAP_PIN,
  FileMode,
  OpenFlags,
  calcNewMaxSize,
  capsForMode,
  flagsToMode,
  formatCaps,
  isCapMask,
  parseCaps,
  seqCmp,
  seqNext,
  shouldReportSize,
} from '../src/index.ts'
import { isDerError } from '@x/common'

describe('cap bits (T-01)', () => {
  it("formats Ceph's vectors", () => {
    expect(formatCaps(0xd55)).toBe('pAsLsXsFscr')
    expect(formatCaps(3413)).toBe('pAsLsXsFscr')
    expect(formatCaps(0x3fdd)).toBe('pAsxLsXsxFsxcrwb')
    expect(formatCaps(0)).toBe('-')
    expect(formatCaps(CAP_PIN)).toBe('p')
    expect(formatCaps(CAP_FILE_EXCL)).toBe('Fx')
    expect(formatCaps(0xff00)).toBe('Fsxcrwbal')
    expect(CAP_ANY).toBe(0xfffd)
  })

  it('parses what it formats, for every mask of known bits', () => {
    for (let mask = 0; mask <= 0xffff; mask++) {
      if (!isCapMask(mask)) continue
      expect(parseCaps(formatCaps(mask))).toBe(mask)
    }
    expect(parseCaps('pAsLsXsFscr')).toBe(0xd55)
    expect(parseCaps('Frcs')).toBe(parseCaps('Fscr'))
  })

  it('refuses malformed strings with DER_INVAL', () => {
    for (const bad of ['', 'q', 'pp', 'Ac', 'A', 'AsAs', 'Fss', 'F', 'pAsLsXsFscrz', 'x'.repeat(100), 'Fl-']) {
      expect(() => parseCaps(bad), bad).toThrow()
      try {
        parseCaps(bad)
      } catch (e) {
        expect(isDerError(e, 'DER_INVAL'), bad).toBe(true)
      }
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        try {
          const m = parseCaps(s)
          return isCapMask(m) && parseCaps(formatCaps(m)) === m
        } catch (e) {
          return isDerError(e, 'DER_INVAL')
        }
      }),
    )
  })
})

describe('open modes (T-02)', () => {
  it("has Ceph's tables", () => {
    expect(formatCaps(capsForMode(FileMode.RD))).toBe('pFscr')
    expect(formatCaps(capsForMode(FileMode.WR))).toBe('pAsxXsxFxwb')
    expect(formatCaps(capsForMode(FileMode.RDWR))).toBe('pAsxXsxFsxcrwb')
    expect(formatCaps(capsForMode(FileMode.LAZY))).toBe('pFl')
    expect(formatCaps(capsForMode(FileMode.PIN))).toBe('p')
    expect(flagsToMode(OpenFlags.DIRECTORY)).toBe(FileMode.PIN)
    expect(flagsToMode(OpenFlags.RDONLY)).toBe(FileMode.RD)
    expect(flagsToMode(OpenFlags.WRONLY | OpenFlags.CREAT)).toBe(FileMode.WR)
    expect(flagsToMode(OpenFlags.RDWR | OpenFlags.TRUNC)).toBe(FileMode.RDWR)
    expect(flagsToMode(3)).toBe(FileMode.RDWR)
    expect(flagsToMode(OpenFlags.RDONLY | OpenFlags.LAZY)).toBe(FileMode.RD | FileMode.LAZY)
    expect(() => flagsToMode(-1)).toThrow()
  })
})

describe('sequence numbers (T-03)', () => {
  it('compares across wraparound', () => {
    expect(seqCmp(1, 0xffffffff)).toBeGreaterThan(0)
    expect(seqCmp(0x7fffffff, 0x80000000)).toBeLessThan(0)
    expect(seqCmp(5, 5)).toBe(0)
    expect(seqNext(0xffffffff)).toBe(0)
  })
})

describe('max_size arithmetic', () => {
  it('calc_new_max_size: 10 MiB with a 4 MiB period gives 24 MiB; growth is capped', () => {
    expect(calcNewMaxSize(10 << 20)).toBe(24 << 20)
    expect(calcNewMaxSize(0)).toBe(4 << 20)
    expect(calcNewMaxSize(100 * 2 ** 30, { layoutPeriodBytes: 4 << 20, objectSizeBytes: 4 << 20, maxIncrementObjects: 4 })).toBe(100 * 2 ** 30 + (16 << 20))
  })

  it('reports the size when it reaches max_size or half the increment', () => {
    expect(shouldReportSize(100, 100, 0)).toBe(true)
    expect(shouldReportSize(50, 100, 0)).toBe(true)
    expect(shouldReportSize(49, 100, 0)).toBe(false)
    expect(shouldReportSize(10, 100, 10)).toBe(false)
  })
})
