#!/usr/bin/env node
// Writes a package's README "About" section from the @packageDocumentation comment of its
// src/index.ts, between the ABOUT:START and ABOUT:END markers. `--check` fails instead of writing
// when the README is stale (CI runs it that way).
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const args = process.argv.slice(2)
const check = args.includes('--check')
const dirs = args.filter((a) => a !== '--check')

function packageDocumentation(source) {
  for (const match of source.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = match[1]
    if (!body.includes('@packageDocumentation')) continue
    return body
      .split('\n')
      .map((line) => line.replace(/^\s*\* ?/, ''))
      .join('\n')
      .replace(/@packageDocumentation/, '')
      .replace(/^@example\s*$/m, '## Example')
      .replace(/\{@link ([^}|\s]+)(?:[ |]([^}]+))?\}/g, (_, target, text) => `\`${text ?? target}\``)
      .trim()
  }
  return undefined
}

let stale = 0
for (const dir of dirs.length > 0 ? dirs : ['.']) {
  const root = resolve(dir)
  const about = packageDocumentation(readFileSync(join(root, 'src', 'index.ts'), 'utf8'))
  if (about === undefined) {
    console.error(`${root}: src/index.ts has no @packageDocumentation comment`)
    process.exit(1)
  }
  const readmePath = join(root, 'README.md')
  const readme = readFileSync(readmePath, 'utf8')
  const pattern = /(<!-- ABOUT:START[^>]*-->\n)[\s\S]*?(<!-- ABOUT:END -->)/
  if (!pattern.test(readme)) {
    console.error(`${readmePath}: missing the <!-- ABOUT:START ... --> / <!-- ABOUT:END --> markers`)
    process.exit(1)
  }
  const updated = readme.replace(pattern, (_, start, end) => `${start}${about}\n${end}`)
  if (updated === readme) continue
  if (check) {
    console.error(`${readmePath}: About section is stale; run pnpm docs`)
    stale++
  } else {
    writeFileSync(readmePath, updated)
  }
}
process.exit(stale > 0 ? 1 : 0)
