/**
 * A CaRT context (`crt_context_create`): one fabric endpoint, its RPCs in flight, the requests it
 * serves and its bulk transfers. Completions are produced exactly once per RPC, and run either at
 * once (`progress: 'auto'`) or when the owner calls {@link Context.progress} (`'manual'`, CaRT's
 * two-phase progress and trigger).
 *
 * @module
 */
import { DerError, Encoder, type Logger, type Runtime, type StructCodec, type TimerHandle, decodeStruct, isDerError, toDerError, writeStruct } from '@x/common'
import type { Completion, Connection, Endpoint, FabricEvent } from '@x/rdma-transport'
import { DedupTable } from './dedup.ts'
import { type BulkAccess, type BulkDescriptor, type LocalBulk, crc32cOf, planBulkTransfer } from './bulk.ts'
import type { Group } from './group.ts'
import { type CartMetrics, opcodeLabel } from './metrics.ts'
import type { ProtocolRegistry, RpcFormat } from './protocol.ts'
import { protoQueryRpc } from './internal.ts'
import { type TreeTopology, treeChildren, treeMembers } from './tree.ts'
import {
  type CorpcFailure,
  type CorpcHeader,
  type RequestMessage,
  decodeCorpcBody,
  decodeReply,
  decodeRequest,
  encodeCorpcBody,
  encodeReplyParts,
  encodeRequestParts,
  replyTag,
  requestTag,
  statusToError,
} from './wire.ts'

/** Where an RPC goes: a fabric URI, or a rank (and context tag) of a group. */
export type RpcTarget = { readonly uri: string } | { readonly rank: number; readonly tag?: number; readonly group?: Group }

/** Options of one RPC. */
export interface CallOptions {
  /** Overrides the context's default timeout (`crt_req_set_timeout`). */
  readonly timeoutMs?: number
  /** Aborting it completes the RPC with `DER_CANCELED` (`crt_req_abort`). */
  readonly signal?: AbortSignal
}

/** A server-side handler: reply through `rpc.reply`, or return (or resolve) the output. */
export type RpcHandler<I, O> = (rpc: IncomingRpc<I, O>) => O | undefined | void | Promise<O | undefined | void>  

/** How a collective RPC is spread (`crt_corpc_req_create`). */
export interface CorpcSpec {
  /** Default: the primary group. */
  readonly group?: Group
  /** Ranks skipped by the tree. */
  readonly excluded?: readonly number[]
  /** Default: the lowest member not excluded. */
  readonly root?: number
  /** Default: knomial with branch ratio 2. */
  readonly topology?: TreeTopology
  /** Context tag on every rank (default 0). */
  readonly tag?: number
}

/** The outcome of a collective RPC: the aggregate of the nodes that answered, and those that did not. */
export interface CorpcResult<O> {
  /** Undefined when no node produced an output. */
  readonly output?: O
  /** Nodes whose handler failed, or that could not be reached in time (their subtree is missing). */
  readonly failures: readonly CorpcFailure[]
}

/** Options of {@link Context.bulkTransfer} (`crt_bulk_transfer`). */
export interface BulkTransferOptions {
  /** `get` pulls the remote handle into local memory; `put` pushes local memory into it. */
  readonly op: 'get' | 'put'
  readonly remote: BulkDescriptor
  readonly remoteOffset?: number
  readonly local: LocalBulk
  readonly localOffset?: number
  /** Default: the whole remote handle from `remoteOffset`. */
  readonly length?: number
  /** Default: the context's RPC timeout. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  /** GET of a whole handle: compare the crc32c of the received bytes with the descriptor's (`DER_CSUM`). */
  readonly verifyChecksum?: boolean
  /** Report the crc32c of the bytes moved in the result (implied by `verifyChecksum`). */
  readonly checksum?: boolean
}

/** What a finished bulk transfer moved. */
export interface BulkTransferResult {
  readonly bytes: number
  /** crc32c of the bytes moved, when asked for (`checksum` or `verifyChecksum`). */
  readonly checksum?: number
}

/** What a context needs from its CaRT instance. */
export interface ContextHost {
  readonly runtime: Runtime
  readonly registry: ProtocolRegistry
  readonly metrics: CartMetrics
  readonly logger: Logger
  readonly primaryGroup: Group
  readonly rank: number | undefined
  readonly defaultTimeoutMs: number
  handlerOf(opcode: number): RpcHandler<unknown, unknown> | undefined
  groupByName(name: string): Group | undefined
}

/** Options of a context. */
export interface ContextOptions {
  /** Progress mode (default `auto`). */
  readonly progress?: 'auto' | 'manual'
  /** Default RPC timeout of this context (`crt_context_set_timeout`); default the instance's. */
  readonly timeoutMs?: number
  /** Served requests remembered to drop duplicates (default 16384). */
  readonly dedupEntries?: number
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: DerError }

