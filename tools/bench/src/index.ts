/**
 * The benchmark harness. Each package's `bench` script measures itself and a reference in the
 * same run, then writes `bench-results/<package>.json` with records
 * `{package, name, unit, value, reference, referenceValue, ratio, higherIsBetter}`.
 *
 * @packageDocumentation
 */
export { type BenchMeasurement, type BenchRecord, toRecord } from './record.ts'
export { type MeasureOptions, type Measurement, measureAsync, measureSync, percentile } from './measure.ts'
export { BenchReport, formatTable, repoRoot } from './report.ts'
export { type BenchRuntime, type RawPair, rawPair, rawRoundTrips, rawThroughput } from './raw-socket.ts'
