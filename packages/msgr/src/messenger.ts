/**
 * The messenger: binds a fabric endpoint, accepts and opens sessions (one {@link Connection} per
 * peer address), authenticates peers, and hands received messages to dispatchers under a throttle.
 *
 * @module
 */
import { DerError, Encoder, assert, type Logger, type Random, type Runtime, silentLogger, toDerError } from '@x/common'
import { type Endpoint, type Fabric, type Connection as FabricConnection, parseAddress } from '@x/rdma-transport'
import { type AuthMethod, noneAuth } from './auth.ts'
import { type Dispatcher, DispatchQueue, type InboundMessage, type ReceivedMessage } from './dispatcher.ts'
import { type EntityAddr, type EntityName, type EntityType, formatEntityName, parseEntityName } from './entity.ts'
import { Tag, epilogueBytes, preambleBytes } from './frame.ts'
import { MessageRegistry } from './message.ts'
import { Policies, type Policy } from './policy.ts'
import { Connection, Transport } from './session.ts'
import { Throttle, type ThrottleLimits } from './throttle.ts'

/** Options of a {@link Messenger}. */
export interface MessengerOptions {
  /** The fabric to run on (`MemoryFabric`, `TcpFabric`). */
  readonly fabric: Fabric
  /** Time, timers and randomness. */
  readonly runtime: Runtime
  /** Our entity name (`engine.3`, `client.4123`, `mon.a`). */
  readonly name: string
  /** The message types we send and understand (default: an empty registry to fill). */
  readonly registry?: MessageRegistry
  /** Authentication: the method we use when connecting, and the ones we accept (default `none`). */
  readonly auth?: { readonly client?: AuthMethod; readonly server?: readonly AuthMethod[] }
  /** Policy for peers of types not in `policies` (default lossless peer). */
  readonly defaultPolicy?: Policy
  /** Policy by peer entity type. */
  readonly policies?: Partial<Record<EntityType, Policy>>
  /** Budget of received messages not yet dispatched (default unlimited). */
  readonly throttle?: ThrottleLimits
  /** Keepalive period (default 1000 ms). */
  readonly keepaliveIntervalMs?: number
  /** A session silent this long is dropped (default 10 s). */
  readonly keepaliveTimeoutMs?: number
  /** A handshake not done by then is dropped (default 10 s). */
  readonly handshakeTimeoutMs?: number
  /** First reconnect delay; doubles per attempt up to `reconnectMaxMs` (default 10 ms / 2 s). */
  readonly reconnectInitialMs?: number
  /** Longest reconnect delay. */
  readonly reconnectMaxMs?: number
  /** Largest front, middle or data segment (default 64 MiB). */
  readonly maxMessageBytes?: number
  /** Fabric sends posted and not yet completed, per connection (default 64); while it is full,
   * queued message frames are coalesced, several per fabric send. */
  readonly sendWindow?: number
  /**
   * Compute and check the data segment's crc32c (default true; Ceph's `ms_crc_data`). Preamble,
   * header, front and middle crcs are always on.
   */
  readonly crcData?: boolean
  /** Where refusals and dropped connections are logged (default silent). */
  readonly logger?: Logger
}

/** Messenger counters. */
export interface MessengerStats {
  /** Frames whose crc did not match (connection dropped, frame never delivered). */
  corruptFrames: number
  /** Connections dropped for malformed input. */
  protocolErrors: number
  /** Peers refused by authentication, or that refused us. */
  authFailures: number
  /** Replayed messages dropped because their seq was already received. */
  duplicatesDropped: number
  /** Messages of unknown types or with undecodable payloads (dropped). */
  undecodable: number
  /** Sessions dropped for silence. */
  keepaliveTimeouts: number
  /** Sessions reset because the peer lost them. */
  sessionResets: number
  /** Messages handed to dispatchers. */
  dispatched: number
  /** Messages that waited for throttle budget. */
  throttled: number
  /** Message frames sent behind another in the same fabric send (coalesced). */
  coalescedFrames: number
}

interface Blocked {
  readonly message: InboundMessage
  readonly bytes: number
  readonly transport: Transport
}

