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
 * **Erasure coding.** EC classes (`EC_2P1G1`, `EC_4P2G1`, ...) follow the same DTX protocol with
 * the group leader on the last parity shard. The leader cuts array extents into cells
 * (`ec-layout.ts`: `ecCellRecords` records per cell, default {@link ecDefaultCellRecords}), reads
 * the old cells of partially written stripes (read-modify-write, under the object lock), encodes
 * the parity of every touched stripe ({@link ErasureCodec}) and prepares each shard's part (a data
 * shard's cells, a parity shard's parity cells) under one DTX. Single values (the KV API) are
 * small and stored whole on every shard of the group, so any shard serves them and a lost shard
 * loses nothing. A fetch may be sent to any shard of the group: that engine gathers the requested
 * cells from the data shards (`ec_shard_fetch`) and, when a data shard is unavailable (its shard
 * is remapped in the pool map because its target is DOWN/DOWNOUT, it has no target, or it does not
 * answer), reads whole stripes from the surviving data and parity shards and reconstructs.
 * Enumeration of keys and key queries are answered from a parity shard (parity shards hold every
 * dkey and akey of the group); extent enumeration and extent queries gather the data shards and
 * map shard-local indexes back to object space.
 *
 * **Mutation switch.** `unsafeAcknowledgeBeforeReplicasDurable` breaks the durability rule on
 * purpose (test only): the leader acknowledges after its local write and replicates later.
 *
 * **DTX recovery after a restart.** Every shard keeps with its prepare, durably in its VOS
 * (`WriteOptions.dtxMeta`, see `dtx-record.ts`), the DTX id and epoch, the object and group, the
 * leader and the participants. A service starting on targets that hold prepared DTXs (an engine
 * restarted from its WAL) rebuilds its in-doubt table from them and resolves each in the
 * background ({@link ObjectService.recovery}) by the rules above, as DAOS's DTX resync does, with
 * one stricter rule: it commits a DTX prepared everywhere only when every participant still
 * available in the pool map answered (an unreachable one may hold the outcome); otherwise it
 * retries, and a read that meets the DTX resolves it as any read does.
 *
 * Out of scope here: rebuild and aggregation.
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
import type { AkeyFetch, AkeyUpdate, RecxUpdate, Vos, WriteOptions } from '@x/vos'
import type { TargetSet } from '../target/index.ts'
import { decodeAnchor, encodeAnchor, fetchResultsToWire, fetchesFromWire, fetchesToWire, objectKey, updatesFromWire, updatesToWire, vosOid } from './convert.ts'
import { type DtxRecord, decodeDtxRecord, encodeDtxRecord } from './dtx-record.ts'
import { ErasureCodec } from './ec-codec.ts'
import { type EcGeometry, type RecordRange, checkEcGeometry, ecDefaultCellRecords, ecPieces, ecShardRangeToObject, mergeRanges, stripeRecords } from './ec-layout.ts'
import {
  type DtxBatchInput,
  ecShardEnumerateRpc,
  ecShardFetchRpc,
  ecShardQueryKeyRpc,
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
  /** Timeout of leader -> replica RPCs (default 10,000 ms: a loaded replica writing 4 MiB must not abort the update; SWIM, not this timeout, detects dead engines). */
  readonly replicaTimeoutMs?: number
  /** Logger (default: the cart's). */
  readonly logger?: Logger
  /**
   * Records per EC cell (default {@link ecDefaultCellRecords}). Every engine of a pool must use
   * the same value (it fixes where records live).
   */
  readonly ecCellRecords?: number
  /**
   * MUTATION SWITCH for checker tests (issue 13): when true, the leader acknowledges an update
   * as soon as it applied it locally and forwards it to the replicas only afterwards (after
   * `commitIntervalMs`), so a leader crash right after the acknowledgement loses the write.
   * Breaks the "acknowledge only what every replica holds durable" rule on purpose; never set it
   * outside tests that prove the checkers catch the loss. Default false.
   */
  readonly unsafeAcknowledgeBeforeReplicasDurable?: boolean
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
  /** EC stripes whose parity was computed over old data read back (read-modify-write). */
  ecPartialStripes: number
  /** EC cells rebuilt from parity on a degraded read. */
  ecReconstructedCells: number
  /** Prepared DTXs found in the VOS at start (an engine restarted with writes in doubt). */
  recoveredDtx: number
  /** Of those, DTXs resolved by the background recovery (committed or aborted). */
  resolvedOnRecovery: number
}

