/**
 * The telemetry endpoint: a `node:http` server on 127.0.0.1 serving `/metrics` in the Prometheus
 * text format (DAOS's port 9191), 404 for every other path.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the server exposes: any source of Prometheus text (a `PromMetricsRegistry`). */
export interface MetricsSource {
  metrics(): Promise<string>
  readonly contentType: string
}

/** Options of {@link startTelemetryServer}. */
export interface TelemetryServerOptions {
  readonly source: MetricsSource
  /** The config's `telemetry_port`; 0 picks a free port (tests). */
  readonly port: number
  /** Default `127.0.0.1`. */
  readonly host?: string
}

/** A running telemetry server. */
export interface TelemetryServer {
  /** The port it listens on (the chosen one when started on 0). */
  readonly port: number
  /** The address it is bound to. */
  readonly host: string
  /** Stops accepting connections, closes open ones and resolves when closed. */
  close(): Promise<void>
}

/**
 * Starts the telemetry server. Throws `DER_INVAL` for a bad port and `DER_BUSY` when the port is
 * taken (other listen failures give `DER_IO`).
 */
export async function startTelemetryServer(options: TelemetryServerOptions): Promise<TelemetryServer> {
  const { source, port } = options
  const host = options.host ?? '127.0.0.1'
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DerError('DER_INVAL', `telemetry port must be in 0..65535, got ${port}`)
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; try /metrics\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      return
    }
    source.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': source.contentType })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      (e: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics collection failed: ${e instanceof Error ? e.message : String(e)}\n`)
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const name = e.code === 'EADDRINUSE' ? 'DER_BUSY' : 'DER_IO'
      reject(new DerError(name, `telemetry server cannot listen on ${host}:${port}: ${e.message}`, { cause: e }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    port: address.port,
    host,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
