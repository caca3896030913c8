/**
 * The `@x/client` library against a running cluster, as an application uses it: pool connect and
 * container query through the control API (gRPC to any live access point, trying the next one
 * when a daemon is down), then object I/O over cart on a `TcpFabric` to the engines.
 *
 * Pool connect answers which ranks serve the pool and their cart URIs. Today's one-engine daemon
 * answers `{rank, uris}`; {@link rankUrisOf} also reads a multi-rank answer (`ranks` or `members`:
 * a list of `{rank, uris}`, or `rankUris`: `{ "<rank>": uris }`), so the session follows the
 * multi-engine daemon without change.
 *
 * @module
 */
import { Cart } from '@x/cart'
import { type ArrayObject, type ContainerHandle, type KvObject, PoolHandle, clientObjectProtocol } from '@x/client'
import { DerError, type Runtime, isDerError } from '@x/common'
import { ControlClient, type ControlMethodName, type ControlMethods } from '@x/daemon'
import { type ObjectId, type PoolMap, ObjectType, decodePoolMap, objectMaxMessageBytes, parseObjectId } from '@x/protocol'
import { TcpFabric } from '@x/rdma-transport'

/** Calls control methods on whichever of several control servers answers. */
export class ControlFailover {
  private readonly clients: ControlClient[]
  private preferred = 0

  /** @param targets control addresses `host:port`, tried in order. */
  constructor(
    targets: readonly string[],
    runtime: Runtime,
    private readonly timeoutMs = 10_000,
  ) {
    if (targets.length === 0) throw new DerError('DER_INVAL', 'no control targets')
    this.clients = targets.map((target) => new ControlClient({ target, clock: runtime.clock, timeoutMs: this.timeoutMs }))
  }

  /** Calls `method` on the preferred server, then the others on `DER_UNREACH`/`DER_TIMEDOUT`/`DER_NOTLEADER`. */
  async call<M extends ControlMethodName>(method: M, request: ControlMethods[M]['request']): Promise<ControlMethods[M]['response']> {
    let lastError: unknown
    for (let i = 0; i < this.clients.length; i++) {
      const index = (this.preferred + i) % this.clients.length
      const client = this.clients[index]
      if (client === undefined) continue
      try {
        const response = await client.call(method, request)
        this.preferred = index
        return response
      } catch (e) {
        lastError = e
        if (!isDerError(e) || !['DER_UNREACH', 'DER_TIMEDOUT', 'DER_NOTLEADER', 'DER_CANCELED', 'DER_HG'].includes(e.name)) throw e
      }
    }
    throw lastError instanceof Error ? lastError : new DerError('DER_UNREACH', 'no control server answered')
  }

  /** Closes every channel. */
  close(): void {
    for (const client of this.clients) client.close()
  }
}

/**
 * The ranks of a pool connect answer and their cart URIs (one per target tag); see the module
 * comment for the shapes read. `DER_PROTO` when none is found.
 */
export function rankUrisOf(connect: unknown): Map<number, string[]> {
  const out = new Map<number, string[]>()
  const isUris = (value: unknown): value is string[] => Array.isArray(value) && value.length > 0 && value.every((u) => typeof u === 'string')
  const addEntry = (entry: unknown): void => {
    if (entry === null || typeof entry !== 'object') return
    const { rank, uris } = entry as { rank?: unknown; uris?: unknown }
    if (typeof rank === 'number' && Number.isInteger(rank) && rank >= 0 && isUris(uris)) out.set(rank, [...uris])
  }
  if (connect !== null && typeof connect === 'object') {
    const c = connect as Record<string, unknown>
    for (const key of ['ranks', 'members', 'targets'] as const) {
      const list = c[key]
      if (Array.isArray(list)) list.forEach(addEntry)
    }
    const byRank = c.rankUris
    if (byRank !== null && typeof byRank === 'object' && !Array.isArray(byRank)) {
      for (const [rank, uris] of Object.entries(byRank as Record<string, unknown>)) addEntry({ rank: Number(rank), uris })
    }
    if (out.size === 0) addEntry(connect)
  }
  if (out.size === 0) throw new DerError('DER_PROTO', 'pool connect: no rank URIs in the answer')
  return out
}

