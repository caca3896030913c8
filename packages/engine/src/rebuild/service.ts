/**
 * `RebuildService`: rebuild, reintegration and drain of one pool on one engine, after DAOS's
 * rebuild: when the pool map changes, every surviving engine scans its targets' VOS for the
 * pool's objects, computes each object's layout before and after the change
 * ({@link planObjectRebuild}), and for every shard that moves to a target that did not hold it,
 * the group's deterministic holder (the lowest-position surviving shard) pushes the object's
 * stored history to the new target over the `rebuild` cart protocol.
 *
 * - **What travels.** Every committed version of every dkey and akey of the group (single
 *   values, array extents and holes) and every punch (object, dkey, akey), with their epochs
 *   (`@x/vos` `objectHistory`), in pages of dkeys. The receiver replays them at their own epochs
 *   (`applyHistory`): versions stay right, and a version or punch it already holds is skipped,
 *   so a retried or repeated push neither duplicates nor reorders anything (replays of one object
 *   on one target run one at a time; `maxInflightPushes` objects are pushed at once). The receiver writes
 *   through the same VOS layout as the object service (container = the container uuid, object =
 *   the 128-bit id), so the object service serves rebuilt shards at once.
 * - **Committed data only.** A DTX still prepared on the holder is resolved before its object is
 *   pushed: first by waiting for the leader's batched commit, then by asking the group's shards
 *   (`dtx_check`): committed or committable anywhere -> commit; aborted anywhere -> abort; still
 *   being prepared by a reachable leader -> wait; unknown to a shard -> abort (the leader never
 *   acknowledged it); prepared everywhere reachable -> commit (every replica holds it, so the
 *   leader may have acknowledged it). A receiver that meets prepared data retries later.
 * - **Reintegration and drain** are the same code with other maps: a returning target is in the
 *   layout again, so the shards CRUSH gives back to it are pushed to it and its stale content is
 *   overwritten by the newer epochs; a drained target (`DRAIN -> DOWNOUT`) is still a source.
 * - **Erasure-coded classes**: a lost shard is rebuilt from the surviving shards (their histories
 *   read over `rebuild_history`): single values and punches copied, array cells reconstructed
 *   from k surviving cells (data) or re-encoded (parity) at every epoch the stripe was written
 *   (see `ec-rebuild.ts`) by the group's lowest-position survivor. An EC shard whose holder
 *   survives and only moves (reintegration, drain) is copied by that holder.
 *
 * Progress (`progress`): `idle`, `scanning` (walking the VOS), `pulling` (pushes in flight),
 * `done` or `failed` (some pushes failed), with the counts and the map version.
 *
 * @module
 */
import type { Cart, Context, IncomingRpc } from '@x/cart'
import { DerError, type Logger, type Runtime, isDerError, toDerError } from '@x/common'
import { type ObjectId, type PoolMap, dkeyGroup, groupLeader, targetById, validatePoolMap } from '@x/protocol'
import { type HistoryRecords, type ObjectHistory, Vos } from '@x/vos'
import { type DtxCheckState, type EcGeometry, dtxCheckRpc, dtxProtocol, ecDefaultCellRecords } from '../object/index.ts'
import type { TargetSet } from '../target/index.ts'
import { assembleEcShardHistory } from './ec-rebuild.ts'
import {
  type RebuildHistoryInput,
  type RebuildHistoryOutput,
  type RebuildPushInput,
  type RebuildPushOutput,
  historyBytes,
  historyFromWire,
  historyToWire,
  rebuildHistoryRpc,
  rebuildProtocol,
  rebuildPushRpc,
  splitDkeyHistory,
} from './messages.ts'
import { type ShardPush, type TargetAddress, isRebuildSource, planObjectRebuild } from './plan.ts'

/** Options of {@link RebuildService}. */
export interface RebuildServiceOptions {
  /** The engine's cart (contexts with tag i serve target i). */
  readonly cart: Cart
  /** Time and timers. */
  readonly runtime: Runtime
  /** The engine's rank. */
  readonly rank: number
  /** The pool. */
  readonly poolUuid: string
  /** The engine's targets. */
  readonly targets: TargetSet
  /** Logger (default: the cart's). */
  readonly logger?: Logger
  /** Timeout of one push (default 10,000 ms). */
  readonly pushTimeoutMs?: number
  /** Attempts per push before it counts as a failure (default 4). */
  readonly pushAttempts?: number
  /** Value bytes per push before a page is split (default 1 MiB). */
  readonly maxPushBytes?: number
  /**
   * Finishes a prepared DTX that a push meets on target `tag` (the object service's resolution,
   * as on a read); true when it is no longer prepared. Without it a push only waits for the DTX
   * to commit on its own.
   */
  readonly resolvePrepared?: (tag: number, vosDtxId: string) => Promise<boolean>
  /** How long to wait for prepared DTXs to commit on their own before resolving them (default 500 ms). */
  readonly preparedWaitMs?: number
  /** Records per EC cell: must be the object service's `ecCellRecords` (default the same default). */
  readonly ecCellRecords?: number
  /** Object pushes in flight at once (default 4). */
  readonly maxInflightPushes?: number
}

