/**
 * What every provider shares: operation bookkeeping (exactly-once completion), posted receives and
 * tag matching, back-pressure on unexpected messages, the registered-memory table, and the
 * endpoint's queues. Providers supply the wire by implementing the abstract `transmit*` hooks.
 *
 * @module
 */
import { DerError, type Random, assert } from '@x/common'
import { FabricCompletionQueue, FabricEventQueue } from './queues.ts'
import type {
  AccessFlags,
  Completion,
  Connection,
  ConnectionState,
  Endpoint,
  EndpointOptions,
  FabricEventType,
  MemoryRegion,
  Operation,
  OperationKind,
  PostOptions,
  RemoteMemory,
} from './types.ts'

/** Default largest unexpected message (1 MiB). */
export const defaultMaxUnexpectedBytes = 1 << 20
/** Default completion queue capacity. */
export const defaultCompletionCapacity = 4096
/** Default event queue capacity. */
export const defaultEventCapacity = 1024
/** Largest tag (tags are u32). */
export const maxTag = 0xffff_ffff
/** Largest key and offset on the wire (48 bits). */
export const maxWireInteger = 2 ** 48 - 1

/** @internal a posted operation. */
export class PendingOperation implements Operation {
  done = false
  /** Provider hook: withdraws the operation if it has not been handed over yet. */
  withdraw: (() => boolean) | undefined

  constructor(
    readonly id: number,
    readonly kind: OperationKind,
    readonly connection: BaseConnection,
    readonly tag: number,
    readonly context: unknown,
    readonly maxBytes: number,
  ) {}

  cancel(): boolean {
    if (this.done) return false
    if (this.kind === 'send' && this.withdraw !== undefined && !this.withdraw()) return false
    if (this.kind === 'send' && this.withdraw === undefined) return false
    this.connection.finish(this, { status: 'cancelled', bytes: 0 })
    return true
  }
}

class Region implements MemoryRegion {
  registered = true
  constructor(
    readonly key: number,
    readonly buffer: Uint8Array,
    readonly access: AccessFlags,
    private readonly table: RegionTable,
  ) {}

  deregister(): void {
    if (!this.registered) return
    this.registered = false
    this.table.remove(this.key)
  }
}

/** @internal registered regions of one endpoint, and the checks every remote access passes. */
export class RegionTable {
  private readonly regions = new Map<number, Region>()
  constructor(private readonly random: Random) {}

  register(buffer: Uint8Array, access: AccessFlags): MemoryRegion {
    if (!(buffer instanceof Uint8Array)) throw new DerError('DER_INVAL', 'registerMemory(): buffer must be a Uint8Array')
    if (typeof access?.remoteRead !== 'boolean' || typeof access.remoteWrite !== 'boolean') {
      throw new DerError('DER_INVAL', 'registerMemory(): access needs boolean remoteRead and remoteWrite')
    }
    let key = 0
    do key = this.random.int(2 ** 32) * 65536 + this.random.int(65536)
    while (key === 0 || this.regions.has(key))
    const region = new Region(key, buffer, { remoteRead: access.remoteRead, remoteWrite: access.remoteWrite }, this)
    this.regions.set(key, region)
    return region
  }

  remove(key: number): void {
    this.regions.delete(key)
  }

  /** The bytes a remote access may touch, or the typed error the initiator gets. */
  resolve(key: number, offset: number, length: number, need: 'read' | 'write'): Uint8Array | DerError {
    const region = this.regions.get(key)
    if (region === undefined) return new DerError('DER_NONEXIST', `no registered memory with key ${key}`, { details: { key } })
    if (need === 'read' && !region.access.remoteRead) return new DerError('DER_NO_PERM', `memory key ${key} is not remotely readable`, { details: { key } })
    if (need === 'write' && !region.access.remoteWrite) return new DerError('DER_NO_PERM', `memory key ${key} is not remotely writable`, { details: { key } })
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > region.buffer.length) {
      return new DerError('DER_INVAL', `range [${offset}, +${length}) is outside memory key ${key} of ${region.buffer.length} bytes`, {
        details: { key, offset, length, sizeBytes: region.buffer.length },
      })
    }
    return region.buffer.subarray(offset, offset + length)
  }

  clear(): void {
    this.regions.clear()
  }
}

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > maxTag) throw new DerError('DER_INVAL', `tag must be an integer in 0..${maxTag}, got ${tag}`)
}

