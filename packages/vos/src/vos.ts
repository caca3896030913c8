/**
 * `Vos`: the versioned object store of one target. It wraps the pure {@link VosIndex} with
 * value storage (inline or in the data blob through the {@link ExtentAllocator}), checksums, and
 * durability (a group-committed WAL plus checkpoints), or runs in memory only.
 *
 * Write path (DAOS's MD-on-SSD order): check the request (typed error, nothing changed), reserve
 * data-blob extents, write the data, apply the mutation to the index, then append it to the
 * current WAL group. A group commit syncs the data blob, writes the group and syncs the WAL; the
 * returned promise resolves only then (acknowledged = durable). Checkpoints write the whole
 * index to the meta blob and restart the WAL when it is half full, and on close.
 *
 * @module
 */
import { Decoder, DerError, Encoder, assert, isDerError } from '@x/common'
import type { VosStorage } from './blob-io.ts'
import { type CheckpointHeader, readCheckpoint, writeCheckpoint } from './checkpoint.ts'
import { decodeIndex, decodeMutation, encodeIndex, encodeMutation } from './codec.ts'
import { type BlockExtent, ExtentAllocator } from './extent-allocator.ts'
import { type VosLimits, checkContainerId, resolveLimits } from './limits.ts'
import type { Mutation, StoredAkeyUpdate } from './mutation.ts'
import { type StoredData, chargedBytes, chunkCsums, copyValue, csumChunkBytes, verifyChunks } from './stored-data.ts'
import type {
  AkeyFetch,
  AkeyFetchResult,
  AkeyHistory,
  AkeyUpdate,
  ContainerOptions,
  DkeyHistory,
  DtxState,
  EnumAnchor,
  EnumPage,
  Epoch,
  ExtentVersion,
  HistoryApplyResult,
  HistoryRecords,
  ObjectHistory,
  ObjectHistoryOptions,
  ObjectId,
  QueryKeyResult,
  Recx,
  SingleVersion,
  SpaceInfo,
  VisibleExtent,
  WriteOptions,
} from './types.ts'
import { vosDtxMetaMaxBytes } from './types.ts'
import { type FetchPlan, type VersionPlace, VosIndex } from './vos-index.ts'
import { encodeWalGroup, scanWal, walBlocksFor, walBlockBytes, walChunkBytes, walMaxGroupBlocks } from './wal.ts'

/** Options of {@link Vos.create} and {@link Vos.open}. */
export interface VosOptions {
  /** The WAL, meta and data blobs; omit for a VOS that lives in memory only. */
  readonly storage?: VosStorage
  /** Input limits (defaults: {@link defaultVosLimits}). */
  readonly limits?: Partial<VosLimits>
  /** The most value bytes the pool holds (default: the data blob's size, or 1 GiB in memory). */
  readonly capacityBytes?: number
  /** Values up to this size stay inline in the metadata (default 4096, DAOS's `data_thresh`). */
  readonly inlineThresholdBytes?: number
  /** WAL fill ratio that triggers a checkpoint (default 0.5, DAOS's `checkpoint_thresh`). */
  readonly checkpointThresholdRatio?: number
  /** Largest WAL group payload in bytes (default 4 MiB). */
  readonly maxGroupBytes?: number
}

interface Pending {
  readonly mutation: Mutation
  readonly sizeHint: number
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

const dataUnitBytes = 4096

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit
}

/** The versioned object store of one target. */
export class Vos {
  private readonly storage: VosStorage | undefined
  private allocator: ExtentAllocator | undefined
  private readonly capacityBytes: number
  private readonly inlineThresholdBytes: number
  private readonly checkpointThresholdRatio: number
  private readonly maxGroupBytes: number
  private pending: Pending[] = []
  private pendingBytes = 0
  private flushing: Promise<void> | undefined
  private checkpointWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = []
  private walTail = 0
  private walSeq = 1
  private checkpointHeader: CheckpointHeader | undefined
  private generation = 1
  private activeReads = 0
  private durableGeneration = 0
  private reservedBytesInFlight = 0
  private dataDirty = false
  private failure: DerError | undefined
  private closed = false

  private constructor(
    readonly index: VosIndex,
    options: VosOptions,
  ) {
    this.storage = options.storage
    const threshold = options.inlineThresholdBytes ?? 4096
    if (!Number.isSafeInteger(threshold) || threshold < 0) throw new DerError('DER_INVAL', 'inlineThresholdBytes must be an integer >= 0')
    this.inlineThresholdBytes = threshold
    const ratio = options.checkpointThresholdRatio ?? 0.5
    if (!(ratio > 0 && ratio <= 1)) throw new DerError('DER_INVAL', 'checkpointThresholdRatio must be in (0, 1]')
    this.checkpointThresholdRatio = ratio
    const group = options.maxGroupBytes ?? 4 * 1024 * 1024
    if (!Number.isSafeInteger(group) || group < walChunkBytes || walBlocksFor(group) > walMaxGroupBlocks) throw new DerError('DER_INVAL', 'maxGroupBytes must be from 4072 bytes to 255 MiB')
    this.maxGroupBytes = group
    const capacity = options.capacityBytes ?? (this.storage?.data.sizeBytes ?? 1024 * 1024 * 1024)
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new DerError('DER_INVAL', 'capacityBytes must be an integer >= 0')
    this.capacityBytes = capacity
  }

