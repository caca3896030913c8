/**
 * `VosIndex`: the in-memory metadata of one VOS pool (a pure, synchronous core). Containers ->
 * objects -> dkeys -> akeys -> single-value versions or array extents, each level a
 * {@link BPlusTree}; punches are kept per level like DAOS's incarnation logs.
 *
 * Every change goes through a `check*` method (which throws a typed `DerError` and changes
 * nothing) and then {@link VosIndex.apply} with a {@link Mutation} (which cannot fail). The
 * persistent engine logs the mutation in its WAL between the two, and recovery replays the log
 * through `apply` alone.
 *
 * Visibility at epoch E: a version (epoch, seq) is visible when its epoch is at most E and it is
 * newer than every punch at most E of its object, dkey and akey (at equal epochs the later
 * operation wins). Prepared (DTX) versions that a read meets give `DER_INPROGRESS`.
 *
 * @module
 */
import { DerError, assert } from '@x/common'
import { BPlusTree, compareBytes } from './btree.ts'
import { type ExtentPiece, type ExtentRecord, ExtentTree, type Version, newer } from './extent-tree.ts'
import { type VosLimits, checkContainerId, checkEpoch, checkKey, checkObjectId, checkRecx, checkValueSize } from './limits.ts'
import type { Mutation } from './mutation.ts'
import { type StoredData, chargedBytes } from './stored-data.ts'
import { type AkeyFetch, type AkeyUpdate, type ChecksumType, type DtxState, type EnumAnchor, type EnumPage, type Epoch, type ObjectId, type QueryKeyResult, type RecxUpdate, type VersionStamp, type VisibleExtent, vosEpochMax } from './types.ts'

/** A single-value version. */
export interface SvRecord extends Version {
  readonly data: StoredData
}

/** An akey: its value versions and punches. */
export class AkeyNode {
  /** Decided by the first write: a single value or an array. */
  type: 'single' | 'array' | undefined = undefined
  /** Record size of an array (0 for single values). */
  recordSizeBytes = 0
  /** Single-value versions, oldest first. */
  sv: SvRecord[] = []
  /** Array extents. */
  readonly ext = new ExtentTree()
  /** Punches of the akey, oldest first. */
  punches: Version[] = []
  /** Prepared versions and punches in this subtree. */
  prepared = 0

  /** Whether the akey holds no version and no punch. */
  get empty(): boolean {
    return this.sv.length === 0 && this.ext.size === 0 && this.punches.length === 0
  }
}

/** A dkey: its akeys and punches. */
export class DkeyNode {
  /** Akeys by key (DAOS's akey tree, order 20). */
  readonly akeys = new BPlusTree<AkeyNode>(20)
  /** Punches of the dkey, oldest first. */
  punches: Version[] = []
  /** Prepared versions and punches in this subtree. */
  prepared = 0
}

/** An object: its dkeys and punches. */
export class ObjectNode {
  /** Dkeys by key (DAOS's dkey tree, order 20). */
  readonly dkeys = new BPlusTree<DkeyNode>(20)
  /** Punches of the object, oldest first. */
  punches: Version[] = []
  /** Prepared versions and punches in this subtree. */
  prepared = 0
}

/** A container: its objects, snapshots, aggregation boundary and space use. */
export class ContainerNode {
  /** Objects by {@link oidKey} (DAOS's object index, order 15). */
  readonly objects = new BPlusTree<ObjectNode>(15)
  /** Snapshot epochs, ascending. */
  snapshots: Epoch[] = []
  /** Everything at or below this epoch has been aggregated; writes there are refused. */
  aggregatedEpoch = 0n
  /** Value bytes held by the container. */
  usedBytes = 0
  /** Prepared versions and punches in the container. */
  prepared = 0
  constructor(
    readonly id: string,
    /** Checksum of the container's values. */
    readonly csum: ChecksumType = 'crc32c',
  ) {}
}

/** A level of the tree that holds versions or punches. */
export type Holder = ObjectNode | DkeyNode | AkeyNode

/** One version or punch a prepared DTX wrote, with the path to it (for commit and abort). */
export interface Touched {
  readonly chain: readonly Holder[]
  readonly container: ContainerNode
  readonly list: 'sv' | 'ext' | 'punch'
  readonly holder: Holder
  readonly record: Version
}

/** A prepared DTX: what it wrote. */
export interface ActiveDtx {
  readonly id: string
  readonly cont: string
  readonly epoch: Epoch
  readonly touched: Touched[]
  /** Bytes the writer kept with the DTX (`WriteOptions.dtxMeta`), if any. */
  meta?: Uint8Array | undefined
}

/** What a fetch plan holds for one akey; the engine turns it into bytes. */
export type FetchPlan =
  | { readonly type: 'single'; readonly akey: Uint8Array; readonly record: SvRecord | undefined }
  | { readonly type: 'array'; readonly akey: Uint8Array; readonly recordSizeBytes: number; readonly pieces: readonly ExtentPiece[] }

/** What {@link VosIndex.historyPlan} returns: committed records to read, prepared DTXs named. */
export interface HistoryPlan {
  readonly punches: readonly VersionStamp[]
  readonly dkeys: readonly {
    readonly dkey: Uint8Array
    readonly punches: readonly VersionStamp[]
    readonly akeys: readonly {
      readonly akey: Uint8Array
      readonly type: 'single' | 'array' | undefined
      readonly recordSizeBytes: number
      readonly punches: readonly VersionStamp[]
      readonly singles: readonly SvRecord[]
      readonly extents: readonly ExtentRecord[]
    }[]
  }[]
  readonly anchor: Uint8Array | undefined
  readonly preparedDtx: readonly string[]
}

/** A place in an object where {@link VosIndex.holdsVersion} looks. */
export type VersionPlace =
  | { readonly level: 'object' }
  | { readonly level: 'dkey'; readonly dkey: Uint8Array }
  | { readonly level: 'akey'; readonly dkey: Uint8Array; readonly akey: Uint8Array }
  | { readonly level: 'single'; readonly dkey: Uint8Array; readonly akey: Uint8Array }
  | { readonly level: 'extent'; readonly dkey: Uint8Array; readonly akey: Uint8Array; readonly lo: number; readonly hi: number }

/** Most finished DTX ids remembered for resend detection. */
export const dtxDoneCapacity = 16384

