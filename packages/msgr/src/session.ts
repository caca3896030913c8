/**
 * Sessions and the msgr2 protocol over one fabric connection.
 *
 * A {@link Connection} is the session with one peer, as the user sees it: it survives fabric
 * reconnects (lossless policies), numbers outgoing messages, keeps them until acked and replays
 * them on a new connection; the receiver drops duplicates by sequence number. A `Transport` runs
 * the protocol on one fabric connection: banner, hello, authentication with a signed transcript,
 * session identification (new, reconnect, reset, wait), then messages, acks and keepalives.
 *
 * @module
 */
import { Decoder, DerError, Encoder, type TimerHandle, isDerError, toDerError } from '@x/common'
import type { Connection as FabricConnection } from '@x/rdma-transport'
import { type AuthMethod, type ClientAuth, type ServerAuth, signTranscript, signaturesMatch } from './auth.ts'
import { InboundMessage } from './dispatcher.ts'
import { type EntityName, formatEntityName, parseEntityName } from './entity.ts'
import { Tag, decodeBanner, decodeFrame, encodeBanner, encodeFrame, encodeFramePartsInPlace, epilogueBytes, featureRevision1, frameLength, preambleBytes } from './frame.ts'
import { type MessageHeader, type OutgoingMessage, Priority, decodeMessageHeader, messageHeaderBytes, writeMessageHeader } from './message.ts'
import type { Messenger } from './messenger.ts'
import type { Policy } from './policy.ts'

/** Session states: `connecting` (a fabric connection is being set up), `open`, `standby`
 * (waiting for the peer to reconnect), `closed` (over: marked down, lossy fault, refused). */
export type ConnectionState = 'connecting' | 'open' | 'standby' | 'closed'

const flagLossy = 1n
const empty = new Uint8Array(0)
/** Ack at once after this many unacknowledged messages... */
const ackEveryMessages = 32n
/** ...or this many bytes of them (else on the next timer turn, or piggybacked on a reply). */
const ackEveryBytes = 256 * 1024
/** Queued message frames are sent together up to this many bytes per fabric send. */
const coalesceBytes = 64 * 1024

interface Outgoing {
  readonly seq: bigint
  readonly message: OutgoingMessage
  readonly front: Uint8Array
  readonly bytes: number
}

/** Session counters. */
export interface ConnectionStats {
  messagesSent: number
  messagesReceived: number
  duplicatesDropped: number
  replayed: number
  reconnects: number
}

/** The session with one peer (get it with `Messenger.connect` or from a received message). */
export class Connection {
  state: ConnectionState = 'connecting'
  /** The peer's entity name, once known. */
  peerName: EntityName | undefined
  /** The peer's incarnation nonce, once known. */
  peerNonce: number | undefined
  /** Counters. */
  readonly stats: ConnectionStats = { messagesSent: 0, messagesReceived: 0, duplicatesDropped: 0, replayed: 0, reconnects: 0 }
  /** @internal */ initiator: boolean
  /** @internal */ policy: Policy
  /** @internal messages with seq > acked, in seq order. */ readonly outgoing: Outgoing[] = []
  /** @internal how many of `outgoing` went out on the current transport. */ sentCount = 0
  /** @internal */ outSeq = 0n
  /** @internal */ inSeq = 0n
  /** @internal */ clientCookie = 0n
  /** @internal */ serverCookie = 0n
  /** @internal */ connectSeq = 0n
  /** @internal */ everOpen = false
  /** @internal the ready transport. */ transport: Transport | undefined
  /** @internal our outgoing transport during its handshake. */ pending: Transport | undefined
  /** @internal a fabric connect is in progress. */ dialing = false
  private reconnectTimer: TimerHandle | undefined
  private attempts = 0

  /** @internal */
  constructor(
    readonly messenger: Messenger,
    /** The peer's fabric address. */
    readonly peerAddress: string,
    policy: Policy,
    initiator: boolean,
  ) {
    this.policy = policy
    this.initiator = initiator
  }