function checkRemote(key: number, offset: number): void {
  if (!Number.isInteger(key) || key <= 0 || key > maxWireInteger) throw new DerError('DER_INVAL', `bad memory key ${key}`)
  if (!Number.isInteger(offset) || offset < 0 || offset > maxWireInteger) throw new DerError('DER_INVAL', `bad remote offset ${offset}`)
}

/** @internal the provider-independent half of a connection. */
export abstract class BaseConnection implements Connection {
  state: ConnectionState = 'connecting'
  peerAddress: string
  peerMaxUnexpectedBytes = 0
  private readonly pending = new Map<number, PendingOperation>()
  private readonly posted: PendingOperation[] = []
  private readonly held: { tag: number; data: Uint8Array }[] = []
  private paused = false

  constructor(
    readonly endpoint: BaseEndpoint,
    readonly id: number,
    readonly initiator: boolean,
    peerAddress: string,
  ) {
    this.peerAddress = peerAddress
  }

  get localAddress(): string {
    return this.endpoint.address
  }

  send(tag: number, data: Uint8Array | readonly Uint8Array[], options: PostOptions = {}): Operation {
    checkTag(tag)
    const parts: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data
    if (!Array.isArray(parts) || !parts.every((part) => part instanceof Uint8Array)) throw new DerError('DER_INVAL', 'send(): data must be a Uint8Array or an array of them')
    this.checkUp()
    let length = 0
    for (const part of parts) length += part.length
    if (length > this.peerMaxUnexpectedBytes) {
      throw new DerError('DER_OVERFLOW', `message of ${length} bytes exceeds the peer's limit of ${this.peerMaxUnexpectedBytes}`)
    }
    const op = this.post('send', tag, options, length)
    this.transmitSend(op, tag, parts, length)
    return op
  }

  recv(tag: number, maxBytes: number, options: PostOptions = {}): Operation {
    checkTag(tag)
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new DerError('DER_INVAL', `recv(): bad maxBytes ${maxBytes}`)
    this.checkUp()
    const op = this.post('recv', tag, options, maxBytes)
    this.posted.push(op)
    return op
  }

  rdmaRead(key: number, offset: number, into: Uint8Array, options: PostOptions = {}): Operation {
    checkRemote(key, offset)
    if (!(into instanceof Uint8Array)) throw new DerError('DER_INVAL', 'rdmaRead(): into must be a Uint8Array')
    this.checkUp()
    const op = this.post('rdma-read', 0, options, into.length)
    this.transmitRead(op, key, offset, into)
    return op
  }

  rdmaWrite(key: number, offset: number, from: Uint8Array, options: PostOptions = {}): Operation {
    checkRemote(key, offset)
    if (!(from instanceof Uint8Array)) throw new DerError('DER_INVAL', 'rdmaWrite(): from must be a Uint8Array')
    this.checkUp()
    const op = this.post('rdma-write', 0, options, from.length)
    this.transmitWrite(op, key, offset, from)
    return op
  }

  pause(): void {
    this.paused = true
    this.onPauseChange(true)
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.drainHeld()
    this.onPauseChange(false)
  }

  close(): void {
    if (this.state === 'closed') return
    this.transmitClose()
    this.down('closed', new DerError('DER_SHUTDOWN', 'connection closed locally'))
  }

  /** Whether unexpected messages may be delivered now. */
  get accepting(): boolean {
    return !this.paused && this.held.length === 0 && this.endpoint.completions.available > 0
  }