/** 16-byte big-endian key of an object id, so the tree orders objects by id. */
export function oidKey(oid: ObjectId): Uint8Array {
  const key = new Uint8Array(16)
  if (oid <= 0xffff_ffffn) {
    // The common small id: no 64-bit arithmetic.
    const n = Number(oid)
    key[12] = n >>> 24
    key[13] = (n >>> 16) & 0xff
    key[14] = (n >>> 8) & 0xff
    key[15] = n & 0xff
    return key
  }
  oidScratch.setBigUint64(0, oid >> 64n)
  oidScratch.setBigUint64(8, BigInt.asUintN(64, oid))
  key.set(oidScratchBytes)
  return key
}
const oidScratchBytes = new Uint8Array(16)
const oidScratch = new DataView(oidScratchBytes.buffer)

/** The object id of a {@link oidKey}. */
export function oidFromKey(key: Uint8Array): ObjectId {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
  return (view.getBigUint64(0) << 64n) | view.getBigUint64(8)
}

function inProgress(what: string, dtx: string): DerError {
  return new DerError('DER_INPROGRESS', `${what} meets data of prepared DTX ${dtx}`, { details: { dtxId: dtx } })
}

function insertVersion<T extends Version>(list: T[], record: T): void {
  let i = list.length
  while (i > 0 && newer(list[i - 1] as T, record)) i--
  list.splice(i, 0, record)
}

/** The newest punch at most `epoch` over the chain, throwing `DER_INPROGRESS` on prepared ones. */
function floorOf(lists: readonly (readonly Version[])[], epoch: Epoch, strict: boolean): Version | undefined {
  let floor: Version | undefined
  for (const list of lists) {
    for (let i = list.length - 1; i >= 0; i--) {
      const p = list[i] as Version
      if (p.epoch > epoch) continue
      if (p.dtx !== undefined) {
        if (strict) throw inProgress('read', p.dtx)
        continue
      }
      if (floor === undefined || newer(p, floor)) floor = p
      break
    }
  }
  return floor
}

/** The in-memory metadata of a VOS pool. */
export class VosIndex {
  /** Containers by uuid. */
  readonly containers = new Map<string, ContainerNode>()
  /** Prepared DTXs (the active DTX table). */
  readonly dtxActive = new Map<string, ActiveDtx>()
  /** Finished DTXs, oldest first, at most {@link dtxDoneCapacity} (for resend detection). */
  readonly dtxDone = new Map<string, DtxState>()
  /** The last sequence number used by an update or punch. */
  seq = 0
  /** Value bytes held by the whole pool. */
  usedBytes = 0

  constructor(readonly limits: VosLimits) {}

  // ---------------------------------------------------------------- checks (no state change)

  /** The container, or `DER_NONEXIST`. */
  container(cont: unknown): ContainerNode {
    checkContainerId(cont)
    const node = this.containers.get(cont)
    if (node === undefined) throw new DerError('DER_NONEXIST', `container ${cont} does not exist`, { details: { cont } })
    return node
  }

  /** Checks a container create. */
  checkContainerCreate(cont: unknown, csum: unknown = 'crc32c'): Mutation {
    checkContainerId(cont)
    if (csum !== 'crc32c' && csum !== 'none') throw new DerError('DER_INVAL', `container checksum must be 'crc32c' or 'none', got ${String(csum)}`)
    if (this.containers.has(cont)) throw new DerError('DER_EXIST', `container ${cont} exists`)
    return { type: 'containerCreate', cont, csum }
  }

  /** Checks a container destroy. */
  checkContainerDestroy(cont: unknown): Mutation {
    const node = this.container(cont)
    return { type: 'containerDestroy', cont: node.id }
  }

  private checkWriteEpoch(node: ContainerNode, epoch: unknown): asserts epoch is Epoch {
    checkEpoch(epoch)
    if (epoch <= node.aggregatedEpoch) {
      throw new DerError('DER_TX_RESTART', `epoch ${epoch} is at or below the aggregated epoch ${node.aggregatedEpoch} of container ${node.id}; retry with a newer epoch`, {
        details: { epoch: String(epoch), aggregatedEpoch: String(node.aggregatedEpoch) },
      })
    }
  }

  private checkDtxId(dtx: unknown): asserts dtx is string | undefined {
    if (dtx === undefined) return
    if (typeof dtx !== 'string' || dtx.length === 0 || dtx.length > 256) throw new DerError('DER_INVAL', 'DTX id must be a string of 1 to 256 characters')
    if (this.dtxActive.has(dtx) || this.dtxDone.has(dtx)) {
      throw new DerError('DER_ALREADY', `DTX ${dtx} was already applied (${this.dtxActive.has(dtx) ? 'prepared' : (this.dtxDone.get(dtx) ?? '')})`, { details: { dtxId: dtx } })
    }
  }

