// Mappings per second of a 3-replica `chooseleaf firstn` rule over straw2 maps of 100 and 1,000
// devices: our CrushMapper against Ceph's `crushtool --test` on the same map and inputs, in the
// same run. crushtool's time has its start-up and map decoding (a run over one input)
// subtracted, so both sides count mapping work only. The bench also checks that both produce
// the same mappings (the md5 of the `--show-mappings` text) before it reports a number.
import { BenchReport } from '@x/bench'
import { createRealRuntime } from '@x/common'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CrushMapper, buildMap, encodeCrushMap, testerWeights } from '../src/index.ts'

const clock = createRealRuntime().clock
const report = new BenchReport('crush')
const crushtool = process.env.CRUSHTOOL ?? 'crushtool'
const haveCrushtool = spawnSync(crushtool, ['--help'], { stdio: 'ignore' }).error === undefined
if (!haveCrushtool) console.log('crushtool not found (install ceph-base or set CRUSHTOOL): measuring ours only; without the reference no record is written')
const dir = mkdtempSync(join(tmpdir(), 'crush-bench-'))

function oursOnce(mapper: CrushMapper, weights: number[], inputs: number): number {
  const out = new Int32Array(3)
  const start = clock.monotonicMs()
  for (let x = 0; x < inputs; x++) mapper.map(0, x, 3, weights, out)
  return (inputs * 1000) / (clock.monotonicMs() - start)
}

function crushtoolMs(file: string, maxX: number): number {
  const start = clock.monotonicMs()
  const r = spawnSync('timeout', ['600', crushtool, '-i', file, '--test', '--rule', '0', '--num-rep', '3', '--min-x', '0', '--max-x', String(maxX), '--show-statistics'], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`crushtool failed with status ${String(r.status)}`)
  return clock.monotonicMs() - start
}

function referenceOnce(file: string, inputs: number): number {
  const base = Math.min(crushtoolMs(file, 0), crushtoolMs(file, 0))
  const full = crushtoolMs(file, inputs - 1)
  return (inputs * 1000) / Math.max(1e-3, full - base)
}

function sameMappings(mapper: CrushMapper, weights: number[], file: string, inputs: number): void {
  const out = new Int32Array(3)
  const lines: string[] = []
  for (let x = 0; x < inputs; x++) {
    const n = mapper.map(0, x, 3, weights, out)
    lines.push(`CRUSH rule 0 x ${x} [${Array.from(out.subarray(0, n)).join(',')}]\n`)
  }
  const mine = createHash('md5').update(lines.join('')).digest('hex')
  const r = spawnSync(crushtool, ['-i', file, '--test', '--rule', '0', '--num-rep', '3', '--min-x', '0', '--max-x', String(inputs - 1), '--show-mappings'], { maxBuffer: 1 << 28 })
  const theirs = createHash('md5').update(r.stdout).digest('hex')
  if (mine !== theirs) throw new Error(`mappings differ from crushtool's (md5 ${mine} vs ${theirs})`)
}

for (const [devices, layers] of [
  [100, [{ name: 'host', alg: 'straw2', size: 5 }, { name: 'rack', alg: 'straw2', size: 4 }, { name: 'root', alg: 'straw2', size: 0 }]],
  [1000, [{ name: 'host', alg: 'straw2', size: 10 }, { name: 'rack', alg: 'straw2', size: 10 }, { name: 'root', alg: 'straw2', size: 0 }]],
] as const) {
  const { map } = buildMap(devices, layers)
  const file = join(dir, `straw2-${devices}.bin`)
  writeFileSync(file, encodeCrushMap(map))
  const weights = testerWeights(map)
  const mapper = new CrushMapper(map)
  const inputs = devices === 100 ? 400_000 : 200_000
  oursOnce(mapper, weights, inputs / 4) // warm up
  if (!haveCrushtool) {
    console.log(`ours, ${devices} devices: ${oursOnce(mapper, weights, inputs).toFixed(0)} mappings/s`)
    continue
  }
  sameMappings(mapper, weights, file, 20_000)
  // alternate the two sides so that both see the same machine load; keep the best of each
  let value = 0
  let referenceValue = 0
  for (let round = 0; round < 4; round++) {
    value = Math.max(value, oursOnce(mapper, weights, inputs))
    referenceValue = Math.max(referenceValue, referenceOnce(file, 1_000_000))
  }
  report.add({
    name: `chooseleaf firstn 3 replicas, straw2, ${devices} devices`,
    unit: 'mappings/s',
    value,
    reference: 'crushtool --test (Ceph 16.2.15, start-up subtracted)',
    referenceValue,
    higherIsBetter: true,
  })
}
rmSync(dir, { recursive: true, force: true })
if (report.records.length > 0) report.write()
