/**
 * The daemon's control server: the control API on `@grpc/grpc-js`, insecure when the config
 * allows it, otherwise mutual TLS with the config's CA, certificate and key (clients must present
 * a certificate signed by the CA).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import { DerError, type Timers } from '@x/common'
import type { TransportConfig } from '../config/model.ts'
import { type ControlMethodName, type ControlMethods, controlMethodNames, controlServiceDefinition, derToGrpcStatus } from './control-api.ts'
import { validateControlRequest } from './requests.ts'

/** The handlers behind the control API: each validates its request and may throw `DerError`. */
export type ControlHandlers = {
  readonly [M in ControlMethodName]: (request: ControlMethods[M]['request']) => Promise<ControlMethods[M]['response']>
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  readonly handlers: ControlHandlers
  /** The config's `port`; 0 picks a free port (tests). */
  readonly port: number
  /** Default `127.0.0.1`. */
  readonly host?: string
  /** The config's transport section. */
  readonly transport: Pick<TransportConfig, 'allowInsecure' | 'caCertPath' | 'certPath' | 'keyPath'>
  /** Timers of the runtime (the close grace period). */
  readonly timers: Timers
}

/** A running control server. */
export interface ControlServer {
  /** The port it listens on. */
  readonly port: number
  /** `host:port` for clients. */
  readonly address: string
  /** Stops accepting calls, waits for running ones (forcing after `graceMs`, default 2 s). */
  close(graceMs?: number): Promise<void>
}

/** Reads a PEM file of the transport config; `DER_NONEXIST` / `DER_INVAL` naming the field. */
export function readPemFile(path: string, field: string): Buffer {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new DerError(code === 'ENOENT' ? 'DER_NONEXIST' : 'DER_INVAL', `transport_config.${field}: cannot read '${path}': ${(e as Error).message} (or set transport_config.allow_insecure: true for local, trusted use)`, { cause: e })
  }
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new DerError('DER_INVAL', `transport_config.${field}: '${path}' is not a PEM file`)
  return bytes
}

/** The server's credentials: insecure, or mutual TLS from the config's files. */
export function controlServerCredentials(transport: ControlServerOptions['transport']): grpc.ServerCredentials {
  if (transport.allowInsecure) return grpc.ServerCredentials.createInsecure()
  const ca = readPemFile(transport.caCertPath, 'ca_cert')
  const cert = readPemFile(transport.certPath, 'cert')
  const key = readPemFile(transport.keyPath, 'key')
  try {
    return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true)
  } catch (e) {
    throw new DerError('DER_INVAL', `transport_config: bad certificate or key: ${(e as Error).message}`, { cause: e })
  }
}

/**
 * Starts the control server. With `allow_insecure: false` it requires mutual TLS (unreadable
 * certificate files: `DER_NONEXIST`/`DER_INVAL`); `DER_BUSY` when the port is taken.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1'
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new DerError('DER_INVAL', `control port must be in 0..65535, got ${options.port}`)
  const credentials = controlServerCredentials(options.transport)
  const server = new grpc.Server()
  const implementation: grpc.UntypedServiceImplementation = {}
  for (const name of controlMethodNames) {
    const handler = options.handlers[name] as (request: unknown) => Promise<unknown>
    implementation[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      let pending: Promise<unknown>
      try {
        pending = handler(validateControlRequest(name, call.request))
      } catch (e) {
        pending = Promise.reject(e instanceof Error ? e : new Error(String(e)))
      }
      pending.then(
        (response) => callback(null, response),
        (e: unknown) => callback(derToGrpcStatus(e), null),
      )
    }) as grpc.handleUnaryCall<unknown, unknown>
  }
  server.addService(controlServiceDefinition, implementation)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, credentials, (error, bound) => {
      if (error !== null) {
        const taken = /EADDRINUSE|address already in use/i.test(error.message)
        reject(new DerError(taken ? 'DER_BUSY' : 'DER_IO', `control server cannot listen on ${host}:${options.port}: ${error.message}`, { cause: error }))
      } else {
        resolve(bound)
      }
    })
  })
  let closed: Promise<void> | undefined
  return {
    port,
    address: `${host}:${port}`,
    close(graceMs = 2000) {
      closed ??= new Promise<void>((resolve) => {
        let done = false
        const finish = (): void => {
          if (done) return
          done = true
          resolve()
        }
        const timer = options.timers.schedule(graceMs, () => {
          server.forceShutdown()
          finish()
        })
        server.tryShutdown(() => {
          options.timers.cancel(timer)
          finish()
        })
      })
      return closed
    },
  }
}

/**
 * Handlers that answer `DER_NOSYS` for every method except those given (test servers, partial
 * backends).
 */
export function partialControlHandlers(given: Partial<ControlHandlers>): ControlHandlers {
  const all: Record<string, (request: unknown) => Promise<unknown>> = {}
  for (const name of controlMethodNames) {
    const handler = given[name] as ((request: unknown) => Promise<unknown>) | undefined
    all[name] = handler ?? (() => Promise.reject(new DerError('DER_NOSYS', `control method ${name} is not served here`)))
  }
  return all as unknown as ControlHandlers
}
