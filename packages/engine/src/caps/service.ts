/**
 * The engine side of caps: one `@x/caps` {@link CapsAuthority} per POSIX container, served over
 * {@link capsProtocol}. Clients hand their caps messages to `dfs_caps_exchange` and long-poll it
 * for the messages the authority sends them (grants, revokes, flush acks, session replies); a
 * timer runs the authority's `tick` (leases, revoke timeouts, eviction). Object ids for new
 * inodes come from `dfs_caps_alloc_oids`.
 *
 * Which engine is the authority of a container is the client's choice, made the same way by
 * every client: the rank holding shard 0 of the container's superblock object under the current
 * pool map (see `@x/dfs`). An engine serves any container a client brings to it.
 *
 * @module
 */
import type { Cart, IncomingRpc } from '@x/cart'
import { type AuthorityConfig, type AuthorityOutput, CapsAuthority, decodeMessage, encodeMessage } from '@x/caps'
import { DerError, type Logger, type Runtime, type TimerHandle } from '@x/common'
import { type CapsExchangeInput, type CapsExchangeOutput, capsAllocOidsRpc, capsExchangeRpc, capsProtocol } from './protocol.ts'

/** Options of {@link CapsService}. */
export interface CapsServiceOptions {
  /** The engine's cart (the protocol is registered on it if needed). */
  readonly cart: Cart
  /** The engine's rank: the authority number in caps messages. */
  readonly rank: number
  /** Authority timeouts (session, revoke eviction); the rank is filled in. */
  readonly authority?: Partial<Omit<AuthorityConfig, 'rank'>>
  /** How often the authorities' timers run (default 250 ms). */
  readonly tickMs?: number
  /** First object-id `lo` handed out per container (default: from the wall clock, see {@link CapsService}). */
  readonly firstOid?: bigint
  /** Where evictions and warnings are logged. */
  readonly logger?: Logger
}

/** One eviction, as recorded by {@link CapsService.evictions}. */
export interface CapsEviction {
  /** `pool/container`. */
  readonly container: string
  /** The evicted client. */
  readonly clientId: string
  /** Why. */
  readonly reason: string
  /** Monotonic time of the eviction. */
  readonly atMs: number
}

interface Waiter {
  readonly rpc: IncomingRpc<CapsExchangeInput, CapsExchangeOutput>
  readonly timer: TimerHandle
}

interface ContainerCaps {
  readonly key: string
  readonly authority: CapsAuthority
  readonly queues: Map<string, Uint8Array[]>
  readonly waiters: Map<string, Waiter>
  nextOid: bigint
}

/**
 * Serves caps for POSIX containers (see the module comment). Object ids start at
 * `firstOid` (default `floor(wall seconds) << 20`, so an engine restarted later never hands out
 * ids again unless more than 2^20 were allocated per second of its earlier life).
 */
export class CapsService {
  private readonly runtime: Runtime
  private readonly containers = new Map<string, ContainerCaps>()
  private readonly evicted: CapsEviction[] = []
  private readonly tickTimer: TimerHandle
  private readonly firstOid: bigint
  private stopped = false

  constructor(private readonly options: CapsServiceOptions) {
    if (!Number.isInteger(options.rank) || options.rank < 0) throw new DerError('DER_INVAL', `bad rank ${options.rank}`)
    this.runtime = options.cart.runtime
    const cart = options.cart
    if (!cart.registry.has(capsExchangeRpc.opcode)) cart.registerProtocol(capsProtocol)
    cart.handle(capsExchangeRpc, (rpc) => this.onExchange(rpc))
    cart.handle(capsAllocOidsRpc, (rpc) => ({ first: this.allocate(`${rpc.input.poolUuid}/${rpc.input.containerUuid}`, rpc.input.count) }))
    this.firstOid = options.firstOid ?? BigInt(Math.floor(this.runtime.clock.realtimeMs() / 1000)) << 20n
    if (this.firstOid < 16n) throw new DerError('DER_INVAL', 'firstOid must leave room for the superblock and root ids')
    this.tickTimer = this.runtime.timers.repeat(options.tickMs ?? 250, () => this.tick(), { unref: true })
  }