  /** Whether the session may lose messages on a fault. */
  get lossy(): boolean {
    return this.policy.lossy
  }

  /** Messages queued or sent and not yet acknowledged. */
  get unacked(): number {
    return this.outgoing.length
  }

  /**
   * Queues a message. Lossless sessions deliver it exactly once and in order, across reconnects;
   * lossy ones may drop it on a fault. Throws `DER_SHUTDOWN` on a closed session and
   * `DER_OVERFLOW` above the messenger's size limit.
   */
  send<T>(message: OutgoingMessage<T>): void {
    if (this.state === 'closed') throw new DerError('DER_SHUTDOWN', `session with ${this.peerAddress} is closed`)
    const front = this.messenger.registry.encode(message.type, message.payload)
    const bytes = front.length + (message.middle?.length ?? 0) + (message.data?.length ?? 0)
    const limit = this.messenger.maxMessageBytes
    const largest = Math.max(front.length, message.middle?.length ?? 0, message.data?.length ?? 0)
    if (largest > limit) throw new DerError('DER_OVERFLOW', `message segment of ${largest} bytes exceeds ${limit}`)
    this.outSeq++
    this.outgoing.push({ seq: this.outSeq, message: message, front, bytes })
    this.transport?.pump()
  }

  /** Ends the session: drops queued messages, closes the fabric connection. */
  markDown(): void {
    this.close(new DerError('DER_SHUTDOWN', 'marked down'), false)
  }

  /** @internal builds the frame (a gather list) of the next message to send, or undefined. */
  nextFrame(): Uint8Array[] | undefined {
    const next = this.outgoing[this.sentCount]
    if (next === undefined) return undefined
    if (this.sentCount === 0) this.ackProgressMs = this.messenger.runtime.clock.monotonicMs()
    if (next.seq <= this.highestSentSeq) this.stats.replayed++
    else this.highestSentSeq = next.seq
    this.sentCount++
    this.stats.messagesSent++
    const m = next.message
    const header: MessageHeader = {
      seq: next.seq,
      tid: m.tid ?? 0n,
      type: m.type.id,
      priority: m.priority ?? m.type.priority ?? Priority.default,
      version: m.type.codec.version,
      ackSeq: this.inSeq,
      flags: 0,
      compatVersion: m.type.codec.compat,
    }
    // The header is written straight into the frame's head: one allocation per frame.
    return encodeFramePartsInPlace(Tag.message, messageHeaderBytes, writeMessageHeader, header, next.front, m.middle ?? empty, m.data ?? empty, this.messenger.crcData)
  }

  private highestSentSeq = 0n

  /** @internal the size of the next message's frame (an upper bound), or undefined when none is queued. */
  nextFrameBytes(): number | undefined {
    const next = this.outgoing[this.sentCount]
    return next === undefined ? undefined : preambleBytes + messageHeaderBytes + 4 + next.bytes + epilogueBytes
  }

  /** @internal when acks last made progress (or the first unacked message went out). */
  ackProgressMs = 0

  /** @internal the peer has everything up to `seq`. */
  ackUpTo(seq: bigint): void {
    let drop = 0
    while (drop < this.outgoing.length && (this.outgoing[drop] as Outgoing).seq <= seq) drop++
    if (drop === 0) return
    this.ackProgressMs = this.messenger.runtime.clock.monotonicMs()
    this.outgoing.splice(0, drop)
    this.sentCount = Math.max(0, this.sentCount - drop)
  }

  /** @internal a transport finished its handshake for this session. */
  open(transport: Transport): void {
    if (this.transport !== undefined && this.transport !== transport) this.transport.close('replaced by a new connection')
    if (this.pending !== undefined && this.pending !== transport) this.pending.close('superseded')
    this.pending = undefined
    this.transport = transport
    transport.session = this
    this.sentCount = 0
    this.state = 'open'
    this.attempts = 0
    if (this.everOpen) this.stats.reconnects++
    this.everOpen = true
    this.messenger.notifyConnect(this)
    transport.pump()
  }

