import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { decodeCrushMap, encodeCrushMap, parseCrushText, printCrushText, runCrushTest } from '../src/index.ts'
import { goldenMaps } from './support/golden-cases.ts'
import { testOptionsFromArgs } from './support/test-args.ts'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'golden')
const read = (name: string): Buffer => readFileSync(join(dir, name))

describe('golden maps from Ceph crushtool 16.2.15', () => {
  for (const g of goldenMaps) {
    describe(g.name, () => {
      const bin = new Uint8Array(read(`${g.name}.bin`))
      it('compiles the text map to the same bytes as crushtool -c', () => {
        const map = parseCrushText(read(`${g.name}.txt`).toString('utf8'), `${g.name}.txt`)
        expect(Buffer.from(encodeCrushMap(map)).equals(Buffer.from(bin))).toBe(true)
      })
      it('decompiles the binary map to the same text as crushtool -d', () => {
        expect(printCrushText(decodeCrushMap(bin))).toBe(read(`${g.name}.decompiled.txt`).toString('utf8'))
      })
      it('decodes and re-encodes the binary map byte for byte', () => {
        expect(Buffer.from(encodeCrushMap(decodeCrushMap(bin))).equals(Buffer.from(bin))).toBe(true)
      })
      it('recompiles the decompiled text to a map that decompiles the same (print(parse(text)) is stable)', () => {
        const text = read(`${g.name}.decompiled.txt`).toString('utf8')
        expect(printCrushText(parseCrushText(text))).toBe(text)
      })
      g.runs.forEach((run, k) => {
        it(`crushtool --test ${run.args.join(' ')}`, () => {
          const expected = gunzipSync(read(`${g.name}.run${k}.out.gz`)).toString('utf8')
          const lines: string[] = []
          runCrushTest(decodeCrushMap(bin), testOptionsFromArgs(run.args), { out: (l) => lines.push(l), err: () => undefined })
          const actual = lines.length === 0 ? '' : `${lines.join('\n')}\n`
          if (actual !== expected) {
            const a = actual.split('\n')
            const e = expected.split('\n')
            const at = a.findIndex((l, i) => l !== e[i])
            expect(`line ${at + 1}: ${a[at] ?? '<missing>'}`).toBe(`line ${at + 1}: ${e[at] ?? '<missing>'}`)
          }
          expect(actual.length).toBeGreaterThan(0)
        })
      })
    })
  }
})