  /**
   * Checks an update and returns its normalized akeys (sorted extents); `DER_INVAL`,
   * `DER_KEY2BIG`, `DER_REC2BIG`, `DER_OVERFLOW`, `DER_NONEXIST`, `DER_TX_RESTART`,
   * `DER_INPROGRESS` (a conflicting prepared DTX) or `DER_ALREADY` (a DTX id reused).
   */
  checkUpdate(cont: unknown, oid: unknown, epoch: unknown, dkey: unknown, akeys: unknown, dtx: unknown): AkeyUpdate[] {
    const node = this.container(cont)
    checkObjectId(oid)
    this.checkWriteEpoch(node, epoch)
    checkKey(dkey, 'dkey', this.limits)
    this.checkDtxId(dtx)
    if (!Array.isArray(akeys) || akeys.length === 0) throw new DerError('DER_INVAL', 'an update needs at least one akey')
    if (akeys.length > this.limits.maxAkeysPerCall) throw new DerError('DER_INVAL', `an update has at most ${this.limits.maxAkeysPerCall} akeys, got ${akeys.length}`)
    const obj = node.objects.get(oidKey(oid))
    const dk = obj?.dkeys.get(dkey)
    if (obj !== undefined) this.checkNoPreparedPunch(obj.punches)
    if (dk !== undefined) this.checkNoPreparedPunch(dk.punches)
    const seen: Uint8Array[] = []
    const out: AkeyUpdate[] = []
    for (const raw of akeys as unknown[]) {
      if (typeof raw !== 'object' || raw === null) throw new DerError('DER_INVAL', 'akey update must be an object')
      const a = raw as AkeyUpdate
      checkKey(a.akey, 'akey', this.limits)
      if (seen.some((k) => compareBytes(k, a.akey) === 0)) throw new DerError('DER_INVAL', 'an update names the same akey twice')
      seen.push(a.akey)
      const existing = dk?.akeys.get(a.akey)
      if (existing !== undefined && existing.prepared > 0) throw inProgress('update', this.preparedIdIn(existing))
      if (a.type === 'single') {
        if (!(a.value instanceof Uint8Array)) throw new DerError('DER_INVAL', 'single value must be a Uint8Array')
        checkValueSize(a.value.length, 'single value', this.limits)
        if (existing?.type === 'array') throw new DerError('DER_INVAL', 'akey holds an array; it cannot take a single value')
        out.push(a)
      } else if (a.type === 'array') {
        const rs = a.recordSizeBytes
        if (typeof rs !== 'number' || !Number.isSafeInteger(rs) || rs < 1 || rs > this.limits.maxRecordSizeBytes) {
          throw new DerError('DER_INVAL', `record size must be an integer from 1 to ${this.limits.maxRecordSizeBytes}, got ${String(rs)}`)
        }
        if (existing?.type === 'single') throw new DerError('DER_INVAL', 'akey holds a single value; it cannot take array extents')
        if (existing?.type === 'array' && existing.recordSizeBytes !== rs) {
          throw new DerError('DER_REC_SIZE', `akey has record size ${existing.recordSizeBytes}, the update uses ${rs}`)
        }
        if (!Array.isArray(a.extents) || a.extents.length === 0) throw new DerError('DER_INVAL', 'an array update needs at least one extent')
        let total = 0
        for (const e of a.extents as readonly RecxUpdate[]) {
          checkRecx(e, this.limits)
          if (e.data !== undefined) {
            if (!(e.data instanceof Uint8Array)) throw new DerError('DER_INVAL', 'extent data must be a Uint8Array')
            if (e.data.length !== e.count * rs) throw new DerError('DER_INVAL', `extent [${e.index}, +${e.count}) needs ${e.count * rs} bytes, got ${e.data.length}`)
            total += e.data.length
          }
        }
        if (total > this.limits.maxValueBytes) throw new DerError('DER_REC2BIG', `array update carries ${total} bytes, the limit is ${this.limits.maxValueBytes}`)
        const sorted = [...(a.extents as readonly RecxUpdate[])].sort((x, y) => x.index - y.index)
        for (let i = 1; i < sorted.length; i++) {
          const prev = sorted[i - 1] as { index: number; count: number }
          if ((sorted[i] as { index: number }).index < prev.index + prev.count) throw new DerError('DER_INVAL', 'extents of one update must not overlap')
        }
        out.push({ type: 'array', akey: a.akey, recordSizeBytes: rs, extents: sorted })
      } else {
        throw new DerError('DER_INVAL', `akey update type must be 'single' or 'array', got ${String((a as { type: unknown }).type)}`)
      }
    }
    return out
  }

  private checkNoPreparedPunch(punches: readonly Version[]): void {
    for (const p of punches) if (p.dtx !== undefined) throw inProgress('write', p.dtx)
  }

  private preparedIdIn(holder: Holder): string {
    for (const entry of this.dtxActive.values()) {
      for (const t of entry.touched) if (t.chain.includes(holder)) return entry.id
    }
    return 'unknown'
  }

  /** Checks a punch of an object, a dkey, or akeys of a dkey. */
  checkPunch(cont: unknown, oid: unknown, epoch: unknown, dkey: unknown, akeys: unknown, dtx: unknown): Mutation {
    const node = this.container(cont)
    checkObjectId(oid)
    this.checkWriteEpoch(node, epoch)
    this.checkDtxId(dtx)
    const obj = node.objects.get(oidKey(oid))
    if (dkey === undefined) {
      if (akeys !== undefined) throw new DerError('DER_INVAL', 'an akey punch needs its dkey')
      if (obj !== undefined && obj.prepared > 0) throw inProgress('object punch', this.preparedIdIn(obj))
      return { type: 'punch', cont: node.id, oid, epoch, seq: this.seq + 1, dkey: undefined, akeys: undefined, dtx }
    }
    checkKey(dkey, 'dkey', this.limits)
    if (obj !== undefined) this.checkNoPreparedPunch(obj.punches)
    const dk = obj?.dkeys.get(dkey)
    if (akeys === undefined) {
      if (dk !== undefined && dk.prepared > 0) throw inProgress('dkey punch', this.preparedIdIn(dk))
      return { type: 'punch', cont: node.id, oid, epoch, seq: this.seq + 1, dkey, akeys: undefined, dtx }
    }
    if (!Array.isArray(akeys) || akeys.length === 0 || akeys.length > this.limits.maxAkeysPerCall) throw new DerError('DER_INVAL', 'an akey punch needs 1 to maxAkeysPerCall akeys')
    if (dk !== undefined) this.checkNoPreparedPunch(dk.punches)
    const seen = new Set<string>()
    for (const akey of akeys as unknown[]) {
      checkKey(akey, 'akey', this.limits)
      const id = Buffer.from(akey).toString('latin1')
      if (seen.has(id)) throw new DerError('DER_INVAL', 'a punch names the same akey twice')
      seen.add(id)
      const ak = dk?.akeys.get(akey)
      if (ak !== undefined && ak.prepared > 0) throw inProgress('akey punch', this.preparedIdIn(ak))
    }
    return { type: 'punch', cont: node.id, oid, epoch, seq: this.seq + 1, dkey, akeys: akeys as Uint8Array[], dtx }
  }

  /** Checks a snapshot create (above the aggregated epoch, not a duplicate). */
  checkSnapshotCreate(cont: unknown, epoch: unknown): Mutation {
    const node = this.container(cont)
    checkEpoch(epoch)
    if (epoch <= node.aggregatedEpoch) throw new DerError('DER_INVAL', `snapshot epoch ${epoch} is at or below the aggregated epoch ${node.aggregatedEpoch}`)
    if (node.snapshots.includes(epoch)) throw new DerError('DER_EXIST', `snapshot ${epoch} exists`)
    return { type: 'snapshotCreate', cont: node.id, epoch }
  }

  /** Checks a snapshot destroy. */
  checkSnapshotDestroy(cont: unknown, epoch: unknown): Mutation {
    const node = this.container(cont)
    checkEpoch(epoch)
    if (!node.snapshots.includes(epoch)) throw new DerError('DER_NONEXIST', `snapshot ${epoch} does not exist`)
    return { type: 'snapshotDestroy', cont: node.id, epoch }
  }

  /** Checks an aggregation up to `epoch`: `DER_INPROGRESS` when a prepared DTX lies at or below it. */
  checkAggregate(cont: unknown, epoch: unknown): Mutation {
    const node = this.container(cont)
    checkEpoch(epoch)
    for (const entry of this.dtxActive.values()) {
      if (entry.cont === node.id && entry.epoch <= epoch) throw inProgress('aggregation', entry.id)
    }
    return { type: 'aggregate', cont: node.id, epoch }
  }