  /** @internal provider: a message arrived. */
  deliver(tag: number, data: Uint8Array): void {
    if (this.state !== 'established') return
    const index = this.posted.length === 0 ? -1 : this.posted.findIndex((op) => op.tag === tag)
    if (index >= 0) {
      const op = this.posted[index] as PendingOperation
      this.posted.splice(index, 1)
      if (data.length > op.maxBytes) {
        this.finish(op, { status: 'error', error: new DerError('DER_TRUNC', `message of ${data.length} bytes is larger than the posted ${op.maxBytes}`), bytes: 0 })
      } else {
        this.finish(op, { status: 'ok', data, bytes: data.length })
      }
      return
    }
    if (!this.accepting) {
      this.held.push({ tag, data })
      this.endpoint.holding.add(this)
      return
    }
    this.pushUnexpected(tag, data)
  }

  /** @internal delivers held messages while there is room. */
  drainHeld(): void {
    while (this.held.length > 0 && !this.paused && this.endpoint.completions.available > 0 && this.state === 'established') {
      const next = this.held.shift() as { tag: number; data: Uint8Array }
      this.pushUnexpected(next.tag, next.data)
    }
    if (this.held.length === 0) this.endpoint.holding.delete(this)
  }

  private pushUnexpected(tag: number, data: Uint8Array): void {
    this.endpoint.completions.push({ id: 0, kind: 'unexpected', status: 'ok', connection: this, context: undefined, tag, data, bytes: data.length })
  }

  /** @internal completes an operation exactly once. */
  finish(op: PendingOperation, result: { status: Completion['status']; error?: DerError; data?: Uint8Array; bytes: number }): void {
    if (op.done) return
    op.done = true
    this.pending.delete(op.id)
    if (op.kind === 'recv') {
      const posted = this.posted.indexOf(op)
      if (posted >= 0) this.posted.splice(posted, 1)
    }
    const cq = this.endpoint.completions
    cq.outstanding--
    // One object shape per case, built without spreads (this runs for every operation).
    let completion: Completion
    if (result.error !== undefined) {
      completion = { id: op.id, kind: op.kind, status: result.status, connection: this, context: op.context, tag: op.tag, bytes: result.bytes, error: result.error }
    } else if (result.data !== undefined) {
      completion = { id: op.id, kind: op.kind, status: result.status, connection: this, context: op.context, tag: op.tag, bytes: result.bytes, data: result.data }
    } else {
      completion = { id: op.id, kind: op.kind, status: result.status, connection: this, context: op.context, tag: op.tag, bytes: result.bytes }
    }
    cq.push(completion)
    cq.notify()
  }

  /** @internal the operation with this id, if still pending. */
  pendingOperation(id: number): PendingOperation | undefined {
    return this.pending.get(id)
  }

  /** @internal provider: the connection came up. */
  established(peerAddress: string, peerMaxUnexpectedBytes: number): void {
    assert(this.state === 'connecting', 'established twice')
    this.state = 'established'
    this.peerAddress = peerAddress
    this.peerMaxUnexpectedBytes = peerMaxUnexpectedBytes
    this.endpoint.emit('established', this)
  }

  /** @internal provider: the connection went down; fails everything outstanding exactly once. */
  down(type: Exclude<FabricEventType, 'established'>, reason: DerError): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.held.length = 0
    this.endpoint.holding.delete(this)
    this.endpoint.forget(this)
    const error = new DerError('DER_UNREACH', `connection to ${this.peerAddress} ${type === 'closed' ? 'closed' : 'lost'}: ${reason.message}`, { cause: reason })
    for (const op of [...this.pending.values()]) this.finish(op, { status: 'error', error, bytes: 0 })
    this.onDown()
    this.endpoint.emit(type, this, reason)
  }

  private post(kind: OperationKind, tag: number, options: PostOptions, maxBytes: number): PendingOperation {
    const cq = this.endpoint.completions
    if (cq.available <= 0) throw new DerError('DER_AGAIN', `completion queue full (${cq.capacity} operations outstanding)`)
    const op = new PendingOperation(this.endpoint.nextOperationId(), kind, this, tag, options.context, maxBytes)
    cq.outstanding++
    this.pending.set(op.id, op)
    return op
  }

  private checkUp(): void {
    if (this.state !== 'established') throw new DerError('DER_UNREACH', `connection to ${this.peerAddress} is ${this.state}`)
  }

  /** Provider: put a message on the wire and finish `op` when handed over. */
  protected abstract transmitSend(op: PendingOperation, tag: number, parts: readonly Uint8Array[], length: number): void
  /** Provider: read remote memory into `into` and finish `op`. */
  protected abstract transmitRead(op: PendingOperation, key: number, offset: number, into: Uint8Array): void
  /** Provider: write `from` into remote memory and finish `op`. */
  protected abstract transmitWrite(op: PendingOperation, key: number, offset: number, from: Uint8Array): void
  /** Provider: tell the peer we close. */
  protected abstract transmitClose(): void
  /** Provider: pause/resume reading. */
  protected onPauseChange(_paused: boolean): void {}
  /** Provider: release resources after the connection went down. */
  protected onDown(): void {}
}

