/**
 * The data path of `daos kv`: pool connect over the control API, then `@x/client` over a
 * `TcpFabric` to the engine's object service, on the container's KV object.
 *
 * The KV object of a container is allocated by the daemon at `container create`: class from
 * `--oclass` (default `S1`), type `KV_HASHED`, `lo` = 1, stored as the container attribute
 * `x.kv_oid` (`hi.lo`) and reported by ContainerQuery as `kvOid`.
 *
 * @module
 */
import { Cart } from '@x/cart'
import { PoolHandle, type KvObject, clientObjectProtocol } from '@x/client'
import { DerError, type Runtime } from '@x/common'
import { type PoolMap, decodePoolMap, parseObjectId } from '@x/protocol'
import { TcpFabric } from '@x/rdma-transport'
import type { DaosCaller } from './commands.ts'

/** An open KV object and how to release its connection. */
export interface KvSession {
  readonly kv: KvObject
  /** The container's UUID. */
  readonly containerUuid: string
  close(): Promise<void>
}

/** Options of {@link openKvSession}. */
export interface KvSessionOptions {
  readonly runtime: Runtime
  /** Per-RPC timeout (default 5 s). */
  readonly timeoutMs?: number
  /** Pool handle capabilities: `ro` for reads, `rw` (default) for writes. */
  readonly caps?: 'ro' | 'rw'
}

function decodeMap(base64: string): PoolMap {
  if (typeof base64 !== 'string') throw new DerError('DER_PROTO', 'pool connect: the pool map is missing')
  return decodePoolMap(Buffer.from(base64, 'base64'))
}

/** Connects to pool `poolId`, looks up container `contId` and opens its KV object. */
export async function openKvSession(client: DaosCaller, poolId: string, contId: string, options: KvSessionOptions): Promise<KvSession> {
  const query = await client.call('ContainerQuery', { pool: poolId, cont: contId })
  if (query.kvOid === '') throw new DerError('DER_NONEXIST', `container ${contId} has no KV object (created without one)`)
  const caps = options.caps ?? 'rw'
  const connect = await client.call('PoolConnect', { id: poolId, caps, keepHandle: true })
  const oid = parseObjectId(query.kvOid)
  const map = decodeMap(connect.poolMap)
  const timeoutMs = options.timeoutMs ?? 5000
  const fabric = new TcpFabric({ runtime: options.runtime, host: '127.0.0.1', connectTimeoutMs: timeoutMs })
  const cart = new Cart({ fabric, runtime: options.runtime, defaultTimeoutMs: timeoutMs })
  try {
    cart.registerProtocol(clientObjectProtocol)
    for (const r of connect.ranks ?? [{ rank: connect.rank, uris: connect.uris }]) cart.primaryGroup.addRank(r.rank, r.uris)
    const context = await cart.createContext()
    const pool = new PoolHandle({
      context,
      runtime: options.runtime,
      poolUuid: connect.uuid,
      poolMap: map,
      retry: { timeoutMs },
      refreshMap: async (known) => {
        const fresh = await client.call('PoolConnect', { id: poolId, caps })
        if (fresh.handle !== undefined && fresh.handle !== '') await client.call('PoolDisconnect', { id: fresh.uuid, handle: fresh.handle }).catch(() => undefined)
        return fresh.mapVersion > known ? decodeMap(fresh.poolMap) : undefined
      },
    })
    const kv = pool.openContainer(query.container.uuid).openKv(oid)
    return {
      kv,
      containerUuid: query.container.uuid,
      async close() {
        await cart.close().catch(() => undefined)
        await fabric.close().catch(() => undefined)
        if (connect.handle !== undefined && connect.handle !== '') await client.call('PoolDisconnect', { id: connect.uuid, handle: connect.handle }).catch(() => undefined)
      },
    }
  } catch (e) {
    await cart.close().catch(() => undefined)
    await fabric.close().catch(() => undefined)
    if (connect.handle !== undefined && connect.handle !== '') await client.call('PoolDisconnect', { id: connect.uuid, handle: connect.handle }).catch(() => undefined)
    throw e
  }
}