  /**
   * Formats a new, empty VOS on `options.storage` (zeroing the WAL and writing a first
   * checkpoint), or makes one in memory when no storage is given.
   */
  static async create(options: VosOptions = {}): Promise<Vos> {
    const vos = new Vos(new VosIndex(resolveLimits(options.limits)), options)
    const storage = options.storage
    if (storage === undefined) return vos
    checkStorage(storage)
    const zero = new Uint8Array(Math.min(storage.wal.sizeBytes, 1024 * 1024))
    for (let at = 0; at < storage.wal.sizeBytes; at += zero.length) await storage.wal.write(at, zero.subarray(0, Math.min(zero.length, storage.wal.sizeBytes - at)))
    await storage.wal.sync()
    await storage.meta.write(0, new Uint8Array(2 * 4096))
    await storage.meta.sync()
    vos.checkpointHeader = await writeCheckpoint(storage.meta, undefined, 1, vos.encodeImage())
    vos.allocator = new ExtentAllocator(Math.floor(storage.data.sizeBytes / dataUnitBytes), dataUnitBytes)
    return vos
  }

  /**
   * Opens the VOS on `options.storage`: loads the newest checkpoint and replays the WAL after it.
   * `DER_NONEXIST` when the storage holds no VOS, `DER_DATA_LOSS` when acknowledged metadata is
   * damaged (recovery refuses rather than return a state that lost updates).
   */
  static async open(options: VosOptions): Promise<Vos> {
    const storage = options.storage
    if (storage === undefined) throw new DerError('DER_INVAL', 'open needs storage; use create for a memory VOS')
    checkStorage(storage)
    const checkpoint = await readCheckpoint(storage.meta)
    if (checkpoint === undefined) throw new DerError('DER_NONEXIST', 'the storage holds no VOS (no checkpoint in the meta blob)')
    const limits = resolveLimits(options.limits)
    let index: VosIndex
    try {
      index = decodeIndex(new Decoder(checkpoint.image), new VosIndex(limits))
    } catch (error) {
      throw new DerError('DER_DATA_LOSS', `checkpoint ${checkpoint.header.generation} does not decode: ${String(error)}`, { cause: error })
    }
    const scan = await scanWal(storage.wal, checkpoint.header.nextWalSeq)
    for (const group of scan.groups) {
      try {
        const d = new Decoder(group.payload)
        const count = d.varuint()
        for (let i = 0; i < count; i++) index.apply(decodeMutation(d))
        d.expectEnd()
      } catch (error) {
        throw new DerError('DER_DATA_LOSS', `WAL group ${group.seq} does not replay: ${String(error)}`, { cause: error })
      }
    }
    const vos = new Vos(index, options)
    vos.checkpointHeader = checkpoint.header
    vos.walTail = scan.tailOffsetBytes
    vos.walSeq = scan.nextSeq
    const used: BlockExtent[] = []
    index.forEachStored((data) => {
      if (data.ref.kind === 'blob') used.push({ startBlock: data.ref.offsetBytes / dataUnitBytes, blockCount: data.ref.allocatedBytes / dataUnitBytes })
    })
    vos.allocator = ExtentAllocator.rebuild(Math.floor(storage.data.sizeBytes / dataUnitBytes), used, dataUnitBytes)
    return vos
  }

  /** The limits in force. */
  get limits(): VosLimits {
    return this.index.limits
  }

  /** Whether this VOS persists to storage. */
  get persistent(): boolean {
    return this.storage !== undefined
  }

  /** The data-blob allocator (undefined in memory). */
  get extentAllocator(): ExtentAllocator | undefined {
    return this.allocator
  }

  private checkOpen(): void {
    if (this.closed) throw new DerError('DER_NO_HDL', 'the VOS is closed')
    if (this.failure !== undefined) throw this.failure
  }

  // ------------------------------------------------------------------ containers

