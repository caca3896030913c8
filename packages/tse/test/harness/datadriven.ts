// A small data-driven test format: each case is a command line, a `----` separator, and the
// expected output up to the next blank line. Other lines (blank, `# comments`) are kept as is.
import { readFileSync, writeFileSync } from 'node:fs'

export interface Case {
  readonly command: string
  readonly expected: string
  /** 1-based line of the command in the file. */
  readonly line: number
}

export interface Script {
  readonly path: string
  /** The non-case lines before each case. */
  readonly preambles: readonly (readonly string[])[]
  readonly cases: readonly Case[]
  readonly trailer: readonly string[]
}

export function parseScript(path: string): Script {
  const lines = readFileSync(path, 'utf8').split('\n')
  const cases: Case[] = []
  const preambles: string[][] = []
  let preamble: string[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i] as string
    if (line.trim() === '' || line.startsWith('#')) {
      preamble.push(line)
      i++
      continue
    }
    const start = i + 1
    i++
    if (lines[i] !== '----') throw new Error(`${path}:${start}: expected '----' after the command`)
    i++
    const expected: string[] = []
    while (i < lines.length && (lines[i] as string) !== '') expected.push(lines[i++] as string)
    preambles.push(preamble)
    preamble = []
    cases.push({ command: line, expected: expected.join('\n'), line: start })
  }
  return { path, preambles, cases, trailer: preamble }
}

/** The script's text with each case's output replaced by `outputs[i]`. */
export function renderScript(script: Script, outputs: readonly string[]): string {
  const lines: string[] = []
  script.cases.forEach((c, index) => {
    lines.push(...(script.preambles[index] as string[]), c.command, '----')
    const output = outputs[index] as string
    if (output !== '') lines.push(...output.split('\n'))
  })
  lines.push(...script.trailer)
  return lines.join('\n')
}

export function rewriteScript(script: Script, outputs: readonly string[]): void {
  writeFileSync(script.path, renderScript(script, outputs))
}