  /** @internal the peer lost our session: start over. */
  resetSession(): void {
    const hadState = this.everOpen || this.outgoing.length > 0
    this.outgoing.length = 0
    this.sentCount = 0
    this.outSeq = 0n
    this.inSeq = 0n
    this.highestSentSeq = 0n
    this.serverCookie = 0n
    this.clientCookie = this.messenger.newCookie()
    this.everOpen = false
    this.messenger.stats.sessionResets++
    if (hadState) this.messenger.notifyRemoteReset(this)
  }

  /** @internal a transport of ours failed. */
  transportFailed(transport: Transport, reason: DerError): void {
    if (transport === this.pending) this.pending = undefined
    else if (transport === this.transport) this.transport = undefined
    else return
    if (this.state === 'closed') return
    this.sentCount = 0
    if (this.policy.lossy) {
      this.close(reason, false)
      return
    }
    if (this.initiator && !this.policy.server) {
      this.state = 'connecting'
      this.scheduleReconnect()
    } else {
      this.state = 'standby'
    }
  }

  /** @internal the peer told us to wait for its connection (a connection race it won). */
  waitForPeer(transport: Transport): void {
    if (transport === this.pending) this.pending = undefined
    this.initiator = false
    if (this.state !== 'closed' && this.transport === undefined) this.state = 'standby'
  }

  /** @internal starts a fabric connection (first connect or reconnect). */
  startConnect(): void {
    if (this.state === 'closed' || this.dialing || this.pending !== undefined || this.transport !== undefined) return
    this.state = 'connecting'
    this.dialing = true
    this.connectSeq++
    this.messenger.openTransport(this)
  }

  /** @internal */
  scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined || this.state === 'closed') return
    const m = this.messenger
    const delay = Math.min(m.reconnectMaxMs, m.reconnectInitialMs * 2 ** Math.min(this.attempts, 16)) * (0.5 + m.random.float() / 2)
    this.attempts++
    this.reconnectTimer = m.runtime.timers.schedule(delay, () => {
      this.reconnectTimer = undefined
      this.startConnect()
    })
  }

  /** @internal ends the session for good. */
  close(reason: DerError, refused: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.reconnectTimer !== undefined) this.messenger.runtime.timers.cancel(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.outgoing.length = 0
    this.sentCount = 0
    const transports = [this.transport, this.pending]
    this.transport = undefined
    this.pending = undefined
    for (const t of transports) t?.close(reason.message)
    this.messenger.forget(this)
    if (refused) this.messenger.notifyRefused(this, reason)
    else this.messenger.notifyReset(this)
  }
}

type TransportState = 'banner' | 'hello' | 'auth' | 'sign' | 'ident' | 'ready' | 'closed'

/** The peer as a transport learns it from hello. */
interface PeerInfo {
  readonly name: EntityName
  readonly uri: string
  readonly nonce: number
}

/** @internal the protocol on one fabric connection. */
export class Transport {
  state: TransportState = 'banner'
  session: Connection | undefined
  peer: PeerInfo | undefined
  private readonly control: (Uint8Array | Uint8Array[])[] = []
  private inflight = 0
  private lastRxMs: number
  private readonly keepaliveTimer: TimerHandle
  private ackTimer: TimerHandle | undefined
  private ackedSeq = 0n
  /** Bytes of messages received since we last acknowledged (explicitly or piggybacked). */
  private bytesSinceAck = 0
  private txTranscript: Uint8Array[] | undefined = []
  private rxTranscript: Uint8Array[] | undefined = []
  private clientAuth: ClientAuth | undefined
  private serverAuth: ServerAuth | undefined
  private authMethod: AuthMethod | undefined
  private sessionKey: Uint8Array | undefined
  private signedTx: Uint8Array[] = []
  private sentSignature = false
  private gotSignature = false
  private closeAfterFlush = false
  private lastKeepaliveAckMs = 0