function decodeMap(value: unknown): PoolMap {
  if (typeof value !== 'string') throw new DerError('DER_PROTO', 'pool connect: the pool map is missing')
  return decodePoolMap(Buffer.from(value, 'base64'))
}

/** Options of {@link ClientSession.open}. */
export interface ClientSessionOptions {
  readonly runtime: Runtime
  /** Control addresses (`host:port`), tried in order. */
  readonly controlTargets: readonly string[]
  /** Pool label or UUID. */
  readonly pool: string
  /** Container label or UUID. */
  readonly container: string
  /** Per-RPC timeout of object I/O (default 5 s). */
  readonly timeoutMs?: number
  /** How long the client keeps retrying one operation (default: the client's own policy). */
  readonly retryTimeoutMs?: number
}

/** A connected pool and open container over real sockets (see the module comment). */
export class ClientSession {
  private constructor(
    /** The control API (pool connect, container query). */
    readonly control: ControlFailover,
    /** The pool handle. */
    readonly pool: PoolHandle,
    /** The open container. */
    readonly container: ContainerHandle,
    /** The container's own KV object id (`kvOid`), if it has one. */
    readonly containerKvOid: ObjectId | undefined,
    private readonly cart: Cart,
    private readonly fabric: TcpFabric,
  ) {}

  /** Connects to the pool and opens the container. */
  static async open(options: ClientSessionOptions): Promise<ClientSession> {
    const control = new ControlFailover(options.controlTargets, options.runtime)
    const timeoutMs = options.timeoutMs ?? 5000
    const fabric = new TcpFabric({ runtime: options.runtime, host: '127.0.0.1', connectTimeoutMs: timeoutMs })
    const cart = new Cart({ fabric, runtime: options.runtime, defaultTimeoutMs: timeoutMs, maxUnexpectedBytes: objectMaxMessageBytes })
    try {
      const connect = await control.call('PoolConnect', { id: options.pool })
      const query = await control.call('ContainerQuery', { pool: options.pool, cont: options.container })
      cart.registerProtocol(clientObjectProtocol)
      const learn = (answer: unknown): void => {
        for (const [rank, uris] of rankUrisOf(answer)) cart.primaryGroup.addRank(rank, uris)
      }
      learn(connect)
      const context = await cart.createContext()
      const pool = new PoolHandle({
        context,
        runtime: options.runtime,
        poolUuid: connect.uuid,
        poolMap: decodeMap(connect.poolMap),
        retry: { timeoutMs: options.retryTimeoutMs ?? timeoutMs * 4 },
        refreshMap: async (known) => {
          const fresh = await control.call('PoolConnect', { id: options.pool })
          learn(fresh)
          return fresh.mapVersion > known ? decodeMap(fresh.poolMap) : undefined
        },
      })
      const container = pool.openContainer(query.container.uuid)
      const kvOid = typeof query.kvOid === 'string' && query.kvOid !== '' ? parseObjectId(query.kvOid) : undefined
      return new ClientSession(control, pool, container, kvOid, cart, fabric)
    } catch (e) {
      control.close()
      await cart.close().catch(() => undefined)
      await fabric.close().catch(() => undefined)
      throw e
    }
  }

  /** The container's own KV object (the one `daos kv` uses). */
  containerKv(): KvObject {
    if (this.containerKvOid === undefined) throw new DerError('DER_NONEXIST', 'the container has no KV object')
    return this.container.openKv(this.containerKvOid)
  }

  /** A new KV object of class `oclass`. */
  createKv(oclass: string): Promise<KvObject> {
    return this.container.createKv(oclass)
  }

  /** A new byte array (cell size 1) of class `oclass` with `chunkBytes` per dkey. */
  async createArray(oclass: string, chunkBytes = 1 << 20): Promise<ArrayObject> {
    const oid = await this.container.allocateOid(oclass, ObjectType.ARRAY)
    return this.container.createArray(oid, { cellSizeBytes: 1, chunkSizeCells: chunkBytes })
  }

  /** Closes the object connections and the control channels. */
  async close(): Promise<void> {
    this.control.close()
    await this.cart.close().catch(() => undefined)
    await this.fabric.close().catch(() => undefined)
  }
}
