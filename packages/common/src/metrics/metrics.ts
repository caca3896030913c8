/**
 * The metrics facade: counters, gauges and histograms with labels. Packages record through a
 * {@link MetricsRegistry}; the daemon plugs in a Prometheus back end (prom-client), tests use
 * {@link MemoryMetrics}.
 *
 * @module
 */
import { assert } from '../assert.ts'

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>

/** A value that only goes up. */
export interface Counter {
  inc(value?: number, labels?: Labels): void
}

/** A value that goes up and down. */
export interface Gauge {
  set(value: number, labels?: Labels): void
  inc(value?: number, labels?: Labels): void
  dec(value?: number, labels?: Labels): void
}

/** A distribution of observed values over fixed buckets. */
export interface Histogram {
  observe(value: number, labels?: Labels): void
}

/** What every metric is declared with. */
export interface MetricDefinition {
  /** Prometheus-style name: `[a-z_][a-z0-9_]*`, units last (`rpc_latency_ms`). */
  readonly name: string
  readonly help: string
  readonly labelNames?: readonly string[]
}

/** A histogram's definition: upper bounds of its buckets, ascending. */
export interface HistogramDefinition extends MetricDefinition {
  readonly buckets: readonly number[]
}

/** Where metrics are declared. Declaring the same name twice returns the same metric. */
export interface MetricsRegistry {
  counter(definition: MetricDefinition): Counter
  gauge(definition: MetricDefinition): Gauge
  histogram(definition: HistogramDefinition): Histogram
}

/** `count` bucket bounds `start`, `start * factor`, ... (latency buckets in ms or µs). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  assert(start > 0 && factor > 1 && count >= 1, 'exponentialBuckets(): need start > 0, factor > 1, count >= 1')
  return Array.from({ length: count }, (_, i) => start * factor ** i)
}

function seriesKey(labels: Labels | undefined): string {
  if (labels === undefined) return ''
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',')
}

function checkDefinition(definition: MetricDefinition): void {
  assert(/^[a-z_][a-z0-9_]*$/.test(definition.name), `bad metric name '${definition.name}'`)
}

/** Snapshot of one histogram series. */
export interface HistogramSnapshot {
  readonly count: number
  readonly sum: number
  /** Cumulative counts per bucket upper bound, then `+Inf`. */
  readonly buckets: readonly number[]
}

/** An in-memory registry with snapshots, for tests and the simulator. */
export class MemoryMetrics implements MetricsRegistry {
  private readonly values = new Map<string, Map<string, number>>()
  private readonly histograms = new Map<string, { bounds: readonly number[]; series: Map<string, { count: number; sum: number; buckets: number[] }> }>()

  counter(definition: MetricDefinition): Counter {
    const series = this.series(definition)
    return {
      inc: (value = 1, labels) => {
        assert(value >= 0, `counter ${definition.name} cannot decrease`)
        const key = seriesKey(labels)
        series.set(key, (series.get(key) ?? 0) + value)
      },
    }
  }

  gauge(definition: MetricDefinition): Gauge {
    const series = this.series(definition)
    const add = (delta: number, labels?: Labels): void => {
      const key = seriesKey(labels)
      series.set(key, (series.get(key) ?? 0) + delta)
    }
    return {
      set: (value, labels) => void series.set(seriesKey(labels), value),
      inc: (value = 1, labels) => add(value, labels),
      dec: (value = 1, labels) => add(-value, labels),
    }
  }

  histogram(definition: HistogramDefinition): Histogram {
    checkDefinition(definition)
    assert(definition.buckets.every((b, i) => i === 0 || b > (definition.buckets[i - 1] as number)), `histogram ${definition.name}: buckets must ascend`)
    let entry = this.histograms.get(definition.name)
    if (entry === undefined) {
      entry = { bounds: definition.buckets, series: new Map() }
      this.histograms.set(definition.name, entry)
    }
    const { bounds, series } = entry
    return {
      observe: (value, labels) => {
        const key = seriesKey(labels)
        let s = series.get(key)
        if (s === undefined) {
          s = { count: 0, sum: 0, buckets: new Array<number>(bounds.length + 1).fill(0) }
          series.set(key, s)
        }
        s.count++
        s.sum += value
        let i = bounds.findIndex((bound) => value <= bound)
        if (i < 0) i = bounds.length
        for (let j = i; j <= bounds.length; j++) (s.buckets[j] as number)++
      },
    }
  }

  /** The value of a counter or gauge series (0 if never touched). */
  value(name: string, labels?: Labels): number {
    return this.values.get(name)?.get(seriesKey(labels)) ?? 0
  }

  /** The snapshot of a histogram series, or `undefined` if it saw no value. */
  histogramSnapshot(name: string, labels?: Labels): HistogramSnapshot | undefined {
    const s = this.histograms.get(name)?.series.get(seriesKey(labels))
    return s === undefined ? undefined : { count: s.count, sum: s.sum, buckets: [...s.buckets] }
  }

  private series(definition: MetricDefinition): Map<string, number> {
    checkDefinition(definition)
    let series = this.values.get(definition.name)
    if (series === undefined) {
      series = new Map()
      this.values.set(definition.name, series)
    }
    return series
  }
}

/** A registry that records nothing. */
export const nullMetrics: MetricsRegistry = {
  counter: () => ({ inc() {} }),
  gauge: () => ({ set() {}, inc() {}, dec() {} }),
  histogram: () => ({ observe() {} }),
}