/** What one rebuild did on this engine (as the pushing side). */
export interface RebuildStats {
  /** Object shards this engine pushed (once per object, group and destination). */
  objects: number
  /** Versions and punches the destinations wrote. */
  records: number
  /** Value bytes sent. */
  bytes: number
  /** Object pushes that failed (destination unreachable, error, or no surviving holder). */
  failures: number
}

/** Rebuild states (DAOS's rebuild phases). */
export type RebuildState = 'idle' | 'scanning' | 'pulling' | 'done' | 'failed'

/** Progress of the current or last rebuild of this engine, for `pool query`. */
export interface RebuildProgress extends RebuildStats {
  /** The phase. */
  readonly state: RebuildState
  /** The map version being rebuilt to (0 before the first rebuild). */
  readonly mapVersion: number
  /** The map version rebuilt from. */
  readonly fromVersion: number
  /** Objects scanned on this engine's targets. */
  readonly scannedObjects: number
  /** Objects skipped because they cannot be placed on one of the maps (logged). */
  readonly skippedObjects: number
  /** Pushes planned by this engine. */
  readonly plannedPushes: number
  /** Pushes done. */
  readonly donePushes: number
  /** As a destination: versions and punches written by pushes from other engines. */
  readonly receivedRecords: number
  /** The last error, if the rebuild failed. */
  readonly error?: string
}

const success = 0
const historyPageDkeys = 16

/** Where prepared DTXs met while reading an object are resolved. */
interface DtxScope {
  /** The local target. */
  readonly tag: number
  readonly cont: string
  readonly oid: ObjectId
  readonly vosOid: bigint
  /**
   * The other shards that took part in the object's DTXs; `holdsEveryWrite` when the shard gets a
   * record of every DTX (replicas, EC parity), so that its not knowing a DTX means it was never
   * acknowledged (an EC data shard may get no part of a write).
   */
  readonly dtxParticipants: readonly (TargetAddress & { readonly holdsEveryWrite: boolean })[]
  /** The group's leader before the change. */
  readonly leader: TargetAddress | undefined
}

interface PushWork extends DtxScope {
  readonly groups: readonly number[]
  readonly groupCount: number
  readonly to: TargetAddress
  /** For an erasure-coded group: the lost shard's position and the surviving shards to rebuild it from. */
  readonly ec?: { readonly position: number; readonly geometry: EcGeometry; readonly sources: readonly (TargetAddress & { readonly position: number })[] }
}

function wireOid(oid: bigint): ObjectId {
  return { hi: oid >> 64n, lo: oid & 0xffff_ffff_ffff_ffffn }
}

function baseDtxId(vosId: string): string {
  const at = vosId.indexOf('#')
  return at < 0 ? vosId : vosId.slice(0, at)
}

const sameTarget = (a: TargetAddress, b: TargetAddress): boolean => a.rank === b.rank && a.targetIndex === b.targetIndex

// One push handler per cart serves every pool's rebuild service on that engine.
const servicesByCart = new WeakMap<Cart, Map<string, RebuildService>>()

/** Rebuild of one pool on one engine (see the module comment). */
export class RebuildService {
  private readonly cart: Cart
  private readonly runtime: Runtime
  private readonly logger: Logger
  private readonly pushTimeoutMs: number
  private readonly pushAttempts: number
  private readonly maxPushBytes: number
  private readonly preparedWaitMs: number
  private readonly ecCellRecords: number
  private readonly maxInflightPushes: number
  /** Receiving side: replays of one object on one target run one at a time (the skip check and the write are not atomic). */
  private readonly applyLocks = new Map<string, Promise<unknown>>()
  private chain: Promise<unknown> = Promise.resolve()
  private current: {
    state: RebuildState
    mapVersion: number
    fromVersion: number
    stats: RebuildStats
    scannedObjects: number
    skippedObjects: number
    plannedPushes: number
    donePushes: number
    error: string | undefined
  } = { state: 'idle', mapVersion: 0, fromVersion: 0, stats: { objects: 0, records: 0, bytes: 0, failures: 0 }, scannedObjects: 0, skippedObjects: 0, plannedPushes: 0, donePushes: 0, error: undefined }
  private receivedRecords = 0
  private stopped = false

