import { readFileSync } from 'node:fs'
import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErasureCodec, ecEncode, ecGeneratorMatrix, ecReconstruct, gfInv, gfInvertMatrix, gfMul, splitStripe } from '../../src/object/index.ts'

const seed = Number(process.env.TEST_SEED ?? 0xec0de)

interface GoldenCase {
  dataCells: number
  parityCells: number
  parityRows: number[][]
  data: string[]
  parity: string[]
}
const golden = JSON.parse(readFileSync(new URL('../../testdata/ec-golden.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] }
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))

describe('GF(2^8) arithmetic', () => {
  it('multiplies like shift-and-add modulo 0x11d and inverts every non-zero element', () => {
    const slowMul = (a: number, b: number): number => {
      let r = 0
      for (; b > 0; b >>= 1) {
        if (b & 1) r ^= a
        a <<= 1
        if (a & 0x100) a ^= 0x11d
      }
      return r
    }
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b += 7) expect(gfMul(a, b), `${a}*${b}`).toBe(slowMul(a, b))
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a)), `inv ${a}`).toBe(1)
    expect(gfMul(0x53, 0xca)).toBe(143)
    expect(gfInv(2)).toBe(142)
  })

  it('inverts matrices and reports a singular one', () => {
    const m = new Uint8Array([1, 2, 3, 4])
    const inv = gfInvertMatrix(m, 2)
    expect(inv).toBeDefined()
    const product = [0, 1].flatMap((i) => [0, 1].map((j) => gfMul(m[i * 2] ?? 0, inv?.[j] ?? 0) ^ gfMul(m[i * 2 + 1] ?? 0, inv?.[2 + j] ?? 0)))
    expect(product).toEqual([1, 0, 0, 1])
    expect(gfInvertMatrix(new Uint8Array([1, 1, 1, 1]), 2)).toBeUndefined()
  })
})

describe('erasure codec', () => {
  it('matches the golden vectors of an independent implementation', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(5)
    for (const c of golden.cases) {
      const matrix = ecGeneratorMatrix(c.dataCells, c.parityCells)
      const rows = c.parityRows.map((_, p) => Array.from(matrix.subarray((c.dataCells + p) * c.dataCells, (c.dataCells + p + 1) * c.dataCells)))
      expect(rows, `${c.dataCells}+${c.parityCells} matrix`).toEqual(c.parityRows)
      const parity = ecEncode(c.data.map(unhex), c.parityCells)
      expect(parity.map(hex), `${c.dataCells}+${c.parityCells} parity`).toEqual(c.parity)
    }
  })

  it('reconstructs any <= P erasures of random stripes (property)', () => {
    const layouts: [number, number][] = [
      [2, 1],
      [4, 2],
      [3, 2],
      [8, 3],
      [6, 4],
      [16, 4],
    ]
    fc.assert(
      fc.property(
        fc.constantFrom(...layouts),
        fc.integer({ min: 0, max: 67 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        ([k, p], length, dataSeed, picks) => {
          const codec = ErasureCodec.of(k, p)
          let x = dataSeed | 1
          const data = Array.from({ length: k }, () =>
            Uint8Array.from({ length }, () => {
              x ^= x << 13
              x ^= x >>> 17
              x ^= x << 5
              return x & 0xff
            }),
          )
          const parity = codec.encode(data)
          const all = [...data, ...parity]
          const lost = new Set<number>()
          for (const pick of picks) if (lost.size < p) lost.add(pick % (k + p))
          const rebuilt = codec.reconstruct(all.map((cell, i) => (lost.has(i) ? undefined : cell)))
          for (let i = 0; i < k + p; i++) expect(hex(rebuilt[i] ?? new Uint8Array()), `seed ${seed} ${k}+${p} lost ${[...lost].join(',')} cell ${i}`).toBe(hex(all[i] ?? new Uint8Array()))
        },
      ),
      { seed, numRuns: 300 },
    )
  })

  it('reconstructs every combination of exactly P erasures for 4+2 and 8+3', () => {
    for (const [k, p] of [
      [4, 2],
      [8, 3],
    ] as const) {
      const codec = ErasureCodec.of(k, p)
      const data = Array.from({ length: k }, (_, i) => Uint8Array.from({ length: 33 }, (_, t) => (i * 31 + t * 7 + 1) & 0xff))
      const all = [...data, ...codec.encode(data)]
      const total = k + p
      const combos = (start: number, left: number): number[][] => (left === 0 ? [[]] : Array.from({ length: total - start }, (_, o) => start + o).flatMap((i) => combos(i + 1, left - 1).map((rest) => [i, ...rest])))
      for (const lost of combos(0, p)) {
        const rebuilt = ecReconstruct(
          all.map((cell, i) => (lost.includes(i) ? undefined : cell)),
          k,
          p,
        )
        expect(rebuilt.map(hex), `${k}+${p} lost ${lost.join(',')}`).toEqual(all.map(hex))
      }
    }
  })

  it('gives the same bytes for unaligned views (byte path) as for aligned cells (word path)', () => {
    const codec = ErasureCodec.of(4, 2)
    const aligned = Array.from({ length: 4 }, (_, i) => Uint8Array.from({ length: 100 }, (_, t) => (i * 53 + t * 11 + 3) & 0xff))
    const unaligned = aligned.map((cell) => {
      const backing = new Uint8Array(cell.length + 3)
      backing.set(cell, 3)
      return backing.subarray(3)
    })
    expect(codec.encode(unaligned).map(hex)).toEqual(codec.encode(aligned).map(hex))
    const parity = codec.encode(aligned)
    const rebuilt = codec.reconstruct([undefined, unaligned[1], unaligned[2], undefined, parity[0], parity[1]])
    expect(hex(rebuilt[0] ?? new Uint8Array())).toBe(hex(aligned[0] ?? new Uint8Array()))
    expect(hex(rebuilt[3] ?? new Uint8Array())).toBe(hex(aligned[3] ?? new Uint8Array()))
  })

  it('refuses bad input with typed errors', () => {
    const codec = ErasureCodec.of(2, 1)
    const a = new Uint8Array(4)
    expect(() => codec.encode([a])).toThrow(/needs 2 data cells/)
    expect(() => codec.encode([a, new Uint8Array(5)])).toThrow(/differ in length/)
    expect(() => codec.reconstruct([a, undefined])).toThrow(/3 cell slots/)
    let error: unknown
    try {
      codec.reconstruct([undefined, undefined, a])
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_DATA_LOSS')).toBe(true)
    expect(() => ErasureCodec.of(0, 1)).toThrow(/data cell count/)
    expect(() => ErasureCodec.of(2, 0)).toThrow(/parity cell count/)
    expect(() => ErasureCodec.of(250, 7)).toThrow(/at most 256/)
    expect(() => splitStripe(new Uint8Array(9), 2, 4)).toThrow(/exceeds/)
    expect(() => splitStripe(new Uint8Array(1), 2, 0)).toThrow(/cell size/)
  })

  it('splits a stripe into cells, zero-padding a short tail', () => {
    const cells = splitStripe(new Uint8Array([1, 2, 3, 4, 5]), 3, 2)
    expect(cells.map((c) => Array.from(c))).toEqual([
      [1, 2],
      [3, 4],
      [5, 0],
    ])
  })
})