  /** Creates a container (`DER_EXIST` if it exists) with its properties. */
  async createContainer(cont: string, options: ContainerOptions = {}): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkContainerCreate(cont, options.csum ?? 'crc32c'))
  }

  /** Destroys a container and frees everything in it (`DER_NONEXIST` if missing). */
  async destroyContainer(cont: string): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkContainerDestroy(cont))
  }

  /** Ids of the containers. */
  listContainers(): string[] {
    this.checkOpen()
    return [...this.index.containers.keys()].sort()
  }

  // ------------------------------------------------------------------ update / punch

  /**
   * Writes values under one dkey at `epoch`, atomically across its akeys. Resolves when durable.
   * With `options.dtxId` the write is prepared: invisible (readers get `DER_INPROGRESS`) until
   * {@link Vos.commitDtx}, gone after {@link Vos.abortDtx}.
   */
  async update(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, akeys: readonly AkeyUpdate[], options: WriteOptions = {}): Promise<void> {
    this.checkOpen()
    const dtx = options.dtxId
    const dtxMeta = checkDtxMeta(options)
    const checked = this.index.checkUpdate(cont, oid, epoch, dkey, akeys, dtx)
    const csums = this.index.container(cont).csum === 'crc32c' ? chunkCsums : noCsums
    // Space: what the values take, checked before anything is reserved.
    let needed = 0
    const large: Uint8Array[] = []
    for (const a of checked) {
      const values = a.type === 'single' ? [a.value] : a.extents.flatMap((e) => (e.data === undefined ? [] : [e.data]))
      for (const v of values) {
        if (this.storage !== undefined && v.length > this.inlineThresholdBytes) {
          needed += roundUp(v.length, dataUnitBytes)
          large.push(v)
        } else needed += v.length
      }
    }
    if (this.index.usedBytes + this.reservedBytesInFlight + needed > this.capacityBytes) {
      throw new DerError('DER_NOSPACE', `the update needs ${needed} bytes; ${this.capacityBytes - this.index.usedBytes - this.reservedBytesInFlight} of ${this.capacityBytes} are free`, {
        details: { neededBytes: needed, usedBytes: this.index.usedBytes, capacityBytes: this.capacityBytes },
      })
    }
    const placed = new Map<Uint8Array, StoredData[]>()
    const reservations: BlockExtent[] = []
    const placedList: StoredData[] = []
    this.reservedBytesInFlight += needed
    try {
      if (large.length > 0) {
        const allocator = this.allocator
        const storage = this.storage
        assert(allocator !== undefined && storage !== undefined, 'large values need a data blob')
        for (const v of large) reservations.push(allocator.reserve(allocator.blocksFor(v.length)))
        // allSettled: a failed write must not let the reservations go while others still write.
        const writes = await Promise.allSettled(
          large.map(async (v, i) => {
            const extent = reservations[i] as BlockExtent
            const padded = v.length % dataUnitBytes === 0 ? v : copyPadded(v, roundUp(v.length, dataUnitBytes))
            await storage.data.write(extent.startBlock * dataUnitBytes, padded)
            placedList[i] = { ref: { kind: 'blob', offsetBytes: extent.startBlock * dataUnitBytes, allocatedBytes: extent.blockCount * dataUnitBytes }, lengthBytes: v.length, csums: csums(v) }
          }),
        )
        for (const w of writes) if (w.status === 'rejected') throw w.reason
        large.forEach((v, i) => {
          const list = placed.get(v) ?? []
          list.push(placedList[i] as StoredData)
          placed.set(v, list)
        })
        this.dataDirty = true
        // The world may have moved while the data was written: check again.
        this.checkOpen()
        this.index.checkUpdate(cont, oid, epoch, dkey, akeys, dtx)
      }
    } catch (error) {
      for (const r of reservations) this.allocator?.cancel(r)
      throw error
    } finally {
      this.reservedBytesInFlight -= needed
    }
    const stored = (v: Uint8Array): StoredData => placed.get(v)?.shift() ?? { ref: { kind: 'inline', bytes: copyValue(v) }, lengthBytes: v.length, csums: csums(v) }
    const akeysStored: StoredAkeyUpdate[] = checked.map((a) =>
      a.type === 'single'
        ? { type: 'single', akey: copyValue(a.akey), data: stored(a.value) }
        : { type: 'array', akey: copyValue(a.akey), recordSizeBytes: a.recordSizeBytes, extents: a.extents.map((e) => ({ lo: e.index, hi: e.index + e.count, data: e.data === undefined ? undefined : stored(e.data) })) },
    )
    for (const r of reservations) this.allocator?.publish(r)
    await this.commit({ type: 'update', cont, oid, epoch, seq: this.index.seq + 1, dkey: copyValue(dkey), akeys: akeysStored, dtx, dtxMeta })
  }

  /** Punches an object at `epoch`: reads at or above it see nothing of the object's older writes. */
  async punchObject(cont: string, oid: ObjectId, epoch: Epoch, options: WriteOptions = {}): Promise<void> {
    this.checkOpen()
    const dtxMeta = checkDtxMeta(options)
    await this.commit(withDtxMeta(this.index.checkPunch(cont, oid, epoch, undefined, undefined, options.dtxId), dtxMeta))
  }

  /** Punches a dkey at `epoch`. */
  async punchDkey(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, options: WriteOptions = {}): Promise<void> {
    this.checkOpen()
    const dtxMeta = checkDtxMeta(options)
    await this.commit(withDtxMeta(this.index.checkPunch(cont, oid, epoch, dkey, undefined, options.dtxId), dtxMeta))
  }

  /** Punches akeys of a dkey at `epoch`. */
  async punchAkeys(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, akeys: readonly Uint8Array[], options: WriteOptions = {}): Promise<void> {
    this.checkOpen()
    const dtxMeta = checkDtxMeta(options)
    await this.commit(withDtxMeta(this.index.checkPunch(cont, oid, epoch, dkey, akeys, options.dtxId), dtxMeta))
  }

  // ------------------------------------------------------------------ fetch

  /**
   * Reads values under one dkey as of `epoch`. Every byte returned has been verified against
   * its stored checksum (`DER_CSUM` otherwise); prepared data gives `DER_INPROGRESS`.
   */
  async fetch(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, akeys: readonly AkeyFetch[]): Promise<AkeyFetchResult[]> {
    this.checkOpen()
    const plans = this.index.fetchPlan(cont, oid, epoch, dkey, akeys)
    this.activeReads++
    try {
      const results = plans.map((plan) => this.materialize(plan))
      // Inline values are answered without waiting for anything.
      return results.every((r) => !(r instanceof Promise)) ? (results as AkeyFetchResult[]) : await Promise.all(results.map((r) => Promise.resolve(r)))
    } finally {
      this.activeReads--
      this.releaseAging()
    }
  }

  private materialize(plan: FetchPlan): AkeyFetchResult | Promise<AkeyFetchResult> {
    if (plan.type === 'single') {
      const record = plan.record
      if (record === undefined) return { type: 'single', akey: plan.akey, value: undefined, epoch: undefined }
      const value = this.readStored(record.data, 0, record.data.lengthBytes)
      if (value instanceof Promise) return value.then((v) => ({ type: 'single', akey: plan.akey, value: v, epoch: record.epoch }))
      return { type: 'single', akey: plan.akey, value, epoch: record.epoch }
    }
    const rs = plan.recordSizeBytes
    let total = 0
    for (const p of plan.pieces) total += p.hi - p.lo
    // Unzeroed: every byte is either copied from a value or zeroed as a hole below.
    const data: Uint8Array = Buffer.allocUnsafe(rs === 0 ? 0 : total * rs)
    const holes: Recx[] = []
    const waits: Promise<void>[] = []
    let at = 0
    for (const piece of plan.pieces) {
      const offset = at
      at += (piece.hi - piece.lo) * rs
      const source = piece.source
      if (source?.data === undefined) {
        data.fill(0, offset, offset + (piece.hi - piece.lo) * rs)
        const last = holes[holes.length - 1]
        if (last !== undefined && last.index + last.count === piece.lo) holes[holes.length - 1] = { index: last.index, count: last.count + piece.hi - piece.lo }
        else holes.push({ index: piece.lo, count: piece.hi - piece.lo })
        continue
      }
      const bytes = this.readStored(source.data, (piece.lo - source.lo) * rs, (piece.hi - piece.lo) * rs, data.subarray(offset, offset + (piece.hi - piece.lo) * rs))
      if (bytes instanceof Promise) waits.push(bytes.then(() => undefined))
    }
    const result: AkeyFetchResult = { type: 'array', akey: plan.akey, recordSizeBytes: rs, data, holes }
    return waits.length === 0 ? result : Promise.all(waits).then(() => result)
  }

  /**
   * Reads bytes `[offset, offset + length)` of a stored value, verifying every chunk they touch;
   * into `target` when given. Synchronous for inline values.
   */
  private readStored(stored: StoredData, offsetBytes: number, lengthBytes: number, target?: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const firstChunk = Math.floor(offsetBytes / csumChunkBytes)
    const chunkStart = firstChunk * csumChunkBytes
    const chunkEnd = Math.min(stored.lengthBytes, roundUp(offsetBytes + lengthBytes, csumChunkBytes))
    const finish = (bytes: Uint8Array): Uint8Array => {
      verifyChunks(stored, firstChunk, bytes, stored.ref.kind === 'blob' ? `data blob offset ${stored.ref.offsetBytes}` : 'an inline value')
      const wanted = bytes.subarray(offsetBytes - chunkStart, offsetBytes - chunkStart + lengthBytes)
      if (target === undefined) return copyValue(wanted)
      target.set(wanted)
      return target
    }
    if (stored.ref.kind === 'inline') return finish(stored.ref.bytes.subarray(chunkStart, chunkEnd))
    const storage = this.storage
    assert(storage !== undefined, 'blob data without storage')
    return storage.data.read(stored.ref.offsetBytes + chunkStart, roundUp(chunkEnd - chunkStart, dataUnitBytes)).then((raw) => finish(raw.subarray(0, chunkEnd - chunkStart)))
  }

  /**
   * Reads every stored value and verifies its checksums (a scrub); returns how many values
   * failed. Prepared values are included.
   */
  async scrub(): Promise<{ values: number; corrupt: number }> {
    this.checkOpen()
    const all: StoredData[] = []
    this.index.forEachStored((d) => all.push(d))
    let corrupt = 0
    this.activeReads++
    try {
      for (const d of all) {
        try {
          await this.readStored(d, 0, d.lengthBytes)
        } catch (error) {
          if (!isDerError(error, 'DER_CSUM')) throw error
          corrupt++
        }
      }
    } finally {
      this.activeReads--
      this.releaseAging()
    }
    return { values: all.length, corrupt }
  }

  // ------------------------------------------------------------------ enumeration and queries

  /** Objects of a container live at `epoch`, up to `limit` per page. */
  listObjects(cont: string, epoch: Epoch, anchor?: EnumAnchor, limit = 1024): EnumPage<ObjectId> {
    this.checkOpen()
    return this.index.listObjects(cont, epoch, anchor, limit)
  }

  /** Dkeys of an object live at `epoch`, in key order. */
  listDkeys(cont: string, oid: ObjectId, epoch: Epoch, anchor?: EnumAnchor, limit = 1024): EnumPage<Uint8Array> {
    this.checkOpen()
    return this.index.listDkeys(cont, oid, epoch, anchor, limit)
  }

  /** Akeys of a dkey live at `epoch`, in key order. */
  listAkeys(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, anchor?: EnumAnchor, limit = 1024): EnumPage<Uint8Array> {
    this.checkOpen()
    return this.index.listAkeys(cont, oid, epoch, dkey, anchor, limit)
  }

  /** Visible extents of an array akey at `epoch` with their epochs. */
  listExtents(cont: string, oid: ObjectId, epoch: Epoch, dkey: Uint8Array, akey: Uint8Array, anchor?: EnumAnchor, limit = 1024): EnumPage<VisibleExtent> {
    this.checkOpen()
    return this.index.listExtents(cont, oid, epoch, dkey, akey, anchor, limit)
  }

  /**
   * Every object of a container that holds any version or punch, visible or not (prepared
   * ones included), in id order: what a rebuild scan walks.
   */
  listStoredObjects(cont: string, anchor?: EnumAnchor, limit = 1024): EnumPage<ObjectId> {
    this.checkOpen()
    return this.index.listStoredObjects(cont, anchor, limit)
  }

  /**
   * A page of an object's stored history: the object's punches (first page only) and, per dkey,
   * every committed single-value version, array extent (holes included) and punch with its epoch
   * and sequence number, values verified against their checksums. Prepared versions are left
   * out and their DTXs listed in `preparedDtx`. Pages follow the dkey order; pass `anchor` back
   * as `after` for the next one. Replaying the versions in (epoch, seq) order on another VOS
   * gives it the same reads at every epoch.
   */
  async objectHistory(cont: string, oid: ObjectId, options: ObjectHistoryOptions = {}): Promise<ObjectHistory> {
    this.checkOpen()
    const plan = this.index.historyPlan(cont, oid, options.after, options.maxDkeys ?? 64, options.dkeyFilter)
    this.activeReads++
    try {
      const dkeys: DkeyHistory[] = []
      for (const dk of plan.dkeys) {
        const akeys: AkeyHistory[] = []
        for (const ak of dk.akeys) {
          const rs = ak.recordSizeBytes
          const singles: SingleVersion[] = []
          for (const r of ak.singles) singles.push({ epoch: r.epoch, seq: r.seq, value: await this.readStored(r.data, 0, r.data.lengthBytes) })
          const extents: ExtentVersion[] = []
          for (const r of ak.extents) {
            const data = r.data === undefined ? undefined : await this.readStored(r.data, 0, (r.hi - r.lo) * rs)
            extents.push({ epoch: r.epoch, seq: r.seq, index: r.lo, count: r.hi - r.lo, data })
          }
          akeys.push({ akey: ak.akey, type: ak.type, recordSizeBytes: rs, punches: ak.punches, singles, extents })
        }
        dkeys.push({ dkey: dk.dkey, punches: dk.punches, akeys })
      }
      return { punches: plan.punches, dkeys, anchor: plan.anchor, preparedDtx: plan.preparedDtx }
    } finally {
      this.activeReads--
      this.releaseAging()
    }
  }

  /**
   * Replays history (from {@link Vos.objectHistory} of another VOS) into an object of this one,
   * idempotently: the versions and punches are written in (epoch, seq) order at their own
   * epochs, one write per source write, and a version or punch already held at the same place
   * and epoch is skipped, so a retried or repeated replay adds nothing. Versions at or below the
   * container's aggregated epoch are skipped too. A version is identified by its place (object,
   * dkey, akey, extent range) and epoch, so the source must not hold two writes to one place at
   * one epoch (engines give every write its own HLC epoch). Creates the container if missing. A conflict
   * with prepared data gives `DER_INPROGRESS` after the writes before it; replay again later.
   */
  async applyHistory(cont: string, oid: ObjectId, history: HistoryRecords): Promise<HistoryApplyResult> {
    this.checkOpen()
    checkContainerId(cont)
    if (!this.index.containers.has(cont)) {
      try {
        await this.createContainer(cont)
      } catch (error) {
        if (!isDerError(error, 'DER_EXIST')) throw error
      }
    }
    const ops = historyOps(history)
    let applied = 0
    let skipped = 0
    for (const op of ops) {
      const node = this.index.container(cont)
      if (op.epoch <= node.aggregatedEpoch) {
        skipped += op.count
        continue
      }
      const holds = (at: VersionPlace): boolean => this.index.holdsVersion(cont, oid, op.epoch, at)
      if (op.kind === 'objectPunch') {
        if (holds({ level: 'object' })) skipped++
        else {
          await this.punchObject(cont, oid, op.epoch)
          applied++
        }
      } else if (op.kind === 'dkeyPunch') {
        if (holds({ level: 'dkey', dkey: op.dkey })) skipped++
        else {
          await this.punchDkey(cont, oid, op.epoch, op.dkey)
          applied++
        }
      } else if (op.kind === 'akeyPunch') {
        const missing = op.akeys.filter((akey) => !holds({ level: 'akey', dkey: op.dkey, akey }))
        skipped += op.akeys.length - missing.length
        if (missing.length > 0) {
          await this.punchAkeys(cont, oid, op.epoch, op.dkey, missing)
          applied += missing.length
        }
      } else {
        const missing: AkeyUpdate[] = []
        for (const a of op.akeys) {
          if (a.type === 'single') {
            if (holds({ level: 'single', dkey: op.dkey, akey: a.akey })) skipped++
            else missing.push(a)
            continue
          }
          const extents = a.extents.filter((e) => !holds({ level: 'extent', dkey: op.dkey, akey: a.akey, lo: e.index, hi: e.index + e.count }))
          skipped += a.extents.length - extents.length
          if (extents.length > 0) missing.push({ ...a, extents })
        }
        if (missing.length > 0) {
          await this.update(cont, oid, op.epoch, op.dkey, missing)
          for (const a of missing) applied += a.type === 'single' ? 1 : a.extents.length
        }
      }
    }
    return { applied, skipped }
  }

  /** The max/min live dkey, akey of a dkey, or visible extent of an array akey (see {@link VosIndex.queryKey}). */
  queryKey(cont: string, oid: ObjectId, epoch: Epoch, which: 'max' | 'min', dkey?: Uint8Array, akey?: Uint8Array): QueryKeyResult {
    this.checkOpen()
    return this.index.queryKey(cont, oid, epoch, which, dkey, akey)
  }

  // ------------------------------------------------------------------ snapshots, aggregation, discard

  /** Records a snapshot epoch that aggregation must preserve. */
  async createSnapshot(cont: string, epoch: Epoch): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkSnapshotCreate(cont, epoch))
  }

  /** Removes a snapshot epoch. */
  async destroySnapshot(cont: string, epoch: Epoch): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkSnapshotDestroy(cont, epoch))
  }

  /** Snapshot epochs of a container, ascending. */
  listSnapshots(cont: string): Epoch[] {
    this.checkOpen()
    return [...this.index.container(cont).snapshots]
  }

  /**
   * Aggregates a container up to `epoch`: drops every version no read at a snapshot below it or
   * at or above it can see, and frees its space. Later writes at or below `epoch` get
   * `DER_TX_RESTART`. `DER_INPROGRESS` while a prepared DTX lies at or below `epoch`.
   */
  async aggregate(cont: string, epoch: Epoch): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkAggregate(cont, epoch))
  }

  /** Removes every write and punch with an epoch in `[lo, hi]` (above the aggregated epoch). */
  async discard(cont: string, lo: Epoch, hi: Epoch): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkDiscard(cont, lo, hi))
  }

  // ------------------------------------------------------------------ DTX

  /** Commits a prepared DTX: its writes become visible. */
  async commitDtx(id: string): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkDtxFinish(id, true))
  }

  /** Aborts a prepared DTX: its writes disappear and their space is freed. */
  async abortDtx(id: string): Promise<void> {
    this.checkOpen()
    await this.commit(this.index.checkDtxFinish(id, false))
  }

  /** State of a DTX: prepared, committed, aborted, or undefined if unknown (or forgotten). */
  dtxState(id: string): DtxState | undefined {
    this.checkOpen()
    return this.index.dtxState(id)
  }

  /** Ids of the prepared DTXs. */
  listPreparedDtx(): string[] {
    this.checkOpen()
    return [...this.index.dtxActive.keys()]
  }

  /**
   * The bytes kept with prepared DTX `id` (`WriteOptions.dtxMeta`, recovered with the WAL and
   * checkpoints), or undefined when the DTX is not prepared or was written without any.
   */
  dtxMeta(id: string): Uint8Array | undefined {
    this.checkOpen()
    const meta = this.index.dtxActive.get(id)?.meta
    return meta === undefined ? undefined : copyValue(meta)
  }

  // ------------------------------------------------------------------ space

  /** Space use of the pool. */
  space(): SpaceInfo {
    this.checkOpen()
    return { usedBytes: this.index.usedBytes, capacityBytes: this.capacityBytes }
  }

  /** Space use of one container. */
  containerSpace(cont: string): SpaceInfo {
    this.checkOpen()
    checkContainerId(cont)
    return { usedBytes: this.index.container(cont).usedBytes, capacityBytes: this.capacityBytes }
  }

  // ------------------------------------------------------------------ durability

  /** Applies a checked mutation and waits until it is durable. */
  private commit(m: Mutation): Promise<void> {
    const freed = this.index.apply(m)
    for (const d of freed) {
      if (d.ref.kind === 'blob') this.allocator?.release({ startBlock: d.ref.offsetBytes / dataUnitBytes, blockCount: d.ref.allocatedBytes / dataUnitBytes }, this.generation)
    }
    if (this.storage === undefined) {
      this.releaseAging()
      return Promise.resolve()
    }
    // Encoded at group time, straight into the group's buffer.
    const sizeHint = encodedSizeHint(m)
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ mutation: m, sizeHint, resolve, reject })
      this.pendingBytes += sizeHint
      this.kick()
    })
  }

  private kick(): void {
    if (this.flushing !== undefined) return
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined
      if (this.pending.length > 0 || this.checkpointWaiters.length > 0) this.kick()
    })
  }

  private async flushLoop(): Promise<void> {
    const storage = this.storage
    assert(storage !== undefined, 'flush without storage')
    let batch: Pending[] = []
    // Let callers that issue several writes in one turn enqueue them all: one group for all.
    await Promise.resolve()
    while (this.pending.length > 0 || this.checkpointWaiters.length > 0) {
      if (this.failure !== undefined) {
        this.failAll(this.failure)
        return
      }
      batch = []
      try {
        if (this.checkpointWaiters.length > 0) {
          await this.checkpointNow()
          continue
        }
        let payloadBytes = 0
        let taken = 0
        while (taken < this.pending.length && (taken === 0 || payloadBytes + (this.pending[taken] as Pending).sizeHint <= this.maxGroupBytes)) {
          payloadBytes += (this.pending[taken] as Pending).sizeHint
          taken++
        }
        batch = this.pending.splice(0, taken)
        this.pendingBytes -= payloadBytes
        const generation = this.generation++
        const encoder = new Encoder(payloadBytes + 16).varuint(batch.length)
        for (const p of batch) encodeMutation(encoder, p.mutation)
        const payload = encoder.finish()
        if (walBlocksFor(payload.length) > walMaxGroupBlocks || this.walTail + walBlocksFor(payload.length) * walBlockBytes > storage.wal.sizeBytes) {
          // No room in the WAL: a checkpoint covers this batch (it is applied in memory already).
          this.pending.unshift(...batch)
          this.pendingBytes += payloadBytes
          batch = []
          await this.checkpointNow()
          continue
        }
        if (this.dataDirty) {
          this.dataDirty = false
          await storage.data.sync()
        }
        const group = encodeWalGroup(this.walSeq, payload)
        await storage.wal.write(this.walTail, group)
        await storage.wal.sync()
        this.walTail += group.length
        this.walSeq++
        this.durableGeneration = generation
        for (const p of batch) p.resolve()
        batch = []
        this.releaseAging()
        if (this.walTail > storage.wal.sizeBytes * this.checkpointThresholdRatio) await this.checkpointNow()
      } catch (error) {
        this.failure = isDerError(error) ? error : new DerError('DER_IO', `VOS storage failed: ${String(error)}`, { cause: error })
        for (const p of batch) p.reject(this.failure)
        this.failAll(this.failure)
        return
      }
    }
  }

  private failAll(error: unknown): void {
    const pending = this.pending
    this.pending = []
    this.pendingBytes = 0
    for (const p of pending) p.reject(error)
    const waiters = this.checkpointWaiters
    this.checkpointWaiters = []
    for (const w of waiters) w.reject(error)
  }

  private encodeImage(): Uint8Array {
    // Inline values dominate an image; reserve for them up front instead of doubling.
    const e = new Encoder(this.index.usedBytes + 1024 * 1024)
    encodeIndex(e, this.index)
    return e.finish()
  }

  /** Writes a checkpoint covering everything applied so far, then restarts the WAL. */
  private async checkpointNow(): Promise<void> {
    const storage = this.storage
    assert(storage !== undefined, 'checkpoint without storage')
    const covered = this.pending
    this.pending = []
    this.pendingBytes = 0
    const waiters = this.checkpointWaiters
    this.checkpointWaiters = []
    const generation = this.generation++
    const image = this.encodeImage()
    try {
      if (this.dataDirty) {
        this.dataDirty = false
        await storage.data.sync()
      }
      this.checkpointHeader = await writeCheckpoint(storage.meta, this.checkpointHeader, this.walSeq, image)
    } catch (error) {
      this.pending.unshift(...covered)
      this.checkpointWaiters.unshift(...waiters)
      throw error
    }
    this.walTail = 0
    this.durableGeneration = generation
    for (const p of covered) p.resolve()
    for (const w of waiters) w.resolve()
    this.releaseAging()
  }

  private releaseAging(): void {
    if (this.activeReads > 0 || this.allocator === undefined) return
    this.allocator.flushAging(this.storage === undefined ? this.generation : this.durableGeneration)
  }

  /** Writes a checkpoint now (also done when the WAL fills and on close). */
  async checkpoint(): Promise<void> {
    this.checkOpen()
    if (this.storage === undefined) return
    await new Promise<void>((resolve, reject) => {
      this.checkpointWaiters.push({ resolve, reject })
      this.kick()
    })
  }

  /** Waits until everything applied so far is durable. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
    if (this.failure !== undefined) throw this.failure
  }

  /** Flushes, writes a final checkpoint and closes; later calls give `DER_NO_HDL`. */
  async close(): Promise<void> {
    if (this.closed) throw new DerError('DER_ALREADY', 'the VOS is already closed')
    if (this.storage !== undefined && this.failure === undefined) {
      await this.flush()
      await this.checkpoint()
    }
    this.closed = true
  }
}