  /** The authority of a container, if one was started (tests and tools). */
  authority(poolUuid: string, containerUuid: string): CapsAuthority | undefined {
    return this.containers.get(`${poolUuid}/${containerUuid}`)?.authority
  }

  /** Clients evicted so far. */
  evictions(): readonly CapsEviction[] {
    return this.evicted
  }

  /** Stops the timer and answers every held poll with nothing. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.runtime.timers.cancel(this.tickTimer)
    for (const c of this.containers.values()) for (const id of [...c.waiters.keys()]) this.wake(c, id, true)
  }

  private container(key: string): ContainerCaps {
    let c = this.containers.get(key)
    if (c === undefined) {
      c = { key, authority: new CapsAuthority({ ...this.options.authority, rank: this.options.rank }), queues: new Map(), waiters: new Map(), nextOid: this.firstOid }
      this.containers.set(key, c)
    }
    return c
  }

  private allocate(key: string, count: number): bigint {
    const c = this.container(key)
    const first = c.nextOid
    c.nextOid += BigInt(count)
    return first
  }

  private onExchange(rpc: IncomingRpc<CapsExchangeInput, CapsExchangeOutput>): CapsExchangeOutput | undefined {
    const input = rpc.input
    const c = this.container(`${input.poolUuid}/${input.containerUuid}`)
    // Decode and check every message before any reaches the authority: a bad one changes nothing.
    const messages = input.messages.map((bytes) => {
      const m = decodeMessage(bytes)
      if (m.clientId !== input.clientId) throw new DerError('DER_INVAL', `message of client ${m.clientId} sent by ${input.clientId}`)
      if (m.authority !== this.options.rank) throw new DerError('DER_INVAL', `message for authority ${m.authority} reached rank ${this.options.rank}`)
      return m
    })
    // A new poll replaces an older one of the same client, which is answered now.
    if (input.waitMs > 0) this.wake(c, input.clientId, true)
    const now = this.runtime.clock.monotonicMs()
    for (const m of messages) this.route(c, now, c.authority.step(now, m))
    const queued = c.queues.get(input.clientId) ?? []
    if (queued.length > 0 || input.waitMs === 0 || this.stopped) {
      c.queues.delete(input.clientId)
      return { messages: queued }
    }
    const timer = this.runtime.timers.schedule(input.waitMs, () => this.wake(c, input.clientId, true))
    c.waiters.set(input.clientId, { rpc, timer })
    return undefined
  }

  private route(c: ContainerCaps, now: number, outputs: readonly AuthorityOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'send': {
          let q = c.queues.get(o.to)
          if (q === undefined) {
            q = []
            c.queues.set(o.to, q)
          }
          q.push(encodeMessage(o.message))
          this.wake(c, o.to, false)
          break
        }
        case 'evict':
          this.evicted.push({ container: c.key, clientId: o.clientId, reason: o.reason, atMs: now })
          this.options.logger?.warn('caps: client evicted', { container: c.key, clientId: o.clientId, reason: o.reason })
          break
        case 'warning':
          this.options.logger?.warn('caps: client failing to respond to capability release', { container: c.key, clientId: o.clientId, ino: o.ino, ageMs: o.ageMs })
          break
        case 'recover-size':
          // File sizes live in the array objects themselves (DFS reads them there): nothing to probe.
          this.route(c, now, c.authority.sizeRecovered(now, o.ino, 0))
          break
        case 'refused':
          break
      }
    }
  }

  /** Answers a held poll of `clientId` with its queue (only when non-empty unless `force`). */
  private wake(c: ContainerCaps, clientId: string, force: boolean): void {
    const w = c.waiters.get(clientId)
    if (w === undefined) return
    const queued = c.queues.get(clientId) ?? []
    if (!force && queued.length === 0) return
    c.waiters.delete(clientId)
    this.runtime.timers.cancel(w.timer)
    c.queues.delete(clientId)
    if (!w.rpc.replied) w.rpc.reply({ messages: queued })
  }

  private tick(): void {
    const now = this.runtime.clock.monotonicMs()
    for (const c of this.containers.values()) this.route(c, now, c.authority.tick(now))
  }
}