  constructor(private readonly options: RebuildServiceOptions) {
    this.cart = options.cart
    this.runtime = options.runtime
    this.logger = options.logger ?? options.cart.logger
    this.pushTimeoutMs = options.pushTimeoutMs ?? 10_000
    this.pushAttempts = options.pushAttempts ?? 4
    this.maxPushBytes = options.maxPushBytes ?? 1 << 20
    this.preparedWaitMs = options.preparedWaitMs ?? 500
    this.ecCellRecords = options.ecCellRecords ?? ecDefaultCellRecords
    this.maxInflightPushes = options.maxInflightPushes ?? 4
    if (!Number.isInteger(this.maxInflightPushes) || this.maxInflightPushes < 1) throw new DerError('DER_INVAL', `rebuild: maxInflightPushes must be an integer >= 1, got ${this.maxInflightPushes}`)
    if (!Number.isInteger(this.ecCellRecords) || this.ecCellRecords < 1) throw new DerError('DER_INVAL', `rebuild: ecCellRecords must be an integer >= 1, got ${this.ecCellRecords}`)
    if (!(this.pushTimeoutMs > 0) || !Number.isInteger(this.pushAttempts) || this.pushAttempts < 1 || !(this.maxPushBytes > 0) || !(this.preparedWaitMs >= 0)) {
      throw new DerError('DER_INVAL', 'rebuild: pushTimeoutMs and maxPushBytes must be > 0, pushAttempts >= 1, preparedWaitMs >= 0')
    }
    if (!Number.isInteger(options.rank) || options.rank < 0) throw new DerError('DER_INVAL', `rebuild: bad rank ${options.rank}`)
    if (!this.cart.registry.has(rebuildPushRpc.opcode)) this.cart.registerProtocol(rebuildProtocol)
    if (!this.cart.registry.has(dtxCheckRpc.opcode)) this.cart.registerProtocol(dtxProtocol)
    let services = servicesByCart.get(this.cart)
    if (services === undefined) {
      const table = new Map<string, RebuildService>()
      servicesByCart.set(this.cart, table)
      services = table
      this.cart.handle(rebuildPushRpc, (rpc) => {
        const service = table.get(rpc.input.poolUuid)
        if (service === undefined) return { rc: new DerError('DER_NONEXIST').code, message: `pool ${rpc.input.poolUuid} has no rebuild service here`, applied: 0, skipped: 0 }
        return service.onPush(rpc)
      })
      this.cart.handle(rebuildHistoryRpc, (rpc) => {
        const service = table.get(rpc.input.poolUuid)
        if (service === undefined) return { rc: new DerError('DER_NONEXIST').code, message: `pool ${rpc.input.poolUuid} has no rebuild service here`, punches: [], dkeys: [], anchor: new Uint8Array(0), done: true }
        return service.onHistory(rpc)
      })
    }
    if (services.has(options.poolUuid)) throw new DerError('DER_EXIST', `rebuild: pool ${options.poolUuid} already has a rebuild service on rank ${options.rank}`)
    services.set(options.poolUuid, this)
  }

  /** The pool. */
  get poolUuid(): string {
    return this.options.poolUuid
  }

  /** Progress of the current (or last) rebuild. */
  get progress(): RebuildProgress {
    const c = this.current
    return {
      state: c.state,
      mapVersion: c.mapVersion,
      fromVersion: c.fromVersion,
      ...c.stats,
      scannedObjects: c.scannedObjects,
      skippedObjects: c.skippedObjects,
      plannedPushes: c.plannedPushes,
      donePushes: c.donePushes,
      receivedRecords: this.receivedRecords,
      ...(c.error === undefined ? {} : { error: c.error }),
    }
  }