  constructor(
    readonly messenger: Messenger,
    readonly fabric: FabricConnection,
    /** Client transports belong to the session that opened them. */
    readonly owner: Connection | undefined,
  ) {
    const m = messenger
    this.lastRxMs = m.runtime.clock.monotonicMs()
    this.keepaliveTimer = m.runtime.timers.repeat(m.keepaliveIntervalMs, () => this.tick())
    this.queue(encodeBanner(featureRevision1, 0n))
  }

  get client(): boolean {
    return this.owner !== undefined
  }

  /** Last time a keepalive ack arrived (monotonic ms; 0 if never). */
  get lastKeepaliveAck(): number {
    return this.lastKeepaliveAckMs
  }

  /** Posts control frames, then session messages, while the send window allows. */
  pump(): void {
    const m = this.messenger
    while (this.state !== 'closed' && this.fabric.state === 'established' && this.inflight < m.sendWindow) {
      let bytes = this.control.shift()
      let frames = 0
      const session = this.session
      if (bytes === undefined && this.state === 'ready' && session?.transport === this) {
        const ackSeq = session.inSeq
        bytes = session.nextFrame()
        if (bytes !== undefined) {
          frames = 1
          // Small messages already queued share one fabric send (frames back to back): one post,
          // one completion and one fabric header for the lot instead of one per message.
          let total = 0
          for (const part of bytes) total += part.length
          let batch: Uint8Array[] | undefined
          for (let next = session.nextFrameBytes(); next !== undefined && total + next <= coalesceBytes; next = session.nextFrameBytes()) {
            batch ??= bytes.slice()
            for (const part of session.nextFrame() as Uint8Array[]) batch.push(part)
            total += next
            frames++
          }
          bytes = batch ?? bytes
          // The frame carries ack_seq: no separate ACK is needed up to there.
          if (ackSeq > this.ackedSeq) {
            this.ackedSeq = ackSeq
            this.bytesSinceAck = 0
          }
        }
      }
      if (bytes === undefined) break
      try {
        this.fabric.send(m.fabricTag, bytes, { context: this })
        this.inflight++
        if (frames > 1) m.stats.coalescedFrames += frames - 1
      } catch (error) {
        if (isDerError(error, 'DER_AGAIN')) {
          m.waitForRoom(this)
          // A message frame is rebuilt when retried; control frames wait at the head.
          if (frames > 0 && session !== undefined) session.sentCount -= frames
          else this.control.unshift(bytes)
          return
        }
        this.fail(toDerError(error))
        return
      }
    }
    if (this.closeAfterFlush && this.control.length === 0 && this.inflight === 0) this.close('flushed')
  }

  /** @internal a send completed. */
  sent(): void {
    this.inflight--
    // Refill in batches (half a window), so the fabric can coalesce them into one write.
    if (this.inflight <= this.messenger.sendWindow / 2 || this.control.length > 0 || this.closeAfterFlush) this.pump()
  }

  /** @internal a fabric message arrived. */
  receive(bytes: Uint8Array): void {
    if (this.state === 'closed' || this.closeAfterFlush) return
    this.lastRxMs = this.messenger.runtime.clock.monotonicMs()
    try {
      if (this.state === 'banner') {
        this.rxTranscript?.push(bytes)
        decodeBanner(bytes, featureRevision1)
        this.state = 'hello'
        const me = this.messenger
        this.sendFrame(Tag.hello, new Encoder().u8(1).string(me.nameText).string(me.address.uri).u32(me.address.nonce).string(this.fabric.peerAddress).finish())
        return
      }
      if (this.state === 'ready') {
        // Once ready, one fabric message may carry several frames back to back (see `pump`).
        for (let at = 0; at < bytes.length && this.state === 'ready' && !this.closeAfterFlush; ) {
          const length = frameLength(bytes, at)
          const frame = decodeFrame(bytes.subarray(at, at + length), this.messenger.maxMessageBytes)
          at += length
          this.onFrame(frame.tag, frame.segments)
        }
        return
      }
      const frame = decodeFrame(bytes, this.messenger.maxMessageBytes)
      if (frame.tag !== Tag.authSignature) this.rxTranscript?.push(bytes)
      this.onFrame(frame.tag, frame.segments)
    } catch (error) {
      const e = toDerError(error)
      if (e.name === 'DER_CSUM') this.messenger.stats.corruptFrames++
      else this.messenger.stats.protocolErrors++
      this.fail(e.name === 'DER_CSUM' || e.name === 'DER_NO_PERM' ? e : new DerError('DER_PROTO', e.message, { cause: error }))
    }
  }

