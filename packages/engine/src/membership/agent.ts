/**
 * `MembershipAgent`: SWIM between the engines of a system, as DAOS runs it inside CaRT. Each
 * engine runs an `@x/swim` {@link SwimNode} (through a {@link SwimDriver}) whose messages ride
 * the `swim` cart protocol ({@link swimProtocol}) to `(rank, tag 0)` of the primary group; the
 * agent reports `alive` / `suspect` / `dead` per rank with the rank's incarnation, and the system
 * (the management service) turns `dead` into a rank exclusion.
 *
 * - **Datagrams.** A SWIM message is one RPC with an empty reply, sent with a short timeout; a
 *   failure or timeout is a lost datagram and is only counted. Incoming bytes that do not decode
 *   are counted and dropped.
 * - **Membership.** The node starts with the system's ranks as a static group and also joins
 *   through them, so a restarted rank (its cart reopened, SWIM state lost) is told it was
 *   declared dead, refutes with a higher incarnation, and is reported `alive` again.
 *   {@link MembershipAgent.setMembers} changes the set of ranks: messages to and from ranks
 *   outside it are dropped and events about them are not reported; a rank added later is
 *   reported at once with its current state if SWIM knew it, else the agent joins through it
 *   (retried every period) and reports it `alive` once it answers.
 * - A member that leaves gracefully (`left`) is reported `dead`.
 *
 * @module
 */
import type { Cart, Context } from '@x/cart'
import { DerError, type Logger, type Runtime, isDerError } from '@x/common'
import { type MemberState, type MembershipEvent, SwimDriver, SwimNode, type SwimConfig, decodeSwimMessage, resolveSwimConfig } from '@x/swim'
import { swimDatagramRpc, swimProtocol } from './protocol.ts'

/** The state of a rank as the agent reports it. */
export type RankState = 'alive' | 'suspect' | 'dead'

/** A change of a rank's state in this engine's view. */
export interface RankStateEvent {
  /** The rank. */
  readonly rank: number
  /** Its new state. */
  readonly state: RankState
  /** The rank's incarnation the state refers to. */
  readonly incarnation: number
}

/** SWIM profiles an engine may run. */
export type MembershipProfile = 'daos' | 'lan' | 'local'

/** Options of {@link MembershipAgent.start}. */
export interface MembershipAgentOptions {
  /** The engine's cart; the agent registers the `swim` protocol on it and serves it. */
  readonly cart: Cart
  /** The context the agent sends from (peers are reached at `(rank, tag 0)`). */
  readonly context: Context
  /** Time, timers and the random stream. */
  readonly runtime: Runtime
  /** This engine's rank. */
  readonly self: number
  /** The system's ranks (this one may be included). */
  readonly members: readonly number[]
  /** The SWIM profile (default `daos`: CaRT's timings). */
  readonly profile?: MembershipProfile
  /** Overrides of the profile. */
  readonly config?: Partial<SwimConfig>
  /** Receives every state change of a member rank, in order. */
  readonly onEvent: (event: RankStateEvent) => void
  /** Logger (default: the cart's). */
  readonly logger?: Logger
  /** This engine's incarnation at start (default 0; a restart is told it was dead and refutes). */
  readonly incarnation?: number
  /** Timeout of one datagram RPC (default: the profile's probe timeout, at most 1,000 ms). */
  readonly sendTimeoutMs?: number
}

/** Counters of an agent. */
export interface MembershipAgentStats {
  /** Datagrams sent. */
  sent: number
  /** Datagrams whose RPC failed or timed out (lost). */
  sendFailures: number
  /** Datagrams received and handed to SWIM. */
  received: number
  /** Datagrams dropped: from a rank outside the members, or malformed. */
  dropped: number
}

const maxRank = 0xffff_fffe

function checkRank(rank: unknown, what: string): asserts rank is number {
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > maxRank) throw new DerError('DER_INVAL', `membership: ${what} must be a rank (0..${maxRank}), got ${String(rank)}`)
}

function checkRanks(value: unknown): number[] {
  if (!Array.isArray(value)) throw new DerError('DER_INVAL', 'membership: members must be an array of ranks')
  const ranks: number[] = []
  for (const r of value as unknown[]) {
    checkRank(r, 'a member')
    ranks.push(r)
  }
  return ranks
}

function rankState(state: MemberState): RankState {
  return state === 'left' ? 'dead' : state
}

// One agent per cart serves the swim protocol's handler.
const agentsByCart = new WeakMap<Cart, MembershipAgent>()

/** SWIM membership of the engines over cart (see the module comment). */
export class MembershipAgent {
  /** Counters. */
  readonly stats: MembershipAgentStats = { sent: 0, sendFailures: 0, received: 0, dropped: 0 }
  /** The SWIM configuration in force. */
  readonly config: SwimConfig
  private readonly driver: SwimDriver
  private readonly node: SwimNode
  private readonly cart: Cart
  private readonly context: Context
  private readonly selfRank: number
  private readonly onEvent: (event: RankStateEvent) => void
  private readonly logger: Logger
  private readonly sendTimeoutMs: number
  private memberSet: Set<number>
  private stopped = false