/** What {@link ObjectService.recovery} resolved. */
export interface DtxRecoveryResult {
  /** Prepared DTXs found at start. */
  readonly found: number
  /** Committed or aborted by the recovery. */
  readonly resolved: number
  /** Still prepared when the recovery gave up (a read that meets one resolves it later). */
  readonly pending: number
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
/** How many early commit/abort decisions a replica remembers (see `earlyFinish`). */
const earlyFinishMax = 16_384

/** The DTX ids a VOS sees for operation `i` of DTX `id`. */
function vosDtxId(id: string, i: number): string {
  return `${id}#${i}`
}

/** VOS write options of operation `i` of DTX `id` (none without a DTX), with the DTX record kept with it. */
function dtxOptions(id: string | undefined, i: number, meta: Uint8Array | undefined): WriteOptions {
  if (id === undefined) return {}
  return meta === undefined ? { dtxId: vosDtxId(id, i) } : { dtxId: vosDtxId(id, i), dtxMeta: meta }
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
  readonly stats: ObjectServiceStats = { committable: 0, aborted: 0, commitBatches: 0, resolvedOnRead: 0, stale: 0, ecPartialStripes: 0, ecReconstructedCells: 0, recoveredDtx: 0, resolvedOnRecovery: 0 }
  /**
   * The background resolution of the DTXs found prepared at start (see the module comment);
   * resolved at once when there were none. Set by {@link ObjectService.start}.
   */
  recovery: Promise<DtxRecoveryResult> = Promise.resolve({ found: 0, resolved: 0, pending: 0 })
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
  /**
   * Commit or abort decisions that reached this replica before (or while) it applied the DTX's
   * prepare (reordered or slow messages): the late prepare applies them at once instead of
   * leaving a prepared write that no record resolves. Bounded; oldest first out.
   */
  private readonly earlyFinish = new Map<string, boolean>()
  private readonly commitIntervalMs: number
  private readonly commitBatchSize: number
  private readonly replicaTimeoutMs: number
  private readonly ecCellRecords: number
  private readonly unsafeAck: boolean
  private reintegrating: { version: number; ids: Set<number> } | undefined
  private stopped = false
  private recoveryStarted = false

  constructor(private readonly options: ObjectServiceOptions) {
    this.cart = options.cart
    this.runtime = options.cart.runtime
    this.hlc = new HybridLogicalClock(this.runtime.clock)
    this.logger = options.logger ?? options.cart.logger
    this.map = options.poolMap
    this.commitIntervalMs = options.commitIntervalMs ?? 50
    this.commitBatchSize = options.commitBatchSize ?? 64
    this.replicaTimeoutMs = options.replicaTimeoutMs ?? 10_000
    this.ecCellRecords = options.ecCellRecords ?? ecDefaultCellRecords
    this.unsafeAck = options.unsafeAcknowledgeBeforeReplicasDurable ?? false
    checkEcGeometry({ dataCells: 1, parityCells: 1, cellRecords: this.ecCellRecords })
    if (!(this.commitIntervalMs > 0) || !Number.isInteger(this.commitBatchSize) || this.commitBatchSize < 1) throw new DerError('DER_INVAL', 'commitIntervalMs must be > 0 and commitBatchSize >= 1')
    if (this.cart.rank === undefined) throw new DerError('DER_INVAL', 'the object service needs a cart with a rank')
    if (!this.cart.registry.has(objUpdateRpc.opcode)) this.cart.registerProtocol(objectProtocol)
    if (!this.cart.registry.has(dtxCommitRpc.opcode)) this.cart.registerProtocol(dtxProtocol)
    this.serve(objUpdateRpc, {}, (rpc) => this.onUpdate(rpc.input, rpc.context, false))
    this.serve(dtxReplicaUpdateRpc, {}, (rpc) => this.onUpdate(rpc.input, rpc.context, true))
    this.serve(objPunchRpc, {}, (rpc) => this.onPunch(rpc.input, rpc.context, false))
    this.serve(dtxReplicaPunchRpc, {}, (rpc) => this.onPunch(rpc.input, rpc.context, true))
    this.serve(objFetchRpc, { recordSizes: [], data: [] }, (rpc) => this.onFetch(rpc.input, rpc.context, false))
    this.serve(ecShardFetchRpc, { recordSizes: [], data: [] }, (rpc) => this.onFetch(rpc.input, rpc.context, true))
    this.serve(objEnumerateRpc, { keys: [], recxs: [], anchor: new Uint8Array(0), done: true }, (rpc) => this.onEnumerate(rpc.input, rpc.context, false))
    this.serve(ecShardEnumerateRpc, { keys: [], recxs: [], anchor: new Uint8Array(0), done: true }, (rpc) => this.onEnumerate(rpc.input, rpc.context, true))
    this.serve(objQueryKeyRpc, { dkey: undefined, akey: undefined, recx: undefined }, (rpc) => this.onQueryKey(rpc.input, rpc.context, false))
    this.serve(ecShardQueryKeyRpc, { dkey: undefined, akey: undefined, recx: undefined }, (rpc) => this.onQueryKey(rpc.input, rpc.context, true))
    this.cart.handle(dtxCommitRpc, (rpc) => this.onDtxFinish(rpc.input, rpc.context.tag, true))
    this.cart.handle(dtxAbortRpc, (rpc) => this.onDtxFinish(rpc.input, rpc.context.tag, false))
    this.cart.handle(dtxCheckRpc, (rpc) => this.onDtxCheck(rpc.input.poolUuid, rpc.input.targetIndex, rpc.input.id, rpc.input.resolve))
    this.loadPreparedDtx()
  }

  /**
   * Creates the service and one listening cart context per target (tag = target index, at
   * `listen(tag)`), in tag order; the cart must have no contexts yet.
   */
  static async start(options: ObjectServiceOptions & { readonly listen: (tag: number) => string }): Promise<ObjectService> {
    if (options.cart.contexts.length !== 0) throw new DerError('DER_INVAL', 'start the object service on a cart without contexts (tags must equal target indexes)')
    const service = new ObjectService(options)
    for (let tag = 0; tag < options.targets.size; tag++) await options.cart.createContext({ listen: options.listen(tag) })
    void service.startRecovery()
    return service
  }

  /**
   * Starts the background resolution of the DTXs found prepared at construction (once; later
   * calls return the same promise) and returns {@link ObjectService.recovery}. {@link
   * ObjectService.start} calls it; an engine that constructs the service itself (its cart already
   * has its contexts) must call it once the contexts exist.
   */
  startRecovery(): Promise<DtxRecoveryResult> {
    if (!this.recoveryStarted) {
      this.recoveryStarted = true
      this.recovery = this.resolveRecovered()
    }
    return this.recovery
  }

  /**
   * Tries to finish the prepared DTX with VOS id `vosDtxId` on target `tag` (as a read that meets
   * it does); true when it is no longer prepared here. For rebuild, whose pushes meet it.
   */
  async resolvePrepared(tag: number, vosDtxId: string): Promise<boolean> {
    if (this.stopped) return false
    return this.resolve(tag, baseDtxId(vosDtxId))
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
        // A peer engine had a newer map (adopted from its DER_STALE reply): the client's is
        // stale now too; answer DER_STALE with the map so it resends on the new layout.
        if (isDerError(error, 'DER_STALE') && rpc.input.mapVersion < this.map.version) {
          const stale = await this.checkMap(rpc.input.mapVersion)
          if (stale !== undefined) return { ...empty, ...stale } as O
        }
        return { ...empty, ...this.errorReply(error) } as O
      }
    })
  }

  /** The error of a failed peer reply; a newer pool map in it (`DER_STALE`) is adopted. */
  private peerFailure(reply: Status): DerError {
    if (reply.poolMap !== undefined) this.setPoolMap(reply.poolMap)
    return DerError.fromCode(reply.rc, reply.message)
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
    const erasure = this.layout(input.oid).oclass.redundancy.kind === 'erasure'
    // An EC data shard that gets no cell of a write still takes part (an empty update): it learns
    // the write's epoch (HLC), so a read it serves next sees the write.
    const akeys = fromLeader && erasure && input.iods.length === 0 && input.data.length === 0 ? [] : updatesFromWire(input.iods, input.data)
    const oid = vosOid(input.oid)
    if (!fromLeader && erasure) return this.ecUpdate(input, akeys, context)
    const apply = async (vos: Vos, epoch: bigint, id: string | undefined, meta?: Uint8Array): Promise<void> => {
      if (akeys.length === 0) return
      await this.ensureContainer(vos, input.containerUuid)
      await this.resolving(context.tag, () => vos.update(input.containerUuid, oid, epoch, input.dkey, akeys, dtxOptions(id, 0, meta)))
    }
    const forward = (target: ShardPlacement, epoch: bigint, id: string): Promise<Status> =>
      context.call(dtxReplicaUpdateRpc, { rank: target.rank as number, tag: target.targetIndex as number }, { ...input, shard: target.shard, epoch, dtx: { uuid: id, hlc: epoch }, forwardTo: [] }, { timeoutMs: this.replicaTimeoutMs })
    return this.write({ input, context, fromLeader, opCount: 1, dkeys: [hex(input.dkey)], apply, forward })
  }

  private onPunch(input: ObjPunchInput, context: Context, fromLeader: boolean): Promise<Status> {
    const oid = vosOid(input.oid)
    const cont = input.containerUuid
    let ops: ((vos: Vos, epoch: bigint, opts: WriteOptions) => Promise<void>)[]
    if (input.scope === 'object') ops = [(vos, epoch, opts) => vos.punchObject(cont, oid, epoch, opts)]
    else if (input.scope === 'dkeys') {
      if (input.dkeys.length === 0) throw new DerError('DER_INVAL', 'a dkey punch needs dkeys')
      ops = input.dkeys.map((dkey) => (vos: Vos, epoch: bigint, opts: WriteOptions) => vos.punchDkey(cont, oid, epoch, dkey, opts))
    } else {
      const dkey = input.dkeys[0]
      if (input.dkeys.length !== 1 || dkey === undefined || input.akeys.length === 0) throw new DerError('DER_INVAL', 'an akey punch needs one dkey and some akeys')
      ops = [(vos, epoch, opts) => vos.punchAkeys(cont, oid, epoch, dkey, input.akeys, opts)]
    }
    const apply = async (vos: Vos, epoch: bigint, id: string | undefined, meta?: Uint8Array): Promise<void> => {
      await this.ensureContainer(vos, cont)
      for (const [i, op] of ops.entries()) await this.resolving(context.tag, () => op(vos, epoch, dtxOptions(id, i, meta)))
    }
    const forward = (target: ShardPlacement, epoch: bigint, id: string): Promise<Status> =>
      context.call(dtxReplicaPunchRpc, { rank: target.rank as number, tag: target.targetIndex as number }, { ...input, shard: target.shard, epoch, dtx: { uuid: id, hlc: epoch }, forwardTo: [] }, { timeoutMs: this.replicaTimeoutMs })
    const dkeys = input.scope === 'object' ? ['*'] : [hex(input.dkeys[0] ?? new Uint8Array(0))].concat(input.scope === 'dkeys' ? input.dkeys.slice(1).map(hex) : [])
    return this.write({ input, context, fromLeader, opCount: ops.length, dkeys, apply, forward })
  }

  /**
   * The common path of update and punch: replica apply, solo write, or leader replication. For EC
   * updates `prepare` runs under the object lock once the epoch is chosen (the read-modify-write
   * and encoding).
   */
  private async write(w: {
    input: { oid: ObjectId; shard: number; epoch: bigint; dtx: { uuid: string; hlc: bigint } | undefined; containerUuid: string }
    context: Context
    fromLeader: boolean
    opCount: number
    dkeys: readonly string[]
    apply: (vos: Vos, epoch: bigint, id: string | undefined, meta?: Uint8Array) => Promise<void>
    forward: (target: ShardPlacement, epoch: bigint, id: string) => Promise<Status>
    prepare?: (epoch: bigint) => Promise<void>
  }): Promise<Status> {
    const { input, context, fromLeader, opCount, dkeys, apply, forward } = w
    const tag = context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    const erasure = layout.oclass.redundancy.kind === 'erasure'
    // EC: the parity shards take part in every write (they hold every key), so they are the DTX
    // members a replica asks when it resolves; a data shard may get an empty part (no DTX record).
    const participants = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined && (!erasure || s.role === 'parity')).map((s) => ({ rank: s.rank as number, tag: s.targetIndex as number }))
    const vos = this.vos(tag)
    const vosIds = Array.from({ length: opCount }, (_, i) => i)
    if (fromLeader) {
      if (input.dtx === undefined || input.epoch === 0n) throw new DerError('DER_PROTO', 'a replica write needs a DTX and an epoch')
      this.hlc.update(input.epoch)
      const id = input.dtx.uuid
      this.replicaDtx.set(id, { tag, oid: input.oid, group, vosIds: vosIds.map((i) => vosDtxId(id, i)), participants })
      const sender = groupLeader(layout, group)
      const leaderMember = sender === undefined ? { rank: this.rank, tag } : { rank: sender.rank as number, tag: sender.targetIndex as number }
      if (this.earlyFinish.get(id) === false) {
        this.earlyFinish.delete(id)
        this.replicaDtx.delete(id)
        throw new DerError('DER_CANCELED', `DTX ${id} was aborted by its leader before its prepare arrived`)
      }
      await apply(vos, input.epoch, id, encodeDtxRecord({ id, epoch: input.epoch, oid: input.oid, group, leader: leaderMember, participants }))
      const early = this.earlyFinish.get(id)
      if (early !== undefined) {
        // The leader decided while the prepare was being applied.
        this.earlyFinish.delete(id)
        for (const v of vosIds.map((i) => vosDtxId(id, i))) if (vos.dtxState(v) === 'prepared') await (early ? vos.commitDtx(v) : vos.abortDtx(v))
        this.replicaDtx.delete(id)
        if (!early) throw new DerError('DER_CANCELED', `DTX ${id} was aborted by its leader while its prepare was applied`)
      }
      return this.ok(input.epoch)
    }
    const leader = groupLeader(layout, group)
    if (leader === undefined) throw new DerError('DER_UNREACH', `group ${group} has no available shard`)
    if (leader.rank !== this.rank || leader.targetIndex !== tag) throw new DerError('DER_INVAL', `shard ${input.shard} is not the leader of group ${group} (shard ${leader.shard} is)`)
    const objKey = objectKey(input.containerUuid, input.oid)
    return this.withLock(objKey, async () => {
      await this.commitConflicting(objKey, dkeys)
      let epoch = input.epoch
      if (epoch === 0n) epoch = this.hlc.now()
      else this.hlc.update(epoch)
      if (w.prepare !== undefined) await w.prepare(epoch)
      const replicas = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined && s.shard !== leader.shard)
      if (replicas.length === 0) {
        await apply(vos, epoch, undefined)
        return this.ok(epoch)
      }
      const id = input.dtx?.uuid ?? this.newDtxId()
      this.inflight.add(id)
      const meta = encodeDtxRecord({ id, epoch, oid: input.oid, group, leader: { rank: this.rank, tag }, participants })
      if (this.unsafeAck) return this.acknowledgeUnsafely({ context, tag, id, objKey, dkeys, opCount, vosIds, replicas, epoch, apply: (v, e, i) => apply(v, e, i, meta), forward })
      try {
        const [local, ...remote] = await Promise.allSettled([apply(vos, epoch, id, meta), ...replicas.map((r) => forward(r, epoch, id))])
        let failure: DerError | undefined = local?.status === 'rejected' ? toDerError(local.reason) : undefined
        for (const r of remote) {
          if (failure !== undefined) break
          if (r.status === 'rejected') failure = toDerError(r.reason)
          else if (r.value.rc !== success) failure = this.peerFailure(r.value)
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

  /**
   * The mutation behind `unsafeAcknowledgeBeforeReplicasDurable`: apply locally, acknowledge, and
   * forward to the replicas only `commitIntervalMs` later (a leader crash in between loses the write).
   */
  private async acknowledgeUnsafely(u: {
    context: Context
    tag: number
    id: string
    objKey: string
    dkeys: readonly string[]
    opCount: number
    vosIds: readonly number[]
    replicas: readonly ShardPlacement[]
    epoch: bigint
    apply: (vos: Vos, epoch: bigint, id: string | undefined) => Promise<void>
    forward: (target: ShardPlacement, epoch: bigint, id: string) => Promise<Status>
  }): Promise<Status> {
    try {
      await u.apply(this.vos(u.tag), u.epoch, u.id)
    } catch (error) {
      this.inflight.delete(u.id)
      await this.abortEverywhere(u.context, u.tag, u.id, u.opCount, [])
      throw error
    }
    this.runtime.timers.schedule(this.commitIntervalMs, () => {
      if (this.stopped) return
      void Promise.allSettled(u.replicas.map((r) => u.forward(r, u.epoch, u.id))).then((results) => {
        this.inflight.delete(u.id)
        if (this.stopped || results.some((r) => r.status === 'rejected' || r.value.rc !== success)) return
        const record: CommitRecord = { id: u.id, objKey: u.objKey, dkeys: u.dkeys, tag: u.tag, vosIds: u.vosIds.map((i) => vosDtxId(u.id, i)), replicas: u.replicas, localDone: false, attempts: 0 }
        this.committable.set(u.id, record)
        this.stats.committable++
        this.queueCommit(record)
      })
    })
    return this.ok(u.epoch)
  }

  // ------------------------------------------------------------------ erasure coding

  private ecGeometry(layout: ObjectLayout): EcGeometry {
    const r = layout.oclass.redundancy
    if (r.kind !== 'erasure') throw new DerError('DER_INVAL', `class ${layout.oclass.name} is not erasure-coded`)
    return { dataCells: r.dataCells, parityCells: r.parityCells, cellRecords: this.ecCellRecords }
  }

  /**
   * Whether a shard can be read as it is: it has a target, was not moved off an unavailable one
   * (its new target may not be rebuilt yet) and its target is not being reintegrated (`UP`: back in
   * the layout, its data not caught up until `UPIN`).
   */
  private readable(s: ShardPlacement): boolean {
    if (s.targetId === undefined || s.remapped) return false
    if (this.reintegrating === undefined || this.reintegrating.version !== this.map.version) {
      const ids = new Set<number>()
      for (const r of this.map.ranks) for (const t of r.targets) if (t.state === 'UP') ids.add(t.id)
      this.reintegrating = { version: this.map.version, ids }
    }
    return !this.reintegrating.ids.has(s.targetId)
  }

  /** EC update at the group leader: cut, read-modify-write partial stripes, encode, prepare every shard's part under one DTX. */
  private ecUpdate(input: ObjUpdateInput, akeys: readonly AkeyUpdate[], context: Context): Promise<Status> {
    const { layout, group } = this.here(input.oid, input.shard, context.tag)
    const geometry = this.ecGeometry(layout)
    const shards = layout.groups[group]?.shards ?? []
    const perPosition = new Map<number, AkeyUpdate[]>()
    const add = (position: number, update: AkeyUpdate): void => {
      let list = perPosition.get(position)
      if (list === undefined) perPosition.set(position, (list = []))
      list.push(update)
    }
    const oid = vosOid(input.oid)
    const cont = input.containerUuid
    const leaderPosition = (): number => groupLeader(layout, group)?.position ?? -1
    const prepare = async (epoch: bigint): Promise<void> => {
      for (const [i, a] of akeys.entries()) {
        if (a.type === 'single') {
          for (const s of shards) add(s.position, a)
          continue
        }
        await this.ecEncodeArray(context, input, layout, group, geometry, epoch, a, input.data[i] as Uint8Array, add)
      }
    }
    const apply = async (vos: Vos, epoch: bigint, id: string | undefined, meta?: Uint8Array): Promise<void> => {
      const mine = perPosition.get(leaderPosition())
      if (mine === undefined) return
      await this.ensureContainer(vos, cont)
      await this.resolving(context.tag, () => vos.update(cont, oid, epoch, input.dkey, mine, dtxOptions(id, 0, meta)))
    }
    const forward = (target: ShardPlacement, epoch: bigint, id: string): Promise<Status> => {
      const { iods, data } = updatesToWire(perPosition.get(target.position) ?? [])
      return context.call(dtxReplicaUpdateRpc, { rank: target.rank as number, tag: target.targetIndex as number }, { ...input, shard: target.shard, epoch, dtx: { uuid: id, hlc: epoch }, iods, data, forwardTo: [] }, { timeoutMs: this.replicaTimeoutMs })
    }
    return this.write({ input, context, fromLeader: false, opCount: 1, dkeys: [hex(input.dkey)], apply, forward, prepare })
  }

  /** Splits one array update into data cells and parity cells per shard position (reading old cells of partial stripes). */
  private async ecEncodeArray(
    context: Context,
    input: ObjUpdateInput,
    layout: ObjectLayout,
    group: number,
    geometry: EcGeometry,
    epoch: bigint,
    update: AkeyUpdate & { type: 'array' },
    bytes: Uint8Array,
    add: (position: number, update: AkeyUpdate) => void,
  ): Promise<void> {
    const { dataCells: k, parityCells: p, cellRecords: c } = geometry
    const size = update.recordSizeBytes
    const perStripe = stripeRecords(geometry)
    const pieces = ecPieces(geometry, update.extents)
    const byStripe = new Map<number, RecordRange[]>()
    for (const piece of pieces) {
      let list = byStripe.get(piece.stripe)
      if (list === undefined) byStripe.set(piece.stripe, (list = []))
      list.push({ index: piece.objectIndex, count: piece.count })
    }
    const stripes = [...byStripe.keys()].sort((a, b) => a - b)
    const partial = stripes.filter((s) => {
      const merged = mergeRanges([...(byStripe.get(s) ?? [])].sort((a, b) => a.index - b.index))
      return !(merged.length === 1 && merged[0]?.index === s * perStripe && merged[0].count === perStripe)
    })
    const old = partial.length === 0 ? undefined : await this.ecReadStripes(context, input, layout, group, geometry, epoch, input.dkey, update.akey, partial, new Set())
    if (old !== undefined && old.recordSizeBytes !== 0 && old.recordSizeBytes !== size) throw new DerError('DER_INVAL', `record size ${size} differs from the array's ${old.recordSizeBytes}`)
    this.stats.ecPartialStripes += partial.length
    const cellBytes = c * size
    const stripeData = new Map<number, Uint8Array>()
    for (const s of stripes) {
      const buf = new Uint8Array(k * cellBytes)
      const oldCells = old?.cells.get(s)
      if (oldCells !== undefined && old?.recordSizeBytes === size) oldCells.forEach((cell, d) => buf.set(cell, d * cellBytes))
      stripeData.set(s, buf)
    }
    const dataExtents = new Map<number, RecxUpdate[]>()
    for (const piece of pieces) {
      const src = bytes.subarray(piece.at * size, (piece.at + piece.count) * size)
      ;(stripeData.get(piece.stripe) as Uint8Array).set(src, (piece.objectIndex - piece.stripe * perStripe) * size)
      let list = dataExtents.get(piece.position)
      if (list === undefined) dataExtents.set(piece.position, (list = []))
      list.push({ index: piece.shardIndex, count: piece.count, data: src })
    }
    for (const [position, extents] of dataExtents) add(position, { type: 'array', akey: update.akey, recordSizeBytes: size, extents })
    const codec = ErasureCodec.of(k, p)
    const parityExtents: RecxUpdate[][] = Array.from({ length: p }, () => [])
    for (const s of stripes) {
      const buf = stripeData.get(s) as Uint8Array
      const cells = Array.from({ length: k }, (_, d) => buf.subarray(d * cellBytes, (d + 1) * cellBytes))
      codec.encode(cells).forEach((cell, j) => parityExtents[j]?.push({ index: s * c, count: c, data: cell }))
    }
    parityExtents.forEach((extents, j) => add(k + j, { type: 'array', akey: update.akey, recordSizeBytes: size, extents }))
  }

  /** Reads shard `s` as stored (shard-local), here or over `ec_shard_fetch`; per fetch its record size (0 = absent) and bytes. */
  private async readShard(
    context: Context,
    base: ObjFetchInput | ObjUpdateInput,
    s: ShardPlacement,
    epoch: bigint,
    dkey: Uint8Array,
    fetches: readonly AkeyFetch[],
  ): Promise<{ recordSizes: number[]; data: Uint8Array[] }> {
    if (s.rank === this.rank && s.targetIndex === context.tag) {
      const out = await this.fetchLocal(context.tag, base.containerUuid, base.oid, epoch, dkey, fetches)
      return { recordSizes: out.recordSizes.map(Number), data: out.data }
    }
    const input: ObjFetchInput = {
      poolUuid: base.poolUuid,
      handleUuid: base.handleUuid,
      mapVersion: this.map.version,
      containerUuid: base.containerUuid,
      containerHandle: base.containerHandle,
      oid: base.oid,
      shard: s.shard,
      epoch,
      epochFirst: 0n,
      dtx: undefined,
      dkey,
      iods: fetchesToWire(fetches),
    }
    const reply = await context.call(ecShardFetchRpc, { rank: s.rank as number, tag: s.targetIndex as number }, input, { timeoutMs: this.replicaTimeoutMs })
    if (reply.rc !== success) throw this.peerFailure(reply)
    if (reply.recordSizes.length !== fetches.length || reply.data.length !== fetches.length) throw new DerError('DER_PROTO', 'EC shard fetch reply does not match the request')
    return { recordSizes: reply.recordSizes.map(Number), data: reply.data }
  }

  /**
   * Reads whole cells of `stripes` (sorted) for one akey and returns the k data cells of each,
   * reconstructing from parity what unavailable data shards (and `skip`) cannot give.
   * `DER_DATA_LOSS` when fewer than k shards answer.
   */
  private async ecReadStripes(
    context: Context,
    base: ObjFetchInput | ObjUpdateInput,
    layout: ObjectLayout,
    group: number,
    geometry: EcGeometry,
    epoch: bigint,
    dkey: Uint8Array,
    akey: Uint8Array,
    stripes: readonly number[],
    skip: ReadonlySet<number>,
  ): Promise<{ recordSizeBytes: number; cells: Map<number, Uint8Array[]> }> {
    const { dataCells: k, parityCells: p, cellRecords: c } = geometry
    const shards = layout.groups[group]?.shards ?? []
    const candidates = shards.filter((s) => this.readable(s) && !skip.has(s.position))
    const ranges = mergeRanges(stripes.map((s) => ({ index: s * c, count: c })))
    const got = new Map<number, { recordSize: number; data: Uint8Array }>()
    let next = 0
    while (got.size < k && next < candidates.length) {
      const batch = candidates.slice(next, next + (k - got.size))
      next += batch.length
      const results = await Promise.allSettled(batch.map((s) => this.readShard(context, base, s, epoch, dkey, [{ type: 'array', akey, extents: ranges }])))
      const stale = results.find((r) => r.status === 'rejected' && (isDerError(r.reason, 'DER_STALE') || isDerError(r.reason, 'DER_INPROGRESS')))
      if (stale !== undefined && stale.status === 'rejected') throw toDerError(stale.reason)
      results.forEach((r, i) => {
        const s = batch[i] as ShardPlacement
        if (r.status === 'fulfilled') got.set(s.position, { recordSize: r.value.recordSizes[0] ?? 0, data: r.value.data[0] ?? new Uint8Array(0) })
        else this.logger.debug('EC shard read failed', { shard: s.shard, error: String(r.reason) })
      })
    }
    if (got.size < k) throw new DerError('DER_DATA_LOSS', `EC ${k}+${p} group ${group}: only ${got.size} shards readable, ${k} needed`)
    const recordSizeBytes = Math.max(0, ...[...got.values()].map((g) => g.recordSize))
    const cells = new Map<number, Uint8Array[]>()
    if (recordSizeBytes === 0) return { recordSizeBytes, cells }
    const cellBytes = c * recordSizeBytes
    const zero = new Uint8Array(cellBytes)
    const codec = ErasureCodec.of(k, p)
    stripes.forEach((stripe, i) => {
      const slots: (Uint8Array | undefined)[] = Array.from({ length: k + p }, (_, position) => {
        const g = got.get(position)
        if (g === undefined) return undefined
        if (g.recordSize === 0) return zero
        if (g.recordSize !== recordSizeBytes) throw new DerError('DER_MISMATCH', `EC shards disagree on the record size: ${g.recordSize} vs ${recordSizeBytes}`)
        return g.data.subarray(i * cellBytes, (i + 1) * cellBytes)
      })
      const missing = slots.slice(0, k).filter((x) => x === undefined).length
      this.stats.ecReconstructedCells += missing
      cells.set(stripe, (missing === 0 ? slots : codec.reconstruct(slots)).slice(0, k) as Uint8Array[])
    })
    return { recordSizeBytes, cells }
  }

  /** Reads object-space extents of an EC array: pieces from the data shards, missing cells rebuilt from whole stripes. */
  private async ecReadArray(
    context: Context,
    input: ObjFetchInput,
    layout: ObjectLayout,
    group: number,
    geometry: EcGeometry,
    epoch: bigint,
    akey: Uint8Array,
    extents: readonly RecordRange[],
  ): Promise<{ recordSize: number; data: Uint8Array }> {
    const c = geometry.cellRecords
    const shards = layout.groups[group]?.shards ?? []
    const pieces = ecPieces(geometry, extents)
    const total = extents.reduce((n, e) => n + e.count, 0)
    const byPosition = new Map<number, typeof pieces>()
    for (const piece of pieces) {
      let list = byPosition.get(piece.position)
      if (list === undefined) byPosition.set(piece.position, (list = []))
      list.push(piece)
    }
    const failed = new Set<number>()
    const reads = new Map<number, { recordSize: number; data: Uint8Array }>()
    await Promise.all(
      [...byPosition].map(async ([position, list]) => {
        const s = shards[position]
        if (s === undefined || !this.readable(s)) {
          failed.add(position)
          return
        }
        try {
          const r = await this.readShard(context, input, s, epoch, input.dkey, [{ type: 'array', akey, extents: list.map((x) => ({ index: x.shardIndex, count: x.count })) }])
          reads.set(position, { recordSize: r.recordSizes[0] ?? 0, data: r.data[0] ?? new Uint8Array(0) })
        } catch (error) {
          if (isDerError(error, 'DER_INPROGRESS') || isDerError(error, 'DER_STALE')) throw error
          this.logger.debug('EC data shard read failed, reading degraded', { shard: s.shard, error: String(error) })
          failed.add(position)
        }
      }),
    )
    let recordSize = Math.max(0, ...[...reads.values()].map((r) => r.recordSize))
    let rebuilt: Map<number, Uint8Array[]> | undefined
    if (failed.size > 0) {
      const stripes = [...new Set(pieces.filter((x) => failed.has(x.position)).map((x) => x.stripe))].sort((a, b) => a - b)
      const degraded = await this.ecReadStripes(context, input, layout, group, geometry, epoch, input.dkey, akey, stripes, failed)
      if (recordSize === 0) recordSize = degraded.recordSizeBytes
      else if (degraded.recordSizeBytes !== 0 && degraded.recordSizeBytes !== recordSize) throw new DerError('DER_MISMATCH', 'EC shards disagree on the record size')
      rebuilt = degraded.cells
    }
    if (recordSize === 0) return { recordSize: 0, data: new Uint8Array(0) }
    const out = new Uint8Array(total * recordSize)
    for (const [position, list] of byPosition) {
      const read = reads.get(position)
      let at = 0
      for (const piece of list) {
        const bytes = piece.count * recordSize
        if (read !== undefined) {
          if (read.recordSize === recordSize) out.set(read.data.subarray(at, at + bytes), piece.at * recordSize)
          else if (read.recordSize !== 0) throw new DerError('DER_MISMATCH', 'EC shards disagree on the record size')
        } else {
          const cell = rebuilt?.get(piece.stripe)?.[position]
          if (cell !== undefined && cell.length > 0) {
            const from = (piece.shardIndex - piece.stripe * c) * recordSize
            out.set(cell.subarray(from, from + bytes), piece.at * recordSize)
          }
        }
        at += bytes
      }
    }
    return { recordSize, data: out }
  }

  /** EC fetch on any shard of the group: single values from one readable shard, arrays gathered from the data shards. */
  private async ecFetch(input: ObjFetchInput, context: Context, layout: ObjectLayout, group: number): Promise<ObjFetchOutput> {
    const geometry = this.ecGeometry(layout)
    const epoch = this.readEpoch(input.epoch)
    const fetches = fetchesFromWire(input.iods)
    const recordSizes: bigint[] = fetches.map(() => 0n)
    const data: Uint8Array[] = fetches.map(() => new Uint8Array(0))
    const singles = fetches.map((f, i) => [f, i] as const).filter(([f]) => f.type === 'single')
    if (singles.length > 0) {
      const shards = (layout.groups[group]?.shards ?? []).filter((s) => this.readable(s))
      const here = shards.filter((s) => s.rank === this.rank && s.targetIndex === context.tag)
      const order = [...here, ...shards.filter((s) => !here.includes(s))]
      let done = false
      let lastError: unknown = new DerError('DER_DATA_LOSS', `EC group ${group} has no readable shard`)
      for (const s of order) {
        try {
          const r = await this.readShard(context, input, s, epoch, input.dkey, singles.map(([f]) => f))
          singles.forEach(([, i], j) => {
            recordSizes[i] = BigInt(r.recordSizes[j] ?? 0)
            data[i] = r.data[j] ?? new Uint8Array(0)
          })
          done = true
          break
        } catch (error) {
          if (isDerError(error, 'DER_INPROGRESS') || isDerError(error, 'DER_STALE')) throw error
          lastError = error
        }
      }
      if (!done) throw toDerError(lastError)
    }
    for (const [i, f] of fetches.entries()) {
      if (f.type !== 'array') continue
      const r = await this.ecReadArray(context, input, layout, group, geometry, epoch, f.akey, f.extents)
      recordSizes[i] = BigInt(r.recordSize)
      data[i] = r.data
    }
    return { ...this.ok(epoch), recordSizes, data }
  }

  /** The parity shards to ask for keys, readable first and this engine's own first. */
  private ecKeyShards(layout: ObjectLayout, group: number, tag: number): ShardPlacement[] {
    const parity = (layout.groups[group]?.shards ?? []).filter((s) => s.role === 'parity' && this.readable(s))
    const here = parity.filter((s) => s.rank === this.rank && s.targetIndex === tag)
    return [...here, ...parity.filter((s) => !here.includes(s))]
  }

  /** Runs a shard-local request on the first parity shard that answers (keys live on every parity shard). */
  private async onParity<O extends Status>(layout: ObjectLayout, group: number, tag: number, local: () => Promise<O>, remote: (s: ShardPlacement) => Promise<O>): Promise<O> {
    let lastError: unknown = new DerError('DER_DATA_LOSS', `EC group ${group} has no readable parity shard`)
    for (const s of this.ecKeyShards(layout, group, tag)) {
      try {
        const reply = s.rank === this.rank && s.targetIndex === tag ? await local() : await remote(s)
        if (reply.rc !== success) throw this.peerFailure(reply)
        return reply
      } catch (error) {
        if (isDerError(error, 'DER_INPROGRESS') || isDerError(error, 'DER_INVAL') || isDerError(error, 'DER_STALE')) throw error
        lastError = error
      }
    }
    throw toDerError(lastError)
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
    if (this.commitQueue.some(conflicts)) {
      await this.flushCommits()
      return
    }
    // A conflicting record already being sent (out of the queue, still committable): wait for
    // that batch. Writes that meet nothing pending do not wait for unrelated commit batches.
    for (const record of this.committable.values()) {
      if (conflicts(record)) {
        await this.flushChain
        return
      }
    }
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
        else if (state === undefined) this.rememberEarlyFinish(baseDtxId(id), commit)
        this.replicaDtx.delete(baseDtxId(id))
      }
      return { rc: success, message: '' }
    } catch (error) {
      const e = toDerError(error)
      return { rc: e.code, message: e.message }
    }
  }

  private rememberEarlyFinish(id: string, commit: boolean): void {
    if (this.earlyFinish.size >= earlyFinishMax) {
      const oldest = this.earlyFinish.keys().next()
      if (oldest.done !== true) this.earlyFinish.delete(oldest.value)
    }
    this.earlyFinish.set(id, commit)
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

  /**
   * Tries to finish DTX `id` on target `tag`; returns whether it is no longer prepared here.
   * `recovering` (the restart recovery) does not commit while a participant that the pool map
   * still counts as available did not answer.
   */
  private async resolve(tag: number, id: string, recovering = false): Promise<boolean> {
    const vos = this.vos(tag)
    const mine = this.committable.get(id)
    if (mine !== undefined) {
      await this.commitLocal(mine)
      this.stats.resolvedOnRead++
      return true
    }
    if (this.inflight.has(id)) return false
    const ids = this.replicaDtx.get(id)?.vosIds ?? vos.listPreparedDtx().filter((v) => baseDtxId(v) === id)
    const info = this.replicaDtx.get(id) ?? this.recordFromVos(tag, id, ids)
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
      const others = info.participants.filter((p) => !isMe(p))
      const states = await Promise.all(others.map((p) => ask(p, false)))
      if (states.some((s) => s === 'committed' || s === 'committable')) decision = 'commit'
      else if (states.some((s) => s === 'aborted' || s === 'unknown')) decision = 'abort'
      // Prepared on every participant that answered. Commit only if every participant that the
      // pool map still counts as available answered: the old leader, silent behind a partition
      // or crashed but not yet excluded, may have aborted it, and committing without it let the
      // replicas diverge (sim seed 10140). As in DAOS, the DTX waits for the leader's exclusion.
      else if (others.some((p, i) => states[i] === 'unreachable' && this.memberAvailable(p))) return false
      else decision = 'commit'
    }
    if (decision === undefined) return false
    for (const v of ids) {
      if (vos.dtxState(v) !== 'prepared') continue
      try {
        await (decision === 'commit' ? vos.commitDtx(v) : vos.abortDtx(v))
      } catch (error) {
        // A concurrent resolution (a read, the restart recovery, a commit record) finished it first.
        if (vos.dtxState(v) === 'prepared') throw error
      }
    }
    this.replicaDtx.delete(id)
    if (!recovering) this.stats.resolvedOnRead++
    return true
  }

  /** The in-doubt entry of DTX `id` rebuilt from the record stored with its prepare in the VOS. */
  private recordFromVos(tag: number, id: string, vosIds: readonly string[]): ReplicaDtx | undefined {
    const vos = this.vos(tag)
    for (const v of vosIds) {
      const meta = vos.dtxMeta(v)
      if (meta === undefined) continue
      try {
        const record = decodeDtxRecord(meta)
        if (record.id !== id) continue
        const entry: ReplicaDtx = { tag, oid: record.oid, group: record.group, vosIds: [...vosIds].sort(), participants: record.participants }
        this.replicaDtx.set(id, entry)
        return entry
      } catch {
        continue
      }
    }
    return undefined
  }

  /** Whether the pool map counts the target of member `p` as available (not DOWN or DOWNOUT). */
  private memberAvailable(p: Participant): boolean {
    const state = this.map.ranks.find((r) => r.rank === p.rank)?.targets[p.tag]?.state
    return state !== undefined && state !== 'DOWN' && state !== 'DOWNOUT'
  }

  // ------------------------------------------------------------------ DTX recovery after a restart

  /** Rebuilds the in-doubt DTX table from the prepared DTXs (and their records) in every target's VOS. */
  private loadPreparedDtx(): void {
    for (let tag = 0; tag < this.options.targets.size; tag++) {
      const vos = this.vos(tag)
      const byBase = new Map<string, string[]>()
      for (const v of vos.listPreparedDtx()) {
        const base = baseDtxId(v)
        const list = byBase.get(base)
        if (list === undefined) byBase.set(base, [v])
        else list.push(v)
      }
      for (const [id, vosIds] of byBase) {
        this.stats.recoveredDtx++
        if (this.replicaDtx.has(id)) continue
        let record: DtxRecord | undefined
        for (const v of vosIds) {
          const meta = vos.dtxMeta(v)
          if (meta === undefined) continue
          try {
            record = decodeDtxRecord(meta)
            break
          } catch (error) {
            this.logger.warn('undecodable DTX record in the VOS', { tag, id: v, error: String(error) })
          }
        }
        if (record === undefined || record.id !== id) {
          this.logger.warn('prepared DTX without its record: left for reads to meet', { tag, id })
          continue
        }
        // Epochs this engine hands out after the restart stay above those of its writes in doubt.
        try {
          this.hlc.update(record.epoch)
        } catch (error) {
          this.logger.warn('DTX epoch far ahead of the clock', { tag, id, error: String(error) })
        }
        this.replicaDtx.set(id, { tag, oid: record.oid, group: record.group, vosIds: vosIds.sort(), participants: record.participants })
      }
    }
  }

  /** Resolves the DTXs found prepared at start, in rounds `replicaTimeoutMs` apart (at most 8). */
  private async resolveRecovered(): Promise<DtxRecoveryResult> {
    const found = [...this.replicaDtx.entries()].map(([id, info]) => ({ id, tag: info.tag }))
    let pending = found
    for (let round = 0; round < 8 && pending.length > 0 && !this.stopped; round++) {
      if (round > 0) await this.runtime.timers.sleep(this.replicaTimeoutMs)
      const left: typeof pending = []
      for (const entry of pending) {
        if (this.stopped) return { found: found.length, resolved: found.length - pending.length, pending: pending.length }
        let done = false
        try {
          done = !this.replicaDtx.has(entry.id) || (await this.resolve(entry.tag, entry.id, true))
        } catch (error) {
          this.logger.debug('DTX recovery attempt failed', { id: entry.id, error: String(error) })
        }
        if (done) this.stats.resolvedOnRecovery++
        else left.push(entry)
      }
      pending = left
    }
    if (pending.length > 0) this.logger.warn('DTXs still in doubt after recovery', { ids: pending.map((p) => p.id).join(',') })
    return { found: found.length, resolved: found.length - pending.length, pending: pending.length }
  }

  // ------------------------------------------------------------------ reads

  private readEpoch(epoch: bigint): bigint {
    return epoch === 0n ? this.hlc.now() : epoch
  }

  private async fetchLocal(tag: number, cont: string, oid: ObjectId, epoch: bigint, dkey: Uint8Array, fetches: readonly AkeyFetch[]): Promise<{ recordSizes: bigint[]; data: Uint8Array[] }> {
    const vos = this.vos(tag)
    if (!vos.listContainers().includes(cont)) return { recordSizes: fetches.map(() => 0n), data: fetches.map(() => new Uint8Array(0)) }
    const results = await this.resolving(tag, () => vos.fetch(cont, vosOid(oid), epoch, dkey, fetches))
    return fetchResultsToWire(results)
  }

  private async onFetch(input: ObjFetchInput, context: Context, shardLocal: boolean): Promise<ObjFetchOutput> {
    const tag = context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    if (!shardLocal && layout.oclass.redundancy.kind === 'erasure') return this.ecFetch(input, context, layout, group)
    const epoch = this.readEpoch(input.epoch)
    const out = await this.fetchLocal(tag, input.containerUuid, input.oid, epoch, input.dkey, fetchesFromWire(input.iods))
    return { ...this.ok(epoch), ...out }
  }

  private async onEnumerate(input: ObjEnumerateInput, context: Context, shardLocal: boolean): Promise<ObjEnumerateOutput> {
    const tag = context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    if (shardLocal || layout.oclass.redundancy.kind !== 'erasure') return this.enumerateLocal(input, tag, layout, group)
    const fixed = { ...input, epoch: this.readEpoch(input.epoch) }
    if (input.what === 'recxs') return this.ecEnumerateExtents(fixed, context, layout, group)
    return this.onParity(
      layout,
      group,
      tag,
      () => this.enumerateLocal(fixed, tag, layout, group),
      (s) => this.shardEnumerate(context, fixed, s, fixed.anchor),
    )
  }

  private shardEnumerate(context: Context, input: ObjEnumerateInput, s: ShardPlacement, anchor: Uint8Array): Promise<ObjEnumerateOutput> {
    if (s.rank === this.rank && s.targetIndex === context.tag) {
      const { layout, group } = this.here(input.oid, s.shard, context.tag)
      return this.enumerateLocal({ ...input, shard: s.shard, anchor }, context.tag, layout, group)
    }
    return context.call(ecShardEnumerateRpc, { rank: s.rank as number, tag: s.targetIndex as number }, { ...input, shard: s.shard, mapVersion: this.map.version, anchor }, { timeoutMs: this.replicaTimeoutMs })
  }

  /** All shard-local extents of shard `s` (every page), or undefined when it cannot be read. */
  private async shardExtents(context: Context, input: ObjEnumerateInput, s: ShardPlacement | undefined): Promise<{ index: number; count: number; epoch: bigint }[] | undefined> {
    if (s === undefined || !this.readable(s)) return undefined
    const out: { index: number; count: number; epoch: bigint }[] = []
    let anchor: Uint8Array = new Uint8Array(0)
    try {
      for (let page = 0; page < 1024; page++) {
        const reply = await this.shardEnumerate(context, { ...input, what: 'recxs', maxItems: 4096 }, s, anchor)
        if (reply.rc !== success) throw this.peerFailure(reply)
        for (const r of reply.recxs) out.push({ index: Number(r.recx.index), count: Number(r.recx.count), epoch: r.epoch })
        if (reply.done) return out
        anchor = reply.anchor
      }
    } catch (error) {
      if (isDerError(error, 'DER_INPROGRESS') || isDerError(error, 'DER_INVAL') || isDerError(error, 'DER_STALE')) throw error
      return undefined
    }
    return out
  }

  /**
   * EC extent enumeration: the data shards' extents mapped to object space. A data shard that
   * cannot be read is stood in for by a parity shard: each stripe the parity covers counts as a
   * whole cell of the lost shard (an over-approximation until rebuild).
   */
  private async ecEnumerateExtents(input: ObjEnumerateInput, context: Context, layout: ObjectLayout, group: number): Promise<ObjEnumerateOutput> {
    const geometry = this.ecGeometry(layout)
    const { dataCells: k, cellRecords: c } = geometry
    const shards = layout.groups[group]?.shards ?? []
    const perData = await Promise.all(Array.from({ length: k }, (_, d) => this.shardExtents(context, input, shards[d])))
    let parity: { index: number; count: number; epoch: bigint }[] | undefined
    const items: { index: number; count: number; epoch: bigint }[] = []
    for (let d = 0; d < k; d++) {
      const list = perData[d]
      if (list !== undefined) {
        for (const e of list) for (const r of ecShardRangeToObject(geometry, d, e)) items.push({ ...r, epoch: e.epoch })
        continue
      }
      if (parity === undefined) {
        for (const s of this.ecKeyShards(layout, group, context.tag)) {
          parity = await this.shardExtents(context, input, s)
          if (parity !== undefined) break
        }
        if (parity === undefined) throw new DerError('DER_DATA_LOSS', `EC group ${group}: data shard ${d} and every parity shard unreadable`)
      }
      const stripes = new Set<number>()
      for (const e of parity) for (let s = Math.floor(e.index / c); s <= Math.floor((e.index + e.count - 1) / c); s++) stripes.add(s)
      for (const s of stripes) items.push({ index: s * stripeRecords(geometry) + d * c, count: c, epoch: parity.find((e) => e.index <= s * c && e.index + e.count > s * c)?.epoch ?? 0n })
    }
    items.sort((a, b) => a.index - b.index)
    const anchor = decodeAnchor(input.anchor)
    const from = anchor?.kind === 'index' ? anchor.from : 0
    const limit = Math.max(1, Math.min(input.maxItems === 0 ? 1024 : input.maxItems, 4096))
    const rest = items.filter((e) => e.index >= from)
    const page = rest.slice(0, limit)
    const more = rest[limit]
    return {
      ...this.ok(input.epoch),
      keys: [],
      recxs: page.map((e) => ({ recx: { index: BigInt(e.index), count: BigInt(e.count) }, epoch: e.epoch, recordSizeBytes: 0n })),
      anchor: more === undefined ? new Uint8Array(0) : encodeAnchor({ kind: 'index', from: more.index }),
      done: more === undefined,
    }
  }

  private async enumerateLocal(input: ObjEnumerateInput, tag: number, layout: ObjectLayout, group: number): Promise<ObjEnumerateOutput> {
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

  private async onQueryKey(input: ObjQueryKeyInput, context: Context, shardLocal: boolean): Promise<ObjQueryKeyOutput> {
    const tag = context.tag
    const { layout, group } = this.here(input.oid, input.shard, tag)
    if (shardLocal || layout.oclass.redundancy.kind !== 'erasure') return this.queryLocal(input, tag)
    const fixed = { ...input, epoch: this.readEpoch(input.epoch) }
    const call = (s: ShardPlacement): Promise<ObjQueryKeyOutput> =>
      s.rank === this.rank && s.targetIndex === tag
        ? this.queryLocal({ ...fixed, shard: s.shard }, tag)
        : context.call(ecShardQueryKeyRpc, { rank: s.rank as number, tag: s.targetIndex as number }, { ...fixed, shard: s.shard, mapVersion: this.map.version }, { timeoutMs: this.replicaTimeoutMs })
    if (input.dkeyQuery !== 'none' || input.akeyQuery !== 'none') return this.onParity(layout, group, tag, () => this.queryLocal(fixed, tag), call)
    return this.ecQueryExtent(fixed, layout, group, tag, call)
  }

  /**
   * EC extent query: each data shard's highest (lowest) extent mapped to object space. A data
   * shard that cannot be read counts, from a parity shard's extent, as a whole cell of the last
   * (first) stripe the parity covers (an over-approximation until rebuild).
   */
  private async ecQueryExtent(input: ObjQueryKeyInput, layout: ObjectLayout, group: number, tag: number, call: (s: ShardPlacement) => Promise<ObjQueryKeyOutput>): Promise<ObjQueryKeyOutput> {
    const geometry = this.ecGeometry(layout)
    const { dataCells: k, cellRecords: c } = geometry
    const max = input.recxQuery === 'max'
    if (input.recxQuery === 'none' || input.dkey === undefined || input.akey === undefined) throw new DerError('DER_INVAL', 'a recx query needs a dkey and an akey')
    const shards = layout.groups[group]?.shards ?? []
    const ask = async (s: ShardPlacement | undefined): Promise<RecordRange | undefined | 'failed'> => {
      if (s === undefined || !this.readable(s)) return 'failed'
      try {
        const reply = await call(s)
        if (reply.rc !== success) throw this.peerFailure(reply)
        return reply.recx === undefined ? undefined : { index: Number(reply.recx.index), count: Number(reply.recx.count) }
      } catch (error) {
        if (isDerError(error, 'DER_INPROGRESS') || isDerError(error, 'DER_INVAL') || isDerError(error, 'DER_STALE')) throw error
        return 'failed'
      }
    }
    const answers = await Promise.all(Array.from({ length: k }, (_, d) => ask(shards[d])))
    let parity: RecordRange | undefined | 'failed' = 'failed'
    if (answers.includes('failed')) {
      for (const s of this.ecKeyShards(layout, group, tag)) {
        parity = await ask(s)
        if (parity !== 'failed') break
      }
      if (parity === 'failed') throw new DerError('DER_DATA_LOSS', `EC group ${group}: a data shard and every parity shard unreadable`)
    }
    let best: RecordRange | undefined
    const consider = (r: RecordRange): void => {
      if (best === undefined || (max ? r.index + r.count > best.index + best.count : r.index < best.index)) best = r
    }
    answers.forEach((a, d) => {
      if (a === undefined) return
      if (a === 'failed') {
        if (parity === undefined || parity === 'failed') return
        const stripe = max ? Math.floor((parity.index + parity.count - 1) / c) : Math.floor(parity.index / c)
        consider({ index: stripe * stripeRecords(geometry) + d * c, count: c })
        return
      }
      const ranges = ecShardRangeToObject(geometry, d, a)
      const r = max ? ranges[ranges.length - 1] : ranges[0]
      if (r !== undefined) consider(r)
    })
    const found = best
    return { ...this.ok(input.epoch), dkey: input.dkey, akey: input.akey, recx: found === undefined ? undefined : { index: BigInt(found.index), count: BigInt(found.count) } }
  }

  private async queryLocal(input: ObjQueryKeyInput, tag: number): Promise<ObjQueryKeyOutput> {
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
