/**
 * The `memory` provider: endpoints in one process, connected through a simulated network driven
 * by a {@link Runtime}'s timers, so a whole cluster runs under `VirtualRuntime`. Seeded fault
 * injection (drop, delay, duplicate, reorder, reset, partition, crash) exercises the layers above.
 *
 * @module
 */
import { DerError, type Random, type Runtime, assert, toDerError } from '@x/common'
import { formatAddress, parseAddress } from '../address.ts'
import { BaseConnection, BaseEndpoint, type PendingOperation } from '../base.ts'
import type { Connection, Endpoint, EndpointOptions, Fabric } from '../types.ts'

/**
 * Probabilities (0..1) of faults applied to each message in flight. Drops, duplicates and
 * reorders break the contract's ordering promise on purpose: they model what the layers above
 * must survive. RMA and connection setup are subject to partitions and crashes only.
 */
export interface MemoryFaults {
  /** The message is lost (its send still completes `ok`). */
  readonly dropRate?: number
  /** The message is delivered twice. */
  readonly duplicateRate?: number
  /** The message is held back up to `maxDelayMs`, letting later ones overtake it. */
  readonly reorderRate?: number
  /** The message (and every later one, order kept) is delayed up to `maxDelayMs`. */
  readonly delayRate?: number
  /** Largest extra delay (default 20 ms). */
  readonly maxDelayMs?: number
  /** Instead of being delivered, the message resets its connection (both sides see `reset`). */
  readonly resetRate?: number
}

/** Options of {@link MemoryFabric}. */
export interface MemoryFabricOptions {
  /** Drives every delivery; `VirtualRuntime` makes runs deterministic. */
  readonly runtime: Runtime
  /** One-way latency of every message and RMA (default 0: the next timer turn). */
  readonly latencyMs?: number
  /** Seeded faults (default none); change later with {@link MemoryFabric.setFaults}. */
  readonly faults?: MemoryFaults
  /**
   * Deliver message buffers without copying (default false). Safe only when senders never touch
   * a buffer after sending it; RMA always copies straight between the two registered buffers.
   */
  readonly zeroCopyMessages?: boolean
}

/** Counters of what the fault injector did. */
export interface MemoryFaultStats {
  dropped: number
  duplicated: number
  reordered: number
  delayed: number
  resets: number
  partitioned: number
}

/** An in-process fabric: the `memory` provider. */
export class MemoryFabric implements Fabric {
  readonly provider = 'memory'
  readonly runtime: Runtime
  readonly latencyMs: number
  readonly zeroCopyMessages: boolean
  /** What the fault injector did so far. */
  readonly stats: MemoryFaultStats = { dropped: 0, duplicated: 0, reordered: 0, delayed: 0, resets: 0, partitioned: 0 }
  /** @internal */
  readonly random: Random
  /** @internal */
  faults: Required<MemoryFaults>
  private readonly listeners = new Map<string, MemoryEndpoint>()
  private readonly endpoints = new Set<MemoryEndpoint>()
  private readonly partitions = new Set<string>()
  private anonymous = 0

  constructor(options: MemoryFabricOptions) {
    this.runtime = options.runtime
    this.latencyMs = options.latencyMs ?? 0
    if (!Number.isFinite(this.latencyMs) || this.latencyMs < 0) throw new DerError('DER_INVAL', `latencyMs must be >= 0, got ${this.latencyMs}`)
    this.zeroCopyMessages = options.zeroCopyMessages ?? false
    this.random = options.runtime.random.fork()
    this.faults = normalizeFaults(options.faults ?? {})
  }

  /** Replaces the fault probabilities. */
  setFaults(faults: MemoryFaults): void {
    this.faults = normalizeFaults(faults)
  }

  /** Cuts traffic between two addresses (both directions): messages vanish, RMA and connects fail. */
  partition(a: string, b: string): void {
    this.partitions.add(pairKey(a, b))
  }

  /** Heals one partition, or all of them without arguments. */
  heal(a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.partitions.clear()
    else this.partitions.delete(pairKey(a, b))
  }

  /** Whether traffic between two addresses is cut. */
  isPartitioned(a: string, b: string): boolean {
    return this.partitions.size > 0 && this.partitions.has(pairKey(a, b))
  }

  /**
   * Crashes the endpoint at `address`: it stops at once, its peers see `reset`, its registered
   * memory is gone. A new endpoint may then listen on the same address (a restart).
   */
  crash(address: string): void {
    const endpoint = this.listeners.get(address) ?? [...this.endpoints].find((e) => e.address === address)
    if (endpoint === undefined) throw new DerError('DER_NONEXIST', `no endpoint at ${address}`)
    endpoint.crash()
  }

