/**
 * An open object (`daos_obj_open`): update, fetch, punch, list dkeys and akeys, and query-key,
 * routed through an {@link ObjectRouter}. Input is checked before any RPC (`DER_INVAL`).
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ObjectId, dkeyGroup, oidClass } from '@x/protocol'
import { type CallOptions, runWithEvent } from './events.ts'
import { enumerateRpc, fetchRpc, punchRpc, queryKeyRpc, updateRpc } from './messages.ts'
import type { ObjectRouter } from './router.ts'
import { checkBytes, checkCount, checkKey } from './validate.ts'

/** A run of `count` records from `index` of an array value, with its bytes on update. */
export interface Extent {
  readonly index: number
  readonly count: number
}

/** What to write under one akey: a single value, or records of an array value. */
export type AkeyWrite =
  | { readonly type: 'single'; readonly akey: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'array'; readonly akey: Uint8Array; readonly recordSizeBytes: number; readonly extents: readonly (Extent & { readonly data: Uint8Array })[] }

/** What to read under one akey. */
export type AkeyRead = { readonly type: 'single'; readonly akey: Uint8Array } | { readonly type: 'array'; readonly akey: Uint8Array; readonly extents: readonly Extent[] }

/** A value read: its record size (0 = absent) and bytes (extents concatenated for arrays). */
export interface ReadValue {
  readonly akey: Uint8Array
  readonly recordSizeBytes: number
  readonly data: Uint8Array
}

/** A query-key answer: the key found (if any) and, for an akey, its greatest or least extent. */
export interface KeyQueryResult {
  readonly dkey?: Uint8Array
  readonly akey?: Uint8Array
  readonly extent?: Extent
}

/** Where an object's requests belong. */
export interface ObjectScope {
  readonly poolUuid: string
  readonly poolHandle: string
  readonly containerUuid: string
  readonly containerHandle: string
}

/** Options of reads (an event too: see {@link CallOptions}). */
export interface ReadOptions extends CallOptions {
  /** Read epoch (default 0: now at the engine). */
  readonly epoch?: bigint
}

