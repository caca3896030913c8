/**
 * One benchmark result, always measured against a reference in the same run.
 */
export interface BenchRecord {
  /** Package directory name (`common`, `crush`, ...). */
  readonly package: string
  /** What was measured (`crc32c 4KiB`). */
  readonly name: string
  /** Unit of `value` and `referenceValue` (`MB/s`, `ops/s`, `ms`). */
  readonly unit: string
  /** Our figure. */
  readonly value: number
  /** What we were compared with (`fast-crc32c (js)`, `crushtool`, `fio`). */
  readonly reference: string
  /** The reference's figure, measured in the same run. */
  readonly referenceValue: number
  /** `value / referenceValue`. */
  readonly ratio: number
  /** Whether a larger value is better (throughput) or worse (latency). */
  readonly higherIsBetter: boolean
}

/** A record before its ratio is computed. */
export type BenchMeasurement = Omit<BenchRecord, 'package' | 'ratio'>

/** Builds a record, computing the ratio. */
export function toRecord(packageName: string, measurement: BenchMeasurement): BenchRecord {
  if (!(measurement.referenceValue > 0)) throw new RangeError(`${measurement.name}: reference value must be > 0, got ${measurement.referenceValue}`)
  return { package: packageName, ...measurement, ratio: measurement.value / measurement.referenceValue }
}
