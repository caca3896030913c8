/**
 * `@x/engine/testing`: an in-process multi-engine system for tests and the simulator.
 *
 * {@link startTestSystem} starts N {@link SystemNode}s (the first ones access points running the
 * management service) on a `MemoryFabric` under a seeded `VirtualRuntime`; each engine has
 * memory-device targets behind `FaultyBlockDevice`s and its Raft logs on
 * {@link DurableMemoryStorage} (a crash keeps only what was synced). The returned
 * {@link TestSystem} drives virtual time (`settle`, `waitFor`), crashes (`crash(rank)`: the
 * engine's endpoints dropped at once, nothing flushed, device power cut, unsynced Raft writes
 * lost), stops and restarts engines (`restart(rank)`, `restartAll()`: a restart rejoins with
 * incarnation + 1 and reopens its pools), cuts and heals the fabric between ranks
 * (`partition`, `heal`), creates pools and containers through any node, and opens a client view
 * of a container: an {@link ObjectClient} on its own cart, routed by the pool map from pool
 * connect, plus the container's KV object id. SWIM runs with the `local` profile unless
 * `membership: false`; rebuild runs unless `rebuild: false`; `logger` sees every node's logs.
 *
 * Ranks are assigned in join order (deterministic for a seed): use `engines[i].rank`, or
 * `msLeader()`, `liveRanks()`, rather than assuming engine i has rank i.
 *
 * Everything is deterministic for a seed: print the seed in assertion messages.
 *
 * @example
 * ```ts
 * import { startTestSystem } from '@x/engine/testing'
 *
 * const sys = await startTestSystem({ seed: 42, engines: 3, targetsPerEngine: 2 })
 * await sys.createPool({ label: 'tank', sizeBytes: 8 << 20 })
 * await sys.createContainer({ pool: 'tank', label: 'c1', oclass: 'RP_3GX' })
 * const c = await sys.client('tank', 'c1')
 * const te = new TextEncoder()
 * await sys.settle(c.objects.update(c.kvOid, te.encode('key'), [{ akey: te.encode('v'), value: te.encode('hello') }]))
 * const leader = sys.msLeader()!
 * await sys.crash(leader.rank)          // the two other access points elect a new leader
 * console.log((await sys.settle(sys.anyNode().systemQuery())).members.length) // 3
 * await sys.restart(leader.rank)
 * await sys.stopAll()
 * ```
 *
 * @module
 */
export { DurableMemoryStorage } from './durable-memory-storage.ts'
export { type TestContainerClient, type TestEngine, type TestSystem, type TestSystemOptions, defaultTestTiming, startTestSystem } from './test-system.ts'
export { SystemNode } from '../system/index.ts'
export { ObjectClient } from '../object/index.ts'
