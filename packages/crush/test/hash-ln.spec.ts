import { describe, expect, it } from 'vitest'
import { crushLn, hash32x1, hash32x2, hash32x3, hash32x4, straw2LnTable16 } from '../src/index.ts'

describe('rjenkins1 hash', () => {
  it('matches the reference vectors', () => {
    expect(hash32x1(0)).toBe(0x17c4a80b)
    expect(hash32x1(1)).toBe(0xd5082851)
    expect(hash32x1(0xffffffff)).toBe(0x7f71bc2a)
    expect(hash32x2(0, 0)).toBe(0x19ad4ce9)
    expect(hash32x2(1, 2)).toBe(0xb78dee9c)
    expect(hash32x2(123, 1)).toBe(0x6748c0e4)
    expect(hash32x3(0, 0, 0)).toBe(0x7a3bf3b2)
    expect(hash32x3(1, 2, 3)).toBe(0x735ad42b)
    expect(hash32x3(0x12345678, 0xfffffffe, 7)).toBe(0x8facbb48)
    expect(hash32x4(1, 2, 3, 4)).toBe(0x696d1f16)
    expect(hash32x4(0x12345678, 0, 3, 0xffffffff)).toBe(0x06e66395)
  })

  it('treats negative ids as their two-complement u32', () => {
    expect(hash32x3(5, -2, 1)).toBe(hash32x3(5, 0xfffffffe, 1))
    expect(hash32x4(-1, -2, -3, -4)).toBe(hash32x4(0xffffffff, 0xfffffffe, 0xfffffffd, 0xfffffffc))
  })
})

describe('crush_ln', () => {
  it('matches the sanity values', () => {
    const cases: [number, bigint][] = [
      [0, 0n],
      [1, 0x100000000000n],
      [2, 0x195c01a39fbdn],
      [0xff, 0x800000000000n],
      [0x100, 0x80171e3b6d7an],
      [0x1234, 0xc2fb9e09ec18n],
      [0x7fff, 0xf00000000000n],
      [0x8000, 0xf0002e2a60a0n],
      [0xfffe, 0xfffffd61ad10n],
      [0xffff, 0xfffff0000000n],
    ]
    for (const [u, v] of cases) expect(crushLn(u), `crush_ln(${u})`).toBe(v)
  })

  it('fills the straw2 table with crush_ln - 2^48, exactly, inside [-2^48, 0)', () => {
    const table = straw2LnTable16()
    for (let u = 0; u < 0x10000; u += 1) {
      const v = table[u] ?? Number.NaN
      expect(v >= -(2 ** 48) && v < 0, `u ${u}`).toBe(true)
      if (u % 257 === 0 || u > 0xfff0) expect(BigInt(v)).toBe(crushLn(u) - (1n << 48n))
    }
  })
})
