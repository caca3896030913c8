/**
 * Raft over cart: {@link RaftRouter} carries the messages of named replicated groups (`ms`,
 * `pool/<uuid>`) as `rdb` RPCs, so a {@link ReplicatedService} can have its peers on other
 * engines. Messages are best effort (a lost one is what Raft tolerates): each is one RPC with a
 * short timeout whose failure is only counted.
 *
 * @module
 */
import type { Cart, Context, RpcTarget } from '@x/cart'
import { DecodeError, DerError } from '@x/common'
import { type Message, decodeMessage, encodeMessage } from '@x/raft'
import type { ReplicatedService, ServiceMachine } from '../rsm.ts'
import { rdbMessageRpc, rdbProtocol } from './rpc.ts'

/** Counters of a {@link RaftRouter}. */
export interface RaftRouterStats {
  sent: number
  received: number
  /** Messages that could not be sent or were not answered in time. */
  lost: number
  /** Messages for a group this engine does not run (dropped). */
  unknownGroup: number
  /** Messages whose peer has no known address (dropped). */
  unknownPeer: number
}

/** Options of {@link RaftRouter}. */
export interface RaftRouterOptions {
  readonly cart: Cart
  /** The context messages are sent from. */
  readonly context: () => Context | undefined
  /** Where Raft node `id` of `group` is reached (undefined: unknown for now). */
  readonly resolve: (group: string, id: number) => RpcTarget | undefined
  /** Called when a peer could not be resolved (e.g. to refresh the member list). */
  readonly onUnknownPeer?: (group: string, id: number) => void
  /** Timeout of one message RPC (default 1,000 ms). */
  readonly timeoutMs?: number
}

/** Routes Raft messages of named groups over cart (see the module comment). */
export class RaftRouter {
  /** Counters. */
  readonly stats: RaftRouterStats = { sent: 0, received: 0, lost: 0, unknownGroup: 0, unknownPeer: 0 }
  private readonly groups = new Map<string, ReplicatedService<ServiceMachine>>()
  private readonly timeoutMs: number

  constructor(private readonly options: RaftRouterOptions) {
    this.timeoutMs = options.timeoutMs ?? 1000
    const cart = options.cart
    if (!cart.registry.has(rdbMessageRpc.opcode)) cart.registerProtocol(rdbProtocol)
    cart.handle(rdbMessageRpc, (rpc) => {
      this.deliver(rpc.input.group, rpc.input.message)
      return {}
    })
  }

  /** Delivers incoming messages of `group` to `service`. */
  attach(group: string, service: ReplicatedService<ServiceMachine>): void {
    this.groups.set(group, service)
  }

  /** Stops delivering to `group` (only if `service` is the attached one, when given). */
  detach(group: string, service?: ReplicatedService<ServiceMachine>): void {
    if (service === undefined || this.groups.get(group) === service) this.groups.delete(group)
  }

  /** The `send` function of a {@link ReplicatedService} of `group`. */
  sender(group: string): (messages: readonly Message[]) => void {
    return (messages) => {
      for (const m of messages) this.send(group, m)
    }
  }

  private send(group: string, m: Message): void {
    const target = this.options.resolve(group, m.to)
    if (target === undefined) {
      this.stats.unknownPeer++
      this.options.onUnknownPeer?.(group, m.to)
      return
    }
    const context = this.options.context()
    if (context === undefined) {
      this.stats.lost++
      return
    }
    this.stats.sent++
    try {
      context.call(rdbMessageRpc, target, { group, message: encodeMessage(m) }, { timeoutMs: this.timeoutMs }).then(
        () => undefined,
        () => {
          this.stats.lost++
        },
      )
    } catch {
      this.stats.lost++
      this.options.onUnknownPeer?.(group, m.to)
    }
  }

  private deliver(group: string, bytes: Uint8Array): void {
    let message: Message
    try {
      message = decodeMessage(bytes)
    } catch (e) {
      if (e instanceof DecodeError) throw new DerError('DER_PROTO', `rdb ${group}: bad Raft message: ${e.message}`)
      throw e
    }
    const service = this.groups.get(group)
    if (service === undefined || !service.isRunning) {
      this.stats.unknownGroup++
      return
    }
    this.stats.received++
    service.receive(message)
  }
}
