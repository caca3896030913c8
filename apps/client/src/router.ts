/**
 * Routing and retries of object RPCs for one pool: picks shards by `@x/protocol` placement
 * (writes to the group leader, which for erasure-coded classes is the last parity shard; reads to
 * a replica, or for EC to a data shard, with failover to the others), adopts newer pool
 * maps on `DER_STALE` (from the reply or the refresh callback) and resends, retries
 * `DER_INPROGRESS` and unreachable leaders with bounded exponential backoff on the `Runtime`, and
 * surfaces every other failure as a typed `DerError`.
 *
 * @module
 */
import type { Context } from '@x/cart'
import { DerError, isDerError, toDerError, type Runtime } from '@x/common'
import { type ObjectId, type ObjectLayout, type PoolMap, type ShardPlacement, groupLeader, placeObject, poolTargets, targetById } from '@x/protocol'

/** Returns the latest pool map the caller knows (from the pool service), or undefined. */
export type RefreshPoolMap = (knownVersion: number) => Promise<PoolMap | undefined>

/** Retry policy of object RPCs. */
export interface RetryPolicy {
  /** Most attempts per RPC (default 12). */
  readonly maxAttempts?: number
  /** First backoff delay (default 10 ms); it doubles up to `maxDelayMs`. */
  readonly baseDelayMs?: number
  /** Longest backoff delay (default 400 ms). */
  readonly maxDelayMs?: number
  /** RPC timeout (default 3,000 ms). */
  readonly timeoutMs?: number
}

/** Options of {@link ObjectRouter}. */
export interface ObjectRouterOptions {
  /** A cart context whose primary group maps engine ranks to URIs (tag = target index). */
  readonly context: Context
  readonly runtime: Runtime
  readonly poolUuid: string
  /** The pool map to start with. */
  readonly poolMap: PoolMap
  /** Asked for a newer map on `DER_STALE` without a map and when a leader is unreachable. */
  readonly refreshMap?: RefreshPoolMap
  /** The pool handle UUID (default zero). */
  readonly poolHandle?: string
  readonly retry?: RetryPolicy
}

/** What every object reply carries. */
export interface ObjectReply {
  readonly rc: number
  readonly message: string
  readonly mapVersion: number
  readonly poolMap?: PoolMap | undefined
}

/** Counters of the router's retry paths (for tests and metrics). */
export interface RouterStats {
  /** RPCs sent. */
  rpcs: number
  /** Resends after `DER_STALE`. */
  staleResends: number
  /** Map refreshes through the callback that produced a newer map. */
  refreshes: number
  /** Retries after `DER_INPROGRESS` or an unreachable leader. */
  retries: number
  /** Reads moved to another replica. */
  failovers: number
}

const unreachable = ['DER_UNREACH', 'DER_TIMEDOUT', 'DER_CANCELED', 'DER_HG'] as const

function isUnreachable(error: unknown): boolean {
  return unreachable.some((name) => isDerError(error, name))
}

/** Routes object RPCs of one pool (see the module comment). */
export class ObjectRouter {
  private map: PoolMap
  private readonly layouts = new Map<string, ObjectLayout>()
  private readRotor = 0
  /** Counters of the retry paths. */
  readonly stats: RouterStats = { rpcs: 0, staleResends: 0, refreshes: 0, retries: 0, failovers: 0 }

  constructor(readonly options: ObjectRouterOptions) {
    this.map = options.poolMap
  }

  /** The pool map in use. */
  get poolMap(): PoolMap {
    return this.map
  }

  /** The RPC timeout. */
  get timeoutMs(): number {
    return this.options.retry?.timeoutMs ?? 3000
  }

  /** The layout of `oid` under the current map (cached per map version). */
  layout(oid: ObjectId): ObjectLayout {
    const key = `${this.map.version}/${oid.hi}.${oid.lo}`
    let found = this.layouts.get(key)
    if (found === undefined) {
      if (this.layouts.size > 4096) this.layouts.clear()
      found = placeObject(this.map, oid)
      this.layouts.set(key, found)
    }
    return found
  }

  /** Adopts `map` when it is newer; returns whether it was. */
  adopt(map: PoolMap | undefined): boolean {
    if (map === undefined || map.version <= this.map.version) return false
    this.map = map
    this.layouts.clear()
    return true
  }

