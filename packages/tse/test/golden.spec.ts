// Golden traces: every script in testdata/ runs through the interpreter and its output must match
// the expected blocks. Set UPDATE_GOLDEN=1 to rewrite the files (then review the diff).
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScript, renderScript, rewriteScript } from './harness/datadriven.ts'
import { Interpreter } from './harness/interpreter.ts'

const testdata = join(import.meta.dirname, '..', 'testdata')
const scripts = readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()

describe('golden scheduler and event traces', () => {
  it('has scripts', () => {
    expect(scripts.length).toBeGreaterThan(0)
  })

  for (const file of scripts) {
    it(file, async () => {
      const script = parseScript(join(testdata, file))
      const interpreter = new Interpreter()
      const outputs: string[] = []
      for (const c of script.cases) {
        try {
          outputs.push(await interpreter.run(c.command))
        } catch (error) {
          throw new Error(`${file}:${c.line}: ${c.command}: ${String(error)}`, { cause: error })
        }
      }
      if (process.env.UPDATE_GOLDEN === '1') {
        rewriteScript(script, outputs)
        return
      }
      // Compare the whole file so a failure shows every differing case in context.
      const expected = renderScript(script, script.cases.map((c) => c.expected))
      expect(renderScript(script, outputs), `golden output of testdata/${file}`).toBe(expected)
    })
  }
})
