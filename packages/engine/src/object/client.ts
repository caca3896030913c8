/**
 * A small object I/O client over cart: sends updates and punches to the group leader and reads to
 * a replica (for replicated objects, never one whose target is being reintegrated, state `UP`,
 * while another replica's target is caught up), refreshes its pool map and resends on `DER_STALE`, retries `DER_INPROGRESS` after a
 * delay, and fails reads over to the next replica when one is unreachable. The full client library
 * builds on the same messages; this one serves tests and tools. The client's cart must have
 * `objectProtocol` registered and its primary group must map engine ranks to the URIs of
 * their per-target contexts (tag = target index).
 *
 * @module
 */
import type { Context } from '@x/cart'
import { DerError, isDerError, toDerError, type Runtime } from '@x/common'
import {
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
  placeObject,
  poolTargets,
  targetById,
} from '@x/protocol'
import { type AkeyFetch, type AkeyUpdate, type QueryKeyResult, compareBytes } from '@x/vos'
import { type FetchedValue, decodeAnchor, fetchesToWire, updatesToWire } from './convert.ts'

/** Options of {@link ObjectClient}. */
export interface ObjectClientOptions {
  /** A cart context of the client (its cart's primary group maps ranks to engine URIs). */
  readonly context: Context
  readonly runtime: Runtime
  readonly poolUuid: string
  readonly containerUuid: string
  /** The pool map the client starts with (replaced by newer ones from `DER_STALE` replies). */
  readonly poolMap: PoolMap
  /** Pool and container handles (default: zero UUIDs). */
  readonly poolHandle?: string
  readonly containerHandle?: string
  /** RPC timeout (default 5,000 ms). */
  readonly timeoutMs?: number
  /** Delay before resending after a retryable error (default 20 ms). */
  readonly retryDelayMs?: number
  /** Most attempts per operation (default 20). */
  readonly maxAttempts?: number
}

/** Where a read goes: a shard index inside the dkey's group (default: the leader, then the others). */
export interface ObjectReadOptions {
  /** Position of the replica in its group to read from first. */
  readonly replica?: number
  /** Read epoch (default: now at the engine). */
  readonly epoch?: bigint
}

const zeroUuid = '00000000-0000-0000-0000-000000000000'

interface Reply {
  rc: number
  message: string
  mapVersion: number
  epoch: bigint
  poolMap: PoolMap | undefined
}

/** An object I/O client of one container (see the module comment). */
export class ObjectClient {
  private map: PoolMap
  private readonly layouts = new Map<string, ObjectLayout>()
  /** How many times a `DER_STALE` reply made the client resend. */
  staleRetries = 0

  constructor(private readonly options: ObjectClientOptions) {
    this.map = options.poolMap
  }

  /** The client's pool map. */
  get poolMap(): PoolMap {
    return this.map
  }

  /** The layout of `oid` under the client's map. */
  layout(oid: ObjectId): ObjectLayout {
    const key = `${this.map.version}/${oid.hi}.${oid.lo}`
    let l = this.layouts.get(key)
    if (l === undefined) {
      l = placeObject(this.map, oid)
      this.layouts.set(key, l)
    }
    return l
  }

  private base(oid: ObjectId, shard: number, epoch = 0n): { poolUuid: string; handleUuid: string; mapVersion: number; containerUuid: string; containerHandle: string; oid: ObjectId; shard: number; epoch: bigint; epochFirst: bigint; dtx: undefined } {
    return {
      poolUuid: this.options.poolUuid,
      handleUuid: this.options.poolHandle ?? zeroUuid,
      mapVersion: this.map.version,
      containerUuid: this.options.containerUuid,
      containerHandle: this.options.containerHandle ?? zeroUuid,
      oid,
      shard,
      epoch,
      epochFirst: 0n,
      dtx: undefined,
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.options.runtime.timers.sleep(ms)
  }

  /**
   * Runs `send` against the shards `pick` chooses until it succeeds: `DER_STALE` adopts the newer
   * map (or waits when the engine is behind) and resends; `DER_INPROGRESS` waits and resends;
   * unreachable shards are skipped when `failover` is set.
   */
  private async run<R extends Reply>(pick: () => readonly ShardPlacement[], send: (s: ShardPlacement) => Promise<R>, failover: boolean): Promise<R> {
    const maxAttempts = this.options.maxAttempts ?? 20
    const delay = this.options.retryDelayMs ?? 20
    let skip = 0
    let last: DerError | undefined
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const shards = pick()
      const shard = shards[skip % Math.max(1, shards.length)]
      if (shard === undefined) throw new DerError('DER_UNREACH', 'no available shard')
      let reply: R
      try {
        reply = await send(shard)
      } catch (error) {
        last = toDerError(error)
        if (failover && (isDerError(error, 'DER_UNREACH') || isDerError(error, 'DER_TIMEDOUT') || isDerError(error, 'DER_CANCELED')) && skip + 1 < shards.length) {
          skip++
          continue
        }
        throw last
      }
      if (reply.rc === 0) return reply
      last = DerError.fromCode(reply.rc, reply.message)
      if (last.name === 'DER_STALE') {
        this.staleRetries++
        if (reply.poolMap !== undefined && reply.poolMap.version > this.map.version) this.map = reply.poolMap
        else await this.sleep(delay)
        continue
      }
      if (last.name === 'DER_INPROGRESS') {
        await this.sleep(delay)
        continue
      }
      throw last
    }
    throw last ?? new DerError('DER_TIMEDOUT', 'out of attempts')
  }