  /** Closes the fabric connection and tells the session. */
  fail(reason: DerError): void {
    if (this.state === 'closed') return
    this.messenger.log.warn('dropping connection', { peer: this.fabric.peerAddress, reason: reason.message, code: reason.name })
    const owner = this.session ?? this.owner
    this.close(reason.message)
    owner?.transportFailed(this, reason)
  }

  /** Closes without blaming anyone (the session decides what happens next). */
  close(why: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    const timers = this.messenger.runtime.timers
    timers.cancel(this.keepaliveTimer)
    if (this.ackTimer !== undefined) timers.cancel(this.ackTimer)
    this.control.length = 0
    this.messenger.dropTransport(this)
    if (this.fabric.state !== 'closed') this.fabric.close()
    this.messenger.log.debug('connection closed', { peer: this.fabric.peerAddress, why })
  }

  /** @internal the fabric connection went down under us. */
  fabricDown(reason: DerError): void {
    if (this.state === 'closed') return
    const owner = this.session ?? this.owner
    this.close(reason.message)
    owner?.transportFailed(this, reason)
  }

  private tick(): void {
    const m = this.messenger
    const now = m.runtime.clock.monotonicMs()
    const limit = this.state === 'ready' ? m.keepaliveTimeoutMs : m.handshakeTimeoutMs
    if (now - this.lastRxMs > limit && !this.fabricPaused) {
      m.stats.keepaliveTimeouts++
      this.fail(new DerError('DER_TIMEDOUT', `nothing heard from ${this.fabric.peerAddress} for ${Math.round(now - this.lastRxMs)} ms`))
      return
    }
    const session = this.session
    if (this.state === 'ready' && session !== undefined && session.sentCount > 0 && now - session.ackProgressMs > m.keepaliveTimeoutMs) {
      // Sent messages went unacknowledged for too long: a frame was lost; reconnect and replay.
      m.stats.keepaliveTimeouts++
      this.fail(new DerError('DER_TIMEDOUT', `no ack from ${this.fabric.peerAddress} for ${Math.round(now - session.ackProgressMs)} ms`))
      return
    }
    if (this.state === 'ready') {
      const sec = Math.floor(now / 1000)
      this.sendFrame(Tag.keepalive2, new Encoder().u32(sec >>> 0).u32(Math.floor((now - sec * 1000) * 1e6) >>> 0).finish())
    }
  }

  /** @internal whether the messenger paused reading (throttle): time blocked is not silence. */
  fabricPaused = false

  /** @internal marks traffic as seen (after a throttle pause). */
  touch(): void {
    this.lastRxMs = this.messenger.runtime.clock.monotonicMs()
  }

  private queue(bytes: Uint8Array): void {
    if (this.txTranscript !== undefined) this.txTranscript.push(bytes)
    this.control.push(bytes)
    this.pump()
  }

  private sendFrame(tag: number, control: Uint8Array): void {
    const bytes = encodeFrame(tag, [control])
    if (this.txTranscript !== undefined && tag !== Tag.authSignature) this.txTranscript.push(bytes)
    this.control.push(bytes)
    this.pump()
  }

  private expect(...states: TransportState[]): void {
    if (!states.includes(this.state)) throw new DerError('DER_PROTO', `unexpected frame in state ${this.state}`)
  }

