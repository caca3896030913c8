import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runScript } from './support/script.ts'

const dir = join(import.meta.dirname, '..', 'testdata')
const update = process.env.X_UPDATE_GOLDEN === '1'

describe('golden timelines (testdata/*.script against *.trace)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.script')).sort()) {
    it(file, () => {
      const sim = runScript(readFileSync(join(dir, file), 'utf8'))
      expect(sim.violations).toEqual([])
      const actual = sim.trace.join('\n') + '\n'
      const tracePath = join(dir, file.replace(/\.script$/, '.trace'))
      if (update) writeFileSync(tracePath, actual)
      expect(actual).toBe(readFileSync(tracePath, 'utf8'))
    })
  }
})
