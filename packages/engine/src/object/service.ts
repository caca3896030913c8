/**
 * The object I/O service of one engine: OBJ_* handlers addressed to `(rank, target)` (the cart
 * context tag is the target index), pool map version checks, and leader-based replication under
 * DTX.
 *
 * **Replication.** An update or punch of a replicated object goes to its group's leader
 * (`groupLeader`). Holding a per-object lock, the leader first commits any DTX of the object still
 * waiting for its commit record (so the new write never meets prepared data), takes an HLC epoch,
 * prepares the write under a new DTX on its own VOS and, over the DTX protocol, on every other
 * available shard of the group, and answers the client only when every replica has the write
 * durable. It then marks the DTX committable and commits it asynchronously: commit records are
 * batched per target and sent every `commitIntervalMs` or when `commitBatchSize` DTXs wait. When a
 * replica fails to prepare, the leader aborts the DTX everywhere and the client gets the error.
 *
 * **Reads meeting prepared data.** A fetch, enumeration or query that meets a prepared DTX resolves
 * it instead of returning `DER_INPROGRESS`: the leader answers from its own table; a replica asks
 * the group's current leader (`dtx_check`). When no leader runs the DTX any more (the old leader
 * is unreachable, this engine leads now, or the new leader never saw the DTX), the DTX's
 * participants (the group's shards when it was prepared) decide: committed anywhere -> commit;
 * aborted, or unknown to a participant -> abort (the leader never acknowledged it); prepared on
 * every reachable participant -> commit (the leader acknowledges only what every replica holds).
 * Only a DTX still being prepared gives `DER_INPROGRESS`, which the client retries.
 *
 * **Map versions.** A request older than the engine's map gets `DER_STALE` with the engine's version
 * and map in the reply. A request newer than the engine's map calls the `refreshMap` hook (when
 * given) and proceeds if the engine caught up; otherwise it gets `DER_STALE` with the engine's
 * (older) version and no map, and the client retries after a delay.
 *
 * **Shards and VOS objects.** VOS keys objects by the 128-bit id alone, so shards of different
 * groups of one object placed on the same target share a VOS object; every dkey belongs to one
 * group (`dkeyGroup`), and dkey enumeration filters by it.
 *
 * Out of scope here: erasure-coded classes (`DER_NOSYS`), rebuild, aggregation, and DTX
 * recovery after an engine restart (the replica-side DTX table is in memory).
 *
 * @module
 */
import type { Cart, Context, IncomingRpc, RpcFormat } from '@x/cart'
import { DerError, HybridLogicalClock, type Logger, type Runtime, type TimerHandle, isDerError, toDerError } from '@x/common'
import {
  type ObjEnumerateInput,
  type ObjEnumerateOutput,
  type ObjFetchInput,
  type ObjFetchOutput,
  type ObjPunchInput,
  type ObjQueryKeyInput,
  type ObjQueryKeyOutput,
  type ObjUpdateInput,
  type ObjectId,
  type ObjectLayout,
  type PoolMap,
  type ShardPlacement,
  dkeyGroup,
  groupLeader,
  objEnumerateRpc,
  objFetchRpc,
  objPunchRpc,
  objQueryKeyRpc,
  objUpdateRpc,
  objectProtocol,
  placeObject,
} from '@x/protocol'
import type { Vos } from '@x/vos'
import type { TargetSet } from '../target/index.ts'
import { decodeAnchor, encodeAnchor, fetchResultsToWire, fetchesFromWire, objectKey, updatesFromWire, vosOid } from './convert.ts'
import {
  type DtxBatchInput,
  type DtxCheckState,
  dtxAbortRpc,
  dtxCheckRpc,
  dtxCommitRpc,
  dtxProtocol,
  dtxReplicaPunchRpc,
  dtxReplicaUpdateRpc,
} from './messages.ts'

/** Options of {@link ObjectService}. */
export interface ObjectServiceOptions {
  /** The engine's cart instance; its contexts with tag i serve target i. */
  readonly cart: Cart
  /** The engine's targets. */
  readonly targets: TargetSet
  /** The pool this engine serves. */
  readonly poolUuid: string
  /** The pool map the engine starts with. */
  readonly poolMap: PoolMap
  /**
   * Called when a request carries a newer map version than the engine's; returns the newer map
   * (from the pool service) or undefined. Without it the request gets a retryable `DER_STALE`.
   */
  readonly refreshMap?: (wantedVersion: number) => Promise<PoolMap | undefined>
  /** Period of the batched DTX commit (default 50 ms). */
  readonly commitIntervalMs?: number
  /** Commit at once when this many DTXs wait (default 64). */
  readonly commitBatchSize?: number
  /** Timeout of leader -> replica RPCs (default 2,000 ms). */
  readonly replicaTimeoutMs?: number
  /** Logger (default: the cart's). */
  readonly logger?: Logger
}