/** A messenger in the manner of Ceph's msgr2, over the fabric contract. */
export class Messenger {
  readonly name: EntityName
  readonly nameText: string
  readonly runtime: Runtime
  readonly registry: MessageRegistry
  readonly stats: MessengerStats = {
    corruptFrames: 0,
    coalescedFrames: 0,
    protocolErrors: 0,
    authFailures: 0,
    duplicatesDropped: 0,
    undecodable: 0,
    keepaliveTimeouts: 0,
    sessionResets: 0,
    dispatched: 0,
    throttled: 0,
  }
  /** The dispatch throttle. */
  readonly throttle: Throttle
  /** @internal */ readonly random: Random
  /** @internal */ readonly log: Logger
  /** @internal */ readonly keepaliveIntervalMs: number
  /** @internal */ readonly keepaliveTimeoutMs: number
  /** @internal */ readonly handshakeTimeoutMs: number
  /** @internal */ readonly reconnectInitialMs: number
  /** @internal */ readonly reconnectMaxMs: number
  /** @internal */ readonly maxMessageBytes: number
  /** @internal */ readonly sendWindow: number
  /** @internal */ readonly crcData: boolean
  /** @internal */ readonly fabricTag = 0x6d736772
  /** @internal */ readonly clientAuthMethod: AuthMethod
  /** @internal */ readonly serverAuthMethods: readonly AuthMethod[]
  private readonly fabric: Fabric
  private readonly defaultPolicy: Policy
  private readonly policies: Partial<Record<EntityType, Policy>>
  private readonly dispatchers: Dispatcher[] = []
  private readonly sessions = new Map<string, Connection>()
  private readonly transports = new Map<FabricConnection, Transport>()
  private readonly early = new Map<FabricConnection, Uint8Array[]>()
  private readonly roomWaiters = new Set<Transport>()
  private readonly queue = new DispatchQueue()
  private readonly blocked: Blocked[] = []
  private readonly paused = new Set<Transport>()
  private drainScheduled = false
  private endpoint: Endpoint | undefined
  private myAddress: EntityAddr | undefined
  private stopped = false

  constructor(options: MessengerOptions) {
    this.fabric = options.fabric
    this.runtime = options.runtime
    this.name = parseEntityName(options.name)
    this.nameText = formatEntityName(this.name)
    this.registry = options.registry ?? new MessageRegistry()
    this.random = options.runtime.random.fork()
    this.log = options.logger ?? silentLogger('msgr')
    this.clientAuthMethod = options.auth?.client ?? noneAuth
    this.serverAuthMethods = options.auth?.server ?? [noneAuth]
    this.defaultPolicy = options.defaultPolicy ?? Policies.losslessPeer()
    this.policies = options.policies ?? {}
    this.throttle = new Throttle(options.throttle)
    this.throttle.onRelease(() => this.drainBlocked())
    this.keepaliveIntervalMs = positive(options.keepaliveIntervalMs ?? 1000, 'keepaliveIntervalMs')
    this.keepaliveTimeoutMs = positive(options.keepaliveTimeoutMs ?? 10_000, 'keepaliveTimeoutMs')
    this.handshakeTimeoutMs = positive(options.handshakeTimeoutMs ?? 10_000, 'handshakeTimeoutMs')
    this.reconnectInitialMs = positive(options.reconnectInitialMs ?? 10, 'reconnectInitialMs')
    this.reconnectMaxMs = positive(options.reconnectMaxMs ?? 2000, 'reconnectMaxMs')
    this.maxMessageBytes = positive(options.maxMessageBytes ?? 64 << 20, 'maxMessageBytes')
    this.sendWindow = positive(options.sendWindow ?? 64, 'sendWindow')
    this.crcData = options.crcData ?? true
  }

  /** Our address (after {@link Messenger.bind}). */
  get address(): EntityAddr {
    if (this.myAddress === undefined) throw new DerError('DER_UNINIT', 'messenger is not bound')
    return this.myAddress
  }

  /** Sessions that are not closed. */
  get connections(): Connection[] {
    return [...this.sessions.values()]
  }

