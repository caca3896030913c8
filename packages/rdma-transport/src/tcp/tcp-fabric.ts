/**
 * The `tcp` provider: endpoints on real sockets (Node `net`). Messages are framed on the stream;
 * RMA is emulated: reads are a request answered by data chunks, writes are data chunks answered
 * by a status. Bulk chunks (64 KiB) are interleaved with control frames and messages, so a large
 * transfer does not hold up small messages to the same peer (they wait for at most the chunk being
 * written and the socket's write budget).
 *
 * Writing: the frames of one turn go out in one corked write. Headers and payloads up to 16 KiB
 * are copied into a write slab (so a send of small parts completes at once and many frames make
 * one buffer); larger parts are written by reference (scatter/gather), and their send completes
 * when the socket took them. Reading: a frame that lies inside one received chunk is handed out
 * as a view of it (no copy); only frames spanning chunks are assembled. Headers are decoded into
 * one reused object (no allocation per frame).
 *
 * @module
 */
import { Decoder, DerError, Encoder, type Logger, type Runtime, type TimerHandle, silentLogger, toDerError } from '@x/common'
import net from 'node:net'
import { formatAddress, parseAddress } from '../address.ts'
import { BaseConnection, BaseEndpoint, type PendingOperation } from '../base.ts'
import type { Connection, Endpoint, EndpointOptions, Fabric } from '../types.ts'
import { type FrameHeader, FrameType, chunkBytes, decodeHeaderInto, encodeHeader, headerBytes, maxHelloBytes, wireVersion, writeHeader } from './wire.ts'

/** Options of {@link TcpFabric}. */
export interface TcpFabricOptions {
  /** Timers for connect and handshake timeouts (`createRealRuntime()`). */
  readonly runtime: Runtime
  /** Host that endpoints opened without `listen` bind to (default 127.0.0.1). */
  readonly host?: string
  /** A connect that is not established by then is refused (default 10 s). */
  readonly connectTimeoutMs?: number
  /** Bytes queued in a socket before we wait for it to drain (default 1 MiB). */
  readonly writeBudgetBytes?: number
  /** Where protocol errors are reported (default silent). */
  readonly logger?: Logger
}

/** Counters of the tcp provider. */
export interface TcpFabricStats {
  /** Connections dropped for malformed input. */
  protocolErrors: number
}

/** The tcp provider. Every endpoint listens (on `host:0` when no `listen` is given). */
export class TcpFabric implements Fabric {
  readonly provider = 'tcp'
  readonly runtime: Runtime
  readonly host: string
  readonly connectTimeoutMs: number
  readonly writeBudgetBytes: number
  readonly logger: Logger
  /** Counters. */
  readonly stats: TcpFabricStats = { protocolErrors: 0 }
  private readonly endpoints = new Set<TcpEndpoint>()

  constructor(options: TcpFabricOptions) {
    this.runtime = options.runtime
    this.host = options.host ?? '127.0.0.1'
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.writeBudgetBytes = options.writeBudgetBytes ?? 1024 * 1024
    this.logger = options.logger ?? silentLogger('fabric')
  }

  async open(options: EndpointOptions = {}): Promise<Endpoint> {
    const parsed = parseAddress(options.listen ?? `tcp://${this.host}:0`)
    if (parsed.provider !== 'tcp') throw new DerError('DER_INVAL', `the tcp provider cannot listen on ${options.listen}`)
    const endpoint = new TcpEndpoint(this, options)
    await endpoint.listen(parsed.host, parsed.port)
    this.endpoints.add(endpoint)
    return endpoint
  }

  async close(): Promise<void> {
    for (const endpoint of [...this.endpoints]) await endpoint.close()
  }

  /** @internal */
  removed(endpoint: TcpEndpoint): void {
    this.endpoints.delete(endpoint)
  }
}