/** Counters of the service, for tests and metrics. */
export interface ObjectServiceStats {
  /** DTXs acknowledged to clients (all replicas prepared). */
  committable: number
  /** DTXs aborted by this engine as leader. */
  aborted: number
  /** Commit-record batches sent to replicas. */
  commitBatches: number
  /** DTXs resolved on read (committed or aborted because a read met them). */
  resolvedOnRead: number
  /** Replies with `DER_STALE`. */
  stale: number
}

interface CommitRecord {
  readonly id: string
  readonly objKey: string
  /** The dkeys (hex) the DTX writes, or `*` for the whole object. */
  readonly dkeys: readonly string[]
  readonly tag: number
  readonly vosIds: readonly string[]
  readonly replicas: readonly ShardPlacement[]
  localDone: boolean
  attempts: number
}

interface Participant {
  readonly rank: number
  readonly tag: number
}

interface ReplicaDtx {
  readonly tag: number
  readonly oid: ObjectId
  readonly group: number
  readonly vosIds: readonly string[]
  /** Every shard of the group when the DTX was prepared (DAOS's DTX member list). */
  readonly participants: readonly Participant[]
}

interface Status {
  rc: number
  message: string
  mapVersion: number
  epoch: bigint
  poolMap: PoolMap | undefined
}

const success = 0

/** The DTX ids a VOS sees for operation `i` of DTX `id`. */
function vosDtxId(id: string, i: number): string {
  return `${id}#${i}`
}