  /** Resets every connection between two addresses (both sides see `reset`). */
  resetConnections(a: string, b: string): number {
    let count = 0
    for (const endpoint of this.endpoints) {
      if (endpoint.address !== a) continue
      for (const connection of endpoint.connections) {
        if (connection.peerAddress === b && connection instanceof MemoryConnection) {
          connection.reset(new DerError('DER_UNREACH', 'connection reset by fault injection'))
          count++
        }
      }
    }
    return count
  }

  async open(options: EndpointOptions = {}): Promise<Endpoint> {
    return Promise.resolve(this.openSync(options))
  }

  /** {@link MemoryFabric.open} without the promise, for callback-driven code. */
  openSync(options: EndpointOptions = {}): Endpoint {
    let address: string
    if (options.listen === undefined) {
      address = `memory://anon-${++this.anonymous}`
      while (this.listeners.has(address)) address = `memory://anon-${++this.anonymous}`
    } else {
      const parsed = parseAddress(options.listen)
      if (parsed.provider !== 'memory') throw new DerError('DER_INVAL', `the memory provider cannot listen on ${options.listen}`)
      address = formatAddress(parsed)
      if (this.listeners.has(address)) throw new DerError('DER_EXIST', `${address} is already in use`)
    }
    const endpoint = new MemoryEndpoint(this, address, options)
    this.listeners.set(address, endpoint)
    this.endpoints.add(endpoint)
    return endpoint
  }

  async close(): Promise<void> {
    for (const endpoint of [...this.endpoints]) await endpoint.close()
  }

  /** @internal */
  lookup(address: string): MemoryEndpoint | undefined {
    return this.listeners.get(address)
  }

  /** @internal */
  removed(endpoint: MemoryEndpoint): void {
    if (this.listeners.get(endpoint.address) === endpoint) this.listeners.delete(endpoint.address)
    this.endpoints.delete(endpoint)
  }
}

function normalizeFaults(faults: MemoryFaults): Required<MemoryFaults> {
  const result = {
    dropRate: faults.dropRate ?? 0,
    duplicateRate: faults.duplicateRate ?? 0,
    reorderRate: faults.reorderRate ?? 0,
    delayRate: faults.delayRate ?? 0,
    maxDelayMs: faults.maxDelayMs ?? 20,
    resetRate: faults.resetRate ?? 0,
  }
  for (const [name, value] of Object.entries(result)) {
    const limit = name === 'maxDelayMs' ? Number.MAX_SAFE_INTEGER : 1
    if (!Number.isFinite(value) || value < 0 || value > limit) throw new DerError('DER_INVAL', `fault ${name} out of range: ${value}`)
  }
  return result
}

