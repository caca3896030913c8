import fc from 'fast-check'
import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { formatSizeBytes, parseSizeBytes } from '../../src/index.ts'

describe('parseSizeBytes', () => {
  const cases: [unknown, number][] = [
    ['4096', 4096],
    [4096, 4096],
    ['0', 0],
    ['1B', 1],
    ['1K', 1000],
    ['1kb', 1000],
    ['1KiB', 1024],
    ['512MiB', 512 * 2 ** 20],
    ['1G', 1e9],
    ['1GB', 1e9],
    ['1gib', 2 ** 30],
    ['1.5KB', 1500],
    ['2T', 2e12],
    ['1TiB', 2 ** 40],
    [' 3 MiB ', 3 * 2 ** 20],
  ]
  for (const [input, expected] of cases) {
    it(`reads ${JSON.stringify(input)} as ${expected} bytes`, () => {
      expect(parseSizeBytes(input)).toBe(expected)
    })
  }

  const bad: unknown[] = ['', 'G', '1X', '1.5B', '-1G', '1e9', '1 G B', 1.5, -1, null, true, [], {}, '99999999999TiB', Number.MAX_SAFE_INTEGER + 1]
  for (const input of bad) {
    it(`refuses ${JSON.stringify(input)} with DER_INVAL naming the field`, () => {
      let error: unknown
      try {
        parseSizeBytes(input, 'engines[0].storage[1].size')
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
      expect((error as Error).message).toMatch(/^engines\[0\]\.storage\[1\]\.size: /)
    })
  }

  it('formatSizeBytes output parses back to the same bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (bytes) => {
        expect(parseSizeBytes(formatSizeBytes(bytes))).toBe(bytes)
      }),
      { numRuns: 2000 },
    )
    expect(formatSizeBytes(2 ** 30)).toBe('1GiB')
    expect(formatSizeBytes(1536 * 1024)).toBe('1536KiB')
    expect(formatSizeBytes(1000)).toBe('1000')
  })
})