  /**
   * Rebuilds after the pool map changed from `fromMap` to `toMap`: pushes every shard this
   * engine's targets must provide. Runs after any rebuild still in progress; resolves with what
   * this engine pushed (failures counted, not thrown).
   */
  rebuild(maps: { readonly fromMap: PoolMap; readonly toMap: PoolMap }): Promise<RebuildStats> {
    if (this.stopped) return Promise.reject(new DerError('DER_SHUTDOWN', 'rebuild service stopped'))
    const { fromMap, toMap } = maps
    try {
      validatePoolMap(fromMap)
      validatePoolMap(toMap)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new DerError('DER_INVAL', String(error)))
    }
    if (toMap.version <= fromMap.version) return Promise.reject(new DerError('DER_INVAL', `rebuild: map version ${toMap.version} is not newer than ${fromMap.version}`))
    const run = this.chain.then(() => this.run(fromMap, toMap))
    this.chain = run.catch(() => undefined)
    return run
  }

  /** Stops serving pushes and refuses new rebuilds (a rebuild in progress ends after its current push). */
  stop(): void {
    this.stopped = true
    const services = servicesByCart.get(this.cart)
    if (services?.get(this.options.poolUuid) === this) services.delete(this.options.poolUuid)
  }

  // ------------------------------------------------------------------ pushing side

  private async run(fromMap: PoolMap, toMap: PoolMap): Promise<RebuildStats> {
    const stats: RebuildStats = { objects: 0, records: 0, bytes: 0, failures: 0 }
    this.current = { state: 'scanning', mapVersion: toMap.version, fromVersion: fromMap.version, stats, scannedObjects: 0, skippedObjects: 0, plannedPushes: 0, donePushes: 0, error: undefined }
    this.logger.info('rebuild started', { pool: this.poolUuid, rank: this.options.rank, from: fromMap.version, to: toMap.version })
    try {
      const work = this.scan(fromMap, toMap)
      this.current.plannedPushes = work.length
      this.current.state = 'pulling'
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < work.length) {
          const item = work[next++] as PushWork
          if (this.stopped) throw new DerError('DER_SHUTDOWN', 'rebuild service stopped')
          try {
            const pushed = await this.pushObject(item, toMap.version)
            stats.objects++
            stats.records += pushed.records
            stats.bytes += pushed.bytes
          } catch (error) {
            stats.failures++
            this.logger.warn('rebuild push failed', { pool: this.poolUuid, oid: `${item.oid.hi}.${item.oid.lo}`, to: `${item.to.rank}:${item.to.targetIndex}`, error: String(error) })
          }
          this.current.donePushes++
        }
      }
      await Promise.all(Array.from({ length: Math.min(this.maxInflightPushes, Math.max(1, work.length)) }, () => worker()))
      this.current.state = stats.failures === 0 ? 'done' : 'failed'
      if (stats.failures > 0) this.current.error = `${stats.failures} object pushes failed`
      this.logger.info('rebuild finished', { pool: this.poolUuid, rank: this.options.rank, to: toMap.version, ...stats })
      return { ...stats }
    } catch (error) {
      this.current.state = 'failed'
      this.current.error = toDerError(error).message
      throw error
    }
  }

  /** Walks every local target's VOS and lists the pushes this engine owes. */
  private scan(fromMap: PoolMap, toMap: PoolMap): PushWork[] {
    const work: PushWork[] = []
    const rank = this.options.rank
    for (const target of this.options.targets.targets) {
      if (!target.opened) continue
      const vos = target.vos
      const here: TargetAddress = { rank, targetIndex: target.index }
      for (const cont of vos.listContainers()) {
        let anchor: ReturnType<Vos['listStoredObjects']>['anchor']
        do {
          const page = vos.listStoredObjects(cont, anchor, 1024)
          anchor = page.anchor
          for (const vosOid of page.items) {
            this.current.scannedObjects++
            const oid = wireOid(vosOid)
            let plan: ReturnType<typeof planObjectRebuild>
            try {
              plan = planObjectRebuild(fromMap, toMap, oid)
            } catch (error) {
              this.logger.warn('rebuild: object cannot be placed', { oid: `${oid.hi}.${oid.lo}`, error: String(error) })
              this.current.skippedObjects++
              continue
            }
            if (plan.orphanGroups.length > 0) this.logger.warn('rebuild: shards lost every holder', { oid: `${oid.hi}.${oid.lo}`, groups: plan.orphanGroups })
            const mine = plan.pushes.filter((p) => sameTarget(p.from, here) && !sameTarget(p.to, here))
            if (mine.length === 0) continue
            const redundancy = plan.before.oclass.redundancy
            if (redundancy.kind === 'erasure') {
              const size = plan.before.oclass.groupSize
              const geometry: EcGeometry = { dataCells: redundancy.dataCells, parityCells: redundancy.parityCells, cellRecords: this.ecCellRecords }
              for (const p of mine) {
                if (!p.reconstruct) {
                  // The shard's own holder moves it: a plain copy of its cells, keys and punches.
                  const parity = (plan.before.groups[p.group]?.shards ?? []).flatMap((sh) =>
                    sh.rank === undefined || sh.targetIndex === undefined || sh.position < geometry.dataCells || (sh.rank === rank && sh.targetIndex === target.index) ? [] : [{ rank: sh.rank, targetIndex: sh.targetIndex, holdsEveryWrite: true }],
                  )
                  const leaderShard = groupLeader(plan.before, p.group)
                  const leader = leaderShard?.rank === undefined || leaderShard.targetIndex === undefined ? undefined : { rank: leaderShard.rank, targetIndex: leaderShard.targetIndex }
                  work.push({ tag: target.index, cont, oid, vosOid, groups: [p.group], groupCount: plan.before.groups.length, to: p.to, dtxParticipants: parity, leader })
                  continue
                }
                const sources = (plan.before.groups[p.group]?.shards ?? []).flatMap((sh) => {
                  if (sh.targetId === undefined || sh.rank === undefined || sh.targetIndex === undefined) return []
                  const t = targetById(fromMap, sh.targetId)
                  return t !== undefined && isRebuildSource(t, toMap) ? [{ rank: sh.rank, targetIndex: sh.targetIndex, position: sh.position }] : []
                })
                // EC: parity shards get a record of every write; data shards only of the writes with a cell for them.
                const participants = sources.filter((x) => !sameTarget(x, here)).map((x) => ({ rank: x.rank, targetIndex: x.targetIndex, holdsEveryWrite: x.position >= geometry.dataCells }))
                const leaderShard = groupLeader(plan.before, p.group)
                const leader = leaderShard?.rank === undefined || leaderShard.targetIndex === undefined ? undefined : { rank: leaderShard.rank, targetIndex: leaderShard.targetIndex }
                work.push({ tag: target.index, cont, oid, vosOid, groups: [p.group], groupCount: plan.before.groups.length, to: p.to, dtxParticipants: participants, leader, ec: { position: p.shard % size, geometry, sources } })
              }
              continue
            }
            // One push per group and destination: a DTX belongs to one group, whose shards decide it.
            const byDest = new Map<string, ShardPush>()
            for (const p of mine) byDest.set(`${p.group}:${p.to.rank}:${p.to.targetIndex}`, p)
            for (const p of byDest.values()) {
              const participants = (plan.before.groups[p.group]?.shards ?? []).flatMap((s) =>
                s.rank === undefined || s.targetIndex === undefined || (s.rank === rank && s.targetIndex === target.index) ? [] : [{ rank: s.rank, targetIndex: s.targetIndex, holdsEveryWrite: true }],
              )
              const leaderShard = groupLeader(plan.before, p.group)
              const leader = leaderShard?.rank === undefined || leaderShard.targetIndex === undefined ? undefined : { rank: leaderShard.rank, targetIndex: leaderShard.targetIndex }
              work.push({ tag: target.index, cont, oid, vosOid, groups: [p.group], groupCount: plan.before.groups.length, to: p.to, dtxParticipants: participants, leader })
            }
          }
        } while (anchor !== undefined)
      }
    }
    return work
  }

  /** Pushes one object's history (the groups of `item`) to one destination, page by page. */
  private async pushObject(item: PushWork, mapVersion: number): Promise<{ records: number; bytes: number }> {
    if (item.ec !== undefined) return this.pushEcShard(item, item.ec, mapVersion)
    const vos = this.options.targets.get(item.tag).vos
    const groups = new Set(item.groups)
    const dkeyFilter = item.groupCount > 1 ? (dkey: Uint8Array): boolean => groups.has(dkeyGroup(item.oid, dkey)) : undefined
    let after: Uint8Array | undefined
    let first = true
    let records = 0
    let bytes = 0
    do {
      const page = await this.readCommitted(vos, item, after, dkeyFilter)
      after = page.anchor
      for (const part of this.split(page, first)) {
        const sent = await this.send(item, part, mapVersion)
        records += sent
        for (const dk of part.dkeys) bytes += historyBytes(dk)
      }
      first = false
    } while (after !== undefined)
    return { records, bytes }
  }

  /** Rebuilds a lost EC shard from the surviving shards' histories and pushes it. */
  private async pushEcShard(item: PushWork, ec: NonNullable<PushWork['ec']>, mapVersion: number): Promise<{ records: number; bytes: number }> {
    const local = this.options.targets.get(item.tag).vos
    const groups = new Set(item.groups)
    const dkeyFilter = item.groupCount > 1 ? (dkey: Uint8Array): boolean => groups.has(dkeyGroup(item.oid, dkey)) : undefined
    const scratch = new Map<number, Vos>()
    try {
      for (const source of ec.sources) {
        const vos = await Vos.create()
        let after: Uint8Array | undefined
        try {
          do {
            const page = sameTarget(source, { rank: this.options.rank, targetIndex: item.tag }) ? await this.readCommitted(local, item, after, dkeyFilter) : await this.remoteHistory(item, source, after)
            await vos.applyHistory(item.cont, item.vosOid, page)
            after = page.anchor
          } while (after !== undefined)
        } catch (error) {
          // An unreachable survivor: rebuild from the others if k remain.
          this.logger.warn('rebuild: EC source unreadable', { rank: source.rank, target: source.targetIndex, error: String(error) })
          await vos.close()
          continue
        }
        scratch.set(source.position, vos)
      }
      const history = await assembleEcShardHistory({ shards: scratch, cont: item.cont, oid: item.vosOid, lostPosition: ec.position, geometry: ec.geometry })
      let records = 0
      let bytes = 0
      for (const part of this.split({ ...history, anchor: undefined, preparedDtx: [] }, true)) {
        records += await this.send(item, part, mapVersion)
        for (const dk of part.dkeys) bytes += historyBytes(dk)
      }
      return { records, bytes }
    } finally {
      for (const vos of scratch.values()) await vos.close()
    }
  }

  /** A page of a remote shard's committed history. */
  private async remoteHistory(item: PushWork, source: TargetAddress, after: Uint8Array | undefined): Promise<ObjectHistory> {
    const input: RebuildHistoryInput = {
      poolUuid: this.poolUuid,
      targetIndex: source.targetIndex,
      containerUuid: item.cont,
      oid: item.oid,
      after: after ?? new Uint8Array(0),
      maxDkeys: historyPageDkeys,
      groups: item.groupCount > 1 ? [...item.groups] : [],
      participants: (item.ec?.sources ?? []).map((x) => ({ rank: x.rank, targetIndex: x.targetIndex, holdsEveryWrite: x.position >= (item.ec?.geometry.dataCells ?? 0) })),
      leader: item.leader,
    }
    let last: unknown
    for (let attempt = 0; attempt < this.pushAttempts; attempt++) {
      if (attempt > 0) await this.runtime.timers.sleep(100 * 2 ** attempt)
      try {
        const reply = await this.contextFor(item.tag).call(rebuildHistoryRpc, { rank: source.rank, tag: source.targetIndex }, input, { timeoutMs: this.pushTimeoutMs })
        if (reply.rc !== success) throw DerError.fromCode(reply.rc, reply.message)
        const records = historyFromWire(reply)
        return { ...records, anchor: reply.done ? undefined : reply.anchor, preparedDtx: [] }
      } catch (error) {
        last = error
        if (isDerError(error, 'DER_UNREACH') || isDerError(error, 'DER_NONEXIST')) break
      }
    }
    throw last instanceof Error ? last : new DerError('DER_IO', `rebuild history read failed: ${String(last)}`)
  }

  /** A page of history with no prepared DTX in it: waits for commits, then resolves what is left. */
  private async readCommitted(vos: Vos, item: DtxScope, after: Uint8Array | undefined, dkeyFilter: ((dkey: Uint8Array) => boolean) | undefined, maxDkeys = historyPageDkeys): Promise<ObjectHistory> {
    const read = (): Promise<ObjectHistory> => vos.objectHistory(item.cont, item.vosOid, { maxDkeys, ...(after === undefined ? {} : { after }), ...(dkeyFilter === undefined ? {} : { dkeyFilter }) })
    let page = await read()
    const waitStepMs = 50
    for (let waited = 0; page.preparedDtx.length > 0 && waited < this.preparedWaitMs; waited += waitStepMs) {
      await this.runtime.timers.sleep(waitStepMs)
      page = await read()
    }
    for (let round = 0; page.preparedDtx.length > 0; round++) {
      if (round >= 20) throw new DerError('DER_INPROGRESS', `rebuild: DTXs ${page.preparedDtx.join(', ')} stay prepared`)
      let decided = false
      for (const base of new Set(page.preparedDtx.map(baseDtxId))) {
        const ids = page.preparedDtx.filter((v) => baseDtxId(v) === base)
        if (await this.resolveDtx(vos, item, base, ids)) decided = true
      }
      if (!decided) await this.runtime.timers.sleep(100)
      page = await read()
    }
    return page
  }

  /** Decides a prepared DTX with the group's shards (see the module comment); true when decided. */
  private async resolveDtx(vos: Vos, item: DtxScope, id: string, vosIds: readonly string[]): Promise<boolean> {
    const context = this.contextFor(item.tag)
    const ask = async (p: TargetAddress): Promise<DtxCheckState | 'unreachable'> => {
      try {
        const reply = await context.call(dtxCheckRpc, { rank: p.rank, tag: p.targetIndex }, { poolUuid: this.poolUuid, targetIndex: p.targetIndex, id, resolve: false }, { timeoutMs: Math.min(this.pushTimeoutMs, 2000) })
        return reply.rc === success ? reply.state : 'unreachable'
      } catch {
        return 'unreachable'
      }
    }
    const states = await Promise.all(item.dtxParticipants.map(async (p) => ({ p, state: await ask(p) })))
    let decision: 'commit' | 'abort' | undefined
    const leaderState = item.leader === undefined ? undefined : states.find((s) => sameTarget(s.p, item.leader as TargetAddress))?.state
    if (states.some((s) => s.state === 'committed' || s.state === 'committable')) decision = 'commit'
    else if (states.some((s) => s.state === 'aborted')) decision = 'abort'
    else if (leaderState === 'prepared') return false
    else if (states.some((s) => s.state === 'unknown' && s.p.holdsEveryWrite)) decision = 'abort'
    else decision = 'commit'
    for (const v of vosIds) {
      try {
        if (vos.dtxState(v) === 'prepared') await (decision === 'commit' ? vos.commitDtx(v) : vos.abortDtx(v))
      } catch (error) {
        if (!isDerError(error, 'DER_ALREADY') && !isDerError(error, 'DER_NONEXIST')) throw error
      }
    }
    this.logger.info('rebuild resolved a prepared DTX', { id, decision })
    return true
  }

  /** Splits a page into pushes of about `maxPushBytes` at most (only a single value larger than that exceeds it). */
  private split(page: ObjectHistory, withObjectPunches: boolean): HistoryRecords[] {
    const parts: HistoryRecords[] = []
    let dkeys: HistoryRecords['dkeys'][number][] = []
    let size = 0
    const punches = withObjectPunches ? page.punches : []
    for (const whole of page.dkeys) {
      for (const dk of historyBytes(whole) > this.maxPushBytes ? splitDkeyHistory(whole, this.maxPushBytes) : [whole]) {
        const n = historyBytes(dk)
        if (dkeys.length > 0 && size + n > this.maxPushBytes) {
          parts.push({ punches: parts.length === 0 ? punches : [], dkeys })
          dkeys = []
          size = 0
        }
        dkeys.push(dk)
        size += n
      }
    }
    if (dkeys.length > 0 || (parts.length === 0 && punches.length > 0)) parts.push({ punches: parts.length === 0 ? punches : [], dkeys })
    return parts
  }

  private contextFor(tag: number): Context {
    const context = this.cart.contexts[tag] ?? this.cart.contexts[0]
    if (context === undefined) throw new DerError('DER_UNINIT', 'rebuild: the cart has no context')
    return context
  }

  /** Sends one push, retrying (it is idempotent); returns the records written. */
  private async send(item: PushWork, part: HistoryRecords, mapVersion: number): Promise<number> {
    const input: RebuildPushInput = {
      poolUuid: this.poolUuid,
      mapVersion,
      targetIndex: item.to.targetIndex,
      containerUuid: item.cont,
      oid: item.oid,
      punches: part.punches.map((p) => ({ epoch: p.epoch, seq: BigInt(p.seq) })),
      dkeys: historyToWire(part.dkeys),
    }
    let last: unknown
    for (let attempt = 0; attempt < this.pushAttempts; attempt++) {
      if (attempt > 0) await this.runtime.timers.sleep(100 * 2 ** attempt)
      try {
        const reply = await this.contextFor(item.tag).call(rebuildPushRpc, { rank: item.to.rank, tag: item.to.targetIndex }, input, { timeoutMs: this.pushTimeoutMs })
        if (reply.rc === success) return reply.applied
        last = DerError.fromCode(reply.rc, reply.message)
        if (!isDerError(last, 'DER_INPROGRESS') && !isDerError(last, 'DER_BUSY') && !isDerError(last, 'DER_TIMEDOUT')) throw last
      } catch (error) {
        if (isDerError(error) && error === last) throw error
        last = error
      }
    }
    throw last instanceof Error ? last : new DerError('DER_IO', `rebuild push failed: ${String(last)}`)
  }

  // ------------------------------------------------------------------ receiving side

  private async onHistory(rpc: IncomingRpc<RebuildHistoryInput, RebuildHistoryOutput>): Promise<RebuildHistoryOutput> {
    const input = rpc.input
    const none = { punches: [], dkeys: [], anchor: new Uint8Array(0), done: true }
    try {
      if (this.stopped) throw new DerError('DER_SHUTDOWN', 'rebuild service stopped')
      if (input.targetIndex !== rpc.context.tag) throw new DerError('DER_INVAL', `rebuild history of target ${input.targetIndex} asked of target ${rpc.context.tag}`)
      if (input.maxDkeys < 1 || input.maxDkeys > 4096) throw new DerError('DER_INVAL', `rebuild history: maxDkeys must be 1..4096, got ${input.maxDkeys}`)
      const vos = this.options.targets.get(input.targetIndex).vos
      if (!vos.listContainers().includes(input.containerUuid)) return { rc: success, message: '', ...none }
      const oid = (input.oid.hi << 64n) | input.oid.lo
      const groups = new Set(input.groups)
      const me = { rank: this.options.rank, targetIndex: input.targetIndex }
      const scope: DtxScope = { tag: input.targetIndex, cont: input.containerUuid, oid: input.oid, vosOid: oid, dtxParticipants: input.participants.filter((x) => !sameTarget(x, me)), leader: input.leader }
      const page = await this.readCommitted(vos, scope, input.after.length === 0 ? undefined : input.after, groups.size === 0 ? undefined : (d: Uint8Array) => groups.has(dkeyGroup(input.oid, d)), input.maxDkeys)
      return { rc: success, message: '', punches: page.punches.map((p) => ({ epoch: p.epoch, seq: BigInt(p.seq) })), dkeys: historyToWire(page.dkeys), anchor: page.anchor ?? new Uint8Array(0), done: page.anchor === undefined }
    } catch (error) {
      const e = toDerError(error)
      return { rc: e.code, message: e.message, ...none }
    }
  }

  private async onPush(rpc: IncomingRpc<RebuildPushInput, RebuildPushOutput>): Promise<RebuildPushOutput> {
    const input = rpc.input
    try {
      if (this.stopped) throw new DerError('DER_SHUTDOWN', 'rebuild service stopped')
      if (input.targetIndex !== rpc.context.tag) throw new DerError('DER_INVAL', `rebuild push for target ${input.targetIndex} sent to target ${rpc.context.tag}`)
      const vos = this.options.targets.get(input.targetIndex).vos
      const history = historyFromWire(input)
      const oid = (input.oid.hi << 64n) | input.oid.lo
      let applied = 0
      let skipped = 0
      const replay = async (): Promise<void> => {
        for (let attempt = 0; ; attempt++) {
          try {
            const r = await vos.applyHistory(input.containerUuid, oid, history)
            applied += r.applied
            skipped += r.skipped
            return
          } catch (error) {
            // Prepared data of a live write: it commits soon; the versions written so far are skipped on retry.
            if (!isDerError(error, 'DER_INPROGRESS') || attempt >= 20) throw error
            // A DTX whose leader is gone (it was prepared here before a crash) never commits on
            // its own: after a few waits, resolve it as a read would.
            const vosDtxId = error.details.dtxId
            const resolver = this.options.resolvePrepared
            if (attempt >= 2 && resolver !== undefined && typeof vosDtxId === 'string') {
              const resolved = await resolver(input.targetIndex, vosDtxId).catch(() => false)
              if (resolved) continue
            }
            await this.runtime.timers.sleep(50)
          }
        }
      }
      const lockKey = `${input.targetIndex}/${input.containerUuid}/${oid}`
      const previous = this.applyLocks.get(lockKey) ?? Promise.resolve()
      const mine = previous.then(replay, replay)
      this.applyLocks.set(lockKey, mine)
      try {
        await mine
      } finally {
        if (this.applyLocks.get(lockKey) === mine) this.applyLocks.delete(lockKey)
      }
      this.receivedRecords += applied
      return { rc: success, message: '', applied, skipped }
    } catch (error) {
      const e = toDerError(error)
      return { rc: e.code, message: e.message, applied: 0, skipped: 0 }
    }
  }
}
