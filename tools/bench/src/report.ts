/**
 * Collects a package's records, prints them as a table and writes
 * `bench-results/<package>.json` at the repository root.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BenchMeasurement, type BenchRecord, toRecord } from './record.ts'

/** The repository root (this file is tools/bench/src/report.ts). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (Math.abs(value) >= 100) return value.toFixed(0)
  if (Math.abs(value) >= 1) return value.toFixed(2)
  return value.toPrecision(3)
}

/** Renders records as an aligned text table. */
export function formatTable(records: readonly BenchRecord[]): string {
  const header = ['benchmark', 'value', 'unit', 'reference', 'ref value', 'ratio']
  const rows = records.map((r) => [r.name, format(r.value), r.unit, r.reference, format(r.referenceValue), `${r.ratio.toFixed(2)}${r.higherIsBetter ? '' : ' (lower is better)'}`])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** A package's benchmark report. */
export class BenchReport {
  readonly records: BenchRecord[] = []

  /** @param packageName the package directory name: results go to `bench-results/<packageName>.json`. */
  constructor(readonly packageName: string) {}

  /** Adds one measurement (with its reference) and prints it. */
  add(measurement: BenchMeasurement): BenchRecord {
    const record = toRecord(this.packageName, measurement)
    this.records.push(record)
    console.log(`  ${record.name}: ${format(record.value)} ${record.unit} vs ${record.reference} ${format(record.referenceValue)} -> ratio ${record.ratio.toFixed(2)}`)
    return record
  }

  /** Writes the results file and prints the table; returns the file's path. */
  write(): string {
    const path = join(repoRoot, 'bench-results', `${this.packageName}.json`)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, `${JSON.stringify(this.records, null, 2)}\n`)
    console.log(`\n${formatTable(this.records)}\n\nwrote ${path}`)
    return path
  }
}