  /** Checks a discard of `[lo, hi]`: it must lie above the aggregated epoch and hold no prepared DTX. */
  checkDiscard(cont: unknown, lo: unknown, hi: unknown): Mutation {
    const node = this.container(cont)
    checkEpoch(lo, 'discard low epoch')
    checkEpoch(hi, 'discard high epoch')
    if (lo > hi) throw new DerError('DER_INVAL', `discard range [${lo}, ${hi}] is empty`)
    if (lo <= node.aggregatedEpoch) throw new DerError('DER_INVAL', `discard range starts at or below the aggregated epoch ${node.aggregatedEpoch}`)
    for (const entry of this.dtxActive.values()) {
      if (entry.cont === node.id && entry.epoch >= lo && entry.epoch <= hi) throw inProgress('discard', entry.id)
    }
    return { type: 'discard', cont: node.id, lo, hi }
  }

  /** Checks a DTX commit or abort: the DTX must be prepared (`DER_ALREADY` if finished, `DER_NONEXIST` if unknown). */
  checkDtxFinish(id: unknown, commit: boolean): Mutation {
    if (typeof id !== 'string') throw new DerError('DER_INVAL', 'DTX id must be a string')
    if (!this.dtxActive.has(id)) {
      const done = this.dtxDone.get(id)
      if (done !== undefined) throw new DerError('DER_ALREADY', `DTX ${id} is already ${done}`, { details: { dtxId: id, state: done } })
      throw new DerError('DER_NONEXIST', `DTX ${id} is unknown`, { details: { dtxId: id } })
    }
    return commit ? { type: 'dtxCommit', id } : { type: 'dtxAbort', id }
  }

  /** State of a DTX, if known. */
  dtxState(id: string): DtxState | undefined {
    return this.dtxActive.has(id) ? 'prepared' : this.dtxDone.get(id)
  }

  // ---------------------------------------------------------------- apply (cannot fail)

  /** Applies a checked mutation; returns the stored data it released. */
  apply(m: Mutation): StoredData[] {
    const freed: StoredData[] = []
    switch (m.type) {
      case 'containerCreate':
        this.containers.set(m.cont, new ContainerNode(m.cont, m.csum))
        break
      case 'containerDestroy': {
        const node = this.containers.get(m.cont)
        assert(node !== undefined, 'destroy of a missing container')
        for (const entry of [...this.dtxActive.values()]) {
          if (entry.cont === m.cont) {
            this.dtxActive.delete(entry.id)
            this.rememberDtx(entry.id, 'aborted')
          }
        }
        for (const [, obj] of node.objects.entries()) this.collectObject(obj, freed)
        this.usedBytes -= node.usedBytes
        this.containers.delete(m.cont)
        break
      }
      case 'update':
        this.applyUpdate(m)
        break
      case 'punch':
        this.applyPunch(m)
        break
      case 'snapshotCreate': {
        const node = this.mustContainer(m.cont)
        node.snapshots.push(m.epoch)
        node.snapshots.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        break
      }
      case 'snapshotDestroy': {
        const node = this.mustContainer(m.cont)
        node.snapshots = node.snapshots.filter((s) => s !== m.epoch)
        break
      }
      case 'aggregate':
        this.applyAggregate(this.mustContainer(m.cont), m.epoch, freed)
        break
      case 'discard':
        this.applyDiscard(this.mustContainer(m.cont), m.lo, m.hi, freed)
        break
      case 'dtxCommit':
      case 'dtxAbort':
        this.applyDtxFinish(m.id, m.type === 'dtxCommit', freed)
        break
    }
    return freed
  }

  private mustContainer(cont: string): ContainerNode {
    const node = this.containers.get(cont)
    assert(node !== undefined, `mutation on missing container ${cont}`)
    return node
  }

  private rememberDtx(id: string, state: DtxState): void {
    this.dtxDone.set(id, state)
    if (this.dtxDone.size > dtxDoneCapacity) {
      const oldest = this.dtxDone.keys().next()
      if (oldest.done !== true) this.dtxDone.delete(oldest.value)
    }
  }

  private charge(node: ContainerNode, data: StoredData | undefined, sign: 1 | -1): void {
    if (data === undefined) return
    const bytes = chargedBytes(data) * sign
    node.usedBytes += bytes
    this.usedBytes += bytes
  }

  private objectFor(node: ContainerNode, oid: ObjectId): ObjectNode {
    const key = oidKey(oid)
    let obj = node.objects.get(key)
    if (obj === undefined) {
      obj = new ObjectNode()
      node.objects.set(key, obj)
    }
    return obj
  }

  private applyUpdate(m: Extract<Mutation, { type: 'update' }>): void {
    const node = this.mustContainer(m.cont)
    this.seq = Math.max(this.seq, m.seq)
    const obj = this.objectFor(node, m.oid)
    let dk = obj.dkeys.get(m.dkey)
    if (dk === undefined) {
      dk = new DkeyNode()
      obj.dkeys.set(m.dkey, dk)
    }
    const entry = this.openDtx(m.dtx, node.id, m.epoch, m.dtxMeta)
    for (const a of m.akeys) {
      let ak = dk.akeys.get(a.akey)
      if (ak === undefined) {
        ak = new AkeyNode()
        dk.akeys.set(a.akey, ak)
      }
      const chain: Holder[] = [obj, dk, ak]
      if (a.type === 'single') {
        ak.type = 'single'
        const record: SvRecord = { epoch: m.epoch, seq: m.seq, dtx: m.dtx, data: a.data }
        insertVersion(ak.sv, record)
        this.charge(node, a.data, 1)
        this.touch(entry, node, chain, 'sv', ak, record)
      } else {
        ak.type = 'array'
        ak.recordSizeBytes = a.recordSizeBytes
        for (const e of a.extents) {
          const record: ExtentRecord = { lo: e.lo, hi: e.hi, epoch: m.epoch, seq: m.seq, dtx: m.dtx, data: e.data }
          ak.ext.insert(record)
          this.charge(node, e.data, 1)
          this.touch(entry, node, chain, 'ext', ak, record)
        }
      }
    }
  }

  private openDtx(id: string | undefined, cont: string, epoch: Epoch, meta: Uint8Array | undefined): ActiveDtx | undefined {
    if (id === undefined) return undefined
    const entry: ActiveDtx = { id, cont, epoch, touched: [], meta }
    this.dtxActive.set(id, entry)
    return entry
  }