/** @internal An RPC sent by this context. */
class OutgoingRpc {
  done = false
  timer: TimerHandle | undefined
  connection: Connection | undefined
  removeAbort: (() => void) | undefined
  startMs = 0
  constructor(
    readonly id: number,
    readonly opcode: number,
    readonly decode: (body: Uint8Array) => unknown,
    readonly settle: (outcome: Outcome) => void,
  ) {}
}

/** @internal One RMA operation of a bulk transfer. */
class BulkPieceOp {
  constructor(readonly onDone: (c: Completion) => void) {}
}

/** A client-side RPC created with {@link Context.createRequest} (`crt_req_create`). */
export class Request<O> {
  private sent = false
  private aborted = false
  private abortHook: (() => void) | undefined

  /** @internal */
  constructor(
    private readonly start: (timeoutMs: number, setAbortHook: (hook: () => void) => void) => Promise<O>,
    /** The timeout used by {@link Request.send}; change it before sending (`crt_req_set_timeout`). */
    public timeoutMs: number,
  ) {}

  /** Sends the RPC (`crt_req_send`); resolves with the output or rejects with a `DerError`, exactly once. */
  send(): Promise<O> {
    if (this.sent) return Promise.reject(new DerError('DER_ALREADY', 'request already sent'))
    this.sent = true
    if (this.aborted) return Promise.reject(new DerError('DER_CANCELED', 'request aborted before it was sent'))
    return this.start(this.timeoutMs, (hook) => (this.abortHook = hook))
  }

  /** Completes the RPC with `DER_CANCELED` unless it already completed (`crt_req_abort`). */
  abort(): void {
    this.aborted = true
    this.abortHook?.()
  }
}

/**
 * A request being served. Reply once with {@link IncomingRpc.reply} or
 * {@link IncomingRpc.replyError} (a second reply throws `DER_ALREADY`), at once or later.
 */
export class IncomingRpc<I, O> {
  private repliedFlag = false

  /** @internal */
  constructor(
    /** The decoded input. */
    readonly input: I,
    readonly format: RpcFormat<I, O>,
    /** The context serving it. */
    readonly context: Context,
    /** The fabric address of the sender. */
    readonly peerAddress: string,
    /** The sender's rank, or -1. */
    readonly srcRank: number,
    /** The sender's timeout for this RPC (`crt_req_src_timeout_get`). */
    readonly timeoutMs: number,
    private readonly sink: (outcome: { ok: true; value: O; bytes: Uint8Array } | { ok: false; error: DerError }) => void,
  ) {}

  /** Whether a reply was sent. */
  get replied(): boolean {
    return this.repliedFlag
  }

  /** Sends the output (`crt_reply_send`). */
  reply(output: O): void {
    if (this.repliedFlag) throw new DerError('DER_ALREADY', `RPC ${this.format.name} was already replied to`)
    const bytes = encodeBody(this.format.output, output)
    this.repliedFlag = true
    this.sink({ ok: true, value: output, bytes })
  }

  /** Replies with an error; the caller's RPC fails with it (non-`DerError`s become `DER_MISC`). */
  replyError(error: unknown): void {
    if (this.repliedFlag) throw new DerError('DER_ALREADY', `RPC ${this.format.name} was already replied to`)
    this.repliedFlag = true
    this.sink({ ok: false, error: toDerError(error) })
  }

  /** Pulls a remote bulk handle into local memory; verifies the checksum when the RPC format asks. */
  bulkGet(remote: BulkDescriptor, local: LocalBulk, options: Omit<BulkTransferOptions, 'op' | 'remote' | 'local'> = {}): Promise<BulkTransferResult> {
    const verify = this.format.bulkChecksum === true
    if (verify && remote.checksum === undefined) {
      return Promise.reject(new DerError('DER_CSUM', `RPC ${this.format.name} requires checksummed bulk handles`))
    }
    return this.context.bulkTransfer({ ...options, op: 'get', remote, local, verifyChecksum: verify || options.verifyChecksum === true })
  }