  /**
   * Opens our fabric endpoint, listening on `uri` (`tcp://127.0.0.1:0`, `memory://engine-3`; a
   * connect-only endpoint when omitted) and returns our address.
   */
  async bind(uri?: string): Promise<EntityAddr> {
    if (this.endpoint !== undefined) throw new DerError('DER_ALREADY', 'messenger is already bound')
    const endpoint = await this.fabric.open({
      ...(uri === undefined ? {} : { listen: uri }),
      maxUnexpectedBytes: 3 * this.maxMessageBytes + preambleBytes + epilogueBytes + 4096,
      completionCapacity: 1 << 20,
    })
    this.endpoint = endpoint
    this.myAddress = { uri: endpoint.address, nonce: 1 + this.random.int(0xffff_fffe) }
    endpoint.events.setHandler((event) => {
      if (event.type === 'established') {
        if (!event.connection.initiator) this.adopt(event.connection, undefined)
        return
      }
      const transport = this.transports.get(event.connection)
      this.early.delete(event.connection)
      transport?.fabricDown(event.reason ?? new DerError('DER_UNREACH', event.type))
    })
    endpoint.completions.setHandler((completion) => {
      if (completion.kind === 'send') {
        ;(completion.context as Transport).sent()
        return
      }
      if (completion.kind !== 'unexpected' || completion.data === undefined) return
      const transport = this.transports.get(completion.connection)
      if (transport !== undefined) {
        transport.receive(completion.data)
        return
      }
      const stash = this.early.get(completion.connection) ?? []
      stash.push(completion.data)
      this.early.set(completion.connection, stash)
      if (stash.length > 64) completion.connection.close()
    })
    endpoint.completions.onAvailable(() => {
      if (this.roomWaiters.size === 0) return
      const waiting = [...this.roomWaiters]
      this.roomWaiters.clear()
      for (const transport of waiting) transport.pump()
    })
    return this.myAddress
  }

  /** Adds a dispatcher at the end of the chain. */
  addDispatcher(dispatcher: Dispatcher): void {
    this.dispatchers.push(dispatcher)
  }

  /**
   * The session with the messenger at `uri`, created (and connected) if there is none.
   * `peerType` picks the policy (default: the default policy).
   */
  connect(uri: string, peerType?: EntityType): Connection {
    parseAddress(uri)
    if (this.endpoint === undefined || this.stopped) throw new DerError('DER_UNINIT', 'messenger is not bound or is shut down')
    if (uri === this.address.uri) throw new DerError('DER_INVAL', 'a messenger cannot connect to itself')
    const existing = this.sessions.get(uri)
    if (existing !== undefined && existing.state !== 'closed') return existing
    const session = new Connection(this, uri, this.policyFor(peerType), true)
    this.sessions.set(uri, session)
    session.startConnect()
    return session
  }