  private touch(entry: ActiveDtx | undefined, container: ContainerNode, chain: Holder[], list: Touched['list'], holder: Holder, record: Version): void {
    if (entry === undefined) return
    entry.touched.push({ chain, container, list, holder, record })
    for (const h of chain) h.prepared++
    container.prepared++
  }

  private applyPunch(m: Extract<Mutation, { type: 'punch' }>): void {
    const node = this.mustContainer(m.cont)
    this.seq = Math.max(this.seq, m.seq)
    const obj = this.objectFor(node, m.oid)
    const entry = this.openDtx(m.dtx, node.id, m.epoch, m.dtxMeta)
    const version = (): Version => ({ epoch: m.epoch, seq: m.seq, dtx: m.dtx })
    if (m.dkey === undefined) {
      const p = version()
      insertVersion(obj.punches, p)
      this.touch(entry, node, [obj], 'punch', obj, p)
      return
    }
    let dk = obj.dkeys.get(m.dkey)
    if (dk === undefined) {
      dk = new DkeyNode()
      obj.dkeys.set(m.dkey, dk)
    }
    if (m.akeys === undefined) {
      const p = version()
      insertVersion(dk.punches, p)
      this.touch(entry, node, [obj, dk], 'punch', dk, p)
      return
    }
    for (const akey of m.akeys) {
      let ak = dk.akeys.get(akey)
      if (ak === undefined) {
        ak = new AkeyNode()
        dk.akeys.set(akey, ak)
      }
      const p = version()
      insertVersion(ak.punches, p)
      this.touch(entry, node, [obj, dk, ak], 'punch', ak, p)
    }
  }

  private applyDtxFinish(id: string, commit: boolean, freed: StoredData[]): void {
    const entry = this.dtxActive.get(id)
    assert(entry !== undefined, `finish of unknown DTX ${id}`)
    this.dtxActive.delete(id)
    this.rememberDtx(id, commit ? 'committed' : 'aborted')
    for (const t of entry.touched) {
      for (const h of t.chain) h.prepared--
      t.container.prepared--
      if (commit) {
        t.record.dtx = undefined
        continue
      }
      if (t.list === 'punch') t.holder.punches = t.holder.punches.filter((p) => p !== t.record)
      else if (t.list === 'sv') {
        const ak = t.holder as AkeyNode
        ak.sv = ak.sv.filter((r) => r !== t.record)
        this.charge(t.container, (t.record as SvRecord).data, -1)
        freed.push((t.record as SvRecord).data)
      } else {
        const ak = t.holder as AkeyNode
        ak.ext.removeWhere((r) => r === t.record)
        const data = (t.record as ExtentRecord).data
        this.charge(t.container, data, -1)
        if (data !== undefined) freed.push(data)
      }
    }
    if (!commit) {
      const node = this.containers.get(entry.cont)
      if (node !== undefined) this.pruneContainer(node)
    }
  }

  private collectObject(obj: ObjectNode, freed: StoredData[]): void {
    for (const [, dk] of obj.dkeys.entries()) {
      for (const [, ak] of dk.akeys.entries()) {
        for (const r of ak.sv) freed.push(r.data)
        for (const r of ak.ext.all()) if (r.data !== undefined) freed.push(r.data)
      }
    }
  }

  /** Removes empty akeys, dkeys and objects of a container. */
  private pruneContainer(node: ContainerNode): void {
    const emptyObjects: Uint8Array[] = []
    for (const [ok, obj] of node.objects.entries()) {
      const emptyDkeys: Uint8Array[] = []
      for (const [dkey, dk] of obj.dkeys.entries()) {
        const emptyAkeys: Uint8Array[] = []
        for (const [akey, ak] of dk.akeys.entries()) if (ak.empty && ak.prepared === 0) emptyAkeys.push(akey)
        for (const akey of emptyAkeys) dk.akeys.delete(akey)
        if (dk.akeys.size === 0 && dk.punches.length === 0 && dk.prepared === 0) emptyDkeys.push(dkey)
      }
      for (const dkey of emptyDkeys) obj.dkeys.delete(dkey)
      if (obj.dkeys.size === 0 && obj.punches.length === 0 && obj.prepared === 0) emptyObjects.push(ok)
    }
    for (const ok of emptyObjects) node.objects.delete(ok)
  }

  private applyDiscard(node: ContainerNode, lo: Epoch, hi: Epoch, freed: StoredData[]): void {
    const inRange = (v: Version): boolean => v.epoch >= lo && v.epoch <= hi
    for (const [, obj] of node.objects.entries()) {
      obj.punches = obj.punches.filter((p) => !inRange(p))
      for (const [, dk] of obj.dkeys.entries()) {
        dk.punches = dk.punches.filter((p) => !inRange(p))
        for (const [, ak] of dk.akeys.entries()) {
          ak.punches = ak.punches.filter((p) => !inRange(p))
          ak.sv = ak.sv.filter((r) => {
            if (!inRange(r)) return true
            this.charge(node, r.data, -1)
            freed.push(r.data)
            return false
          })
          for (const r of ak.ext.removeWhere(inRange)) {
            this.charge(node, r.data, -1)
            if (r.data !== undefined) freed.push(r.data)
          }
        }
      }
    }
    this.pruneContainer(node)
  }