/** Whether `value` is an array (without narrowing a typed array to `any[]`). */
function isList(value: unknown): boolean {
  return Array.isArray(value)
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** An open object of a container (see the module comment). */
export class ObjectHandle {
  constructor(
    private readonly router: ObjectRouter,
    private readonly scope: ObjectScope,
    /** The object id (its class and type are in `hi`). */
    readonly oid: ObjectId,
  ) {}

  private base(shard: number, mapVersion: number, epoch = 0n): {
    poolUuid: string
    handleUuid: string
    mapVersion: number
    containerUuid: string
    containerHandle: string
    oid: ObjectId
    shard: number
    epoch: bigint
    epochFirst: bigint
    dtx: undefined
  } {
    const s = this.scope
    return { poolUuid: s.poolUuid, handleUuid: s.poolHandle, mapVersion, containerUuid: s.containerUuid, containerHandle: s.containerHandle, oid: this.oid, shard, epoch, epochFirst: 0n, dtx: undefined }
  }

  private target(rank: number | undefined, tag: number | undefined): { rank: number; tag: number } {
    return { rank: rank ?? 0, tag: tag ?? 0 }
  }

  private groups(): number[] {
    return this.router.layout(this.oid).groups.map((g) => g.group)
  }

  private call(): { timeoutMs: number } {
    return { timeoutMs: this.router.timeoutMs }
  }

  /** Writes akeys under `dkey` through the group leader; resolves with the epoch. */
  update(dkey: Uint8Array, writes: readonly AkeyWrite[], options?: CallOptions): Promise<bigint> {
    return runWithEvent(() => this.updateNow(dkey, writes), options)
  }

  private async updateNow(dkey: Uint8Array, writes: readonly AkeyWrite[]): Promise<bigint> {
    checkKey(dkey, 'dkey')
    if (!isList(writes) || writes.length === 0) throw new DerError('DER_INVAL', 'an update needs at least one akey')
    const iods: { akey: Uint8Array; type: 'single' | 'array'; recordSizeBytes: bigint; recxs: { index: bigint; count: bigint }[] }[] = []
    const data: Uint8Array[] = []
    for (const [i, w] of writes.entries()) {
      checkKey(w.akey, `akey ${i}`)
      if (w.type === 'single') {
        checkBytes(w.value, `value of akey ${i}`)
        iods.push({ akey: w.akey, type: 'single', recordSizeBytes: BigInt(w.value.length), recxs: [] })
        data.push(w.value)
        continue
      }
      if (w.type !== 'array') throw new DerError('DER_INVAL', `akey ${i}: unknown value type`)
      checkCount(w.recordSizeBytes, `recordSizeBytes of akey ${i}`, 1)
      if (w.extents.length === 0) throw new DerError('DER_INVAL', `akey ${i}: an array update needs extents`)
      for (const e of w.extents) {
        checkCount(e.index, `extent index of akey ${i}`)
        checkCount(e.count, `extent count of akey ${i}`, 1)
        checkBytes(e.data, `extent data of akey ${i}`)
        if (e.data.length !== e.count * w.recordSizeBytes) throw new DerError('DER_INVAL', `akey ${i}: extent of ${e.count} records needs ${e.count * w.recordSizeBytes} bytes, got ${e.data.length}`)
      }
      iods.push({ akey: w.akey, type: 'array', recordSizeBytes: BigInt(w.recordSizeBytes), recxs: w.extents.map((e) => ({ index: BigInt(e.index), count: BigInt(e.count) })) })
      data.push(concat(w.extents.map((e) => e.data)))
    }
    const group = dkeyGroup(this.oid, dkey)
    const reply = await this.router.run(
      () => this.router.leader(this.oid, group),
      (s, v) => this.router.options.context.call(updateRpc, this.target(s.rank, s.targetIndex), { ...this.base(s.shard, v), dkey, iods, data, forwardTo: [] }, this.call()),
      false,
    )
    return reply.epoch
  }

  /** Reads akeys under `dkey` from a replica (the next one when it is unreachable). */
  fetch(dkey: Uint8Array, reads: readonly AkeyRead[], options: ReadOptions = {}): Promise<ReadValue[]> {
    return runWithEvent(() => this.fetchNow(dkey, reads, options), options)
  }

  private async fetchNow(dkey: Uint8Array, reads: readonly AkeyRead[], options: ReadOptions): Promise<ReadValue[]> {
    checkKey(dkey, 'dkey')
    if (!isList(reads) || reads.length === 0) throw new DerError('DER_INVAL', 'a fetch needs at least one akey')
    for (const [i, r] of reads.entries()) {
      checkKey(r.akey, `akey ${i}`)
      if (r.type === 'array') {
        if (r.extents.length === 0) throw new DerError('DER_INVAL', `akey ${i}: an array fetch needs extents`)
        for (const e of r.extents) {
          checkCount(e.index, `extent index of akey ${i}`)
          checkCount(e.count, `extent count of akey ${i}`, 1)
        }
      } else if (r.type !== 'single') throw new DerError('DER_INVAL', `akey ${i}: unknown value type`)
    }
    const iods = reads.map((r) => ({
      akey: r.akey,
      type: r.type,
      recordSizeBytes: 0n,
      recxs: r.type === 'single' ? [] : r.extents.map((e) => ({ index: BigInt(e.index), count: BigInt(e.count) })),
    }))
    const group = dkeyGroup(this.oid, dkey)
    const reply = await this.router.run(
      () => this.router.replicas(this.oid, group),
      (s, v) => this.router.options.context.call(fetchRpc, this.target(s.rank, s.targetIndex), { ...this.base(s.shard, v, options.epoch ?? 0n), dkey, iods }, this.call()),
      true,
    )
    return reads.map((r, i) => ({ akey: r.akey, recordSizeBytes: Number(reply.recordSizes[i] ?? 0n), data: reply.data[i] ?? new Uint8Array(0) }))
  }

  /** Punches the whole object (every group, through the leaders). */
  punch(options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      for (const group of this.groups()) await this.punchGroup(group, 'object', [], [])
    }, options)
  }

  /** Punches dkeys (grouped by redundancy group). */
  punchDkeys(dkeys: readonly Uint8Array[], options?: CallOptions): Promise<void> {
    return runWithEvent(() => this.punchDkeysNow(dkeys), options)
  }

  private async punchDkeysNow(dkeys: readonly Uint8Array[]): Promise<void> {
    if (dkeys.length === 0) throw new DerError('DER_INVAL', 'punch needs at least one dkey')
    dkeys.forEach((d, i) => checkKey(d, `dkey ${i}`))
    const byGroup = new Map<number, Uint8Array[]>()
    for (const d of dkeys) {
      const g = dkeyGroup(this.oid, d)
      byGroup.set(g, [...(byGroup.get(g) ?? []), d])
    }
    for (const [group, keys] of byGroup) await this.punchGroup(group, 'dkeys', keys, [])
  }

  /** Punches akeys of one dkey. */
  punchAkeys(dkey: Uint8Array, akeys: readonly Uint8Array[], options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      checkKey(dkey, 'dkey')
      if (akeys.length === 0) throw new DerError('DER_INVAL', 'punch needs at least one akey')
      akeys.forEach((a, i) => checkKey(a, `akey ${i}`))
      await this.punchGroup(dkeyGroup(this.oid, dkey), 'akeys', [dkey], [...akeys])
    }, options)
  }

  private async punchGroup(group: number, scope: 'object' | 'dkeys' | 'akeys', dkeys: Uint8Array[], akeys: Uint8Array[]): Promise<void> {
    await this.router.run(
      () => this.router.leader(this.oid, group),
      (s, v) => this.router.options.context.call(punchRpc, this.target(s.rank, s.targetIndex), { ...this.base(s.shard, v), scope, dkeys, akeys, forwardTo: [] }, this.call()),
      false,
    )
  }

  private async enumerateGroup(group: number, dkey: Uint8Array | undefined, anchor: Uint8Array, maxItems: number, epoch: bigint): Promise<{ keys: Uint8Array[]; anchor: Uint8Array; done: boolean }> {
    const reply = await this.router.run(
      () => this.router.replicas(this.oid, group),
      (s, v) =>
        this.router.options.context.call(
          enumerateRpc,
          this.target(s.rank, s.targetIndex),
          { ...this.base(s.shard, v, epoch), what: dkey === undefined ? 'dkeys' : 'akeys', dkey, akey: undefined, anchor, maxItems },
          this.call(),
        ),
      true,
    )
    return { keys: reply.keys, anchor: reply.anchor, done: reply.done }
  }

  /**
   * One page of keys (`daos_obj_list_dkey` / `list_akey`): up to `maxItems` keys of group
   * `anchor.group` from `anchor.position`, and the anchor of the next page (`done` at the end).
   */
  listPage(dkey: Uint8Array | undefined, anchor: ListAnchor = startAnchor, maxItems = 256, options: ReadOptions = {}): Promise<{ keys: Uint8Array[]; anchor: ListAnchor }> {
    return runWithEvent(() => this.listPageNow(dkey, anchor, maxItems, options.epoch ?? 0n), options)
  }

  private async listPageNow(dkey: Uint8Array | undefined, anchor: ListAnchor, maxItems: number, epoch: bigint): Promise<{ keys: Uint8Array[]; anchor: ListAnchor }> {
    if (dkey !== undefined) checkKey(dkey, 'dkey')
    checkCount(maxItems, 'maxItems', 1)
    if (anchor.done) return { keys: [], anchor }
    const groups = dkey === undefined ? this.groups() : [dkeyGroup(this.oid, dkey)]
    const at = dkey === undefined ? anchor.group : 0
    const group = groups[at]
    if (group === undefined) throw new DerError('DER_INVAL', `list anchor names group ${anchor.group} of ${groups.length}`)
    const page = await this.enumerateGroup(group, dkey, anchor.position, maxItems, epoch)
    const next: ListAnchor = page.done ? (at + 1 < groups.length ? { group: at + 1, position: new Uint8Array(0), done: false } : { group: at, position: new Uint8Array(0), done: true }) : { group: at, position: page.anchor, done: false }
    return { keys: page.keys, anchor: next }
  }

  private async listAll(dkey: Uint8Array | undefined, options: ReadOptions): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = []
    let anchor = startAnchor
    while (!anchor.done) {
      const page = await this.listPageNow(dkey, anchor, 256, options.epoch ?? 0n)
      keys.push(...page.keys)
      anchor = page.anchor
    }
    return keys.sort(compareBytes)
  }

  /** Every dkey of the object (all groups, sorted bytewise). */
  listDkeys(options: ReadOptions = {}): Promise<Uint8Array[]> {
    return runWithEvent(() => this.listAll(undefined, options), options)
  }

  /** Every akey of `dkey` (sorted bytewise). */
  listAkeys(dkey: Uint8Array, options: ReadOptions = {}): Promise<Uint8Array[]> {
    return runWithEvent(async () => {
      checkKey(dkey, 'dkey')
      return this.listAll(dkey, options)
    }, options)
  }

  /**
   * The greatest (or least) dkey of the object (no `dkey`), akey of `dkey` (no `akey`), or extent
   * of `akey` under `dkey` (`daos_obj_query_key`).
   */
  queryKey(which: 'max' | 'min', dkey?: Uint8Array, akey?: Uint8Array, options: ReadOptions = {}): Promise<KeyQueryResult> {
    return runWithEvent(() => this.queryKeyNow(which, dkey, akey, options), options)
  }

  private async queryKeyNow(which: 'max' | 'min', dkey: Uint8Array | undefined, akey: Uint8Array | undefined, options: ReadOptions): Promise<KeyQueryResult> {
    if (which !== 'max' && which !== 'min') throw new DerError('DER_INVAL', `query-key takes max or min, not ${String(which)}`)
    if (dkey !== undefined) checkKey(dkey, 'dkey')
    if (akey !== undefined) {
      if (dkey === undefined) throw new DerError('DER_INVAL', 'an akey query needs its dkey')
      checkKey(akey, 'akey')
    }
    const groups = dkey === undefined ? this.groups() : [dkeyGroup(this.oid, dkey)]
    let best: KeyQueryResult = {}
    for (const group of groups) {
      const reply = await this.router.run(
        () => this.router.replicas(this.oid, group),
        (s, v) =>
          this.router.options.context.call(
            queryKeyRpc,
            this.target(s.rank, s.targetIndex),
            {
              ...this.base(s.shard, v, options.epoch ?? 0n),
              dkeyQuery: dkey === undefined ? which : 'none',
              akeyQuery: dkey !== undefined && akey === undefined ? which : 'none',
              recxQuery: akey !== undefined ? which : 'none',
              dkey,
              akey,
            },
            this.call(),
          ),
        true,
      )
      const found: KeyQueryResult = {
        ...(reply.dkey === undefined ? {} : { dkey: reply.dkey }),
        ...(reply.akey === undefined ? {} : { akey: reply.akey }),
        ...(reply.recx === undefined ? {} : { extent: { index: Number(reply.recx.index), count: Number(reply.recx.count) } }),
      }
      if (groups.length === 1) return found
      if (found.dkey === undefined) continue
      if (best.dkey === undefined || compareBytes(found.dkey, best.dkey) * (which === 'max' ? 1 : -1) > 0) best = found
    }
    return best
  }

  /** The object's class name (`RP_3G1`). */
  get className(): string {
    return oidClass(this.oid).name
  }
}

/** Where a key listing continues: a redundancy group and the engine's anchor inside it. */
export interface ListAnchor {
  readonly group: number
  readonly position: Uint8Array
  /** The listing reached the end. */
  readonly done: boolean
}

/** The anchor of a listing's first page. */
export const startAnchor: ListAnchor = Object.freeze({ group: 0, position: new Uint8Array(0), done: false })
