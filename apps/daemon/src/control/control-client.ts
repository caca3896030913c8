/**
 * The `dmg` side of the control API: a typed unary client over `@grpc/grpc-js`.
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js'
import { type Clock, DerError } from '@x/common'
import { type ControlMethodName, type ControlMethods, controlServiceDefinition, controlServiceName, grpcErrorToDer } from './control-api.ts'

/** Options of {@link ControlClient}. */
export interface ControlClientOptions {
  /** `host:port` of the control server. */
  readonly target: string
  /** Channel credentials (default insecure). */
  readonly credentials?: grpc.ChannelCredentials
  /** Deadline of each call (default 10 s). */
  readonly timeoutMs?: number
  /** Wall clock for call deadlines (gRPC deadlines are absolute): the runtime's clock. */
  readonly clock: Pick<Clock, 'realtimeMs'>
}

type GenericClient = grpc.Client & Record<string, (request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: unknown) => void) => grpc.ClientUnaryCall>

const ClientConstructor = grpc.makeGenericClientConstructor(controlServiceDefinition, controlServiceName) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => GenericClient

/** PEM bytes of a TLS client: the CA that signed the server, and the client's own certificate and key. */
export interface ControlTlsFiles {
  readonly caCert: Buffer
  readonly cert: Buffer
  readonly key: Buffer
}

/** Mutual-TLS channel credentials for {@link ControlClientOptions.credentials}. */
export function controlClientTlsCredentials(files: ControlTlsFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(files.caCert, files.key, files.cert)
}

/** A typed client of the control server; every failure rejects with a `DerError`. */
export class ControlClient {
  private readonly client: GenericClient
  private readonly timeoutMs: number

  constructor(private readonly options: ControlClientOptions) {
    // Control traffic never goes through HTTP proxies from the environment (dmg's default; DAOS has --allow-proxy).
    this.client = new ClientConstructor(options.target, options.credentials ?? grpc.credentials.createInsecure(), { 'grpc.enable_http_proxy': 0 })
    this.timeoutMs = options.timeoutMs ?? 10_000
  }

  /** The server's `host:port`. */
  get target(): string {
    return this.options.target
  }

  /**
   * Calls `method`; resolves with its response or rejects with a `DerError` (`DER_UNREACH` when no
   * connection could be made before the deadline).
   */
  call<M extends ControlMethodName>(method: M, request: ControlMethods[M]['request']): Promise<ControlMethods[M]['response']> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method]
      if (fn === undefined) {
        reject(new Error(`no control method ${method}`))
        return
      }
      fn.call(this.client, request, { deadline: this.options.clock.realtimeMs() + this.timeoutMs }, (error, response) => {
        if (error === null) {
          resolve(response as ControlMethods[M]['response'])
          return
        }
        const connected = this.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY
        if (error.code === grpc.status.DEADLINE_EXCEEDED && !connected) {
          reject(new DerError('DER_UNREACH', `cannot reach the control server at ${this.options.target}: no connection within ${this.timeoutMs} ms (is the daemon running? check -l / the config's access_points)`))
        } else {
          reject(grpcErrorToDer(error, this.options.target))
        }
      })
    })
  }

  /** Closes the channel. */
  close(): void {
    this.client.close()
  }
}