  private applyAggregate(node: ContainerNode, boundary: Epoch, freed: StoredData[]): void {
    if (boundary <= node.aggregatedEpoch) return
    const points = [...node.snapshots.filter((s) => s < boundary), boundary]
    for (const [, obj] of node.objects.entries()) {
      let objOldest: Version | undefined
      for (const [, dk] of obj.dkeys.entries()) {
        let dkOldest: Version | undefined
        for (const [, ak] of dk.akeys.entries()) {
          const chain = [obj.punches, dk.punches, ak.punches]
          let akOldest: Version | undefined
          const note = (v: Version): void => {
            if (akOldest === undefined || newer(akOldest, v)) akOldest = v
          }
          if (ak.sv.length > 0) {
            const keep = new Set<SvRecord>()
            for (const r of points) {
              const floor = floorOf(chain, r, false)
              const latest = latestAtOrBelow(ak.sv, r)
              if (latest !== undefined && (floor === undefined || newer(latest, floor))) keep.add(latest)
            }
            ak.sv = ak.sv.filter((rec) => {
              if (rec.epoch > boundary || keep.has(rec)) return true
              this.charge(node, rec.data, -1)
              freed.push(rec.data)
              return false
            })
            for (const rec of ak.sv) note(rec)
          }
          if (ak.ext.size > 0) {
            const keep = new Set<ExtentRecord>()
            for (const r of points) {
              const floor = floorOf(chain, r, false)
              for (const piece of ak.ext.visible(0, this.limits.maxRecordIndex, r, floor)) if (piece.source !== undefined) keep.add(piece.source)
            }
            for (const rec of ak.ext.removeWhere((rec) => rec.epoch <= boundary && !keep.has(rec))) {
              this.charge(node, rec.data, -1)
              if (rec.data !== undefined) freed.push(rec.data)
            }
            for (const rec of ak.ext.all()) note(rec)
          }
          // A punch at or below the boundary that is older than every remaining record hides nothing.
          ak.punches = ak.punches.filter((p) => p.epoch > boundary || (akOldest !== undefined && newer(p, akOldest)))
          if (akOldest !== undefined && (dkOldest === undefined || newer(dkOldest, akOldest))) dkOldest = akOldest
        }
        dk.punches = dk.punches.filter((p) => p.epoch > boundary || (dkOldest !== undefined && newer(p, dkOldest)))
        if (dkOldest !== undefined && (objOldest === undefined || newer(objOldest, dkOldest))) objOldest = dkOldest
      }
      obj.punches = obj.punches.filter((p) => p.epoch > boundary || (objOldest !== undefined && newer(p, objOldest)))
    }
    node.aggregatedEpoch = boundary
    this.pruneContainer(node)
  }

  // ---------------------------------------------------------------- reads

  private readChain(cont: unknown, oid: unknown, epoch: unknown): { node: ContainerNode; obj: ObjectNode | undefined; epoch: Epoch } {
    const node = this.container(cont)
    checkObjectId(oid)
    checkEpoch(epoch)
    return { node, obj: node.objects.get(oidKey(oid)), epoch }
  }

  /** Plans a fetch: for each akey, the visible single-value version or array pieces. */
  fetchPlan(cont: unknown, oid: unknown, epoch: unknown, dkey: unknown, fetches: unknown): FetchPlan[] {
    const { obj, epoch: e } = this.readChain(cont, oid, epoch)
    checkKey(dkey, 'dkey', this.limits)
    if (!Array.isArray(fetches) || fetches.length === 0 || fetches.length > this.limits.maxAkeysPerCall) throw new DerError('DER_INVAL', 'a fetch needs 1 to maxAkeysPerCall akeys')
    for (const f of fetches as AkeyFetch[]) {
      if (typeof f !== 'object' || f === null) throw new DerError('DER_INVAL', 'akey fetch must be an object')
      checkKey(f.akey, 'akey', this.limits)
      if (f.type === 'array') {
        if (!Array.isArray(f.extents) || f.extents.length === 0) throw new DerError('DER_INVAL', 'an array fetch needs at least one extent')
        for (const x of f.extents) checkRecx(x, this.limits)
      } else if (f.type !== 'single') throw new DerError('DER_INVAL', `akey fetch type must be 'single' or 'array'`)
    }
    const dk = obj?.dkeys.get(dkey)
    return (fetches as AkeyFetch[]).map((f): FetchPlan => {
      const ak = dk?.akeys.get(f.akey)
      if (f.type === 'single') {
        if (ak === undefined || obj === undefined || dk === undefined || ak.type === 'array') return { type: 'single', akey: f.akey, record: undefined }
        return { type: 'single', akey: f.akey, record: this.visibleSv(ak, [obj.punches, dk.punches, ak.punches], e) }
      }
      if (ak === undefined || obj === undefined || dk === undefined || ak.type !== 'array') {
        return { type: 'array', akey: f.akey, recordSizeBytes: 0, pieces: f.extents.map((x) => ({ lo: x.index, hi: x.index + x.count, source: undefined })) }
      }
      const floor = floorOf([obj.punches, dk.punches, ak.punches], e, true)
      const pieces: ExtentPiece[] = []
      for (const x of f.extents) pieces.push(...this.visibleExtents(ak, x.index, x.index + x.count, e, floor))
      return { type: 'array', akey: f.akey, recordSizeBytes: ak.recordSizeBytes, pieces }
    })
  }

  private visibleSv(ak: AkeyNode, chain: readonly (readonly Version[])[], epoch: Epoch): SvRecord | undefined {
    const floor = floorOf(chain, epoch, true)
    const latest = latestAtOrBelow(ak.sv, epoch)
    if (latest === undefined || (floor !== undefined && !newer(latest, floor))) return undefined
    if (latest.dtx !== undefined) throw inProgress('fetch', latest.dtx)
    return latest
  }

  private visibleExtents(ak: AkeyNode, lo: number, hi: number, epoch: Epoch, floor: Version | undefined): ExtentPiece[] {
    const pieces = ak.ext.visible(lo, hi, epoch, floor)
    for (const p of pieces) if (p.source?.dtx !== undefined) throw inProgress('fetch', p.source.dtx)
    return pieces
  }

  /** Whether an akey is live at `epoch`: its newest version at or below it is newer than every punch. */
  private akeyLive(ak: AkeyNode, chain: readonly (readonly Version[])[], epoch: Epoch): boolean {
    const floor = floorOf(chain, epoch, true)
    let latest: Version | undefined = latestAtOrBelow(ak.sv, epoch)
    for (const r of ak.ext.all()) if (r.epoch <= epoch && (latest === undefined || newer(r, latest))) latest = r
    if (latest === undefined || (floor !== undefined && !newer(latest, floor))) return false
    if (latest.dtx !== undefined) throw inProgress('enumeration', latest.dtx)
    return true
  }

  private dkeyLive(obj: ObjectNode, dk: DkeyNode, epoch: Epoch): boolean {
    for (const [, ak] of dk.akeys.entries()) if (this.akeyLive(ak, [obj.punches, dk.punches, ak.punches], epoch)) return true
    return false
  }

  private objectLive(obj: ObjectNode, epoch: Epoch): boolean {
    for (const [, dk] of obj.dkeys.entries()) if (this.dkeyLive(obj, dk, epoch)) return true
    return false
  }