  private leaderOf(oid: ObjectId, dkey: Uint8Array | undefined): ShardPlacement[] {
    const layout = this.layout(oid)
    const group = dkey === undefined ? 0 : dkeyGroup(oid, dkey)
    const leader = groupLeader(layout, group)
    return leader === undefined ? [] : [leader]
  }

  private replicasOf(oid: ObjectId, dkey: Uint8Array, first: number | undefined): ShardPlacement[] {
    return this.replicasOfGroup(oid, dkeyGroup(oid, dkey), first)
  }

  private replicasOfGroup(oid: ObjectId, group: number, first: number | undefined): ShardPlacement[] {
    const layout = this.layout(oid)
    const shards = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined)
    if (first !== undefined) {
      const chosen = shards.find((s) => s.position === first)
      if (chosen === undefined) throw new DerError('DER_INVAL', `group ${group} has no available replica ${first}`)
      return [chosen, ...this.caughtUpFirst(shards.filter((s) => s !== chosen))]
    }
    if (layout.oclass.redundancy.kind === 'erasure') {
      // EC: any shard serves a read (the engine gathers and reconstructs); a data shard that was
      // not moved holds cells itself, so try those first.
      const data = shards.filter((s) => s.role === 'data' && !s.remapped)
      return [...data, ...shards.filter((s) => !data.includes(s))]
    }
    const leader = groupLeader(layout, group)
    return this.caughtUpFirst(leader === undefined ? shards : [leader, ...shards.filter((s) => s.shard !== leader.shard)])
  }

  /**
   * Replicated reads: the replicas whose target is not being reintegrated (state `UP`: back in
   * the layout, its data not caught up until `UPIN`) and that were not remapped while a rebuild
   * may still be filling them (some target `DOWN`), in order; all of them only when none is left.
   */
  private caughtUpFirst(shards: readonly ShardPlacement[]): ShardPlacement[] {
    // A shard remapped away from a lost target is filled by the rebuild that runs while that
    // target is DOWN: not read before that rebuild is done.
    const rebuilding = poolTargets(this.map).some((t) => t.state === 'DOWN')
    const caughtUp = shards.filter((s) => !(rebuilding && s.remapped) && (s.targetId === undefined || targetById(this.map, s.targetId)?.state !== 'UP'))
    return caughtUp.length > 0 ? caughtUp : [...shards]
  }

  private target(s: ShardPlacement): { rank: number; tag: number } {
    return { rank: s.rank as number, tag: s.targetIndex as number }
  }

  private callOptions(): { timeoutMs: number } {
    return { timeoutMs: this.options.timeoutMs ?? 5000 }
  }

  /** Writes akeys under `dkey` (through the group leader); resolves with the epoch. */
  async update(oid: ObjectId, dkey: Uint8Array, akeys: readonly AkeyUpdate[]): Promise<bigint> {
    const { iods, data } = updatesToWire(akeys)
    const reply = await this.run(
      () => this.leaderOf(oid, dkey),
      (s) => this.options.context.call(objUpdateRpc, this.target(s), { ...this.base(oid, s.shard), dkey, iods, data, forwardTo: [] }, this.callOptions()),
      false,
    )
    return reply.epoch
  }

  /** Reads akeys under `dkey`: per akey its record size (0 = absent) and bytes. */
  async fetch(oid: ObjectId, dkey: Uint8Array, akeys: readonly AkeyFetch[], options: ObjectReadOptions = {}): Promise<FetchedValue[]> {
    const iods = fetchesToWire(akeys)
    const reply = await this.run(
      () => this.replicasOf(oid, dkey, options.replica),
      (s) => this.options.context.call(objFetchRpc, this.target(s), { ...this.base(oid, s.shard, options.epoch ?? 0n), dkey, iods }, this.callOptions()),
      true,
    )
    return akeys.map((a, i) => ({ akey: a.akey, recordSizeBytes: Number(reply.recordSizes[i] ?? 0n), data: reply.data[i] ?? new Uint8Array(0) }))
  }

  /**
   * Punches the object (in every group, one DTX per group: not atomic across groups), some dkeys
   * (of one group), or some akeys of one dkey, through the leaders. Resolves with the last epoch.
   */
  async punch(oid: ObjectId, scope: 'object' | 'dkeys' | 'akeys', dkeys: readonly Uint8Array[] = [], akeys: readonly Uint8Array[] = []): Promise<bigint> {
    const groups = scope === 'object' ? this.layout(oid).groups.map((g) => g.group) : [dkeyGroup(oid, dkeys[0] ?? new Uint8Array(0))]
    let epoch = 0n
    for (const group of groups) {
      const reply = await this.run(
        () => {
          const leader = groupLeader(this.layout(oid), group)
          return leader === undefined ? [] : [leader]
        },
        (s) => this.options.context.call(objPunchRpc, this.target(s), { ...this.base(oid, s.shard), scope, dkeys: [...dkeys], akeys: [...akeys], forwardTo: [] }, this.callOptions()),
        false,
      )
      epoch = reply.epoch
    }
    return epoch
  }


  /**
   * Lists the dkeys of the object (every group, merged and sorted) or the akeys of a dkey,
   * following anchors. `options.replica` picks the replica to ask first in each group.
   */
  async listKeys(oid: ObjectId, dkey?: Uint8Array, options: ObjectReadOptions = {}): Promise<Uint8Array[]> {
    const groups = dkey === undefined ? this.layout(oid).groups.map((g) => g.group) : [dkeyGroup(oid, dkey)]
    const keys: Uint8Array[] = []
    for (const group of groups) {
      let anchor: Uint8Array = new Uint8Array(0)
      for (;;) {
        const reply = await this.run(
          () => this.replicasOfGroup(oid, group, options.replica),
          (s) =>
            this.options.context.call(
              objEnumerateRpc,
              this.target(s),
              { ...this.base(oid, s.shard, options.epoch ?? 0n), what: dkey === undefined ? 'dkeys' : 'akeys', dkey, akey: undefined, anchor, maxItems: 256 },
              this.callOptions(),
            ),
          true,
        )
        keys.push(...reply.keys)
        if (reply.done) break
        decodeAnchor(reply.anchor)
        anchor = reply.anchor
      }
    }
    return groups.length > 1 ? keys.sort(compareBytes) : keys
  }

  /**
   * The greatest (or least) dkey, akey of a dkey, or extent of an akey. The extent's `epoch` is
   * the read epoch (the wire reply carries no per-extent epoch).
   */
  async queryKey(oid: ObjectId, which: 'max' | 'min', dkey?: Uint8Array, akey?: Uint8Array, options: ObjectReadOptions = {}): Promise<QueryKeyResult> {
    const groups = dkey === undefined ? this.layout(oid).groups.map((g) => g.group) : [dkeyGroup(oid, dkey)]
    let best: QueryKeyResult = {}
    for (const group of groups) {
      const reply = await this.run(
        () => this.replicasOfGroup(oid, group, options.replica),
        (s) =>
          this.options.context.call(
            objQueryKeyRpc,
            this.target(s),
            {
              ...this.base(oid, s.shard, options.epoch ?? 0n),
              dkeyQuery: dkey === undefined ? which : 'none',
              akeyQuery: dkey !== undefined && akey === undefined ? which : 'none',
              recxQuery: akey !== undefined ? which : 'none',
              dkey,
              akey,
            },
            this.callOptions(),
          ),
        true,
      )
      const found: QueryKeyResult = {
        ...(reply.dkey === undefined ? {} : { dkey: reply.dkey }),
        ...(reply.akey === undefined ? {} : { akey: reply.akey }),
        ...(reply.recx === undefined ? {} : { recx: { index: Number(reply.recx.index), count: Number(reply.recx.count), epoch: reply.epoch } }),
      }
      if (groups.length === 1) return found
      // A dkey query over several groups: keep the greatest (or least) dkey found.
      if (found.dkey === undefined) continue
      if (best.dkey === undefined || compareBytes(found.dkey, best.dkey) * (which === 'max' ? 1 : -1) > 0) best = found
    }
    return best
  }

}
