/**
 * The `tcp` provider: endpoints on real sockets (Node `net`). Messages are framed on the stream;
 * RMA is emulated: reads are a request answered by data chunks, writes are data chunks answered
 * by a status. Bulk chunks (64 KiB) are interleaved with control frames and messages, so a large
 * transfer does not hold up small messages to the same peer (they wait for at most the chunk being
 * written and the socket's write budget).
 *
 * @module
 */
import { Decoder, DerError, Encoder, type Logger, type Runtime, type TimerHandle, silentLogger, toDerError } from '@x/common'
import net from 'node:net'
import { formatAddress, parseAddress } from '../address.ts'
import { BaseConnection, BaseEndpoint, type PendingOperation } from '../base.ts'
import type { Connection, Endpoint, EndpointOptions, Fabric } from '../types.ts'
import { type FrameHeader, FrameType, chunkBytes, decodeHeader, encodeHeader, headerBytes, maxHelloBytes, wireVersion } from './wire.ts'

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

interface ControlEntry {
  header: Buffer
  payload: Uint8Array | readonly Uint8Array[] | undefined
  length: number
  op: PendingOperation | undefined
}

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

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
}
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
  private readonly chunks: Buffer[] = []
  private buffered = 0
  private header: FrameHeader | undefined
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
    const entry: ControlEntry = { header: encodeHeader(FrameType.message, 0, length, tag, 0, 0, 0), payload: parts, length, op }
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
    this.queueControl(encodeHeader(FrameType.readRequest, 0, 0, op.id, into.length, key, offset))
  }

  protected transmitWrite(op: PendingOperation, key: number, offset: number, from: Uint8Array): void {
    this.writes.set(op.id, op)
    this.bulk.push({ type: FrameType.writeData, id: op.id, key, baseOffset: offset, data: from, position: 0, op, onLast: () => {} })
    this.schedulePump()
  }

  protected transmitClose(): void {
    if (!this.socket.destroyed && this.helloSent) this.socket.write(encodeHeader(FrameType.close, 0, 0, 0, 0, 0, 0))
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

  private queueControl(header: Buffer, payload?: Uint8Array): void {
    this.control.push({ header, payload, length: payload?.length ?? 0, op: undefined })
    this.schedulePump()
  }

  private pump(): void {
    if (this.pumping || this.waitingDrain || this.socket.destroyed || !this.helloReceived) return
    this.pumping = true
    const socket = this.socket
    const budget = this.fabric.writeBudgetBytes
    socket.cork()
    try {
      while (socket.writableLength < budget && this.state === 'established') {
        const entry = this.control.shift()
        if (entry !== undefined) {
          const payload = entry.payload
          const op = entry.op
          // A send completes once its bytes reached the kernel: only then may the caller reuse them.
          const done =
            op === undefined
              ? undefined
              : (error?: Error | null): void => {
                  if (error === undefined || error === null) this.finish(op, { status: 'ok', bytes: entry.length })
                }
          if (op !== undefined) op.withdraw = undefined
          if (payload === undefined || payload.length === 0) {
            socket.write(entry.header, done)
          } else {
            socket.write(entry.header)
            if (payload instanceof Uint8Array) socket.write(payload, done)
            else payload.forEach((part, i) => socket.write(part, i === payload.length - 1 ? done : undefined))
          }
          continue
        }
        const job = this.bulk.shift()
        if (job === undefined) break
        this.writeChunk(job)
      }
    } finally {
      socket.uncork()
      this.pumping = false
    }
    if ((this.control.length > 0 || this.bulk.length > 0) && socket.writableLength >= budget && !socket.destroyed) this.waitingDrain = true
  }

  private writeChunk(job: BulkJob): void {
    const socket = this.socket
    const total = job.data.length
    if (job.op !== undefined && job.op.done) {
      // Cancelled mid-way: tell the target to forget the transfer.
      if (job.position > 0) socket.write(encodeHeader(job.type, lastChunk | abortedChunk, 0, job.id, 0, job.key, job.baseOffset + job.position))
      return
    }
    if (total === 0 && job.type === FrameType.readData) {
      job.onLast()
      return
    }
    const length = Math.min(chunkBytes, total - job.position)
    const last = job.position + length >= total
    const offset = job.type === FrameType.writeData ? job.baseOffset + job.position : job.position
    socket.write(encodeHeader(job.type, last ? lastChunk : 0, length, job.id, 0, job.key, offset))
    if (length > 0) socket.write(job.data.subarray(job.position, job.position + length))
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
    while (this.state !== 'closed') {
      if (this.header === undefined) {
        if (this.buffered < headerBytes) return
        const header = decodeHeader(this.take(headerBytes))
        if (typeof header === 'string') return this.protocolError(header)
        const problem = this.checkHeader(header)
        if (problem !== undefined) return this.protocolError(problem)
        this.header = header
      }
      const header = this.header
      if (this.buffered < header.length) return
      this.header = undefined
      this.handle(header)
      if (!this.socketPaused && header.type === FrameType.message && !this.accepting) this.updateFlow()
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
        return this.deliver(header.id, asBytes(this.take(header.length)))
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
    this.skip(header.length)
    const source = this.endpoint.regions.resolve(header.key, header.offset, header.status, 'read')
    if (source instanceof DerError) {
      this.sendDone(FrameType.readDone, header.id, source)
      return
    }
    this.bulk.push({
      type: FrameType.readData,
      id: header.id,
      key: 0,
      baseOffset: 0,
      data: source,
      position: 0,
      op: undefined,
      onLast: () => this.sendDone(FrameType.readDone, header.id, undefined),
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
    this.queueControl(encodeHeader(type, 0, payload?.length ?? 0, id, error?.code ?? 0, 0, 0), payload)
  }

  private protocolError(reason: string, code: 'DER_PROTO' | 'DER_TIMEDOUT' = 'DER_PROTO'): void {
    if (this.state === 'closed') return
    this.fabric.stats.protocolErrors++
    this.fabric.logger.warn('dropping connection', { peer: this.peerAddress, reason })
    this.socket.destroy()
    const error = new DerError(code, reason)
    this.down(this.state === 'connecting' && this.initiator ? 'refused' : 'reset', error)
  }

  private take(length: number): Buffer {
    this.buffered -= length
    const first = this.chunks[0]
    if (first !== undefined && first.length >= length) {
      if (first.length === length) this.chunks.shift()
      else this.chunks[0] = first.subarray(length)
      return first.subarray(0, length)
    }
    const out = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer
      const n = Math.min(chunk.length, length - filled)
      chunk.copy(out, filled, 0, n)
      filled += n
      if (n === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(n)
    }
    return out
  }

  private copyOut(length: number, into: Uint8Array, at: number): void {
    this.buffered -= length
    let filled = 0
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer
      const n = Math.min(chunk.length, length - filled)
      into.set(n === chunk.length ? chunk : chunk.subarray(0, n), at + filled)
      filled += n
      if (n === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(n)
    }
  }

  private skip(length: number): void {
    this.buffered -= length
    let left = length
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer
      if (chunk.length <= left) {
        left -= chunk.length
        this.chunks.shift()
      } else {
        this.chunks[0] = chunk.subarray(left)
        left = 0
      }
    }
  }
}
