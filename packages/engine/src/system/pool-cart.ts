/**
 * Several pools on one cart: an `ObjectService` (or a `RebuildService`) registers its handlers on
 * the cart it is given, one handler per opcode. A {@link PoolScopedCart} is handed to each pool's
 * services instead of the engine's cart: it shares the engine's contexts, but the handlers it
 * registers go to a {@link PoolRpcDispatcher} that serves each opcode on the real cart and routes
 * every request to the handler of the pool named by its `poolUuid` field.
 *
 * @module
 */
import { Cart, type IncomingRpc, type Context, type Protocol, type RpcFormat, type RpcHandler } from '@x/cart'
import { DerError, isDerError } from '@x/common'

/** Routes requests of per-pool services by the `poolUuid` of their input. */
export class PoolRpcDispatcher {
  private readonly byOpcode = new Map<number, Map<string, RpcHandler<unknown, unknown>>>()

  constructor(
    /** The engine's cart. */
    readonly cart: Cart,
  ) {}

  /** Registers a protocol on the engine's cart once. */
  registerProtocol(protocol: Protocol): void {
    const first = protocol.rpcs[0]
    if (first !== undefined && this.cart.registry.has(first.opcode)) return
    try {
      this.cart.registerProtocol(protocol)
    } catch (e) {
      if (!isDerError(e, 'DER_EXIST')) throw e
    }
  }

  /** Sets pool `poolUuid`'s handler of `format`. */
  handle<I, O>(poolUuid: string, format: RpcFormat<I, O>, handler: RpcHandler<I, O>): void {
    let pools = this.byOpcode.get(format.opcode)
    if (pools === undefined) {
      pools = new Map()
      this.byOpcode.set(format.opcode, pools)
      const table = pools
      this.cart.handle(format, (rpc: IncomingRpc<I, O>) => {
        const pool = (rpc.input as { poolUuid?: unknown }).poolUuid
        const h = typeof pool === 'string' ? table.get(pool.toLowerCase()) : undefined
        if (h === undefined) throw new DerError('DER_NONEXIST', `pool ${String(pool)} is not served by this engine`)
        return (h as unknown as RpcHandler<I, O>)(rpc)
      })
    }
    pools.set(poolUuid.toLowerCase(), handler as unknown as RpcHandler<unknown, unknown>)
  }

  /** Drops every handler of pool `poolUuid` (its requests then get `DER_NONEXIST`). */
  drop(poolUuid: string): void {
    for (const pools of this.byOpcode.values()) pools.delete(poolUuid.toLowerCase())
  }
}

/** A view of the engine's cart for one pool's services (see the module comment). */
export class PoolScopedCart extends Cart {
  constructor(
    private readonly dispatcher: PoolRpcDispatcher,
    /** The pool whose handlers this view registers. */
    readonly poolUuid: string,
  ) {
    const real = dispatcher.cart
    super({ fabric: real.fabric, runtime: real.runtime, ...(real.rank === undefined ? {} : { rank: real.rank }), defaultTimeoutMs: real.defaultTimeoutMs, log: real.log })
  }

  /** Registers on this view and, once, on the engine's cart. */
  override registerProtocol(protocol: Protocol): void {
    this.dispatcher.registerProtocol(protocol)
    const first = protocol.rpcs[0]
    if (first !== undefined && this.registry.has(first.opcode)) return
    super.registerProtocol(protocol)
  }

  /** Routes the handler through the dispatcher (requests naming this pool). */
  override handle<I, O>(format: RpcFormat<I, O>, handler: RpcHandler<I, O>): void {
    // The base constructor registers its own internal handler before `dispatcher` is set.
    if ((this.dispatcher as PoolRpcDispatcher | undefined) === undefined) {
      super.handle(format, handler)
      return
    }
    this.dispatcher.handle(this.poolUuid, format, handler)
  }

  /** The engine cart's contexts. */
  override get contexts(): readonly Context[] {
    if ((this.dispatcher as PoolRpcDispatcher | undefined) === undefined) return []
    return this.dispatcher.cart.contexts
  }

  /** Refused: the engine owns its contexts. */
  override createContext(): Promise<Context> {
    return Promise.reject(new DerError('DER_NOSYS', 'a pool-scoped cart shares the engine cart\'s contexts'))
  }

  /** Does nothing: the engine closes its own cart. */
  override close(): Promise<void> {
    return Promise.resolve()
  }
}