/** Validates `options.dtxMeta`; returns a copy (or undefined). */
function checkDtxMeta(options: WriteOptions): Uint8Array | undefined {
  const meta: unknown = options.dtxMeta
  if (meta === undefined) return undefined
  if (!(meta instanceof Uint8Array) || meta.length > vosDtxMetaMaxBytes) throw new DerError('DER_INVAL', `DTX meta must be at most ${vosDtxMetaMaxBytes} bytes`)
  if (options.dtxId === undefined) throw new DerError('DER_INVAL', 'DTX meta needs a DTX id')
  return copyValue(meta)
}

/** A checked punch with its DTX meta attached. */
function withDtxMeta(m: Mutation, dtxMeta: Uint8Array | undefined): Mutation {
  return dtxMeta === undefined || m.type !== 'punch' ? m : { ...m, dtxMeta }
}

function noCsums(): number[] {
  return []
}

/** A buffer size that fits most encoded mutations without growing (inline values dominate). */
function encodedSizeHint(m: Mutation): number {
  if (m.type !== 'update') return 256 + (m.type === 'punch' ? (m.dtxMeta?.length ?? 0) : 0)
  let bytes = 256 + m.dkey.length + (m.dtxMeta?.length ?? 0)
  for (const a of m.akeys) {
    bytes += 64 + a.akey.length
    if (a.type === 'single') bytes += a.data.ref.kind === 'inline' ? a.data.lengthBytes : 0
    else for (const e of a.extents) bytes += 48 + (e.data?.ref.kind === 'inline' ? e.data.lengthBytes : 0)
  }
  return bytes
}

