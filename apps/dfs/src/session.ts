/**
 * Opening a container's namespace the way `daos` does: pool connect and container query over the
 * daemon's control API, then `@x/client` and the caps protocol over cart on a `TcpFabric`.
 * Caps come from the engine holding shard 0 of the superblock; when that engine does not serve
 * the caps protocol (`auto`), the mount caches nothing rather than risk stale data.
 *
 * @module
 */
import { hostname } from 'node:os'
import { Cart, type Context } from '@x/cart'
import { PoolHandle, clientObjectProtocol } from '@x/client'
import { DerError, type Runtime } from '@x/common'
import type { ControlClient } from '@x/daemon'
import { capsBaseOpcode, capsProtocol } from '@x/engine'
import { type PoolMap, ObjectType, decodePoolMap, generateObjectId, parseObjectClass, placeObject, poolMapFit } from '@x/protocol'
import { TcpFabric } from '@x/rdma-transport'
import { type DfsCaching, Dfs, type DfsMountOptions } from './dfs.ts'

/** The part of the daemon's `ControlClient` a session uses (an identified caller). */
export type ControlCaller = Pick<ControlClient, 'call'>

/** A mounted container and how to let it go. */
export interface DfsSession {
  readonly dfs: Dfs
  /** The container's UUID. */
  readonly containerUuid: string
  /** The pool's UUID. */
  readonly poolUuid: string
  /** Which caching the mount got (`caps`, or `none` when the engine has no caps service). */
  readonly caching: DfsCaching['mode']
  /** Unmounts (writing back buffered data) and closes the connection. */
  close(): Promise<void>
}

/** Options of {@link openDfsSession}. */
export interface DfsSessionOptions {
  readonly runtime: Runtime
  /** Per-RPC timeout (default 5 s). */
  readonly timeoutMs?: number
  /** `auto` (default): caps when the authority serves them, else no cache. */
  readonly caching?: 'auto' | 'caps' | 'none'
  /** Format the container if it has no superblock (default true: a POSIX container starts empty). */
  readonly create?: boolean
  /** Extra mount options (chunk size and class of a new container). */
  readonly mount?: Partial<Pick<DfsMountOptions, 'chunkSizeBytes' | 'objectClass' | 'credentials' | 'maxDirtyBytes'>>
}

function decodeMap(base64: string): PoolMap {
  if (typeof base64 !== 'string') throw new DerError('DER_PROTO', 'pool connect: the pool map is missing')
  return decodePoolMap(Buffer.from(base64, 'base64'))
}

async function servesCaps(context: Context, rank: number, timeoutMs: number): Promise<boolean> {
  try {
    const versions = await context.queryProtocol({ rank, tag: 0 }, capsBaseOpcode, { timeoutMs })
    return versions.includes(1)
  } catch {
    return false
  }
}

/** Parses a chunk size property: bytes, or with a `K`/`M`/`G` (binary) suffix; `DER_INVAL` otherwise. */
export function parseChunkSize(text: string): number {
  const m = /^(\d+)\s*([kmg]i?b?)?$/i.exec(text.trim())
  if (m === null) throw new DerError('DER_INVAL', `bad chunk size ${JSON.stringify(text)}`)
  const unit = (m[2] ?? '').toLowerCase()[0]
  const bytes = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : unit === 'g' ? 1 << 30 : 1)
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 0xffff_ffff) throw new DerError('DER_INVAL', `chunk size ${text} out of range`)
  return bytes
}

/** Connects to pool `poolId`, opens container `contId` and mounts its namespace. */
export async function openDfsSession(client: ControlCaller, poolId: string, contId: string, options: DfsSessionOptions): Promise<DfsSession> {
  const connect = await client.call('PoolConnect', { id: poolId })
  const query = await client.call('ContainerQuery', { pool: poolId, cont: contId })
  if (query.type.toUpperCase() !== 'POSIX') throw new DerError('DER_INVAL', `container ${contId} is of type ${query.type}, not POSIX`)
  const map = decodeMap(connect.poolMap)
  const timeoutMs = options.timeoutMs ?? 5000
  const fabric = new TcpFabric({ runtime: options.runtime, host: '127.0.0.1', connectTimeoutMs: timeoutMs })
  const cart = new Cart({ fabric, runtime: options.runtime, defaultTimeoutMs: timeoutMs })
  const close = async (): Promise<void> => {
    await cart.close().catch(() => undefined)
    await fabric.close().catch(() => undefined)
  }
  try {
    cart.registerProtocol(clientObjectProtocol)
    cart.registerProtocol(capsProtocol)
    for (const r of connect.ranks ?? [{ rank: connect.rank, uris: connect.uris }]) cart.primaryGroup.addRank(r.rank, r.uris)
    const context = await cart.createContext()
    const pool = new PoolHandle({
      context,
      runtime: options.runtime,
      poolUuid: connect.uuid,
      poolMap: map,
      retry: { timeoutMs },
      refreshMap: async (known) => {
        const fresh = await client.call('PoolConnect', { id: poolId })
        return fresh.mapVersion > known ? decodeMap(fresh.poolMap) : undefined
      },
    })
    const sbOid = generateObjectId({ lo: 0n, type: ObjectType.KV_HASHED, oclass: parseObjectClass('S1'), fit: poolMapFit(map) })
    const authority = placeObject(map, sbOid).groups[0]?.shards[0]?.rank ?? connect.rank
    const wanted = options.caching ?? 'auto'
    const useCaps = wanted === 'caps' || (wanted === 'auto' && (await servesCaps(context, authority, timeoutMs)))
    const clientId = `${hostname()}-${process.pid}-${options.runtime.random.int(1 << 30).toString(36)}`
    const caching: DfsCaching = useCaps ? { mode: 'caps', context, clientId } : { mode: 'none' }
    // A new container is formatted with its chunk size and object class properties (`daos container create --chunk-size`).
    const chunkProperty = query.properties.chunk_size
    const chunkSizeBytes = chunkProperty === undefined ? undefined : parseChunkSize(chunkProperty)
    const fromContainer: Partial<DfsMountOptions> = {
      ...(chunkSizeBytes === undefined ? {} : { chunkSizeBytes }),
      ...(query.oclass === '' ? {} : { objectClass: query.oclass }),
    }
    const dfs = await Dfs.mount(pool, query.container.uuid, { runtime: options.runtime, create: options.create ?? true, caching, ...fromContainer, ...options.mount })
    return {
      dfs,
      containerUuid: query.container.uuid,
      poolUuid: connect.uuid,
      caching: caching.mode,
      async close() {
        try {
          await dfs.unmount()
        } finally {
          await close()
        }
      },
    }
  } catch (e) {
    await close()
    throw e
  }
}
