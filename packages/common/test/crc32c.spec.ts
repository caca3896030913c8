import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32c, crc32cIsNative, crc32cJs, crc32cNative } from '../src/index.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)))

/** RFC 3720 appendix B.4 (iSCSI) test vectors, plus the usual "123456789" check value. */
const vectors: [string, Uint8Array, number][] = [
  ['32 bytes of zeroes', new Uint8Array(32), 0x8a9136aa],
  ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['32 incrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ['32 decrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ['an iSCSI read command PDU', hex('01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000'), 0xd9963a56],
  ['"123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
  ['the empty string', new Uint8Array(0), 0],
]

describe('crc32c', () => {
  for (const [name, data, expected] of vectors) {
    it(`matches RFC 3720 for ${name}`, () => {
      expect(crc32cJs(data)).toBe(expected)
      expect(crc32c(data)).toBe(expected)
      if (crc32cNative !== undefined) expect(crc32cNative(data) >>> 0).toBe(expected)
    })
  }

  it('chains: crc(a ++ b) = crc(b, crc(a)), and the JS and native paths agree', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), (a, b) => {
        const whole = new Uint8Array(a.length + b.length)
        whole.set(a)
        whole.set(b, a.length)
        const expected = crc32cJs(whole)
        expect(crc32cJs(b, crc32cJs(a))).toBe(expected)
        expect(crc32c(b, crc32c(a))).toBe(expected)
        expect(crc32c(whole)).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('checksums views into larger buffers by their own bytes', () => {
    const backing = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff)
    const view = backing.subarray(100, 3000)
    expect(crc32c(view)).toBe(crc32cJs(Uint8Array.from(view)))
  })

  it('reports whether the native binding is in use', () => {
    expect(typeof crc32cIsNative).toBe('boolean')
  })
})