/** @internal the provider-independent half of an endpoint. */
export abstract class BaseEndpoint implements Endpoint {
  abstract readonly address: string
  readonly maxUnexpectedBytes: number
  readonly events: FabricEventQueue
  readonly completions: FabricCompletionQueue
  readonly regions: RegionTable
  /** Connections with held unexpected messages. */
  readonly holding = new Set<BaseConnection>()
  private readonly live = new Set<BaseConnection>()
  private nextOp = 1
  private nextConnection = 1
  closed = false

  constructor(options: EndpointOptions, random: Random) {
    const maxUnexpected = options.maxUnexpectedBytes ?? defaultMaxUnexpectedBytes
    const cqCapacity = options.completionCapacity ?? defaultCompletionCapacity
    const eqCapacity = options.eventCapacity ?? defaultEventCapacity
    for (const [name, value] of [['maxUnexpectedBytes', maxUnexpected], ['completionCapacity', cqCapacity], ['eventCapacity', eqCapacity]] as const) {
      if (!Number.isSafeInteger(value) || value < 1 || value > 2 ** 32) throw new DerError('DER_INVAL', `endpoint option ${name} must be an integer in 1..2^32, got ${value}`)
    }
    this.maxUnexpectedBytes = maxUnexpected
    this.completions = new FabricCompletionQueue(cqCapacity)
    this.events = new FabricEventQueue(eqCapacity)
    this.regions = new RegionTable(random)
    this.completions.onAvailable(() => {
      if (this.holding.size === 0) return
      for (const connection of [...this.holding]) connection.drainHeld()
    })
  }

  get connections(): readonly BaseConnection[] {
    return [...this.live]
  }

  abstract connect(address: string): Promise<Connection>
  abstract close(): Promise<void>

  registerMemory(buffer: Uint8Array, access: AccessFlags): MemoryRegion {
    if (this.closed) throw new DerError('DER_SHUTDOWN', 'endpoint is closed')
    return this.regions.register(buffer, access)
  }

  describe(region: MemoryRegion, offset = 0, length = region.buffer.length - offset): RemoteMemory {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > region.buffer.length) {
      throw new DerError('DER_INVAL', `describe(): range [${offset}, +${length}) outside a region of ${region.buffer.length} bytes`)
    }
    return { address: this.address, key: region.key, offset, length }
  }

  /** @internal */
  nextOperationId(): number {
    return this.nextOp++
  }

  /** @internal */
  nextConnectionId(): number {
    return this.nextConnection++
  }

  /** @internal */
  track(connection: BaseConnection): void {
    this.live.add(connection)
  }

  /** @internal */
  forget(connection: BaseConnection): void {
    this.live.delete(connection)
  }

  /** @internal */
  emit(type: FabricEventType, connection: BaseConnection, reason?: DerError): void {
    this.events.push(reason === undefined ? { type, connection } : { type, connection, reason })
  }

  /** Whether an incoming connection may be accepted (event queue not full). */
  get canAccept(): boolean {
    return !this.closed && this.events.size < this.events.capacity
  }

  /** @internal closes every live connection (reset when `abrupt`). */
  downAll(abrupt: boolean, reason: DerError): void {
    for (const connection of [...this.live]) {
      if (abrupt) connection.down('reset', reason)
      else connection.close()
    }
  }
}