function gather(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`
}

/** An endpoint of the {@link MemoryFabric}. */
export class MemoryEndpoint extends BaseEndpoint {
  readonly address: string

  constructor(
    readonly fabric: MemoryFabric,
    address: string,
    options: EndpointOptions,
  ) {
    super(options, fabric.random.fork())
    this.address = address
  }

  connect(address: string): Promise<Connection> {
    let parsed
    try {
      parsed = parseAddress(address)
    } catch (error) {
      return Promise.reject(toDerError(error))
    }
    if (parsed.provider !== 'memory') return Promise.reject(new DerError('DER_INVAL', `the memory provider cannot reach ${address}`))
    if (this.closed) return Promise.reject(new DerError('DER_SHUTDOWN', 'endpoint is closed'))
    const target = formatAddress(parsed)
    const local = new MemoryConnection(this, this.nextConnectionId(), true, target)
    this.track(local)
    return new Promise((resolve, reject) => {
      this.fabric.runtime.timers.schedule(this.fabric.latencyMs, () => {
        if (local.state !== 'connecting') {
          reject(new DerError('DER_UNREACH', `connect to ${target} aborted`))
          return
        }
        const listener = this.fabric.lookup(target)
        let refusal: string | undefined
        if (listener === undefined || listener.closed) refusal = 'nothing listens there'
        else if (this.fabric.isPartitioned(this.address, target)) refusal = 'network partition'
        else if (!listener.canAccept) refusal = 'peer event queue full'
        if (refusal !== undefined || listener === undefined) {
          const error = new DerError('DER_UNREACH', `connection to ${target} refused: ${refusal ?? 'unknown'}`)
          local.down('refused', error)
          reject(error)
          return
        }
        const remote = new MemoryConnection(listener, listener.nextConnectionId(), false, this.address)
        listener.track(remote)
        remote.peer = local
        local.peer = remote
        remote.established(this.address, this.maxUnexpectedBytes)
        local.established(target, listener.maxUnexpectedBytes)
        resolve(local)
      })
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.downAll(false, new DerError('DER_SHUTDOWN', 'endpoint closed'))
    this.regions.clear()
    this.fabric.removed(this)
    return Promise.resolve()
  }

  /** @internal */
  crash(): void {
    if (this.closed) return
    this.closed = true
    const reason = new DerError('DER_SHUTDOWN', `endpoint ${this.address} crashed`)
    for (const connection of this.connections) {
      const peer = (connection as MemoryConnection).peer
      connection.down('reset', reason)
      peer?.down('reset', reason)
    }
    this.regions.clear()
    this.fabric.removed(this)
  }
}

/** A connection of the {@link MemoryFabric}. */
export class MemoryConnection extends BaseConnection {
  /** @internal the other side. */
  peer: MemoryConnection | undefined
  /** Earliest instant the next in-order delivery may happen (keeps per-connection order). */
  private nextDeliveryMs = 0

  private get fabric(): MemoryFabric {
    return (this.endpoint as MemoryEndpoint).fabric
  }

  /** @internal resets both sides. */
  reset(reason: DerError): void {
    const peer = this.peer
    this.down('reset', reason)
    peer?.down('reset', reason)
  }

  protected transmitSend(op: PendingOperation, tag: number, parts: readonly Uint8Array[], length: number): void {
    const fabric = this.fabric
    const faults = fabric.faults
    const random = fabric.random
    const payload = parts.length === 1 && fabric.zeroCopyMessages ? (parts[0] as Uint8Array) : gather(parts, length)
    const now = fabric.runtime.clock.monotonicMs()
    let dueMs = Math.max(now + fabric.latencyMs, this.nextDeliveryMs)
    let copies = 1
    let dropped = false
    let reset = false
    if (faults.dropRate > 0 && random.chance(faults.dropRate)) {
      dropped = true
      fabric.stats.dropped++
    } else if (faults.resetRate > 0 && random.chance(faults.resetRate)) {
      reset = true
      fabric.stats.resets++
    } else {
      if (faults.duplicateRate > 0 && random.chance(faults.duplicateRate)) {
        copies = 2
        fabric.stats.duplicated++
      }
      if (faults.delayRate > 0 && random.chance(faults.delayRate)) {
        dueMs += random.float() * faults.maxDelayMs
        fabric.stats.delayed++
      }
    }
    let ordered = true
    if (!dropped && !reset && faults.reorderRate > 0 && random.chance(faults.reorderRate)) {
      ordered = false
      dueMs += 1 + random.float() * faults.maxDelayMs
      fabric.stats.reordered++
    }
    if (ordered) this.nextDeliveryMs = dueMs
    let withdrawn = false
    op.withdraw = () => {
      withdrawn = true
      return true
    }
    fabric.runtime.timers.schedule(dueMs - now, () => {
      if (withdrawn || op.done) return
      op.withdraw = undefined
      if (reset) {
        this.reset(new DerError('DER_UNREACH', 'connection reset by fault injection'))
        return
      }
      this.finish(op, { status: 'ok', bytes: length })
      const peer = this.peer
      if (dropped || peer === undefined) return
      if (fabric.isPartitioned(this.localAddress, this.peerAddress)) {
        fabric.stats.partitioned++
        return
      }
      for (let i = 0; i < copies; i++) peer.deliver(tag, i === 0 ? payload : payload.slice())
    })
  }

  protected transmitRead(op: PendingOperation, key: number, offset: number, into: Uint8Array): void {
    this.rma(op, () => {
      const source = this.peer?.endpoint.regions.resolve(key, offset, into.length, 'read')
      if (source === undefined) return new DerError('DER_UNREACH', 'peer is gone')
      if (source instanceof DerError) return source
      into.set(source)
      return undefined
    })
  }

  protected transmitWrite(op: PendingOperation, key: number, offset: number, from: Uint8Array): void {
    this.rma(op, () => {
      const target = this.peer?.endpoint.regions.resolve(key, offset, from.length, 'write')
      if (target === undefined) return new DerError('DER_UNREACH', 'peer is gone')
      if (target instanceof DerError) return target
      target.set(from)
      return undefined
    })
  }

  private rma(op: PendingOperation, access: () => DerError | undefined): void {
    const fabric = this.fabric
    // Round trip: the request reaches the target, the answer comes back.
    fabric.runtime.timers.schedule(2 * fabric.latencyMs, () => {
      if (op.done) return
      if (fabric.isPartitioned(this.localAddress, this.peerAddress)) {
        this.finish(op, { status: 'error', error: new DerError('DER_UNREACH', 'RMA across a network partition'), bytes: 0 })
        return
      }
      const error = access()
      if (error === undefined) this.finish(op, { status: 'ok', bytes: op.maxBytes })
      else this.finish(op, { status: 'error', error, bytes: 0 })
    })
  }

  protected transmitClose(): void {
    const peer = this.peer
    if (peer === undefined) return
    const fabric = this.fabric
    const now = fabric.runtime.clock.monotonicMs()
    const dueMs = Math.max(now + fabric.latencyMs, this.nextDeliveryMs)
    fabric.runtime.timers.schedule(dueMs - now, () => peer.down('closed', new DerError('DER_SHUTDOWN', 'closed by peer')))
  }

  protected override onDown(): void {
    assert(this.state === 'closed', 'onDown on a live connection')
  }
}