  private checkLimit(limit: unknown): asserts limit is number {
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) throw new DerError('DER_INVAL', `enumeration limit must be an integer >= 1, got ${String(limit)}`)
  }

  private keyAnchor(anchor: EnumAnchor | undefined): Uint8Array | undefined {
    if (anchor === undefined) return undefined
    if (anchor.kind !== 'key' || !(anchor.after instanceof Uint8Array)) throw new DerError('DER_INVAL', 'anchor is not a key anchor')
    return anchor.after
  }

  /** Objects live at `epoch`, in id order, `limit` per page. */
  listObjects(cont: unknown, epoch: unknown, anchor: EnumAnchor | undefined, limit: number): EnumPage<ObjectId> {
    const node = this.container(cont)
    checkEpoch(epoch)
    this.checkLimit(limit)
    let from: Uint8Array | undefined
    if (anchor !== undefined) {
      if (anchor.kind !== 'oid') throw new DerError('DER_INVAL', 'anchor is not an object anchor')
      checkObjectId(anchor.after)
      from = oidKey(anchor.after)
    }
    const items: ObjectId[] = []
    for (const [key, obj] of node.objects.entries(from, true)) {
      if (!this.objectLive(obj, epoch)) continue
      if (items.length === limit) return { items, anchor: { kind: 'oid', after: items[items.length - 1] as ObjectId } }
      items.push(oidFromKey(key))
    }
    return { items, anchor: undefined }
  }

  /** Dkeys of an object live at `epoch`, in key order. */
  listDkeys(cont: unknown, oid: unknown, epoch: unknown, anchor: EnumAnchor | undefined, limit: number): EnumPage<Uint8Array> {
    const { obj, epoch: e } = this.readChain(cont, oid, epoch)
    this.checkLimit(limit)
    const from = this.keyAnchor(anchor)
    const items: Uint8Array[] = []
    if (obj === undefined) return { items, anchor: undefined }
    for (const [key, dk] of obj.dkeys.entries(from, true)) {
      if (!this.dkeyLive(obj, dk, e)) continue
      if (items.length === limit) return { items, anchor: { kind: 'key', after: items[items.length - 1] as Uint8Array } }
      items.push(key.slice())
    }
    return { items, anchor: undefined }
  }

  /** Akeys of a dkey live at `epoch`, in key order. */
  listAkeys(cont: unknown, oid: unknown, epoch: unknown, dkey: unknown, anchor: EnumAnchor | undefined, limit: number): EnumPage<Uint8Array> {
    const { obj, epoch: e } = this.readChain(cont, oid, epoch)
    checkKey(dkey, 'dkey', this.limits)
    this.checkLimit(limit)
    const from = this.keyAnchor(anchor)
    const items: Uint8Array[] = []
    const dk = obj?.dkeys.get(dkey)
    if (obj === undefined || dk === undefined) return { items, anchor: undefined }
    for (const [key, ak] of dk.akeys.entries(from, true)) {
      if (!this.akeyLive(ak, [obj.punches, dk.punches, ak.punches], e)) continue
      if (items.length === limit) return { items, anchor: { kind: 'key', after: items[items.length - 1] as Uint8Array } }
      items.push(key.slice())
    }
    return { items, anchor: undefined }
  }

  /** Visible (non-hole) extents of an array akey at `epoch`, with the epoch of each, in index order. */
  listExtents(cont: unknown, oid: unknown, epoch: unknown, dkey: unknown, akey: unknown, anchor: EnumAnchor | undefined, limit: number): EnumPage<VisibleExtent> {
    const { obj, epoch: e } = this.readChain(cont, oid, epoch)
    checkKey(dkey, 'dkey', this.limits)
    checkKey(akey, 'akey', this.limits)
    this.checkLimit(limit)
    let from = 0
    if (anchor !== undefined) {
      if (anchor.kind !== 'index' || !Number.isSafeInteger(anchor.from) || anchor.from < 0) throw new DerError('DER_INVAL', 'anchor is not an extent anchor')
      from = anchor.from
    }
    const items: VisibleExtent[] = []
    const dk = obj?.dkeys.get(dkey)
    const ak = dk?.akeys.get(akey)
    if (obj === undefined || dk === undefined || ak === undefined || ak.type !== 'array' || from >= this.limits.maxRecordIndex) return { items, anchor: undefined }
    const floor = floorOf([obj.punches, dk.punches, ak.punches], e, true)
    for (const piece of this.visibleExtents(ak, from, this.limits.maxRecordIndex, e, floor)) {
      if (piece.source?.data === undefined) continue
      if (items.length === limit) return { items, anchor: { kind: 'index', from: piece.lo } }
      items.push({ index: piece.lo, count: piece.hi - piece.lo, epoch: piece.source.epoch })
    }
    return { items, anchor: undefined }
  }

  /**
   * The largest (or smallest) live dkey of an object; with `dkey`, its largest (or smallest)
   * live akey; with both, the array akey's visible extent with the highest end (or lowest start).
   */
  queryKey(cont: unknown, oid: unknown, epoch: unknown, which: 'max' | 'min', dkey?: unknown, akey?: unknown): QueryKeyResult {
    const { obj, epoch: e } = this.readChain(cont, oid, epoch)
    if (which !== 'max' && which !== 'min') throw new DerError('DER_INVAL', `queryKey needs 'max' or 'min'`)
    if (dkey === undefined) {
      if (akey !== undefined) throw new DerError('DER_INVAL', 'queryKey with an akey needs its dkey')
      if (obj === undefined) return {}
      const entries = which === 'max' ? obj.dkeys.entriesReverse() : obj.dkeys.entries()
      for (const [key, dk] of entries) if (this.dkeyLive(obj, dk, e)) return { dkey: key.slice() }
      return {}
    }
    checkKey(dkey, 'dkey', this.limits)
    const dk = obj?.dkeys.get(dkey)
    if (akey === undefined) {
      if (obj === undefined || dk === undefined) return {}
      const entries = which === 'max' ? dk.akeys.entriesReverse() : dk.akeys.entries()
      for (const [key, ak] of entries) if (this.akeyLive(ak, [obj.punches, dk.punches, ak.punches], e)) return { dkey, akey: key.slice() }
      return {}
    }
    checkKey(akey, 'akey', this.limits)
    const ak = dk?.akeys.get(akey)
    if (obj === undefined || dk === undefined || ak === undefined || ak.type !== 'array') return {}
    const floor = floorOf([obj.punches, dk.punches, ak.punches], e, true)
    const data = this.visibleExtents(ak, 0, this.limits.maxRecordIndex, e, floor).filter((p) => p.source?.data !== undefined)
    const piece = which === 'max' ? data[data.length - 1] : data[0]
    if (piece === undefined) return {}
    return { dkey, akey, recx: { index: piece.lo, count: piece.hi - piece.lo, epoch: (piece.source as ExtentRecord).epoch } }
  }

  /**
   * Every object of a container that holds any version or punch (visible or not, prepared
   * included), in id order, `limit` per page: what a rebuild scan walks.
   */
  listStoredObjects(cont: unknown, anchor: EnumAnchor | undefined, limit: number): EnumPage<ObjectId> {
    const node = this.container(cont)
    this.checkLimit(limit)
    let from: Uint8Array | undefined
    if (anchor !== undefined) {
      if (anchor.kind !== 'oid') throw new DerError('DER_INVAL', 'anchor is not an object anchor')
      checkObjectId(anchor.after)
      from = oidKey(anchor.after)
    }
    const items: ObjectId[] = []
    for (const [key] of node.objects.entries(from, true)) {
      if (items.length === limit) return { items, anchor: { kind: 'oid', after: items[items.length - 1] as ObjectId } }
      items.push(oidFromKey(key))
    }
    return { items, anchor: undefined }
  }

  /**
   * Plans a page of an object's history: committed versions and punches with their records
   * (the engine reads the values), prepared ones only named. See `Vos.objectHistory`.
   */
  historyPlan(cont: unknown, oid: unknown, after: unknown, maxDkeys: unknown, dkeyFilter: ((dkey: Uint8Array) => boolean) | undefined): HistoryPlan {
    const node = this.container(cont)
    checkObjectId(oid)
    if (after !== undefined) checkKey(after, 'anchor dkey', this.limits)
    this.checkLimit(maxDkeys)
    const obj = node.objects.get(oidKey(oid))
    const prepared = new Set<string>()
    const stamps = (list: readonly Version[]): VersionStamp[] => {
      const out: VersionStamp[] = []
      for (const v of list) {
        if (v.dtx !== undefined) prepared.add(v.dtx)
        else out.push({ epoch: v.epoch, seq: v.seq })
      }
      return out
    }
    if (obj === undefined) return { punches: [], dkeys: [], anchor: undefined, preparedDtx: [] }
    const punches = after === undefined ? stamps(obj.punches) : []
    const dkeys: HistoryPlan['dkeys'][number][] = []
    for (const [dkey, dk] of obj.dkeys.entries(after, true)) {
      if (dkeyFilter !== undefined && !dkeyFilter(dkey)) continue
      if (dkeys.length === maxDkeys) return { punches, dkeys, anchor: (dkeys[dkeys.length - 1] as { dkey: Uint8Array }).dkey, preparedDtx: [...prepared] }
      const akeys: HistoryPlan['dkeys'][number]['akeys'][number][] = []
      for (const [akey, ak] of dk.akeys.entries()) {
        const singles: SvRecord[] = []
        for (const r of ak.sv) {
          if (r.dtx !== undefined) prepared.add(r.dtx)
          else singles.push(r)
        }
        const extents: ExtentRecord[] = []
        for (const r of ak.ext.all()) {
          if (r.dtx !== undefined) prepared.add(r.dtx)
          else extents.push(r)
        }
        akeys.push({ akey: akey.slice(), type: ak.type, recordSizeBytes: ak.recordSizeBytes, punches: stamps(ak.punches), singles, extents })
      }
      dkeys.push({ dkey: dkey.slice(), punches: stamps(dk.punches), akeys })
    }
    return { punches, dkeys, anchor: undefined, preparedDtx: [...prepared] }
  }

  /**
   * Whether a committed version or punch at exactly `epoch` exists at a place of an object (for
   * idempotent history replay): the object's punches, a dkey's punches, or an akey's punches,
   * single values or extents `[lo, hi)`.
   */
  holdsVersion(cont: string, oid: ObjectId, epoch: Epoch, at: VersionPlace): boolean {
    const obj = this.containers.get(cont)?.objects.get(oidKey(oid))
    if (obj === undefined) return false
    const committedAt = (list: readonly Version[]): boolean => list.some((v) => v.epoch === epoch && v.dtx === undefined)
    if (at.level === 'object') return committedAt(obj.punches)
    const dk = obj.dkeys.get(at.dkey)
    if (dk === undefined) return false
    if (at.level === 'dkey') return committedAt(dk.punches)
    const ak = dk.akeys.get(at.akey)
    if (ak === undefined) return false
    if (at.level === 'akey') return committedAt(ak.punches)
    if (at.level === 'single') return committedAt(ak.sv)
    const { lo, hi } = at
    return ak.ext.overlapping(lo, hi).some((r) => r.lo === lo && r.hi === hi && r.epoch === epoch && r.dtx === undefined)
  }

  /** Calls `visit` with every stored value (for rebuilding the allocator and for scrubbing). */
  forEachStored(visit: (data: StoredData) => void): void {
    for (const node of this.containers.values()) {
      for (const [, obj] of node.objects.entries()) {
        for (const [, dk] of obj.dkeys.entries()) {
          for (const [, ak] of dk.akeys.entries()) {
            for (const r of ak.sv) visit(r.data)
            for (const r of ak.ext.all()) if (r.data !== undefined) visit(r.data)
          }
        }
      }
    }
  }

  /** Re-links prepared records to their DTX entries after a checkpoint load. */
  relinkDtx(entries: readonly { id: string; cont: string; epoch: Epoch }[]): void {
    for (const e of entries) this.dtxActive.set(e.id, { ...e, touched: [] })
    for (const node of this.containers.values()) {
      for (const [, obj] of node.objects.entries()) {
        const link = (chain: Holder[], list: Touched['list'], holder: Holder, record: Version): void => {
          if (record.dtx === undefined) return
          const entry = this.dtxActive.get(record.dtx)
          assert(entry !== undefined, `prepared record of unknown DTX ${record.dtx}`)
          this.touch(entry, node, chain, list, holder, record)
        }
        for (const p of obj.punches) link([obj], 'punch', obj, p)
        for (const [, dk] of obj.dkeys.entries()) {
          for (const p of dk.punches) link([obj, dk], 'punch', dk, p)
          for (const [, ak] of dk.akeys.entries()) {
            for (const p of ak.punches) link([obj, dk, ak], 'punch', ak, p)
            for (const r of ak.sv) link([obj, dk, ak], 'sv', ak, r)
            for (const r of ak.ext.all()) link([obj, dk, ak], 'ext', ak, r)
          }
        }
      }
    }
  }
}

/** The newest single-value version at or below `epoch`. */
function latestAtOrBelow(list: readonly SvRecord[], epoch: Epoch): SvRecord | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i] as SvRecord
    if (r.epoch <= epoch) return r
  }
  return undefined
}

/** Orders byte keys (re-exported for callers that sort keys like the trees do). */
export { compareBytes }
export { vosEpochMax }