  private async refresh(): Promise<boolean> {
    const hook = this.options.refreshMap
    if (hook === undefined) return false
    const newer = this.adopt(await hook(this.map.version))
    if (newer) this.stats.refreshes++
    return newer
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.options.retry?.baseDelayMs ?? 10
    const max = this.options.retry?.maxDelayMs ?? 400
    return this.options.runtime.timers.sleep(Math.min(max, base * 2 ** Math.min(attempt, 16)))
  }

  /** The group leader's shard (writes). */
  leader(oid: ObjectId, group: number): ShardPlacement[] {
    const lead = groupLeader(this.layout(oid), group)
    return lead === undefined ? [] : [lead]
  }

  /**
   * The group's available replicas, starting from a rotating one (reads spread over replicas);
   * for a replicated object only the caught-up ones when there are any (not on a reintegrating
   * `UP` target, not remapped while a rebuild may still fill them).
   * For an erasure-coded object: its data shards that still sit on their own targets first
   * (rotating), then the parity and moved shards. Any shard of an EC group serves a read: the
   * engine gathers the cells from the data shards and, when one is unavailable, reconstructs it
   * from parity (the degraded path), so failing over to the next shard is always possible.
   */
  replicas(oid: ObjectId, group: number): ShardPlacement[] {
    const layout = this.layout(oid)
    const shards = (layout.groups[group]?.shards ?? []).filter((s) => s.targetId !== undefined)
    if (shards.length === 0) return shards
    if (layout.oclass.redundancy.kind === 'erasure') {
      const data = shards.filter((s) => s.role === 'data' && !s.remapped)
      const rest = shards.filter((s) => !data.includes(s))
      if (data.length === 0) return rest
      const start = this.readRotor++ % data.length
      return [...data.slice(start), ...data.slice(0, start), ...rest]
    }
    // A replica whose target is being reintegrated (`UP`: back in the layout, its data not caught
    // up until rebuild makes it `UPIN`), or a shard remapped away from a lost target while a
    // rebuild may still be filling it (some target is `DOWN`), may miss acknowledged writes: read
    // the others, and those only when no other replica is left.
    const rebuilding = poolTargets(this.map).some((t) => t.state === 'DOWN')
    const caughtUp = shards.filter((s) => !(rebuilding && s.remapped) && (s.targetId === undefined || targetById(this.map, s.targetId)?.state !== 'UP'))
    const readable = caughtUp.length > 0 ? caughtUp : shards
    const start = this.readRotor++ % readable.length
    return [...readable.slice(start), ...readable.slice(0, start)]
  }

  /**
   * Sends `send` to the shards `pick` returns until one answers 0. Reads (`failover`) move to the
   * next replica when one is unreachable; writes refresh the map and retry with backoff.
   */
  async run<R extends ObjectReply>(pick: () => ShardPlacement[], send: (shard: ShardPlacement, mapVersion: number) => Promise<R>, failover: boolean): Promise<R> {
    const maxAttempts = this.options.retry?.maxAttempts ?? 12
    let skip = 0
    let last: DerError | undefined
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const shards = pick()
      const shard = shards[skip % Math.max(1, shards.length)]
      if (shard === undefined || shard.rank === undefined || shard.targetIndex === undefined) {
        if (await this.refresh()) continue
        throw new DerError('DER_UNREACH', `no available shard (pool map version ${this.map.version})`)
      }
      let reply: R
      this.stats.rpcs++
      try {
        reply = await send(shard, this.map.version)
      } catch (error) {
        last = toDerError(error)
        if (!isUnreachable(error)) throw last
        if (failover && skip + 1 < shards.length) {
          skip++
          this.stats.failovers++
          continue
        }
        // The leader (or every replica) is unreachable: a newer map may name another leader.
        if (await this.refresh()) {
          skip = 0
          continue
        }
        throw new DerError(last.name, `rank ${shard.rank} target ${shard.targetIndex} is unreachable: ${last.message}`, { cause: last })
      }
      if (reply.rc === 0) return reply
      last = DerError.fromCode(reply.rc, reply.message)
      if (last.name === 'DER_STALE') {
        this.stats.staleResends++
        if (!this.adopt(reply.poolMap) && !(await this.refresh())) await this.backoff(attempt)
        continue
      }
      if (last.name === 'DER_INPROGRESS' || last.name === 'DER_NOTLEADER' || last.name === 'DER_BUSY') {
        this.stats.retries++
        await this.backoff(attempt)
        continue
      }
      throw last
    }
    throw last ?? new DerError('DER_TIMEDOUT', `out of attempts after ${maxAttempts}`)
  }
}
