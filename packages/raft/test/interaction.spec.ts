// Datadriven interaction tests in the style of etcd raft: each testdata/*.txt script holds
// commands, each followed by `----` and the expected trace. UPDATE_GOLDEN=1 rewrites the expected
// output (commit only diffs you understand).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InteractionEnv, parseCommand } from './support/interaction-env.ts'

const dir = join(import.meta.dirname, '..', 'testdata')
const update = process.env['UPDATE_GOLDEN'] === '1'

interface Block {
  comments: string[]
  command: string
  expected: string
}

function parse(text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  let i = 0
  let comments: string[] = []
  while (i < lines.length) {
    const line = lines[i] as string
    if (line.trim() === '' || line.startsWith('#')) {
      comments.push(line)
      i++
      continue
    }
    const command = line
    i++
    if (lines[i] !== '----') throw new Error(`expected ---- after "${command}" at line ${i + 1}`)
    i++
    const out: string[] = []
    while (i < lines.length && (lines[i] as string) !== '') out.push(lines[i++] as string)
    blocks.push({ comments, command, expected: out.join('\n') })
    comments = []
  }
  return blocks
}

function render(blocks: Block[], outputs: string[]): string {
  const parts: string[] = []
  blocks.forEach((b, idx) => {
    const c = b.comments.map((l) => `${l}\n`).join('')
    parts.push(`${c}${b.command}\n----\n${outputs[idx] === '' ? 'ok' : outputs[idx]}\n`)
  })
  return parts.join('').replace(/\n+$/, '\n')
}

describe('interaction scripts (testdata/*.txt)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(dir, file)
      const text = readFileSync(path, 'utf8')
      const blocks = parse(text)
      const env = new InteractionEnv()
      const outputs = blocks.map((b) => env.handle(parseCommand(b.command)))
      const actual = render(blocks, outputs)
      if (update) writeFileSync(path, actual)
      else expect(actual).toBe(render(blocks, blocks.map((b) => b.expected)))
    })
  }
})
