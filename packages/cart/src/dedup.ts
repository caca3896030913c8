/**
 * The table of served requests a context keeps to drop duplicates: per connection, the request ids
 * seen (with the reply, when small enough to resend), bounded by a ring that evicts the oldest
 * entry. Every operation is O(1): a JavaScript `Map` used as a FIFO (`keys().next()` after many
 * deletions) degrades to a scan of its deleted slots, which cost the server side of every RPC.
 *
 * @module
 */
import { assert } from '@x/common'

/** What the table remembers of one served request. */
export interface ServedEntry {
  /** The encoded reply (its parts), kept to answer a duplicate request. */
  reply?: readonly Uint8Array[]
}

/** Served requests by connection and request id, at most `capacity` of them. */
export class DedupTable {
  private readonly byConnection = new Map<number, Map<number, ServedEntry>>()
  private readonly ringConnections: Float64Array
  private readonly ringRpcIds: Float64Array
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, `dedup capacity must be a positive integer, got ${capacity}`)
    this.ringConnections = new Float64Array(capacity)
    this.ringRpcIds = new Float64Array(capacity)
  }

  /** Entries held (including those of connections already dropped, until the ring evicts them). */
  get size(): number {
    return this.count
  }

  /** The entry of a request, if it was served on this connection and not evicted. */
  get(connectionId: number, rpcId: number): ServedEntry | undefined {
    return this.byConnection.get(connectionId)?.get(rpcId)
  }

  /** Remembers a request (evicting the oldest one when full); returns its entry. */
  add(connectionId: number, rpcId: number): ServedEntry {
    if (this.count === this.capacity) this.evictOldest()
    const entry: ServedEntry = {}
    let requests = this.byConnection.get(connectionId)
    if (requests === undefined) {
      requests = new Map()
      this.byConnection.set(connectionId, requests)
    }
    requests.set(rpcId, entry)
    const slot = (this.head + this.count) % this.capacity
    this.ringConnections[slot] = connectionId
    this.ringRpcIds[slot] = rpcId
    this.count++
    return entry
  }

  /** Forgets every request of a connection (it went down). */
  dropConnection(connectionId: number): void {
    this.byConnection.delete(connectionId)
  }

  private evictOldest(): void {
    const connectionId = this.ringConnections[this.head] as number
    const rpcId = this.ringRpcIds[this.head] as number
    this.head = (this.head + 1) % this.capacity
    this.count--
    const requests = this.byConnection.get(connectionId)
    if (requests === undefined) return
    requests.delete(rpcId)
    if (requests.size === 0) this.byConnection.delete(connectionId)
  }
}