function copyPadded(v: Uint8Array, lengthBytes: number): Uint8Array {
  const out = new Uint8Array(lengthBytes)
  out.set(v)
  return out
}

function checkStorage(storage: VosStorage): void {
  for (const name of ['wal', 'meta', 'data'] as const) {
    const blob = storage[name] as VosStorage[typeof name] | undefined
    if (blob === undefined || typeof blob.read !== 'function') throw new DerError('DER_INVAL', `storage.${name} must be a BlobIo`)
    if (dataUnitBytes % blob.ioUnitBytes !== 0) throw new DerError('DER_INVAL', `storage.${name} has an I/O unit of ${blob.ioUnitBytes} bytes; 4096 must be a multiple of it`)
    if (blob.sizeBytes % dataUnitBytes !== 0) throw new DerError('DER_INVAL', `storage.${name} size must be a multiple of 4096 bytes`)
  }
  if (storage.wal.sizeBytes < 4 * walBlockBytes) throw new DerError('DER_INVAL', 'the WAL blob needs at least 16 KiB')
}

export { chargedBytes }

type HistoryOp =
  | { readonly kind: 'objectPunch'; readonly epoch: Epoch; readonly seq: number; readonly count: number }
  | { readonly kind: 'dkeyPunch'; readonly epoch: Epoch; readonly seq: number; readonly count: number; readonly dkey: Uint8Array }
  | { readonly kind: 'akeyPunch'; readonly epoch: Epoch; readonly seq: number; readonly count: number; readonly dkey: Uint8Array; readonly akeys: Uint8Array[] }
  | { readonly kind: 'update'; readonly epoch: Epoch; readonly seq: number; readonly count: number; readonly dkey: Uint8Array; readonly akeys: AkeyUpdate[] }

