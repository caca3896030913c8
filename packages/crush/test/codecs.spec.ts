import fc from 'fast-check'
import { isDerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { decodeCrushMap, encodeCrushMap, formatWeight, parseCrushText, parseWeight, printCrushText } from '../src/index.ts'
import { randomMapText } from './support/random-map.ts'

const seed = Number(process.env.X_SEED ?? 7)
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'golden')

describe('text codec', () => {
  it('print(parse(text)) is stable for random maps of every kind', () => {
    for (let s = 0; s < 40; s++) {
      const options = { tunables: ['legacy', 'bobtail', 'firefly', 'hammer', 'jewel', 'odd'][s % 6], classes: s % 3 === 0, chooseArgs: s % 4 === 1, algs: s % 3 === 0 ? ['list', 'straw', 'straw2'] : undefined }
      let map
      try {
        map = parseCrushText(randomMapText(seed * 1000 + s, options))
      } catch (e) {
        // a class rule with no device of that class cannot compile (as in Ceph)
        expect(isDerError(e, 'DER_INVAL'), `seed ${seed * 1000 + s}`).toBe(true)
        continue
      }
      const printed = printCrushText(map)
      expect(printCrushText(parseCrushText(printed)), `seed ${seed * 1000 + s}`).toBe(printed)
      const bin = encodeCrushMap(map)
      expect(Buffer.from(encodeCrushMap(decodeCrushMap(bin))).equals(Buffer.from(bin)), `seed ${seed * 1000 + s}`).toBe(true)
    }
  })

  it('converts weights like strtof * 0x10000 and prints them like %.3f', () => {
    expect(parseWeight('0.1')).toBe(0x1999)
    expect(parseWeight('0.3')).toBe(0x4ccc)
    expect(parseWeight('1e-5')).toBe(0)
    expect(parseWeight('7.277')).toBe(Math.trunc(Math.fround(7.277) * 65536))
    expect(formatWeight(0x10000)).toBe('1.000')
    expect(formatWeight(0x1000)).toBe('0.062') // 0.0625: ties round to even, as glibc does
    expect(formatWeight(0x1999)).toBe('0.100')
  })

  it('reports errors with file and line, never crashing', () => {
    const bad = [
      'device 0 osd.0\ntype 0 osd\ntype 1 host\nhost h { id -1 alg straw2 item osd.9 }\n',
      'tunable nonsense 1\n',
      'type 0 osd\nrule r { id 0 type replicated step take default step emit }\n',
      'device 0 osd.0\ntype 0 osd\ntype 1 root\nroot r { id -1 alg bogus item osd.0 }\n',
      'device 0 osd.0\ntype 0 osd\ntype 1 root\nroot r { id -1 alg straw2 item osd.0 weight 101 }\n',
      'device 0 osd.0\ntype 0 osd\ntype 1 root\nroot r { id -1 alg straw2 item osd.0\n',
      '{{{',
      // a uniform bucket stops Ceph's shadow trees: class rules then have no class information
      'device 0 osd.0 class ssd\ndevice 1 osd.1 class hdd\ntype 0 osd\ntype 1 host\ntype 2 root\nhost b { id -2 alg uniform item osd.0 weight 1.0 item osd.1 weight 1.0 }\nroot default { id -1 alg straw2 item b }\nrule r { id 0 type replicated min_size 1 max_size 10 step take default class ssd step chooseleaf firstn 0 type host step emit }\n',
    ]
    for (const text of bad) {
      let err: unknown
      try {
        parseCrushText(text, 'bad.txt')
      } catch (e) {
        err = e
      }
      expect(isDerError(err, 'DER_INVAL'), text).toBe(true)
      expect(String((err as Error).message)).toMatch(/^bad\.txt:\d+ error: /)
    }
  })
})

describe('text codec fuzzing', () => {
  it('turns random token soup into a map or a DER_INVAL, never anything else', () => {
    const words = ['device', 'type', 'tunable', 'rule', 'step', 'take', 'emit', 'choose', 'chooseleaf', 'firstn', 'indep', 'id', 'alg', 'item', 'weight', 'pos', 'class', 'straw2', 'uniform', 'tree', 'host', 'root', 'osd', 'osd.0', '{', '}', '[', ']', '0', '1', '-1', '-2', '3', '99999999999', '0.5', 'min_size', 'max_size', 'replicated', 'erasure', 'choose_args', 'bucket_id', 'weight_set', 'ids', '#', '\n']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { maxLength: 60 }), (tokens) => {
        const text = `device 0 osd.0\ntype 0 osd\ntype 1 host\ntype 2 root\n${tokens.join(' ')}\n`
        try {
          const map = parseCrushText(text)
          printCrushText(map)
          encodeCrushMap(map)
        } catch (e) {
          expect(isDerError(e), String(e)).toBe(true)
        }
      }),
      { seed, numRuns: 1000 },
    )
  })
})

describe('binary codec', () => {
  const bin = new Uint8Array(readFileSync(join(golden, 'example.bin')))

  it('rejects garbage and every truncation with typed errors only', () => {
    for (let len = 0; len < bin.length; len += 7) {
      try {
        decodeCrushMap(bin.subarray(0, len))
      } catch (e) {
        expect(isDerError(e), `length ${len}`).toBe(true)
      }
    }
  })

  it('survives fuzzing: random bytes and random mutations give a map or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeCrushMap(bytes)
        } catch (e) {
          expect(isDerError(e)).toBe(true)
        }
      }),
      { seed, numRuns: 500 },
    )
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bin.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const copy = Uint8Array.from(bin)
        for (const [at, v] of edits) copy[at] = v
        try {
          const map = decodeCrushMap(copy)
          printCrushText(map)
          encodeCrushMap(map)
        } catch (e) {
          expect(isDerError(e), String(e)).toBe(true)
        }
      }),
      { seed, numRuns: 500 },
    )
  })
})