function baseDtxId(vosId: string): string {
  const at = vosId.indexOf('#')
  return at < 0 ? vosId : vosId.slice(0, at)
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function randomUuid(bytes: Uint8Array): string {
  const b = bytes.slice(0, 16)
  b[6] = ((b[6] as number) & 0x0f) | 0x40
  b[8] = ((b[8] as number) & 0x3f) | 0x80
  const h = hex(b)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The object I/O service of one engine (see the module comment). */
export class ObjectService {
  /** Counters. */
  readonly stats: ObjectServiceStats = { committable: 0, aborted: 0, commitBatches: 0, resolvedOnRead: 0, stale: 0 }
  private map: PoolMap
  private readonly cart: Cart
  private readonly runtime: Runtime
  private readonly hlc: HybridLogicalClock
  private readonly logger: Logger
  private readonly layouts = new Map<string, ObjectLayout>()
  private readonly locks = new Map<string, Promise<void>>()
  private readonly inflight = new Set<string>()
  private readonly committable = new Map<string, CommitRecord>()
  private commitQueue: CommitRecord[] = []
  private commitTimer: TimerHandle | undefined
  private flushChain: Promise<void> = Promise.resolve()
  private readonly replicaDtx = new Map<string, ReplicaDtx>()
  private readonly commitIntervalMs: number
  private readonly commitBatchSize: number
  private readonly replicaTimeoutMs: number
  private stopped = false

  constructor(private readonly options: ObjectServiceOptions) {
    this.cart = options.cart
    this.runtime = options.cart.runtime
    this.hlc = new HybridLogicalClock(this.runtime.clock)
    this.logger = options.logger ?? options.cart.logger
    this.map = options.poolMap
    this.commitIntervalMs = options.commitIntervalMs ?? 50
    this.commitBatchSize = options.commitBatchSize ?? 64
    this.replicaTimeoutMs = options.replicaTimeoutMs ?? 2000
    if (!(this.commitIntervalMs > 0) || !Number.isInteger(this.commitBatchSize) || this.commitBatchSize < 1) throw new DerError('DER_INVAL', 'commitIntervalMs must be > 0 and commitBatchSize >= 1')
    if (this.cart.rank === undefined) throw new DerError('DER_INVAL', 'the object service needs a cart with a rank')
    if (!this.cart.registry.has(objUpdateRpc.opcode)) this.cart.registerProtocol(objectProtocol)
    if (!this.cart.registry.has(dtxCommitRpc.opcode)) this.cart.registerProtocol(dtxProtocol)
    this.serve(objUpdateRpc, {}, (rpc) => this.onUpdate(rpc.input, rpc.context, false))
    this.serve(dtxReplicaUpdateRpc, {}, (rpc) => this.onUpdate(rpc.input, rpc.context, true))
    this.serve(objPunchRpc, {}, (rpc) => this.onPunch(rpc.input, rpc.context, false))
    this.serve(dtxReplicaPunchRpc, {}, (rpc) => this.onPunch(rpc.input, rpc.context, true))
    this.serve(objFetchRpc, { recordSizes: [], data: [] }, (rpc) => this.onFetch(rpc))
    this.serve(objEnumerateRpc, { keys: [], recxs: [], anchor: new Uint8Array(0), done: true }, (rpc) => this.onEnumerate(rpc))
    this.serve(objQueryKeyRpc, { dkey: undefined, akey: undefined, recx: undefined }, (rpc) => this.onQueryKey(rpc))
    this.cart.handle(dtxCommitRpc, (rpc) => this.onDtxFinish(rpc.input, rpc.context.tag, true))
    this.cart.handle(dtxAbortRpc, (rpc) => this.onDtxFinish(rpc.input, rpc.context.tag, false))
    this.cart.handle(dtxCheckRpc, (rpc) => this.onDtxCheck(rpc.input.poolUuid, rpc.input.targetIndex, rpc.input.id, rpc.input.resolve))
  }

  /**
   * Creates the service and one listening cart context per target (tag = target index, at
   * `listen(tag)`), in tag order; the cart must have no contexts yet.
   */
  static async start(options: ObjectServiceOptions & { readonly listen: (tag: number) => string }): Promise<ObjectService> {
    if (options.cart.contexts.length !== 0) throw new DerError('DER_INVAL', 'start the object service on a cart without contexts (tags must equal target indexes)')
    const service = new ObjectService(options)
    for (let tag = 0; tag < options.targets.size; tag++) await options.cart.createContext({ listen: options.listen(tag) })
    return service
  }

  /** The engine's rank. */
  get rank(): number {
    return this.cart.rank as number
  }

  /** The engine's current pool map. */
  get poolMap(): PoolMap {
    return this.map
  }

  /** Installs a newer pool map (from the pool service); older or equal versions are ignored. */
  setPoolMap(map: PoolMap): void {
    if (map.version <= this.map.version) return
    this.map = map
    this.layouts.clear()
  }

  /** Number of DTXs acknowledged but not yet committed everywhere. */
  get pendingCommits(): number {
    return this.committable.size
  }

  /** Sends every waiting commit record now; resolves when done. */
  flushCommits(): Promise<void> {
    if (this.commitTimer !== undefined) {
      this.runtime.timers.cancel(this.commitTimer)
      this.commitTimer = undefined
    }
    const batch = this.commitQueue
    this.commitQueue = []
    const run = this.flushChain.then(() => this.commitBatch(batch))
    this.flushChain = run.catch(() => undefined)
    return run
  }

  /** Stops background commits (the engine is going down); waiting records stay unsent. */
  stop(): void {
    this.stopped = true
    if (this.commitTimer !== undefined) this.runtime.timers.cancel(this.commitTimer)
    this.commitTimer = undefined
  }

  // ------------------------------------------------------------------ plumbing

  /** Registers a handler; failures become replies with `rc` set and `empty` for the op's own fields. */
  private serve<I extends { mapVersion: number; poolUuid: string }, O extends Status>(format: RpcFormat<I, O>, empty: Omit<O, keyof Status>, body: (rpc: IncomingRpc<I, O>) => Promise<O>): void {
    this.cart.handle(format, async (rpc) => {
      try {
        if (rpc.input.poolUuid !== this.options.poolUuid) throw new DerError('DER_NONEXIST', `pool ${rpc.input.poolUuid} is not served here`)
        const stale = await this.checkMap(rpc.input.mapVersion)
        if (stale !== undefined) return { ...empty, ...stale } as O
        return await body(rpc)
      } catch (error) {
        return { ...empty, ...this.errorReply(error) } as O
      }
    })
  }

  private errorReply(error: unknown): Status {
    const e = toDerError(error)
    if (!isDerError(error)) this.logger.warn('object handler failed', { error: String(error) })
    return { rc: e.code, message: e.message, mapVersion: this.map.version, epoch: 0n, poolMap: undefined }
  }

  private ok(epoch: bigint): Status {
    return { rc: success, message: '', mapVersion: this.map.version, epoch, poolMap: undefined }
  }

  private async checkMap(version: number): Promise<Status | undefined> {
    if (version > this.map.version && this.options.refreshMap !== undefined) {
      const newer = await this.options.refreshMap(version)
      if (newer !== undefined) this.setPoolMap(newer)
    }
    if (version === this.map.version) return undefined
    this.stats.stale++
    const senderStale = version < this.map.version
    return {
      rc: new DerError('DER_STALE').code,
      message: senderStale ? `pool map version ${version} is older than the engine's ${this.map.version}` : `the engine's pool map version ${this.map.version} is older than ${version}; retry`,
      mapVersion: this.map.version,
      epoch: 0n,
      poolMap: senderStale ? this.map : undefined,
    }
  }

  private layout(oid: ObjectId): ObjectLayout {
    const key = `${oid.hi}.${oid.lo}`
    let l = this.layouts.get(key)
    if (l === undefined) {
      l = placeObject(this.map, oid)
      if (this.layouts.size > 65536) this.layouts.clear()
      this.layouts.set(key, l)
    }
    return l
  }

  /** The shard's placement, checked to live on this engine's target `tag`. */
  private here(oid: ObjectId, shard: number, tag: number): { layout: ObjectLayout; placement: ShardPlacement; group: number } {
    const layout = this.layout(oid)
    if (layout.oclass.redundancy.kind === 'erasure') throw new DerError('DER_NOSYS', `erasure-coded class ${layout.oclass.name} is not supported yet`)
    const size = layout.oclass.groupSize
    const group = Math.floor(shard / size)
    const placement = layout.groups[group]?.shards[shard % size]
    if (placement === undefined) throw new DerError('DER_INVAL', `object has no shard ${shard}`)
    if (placement.rank !== this.rank || placement.targetIndex !== tag) {
      throw new DerError('DER_INVAL', `shard ${shard} lives on rank ${placement.rank} target ${placement.targetIndex}, not rank ${this.rank} target ${tag}`)
    }
    return { layout, placement, group }
  }

  private vos(tag: number): Vos {
    return this.options.targets.get(tag).vos
  }

  private async ensureContainer(vos: Vos, cont: string): Promise<void> {
    if (vos.listContainers().includes(cont)) return
    try {
      await vos.createContainer(cont)
    } catch (error) {
      if (!isDerError(error, 'DER_EXIST')) throw error
    }
  }

  private async withLock<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => (release = resolve))
    const chained = previous.then(() => mine)
    this.locks.set(key, chained)
    await previous
    try {
      return await body()
    } finally {
      release()
      if (this.locks.get(key) === chained) this.locks.delete(key)
    }
  }

  private newDtxId(): string {
    return randomUuid(this.runtime.random.bytes(16))
  }

  // ------------------------------------------------------------------ writes

  private onUpdate(input: ObjUpdateInput, context: Context, fromLeader: boolean): Promise<Status> {
    const akeys = updatesFromWire(input.iods, input.data)
    const oid = vosOid(input.oid)
    const apply = async (vos: Vos, epoch: bigint, id: string | undefined): Promise<void> => {
      await this.ensureContainer(vos, input.containerUuid)
      await this.resolving(context.tag, () => vos.update(input.containerUuid, oid, epoch, input.dkey, akeys, id === undefined ? {} : { dtxId: vosDtxId(id, 0) }))
    }
    const forward = (target: ShardPlacement, epoch: bigint, id: string): Promise<Status> =>
      context.call(dtxReplicaUpdateRpc, { rank: target.rank as number, tag: target.targetIndex as number }, { ...input, shard: target.shard, epoch, dtx: { uuid: id, hlc: epoch }, forwardTo: [] }, { timeoutMs: this.replicaTimeoutMs })
    return this.write(input, context, fromLeader, 1, [hex(input.dkey)], apply, forward)
  }

  private onPunch(input: ObjPunchInput, context: Context, fromLeader: boolean): Promise<Status> {
    const oid = vosOid(input.oid)
    const cont = input.containerUuid
    let ops: ((vos: Vos, epoch: bigint, opts: { dtxId?: string }) => Promise<void>)[]
    if (input.scope === 'object') ops = [(vos, epoch, opts) => vos.punchObject(cont, oid, epoch, opts)]
    else if (input.scope === 'dkeys') {
      if (input.dkeys.length === 0) throw new DerError('DER_INVAL', 'a dkey punch needs dkeys')
      ops = input.dkeys.map((dkey) => (vos: Vos, epoch: bigint, opts: { dtxId?: string }) => vos.punchDkey(cont, oid, epoch, dkey, opts))
    } else {
      const dkey = input.dkeys[0]
      if (input.dkeys.length !== 1 || dkey === undefined || input.akeys.length === 0) throw new DerError('DER_INVAL', 'an akey punch needs one dkey and some akeys')
      ops = [(vos, epoch, opts) => vos.punchAkeys(cont, oid, epoch, dkey, input.akeys, opts)]
    }
    const apply = async (vos: Vos, epoch: bigint, id: string | undefined): Promise<void> => {
      await this.ensureContainer(vos, cont)
      for (const [i, op] of ops.entries()) await this.resolving(context.tag, () => op(vos, epoch, id === undefined ? {} : { dtxId: vosDtxId(id, i) }))
    }
    const forward = (target: ShardPlacement, epoch: bigint, id: string): Promise<Status> =>
      context.call(dtxReplicaPunchRpc, { rank: target.rank as number, tag: target.targetIndex as number }, { ...input, shard: target.shard, epoch, dtx: { uuid: id, hlc: epoch }, forwardTo: [] }, { timeoutMs: this.replicaTimeoutMs })
    return this.write(input, context, fromLeader, ops.length, input.scope === 'object' ? ['*'] : [hex(input.dkeys[0] ?? new Uint8Array(0))].concat(input.scope === 'dkeys' ? input.dkeys.slice(1).map(hex) : []), apply, forward)
  }

  /** The common path of update and punch: replica apply, solo write, or leader replication. */
  private async write(
    input: { oid: ObjectId; shard: number; epoch: bigint; dtx: { uuid: string; hlc: bigint } | undefined; containerUuid: string },
    context: Context,
    fromLeader: boolean,
    opCount: number,
    dkeys: readonly string[],
    apply: (vos: Vos, epoch: bigint, id: string | undefined) => Promise<void>,
    forward: (target: ShardPlacement, epoch: bigint, id: string) => Promise<Status>,
  ): Promise<Status> {
    const tag = context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    const participants = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined).map((s) => ({ rank: s.rank as number, tag: s.targetIndex as number }))
    const vos = this.vos(tag)
    const vosIds = Array.from({ length: opCount }, (_, i) => i)
    if (fromLeader) {
      if (input.dtx === undefined || input.epoch === 0n) throw new DerError('DER_PROTO', 'a replica write needs a DTX and an epoch')
      this.hlc.update(input.epoch)
      const id = input.dtx.uuid
      this.replicaDtx.set(id, { tag, oid: input.oid, group, vosIds: vosIds.map((i) => vosDtxId(id, i)), participants })
      await apply(vos, input.epoch, id)
      return this.ok(input.epoch)
    }
    const leader = groupLeader(layout, group)
    if (leader === undefined) throw new DerError('DER_UNREACH', `group ${group} has no available shard`)
    if (leader.rank !== this.rank || leader.targetIndex !== tag) throw new DerError('DER_INVAL', `shard ${input.shard} is not the leader of group ${group} (shard ${leader.shard} is)`)
    const replicas = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined && s.shard !== leader.shard)
    const objKey = objectKey(input.containerUuid, input.oid)
    return this.withLock(objKey, async () => {
      await this.commitConflicting(objKey, dkeys)
      let epoch = input.epoch
      if (epoch === 0n) epoch = this.hlc.now()
      else this.hlc.update(epoch)
      if (replicas.length === 0) {
        await apply(vos, epoch, undefined)
        return this.ok(epoch)
      }
      const id = input.dtx?.uuid ?? this.newDtxId()
      this.inflight.add(id)
      try {
        const [local, ...remote] = await Promise.allSettled([apply(vos, epoch, id), ...replicas.map((r) => forward(r, epoch, id))])
        let failure: DerError | undefined = local?.status === 'rejected' ? toDerError(local.reason) : undefined
        for (const r of remote) {
          if (failure !== undefined) break
          if (r.status === 'rejected') failure = toDerError(r.reason)
          else if (r.value.rc !== success) failure = DerError.fromCode(r.value.rc, r.value.message)
        }
        if (failure !== undefined) {
          this.stats.aborted++
          await this.abortEverywhere(context, tag, id, opCount, replicas)
          throw new DerError(failure.name, `update aborted: a replica failed: ${failure.message}`, { cause: failure })
        }
        const record: CommitRecord = { id, objKey, dkeys, tag, vosIds: vosIds.map((i) => vosDtxId(id, i)), replicas, localDone: false, attempts: 0 }
        this.committable.set(id, record)
        this.stats.committable++
        this.queueCommit(record)
        return this.ok(epoch)
      } finally {
        this.inflight.delete(id)
      }
    })
  }

  private async abortEverywhere(context: Context, tag: number, id: string, opCount: number, replicas: readonly ShardPlacement[]): Promise<void> {
    const ids = Array.from({ length: opCount }, (_, i) => vosDtxId(id, i))
    const vos = this.vos(tag)
    for (const v of ids) {
      try {
        await vos.abortDtx(v)
      } catch {
        // not prepared here (the local write failed first)
      }
    }
    await Promise.allSettled(
      replicas.map((r) =>
        context.call(dtxAbortRpc, { rank: r.rank as number, tag: r.targetIndex as number }, { poolUuid: this.options.poolUuid, mapVersion: this.map.version, targetIndex: r.targetIndex as number, ids }, { timeoutMs: this.replicaTimeoutMs }),
      ),
    )
  }

  // ------------------------------------------------------------------ commits

  private queueCommit(record: CommitRecord): void {
    this.commitQueue.push(record)
    if (this.commitQueue.length >= this.commitBatchSize) void this.flushCommits()
    else if (this.commitTimer === undefined && !this.stopped) {
      this.commitTimer = this.runtime.timers.schedule(this.commitIntervalMs, () => {
        this.commitTimer = undefined
        void this.flushCommits()
      })
    }
  }

  /** Commits now the waiting DTXs that a new write to `dkeys` of an object would meet. */
  private async commitConflicting(objKey: string, dkeys: readonly string[]): Promise<void> {
    const all = dkeys.includes('*')
    const conflicts = (r: CommitRecord): boolean => r.objKey === objKey && (all || r.dkeys.includes('*') || r.dkeys.some((d) => dkeys.includes(d)))
    if (!this.commitQueue.some(conflicts)) {
      await this.flushChain
      return
    }
    await this.flushCommits()
  }

  private async commitLocal(record: CommitRecord): Promise<void> {
    if (record.localDone) return
    record.localDone = true
    const vos = this.vos(record.tag)
    for (const v of record.vosIds) {
      try {
        await vos.commitDtx(v)
      } catch (error) {
        if (vos.dtxState(v) !== 'committed') throw error
      }
    }
  }

  private async commitBatch(batch: readonly CommitRecord[]): Promise<void> {
    if (batch.length === 0) return
    const byDestination = new Map<string, { rank: number; tag: number; ids: string[]; records: CommitRecord[] }>()
    for (const record of batch) {
      try {
        await this.commitLocal(record)
      } catch (error) {
        this.logger.warn('local DTX commit failed', { id: record.id, error: String(error) })
      }
      for (const r of record.replicas) {
        const key = `${r.rank}:${r.targetIndex}`
        let d = byDestination.get(key)
        if (d === undefined) byDestination.set(key, (d = { rank: r.rank as number, tag: r.targetIndex as number, ids: [], records: [] }))
        d.ids.push(...record.vosIds)
        d.records.push(record)
      }
    }
    const failed = new Set<CommitRecord>()
    await Promise.all(
      [...byDestination.values()].map(async (d) => {
        const context = this.cart.contexts[batch[0]?.tag ?? 0] ?? this.cart.contexts[0]
        if (context === undefined) return
        this.stats.commitBatches++
        try {
          const reply = await context.call(dtxCommitRpc, { rank: d.rank, tag: d.tag }, { poolUuid: this.options.poolUuid, mapVersion: this.map.version, targetIndex: d.tag, ids: d.ids }, { timeoutMs: this.replicaTimeoutMs })
          if (reply.rc !== success) throw DerError.fromCode(reply.rc, reply.message)
        } catch (error) {
          this.logger.debug('DTX commit batch failed', { rank: d.rank, tag: d.tag, error: String(error) })
          for (const r of d.records) failed.add(r)
        }
      }),
    )
    for (const record of batch) {
      if (failed.has(record) && ++record.attempts < 3 && !this.stopped) this.queueCommit(record)
      else this.committable.delete(record.id)
    }
  }

  private async onDtxFinish(input: DtxBatchInput, tag: number, commit: boolean): Promise<{ rc: number; message: string }> {
    try {
      if (input.poolUuid !== this.options.poolUuid) throw new DerError('DER_NONEXIST', `pool ${input.poolUuid} is not served here`)
      if (input.targetIndex !== tag) throw new DerError('DER_INVAL', `DTX records for target ${input.targetIndex} sent to target ${tag}`)
      const vos = this.vos(tag)
      for (const id of input.ids) {
        const state = vos.dtxState(id)
        if (state === 'prepared') await (commit ? vos.commitDtx(id) : vos.abortDtx(id))
        else if (state !== undefined && state !== (commit ? 'committed' : 'aborted')) throw new DerError('DER_PROTO', `DTX ${id} is ${state}, cannot ${commit ? 'commit' : 'abort'} it`)
        this.replicaDtx.delete(baseDtxId(id))
      }
      return { rc: success, message: '' }
    } catch (error) {
      const e = toDerError(error)
      return { rc: e.code, message: e.message }
    }
  }

  private async onDtxCheck(poolUuid: string, tag: number, id: string, resolve: boolean): Promise<{ rc: number; message: string; state: DtxCheckState }> {
    try {
      if (poolUuid !== this.options.poolUuid) throw new DerError('DER_NONEXIST', `pool ${poolUuid} is not served here`)
      let state = this.localDtxState(tag, id)
      // A DTX this engine holds prepared but does not run: its leader is gone and this engine
      // leads the group now, so it decides with the other participants.
      if (state === 'prepared' && resolve && !this.inflight.has(id) && this.replicaDtx.has(id)) {
        await this.resolve(tag, id)
        state = this.localDtxState(tag, id)
      }
      return { rc: success, message: '', state }
    } catch (error) {
      const e = toDerError(error)
      return { rc: e.code, message: e.message, state: 'unknown' }
    }
  }

  private localDtxState(tag: number, id: string): DtxCheckState {
    if (this.committable.has(id)) return 'committable'
    const state = this.vos(tag).dtxState(vosDtxId(id, 0))
    if (state !== undefined) return state
    return this.inflight.has(id) ? 'prepared' : 'unknown'
  }

  // ------------------------------------------------------------------ resolution on read

  /** Runs `body`; when it meets a prepared DTX, resolves the DTX and runs it again. */
  private async resolving<T>(tag: number, body: () => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await body()
      } catch (error) {
        if (!isDerError(error, 'DER_INPROGRESS') || attempt >= 8) throw error
        const vosId = error.details.dtxId
        if (typeof vosId !== 'string') throw error
        const resolved = await this.resolve(tag, baseDtxId(vosId))
        if (!resolved) throw error
      }
    }
  }

  /** Tries to finish DTX `id` on target `tag`; returns whether it is no longer prepared here. */
  private async resolve(tag: number, id: string): Promise<boolean> {
    const vos = this.vos(tag)
    const mine = this.committable.get(id)
    if (mine !== undefined) {
      await this.commitLocal(mine)
      this.stats.resolvedOnRead++
      return true
    }
    if (this.inflight.has(id)) return false
    const info = this.replicaDtx.get(id)
    const ids = info?.vosIds ?? vos.listPreparedDtx().filter((v) => baseDtxId(v) === id)
    if (info === undefined || ids.length === 0) return false
    const layout = this.layout(info.oid)
    const leader = groupLeader(layout, info.group)
    const context = this.cart.contexts[tag]
    if (context === undefined) return false
    const ask = async (p: Participant, resolveThere: boolean): Promise<DtxCheckState | 'unreachable'> => {
      try {
        const reply = await context.call(dtxCheckRpc, { rank: p.rank, tag: p.tag }, { poolUuid: this.options.poolUuid, targetIndex: p.tag, id, resolve: resolveThere }, { timeoutMs: this.replicaTimeoutMs })
        return reply.rc === success ? reply.state : 'unreachable'
      } catch {
        return 'unreachable'
      }
    }
    const isMe = (p: Participant): boolean => p.rank === this.rank && p.tag === tag
    let decision: 'commit' | 'abort' | undefined
    const current = leader === undefined ? undefined : { rank: leader.rank as number, tag: leader.targetIndex as number }
    const fromLeader = current === undefined || isMe(current) ? 'unreachable' : await ask(current, true)
    if (fromLeader === 'committable' || fromLeader === 'committed') decision = 'commit'
    else if (fromLeader === 'aborted') decision = 'abort'
    else if (fromLeader === 'prepared') return false
    else {
      // No leader runs the DTX any more (it is gone, this engine leads now, or the new leader is a
      // shard that never saw it): decide with the participants. A participant that never saw it
      // means the leader never acknowledged it.
      const states = await Promise.all(info.participants.filter((p) => !isMe(p)).map((p) => ask(p, false)))
      if (states.some((s) => s === 'committed' || s === 'committable')) decision = 'commit'
      else if (states.some((s) => s === 'aborted' || s === 'unknown')) decision = 'abort'
      else decision = 'commit'
    }
    if (decision === undefined) return false
    for (const v of ids) if (vos.dtxState(v) === 'prepared') await (decision === 'commit' ? vos.commitDtx(v) : vos.abortDtx(v))
    this.replicaDtx.delete(id)
    this.stats.resolvedOnRead++
    return true
  }

  // ------------------------------------------------------------------ reads

  private readEpoch(epoch: bigint): bigint {
    return epoch === 0n ? this.hlc.now() : epoch
  }

  private async onFetch(rpc: IncomingRpc<ObjFetchInput, ObjFetchOutput>): Promise<ObjFetchOutput> {
    const input = rpc.input
    const tag = rpc.context.tag
    this.here(input.oid, input.shard, tag)
    const akeys = fetchesFromWire(input.iods)
    const vos = this.vos(tag)
    const epoch = this.readEpoch(input.epoch)
    if (!vos.listContainers().includes(input.containerUuid)) {
      return { ...this.ok(epoch), recordSizes: akeys.map(() => 0n), data: akeys.map(() => new Uint8Array(0)) }
    }
    const results = await this.resolving(tag, () => vos.fetch(input.containerUuid, vosOid(input.oid), epoch, input.dkey, akeys))
    return { ...this.ok(epoch), ...fetchResultsToWire(results) }
  }

  private async onEnumerate(rpc: IncomingRpc<ObjEnumerateInput, ObjEnumerateOutput>): Promise<ObjEnumerateOutput> {
    const input = rpc.input
    const tag = rpc.context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    const vos = this.vos(tag)
    const epoch = this.readEpoch(input.epoch)
    const anchor = decodeAnchor(input.anchor)
    const limit = Math.max(1, Math.min(input.maxItems === 0 ? 1024 : input.maxItems, 4096))
    const empty = { ...this.ok(epoch), keys: [], recxs: [], anchor: new Uint8Array(0), done: true }
    if (!vos.listContainers().includes(input.containerUuid)) return empty
    const cont = input.containerUuid
    const oid = vosOid(input.oid)
    if (input.what === 'dkeys') {
      const page = await this.resolving(tag, () => vos.listDkeys(cont, oid, epoch, anchor, limit))
      // Shards of several groups of one object may share this target's VOS object: keep this group's dkeys.
      const keys = layout.groups.length > 1 ? page.items.filter((k) => dkeyGroup(input.oid, k) === group) : page.items
      return { ...empty, keys, anchor: encodeAnchor(page.anchor), done: page.anchor === undefined }
    }
    if (input.dkey === undefined) throw new DerError('DER_INVAL', `enumerating ${input.what} needs a dkey`)
    const dkey = input.dkey
    if (input.what === 'akeys') {
      const page = await this.resolving(tag, () => vos.listAkeys(cont, oid, epoch, dkey, anchor, limit))
      return { ...empty, keys: page.items, anchor: encodeAnchor(page.anchor), done: page.anchor === undefined }
    }
    const akey = input.akey
    if (akey === undefined) throw new DerError('DER_INVAL', 'enumerating extents needs an akey')
    const page = await this.resolving(tag, () => vos.listExtents(cont, oid, epoch, dkey, akey, anchor, limit))
    return {
      ...empty,
      recxs: page.items.map((e) => ({ recx: { index: BigInt(e.index), count: BigInt(e.count) }, epoch: e.epoch, recordSizeBytes: 0n })),
      anchor: encodeAnchor(page.anchor),
      done: page.anchor === undefined,
    }
  }

  private async onQueryKey(rpc: IncomingRpc<ObjQueryKeyInput, ObjQueryKeyOutput>): Promise<ObjQueryKeyOutput> {
    const input = rpc.input
    const tag = rpc.context.tag
    this.here(input.oid, input.shard, tag)
    const vos = this.vos(tag)
    const epoch = this.readEpoch(input.epoch)
    const which = input.dkeyQuery !== 'none' ? input.dkeyQuery : input.akeyQuery !== 'none' ? input.akeyQuery : input.recxQuery
    if (which === 'none') throw new DerError('DER_INVAL', 'query-key needs a dkey, akey or recx query')
    const dkey = input.dkeyQuery === 'none' ? input.dkey : undefined
    const akey = input.dkeyQuery === 'none' && input.akeyQuery === 'none' ? input.akey : undefined
    if (input.dkeyQuery === 'none' && dkey === undefined) throw new DerError('DER_INVAL', 'an akey or recx query needs a dkey')
    if (input.recxQuery !== 'none' && input.dkeyQuery === 'none' && input.akeyQuery === 'none' && akey === undefined) throw new DerError('DER_INVAL', 'a recx query needs an akey')
    const none = { ...this.ok(epoch), dkey: undefined, akey: undefined, recx: undefined }
    if (!vos.listContainers().includes(input.containerUuid)) return none
    const r = await this.resolving(tag, () => vos.queryKey(input.containerUuid, vosOid(input.oid), epoch, which, dkey, akey))
    return { ...none, dkey: r.dkey, akey: r.akey, recx: r.recx === undefined ? undefined : { index: BigInt(r.recx.index), count: BigInt(r.recx.count) } }
  }
}
