import { AssertionError, exponentialBuckets } from '@x/common'
import { describe, expect, it } from 'vitest'
import * as prom from 'prom-client'
import { PromMetricsRegistry } from '../../src/index.ts'

describe('PromMetricsRegistry', () => {
  it('records counters, gauges and histograms with labels in the Prometheus text format', async () => {
    const metrics = new PromMetricsRegistry({ prefix: 'engine_', defaultLabels: { rank: '0' } })
    const updates = metrics.counter({ name: 'obj_updates_total', help: 'Object updates', labelNames: ['target'] })
    updates.inc(1, { target: '0' })
    updates.inc(2, { target: '0' })
    updates.inc(undefined, { target: '1' })
    const open = metrics.gauge({ name: 'pool_handles', help: 'Open pool handles' })
    open.set(5)
    open.inc()
    open.dec(3)
    const latency = metrics.histogram({ name: 'rpc_latency_ms', help: 'RPC latency', buckets: exponentialBuckets(1, 10, 3) })
    latency.observe(0.5)
    latency.observe(50)
    latency.observe(5000)

    const text = await metrics.metrics()
    expect(text).toContain('# HELP engine_obj_updates_total Object updates')
    expect(text).toContain('# TYPE engine_obj_updates_total counter')
    expect(text).toContain('engine_obj_updates_total{target="0",rank="0"} 3')
    expect(text).toContain('engine_obj_updates_total{target="1",rank="0"} 1')
    expect(text).toContain('engine_pool_handles{rank="0"} 3')
    expect(text).toContain('engine_rpc_latency_ms_bucket{le="1",rank="0"} 1')
    expect(text).toContain('engine_rpc_latency_ms_bucket{le="10",rank="0"} 1')
    expect(text).toContain('engine_rpc_latency_ms_bucket{le="100",rank="0"} 2')
    expect(text).toContain('engine_rpc_latency_ms_bucket{le="+Inf",rank="0"} 3')
    expect(text).toContain('engine_rpc_latency_ms_sum{rank="0"} 5050.5')
    expect(text).toContain('engine_rpc_latency_ms_count{rank="0"} 3')
    expect(metrics.contentType).toMatch(/^text\/plain/)
  })

  it('returns the same metric for a repeated declaration, and keeps away from the global registry', async () => {
    const metrics = new PromMetricsRegistry()
    const a = metrics.counter({ name: 'x_total', help: 'x' })
    const b = metrics.counter({ name: 'x_total', help: 'x' })
    expect(b).toBe(a)
    a.inc()
    b.inc()
    expect(await metrics.metrics()).toContain('x_total 2')
    expect(prom.register.getSingleMetric('x_total')).toBeUndefined()
    // A second registry declares the same name without a clash.
    const other = new PromMetricsRegistry()
    other.counter({ name: 'x_total', help: 'x' }).inc(7)
    expect(await other.metrics()).toContain('x_total 7')
    expect(await metrics.metrics()).toContain('x_total 2')
  })

  it('treats a name declared with another kind, a bad name or unsorted buckets as a bug', () => {
    const metrics = new PromMetricsRegistry()
    metrics.counter({ name: 'y_total', help: 'y' })
    expect(() => metrics.gauge({ name: 'y_total', help: 'y' })).toThrow(AssertionError)
    expect(() => metrics.counter({ name: 'Bad-Name', help: 'y' })).toThrow(AssertionError)
    expect(() => metrics.histogram({ name: 'h', help: 'h', buckets: [2, 1] })).toThrow(AssertionError)
  })

  it('exports process metrics when asked', async () => {
    const metrics = new PromMetricsRegistry({ collectProcessMetrics: true, prefix: 'daemon_' })
    expect(await metrics.metrics()).toContain('daemon_process_cpu_user_seconds_total')
  })
})
