/**
 * A CaRT instance (`crt_init_opt`): the protocol registry, handlers, the primary group, the
 * metrics and log facades, and the contexts.
 *
 * @module
 */
import { DerError, LogRoot, type Logger, type LogMask, type MetricsRegistry, type Runtime, nullLogSink, nullMetrics } from '@x/common'
import type { Fabric } from '@x/rdma-transport'
import { Context, type ContextHost, type ContextOptions, type RpcHandler } from './context.ts'
import { Group } from './group.ts'
import { internalProtocol, protoQueryRpc } from './internal.ts'
import { CartMetrics } from './metrics.ts'
import { type Protocol, ProtocolRegistry, type RpcFormat } from './protocol.ts'

/** CaRT's default RPC timeout (`CRT_TIMEOUT`): 60 s. */
export const defaultRpcTimeoutMs = 60_000

/** Options of {@link Cart}. */
export interface CartOptions {
  readonly fabric: Fabric
  readonly runtime: Runtime
  /** This process's rank in the primary group (servers); undefined for clients. */
  readonly rank?: number
  /** Default RPC timeout (default 60 s). */
  readonly defaultTimeoutMs?: number
  /** Metrics facade (default: none). */
  readonly metrics?: MetricsRegistry
  /** Logging root (default: discards); its mask can change at run time. */
  readonly log?: LogRoot
  /** Name of the primary group (default `daos_server`). */
  readonly primaryGroupName?: string
  /** Largest message each context accepts unless its own options say otherwise (default 4 MiB). */
  readonly maxUnexpectedBytes?: number
}

/** Options of {@link Cart.createContext}. */
export interface CreateContextOptions extends ContextOptions {
  /** Address to listen on (`tcp://127.0.0.1:0`, `memory://rank-3`); omit for a client-only context. */
  readonly listen?: string
  /** Largest message accepted (default 4 MiB). */
  readonly maxUnexpectedBytes?: number
  /** Completion-queue capacity (default 65536). */
  readonly completionCapacity?: number
}

/** Largest number of contexts per instance (`CRT_CTX_NUM`). */
export const maxContexts = 128

/** One CaRT instance. */
export class Cart implements ContextHost {
  readonly runtime: Runtime
  readonly fabric: Fabric
  readonly registry = new ProtocolRegistry()
  readonly metrics: CartMetrics
  readonly logger: Logger
  readonly log: LogRoot
  readonly primaryGroup: Group
  readonly defaultTimeoutMs: number
  /** This instance's rank, if it has one. */
  rank: number | undefined
  /** The default `maxUnexpectedBytes` of new contexts. */
  readonly maxUnexpectedBytes: number
  private readonly handlers = new Map<number, RpcHandler<unknown, unknown>>()
  private readonly groups = new Map<string, Group>()
  private readonly contextList: Context[] = []

  constructor(options: CartOptions) {
    this.runtime = options.runtime
    this.fabric = options.fabric
    this.rank = options.rank
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? defaultRpcTimeoutMs
    this.maxUnexpectedBytes = options.maxUnexpectedBytes ?? 4 << 20
    this.metrics = new CartMetrics(options.metrics ?? nullMetrics)
    this.log = options.log ?? new LogRoot(nullLogSink, options.runtime.clock, 'error')
    this.logger = this.log.logger('cart', options.rank === undefined ? {} : { rank: options.rank })
    this.primaryGroup = new Group(options.primaryGroupName ?? 'daos_server')
    this.groups.set(this.primaryGroup.name, this.primaryGroup)
    this.registry.register(internalProtocol)
    this.handle(protoQueryRpc, (rpc) => ({ versions: this.registry.versionsOf(rpc.input.baseOpcode) }))
  }

  /** Registers a protocol (`crt_proto_register`); a second registration of a base and version throws `DER_EXIST`. */
  registerProtocol(protocol: Protocol): void {
    this.registry.register(protocol)
  }

  /** Sets the handler of a registered RPC (replacing any previous one). */
  handle<I, O>(format: RpcFormat<I, O>, handler: RpcHandler<I, O>): void {
    if (!this.registry.has(format.opcode)) throw new DerError('DER_UNREG', `RPC ${format.name} belongs to no registered protocol`)
    this.handlers.set(format.opcode, handler as unknown as RpcHandler<unknown, unknown>)
  }

  /** @internal */
  handlerOf(opcode: number): RpcHandler<unknown, unknown> | undefined {
    return this.handlers.get(opcode)
  }

  /** Adds a secondary group that collective RPCs can name. */
  addGroup(group: Group): void {
    if (this.groups.has(group.name)) throw new DerError('DER_EXIST', `group ${group.name} exists`)
    this.groups.set(group.name, group)
  }

  /** A group by name. */
  groupByName(name: string): Group | undefined {
    return this.groups.get(name)
  }

  /** Changes the log mask at run time (`ERR,cart=DEBUG`). */
  setLogMask(mask: LogMask | string): void {
    this.log.setMask(mask)
  }

  /** The contexts, by tag. */
  get contexts(): readonly Context[] {
    return this.contextList
  }

  /** Creates a context (`crt_context_create`); its tag is its index. */
  async createContext(options: CreateContextOptions = {}): Promise<Context> {
    if (this.contextList.length >= maxContexts) throw new DerError('DER_AGAIN', `at most ${maxContexts} contexts`)
    const endpoint = await this.fabric.open({
      ...(options.listen === undefined ? {} : { listen: options.listen }),
      maxUnexpectedBytes: options.maxUnexpectedBytes ?? this.maxUnexpectedBytes,
      completionCapacity: options.completionCapacity ?? 65536,
    })
    const context = new Context(this, this.contextList.length, endpoint, options)
    this.contextList.push(context)
    return context
  }

  /** Closes every context. */
  async close(): Promise<void> {
    for (const c of this.contextList) await c.close()
  }
}
