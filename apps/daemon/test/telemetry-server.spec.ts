import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { PromMetricsRegistry, startTelemetryServer } from '../src/index.ts'

const fetchTimeoutMs = 5000

describe('startTelemetryServer', () => {
  it('serves /metrics in the Prometheus text format on 127.0.0.1, and 404 elsewhere', async () => {
    const metrics = new PromMetricsRegistry()
    metrics.counter({ name: 'rpcs_total', help: 'RPCs served' }).inc(42)
    const server = await startTelemetryServer({ source: metrics, port: 0 })
    try {
      expect(server.host).toBe('127.0.0.1')
      expect(server.port).toBeGreaterThan(0)
      const base = `http://127.0.0.1:${server.port}`
      const ok = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(fetchTimeoutMs) })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const text = await ok.text()
      expect(text).toContain('# TYPE rpcs_total counter')
      expect(text).toContain('rpcs_total 42')

      metrics.counter({ name: 'rpcs_total', help: 'RPCs served' }).inc()
      expect(await (await fetch(`${base}/metrics?x=1`, { signal: AbortSignal.timeout(fetchTimeoutMs) })).text()).toContain('rpcs_total 43')

      const missing = await fetch(`${base}/`, { signal: AbortSignal.timeout(fetchTimeoutMs) })
      expect(missing.status).toBe(404)
      await missing.text()
      const post = await fetch(`${base}/metrics`, { method: 'POST', signal: AbortSignal.timeout(fetchTimeoutMs) })
      expect(post.status).toBe(405)
      await post.text()
    } finally {
      await server.close()
    }
    await expect(fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(fetchTimeoutMs) })).rejects.toThrow()
  })

  it('answers 500 when collection fails', async () => {
    const server = await startTelemetryServer({ source: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) }, port: 0 })
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(fetchTimeoutMs) })
      expect(response.status).toBe(500)
      expect(await response.text()).toContain('boom')
    } finally {
      await server.close()
    }
  })

  it('refuses a taken port with DER_BUSY and a bad one with DER_INVAL', async () => {
    const source = new PromMetricsRegistry()
    const first = await startTelemetryServer({ source, port: 0 })
    try {
      await expect(startTelemetryServer({ source, port: first.port })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_BUSY'))
      await expect(startTelemetryServer({ source, port: 70000 })).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_INVAL'))
    } finally {
      await first.close()
    }
  })
})
