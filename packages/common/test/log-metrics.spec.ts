import { describe, expect, it } from 'vitest'
import { LogRoot, MemoryLogSink, MemoryMetrics, VirtualRuntime, exponentialBuckets, isDerError, parseLogMask } from '../src/index.ts'

describe('log masks and loggers', () => {
  it("parses DAOS's D_LOG_MASK form", () => {
    const mask = parseLogMask('ERR,mgmt=DEBUG, raft=info')
    expect(mask.defaultLevel).toBe('error')
    expect(Object.fromEntries(mask.subsystems)).toEqual({ mgmt: 'debug', raft: 'info' })
  })

  it('refuses unknown levels and bad subsystem names with DER_INVAL', () => {
    for (const bad of ['LOUD', 'mgmt=NOPE', '9x=INFO']) {
      let error: unknown
      try {
        parseLogMask(bad)
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
    }
  })

  it('writes structured records per subsystem level, and the mask changes at run time', () => {
    const sink = new MemoryLogSink()
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 5000 })
    const root = new LogRoot(sink, runtime.clock, 'WARN,vos=DEBUG')
    const vos = root.logger('vos').child({ target: 3 })
    const raft = root.logger('raft')
    vos.debug('aggregated', { epochs: 4 })
    raft.info('elected')
    raft.error('lost quorum')
    root.setMask('INFO')
    raft.info('elected again')
    expect(sink.records).toEqual([
      { level: 'debug', subsystem: 'vos', message: 'aggregated', fields: { target: 3, epochs: 4 }, timeMs: 5000 },
      { level: 'error', subsystem: 'raft', message: 'lost quorum', fields: {}, timeMs: 5000 },
      { level: 'info', subsystem: 'raft', message: 'elected again', fields: {}, timeMs: 5000 },
    ])
  })
})

describe('metrics facade', () => {
  it('counts, gauges and observes with labels', () => {
    const metrics = new MemoryMetrics()
    const sent = metrics.counter({ name: 'rpc_sent_total', help: 'RPCs sent', labelNames: ['opcode'] })
    sent.inc(1, { opcode: 'ping' })
    sent.inc(2, { opcode: 'ping' })
    const inflight = metrics.gauge({ name: 'rpc_inflight', help: 'RPCs in flight' })
    inflight.inc()
    inflight.inc()
    inflight.dec()
    const latency = metrics.histogram({ name: 'rpc_latency_ms', help: 'latency', buckets: exponentialBuckets(1, 2, 4) })
    for (const v of [0.5, 3, 3, 100]) latency.observe(v)
    expect(metrics.value('rpc_sent_total', { opcode: 'ping' })).toBe(3)
    expect(metrics.value('rpc_inflight')).toBe(1)
    expect(metrics.histogramSnapshot('rpc_latency_ms')).toEqual({ count: 4, sum: 106.5, buckets: [1, 1, 3, 3, 4] })
  })

  it('refuses bad names and counters going down', () => {
    const metrics = new MemoryMetrics()
    expect(() => metrics.counter({ name: 'Bad-Name', help: '' })).toThrow(/bad metric name/)
    expect(() => metrics.counter({ name: 'ok_total', help: '' }).inc(-1)).toThrow(/cannot decrease/)
  })
})