  /** Pushes local memory into a remote bulk handle. */
  bulkPut(remote: BulkDescriptor, local: LocalBulk, options: Omit<BulkTransferOptions, 'op' | 'remote' | 'local'> = {}): Promise<BulkTransferResult> {
    return this.context.bulkTransfer({ ...options, op: 'put', remote, local })
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** A CaRT context: create it with `Cart.createContext`. */
export class Context {
  private nextRpcId = 1
  private readonly inflight = new Map<number, OutgoingRpc>()
  private readonly peers = new Map<string, Connection>()
  private readonly connecting = new Map<string, Promise<Connection>>()
  private readonly served: DedupTable
  private readonly triggers: (() => void)[] = []
  private readonly pendingSends: { connection: Connection; tag: number; data: readonly Uint8Array[]; rpc: OutgoingRpc | undefined }[] = []
  private readonly manual: boolean
  private readonly dedupEntries: number
  private closed = false
  private readonly labelCache = new Map<number, { readonly context: string; readonly opcode: string }>()
  private readonly contextLabel: { readonly context: string }
  /** Default timeout of RPCs created on this context. */
  timeoutMs: number

  /** @internal */
  constructor(
    private readonly host: ContextHost,
    /** The context's tag (its index in the instance). */
    readonly tag: number,
    /** The fabric endpoint. */
    readonly endpoint: Endpoint,
    options: ContextOptions = {},
  ) {
    this.contextLabel = { context: String(tag) }
    this.manual = options.progress === 'manual'
    this.timeoutMs = options.timeoutMs ?? host.defaultTimeoutMs
    checkTimeout(this.timeoutMs)
    this.dedupEntries = options.dedupEntries ?? 16384
    this.served = new DedupTable(this.dedupEntries)
    if (!this.manual) {
      endpoint.events.setHandler((e) => this.onEvent(e))
      endpoint.completions.setHandler((c) => this.onCompletion(c))
    }
    endpoint.completions.onAvailable(() => this.flushSends())
  }

  /** Our fabric address (what the group lists for this rank and tag). */
  get address(): string {
    return this.endpoint.address
  }

  /** RPCs sent and not yet completed. */
  get inflightCount(): number {
    return this.inflight.size
  }

  /**
   * Manual mode: moves up to `maxEntries` fabric events and completions through the context and
   * runs the callbacks they produced (`crt_progress`). Returns the number of entries handled.
   * In auto mode it only runs pending callbacks.
   */
  progress(maxEntries = Number.POSITIVE_INFINITY): number {
    let handled = 0
    if (this.manual) {
      for (const e of this.endpoint.events.poll()) {
        this.onEvent(e)
        handled++
      }
      while (handled < maxEntries) {
        const batch = this.endpoint.completions.poll(Math.min(256, maxEntries - handled))
        if (batch.length === 0) break
        for (const c of batch) this.onCompletion(c)
        handled += batch.length
      }
    }
    this.runTriggers()
    return handled
  }

  /** Sends an RPC and resolves with its output. */
  call<I, O>(format: RpcFormat<I, O>, target: RpcTarget, input: I, options: CallOptions = {}): Promise<O> {
    // createRequest(...).send() without the Request object (this is every RPC's path).
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    checkTimeout(timeoutMs)
    let body: Uint8Array
    try {
      body = encodeBody(format.input, input)
    } catch (error) {
      return Promise.reject(toDerError(error))
    }
    return this.startRpc<O>(target, format.opcode, body, timeoutMs, undefined, options.signal, (bytes) => decodeStruct(format.output, bytes))
  }

  /** Creates an RPC to send later (`crt_req_create`). */
  createRequest<I, O>(format: RpcFormat<I, O>, target: RpcTarget, input: I, options: CallOptions = {}): Request<O> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    checkTimeout(timeoutMs)
    const signal = options.signal
    const request: Request<O> = new Request<O>((t, setAbortHook) => {
      let body: Uint8Array
      try {
        body = encodeBody(format.input, input)
      } catch (error) {
        return Promise.reject(toDerError(error))
      }
      return this.startRpc<O>(target, format.opcode, body, t, undefined, signal, (bytes) => decodeStruct(format.output, bytes), setAbortHook)
    }, timeoutMs)
    return request
  }

  /** A collective RPC over a group along a tree; the promise rejects only when the root cannot answer. */
  corpc<I, O>(format: RpcFormat<I, O>, spec: CorpcSpec, input: I, options: CallOptions = {}): Promise<CorpcResult<O>> {
    try {
      const group = spec.group ?? this.host.primaryGroup
      const excluded = [...new Set(spec.excluded ?? [])].sort((a, b) => a - b)
      const members = treeMembers(group.ranks(), excluded)
      const root = spec.root ?? members[0]
      if (root === undefined) throw new DerError('DER_INVAL', 'corpc: every rank is excluded')
      const topology = spec.topology ?? { type: 'knomial', branchRatio: 2 }
      treeChildren(topology, members, root, root) // validates root and topology
      const tag = spec.tag ?? 0
      const header: CorpcHeader = { groupName: group.name, groupVersion: group.version, root, tree: topology.type, branchRatio: topology.branchRatio ?? 2, excluded, tag }
      const timeoutMs = options.timeoutMs ?? this.timeoutMs
      checkTimeout(timeoutMs)
      const body = encodeBody(format.input, input)
      return this.startRpc<CorpcResult<O>>({ uri: group.lookup(root, tag) }, format.opcode, body, timeoutMs, header, options.signal, (bytes) => {
        const b = decodeCorpcBody(bytes)
        const output = b.output === undefined ? undefined : decodeStruct(format.output, b.output)
        return output === undefined ? { failures: b.failures } : { output, failures: b.failures }
      })
    } catch (error) {
      return Promise.reject(toDerError(error))
    }
  }

  /** Asks a peer which versions of a protocol it knows (`crt_proto_query`); empty when none. */
  queryProtocol(target: RpcTarget, baseOpcode: number, options: CallOptions = {}): Promise<number[]> {
    return this.call(protoQueryRpc, target, { baseOpcode }, options).then((o) => o.versions)
  }

  /** Registers local memory as a bulk handle (`crt_bulk_create`). */
  bulkCreate(buffers: Uint8Array | readonly Uint8Array[], access: BulkAccess, options: { checksum?: boolean } = {}): LocalBulk {
    const list = buffers instanceof Uint8Array ? [buffers] : [...buffers]
    if (list.length === 0 || list.some((b) => b.length === 0)) throw new DerError('DER_INVAL', 'bulk handles need at least one non-empty buffer')
    const flags = { remoteRead: access !== 'wo', remoteWrite: access !== 'ro' }
    const regions = list.map((b) => this.endpoint.registerMemory(b, flags))
    const totalBytes = list.reduce((n, b) => n + b.length, 0)
    const segments = regions.map((r) => ({ key: r.key, offset: 0, length: r.buffer.length }))
    const descriptor: BulkDescriptor =
      options.checksum === true ? { address: this.address, access, segments, totalBytes, checksum: crc32cOf(list) } : { address: this.address, access, segments, totalBytes }
    return {
      buffers: list,
      regions,
      descriptor,
      totalBytes,
      free: () => {
        for (const r of regions) if (r.registered) r.deregister()
      },
    }
  }

  /** Moves bytes between a remote bulk handle and local memory with one-sided RDMA (`crt_bulk_transfer`). */
  bulkTransfer(options: BulkTransferOptions): Promise<BulkTransferResult> {
    return new Promise<BulkTransferResult>((resolve, reject) => {
      const { op, remote, local } = options
      const remoteOffset = options.remoteOffset ?? 0
      const length = options.length ?? remote.totalBytes - remoteOffset
      const timeoutMs = options.timeoutMs ?? this.timeoutMs
      let done = false
      let timer: TimerHandle | undefined = undefined
      const ops: { cancel(): boolean }[] = []
      const finish = (outcome: Outcome): void => {
        if (done) return
        done = true
        if (timer !== undefined) this.host.runtime.timers.cancel(timer)
        options.signal?.removeEventListener('abort', onAbort)
        for (const o of ops) o.cancel()
        this.trigger(() => (outcome.ok ? resolve(outcome.value as BulkTransferResult) : reject(outcome.error)))
      }
      const onAbort = (): void => finish({ ok: false, error: new DerError('DER_CANCELED', 'bulk transfer aborted') })
      let pieces
      try {
        checkTimeout(timeoutMs)
        if (op === 'get' && remote.access === 'wo') throw new DerError('DER_NO_PERM', 'bulk GET from a write-only handle')
        if (op === 'put' && remote.access === 'ro') throw new DerError('DER_NO_PERM', 'bulk PUT into a read-only handle')
        if (options.verifyChecksum === true) {
          if (remote.checksum === undefined) throw new DerError('DER_CSUM', 'bulk handle carries no checksum to verify')
          if (op !== 'get' || remoteOffset !== 0 || length !== remote.totalBytes) throw new DerError('DER_INVAL', 'checksums are verified on GETs of a whole handle')
        }
        pieces = planBulkTransfer(remote, remoteOffset, local.buffers, options.localOffset ?? 0, length)
      } catch (error) {
        reject(toDerError(error))
        return
      }
      if (options.signal?.aborted === true) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      timer = this.host.runtime.timers.schedule(timeoutMs, () => finish({ ok: false, error: new DerError('DER_TIMEDOUT', `bulk ${op} of ${length} bytes timed out after ${timeoutMs} ms`) }))
      const complete = (): void => {
        const wantChecksum = options.verifyChecksum === true || options.checksum === true
        const checksum = wantChecksum ? crc32cOf(pieces.map((p) => p.local)) : undefined
        if (options.verifyChecksum === true && checksum !== remote.checksum) {
          finish({ ok: false, error: new DerError('DER_CSUM', `bulk checksum mismatch: got 0x${(checksum ?? 0).toString(16)}, descriptor says 0x${(remote.checksum ?? 0).toString(16)}`) })
          return
        }
        this.host.metrics.bulkBytes.inc(length, { context: String(this.tag), op })
        finish({ ok: true, value: checksum === undefined ? { bytes: length } : { bytes: length, checksum } })
      }
      if (pieces.length === 0) return complete()
      this.connectionTo(remote.address).then(
        (connection) => {
          if (done) return
          let left = pieces.length
          const piece = new BulkPieceOp((c) => {
            if (c.status !== 'ok') {
              finish({ ok: false, error: c.error ?? new DerError('DER_CANCELED', 'bulk operation cancelled') })
              return
            }
            if (--left === 0) complete()
          })
          try {
            for (const p of pieces) {
              ops.push(op === 'get' ? connection.rdmaRead(p.key, p.remoteOffset, p.local, { context: piece }) : connection.rdmaWrite(p.key, p.remoteOffset, p.local, { context: piece }))
            }
          } catch (error) {
            finish({ ok: false, error: toDerError(error) })
          }
        },
        (error: unknown) => finish({ ok: false, error: toDerError(error) }),
      )
    })
  }

  /** Completes every RPC in flight to `address` with `DER_CANCELED` (`crt_ep_abort`); returns how many. */
  abortPeer(address: string): number {
    let count = 0
    for (const rpc of [...this.inflight.values()]) {
      if (rpc.connection?.peerAddress === address) {
        if (this.complete(rpc, { ok: false, error: new DerError('DER_CANCELED', `RPCs to ${address} aborted`) })) count++
      }
    }
    return count
  }

  /** Completes every RPC in flight with `DER_SHUTDOWN` and closes the endpoint. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const rpc of [...this.inflight.values()]) this.complete(rpc, { ok: false, error: new DerError('DER_SHUTDOWN', 'context closed') })
    this.runTriggers()
    await this.endpoint.close()
  }

  // ---- client side -------------------------------------------------------------------------

  private startRpc<T>(
    target: RpcTarget,
    opcode: number,
    body: Uint8Array,
    timeoutMs: number,
    corpc: CorpcHeader | undefined,
    signal: AbortSignal | undefined,
    decode: (bytes: Uint8Array) => unknown,
    setAbortHook?: (hook: () => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const rpc = new OutgoingRpc(this.nextRpcId++, opcode, decode, (o) => (o.ok ? resolve(o.value as T) : reject(o.error)))
      rpc.startMs = this.host.runtime.clock.monotonicMs()
      this.host.metrics.sent.inc(1, this.labels(opcode))
      this.host.metrics.inflight.inc(1, this.contextLabel)
      this.inflight.set(rpc.id, rpc)
      if (this.closed) {
        this.complete(rpc, { ok: false, error: new DerError('DER_SHUTDOWN', 'context closed') })
        return
      }
      rpc.timer = this.host.runtime.timers.schedule(timeoutMs, () => {
        this.complete(rpc, { ok: false, error: new DerError('DER_TIMEDOUT', `RPC ${opcodeLabel(opcode)} timed out after ${timeoutMs} ms`) })
      })
      if (setAbortHook !== undefined || signal !== undefined) {
        const onAbort = (): void => void this.complete(rpc, { ok: false, error: new DerError('DER_CANCELED', `RPC ${opcodeLabel(opcode)} aborted`) })
        setAbortHook?.(onAbort)
        if (signal?.aborted === true) return onAbort()
        if (signal !== undefined) {
          signal.addEventListener('abort', onAbort, { once: true })
          rpc.removeAbort = () => signal.removeEventListener('abort', onAbort)
        }
      }
      let uri: string
      try {
        uri = 'uri' in target ? target.uri : (target.group ?? this.host.primaryGroup).lookup(target.rank, target.tag ?? 0)
      } catch (error) {
        this.complete(rpc, { ok: false, error: toDerError(error) })
        return
      }
      const message: RequestMessage =
        corpc === undefined ? { rpcId: rpc.id, opcode, timeoutMs, srcRank: this.host.rank ?? -1, body } : { rpcId: rpc.id, opcode, timeoutMs, srcRank: this.host.rank ?? -1, corpc, body }
      const bytes = encodeRequestParts(message)
      const post = (connection: Connection): void => {
        if (rpc.done) return
        rpc.connection = connection
        this.post(connection, requestTag, bytes, rpc)
      }
      const existing = this.peers.get(uri)
      if (existing !== undefined && existing.state === 'established') post(existing)
      else this.connectionTo(uri).then(post, (error: unknown) => this.complete(rpc, { ok: false, error: toDerError(error) }))
    })
  }

  /** Completes an RPC exactly once; returns whether this call completed it. */
  private complete(rpc: OutgoingRpc, outcome: Outcome): boolean {
    if (rpc.done) return false
    rpc.done = true
    if (rpc.timer !== undefined) this.host.runtime.timers.cancel(rpc.timer)
    rpc.removeAbort?.()
    this.inflight.delete(rpc.id)
    const labels = this.labels(rpc.opcode)
    const m = this.host.metrics
    m.inflight.dec(1, this.contextLabel)
    if (!outcome.ok && this.host.logger.enabled('debug')) {
      this.host.logger.debug('rpc completed with an error', { context: this.tag, rpcId: rpc.id, opcode: labels.opcode, error: outcome.error.name, peer: rpc.connection?.peerAddress })
    }
    if (outcome.ok) m.latencyMs.observe(this.host.runtime.clock.monotonicMs() - rpc.startMs, labels)
    else if (outcome.error.name === 'DER_TIMEDOUT') m.timedOut.inc(1, labels)
    else if (outcome.error.name === 'DER_CANCELED') m.canceled.inc(1, labels)
    else m.failed.inc(1, labels)
    if (this.manual) this.triggers.push(() => rpc.settle(outcome))
    else rpc.settle(outcome)
    return true
  }

  private labels(opcode: number): { readonly context: string; readonly opcode: string } {
    let labels = this.labelCache.get(opcode)
    if (labels === undefined) {
      labels = { context: this.contextLabel.context, opcode: opcodeLabel(opcode) }
      if (this.labelCache.size < 4096) this.labelCache.set(opcode, labels)
    }
    return labels
  }

  private trigger(callback: () => void): void {
    if (this.manual) this.triggers.push(callback)
    else callback()
  }

  private runTriggers(): void {
    while (this.triggers.length > 0) {
      const batch = this.triggers.splice(0, this.triggers.length)
      for (const callback of batch) callback()
    }
  }

  private connectionTo(address: string): Promise<Connection> {
    const existing = this.peers.get(address)
    if (existing !== undefined && existing.state === 'established') return Promise.resolve(existing)
    let pending = this.connecting.get(address)
    if (pending === undefined) {
      pending = this.endpoint.connect(address).then(
        (connection) => {
          this.connecting.delete(address)
          this.peers.set(address, connection)
          return connection
        },
        (error: unknown) => {
          this.connecting.delete(address)
          throw toDerError(error)
        },
      )
      this.connecting.set(address, pending)
    }
    return pending
  }

  private post(connection: Connection, tag: number, data: readonly Uint8Array[], rpc: OutgoingRpc | undefined): void {
    if (this.pendingSends.length > 0) {
      this.pendingSends.push({ connection, tag, data, rpc })
      return
    }
    this.trySend(connection, tag, data, rpc)
  }

  private trySend(connection: Connection, tag: number, data: readonly Uint8Array[], rpc: OutgoingRpc | undefined): boolean {
    try {
      connection.send(tag, data, rpc === undefined ? undefined : { context: rpc })
      return true
    } catch (error) {
      if (isDerError(error, 'DER_AGAIN')) {
        this.pendingSends.unshift({ connection, tag, data, rpc })
        return false
      }
      if (rpc !== undefined) this.complete(rpc, { ok: false, error: toDerError(error) })
      else this.host.logger.warn('reply not sent', { error: String(error) })
      return true
    }
  }

  private flushSends(): void {
    while (this.pendingSends.length > 0 && this.endpoint.completions.available > 0) {
      const next = this.pendingSends.shift() as (typeof this.pendingSends)[number]
      if (next.rpc?.done === true) continue
      if (!this.trySend(next.connection, next.tag, next.data, next.rpc)) break
    }
  }

  // ---- fabric callbacks --------------------------------------------------------------------

  private onEvent(event: FabricEvent): void {
    try {
      this.handleEvent(event)
    } catch (error) {
      this.host.logger.error('event handling failed', { error: String(error) })
    }
  }

  private handleEvent(event: FabricEvent): void {
    const connection = event.connection
    if (event.type === 'established') {
      const current = this.peers.get(connection.peerAddress)
      if (current === undefined || current.state !== 'established') this.peers.set(connection.peerAddress, connection)
      return
    }
    if (this.peers.get(connection.peerAddress) === connection) this.peers.delete(connection.peerAddress)
    for (const rpc of [...this.inflight.values()]) {
      if (rpc.connection === connection) {
        this.complete(rpc, { ok: false, error: new DerError('DER_UNREACH', `connection to ${connection.peerAddress} ${event.type}`, { cause: event.reason }) })
      }
    }
    this.served.dropConnection(connection.id)
  }

  private onCompletion(c: Completion): void {
    try {
      switch (c.kind) {
        case 'unexpected':
          if (c.data === undefined) return
          if (c.tag === requestTag) this.onRequest(c.connection, c.data)
          else if (c.tag === replyTag) this.onReply(c.data)
          else this.host.metrics.malformed.inc(1, this.contextLabel)
          return
        case 'send':
          if (c.status !== 'ok' && c.context instanceof OutgoingRpc) {
            this.complete(c.context, { ok: false, error: c.error ?? new DerError('DER_CANCELED', 'send cancelled') })
          }
          return
        case 'rdma-read':
        case 'rdma-write':
          if (c.context instanceof BulkPieceOp) c.context.onDone(c)
          return
        default:
          return
      }
    } catch (error) {
      this.host.logger.error('completion handling failed', { error: String(error) })
    }
  }

  private onReply(data: Uint8Array): void {
    let reply
    try {
      reply = decodeReply(data)
    } catch {
      this.host.metrics.malformed.inc(1, this.contextLabel)
      return
    }
    const rpc = this.inflight.get(reply.rpcId)
    if (rpc === undefined) {
      this.host.metrics.lateReplies.inc(1, this.contextLabel)
      this.host.logger.debug('late or duplicate reply dropped', { context: this.tag, rpcId: reply.rpcId })
      return
    }
    if (reply.status !== 0) {
      this.complete(rpc, { ok: false, error: statusToError(reply.status, reply.message) })
      return
    }
    let value: unknown
    try {
      value = rpc.decode(reply.body)
    } catch (error) {
      this.complete(rpc, { ok: false, error: toDerError(error) })
      return
    }
    this.complete(rpc, { ok: true, value })
  }

  // ---- server side -------------------------------------------------------------------------

  private onRequest(connection: Connection, data: Uint8Array): void {
    let request: RequestMessage
    try {
      request = decodeRequest(data)
    } catch (error) {
      this.host.metrics.malformed.inc(1, this.contextLabel)
      this.host.logger.warn('malformed request dropped', { peer: connection.peerAddress, error: String(error) })
      return
    }
    const seen = this.served.get(connection.id, request.rpcId)
    if (seen !== undefined) {
      if (seen.reply !== undefined && connection.state === 'established') this.post(connection, replyTag, seen.reply, undefined)
      return
    }
    const entry = this.served.add(connection.id, request.rpcId)
    this.host.metrics.received.inc(1, this.labels(request.opcode))
    const sendReply = (status: number, message: string, body: Uint8Array): void => {
      const bytes = encodeReplyParts({ rpcId: request.rpcId, status, message, body })
      if (partsLength(bytes) <= 1024) entry.reply = bytes
      if (connection.state === 'established') this.post(connection, replyTag, bytes, undefined)
    }
    const replyError = (error: DerError): void => sendReply(error.code, error.message, new Uint8Array(0))
    let format: RpcFormat<unknown, unknown>
    let handler: RpcHandler<unknown, unknown> | undefined
    let input: unknown
    try {
      format = this.host.registry.lookup(request.opcode)
      handler = this.host.handlerOf(request.opcode)
      if (handler === undefined) throw new DerError('DER_NOSYS', `no handler for RPC ${format.name} (opcode ${opcodeLabel(request.opcode)})`)
      input = decodeStruct(format.input, request.body)
    } catch (error) {
      replyError(toDerError(error))
      return
    }
    if (request.corpc !== undefined) {
      this.serveCorpc(connection, request, request.corpc, format, handler, input, (body) => sendReply(0, '', body), replyError)
      return
    }
    const rpc = new IncomingRpc(input, format, this, connection.peerAddress, request.srcRank, request.timeoutMs, (o) => {
      if (o.ok) sendReply(0, '', o.bytes)
      else replyError(o.error)
    })
    this.runHandler(handler, rpc)
  }

  private runHandler(handler: RpcHandler<unknown, unknown>, rpc: IncomingRpc<unknown, unknown>): void {
    const fail = (error: unknown): void => {
      if (!rpc.replied) rpc.replyError(error)
      else this.host.logger.warn('handler failed after replying', { rpc: rpc.format.name, error: String(error) })
    }
    const succeed = (value: unknown): void => {
      if (value === undefined || rpc.replied) return
      try {
        rpc.reply(value)
      } catch (error) {
        fail(error)
      }
    }
    let result: unknown
    try {
      result = handler(rpc)
    } catch (error) {
      fail(error)
      return
    }
    if (isPromiseLike(result)) result.then(succeed, fail)
    else succeed(result)
  }

  private serveCorpc(
    connection: Connection,
    request: RequestMessage,
    header: CorpcHeader,
    format: RpcFormat<unknown, unknown>,
    handler: RpcHandler<unknown, unknown>,
    input: unknown,
    replyOk: (body: Uint8Array) => void,
    replyError: (error: DerError) => void,
  ): void {
    const group = this.host.groupByName(header.groupName)
    const me = this.host.rank
    let children: number[]
    try {
      if (group === undefined) throw new DerError('DER_NONEXIST', `unknown group ${header.groupName}`)
      if (group.version !== header.groupVersion) throw new DerError('DER_GRPVER', `group ${group.name} is at version ${group.version}, the corpc was built at ${header.groupVersion}`)
      if (me === undefined) throw new DerError('DER_UNINIT', 'this CaRT instance has no rank')
      const members = treeMembers(group.ranks(), header.excluded)
      children = treeChildren({ type: header.tree, branchRatio: header.branchRatio }, members, header.root, me)
    } catch (error) {
      replyError(toDerError(error))
      return
    }
    let accumulated: unknown
    let has = false
    const failures: CorpcFailure[] = []
    let pending = 1 + children.length
    const merge = (value: unknown): void => {
      if (!has) {
        accumulated = value
        has = true
      } else if (format.corpc !== undefined) {
        accumulated = format.corpc.aggregate(accumulated, value)
      }
    }
    const finishOne = (): void => {
      if (--pending > 0) return
      try {
        const output = has ? encodeBody(format.output, accumulated) : undefined
        replyOk(encodeCorpcBody(output === undefined ? { failures } : { output, failures }))
      } catch (error) {
        replyError(toDerError(error))
      }
    }
    // Children get a shorter timeout than ours, so their failures reach us before our parent gives up.
    const childTimeoutMs = Math.max(1, Math.floor(request.timeoutMs * 0.75))
    for (const child of children) {
      let uri: string
      try {
        uri = (group).lookup(child, header.tag)
      } catch (error) {
        failures.push({ rank: child, error: toDerError(error) })
        finishOne()
        continue
      }
      this.startRpc<{ output?: Uint8Array; failures: readonly CorpcFailure[] }>({ uri }, request.opcode, request.body, childTimeoutMs, header, undefined, decodeCorpcBody).then(
        (b) => {
          try {
            if (b.output !== undefined) merge(decodeStruct(format.output, b.output))
          } catch (error) {
            failures.push({ rank: child, error: toDerError(error) })
          }
          failures.push(...b.failures)
          finishOne()
        },
        (error: unknown) => {
          failures.push({ rank: child, error: toDerError(error) })
          finishOne()
        },
      )
    }
    let localDone = false
    const localTimer = this.host.runtime.timers.schedule(childTimeoutMs, () => {
      if (localDone) return
      localDone = true
      failures.push({ rank: me, error: new DerError('DER_TIMEDOUT', `local handler of ${format.name} did not reply in ${childTimeoutMs} ms`) })
      finishOne()
    })
    const rpc = new IncomingRpc(input, format, this, connection.peerAddress, request.srcRank, request.timeoutMs, (o) => {
      if (localDone) return
      localDone = true
      this.host.runtime.timers.cancel(localTimer)
      if (o.ok) merge(o.value)
      else failures.push({ rank: me, error: o.error })
      finishOne()
    })
    this.runHandler(handler, rpc)
  }
}

function checkTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 3_600_000) {
    throw new DerError('DER_INVAL', `RPC timeout must be in (0, 3600000] ms, got ${timeoutMs}`)
  }
}

function partsLength(parts: readonly Uint8Array[]): number {
  let length = 0
  for (const part of parts) length += part.length
  return length
}

/**
 * The last two encoded sizes per codec: the next encoder starts as large as the smaller of them, so
 * a codec that keeps encoding big bodies does not regrow (and recopy) its buffer each time, and
 * one that alternates big and small values does not allocate big buffers for small ones.
 */
const sizeHints = new WeakMap<object, { last: number; previous: number }>()

/** `encodeStruct` with an initial capacity learnt from the codec's previous values. */
function encodeBody<T>(codec: StructCodec<T>, value: T): Uint8Array {
  const hint = sizeHints.get(codec)
  const encoder = new Encoder(hint === undefined ? 64 : Math.min(hint.last, hint.previous) + 16)
  writeStruct(encoder, codec, value)
  const bytes = encoder.finish()
  if (hint === undefined) sizeHints.set(codec, { last: bytes.length, previous: bytes.length })
  else {
    hint.previous = hint.last
    hint.last = bytes.length
  }
  return bytes
}