  private onFrame(tag: number, segments: readonly Uint8Array[]): void {
    // The hot path first: a message's control segment is a fixed header, no decoder needed.
    if (tag === Tag.message) return this.onMessage(segments)
    const control = segments[0] as Uint8Array
    const d = new Decoder(control, { maxBytesLength: 1 << 16, maxItems: 64 })
    const m = this.messenger
    switch (tag) {
      case Tag.hello: {
        this.expect('hello')
        const version = d.u8()
        const name = parseEntityName(d.string())
        const uri = d.string()
        const nonce = d.u32()
        d.string()
        d.expectEnd()
        if (version !== 1) throw new DerError('DER_PROTO', `hello version ${version}`)
        this.peer = { name, uri, nonce }
        this.state = 'auth'
        if (this.client) {
          const method = m.clientAuthMethod
          this.authMethod = method
          this.clientAuth = method.client({ myName: m.nameText, peerName: formatEntityName(name) })
          this.sendFrame(Tag.authRequest, new Encoder().u32(method.id).bytes(this.clientAuth.start()).finish())
        }
        return
      }
      case Tag.authRequest: {
        this.expect('auth')
        if (this.client || this.serverAuth !== undefined) throw new DerError('DER_PROTO', 'unexpected auth request')
        const methodId = d.u32()
        const payload = d.bytes()
        d.expectEnd()
        const method = m.serverAuthMethods.find((a) => a.id === methodId)
        if (method === undefined) return this.refuseAuth(methodId, new DerError('DER_NO_PERM', `auth method ${methodId} is not allowed`))
        this.authMethod = method
        this.serverAuth = method.server({ myName: m.nameText, peerName: formatEntityName(this.peer?.name as EntityName) })
        return this.serverAuthStep(payload)
      }
      case Tag.authRequestMore: {
        this.expect('auth')
        if (this.serverAuth === undefined) throw new DerError('DER_PROTO', 'auth request more before auth request')
        const payload = d.bytes()
        d.expectEnd()
        return this.serverAuthStep(payload)
      }
      case Tag.authReplyMore: {
        this.expect('auth')
        if (this.clientAuth === undefined) throw new DerError('DER_PROTO', 'unexpected auth reply')
        const payload = d.bytes()
        d.expectEnd()
        this.sendFrame(Tag.authRequestMore, new Encoder().bytes(this.clientAuth.more(payload)).finish())
        return
      }
      case Tag.authBadMethod: {
        this.expect('auth')
        const method = d.u32()
        const result = d.i32()
        const reason = d.string()
        m.stats.authFailures++
        const error = new DerError('DER_NO_PERM', `peer refused authentication (method ${method}, result ${result}): ${reason}`)
        const owner = this.owner
        this.close(error.message)
        owner?.close(error, true)
        return
      }
      case Tag.authDone: {
        this.expect('auth')
        if (this.clientAuth === undefined) throw new DerError('DER_PROTO', 'unexpected auth done')
        d.u64()
        d.u32()
        const payload = d.bytes()
        d.expectEnd()
        try {
          this.sessionKey = this.clientAuth.done(payload)
        } catch (error) {
          m.stats.authFailures++
          const owner = this.owner
          const e = toDerError(error)
          this.close(e.message)
          owner?.close(e, true)
          return
        }
        this.state = 'sign'
        this.sendSignature()
        return
      }
      case Tag.authSignature: {
        this.expect('sign')
        const signature = d.bytes()
        d.expectEnd()
        if (!signaturesMatch(signature, signTranscript(this.sessionKey as Uint8Array, this.signedTx))) {
          m.stats.authFailures++
          throw new DerError('DER_NO_PERM', 'handshake signature mismatch')
        }
        this.gotSignature = true
        return this.afterSignatures()
      }
      case Tag.clientIdent: {
        this.expect('ident')
        if (this.client) throw new DerError('DER_PROTO', 'client ident sent to a client')
        const uri = d.string()
        const nonce = d.u32()
        d.u64()
        const flags = d.u64()
        const cookie = d.u64()
        d.expectEnd()
        this.checkPeer(uri, nonce)
        m.acceptClientIdent(this, (flags & flagLossy) !== 0n, cookie)
        return
      }
      case Tag.sessionReconnect: {
        this.expect('ident')
        if (this.client) throw new DerError('DER_PROTO', 'reconnect sent to a client')
        const uri = d.string()
        const nonce = d.u32()
        const clientCookie = d.u64()
        const serverCookie = d.u64()
        d.u64()
        d.u64()
        const msgSeq = d.u64()
        d.expectEnd()
        this.checkPeer(uri, nonce)
        m.acceptReconnect(this, clientCookie, serverCookie, msgSeq)
        return
      }
      case Tag.serverIdent: {
        this.expect('ident')
        const session = this.clientSession()
        const uri = d.string()
        const nonce = d.u32()
        d.u64()
        d.u64()
        const cookie = d.u64()
        d.expectEnd()
        this.checkPeer(uri, nonce)
        session.serverCookie = cookie
        session.peerName = this.peer?.name
        session.peerNonce = nonce
        this.state = 'ready'
        session.open(this)
        return
      }
      case Tag.sessionReconnectOk: {
        this.expect('ident')
        const session = this.clientSession()
        const msgSeq = d.u64()
        d.expectEnd()
        session.ackUpTo(msgSeq)
        this.state = 'ready'
        session.open(this)
        return
      }
      case Tag.sessionReset: {
        this.expect('ident')
        const session = this.clientSession()
        d.bool()
        d.expectEnd()
        session.resetSession()
        this.sendIdent(session)
        return
      }
      case Tag.wait: {
        this.expect('ident')
        const session = this.clientSession()
        d.expectEnd()
        this.close('peer asked us to wait')
        session.waitForPeer(this)
        return
      }
      case Tag.ack: {
        this.expect('ready')
        const seq = d.u64()
        d.expectEnd()
        this.session?.ackUpTo(seq)
        this.pump()
        return
      }
      case Tag.keepalive2: {
        this.expect('ready')
        const sec = d.u32()
        const nsec = d.u32()
        d.expectEnd()
        this.sendFrame(Tag.keepalive2Ack, new Encoder().u32(sec).u32(nsec).finish())
        return
      }
      case Tag.keepalive2Ack: {
        this.expect('ready')
        d.u32()
        d.u32()
        d.expectEnd()
        this.lastKeepaliveAckMs = m.runtime.clock.monotonicMs()
        return
      }
      default:
        throw new DerError('DER_PROTO', `unknown frame tag ${tag}`)
    }
  }

