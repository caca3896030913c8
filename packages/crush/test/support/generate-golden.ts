/**
 * Regenerates `testdata/golden/` with Ceph's crushtool (run by hand; needs ceph-base):
 *
 *   npx tsx --conditions=@x/source test/support/generate-golden.ts
 *
 * For each golden map it writes NAME.txt (the source), NAME.bin (`crushtool -c`),
 * NAME.decompiled.txt (`crushtool -d`) and NAME.runK.out.gz (`crushtool -i NAME.bin --test ARGS`).
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { goldenEdits, goldenMaps } from './golden-cases.ts'
import { randomMapText } from './random-map.ts'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', '..', 'testdata', 'golden')
const shared = join(here, '..', '..', '..', '..', '..', 'shared')
const crushtool = process.env.CRUSHTOOL ?? 'crushtool'
mkdirSync(out, { recursive: true })
for (const g of goldenMaps) {
  const txt = join(out, `${g.name}.txt`)
  const bin = join(out, `${g.name}.bin`)
  if ('seed' in g.source) {
    writeFileSync(txt, randomMapText(g.source.seed, g.source.options))
    execFileSync(crushtool, ['-c', txt, '-o', bin])
  } else if ('file' in g.source) {
    copyFileSync(join(shared, g.source.file), txt)
    execFileSync(crushtool, ['-c', txt, '-o', bin])
  } else {
    execFileSync(crushtool, ['-o', bin, '--build', ...g.source.build], { stdio: 'ignore' })
    writeFileSync(txt, execFileSync(crushtool, ['-d', bin]))
  }
  writeFileSync(join(out, `${g.name}.decompiled.txt`), execFileSync(crushtool, ['-d', bin]))
  g.runs.forEach((run, k) => {
    const result = execFileSync('timeout', ['120', crushtool, '-i', bin, '--test', ...run.args], { maxBuffer: 1 << 28 })
    writeFileSync(join(out, `${g.name}.run${k}.out.gz`), gzipSync(result, { level: 9 }))
  })
  process.stdout.write(`${g.name}: ${g.runs.length} runs\n`)
}
for (const e of goldenEdits) {
  execFileSync(crushtool, ['-i', join(out, `${e.base}.bin`), ...e.args, '-o', join(out, `${e.name}.bin`)], { stdio: 'ignore' })
  process.stdout.write(`${e.name}\n`)
}
