/**
 * The daemon's metrics back end: the `MetricsRegistry` facade of `@x/common` on prom-client, with
 * a registry of its own (never prom-client's global one), so several daemons or tests in one
 * process do not share series.
 *
 * @module
 */
import { type Counter, type Gauge, type Histogram, type HistogramDefinition, type Labels, type MetricDefinition, type MetricsRegistry, assert } from '@x/common'
import * as prom from 'prom-client'

type Kind = 'counter' | 'gauge' | 'histogram'

interface Entry {
  readonly kind: Kind
  readonly facade: Counter | Gauge | Histogram
}

/** Options of {@link PromMetricsRegistry}. */
export interface PromMetricsRegistryOptions {
  /** Prefixed to every metric name (`engine_`). Default none. */
  readonly prefix?: string
  /** Labels on every series (`rank`, `system`). */
  readonly defaultLabels?: Readonly<Record<string, string>>
  /** Also export prom-client's process metrics (CPU, memory, event loop lag). Default false. */
  readonly collectProcessMetrics?: boolean
}

function checkName(name: string): void {
  assert(/^[a-z_][a-z0-9_]*$/.test(name), `bad metric name '${name}'`)
}

function toPromLabels(labels: Labels | undefined): prom.LabelValues<string> {
  return labels === undefined ? {} : { ...labels }
}

/** A `MetricsRegistry` on prom-client. Declaring a name twice returns the same metric; twice with another kind is a bug. */
export class PromMetricsRegistry implements MetricsRegistry {
  /** The prom-client registry holding this daemon's metrics. */
  readonly registry = new prom.Registry()
  private readonly entries = new Map<string, Entry>()
  private readonly prefix: string

  constructor(options: PromMetricsRegistryOptions = {}) {
    this.prefix = options.prefix ?? ''
    if (this.prefix !== '') checkName(this.prefix)
    if (options.defaultLabels !== undefined) this.registry.setDefaultLabels({ ...options.defaultLabels })
    if (options.collectProcessMetrics === true) prom.collectDefaultMetrics({ register: this.registry, ...(this.prefix === '' ? {} : { prefix: this.prefix }) })
  }

  counter(definition: MetricDefinition): Counter {
    return this.declare('counter', definition, (config) => {
      const metric = new prom.Counter(config)
      return { inc: (value = 1, labels) => metric.inc(toPromLabels(labels), value) }
    }) as Counter
  }

  gauge(definition: MetricDefinition): Gauge {
    return this.declare('gauge', definition, (config) => {
      const metric = new prom.Gauge(config)
      return {
        set: (value, labels) => metric.set(toPromLabels(labels), value),
        inc: (value = 1, labels) => metric.inc(toPromLabels(labels), value),
        dec: (value = 1, labels) => metric.dec(toPromLabels(labels), value),
      }
    }) as Gauge
  }

  histogram(definition: HistogramDefinition): Histogram {
    const buckets = definition.buckets
    assert(buckets.length > 0 && buckets.every((b, i) => i === 0 || b > (buckets[i - 1] as number)), `histogram ${definition.name}: buckets must ascend`)
    return this.declare('histogram', definition, (config) => {
      const metric = new prom.Histogram({ ...config, buckets: [...buckets] })
      return { observe: (value, labels) => metric.observe(toPromLabels(labels), value) }
    }) as Histogram
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  /** The HTTP content type of {@link PromMetricsRegistry.metrics}'s text. */
  get contentType(): string {
    return this.registry.contentType
  }

  private declare(
    kind: Kind,
    definition: MetricDefinition,
    create: (config: { name: string; help: string; labelNames: string[]; registers: prom.Registry[] }) => Counter | Gauge | Histogram,
  ): Counter | Gauge | Histogram {
    checkName(definition.name)
    const name = this.prefix + definition.name
    const existing = this.entries.get(name)
    if (existing !== undefined) {
      assert(existing.kind === kind, `metric ${name} was declared as a ${existing.kind}, not a ${kind}`)
      return existing.facade
    }
    const facade = create({ name, help: definition.help, labelNames: [...(definition.labelNames ?? [])], registers: [this.registry] })
    this.entries.set(name, { kind, facade })
    return facade
  }
}