/** An endpoint of the {@link TcpFabric}. */
export class TcpEndpoint extends BaseEndpoint {
  address = 'tcp://0.0.0.0:0'
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  constructor(
    readonly fabric: TcpFabric,
    options: EndpointOptions,
  ) {
    super(options, fabric.runtime.random.fork())
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
  }

  /** @internal */
  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new DerError('DER_UNREACH', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error }))
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        const bound = this.server.address() as net.AddressInfo
        this.address = formatAddress({ provider: 'tcp', host, port: bound.port })
        resolve()
      })
    })
  }

  connect(address: string): Promise<Connection> {
    let parsed
    try {
      parsed = parseAddress(address)
    } catch (error) {
      return Promise.reject(toDerError(error))
    }
    if (parsed.provider !== 'tcp') return Promise.reject(new DerError('DER_INVAL', `the tcp provider cannot reach ${address}`))
    if (this.closed) return Promise.reject(new DerError('DER_SHUTDOWN', 'endpoint is closed'))
    const target = formatAddress(parsed)
    const socket = net.connect({ host: parsed.host, port: parsed.port, noDelay: true })
    this.adopt(socket)
    const connection = new TcpConnection(this, this.nextConnectionId(), true, target, socket)
    this.track(connection)
    return new Promise((resolve, reject) => {
      connection.onSettled = (error) => (error === undefined ? resolve(connection) : reject(error))
      socket.once('connect', () => connection.sendHello())
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.downAll(false, new DerError('DER_SHUTDOWN', 'endpoint closed'))
    this.regions.clear()
    this.fabric.removed(this)
    await new Promise<void>((resolve) => {
      const timer = this.fabric.runtime.timers.schedule(
        1000,
        () => {
          for (const socket of this.sockets) socket.destroy()
        },
        { unref: true },
      )
      this.server.close(() => {
        this.fabric.runtime.timers.cancel(timer)
        resolve()
      })
    })
  }

  private accept(socket: net.Socket): void {
    if (!this.canAccept) {
      socket.destroy()
      return
    }
    this.adopt(socket)
    const observed = `tcp://${socket.remoteAddress ?? '0.0.0.0'}:${socket.remotePort ?? 0}`
    const connection = new TcpConnection(this, this.nextConnectionId(), false, observed, socket)
    this.track(connection)
  }

  private adopt(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }
}

/** A frame waiting in the control queue: its header fields, payload and (for sends) operation. */
interface ControlEntry {
  type: number
  id: number
  status: number
  key: number
  offset: number
  payload: Uint8Array | readonly Uint8Array[] | undefined
  length: number
  op: PendingOperation | undefined
}

/** Payload parts up to this size are copied into the write slab, so many frames go out in one write. */
const copyLimitBytes = 16 * 1024
/** Size of a write slab: small frames are assembled in it and written as one buffer. */
const slabBytes = 64 * 1024

interface BulkJob {
  type: typeof FrameType.readData | typeof FrameType.writeData
  id: number
  key: number
  baseOffset: number
  data: Uint8Array
  position: number
  /** The initiator's operation (writes); a cancelled one stops sending. */
  op: PendingOperation | undefined
  onLast: () => void
}

interface PendingRead {
  op: PendingOperation
  into: Uint8Array
}

const lastChunk = 1

const abortedChunk = 2

/** A connection of the {@link TcpFabric}. */
export class TcpConnection extends BaseConnection {
  /** @internal resolves or rejects the `connect` promise. */
  onSettled: ((error?: DerError) => void) | undefined
  private readonly control: ControlEntry[] = []
  private readonly bulk: BulkJob[] = []
  private readonly reads = new Map<number, PendingRead>()
  private readonly writes = new Map<number, PendingOperation>()
  private readonly failedWrites = new Map<number, DerError>()
  /** Received bytes not parsed yet: `chunks[0]` from `chunkOffset` on, then the other chunks. */
  private readonly chunks: Buffer[] = []
  private chunkOffset = 0
  private buffered = 0
  /** The header being handled (one object reused for every frame). */
  private readonly frame: FrameHeader = { type: 0, flags: 0, length: 0, id: 0, status: 0, key: 0, offset: 0 }
  private haveHeader = false
  private parsing = false
  /** Where small frames are assembled during a pump: `slab[slabStart, slabEnd)` is not written yet. */
  private slab: Buffer = Buffer.alloc(0)
  private slabStart = 0
  private slabEnd = 0
  private pumping = false
  private waitingDrain = false
  private helloSent = false
  private helloReceived = false
  private endReceived = false
  private socketPaused = false
  private handshakeTimer: TimerHandle | undefined
  private readonly fabric: TcpFabric

  constructor(
    endpoint: TcpEndpoint,
    id: number,
    initiator: boolean,
    peerAddress: string,
    private readonly socket: net.Socket,
  ) {
    super(endpoint, id, initiator, peerAddress)
    this.fabric = endpoint.fabric
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => {
      this.endReceived = true
      socket.end()
    })
    socket.on('error', (error) => this.lastError = error)
    socket.on('close', () => this.onSocketClose())
    socket.on('drain', () => {
      this.waitingDrain = false
      this.pump()
    })
    this.handshakeTimer = this.fabric.runtime.timers.schedule(
      this.fabric.connectTimeoutMs,
      () => this.protocolError(`no handshake within ${this.fabric.connectTimeoutMs} ms`, 'DER_TIMEDOUT'),
      { unref: true },
    )
  }

  private unlisten: (() => void) | undefined

  private lastError: Error | undefined

  /** @internal */
  sendHello(): void {
    if (this.helloSent || this.state === 'closed') return
    this.helloSent = true
    const payload = new Encoder().u32(wireVersion).string(this.endpoint.address).u32(this.endpoint.maxUnexpectedBytes).finish()
    this.socket.write(encodeHeader(FrameType.hello, 0, payload.length, 0, 0, 0, 0))
    this.socket.write(payload)
  }

  protected transmitSend(op: PendingOperation, tag: number, parts: readonly Uint8Array[], length: number): void {
    const entry: ControlEntry = { type: FrameType.message, id: tag, status: 0, key: 0, offset: 0, payload: parts.length === 1 ? parts[0] : parts, length, op }
    this.control.push(entry)
    op.withdraw = () => {
      const index = this.control.indexOf(entry)
      if (index < 0) return false
      this.control.splice(index, 1)
      return true
    }
    this.schedulePump()
  }

  protected transmitRead(op: PendingOperation, key: number, offset: number, into: Uint8Array): void {
    this.reads.set(op.id, { op, into })
    this.queueControl(FrameType.readRequest, op.id, into.length, key, offset)
  }

  protected transmitWrite(op: PendingOperation, key: number, offset: number, from: Uint8Array): void {
    this.writes.set(op.id, op)
    this.bulk.push({ type: FrameType.writeData, id: op.id, key, baseOffset: offset, data: from, position: 0, op, onLast: () => {} })
    this.schedulePump()
  }

  protected transmitClose(): void {
    if (!this.socket.destroyed && this.helloSent) {
      // Frames already assembled in this pump (their sends completed) go out before the close.
      this.flushSlab()
      this.socket.write(encodeHeader(FrameType.close, 0, 0, 0, 0, 0, 0))
    }
  }

  protected override onPauseChange(): void {
    this.updateFlow()
  }

  protected override onDown(): void {
    this.unlisten?.()
    this.unlisten = undefined
    if (this.handshakeTimer !== undefined) this.fabric.runtime.timers.cancel(this.handshakeTimer)
    this.control.length = 0
    this.bulk.length = 0
    this.reads.clear()
    this.writes.clear()
    if (this.endReceived || !this.socket.destroyed) this.socket.end()
    if (this.onSettled !== undefined) {
      const settle = this.onSettled
      this.onSettled = undefined
      settle(new DerError('DER_UNREACH', `connection to ${this.peerAddress} refused`))
    }
  }

  private pumpScheduled = false

  /** Coalesces the posts of one turn into one corked write (one writev). */
  private schedulePump(): void {
    if (this.pumpScheduled) return
    this.pumpScheduled = true
    queueMicrotask(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  private queueControl(type: number, id: number, status: number, key: number, offset: number, payload?: Uint8Array): void {
    this.control.push({ type, id, status, key, offset, payload, length: payload?.length ?? 0, op: undefined })
    this.schedulePump()
  }

  private pump(): void {
    if (this.pumping || this.waitingDrain || this.socket.destroyed || !this.helloReceived) return
    this.pumping = true
    const socket = this.socket
    const budget = this.fabric.writeBudgetBytes
    socket.cork()
    try {
      while (socket.writableLength + this.slabEnd - this.slabStart < budget && this.state === 'established') {
        const entry = this.control.shift()
        if (entry !== undefined) {
          this.writeControl(entry)
          continue
        }
        const job = this.bulk.shift()
        if (job === undefined) break
        this.writeChunk(job)
      }
    } finally {
      this.flushSlab()
      socket.uncork()
      this.pumping = false
    }
    if ((this.control.length > 0 || this.bulk.length > 0) && socket.writableLength >= budget && !socket.destroyed) this.waitingDrain = true
  }

  /**
   * Writes a control frame or message. Small payloads are copied into the slab, so the send
   * completes at once (the caller may reuse its bytes); a large part is written by reference and
   * the send completes when the socket took it.
   */
  private writeControl(entry: ControlEntry): void {
    const op = entry.op
    if (op !== undefined) op.withdraw = undefined
    this.putHeader(entry.type, 0, entry.length, entry.id, entry.status, entry.key, entry.offset)
    const payload = entry.payload
    let referenced = false
    if (payload instanceof Uint8Array) {
      referenced = this.putBytes(payload, op, entry.length)
    } else if (payload !== undefined) {
      let lastLarge = -1
      for (let i = 0; i < payload.length; i++) if ((payload[i] as Uint8Array).length > copyLimitBytes) lastLarge = i
      for (let i = 0; i < payload.length; i++) this.putBytes(payload[i] as Uint8Array, i === lastLarge ? op : undefined, entry.length)
      referenced = lastLarge >= 0
    }
    if (op !== undefined && !referenced) this.finish(op, { status: 'ok', bytes: entry.length })
  }

  /** Makes room for `bytes` in the slab (flushing what it holds when it is full). */
  private room(bytes: number): void {
    if (this.slab.length - this.slabEnd >= bytes) return
    this.flushSlab()
    this.slab = Buffer.allocUnsafeSlow(Math.max(slabBytes, bytes))
    this.slabStart = 0
    this.slabEnd = 0
  }

  /** Writes what the slab holds; the slab's bytes are never reused, so the socket may keep them. */
  private flushSlab(): void {
    if (this.slabEnd === this.slabStart) return
    // A completion handler run during the pump may have closed the connection: drop the rest.
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.write(this.slab.subarray(this.slabStart, this.slabEnd))
    this.slabStart = this.slabEnd
  }

  private putHeader(type: number, flags: number, length: number, id: number, status: number, key: number, offset: number): void {
    this.room(headerBytes)
    writeHeader(this.slab, this.slabEnd, type, flags, length, id, status, key, offset)
    this.slabEnd += headerBytes
  }

  /**
   * Appends payload bytes: copied when small, else written by reference after the slab; `op`
   * (a send) then completes when the socket took them. Returns whether they were referenced.
   */
  private putBytes(part: Uint8Array, op: PendingOperation | undefined, length: number): boolean {
    if (part.length <= copyLimitBytes) {
      if (part.length > 0) {
        this.room(part.length)
        this.slab.set(part, this.slabEnd)
        this.slabEnd += part.length
      }
      return false
    }
    this.flushSlab()
    if (op === undefined) {
      this.socket.write(part)
    } else {
      this.socket.write(part, (error?: Error | null) => {
        if (error === undefined || error === null) this.finish(op, { status: 'ok', bytes: length })
      })
    }
    return true
  }

  private writeChunk(job: BulkJob): void {
    const total = job.data.length
    if (job.op !== undefined && job.op.done) {
      // Cancelled mid-way: tell the target to forget the transfer.
      if (job.position > 0) this.putHeader(job.type, lastChunk | abortedChunk, 0, job.id, 0, job.key, job.baseOffset + job.position)
      return
    }
    if (total === 0 && job.type === FrameType.readData) {
      job.onLast()
      return
    }
    const length = Math.min(chunkBytes, total - job.position)
    const last = job.position + length >= total
    const offset = job.type === FrameType.writeData ? job.baseOffset + job.position : job.position
    this.putHeader(job.type, last ? lastChunk : 0, length, job.id, 0, job.key, offset)
    if (length > 0) this.putBytes(job.data.subarray(job.position, job.position + length), undefined, length)
    job.position += length
    // Bulk transfers go one after the other (each completes as early as possible); control
    // frames and messages still pass between any two chunks.
    if (last) job.onLast()
    else this.bulk.unshift(job)
  }

  private updateFlow(): void {
    if (this.state === 'closed') return
    const stop = !this.accepting
    if (stop && !this.socketPaused) {
      this.socketPaused = true
      this.socket.pause()
      this.unlisten ??= this.endpoint.completions.onAvailable(() => this.updateFlow())
    } else if (!stop && this.socketPaused) {
      this.socketPaused = false
      this.unlisten?.()
      this.unlisten = undefined
      this.socket.resume()
      this.parse()
    }
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return
    if (this.state === 'connecting') {
      this.down('refused', new DerError('DER_UNREACH', `connection to ${this.peerAddress} refused: ${this.lastError?.message ?? 'closed during handshake'}`))
    } else if (this.endReceived && this.lastError === undefined) {
      this.down('closed', new DerError('DER_SHUTDOWN', 'closed by peer'))
    } else {
      this.down('reset', new DerError('DER_UNREACH', `connection reset: ${this.lastError?.message ?? 'socket closed'}`))
    }
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return
    this.chunks.push(chunk)
    this.buffered += chunk.length
    this.parse()
  }

  private parse(): void {
    // A handler may resume the connection, which parses again: the outer loop goes on instead.
    if (this.parsing) return
    this.parsing = true
    try {
      this.parseFrames()
    } finally {
      this.parsing = false
    }
  }

  private parseFrames(): void {
    const frame = this.frame
    while (this.state !== 'closed') {
      if (!this.haveHeader) {
        if (this.buffered < headerBytes) return
        const first = this.chunks[0] as Buffer
        let problem: string | undefined
        if (first.length - this.chunkOffset >= headerBytes) {
          problem = decodeHeaderInto(first, this.chunkOffset, frame)
          this.consumeFirst(headerBytes)
        } else {
          problem = decodeHeaderInto(this.take(headerBytes), 0, frame)
        }
        if (problem !== undefined) return this.protocolError(problem)
        problem = this.checkHeader(frame)
        if (problem !== undefined) return this.protocolError(problem)
        this.haveHeader = true
      }
      if (this.buffered < frame.length) return
      this.haveHeader = false
      const type = frame.type
      this.handle(frame)
      if (!this.socketPaused && type === FrameType.message && !this.accepting) this.updateFlow()
      if (this.socketPaused) return
    }
  }

  private checkHeader(header: FrameHeader): string | undefined {
    if (!this.helloReceived && header.type !== FrameType.hello) return `frame type ${header.type} before hello`
    if (this.helloReceived && header.type === FrameType.hello) return 'second hello'
    switch (header.type) {
      case FrameType.hello:
        return header.length > maxHelloBytes ? `hello of ${header.length} bytes` : undefined
      case FrameType.message:
        return header.length > this.endpoint.maxUnexpectedBytes ? `message of ${header.length} bytes exceeds our limit of ${this.endpoint.maxUnexpectedBytes}` : undefined
      case FrameType.readData:
      case FrameType.writeData:
        return header.length > 16 * chunkBytes ? `data chunk of ${header.length} bytes` : undefined
      default:
        return header.length > maxHelloBytes ? `control frame of ${header.length} bytes` : undefined
    }
  }

  private handle(header: FrameHeader): void {
    switch (header.type) {
      case FrameType.hello:
        return this.onHello(this.take(header.length))
      case FrameType.message:
        return this.deliver(header.id, this.takeBytes(header.length))
      case FrameType.readRequest:
        return this.onReadRequest(header)
      case FrameType.readData:
        return this.onReadData(header)
      case FrameType.readDone:
        return this.onDone(this.reads.get(header.id)?.op, header, () => this.reads.delete(header.id))
      case FrameType.writeData:
        return this.onWriteData(header)
      case FrameType.writeDone:
        return this.onDone(this.writes.get(header.id), header, () => this.writes.delete(header.id))
      case FrameType.close:
        this.skip(header.length)
        this.down('closed', new DerError('DER_SHUTDOWN', 'closed by peer'))
        return
    }
  }

  private onHello(payload: Buffer): void {
    let version: number
    let address: string
    let maxUnexpected: number
    try {
      const decoder = new Decoder(payload)
      version = decoder.u32()
      address = decoder.string()
      maxUnexpected = decoder.u32()
      decoder.expectEnd()
      const parsed = parseAddress(address)
      if (parsed.provider !== 'tcp') throw new DerError('DER_INVAL', 'not a tcp address')
    } catch (error) {
      return this.protocolError(`bad hello: ${(error as Error).message}`)
    }
    if (version !== wireVersion) return this.protocolError(`unsupported wire version ${version}`)
    if (maxUnexpected < 1) return this.protocolError('peer accepts no messages')
    this.helloReceived = true
    if (this.handshakeTimer !== undefined) this.fabric.runtime.timers.cancel(this.handshakeTimer)
    this.handshakeTimer = undefined
    if (!this.initiator) this.sendHello()
    this.established(this.initiator ? this.peerAddress : address, maxUnexpected)
    const settle = this.onSettled
    this.onSettled = undefined
    settle?.()
    this.pump()
  }

  private onReadRequest(header: FrameHeader): void {
    // `header` is reused for the next frame: keep what the closure below needs.
    const id = header.id
    this.skip(header.length)
    const source = this.endpoint.regions.resolve(header.key, header.offset, header.status, 'read')
    if (source instanceof DerError) {
      this.sendDone(FrameType.readDone, header.id, source)
      return
    }
    this.bulk.push({
      type: FrameType.readData,
      id,
      key: 0,
      baseOffset: 0,
      data: source,
      position: 0,
      op: undefined,
      onLast: () => this.sendDone(FrameType.readDone, id, undefined),
    })
    this.schedulePump()
  }

  private onReadData(header: FrameHeader): void {
    const read = this.reads.get(header.id)
    if (read === undefined || read.op.done) {
      this.skip(header.length)
      return
    }
    if (header.offset + header.length > read.into.length) return this.protocolError(`read data beyond the buffer of request ${header.id}`)
    this.copyOut(header.length, read.into, header.offset)
  }

  private onWriteData(header: FrameHeader): void {
    const failed = this.failedWrites.get(header.id)
    const last = (header.flags & lastChunk) !== 0
    if (failed === undefined && (header.flags & abortedChunk) === 0) {
      const target = this.endpoint.regions.resolve(header.key, header.offset, header.length, 'write')
      if (target instanceof DerError) {
        this.skip(header.length)
        this.failedWrites.set(header.id, target)
      } else {
        this.copyOut(header.length, target, 0)
      }
    } else {
      this.skip(header.length)
    }
    if (last) {
      const error = this.failedWrites.get(header.id)
      this.failedWrites.delete(header.id)
      if ((header.flags & abortedChunk) === 0) this.sendDone(FrameType.writeDone, header.id, error)
    }
  }

  private onDone(op: PendingOperation | undefined, header: FrameHeader, forget: () => void): void {
    const message = this.take(header.length).toString('utf8')
    forget()
    if (op === undefined || op.done) return
    if (header.status === 0) {
      this.finish(op, { status: 'ok', bytes: op.maxBytes })
      return
    }
    let error: DerError
    try {
      error = DerError.fromCode(header.status, message)
    } catch {
      error = new DerError('DER_PROTO', `peer sent unknown status ${header.status}: ${message}`)
    }
    this.finish(op, { status: 'error', error, bytes: 0 })
  }

  private sendDone(type: number, id: number, error: DerError | undefined): void {
    const payload = error === undefined ? undefined : Buffer.from(error.message.slice(0, 1000), 'utf8')
    this.queueControl(type, id, error?.code ?? 0, 0, 0, payload)
  }

  private protocolError(reason: string, code: 'DER_PROTO' | 'DER_TIMEDOUT' = 'DER_PROTO'): void {
    if (this.state === 'closed') return
    this.fabric.stats.protocolErrors++
    this.fabric.logger.warn('dropping connection', { peer: this.peerAddress, reason })
    this.socket.destroy()
    const error = new DerError(code, reason)
    this.down(this.state === 'connecting' && this.initiator ? 'refused' : 'reset', error)
  }

  /** Drops `length` bytes that lie inside the first chunk. */
  private consumeFirst(length: number): void {
    this.buffered -= length
    this.chunkOffset += length
    const first = this.chunks[0] as Buffer
    if (this.chunkOffset === first.length) {
      this.chunks.shift()
      this.chunkOffset = 0
    }
  }

  /** The next `length` bytes: a view when they lie in one chunk, else a copy. */
  private take(length: number): Buffer {
    const first = this.chunks[0]
    if (first !== undefined && first.length - this.chunkOffset >= length) {
      const out = first.subarray(this.chunkOffset, this.chunkOffset + length)
      this.consumeFirst(length)
      return out
    }
    const out = length > 4096 ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length)
    this.copyOut(length, out, 0)
    return out
  }

  /** The next `length` bytes as a plain `Uint8Array` (a view when they lie in one chunk). */
  private takeBytes(length: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.length - this.chunkOffset >= length) {
      const out = new Uint8Array(first.buffer, first.byteOffset + this.chunkOffset, length)
      if (length > 0) this.consumeFirst(length)
      return out
    }
    const out = this.take(length)
    return new Uint8Array(out.buffer, out.byteOffset, length)
  }

  private copyOut(length: number, into: Uint8Array, at: number): void {
    this.buffered -= length
    let filled = 0
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer
      const n = Math.min(chunk.length - this.chunkOffset, length - filled)
      into.set(this.chunkOffset === 0 && n === chunk.length ? chunk : chunk.subarray(this.chunkOffset, this.chunkOffset + n), at + filled)
      filled += n
      this.chunkOffset += n
      if (this.chunkOffset === chunk.length) {
        this.chunks.shift()
        this.chunkOffset = 0
      }
    }
  }

  private skip(length: number): void {
    this.buffered -= length
    let left = length
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer
      const n = Math.min(chunk.length - this.chunkOffset, left)
      left -= n
      this.chunkOffset += n
      if (this.chunkOffset === chunk.length) {
        this.chunks.shift()
        this.chunkOffset = 0
      }
    }
  }
}
