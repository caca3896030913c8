#!/usr/bin/env node
// Creates a package skeleton with the repository's conventions (docs/contributing.md):
//   node tools/scripts/new-package.mjs <packages|apps>/<dir> "<description>" [--deps @x/a,@x/b] [--dev-deps name@version,...]
// It writes package.json, tsconfig.json, tsconfig.build.json, typedoc.json, vitest.config.ts and
// README.md; the author writes src/index.ts (with its @packageDocumentation comment).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './bootstrap.mjs'

const [where, description, ...rest] = process.argv.slice(2)
if (!where || !description || !/^(packages|apps)\/[a-z][a-z0-9-]*$/.test(where)) {
  console.error('usage: new-package.mjs <packages|apps>/<dir> "<description>" [--deps @x/a,@x/b] [--dev-deps name@version,...]')
  process.exit(2)
}
const option = (name) => {
  const i = rest.indexOf(name)
  return i >= 0 && rest[i + 1] ? rest[i + 1].split(',').filter(Boolean) : []
}
const dir = join(repoRoot, where)
if (existsSync(join(dir, 'package.json'))) {
  console.error(`${where} already exists`)
  process.exit(2)
}
const name = `@x/${where.split('/')[1]}`
const dependencies = Object.fromEntries(['@x/common', ...option('--deps')].map((d) => [d, 'workspace:^']))
const devDependencies = {
  '@x/bench': 'workspace:*',
  '@x/vitest-config': 'workspace:*',
  'fast-check': '4.10.2',
  tsx: '4.23.15',
  typedoc: '0.28.20',
  typescript: '5.9.3',
  vitest: '4.1.12',
}
for (const spec of option('--dev-deps')) {
  const at = spec.lastIndexOf('@')
  devDependencies[spec.slice(0, at)] = spec.slice(at + 1)
}
const manifest = {
  name,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  sideEffects: false,
  exports: {
    '.': { types: { '@x/source': './src/index.ts', default: './dist/index.d.ts' }, '@x/source': './src/index.ts', import: './dist/index.js' },
    './package.json': './package.json',
  },
  files: ['src', 'dist', '!dist/**/*.tsbuildinfo'],
  publishConfig: { access: 'public', provenance: true },
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    test: 'vitest run',
    lint: 'eslint .',
    typecheck: 'tsc --noEmit -p tsconfig.json',
    bench: 'tsx --conditions=@x/source bench/index.ts',
    docs: 'typedoc && node ../../tools/scripts/readme-about.mjs .',
  },
  dependencies,
  devDependencies: Object.fromEntries(Object.entries(devDependencies).sort(([a], [b]) => a.localeCompare(b))),
}
mkdirSync(join(dir, 'src'), { recursive: true })
mkdirSync(join(dir, 'test'), { recursive: true })
const write = (file, text) => writeFileSync(join(dir, file), text)
write('package.json', `${JSON.stringify(manifest, null, 2)}\n`)
write('tsconfig.json', `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['src', 'test', 'bench', 'vitest.config.ts'] }, null, 2)}\n`)
write('tsconfig.build.json', `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist', noEmit: false }, include: ['src'] }, null, 2)}\n`)
write('typedoc.json', `${JSON.stringify({ $schema: 'https://typedoc.org/schema.json', extends: ['../../typedoc.base.json'], entryPoints: ['src/index.ts'], out: 'docs/api' }, null, 2)}\n`)
write('vitest.config.ts', "export { default } from '@x/vitest-config'\n")
write(
  'README.md',
  `# ${name}\n\n> ${description}\n\n# About\n\n<!-- ABOUT:START (generated from the @packageDocumentation comment of src/index.ts by \`pnpm docs\`; do not edit) -->\n<!-- ABOUT:END -->\n\n# Install\n\n\`\`\`sh\npnpm add ${name}\n\`\`\`\n\n# API Docs\n\n\`pnpm --filter ${name} docs\` writes the API reference to \`${where}/docs/api\`.\n\n# License\n\nApache-2.0\n`,
)
console.log(`created ${where} (${name}); write src/index.ts, then run pnpm install`)
