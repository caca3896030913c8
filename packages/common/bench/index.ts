// crc32c throughput on 4 KiB and 1 MiB buffers: ours (`crc32c`, native above the threshold) and
// our portable code, each against the best alternative implementation measured in the same run.
import { BenchReport, measureSync } from '@x/bench'
import { createRequire } from 'node:module'
import { crc32c, crc32cIsNative, crc32cJs, crc32cNative } from '../src/index.ts'

const require = createRequire(import.meta.url)
const crc32Sheetjs = require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number }
const fastCrc32c = require('fast-crc32c') as { calculate(data: Uint8Array, initial?: number): number }

type Impl = (data: Uint8Array) => number
const alternatives: [string, Impl][] = [
  ['crc-32 (js)', (d) => crc32Sheetjs.buf(d) >>> 0],
  ['fast-crc32c', (d) => fastCrc32c.calculate(d)],
]

function megabytesPerSecond(impl: Impl, data: Uint8Array): number {
  const m = measureSync(() => impl(data), { minDurationMs: 700 })
  return (m.operationsPerSecond * data.length) / 1e6
}

const report = new BenchReport('common')
console.log(`crc32c: native binding ${crc32cIsNative ? 'loaded' : 'missing'}`)
for (const [label, size] of [['4KiB', 4096], ['1MiB', 1 << 20]] as const) {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 2654435761) >>> 24)
  const expected = crc32cJs(data)
  for (const [name, impl] of alternatives) {
    if (impl(data) !== expected) throw new Error(`${name} disagrees on ${label}`)
  }
  const references = alternatives.map(([name, impl]) => ({ name, value: megabytesPerSecond(impl, data) }))
  const best = references.reduce((a, b) => (b.value > a.value ? b : a))
  report.add({ name: `crc32c ${label}`, unit: 'MB/s', value: megabytesPerSecond(crc32c, data), reference: best.name, referenceValue: best.value, higherIsBetter: true })
  report.add({ name: `crc32c portable js ${label}`, unit: 'MB/s', value: megabytesPerSecond(crc32cJs, data), reference: best.name, referenceValue: best.value, higherIsBetter: true })
  if (crc32cNative !== undefined) {
    report.add({ name: `crc32c native ${label}`, unit: 'MB/s', value: megabytesPerSecond(crc32cNative, data), reference: best.name, referenceValue: best.value, higherIsBetter: true })
  }
}

// The crossover that sets crc32cNativeThresholdBytes: native against portable on small buffers.
if (crc32cNative !== undefined) {
  for (const size of [64, 128, 192, 256]) {
    const data = new Uint8Array(size).fill(7)
    report.add({ name: `crc32c native ${size}B`, unit: 'MB/s', value: megabytesPerSecond(crc32cNative, data), reference: 'crc32c portable js', referenceValue: megabytesPerSecond(crc32cJs, data), higherIsBetter: true })
  }
}
report.write()