  private constructor(options: MembershipAgentOptions) {
    checkRank(options.self, 'self')
    const members = checkRanks(options.members)
    if (agentsByCart.has(options.cart)) throw new DerError('DER_BUSY', `membership: a membership agent already runs on the cart of rank ${options.self}`)
    const profile = options.profile ?? 'daos'
    if (profile !== 'daos' && profile !== 'lan' && profile !== 'local') throw new DerError('DER_INVAL', `membership: unknown profile '${String(profile)}' (daos, lan, local)`)
    this.config = resolveSwimConfig(options.config ?? {}, profile)
    this.sendTimeoutMs = options.sendTimeoutMs ?? Math.min(this.config.probeTimeoutMs, 1000)
    if (!Number.isFinite(this.sendTimeoutMs) || this.sendTimeoutMs <= 0) throw new DerError('DER_INVAL', `membership: sendTimeoutMs must be > 0, got ${this.sendTimeoutMs}`)
    this.cart = options.cart
    this.context = options.context
    this.selfRank = options.self
    this.onEvent = options.onEvent
    this.logger = options.logger ?? options.cart.logger
    this.memberSet = new Set(members.filter((r) => r !== options.self))
    const runtime = options.runtime
    this.node = new SwimNode({
      self: options.self,
      incarnation: options.incarnation ?? 0,
      config: this.config,
      random: runtime.random.fork(),
      nowMs: runtime.clock.monotonicMs(),
      members: [...this.memberSet],
    })
    this.driver = new SwimDriver({
      node: this.node,
      runtime,
      transport: { send: (to, bytes) => this.send(to, bytes) },
      onEvent: (event) => this.deliver(event),
      onRefused: () => this.stats.dropped++,
    })
    if (!this.cart.registry.has(swimDatagramRpc.opcode)) this.cart.registerProtocol(swimProtocol)
    agentsByCart.set(this.cart, this)
    this.cart.handle(swimDatagramRpc, (rpc) => {
      agentsByCart.get(this.cart)?.receive(rpc.input.payload)
      return {}
    })
  }

  /** Starts SWIM on the engine: probes the members and joins through them. */
  static start(options: MembershipAgentOptions): MembershipAgent {
    const agent = new MembershipAgent(options)
    agent.driver.start()
    if (agent.memberSet.size > 0) agent.driver.join([...agent.memberSet])
    return agent
  }

  /** This engine's rank. */
  get self(): number {
    return this.selfRank
  }

  /** This engine's current incarnation (raised when it refutes a suspicion). */
  get incarnation(): number {
    return this.node.incarnation
  }

  /** The member ranks (without this one). */
  get members(): readonly number[] {
    return [...this.memberSet].sort((a, b) => a - b)
  }

  /** Whether the agent runs (not stopped). */
  get running(): boolean {
    return !this.stopped
  }

  /**
   * Changes the system's ranks (joins and departures). Ranks removed are no longer probed or
   * reported; a rank added that this engine already knew is reported at once with its state, an
   * unknown one once it answers the join the agent sends it.
   */
  setMembers(ranks: readonly number[]): void {
    const next = new Set(checkRanks(ranks).filter((r) => r !== this.selfRank))
    const added = [...next].filter((r) => !this.memberSet.has(r))
    this.memberSet = next
    const unknown: number[] = []
    for (const rank of added) {
      const info = this.node.member(rank)
      if (info !== undefined) this.onEvent({ rank, state: rankState(info.state), incarnation: info.incarnation })
      else unknown.push(rank)
    }
    // Ranks SWIM never heard of: ask them for their view (a join); their answer makes them members.
    if (unknown.length > 0 && !this.stopped) this.driver.join(unknown)
  }

  /** Every member rank this engine knows (and itself), with its state. */
  view(): Map<number, RankState> {
    const out = new Map<number, RankState>([[this.selfRank, 'alive']])
    for (const info of this.node.members()) if (this.memberSet.has(info.id)) out.set(info.id, rankState(info.state))
    return new Map([...out].sort((a, b) => a[0] - b[0]))
  }

  /** Stops probing and answering; the engine looks dead to the others from now on. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.driver.stop()
    if (agentsByCart.get(this.cart) === this) agentsByCart.delete(this.cart)
  }

  private send(to: number, bytes: Uint8Array): void {
    if (!this.running || !this.memberSet.has(to)) return
    this.stats.sent++
    try {
      this.context.call(swimDatagramRpc, { rank: to, tag: 0 }, { payload: bytes }, { timeoutMs: this.sendTimeoutMs }).then(
        () => undefined,
        () => this.stats.sendFailures++,
      )
    } catch {
      this.stats.sendFailures++
    }
  }

  private receive(bytes: Uint8Array): void {
    if (!this.running) return
    let from: number
    try {
      from = decodeSwimMessage(bytes).from
    } catch (error) {
      if (!isDerError(error)) throw error
      this.stats.dropped++
      return
    }
    if (!this.memberSet.has(from)) {
      this.stats.dropped++
      return
    }
    this.stats.received++
    this.driver.receive(bytes)
  }

  private deliver(event: MembershipEvent): void {
    if (!this.memberSet.has(event.member)) return
    const state = rankState(event.type)
    if (state !== 'suspect') this.logger.info(`rank ${event.member} is ${state}`, { rank: event.member, incarnation: event.incarnation, observer: this.selfRank })
    this.onEvent({ rank: event.member, state, incarnation: event.incarnation })
  }
}