  /** @internal server side: ends the ident phase. */
  reply(tag: number, control: Uint8Array): void {
    this.sendFrame(tag, control)
  }

  /** @internal server side: the session is ready on this transport. */
  ready(session: Connection): void {
    this.state = 'ready'
    session.open(this)
  }

  /** @internal server side: tell the client to wait, then close. */
  waitAndClose(): void {
    this.sendFrame(Tag.wait, new Uint8Array(0))
    this.closeAfterFlush = true
    this.pump()
  }

  private clientSession(): Connection {
    if (this.owner === undefined) throw new DerError('DER_PROTO', 'server-only frame sent to a server')
    return this.owner
  }

  private checkPeer(uri: string, nonce: number): void {
    if (this.peer === undefined || this.peer.uri !== uri || this.peer.nonce !== nonce) throw new DerError('DER_PROTO', 'ident does not match hello')
  }

  private serverAuthStep(payload: Uint8Array): void {
    let step
    try {
      step = (this.serverAuth as ServerAuth).step(payload)
    } catch (error) {
      return this.refuseAuth(this.authMethod?.id ?? 0, toDerError(error))
    }
    if ('more' in step) {
      this.sendFrame(Tag.authReplyMore, new Encoder().bytes(step.more).finish())
      return
    }
    this.sessionKey = step.sessionKey
    this.sendFrame(Tag.authDone, new Encoder().u64(0n).u32(1).bytes(step.done).finish())
    this.state = 'sign'
    this.sendSignature()
  }

  private refuseAuth(method: number, error: DerError): void {
    this.messenger.stats.authFailures++
    this.messenger.log.warn('refusing peer', { peer: this.fabric.peerAddress, reason: error.message })
    this.sendFrame(Tag.authBadMethod, new Encoder().u32(method).i32(error.code).string(error.message).finish())
    this.closeAfterFlush = true
    this.pump()
  }

