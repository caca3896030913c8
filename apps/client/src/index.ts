/**
 * The client library of the system (`libdaos`): object I/O on a pool, with DAOS's key-value
 * (`daos_kv_*`) and array (`daos_array_*`) APIs on top.
 *
 * - **Pool and container handles** ({@link PoolHandle}, {@link ContainerHandle}): a pool handle
 *   holds the pool map, a callback returning the latest map, and a `@x/cart` context with
 *   {@link clientObjectProtocol} registered. A container handle allocates object ids from ranges
 *   ({@link OidRangeSource}, in memory for now: {@link MemoryOidRangeSource} over `@x/protocol`'s
 *   `ObjectIdAllocator`) and opens objects.
 * - **Objects** ({@link ObjectHandle}): update, fetch, punch, list dkeys and akeys (with anchors),
 *   query-key. Routing ({@link ObjectRouter}) follows `@x/protocol` placement: writes go to the
 *   group leader, reads to a replica (rotating) with failover to the others. A `DER_STALE` reply
 *   makes the client adopt the engine's newer map (or ask the refresh callback) and resend;
 *   `DER_INPROGRESS` and unreachable leaders are retried with bounded exponential backoff on the
 *   `Runtime` (the latter after a map refresh names another leader); every other failure is a
 *   typed `DerError`. Bad input (empty keys, negative offsets, unknown classes) is refused with
 *   `DER_INVAL` before any RPC.
 * - **Key-value** ({@link KvObject}): put, get, remove, list with anchors; one akey per dkey.
 * - **Arrays** ({@link ArrayObject}): create with cell and chunk sizes, write, read (holes read
 *   as zeros), getSize, setSize / truncate, destroy; I/O is split into per-chunk dkeys sent in
 *   parallel.
 * - **Events**: every KV and array call returns a promise and also takes `{ event }`, a
 *   `@x/tse` event on an event queue: the call runs as the event's task and `eq.poll()` reports
 *   its completion ({@link runWithEvent} does the same for any call).
 *
 * Erasure-coded classes (`EC_2P1G1`, `EC_4P2G1`, `EC_2P1GX`, ...) work through the same APIs:
 * updates go to the group leader (the last parity shard), reads to a data shard; the engine
 * gathers cells and reconstructs lost ones from parity.
 *
 * @example
 * ```ts
 * import { ObjectType } from '@x/protocol'
 * import { EventQueue, TseEvent } from '@x/tse'
 * import { PoolHandle, clientObjectProtocol } from '@x/client'
 *
 * // cart.registerProtocol(clientObjectProtocol); const context = await cart.createContext()
 * const pool = new PoolHandle({ context, runtime, poolUuid, poolMap, refreshMap: async () => latestMap() })
 * const cont = pool.openContainer(containerUuid)
 * const kv = await cont.createKv('RP_3G1')
 * await kv.put(new TextEncoder().encode('k'), new TextEncoder().encode('v'))
 * const eq = new EventQueue({ runtime })
 * const event = new TseEvent('get').init({ eq })
 * void kv.get(new TextEncoder().encode('k'), { event })
 * const [done] = await eq.poll(1, 16, 1000)
 * const arr = await cont.createArray(await cont.allocateOid('S1', ObjectType.ARRAY), { cellSizeBytes: 1, chunkSizeCells: 1 << 20 })
 * ```
 *
 * @packageDocumentation
 */
export { type ArrayAttributes, ArrayObject, arrayAkey, chunkDkey } from './array.ts'
export { type CallOptions, runWithEvent } from './events.ts'
export { type KvListPage, KvObject, kvAkey } from './kv.ts'
export { clientObjectProtocol } from './messages.ts'
export { type AkeyRead, type AkeyWrite, type Extent, type KeyQueryResult, type ListAnchor, ObjectHandle, type ObjectScope, type ReadOptions, type ReadValue, startAnchor } from './object.ts'
export { MemoryOidRangeSource, OidGenerator, type OidRangeSource } from './oid-allocator.ts'
export { ContainerHandle, type ContainerOpenOptions, PoolHandle, type PoolHandleOptions } from './pool.ts'
export { ObjectRouter, type ObjectReply, type ObjectRouterOptions, type RefreshPoolMap, type RetryPolicy, type RouterStats } from './router.ts'
export { checkBytes, checkCount, checkKey, maxKeyBytes } from './validate.ts'