  /** Closes every session and the endpoint. */
  async shutdown(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const session of [...this.sessions.values()]) session.close(new DerError('DER_SHUTDOWN', 'messenger shut down'), false)
    for (const transport of [...this.transports.values()]) transport.close('shutdown')
    await this.endpoint?.close()
  }

  /** @internal */
  policyFor(type: EntityType | undefined): Policy {
    return (type === undefined ? undefined : this.policies[type]) ?? this.defaultPolicy
  }

  /** @internal a random non-zero u64. */
  newCookie(): bigint {
    return (BigInt(this.random.int(2 ** 32)) << 32n) | BigInt(1 + this.random.int(2 ** 32 - 1))
  }

  /** @internal dials for a session. */
  openTransport(session: Connection): void {
    const endpoint = this.endpoint
    if (endpoint === undefined || this.stopped) return
    endpoint.connect(session.peerAddress).then(
      (connection) => {
        session.dialing = false
        if (session.state === 'closed' || session.transport !== undefined || session.pending !== undefined || this.stopped) {
          connection.close()
          return
        }
        session.pending = this.adopt(connection, session)
      },
      (error: unknown) => {
        session.dialing = false
        if (session.state === 'closed') return
        const reason = toDerError(error)
        this.log.info('connect failed', { peer: session.peerAddress, reason: reason.message })
        if (session.lossy) session.close(reason, false)
        else if (session.initiator && !session.policy.server) session.scheduleReconnect()
        else session.state = 'standby'
      },
    )
  }

  /** @internal */
  dropTransport(transport: Transport): void {
    if (this.transports.get(transport.fabric) === transport) this.transports.delete(transport.fabric)
    this.roomWaiters.delete(transport)
    this.paused.delete(transport)
    this.early.delete(transport.fabric)
  }

  /** @internal */
  waitForRoom(transport: Transport): void {
    this.roomWaiters.add(transport)
  }

  /** @internal */
  forget(session: Connection): void {
    if (this.sessions.get(session.peerAddress) === session) this.sessions.delete(session.peerAddress)
  }

  /** @internal a server transport got CLIENT_IDENT. */
  acceptClientIdent(transport: Transport, lossy: boolean, cookie: bigint): void {
    const peer = transport.peer
    if (peer === undefined) throw new DerError('DER_PROTO', 'ident before hello')
    let session = this.sessions.get(peer.uri)
    if (session !== undefined && session.state === 'closed') session = undefined
    if (session !== undefined && session.everOpen && !lossy && session.peerNonce === peer.nonce && session.clientCookie === cookie) {
      // The peer's first attempt reached us but our SERVER_IDENT never reached it: the session is
      // the same one (the peer has received nothing on it yet), so resume it as it is.
      session.transport?.close('peer retried its first connection')
      session.transport = undefined
      const me = this.address
      transport.reply(Tag.serverIdent, new Encoder().string(me.uri).u32(me.nonce).u64(0n).u64(0n).u64(session.serverCookie).finish())
      transport.ready(session)
      return
    }
    if (session !== undefined) {
      const racing = session.pending !== undefined || session.dialing
      if (racing && !session.everOpen && session.transport === undefined) {
        // Both sides dialled: the lower address wins and keeps its own connection.
        if (this.address.uri < peer.uri) {
          transport.waitAndClose()
          return
        }
        session.pending?.close('lost the connection race')
        session.pending = undefined
      } else if (session.everOpen && session.initiator && !session.lossy && session.peerNonce === peer.nonce) {
        // The same incarnation dialling a session that we dial: a stale attempt from a race it
        // lost. Our connection carries the session (if the peer really lost it, our reconnect
        // gets SESSION_RESET).
        transport.waitAndClose()
        return
      } else if (session.everOpen || (session.peerNonce !== undefined && session.peerNonce !== peer.nonce)) {
        // The peer starts over (it restarted, or lost our session): so do we.
        session.transport?.close('peer started a new session')
        session.transport = undefined
        session.pending?.close('peer started a new session')
        session.pending = undefined
        session.resetSession()
      }
    } else {
      session = new Connection(this, peer.uri, this.policyFor(peer.name.type), false)
      this.sessions.set(peer.uri, session)
    }
    session.initiator = false
    session.policy = { ...session.policy, lossy }
    session.peerName = peer.name
    session.peerNonce = peer.nonce
    session.clientCookie = cookie
    session.serverCookie = this.newCookie()
    const me = this.address
    transport.reply(Tag.serverIdent, new Encoder().string(me.uri).u32(me.nonce).u64(0n).u64(lossy ? 1n : 0n).u64(session.serverCookie).finish())
    transport.ready(session)
  }

  /** @internal a server transport got SESSION_RECONNECT. */
  acceptReconnect(transport: Transport, clientCookie: bigint, serverCookie: bigint, msgSeq: bigint): void {
    const peer = transport.peer
    if (peer === undefined) throw new DerError('DER_PROTO', 'reconnect before hello')
    const session = this.sessions.get(peer.uri)
    if (
      session === undefined ||
      session.state === 'closed' ||
      !session.everOpen ||
      session.lossy ||
      session.peerNonce !== peer.nonce ||
      session.clientCookie !== clientCookie ||
      session.serverCookie !== serverCookie
    ) {
      this.stats.sessionResets++
      transport.reply(Tag.sessionReset, new Encoder().bool(true).finish())
      return
    }
    session.ackUpTo(msgSeq)
    transport.reply(Tag.sessionReconnectOk, new Encoder().u64(session.inSeq).finish())
    transport.ready(session)
  }

  /** @internal a message passed the session's checks: throttle, then dispatch. */
  deliver(message: InboundMessage, bytes: number, transport: Transport): void {
    if (this.blocked.length > 0 || !this.throttle.tryAcquire(bytes)) {
      this.stats.throttled++
      this.blocked.push({ message, bytes, transport })
      if (!transport.fabricPaused) {
        transport.fabricPaused = true
        this.paused.add(transport)
        transport.fabric.pause()
      }
      return
    }
    this.dispatch(message, bytes)
  }

  /** @internal */
  notifyConnect(session: Connection): void {
    this.each((d) => d.onConnect?.(session))
  }

  /** @internal */
  notifyReset(session: Connection): void {
    this.each((d) => d.onReset?.(session))
  }

  /** @internal */
  notifyRemoteReset(session: Connection): void {
    this.each((d) => d.onRemoteReset?.(session))
  }

  /** @internal */
  notifyRefused(session: Connection, reason: Error): void {
    this.each((d) => d.onRefused?.(session, reason))
  }

  private adopt(connection: FabricConnection, owner: Connection | undefined): Transport {
    const transport = new Transport(this, connection, owner)
    this.transports.set(connection, transport)
    const stash = this.early.get(connection)
    this.early.delete(connection)
    for (const bytes of stash ?? []) transport.receive(bytes)
    return transport
  }

  private each(call: (dispatcher: Dispatcher) => void): void {
    for (const dispatcher of this.dispatchers) {
      try {
        call(dispatcher)
      } catch (error) {
        this.log.error('dispatcher threw', { reason: (error as Error).message })
      }
    }
  }

  /** @internal gives a dispatched message's budget back (see `InboundMessage`). */
  releaseBudget(bytes: number): void {
    this.throttle.release(bytes)
  }

  private dispatch(message: InboundMessage, bytes: number): void {
    assert(bytes === message.budgetBytes, 'a message holds the budget it was admitted with')
    message.owner = this
    for (const dispatcher of this.dispatchers) {
      if (dispatcher.fastDispatch !== undefined && this.claims(dispatcher, message)) {
        this.stats.dispatched++
        try {
          dispatcher.fastDispatch(message)
        } catch (error) {
          this.log.error('dispatcher threw', { reason: (error as Error).message })
        }
        message.dispatched()
        return
      }
    }
    this.queue.push(message, () => message.dispatched())
    if (!this.drainScheduled) {
      this.drainScheduled = true
      this.runtime.timers.schedule(0, () => this.drainQueue())
    }
  }

  private claims(dispatcher: Dispatcher, message: ReceivedMessage): boolean {
    try {
      return dispatcher.canFastDispatch?.(message) === true
    } catch (error) {
      this.log.error('dispatcher threw', { reason: (error as Error).message })
      return false
    }
  }

  private drainQueue(): void {
    this.drainScheduled = false
    for (let next = this.queue.pop(); next !== undefined; next = this.queue.pop()) {
      const { message, release } = next
      this.stats.dispatched++
      let handled = false
      for (const dispatcher of this.dispatchers) {
        try {
          if (dispatcher.dispatch?.(message) === true) {
            handled = true
            break
          }
        } catch (error) {
          this.log.error('dispatcher threw', { reason: (error as Error).message })
        }
      }
      if (!handled) this.log.debug('message not handled', { type: message.type.name })
      release()
    }
  }

  private drainBlocked(): void {
    while (this.blocked.length > 0) {
      const head = this.blocked[0] as Blocked
      if (!this.throttle.tryAcquire(head.bytes)) return
      this.blocked.shift()
      this.dispatch(head.message, head.bytes)
    }
    if (this.paused.size === 0) return
    const paused = [...this.paused]
    this.paused.clear()
    for (const transport of paused) {
      transport.fabricPaused = false
      transport.touch()
      if (transport.fabric.state === 'established') transport.fabric.resume()
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new DerError('DER_INVAL', `${name} must be > 0, got ${value}`)
  return value
}