  private sendSignature(): void {
    this.signedTx = this.txTranscript ?? []
    const signature = signTranscript(this.sessionKey as Uint8Array, this.rxTranscript ?? [])
    this.txTranscript = undefined
    this.rxTranscript = undefined
    this.sendFrame(Tag.authSignature, new Encoder().bytes(signature).finish())
    this.sentSignature = true
    this.afterSignatures()
  }

  private afterSignatures(): void {
    if (!this.sentSignature || !this.gotSignature) return
    this.state = 'ident'
    if (this.client) this.sendIdent(this.clientSession())
  }

  private sendIdent(session: Connection): void {
    const me = this.messenger.address
    if (session.everOpen && !session.lossy) {
      this.sendFrame(
        Tag.sessionReconnect,
        new Encoder().string(me.uri).u32(me.nonce).u64(session.clientCookie).u64(session.serverCookie).u64(0n).u64(session.connectSeq).u64(session.inSeq).finish(),
      )
    } else {
      if (session.clientCookie === 0n) session.clientCookie = this.messenger.newCookie()
      this.sendFrame(Tag.clientIdent, new Encoder().string(me.uri).u32(me.nonce).u64(0n).u64(session.lossy ? flagLossy : 0n).u64(session.clientCookie).finish())
    }
  }

  private onMessage(segments: readonly Uint8Array[]): void {
    if (this.state !== 'ready') this.expect('ready')
    const session = this.session
    if (session === undefined) throw new DerError('DER_PROTO', 'message without a session')
    const header = decodeMessageHeader(segments[0] as Uint8Array)
    if (header.ackSeq > 0n) session.ackUpTo(header.ackSeq)
    if (header.seq <= session.inSeq) {
      session.stats.duplicatesDropped++
      this.messenger.stats.duplicatesDropped++
      this.scheduleAck()
      return
    }
    if (header.seq !== session.inSeq + 1n) throw new DerError('DER_PROTO', `sequence gap: expected ${session.inSeq + 1n}, got ${header.seq}`)
    session.inSeq = header.seq
    session.stats.messagesReceived++
    let bytes = 0
    for (const segment of segments) bytes += segment.length
    this.bytesSinceAck += bytes
    if (header.seq - this.ackedSeq >= ackEveryMessages || this.bytesSinceAck >= ackEveryBytes) {
      // Streaming: ack now rather than on the next timer turn, so the sender's window keeps moving
      // (large messages: after every ackEveryBytes, or a few in flight would wait for the timer).
      this.sendAck(header.seq)
    } else {
      this.scheduleAck()
    }
    let decoded
    try {
      decoded = this.messenger.registry.decode(header.type, segments[1] ?? empty)
    } catch (error) {
      this.messenger.stats.undecodable++
      this.messenger.log.warn('dropping undecodable message', { peer: this.fabric.peerAddress, type: header.type, reason: (error as Error).message })
      return
    }
    const message = new InboundMessage(
      decoded.type,
      decoded.payload,
      segments[2] ?? empty,
      segments[3] ?? empty,
      header.priority,
      header.seq,
      header.tid,
      this.peer?.name as EntityName,
      session,
      bytes,
    )
    this.messenger.deliver(message, bytes, this)
  }

  private scheduleAck(): void {
    if (this.ackTimer !== undefined) return
    this.ackTimer = this.messenger.runtime.timers.schedule(0, () => {
      this.ackTimer = undefined
      const session = this.session
      if (session === undefined || this.state !== 'ready' || session.inSeq <= this.ackedSeq) return
      this.sendAck(session.inSeq)
    })
  }

  private sendAck(seq: bigint): void {
    this.ackedSeq = seq
    this.bytesSinceAck = 0
    const control = Buffer.allocUnsafe(8)
    control.writeBigUInt64LE(seq, 0)
    this.sendFrame(Tag.ack, control)
  }
}