/** The writes that reproduce `history`: one per source write (same dkey, epoch and seq), in (epoch, seq) order. */
function historyOps(history: HistoryRecords): HistoryOp[] {
  const ops: HistoryOp[] = []
  for (const p of history.punches) ops.push({ kind: 'objectPunch', epoch: p.epoch, seq: p.seq, count: 1 })
  for (const dk of history.dkeys) {
    for (const p of dk.punches) ops.push({ kind: 'dkeyPunch', epoch: p.epoch, seq: p.seq, count: 1, dkey: dk.dkey })
    const akeyPunches = new Map<string, { epoch: Epoch; seq: number; akeys: Uint8Array[] }>()
    const updates = new Map<string, { epoch: Epoch; seq: number; akeys: Map<Uint8Array, AkeyUpdate> }>()
    const updateOf = (epoch: Epoch, seq: number): Map<Uint8Array, AkeyUpdate> => {
      const key = `${epoch}:${seq}`
      let u = updates.get(key)
      if (u === undefined) updates.set(key, (u = { epoch, seq, akeys: new Map() }))
      return u.akeys
    }
    for (const ak of dk.akeys) {
      for (const p of ak.punches) {
        const key = `${p.epoch}:${p.seq}`
        const entry = akeyPunches.get(key)
        if (entry === undefined) akeyPunches.set(key, { epoch: p.epoch, seq: p.seq, akeys: [ak.akey] })
        else entry.akeys.push(ak.akey)
      }
      for (const v of ak.singles) updateOf(v.epoch, v.seq).set(ak.akey, { type: 'single', akey: ak.akey, value: v.value })
      for (const e of ak.extents) {
        const akeys = updateOf(e.epoch, e.seq)
        const existing = akeys.get(ak.akey)
        const recx = e.data === undefined ? { index: e.index, count: e.count } : { index: e.index, count: e.count, data: e.data }
        if (existing?.type === 'array') akeys.set(ak.akey, { ...existing, extents: [...existing.extents, recx] })
        else akeys.set(ak.akey, { type: 'array', akey: ak.akey, recordSizeBytes: ak.recordSizeBytes, extents: [recx] })
      }
    }
    for (const p of akeyPunches.values()) ops.push({ kind: 'akeyPunch', epoch: p.epoch, seq: p.seq, count: p.akeys.length, dkey: dk.dkey, akeys: p.akeys })
    for (const u of updates.values()) {
      const akeys = [...u.akeys.values()]
      ops.push({ kind: 'update', epoch: u.epoch, seq: u.seq, count: akeys.reduce((n, a) => n + (a.type === 'single' ? 1 : a.extents.length), 0), dkey: dk.dkey, akeys })
    }
  }
  return ops.sort((a, b) => (a.epoch < b.epoch ? -1 : a.epoch > b.epoch ? 1 : a.seq - b.seq))
}
