import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeCrushMap, encodeCrushMap, parseCrushText, printCrushText, runCrushTest } from '../src/index.ts'
import { randomMapText } from './support/random-map.ts'
import { testOptionsFromArgs } from './support/test-args.ts'

const crushtool = process.env.CRUSHTOOL ?? 'crushtool'
const available = spawnSync(crushtool, ['--help'], { stdio: 'ignore' }).error === undefined
const seed = Number(process.env.X_SEED ?? Math.floor(Number(process.hrtime.bigint() % 1000000n)))
const profiles = ['legacy', 'bobtail', 'firefly', 'hammer', 'jewel', 'odd']

describe.skipIf(!available)('differential against the real crushtool (fresh random maps)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crush-diff-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  for (let k = 0; k < 4; k++) {
    const s = seed + k
    it(`map seed ${s}: same bytes, same text, same --test output`, () => {
      const classes = k % 2 === 1
      const options = { tunables: profiles[s % profiles.length], classes, chooseArgs: k === 2, algs: classes ? ['list', 'straw', 'straw2'] : undefined }
      const text = randomMapText(s, options)
      const txt = join(dir, `m${s}.txt`)
      const bin = join(dir, `m${s}.bin`)
      writeFileSync(txt, text)
      const compiled = spawnSync(crushtool, ['-c', txt, '-o', bin])
      if (compiled.status !== 0) {
        // crushtool refuses (e.g. a class rule without devices of that class): so must we
        expect(() => parseCrushText(text), `seed ${s}`).toThrow()
        return
      }
      const bytes = new Uint8Array(readFileSync(bin))
      expect(Buffer.from(encodeCrushMap(parseCrushText(text))).equals(Buffer.from(bytes)), `seed ${s} compile`).toBe(true)
      const map = decodeCrushMap(bytes)
      expect(printCrushText(map), `seed ${s} decompile`).toBe(execFileSync(crushtool, ['-d', bin]).toString())
      const args = ['--min-x', '0', '--max-x', '49', '--show-mappings', '--show-statistics', '--show-bad-mappings', '--show-utilization', '--weight', '1', '0.5', '--weight', '4', '0']
      const expected = execFileSync('timeout', ['60', crushtool, '-i', bin, '--test', ...args], { maxBuffer: 1 << 26 }).toString()
      const lines: string[] = []
      runCrushTest(map, testOptionsFromArgs(args), { out: (l) => lines.push(l), err: () => undefined })
      const actual = `${lines.join('\n')}\n`
      if (actual !== expected) {
        const a = actual.split('\n')
        const e = expected.split('\n')
        const at = a.findIndex((l, i) => l !== e[i])
        expect(`seed ${s} line ${at + 1}: ${a[at] ?? ''}`).toBe(`seed ${s} line ${at + 1}: ${e[at] ?? ''}`)
      }
    })
  }
})

if (!available) {
  describe('differential against the real crushtool', () => {
    it.skip(`skipped: ${crushtool} is not installed (apt-get install ceph-base, or set CRUSHTOOL)`, () => undefined)
  })
}
