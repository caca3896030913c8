/**
 * {@link SystemNode}: one engine of a multi-engine system, fabric-agnostic and driven by an
 * injected `Runtime`. See the `system` module comment for the whole picture.
 *
 * @module
 */
import { Cart, type RpcTarget } from '@x/cart'
import { DerError, HybridLogicalClock, LogRoot, type Logger, type Random, type Runtime, type TimerHandle, isDerError, nullLogSink, toDerError } from '@x/common'
import {
  ObjectType,
  type PoolMap,
  type PoolMapOperation,
  type TargetSelector,
  type TargetStateName,
  applyPoolMapOperation,
  buildPoolMap,
  decodePoolMap,
  encodePoolMap,
  formatObjectId,
  generateObjectId,
  isTargetAvailable,
  parseObjectClass,
  objectMaxMessageBytes,
  poolMapFit,
  poolTargets,
  targetStateCounts,
} from '@x/protocol'
import { RaftTicker, type Storage } from '@x/raft'
import type { Fabric } from '@x/rdma-transport'
import { checkLabel, checkUuid } from '../properties.ts'
import { ManagementMachine, type Member, type MgmtCommand, type PoolRecord, decodeJoinResult, encodeMgmtCommand } from '../management-service.ts'
import { MembershipAgent, type MembershipAgentOptions, type RankStateEvent } from '../membership/index.ts'
import { ObjectService } from '../object/index.ts'
import { RebuildService } from '../rebuild/index.ts'
import { type PoolCommand, PoolServiceMachine, encodePoolCommand } from '../pool-service.ts'
import { ReplicatedService, leaderHintOf, notLeaderError } from '../rsm.ts'
import type { TargetSet } from '../target/index.ts'
import { type Value, type ValueRecord, ValueReader, isRecord, mapToRecord } from '../value.ts'
import { PoolRpcDispatcher, PoolScopedCart } from './pool-cart.ts'
import { RaftRouter } from './raft-transport.ts'
import { type SystemCallOutput, decodeArgs, encodeArgs, errorReply, isRetryable, mgmtCallRpc, mgmtProtocol, okReply, poolCallRpc, poolProtocol, unwrapReply } from './rpc.ts'
import type {
  ContainerAttrsResponse,
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerCreateSnapRequest,
  ContainerDelAttrRequest,
  ContainerDestroyRequest,
  ContainerDestroyResponse,
  ContainerDestroySnapRequest,
  ContainerGetAttrRequest,
  ContainerGetPropRequest,
  ContainerIdRequest,
  ContainerListAttrsResponse,
  ContainerListRequest,
  ContainerListResponse,
  ContainerListSnapsResponse,
  ContainerQueryResponse,
  ContainerSetAttrRequest,
  ContainerSetPropRequest,
  ContainerSnapResponse,
  PoolAclRequest,
  PoolAclResponse,
  PoolConnectRequest,
  PoolConnectResponse,
  PoolCreateRequest,
  PoolCreateResponse,
  PoolDeleteAclRequest,
  PoolDestroyRequest,
  PoolDestroyResponse,
  PoolDisconnectRequest,
  PoolEvictRequest,
  PoolEvictResponse,
  PoolGetPropRequest,
  PoolIdRequest,
  PoolInfo,
  PoolListResponse,
  PoolMapResponse,
  PoolQueryResponse,
  PoolRebuildStatus,
  PoolSetPropRequest,
  PoolTargetsRequest,
  PropertiesResponse,
  RankUris,
  SystemMember,
  SystemQueryRequest,
  SystemQueryResponse,
  SystemRanksRequest,
  SystemRanksResponse,
} from './types.ts'

/** Container attribute holding the container's KV object id (`hi.lo`), set at create. */
export const kvOidAttribute = 'x.kv_oid'
/** Container attribute holding the container type (`KV` or `POSIX`). */
export const containerTypeAttribute = 'x.type'
/** Container attribute holding the KV object's class. */
export const containerOclassAttribute = 'x.oclass'
/** The `lo` of a container's KV object id (ids are scoped by container, so every container uses the same one). */
export const kvObjectLo = 1n

/** An access point: an engine running a management-service replica. */
export interface AccessPoint {
  /** Its Raft id in the `ms` group (>= 1, unique). */
  readonly msId: number
  /** The cart URI of its context 0. */
  readonly uri: string
}

/** Where the Raft logs of the node's groups live (`ms`, `pool/<uuid>`). */
export interface RaftStorageFactory {
  /** Opens the log of `group`, creating it with `voters` as its first membership when new. */
  open(group: string, voters: readonly number[]): Storage
  /** Forgets the log of `group` (its pool was destroyed). */
  remove?(group: string): void
  /** The node stops using `group`'s storage (close files). */
  release?(group: string): void
}

/** The identity of an engine: a UUID kept across restarts and an incarnation raised by each start. */
export interface SystemIdentity {
  readonly uuid: string
  /** >= 1; must grow across restarts (the management service refuses an old one). */
  readonly incarnation: number
}

/** Timings of a {@link SystemNode} (virtual or real milliseconds). */
export interface SystemTiming {
  /** Raft tick. */
  readonly tickMs: number
  /** Raft election timeout in ticks. */
  readonly electionTicks: number
  /** Raft heartbeat in ticks. */
  readonly heartbeatTicks: number
  /** Timeout of a forwarded request to a leader (pool create and destroy wait longer). */
  readonly rpcTimeoutMs: number
  /** Timeout of long composite operations (pool create, destroy, exclusion). */
  readonly longRpcTimeoutMs: number
  /** Timeout of one Raft message RPC. */
  readonly raftRpcTimeoutMs: number
  /** First retry delay when a leader is unknown or unreachable (doubled up to `retryMaxMs`). */
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  /** Attempts before a forwarded request gives up with the last error. */
  readonly maxAttempts: number
  /** Period of the member-list pull from the management service. */
  readonly memberSyncMs: number
  /** Period of the pool-map pull from the pool services (the safety net of map pushes). */
  readonly mapPullMs: number
  /** How long `start` waits for the join. */
  readonly joinTimeoutMs: number
}

/** Default timings: 10 ms Raft ticks, elections after 100-200 ms. */
export const defaultSystemTiming: SystemTiming = {
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 2,
  rpcTimeoutMs: 5_000,
  longRpcTimeoutMs: 30_000,
  raftRpcTimeoutMs: 1_000,
  retryBaseMs: 20,
  retryMaxMs: 500,
  maxAttempts: 40,
  memberSyncMs: 1_000,
  mapPullMs: 2_000,
  joinTimeoutMs: 60_000,
}

/** What a rebuild run reports (the `RebuildService` of `src/rebuild` fits it). */
export interface RebuildRunStats {
  readonly objects: number
  readonly records: number
  readonly bytes: number
  readonly failures: number
}

/** One pool's rebuild on one engine (see {@link SystemNodeOptions.rebuild}). */
export interface RebuildRunner {
  /** Rebuilds after the map changed from `fromMap` to `toMap`; resolves with what this engine moved. */
  rebuild(maps: { readonly fromMap: PoolMap; readonly toMap: PoolMap }): Promise<RebuildRunStats>
  /** Stops it (the pool closes on this engine). */
  stop?(): void
}

/** The default {@link RebuildFactory}: `src/rebuild`'s `RebuildService`. */
export const defaultRebuildFactory: RebuildFactory = (args) => new RebuildService(args)

/** Makes a pool's {@link RebuildRunner} on an engine (it registers its handlers on `cart`, a pool-scoped view of the engine's cart). */
export type RebuildFactory = (args: {
  readonly cart: Cart
  readonly runtime: Runtime
  readonly rank: number
  readonly poolUuid: string
  readonly targets: TargetSet
  readonly logger: Logger
  /** Finishes a prepared DTX a rebuild push meets on target `tag` (the pool's object service); true when no longer prepared. */
  readonly resolvePrepared?: (tag: number, vosDtxId: string) => Promise<boolean>
}) => RebuildRunner

/** Options of {@link SystemNode.start}. */
export interface SystemNodeOptions {
  readonly runtime: Runtime
  /** The fabric the node's cart runs on (`MemoryFabric` in tests, `TcpFabric` in the daemon). */
  readonly fabric: Fabric
  /** The URI context `tag` listens on; one context per target (tag = target index); tag 0 also serves the system protocols. */
  readonly listen: (tag: number) => string
  /** The engine's targets (opened or formatted by the caller). */
  readonly targets: TargetSet
  /** Raft logs of the groups this node runs. */
  readonly storage: RaftStorageFactory
  readonly identity: SystemIdentity
  /** The engine's fault domain (`/host` or `/rack/host`); pool maps use it as the host. */
  readonly faultDomain: string
  /** The control server's `host:port`, recorded in the member list (unique among joined members). */
  readonly controlAddress: string
  /** The access points (engines running a management-service replica). */
  readonly accessPoints: readonly AccessPoint[]
  /** This node's `msId` when it is an access point. */
  readonly msId?: number
  readonly logger?: Logger
  readonly timing?: Partial<SystemTiming>
  /** SWIM between ranks (default: on with the `daos` profile); `false` turns it off. */
  readonly membership?: false | Pick<MembershipAgentOptions, 'profile' | 'config'>
  /** Object service tuning. */
  readonly objectService?: { readonly commitIntervalMs?: number; readonly replicaTimeoutMs?: number }
  /**
   * Rebuild after map changes (default: {@link defaultRebuildFactory}, `RebuildService`). With
   * `false`, exclusions still work but leave targets DOWN, and `pool query` says `unavailable`.
   */
  readonly rebuild?: RebuildFactory | false
}

interface RebuildTracker {
  version: number
  expected: Set<number>
  done: Set<number>
  failed: Set<number>
  objects: number
  records: number
  bytes: number
  state: PoolRebuildStatus['state']
  /** The closing map operations (rebuildDone / reintegrateDone) are running. */
  finishing: boolean
}

interface LocalPool {
  readonly uuid: string
  svcRanks: readonly number[]
  service: ReplicatedService<PoolServiceMachine> | undefined
  objects: ObjectService | undefined
  scoped: PoolScopedCart | undefined
  rebuild: RebuildRunner | undefined
  opening: Promise<void> | undefined
  /** The map the last rebuild on this rank ran to (rank side). */
  rebuiltMap: PoolMap | undefined
  rebuildChain: Promise<void>
  /** A rebuild run is queued and has not started. */
  rebuildPending: boolean
  /** The last successful rebuild report of this rank (re-sent while the map still waits for rebuilds). */
  lastReport: { readonly version: number; readonly report: Value } | undefined
  mapOpChain: Promise<unknown>
  tracker: RebuildTracker | undefined
  leaderHint: number
}

/** Retries of a failed rebuild run on a rank. */
const maxRebuildRetries = 5

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Operations any rank answers itself (the others need the MS leader). */
const rankOps = new Set(['nodeInfo', 'poolOpenTargets', 'poolStartService', 'poolClose', 'poolMapPush'])

function str(r: ValueReader, key: string): string {
  return r.string(key)
}

function optString(record: ValueRecord, key: string): string | undefined {
  const v = record[key]
  return typeof v === 'string' ? v : undefined
}

function checkStringRecord(value: unknown, what: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DerError('DER_INVAL', `${what} must map names to strings`)
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v !== 'string') throw new DerError('DER_INVAL', `${what}: '${k}' must be a string`)
  return { ...(value as Record<string, string>) }
}

function checkStrings(value: unknown, what: string, allowEmpty = true): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new DerError('DER_INVAL', `${what} must be a list of strings`)
  if (!allowEmpty && value.length === 0) throw new DerError('DER_INVAL', `${what}: none given`)
  return [...(value as string[])]
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 127) throw new DerError('DER_INVAL', `${what}: a label or UUID is required`)
  return value
}

function checkRank(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xfffffffe) throw new DerError('DER_INVAL', `${what}: bad rank ${String(value)}`)
  return value
}

function checkRanks(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new DerError('DER_INVAL', `${what}: give at least one rank`)
  const ranks = value.map((r) => checkRank(r, what))
  if (new Set(ranks).size !== ranks.length) throw new DerError('DER_INVAL', `${what}: a rank is repeated`)
  return ranks
}

function checkEpoch(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^[0-9]{1,20}$/.test(value)) throw new DerError('DER_INVAL', `${what}: epoch must be a decimal number`)
  const epoch = BigInt(value)
  if (epoch < 1n || epoch >= 0xffff_ffff_ffff_ffffn) throw new DerError('DER_INVAL', `${what}: epoch ${value} out of range`)
  return epoch
}

function poolInfoOf(p: PoolRecord): PoolInfo {
  return { uuid: p.uuid, label: p.label, state: p.state, sizeBytes: p.sizeBytes, svcRanks: [...p.svcRanks], tgtRanks: [...p.tgtRanks] }
}

function poolRecordValue(p: PoolRecord): Value {
  return { uuid: p.uuid, label: p.label, state: p.state, sizeBytes: p.sizeBytes, svcRanks: [...p.svcRanks], tgtRanks: [...p.tgtRanks] }
}

function poolRecordFrom(v: Value): PoolRecord {
  const r = ValueReader.of(v, 'pool record')
  return { uuid: r.string('uuid'), label: r.string('label'), state: r.string('state') as PoolRecord['state'], sizeBytes: r.uint('sizeBytes'), svcRanks: r.uints('svcRanks'), tgtRanks: r.uints('tgtRanks') }
}

function memberValue(m: Member): Value {
  return { rank: m.rank, uuid: m.uuid, addr: m.addr, fabricUri: m.fabricUri, uris: [...(m.uris ?? [m.fabricUri])], faultDomain: m.faultDomain, state: m.state, incarnation: m.incarnation, info: m.info }
}

function memberFrom(v: Value): SystemMember {
  const r = ValueReader.of(v, 'member')
  return { rank: r.uint('rank'), uuid: r.string('uuid'), addr: r.string('addr'), fabricUri: r.string('fabricUri'), uris: r.strings('uris'), faultDomain: r.string('faultDomain'), state: r.string('state'), incarnation: r.uint('incarnation'), info: r.string('info') }
}

/**
 * Picks `count` members spreading them over fault domains: round robin over the domains (sorted),
 * taking the lowest rank of each domain first.
 */
export function spreadRanks(members: readonly { readonly rank: number; readonly faultDomain: string }[], count: number): number[] {
  const byDomain = new Map<string, number[]>()
  for (const m of [...members].sort((a, b) => a.rank - b.rank)) {
    const list = byDomain.get(m.faultDomain) ?? []
    list.push(m.rank)
    byDomain.set(m.faultDomain, list)
  }
  const domains = [...byDomain.keys()].sort()
  const out: number[] = []
  for (let round = 0; out.length < count; round++) {
    let any = false
    for (const d of domains) {
      const r = byDomain.get(d)?.[round]
      if (r === undefined) continue
      any = true
      out.push(r)
      if (out.length === count) break
    }
    if (!any) break
  }
  return out.sort((a, b) => a - b)
}

/** Whether some target of `map` waits for a rebuild to finish (DOWN, UP or DRAIN). */
function hasPendingTargets(map: PoolMap): boolean {
  return poolTargets(map).some((t) => t.state === 'DOWN' || t.state === 'UP' || t.state === 'DRAIN')
}

/** Whether going from `from` to `to` moves data (a target became DOWN, UP or DRAIN). */
export function mapChangeNeedsRebuild(from: PoolMap, to: PoolMap): boolean {
  const before = new Map(poolTargets(from).map((t) => [t.id, t.state]))
  for (const t of poolTargets(to)) {
    if ((t.state === 'DOWN' || t.state === 'UP' || t.state === 'DRAIN') && before.get(t.id) !== t.state) return true
  }
  return false
}

const transportMarker = Symbol('transport')

/** Marks a failure of the RPC itself (not an answer of the remote operation). */
async function transport<T>(call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (e) {
    const error = toDerError(e)
    ;(error as { [transportMarker]?: boolean })[transportMarker] = true
    throw error
  }
}

/**
 * Whether a forwarded request should go to another replica: `DER_NOTLEADER` and `DER_SHUTDOWN`
 * answers, and transport failures (unreachable, timed out, unknown rank). Any other answer of the
 * remote operation is its verdict.
 */
function shouldRetry(e: unknown): boolean {
  if (isDerError(e, 'DER_NOTLEADER') || isDerError(e, 'DER_SHUTDOWN')) return true
  return isRetryable(e) && (e as { [transportMarker]?: boolean })[transportMarker] === true
}

/** One engine of the system (see the `system` module comment). */
export class SystemNode {
  /** The engine's cart (contexts: one per target; tag 0 also serves the system protocols). */
  readonly cart: Cart
  readonly runtime: Runtime
  readonly targets: TargetSet
  private readonly options: SystemNodeOptions
  private readonly timing: SystemTiming
  private readonly logger: Logger
  private readonly random: Random
  private readonly ticker: RaftTicker
  private readonly router: RaftRouter
  private readonly dispatcher: PoolRpcDispatcher
  private readonly hlc: HybridLogicalClock
  private readonly pools = new Map<string, LocalPool>()
  private readonly apById = new Map<number, AccessPoint>()
  private ms: ReplicatedService<ManagementMachine> | undefined
  private msLeaderHint = 0
  private agent: MembershipAgent | undefined
  private rankValue: number | undefined
  private memberVersion = -1
  private memberSync: Promise<void> | undefined
  private timers: TimerHandle[] = []
  private stopped = false
  private readonly reportingDead = new Set<number>()
  /** Pools whose create or destroy this node (as MS leader) is running. */
  private readonly poolOpsInProgress = new Set<string>()
  /** Pools seen `creating` or `destroying` by the previous cleanup pass (not being worked on here). */
  private stuckPools = new Set<string>()
  private recovery: Promise<void> = Promise.resolve()

  private constructor(options: SystemNodeOptions, cart: Cart) {
    this.options = options
    this.runtime = options.runtime
    this.targets = options.targets
    this.cart = cart
    this.timing = { ...defaultSystemTiming, ...options.timing }
    this.logger = options.logger ?? cart.logger
    this.random = options.runtime.random.fork()
    this.ticker = new RaftTicker(options.runtime, this.timing.tickMs)
    this.hlc = new HybridLogicalClock(options.runtime.clock)
    for (const ap of options.accessPoints) this.apById.set(ap.msId, ap)
    this.dispatcher = new PoolRpcDispatcher(cart)
    this.router = new RaftRouter({
      cart,
      context: () => this.cart.contexts[0],
      resolve: (group, id) => this.resolveRaftPeer(group, id),
      onUnknownPeer: () => void this.syncMembers().catch(() => undefined),
      timeoutMs: this.timing.raftRpcTimeoutMs,
    })
    cart.registerProtocol(mgmtProtocol)
    cart.registerProtocol(poolProtocol)
    cart.handle(mgmtCallRpc, (rpc) => this.serveMgmt(rpc.input.op, rpc.input.args))
    cart.handle(poolCallRpc, (rpc) => this.servePool(rpc.input.target, rpc.input.op, rpc.input.args))
  }

  /**
   * Starts the node: opens one cart context per target, starts the management-service replica
   * when the node is an access point, joins the system through the MS leader (retrying until
   * `timing.joinTimeoutMs`), then, in the background, reopens the pools it serves and starts
   * SWIM. Nodes of one system must be started concurrently: the join needs an MS quorum.
   */
  static async start(options: SystemNodeOptions): Promise<SystemNode> {
    checkOptions(options)
    const cart = new Cart({ fabric: options.fabric, runtime: options.runtime, defaultTimeoutMs: 5_000, maxUnexpectedBytes: objectMaxMessageBytes, log: new LogRoot(nullLogSink, options.runtime.clock, 'error') })
    const node = new SystemNode(options, cart)
    try {
      for (let tag = 0; tag < options.targets.size; tag++) await cart.createContext({ listen: options.listen(tag) })
      const self = options.accessPoints.find((ap) => ap.msId === options.msId)
      const address = cart.contexts[0]?.address
      if (self !== undefined && address !== undefined && self.uri !== address && options.accessPoints.length > 1) {
        node.logger.warn('this access point listens at another URI than the access point list says; its MS peers cannot reach it', { msId: self.msId, listed: self.uri, actual: address })
      }
      if (options.msId !== undefined) node.startMs(options.msId)
      await node.join()
    } catch (e) {
      await node.stop().catch(() => undefined)
      throw e
    }
    node.afterJoin()
    return node
  }

  // ------------------------------------------------------------------ identity and state

  /** The node's rank (assigned at join). */
  get rank(): number {
    if (this.rankValue === undefined) throw new DerError('DER_UNINIT', 'the node has not joined yet')
    return this.rankValue
  }

  /** The node's `msId` when it is an access point. */
  get msId(): number | undefined {
    return this.options.msId
  }

  /** Whether this node's MS replica leads now. */
  get isMsLeader(): boolean {
    return this.ms?.isLeader() ?? false
  }

  /** The node's MS replica (access points only; for tests and tools). */
  get managementService(): ReplicatedService<ManagementMachine> | undefined {
    return this.ms
  }

  /** Whether the node runs (not stopped). */
  get running(): boolean {
    return !this.stopped
  }

  /**
   * Resolves when the background reopening of this rank's pools after `start` has finished
   * (object services and service replicas of every ready pool the MS lists for this rank); a pool
   * whose service does not answer is retried with backoff for minutes before a warning.
   */
  whenPoolsReopened(): Promise<void> {
    return this.recovery
  }

  /** UUIDs of the pools this node serves (targets or service replica). */
  localPools(): string[] {
    return [...this.pools.keys()].sort()
  }

  /** The object service of a pool on this node, if it runs here. */
  objectService(poolUuid: string): ObjectService | undefined {
    return this.pools.get(poolUuid.toLowerCase())?.objects
  }

  /** This node's replica of a pool's service, if it runs here. */
  poolService(poolUuid: string): ReplicatedService<PoolServiceMachine> | undefined {
    return this.pools.get(poolUuid.toLowerCase())?.service
  }

  /** The SWIM agent (undefined when membership is off or not started yet). */
  get membership(): MembershipAgent | undefined {
    return this.agent
  }

  /** Counters of the Raft transport. */
  get raftStats(): RaftRouter['stats'] {
    return this.router.stats
  }

  private groupOptions(): { ticker: RaftTicker; raft: { electionTicks: number; heartbeatTicks: number }; requestTimeoutMs: number } {
    return { ticker: this.ticker, raft: { electionTicks: this.timing.electionTicks, heartbeatTicks: this.timing.heartbeatTicks }, requestTimeoutMs: this.timing.rpcTimeoutMs }
  }

  private startMs(msId: number): void {
    const voters = [...this.apById.keys()].sort((a, b) => a - b)
    const storage = this.options.storage.open('ms', voters)
    const ms = new ReplicatedService({
      id: msId,
      runtime: this.runtime,
      storage,
      send: this.router.sender('ms'),
      machine: new ManagementMachine(),
      ...this.groupOptions(),
      onFatal: (e) => this.logger.error('management service replica failed', { error: String(e) }),
    })
    this.ms = ms
    this.router.attach('ms', ms)
    ms.start()
  }

  private resolveRaftPeer(group: string, id: number): RpcTarget | undefined {
    if (group === 'ms') {
      const ap = this.apById.get(id)
      return ap === undefined ? undefined : { uri: ap.uri }
    }
    const rank = id - 1
    if (rank < 0 || !this.cart.primaryGroup.has(rank)) return undefined
    return { rank, tag: 0 }
  }

  private async join(): Promise<void> {
    const uris = this.cart.contexts.map((c) => c.address)
    const args: Value = {
      uuid: this.options.identity.uuid,
      addr: this.options.controlAddress,
      fabricUri: uris[0] ?? '',
      uris,
      faultDomain: this.options.faultDomain,
      incarnation: this.options.identity.incarnation,
    }
    const until = this.runtime.clock.monotonicMs() + this.timing.joinTimeoutMs
    let lastError: unknown
    while (this.runtime.clock.monotonicMs() < until && !this.stopped) {
      try {
        const result = ValueReader.of(await this.msCall('join', args, { timeoutMs: this.timing.rpcTimeoutMs }), 'join result')
        const rank = result.uint('rank')
        this.rankValue = rank
        this.cart.rank = rank
        this.logger.info('joined', { rank, mapVersion: result.uint('mapVersion') })
        return
      } catch (e) {
        if (isDerError(e) && !isRetryable(e)) throw e
        lastError = e
        await this.runtime.timers.sleep(this.timing.retryMaxMs)
      }
    }
    throw new DerError('DER_TIMEDOUT', `join: no management-service leader answered within ${this.timing.joinTimeoutMs} ms (${lastError instanceof Error ? lastError.message : String(lastError)})`)
  }

  private afterJoin(): void {
    this.timers.push(this.runtime.timers.repeat(this.timing.memberSyncMs, () => void this.syncMembers().catch(() => undefined)))
    this.timers.push(this.runtime.timers.repeat(this.timing.mapPullMs, () => void this.pullMaps()))
    if (this.ms !== undefined) this.timers.push(this.runtime.timers.repeat(this.timing.mapPullMs * 5, () => void this.cleanupPools().catch(() => undefined)))
    void this.syncMembers()
      .catch(() => undefined)
      .then(() => this.startMembership())
    this.recovery = this.recoverPools().catch((e: unknown) => this.logger.warn('pool recovery did not finish', { error: String(e) }))
  }

  private startMembership(incarnation = this.options.identity.incarnation): void {
    if (this.stopped || this.options.membership === false || this.agent !== undefined) return
    const context = this.cart.contexts[0]
    if (context === undefined) return
    const extra = this.options.membership ?? {}
    this.agent = MembershipAgent.start({
      cart: this.cart,
      context,
      runtime: this.runtime,
      self: this.rank,
      members: this.joinedRanks,
      incarnation,
      ...(extra.profile === undefined ? {} : { profile: extra.profile }),
      ...(extra.config === undefined ? {} : { config: extra.config }),
      onEvent: (e) => this.onRankEvent(e),
      logger: this.logger,
    })
  }

  private joinedRanks: number[] = []

  /**
   * SWIM drops messages of ranks outside its member list, so a rank that joined the system after
   * this agent started may stay unknown to it; restart the agent with the whole list then.
   */
  private restartMembershipIfBehind(): void {
    const agent = this.agent
    if (agent === undefined || this.stopped) return
    const view = agent.view()
    const missing = this.joinedRanks.filter((r) => r !== this.rankValue && !view.has(r))
    if (missing.length === 0) return
    this.logger.info('restarting SWIM with the full member list', { missing })
    const incarnation = agent.incarnation
    agent.stop()
    this.agent = undefined
    this.startMembership(incarnation)
  }

  private onRankEvent(e: RankStateEvent): void {
    if (e.state !== 'dead' || this.stopped) return
    this.logger.warn('rank reported dead by SWIM', { rank: e.rank, incarnation: e.incarnation })
    this.reportDead(e.rank)
  }

  /** Tells the MS leader that SWIM sees `rank` dead (once at a time per rank; re-sent by the member sync while it stays so). */
  private reportDead(rank: number): void {
    if (this.reportingDead.has(rank) || this.stopped) return
    this.reportingDead.add(rank)
    void this.msCall('reportDead', { rank }, { timeoutMs: this.timing.longRpcTimeoutMs })
      .catch((err: unknown) => this.logger.warn('dead rank report failed', { rank, error: String(err) }))
      .finally(() => this.reportingDead.delete(rank))
  }

  /** Pulls the member list from the MS and updates the cart's primary group and SWIM's members. */
  syncMembers(): Promise<void> {
    if (this.memberSync !== undefined) return this.memberSync
    const run = (async (): Promise<void> => {
      const r = ValueReader.of(await this.msCall('members', {}, { maxAttempts: 3 }), 'members')
      const version = r.uint('mapVersion')
      if (version <= this.memberVersion) return
      const members = r.array('members').map(memberFrom)
      const group = this.cart.primaryGroup
      group.update(group.version + 1, members.filter((m) => m.uris.length > 0).map((m) => ({ rank: m.rank, uris: m.uris })))
      this.memberVersion = version
      this.joinedRanks = members.filter((m) => m.state === 'joined').map((m) => m.rank)
      this.agent?.setMembers(this.joinedRanks)
      this.restartMembershipIfBehind()
    })()
    this.memberSync = run.finally(() => {
      this.memberSync = undefined
      // A rank SWIM holds dead but the MS still has joined: report it again (an earlier report may have been lost in an MS election).
      const view = this.agent?.view()
      if (view !== undefined) for (const [rank, state] of view) if (state === 'dead' && this.joinedRanks.includes(rank)) this.reportDead(rank)
    })
    return this.memberSync
  }


  // ------------------------------------------------------------------ forwarding

  private nextDelay(attempt: number): number {
    const base = Math.min(this.timing.retryMaxMs, this.timing.retryBaseMs * 2 ** Math.min(attempt, 10))
    return base + this.random.int(Math.max(1, Math.floor(base / 2)))
  }

  /** Runs an MS operation on the MS leader (locally when this node leads). */
  private async msCall(op: string, args: Value, options: { timeoutMs?: number; maxAttempts?: number } = {}): Promise<Value> {
    const ids = [...this.apById.keys()].sort((a, b) => a - b)
    const maxAttempts = options.maxAttempts ?? this.timing.maxAttempts
    let target = this.msLeaderHint !== 0 && this.apById.has(this.msLeaderHint) ? this.msLeaderHint : (this.options.msId ?? ids[this.random.int(ids.length)] ?? 1)
    let lastError: unknown
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
      try {
        let result: Value
        if (target === this.options.msId && this.ms !== undefined) result = await this.runMsOp(op, args)
        else {
          const ap = this.apById.get(target)
          if (ap === undefined) throw new DerError('DER_UNREACH', `no access point ${target}`)
          const context = this.cart.contexts[0]
          if (context === undefined) throw new DerError('DER_SHUTDOWN', 'no cart context')
          const reply = await transport(context.call(mgmtCallRpc, { uri: ap.uri }, { target: '', op, args: encodeArgs(args) }, { timeoutMs: options.timeoutMs ?? this.timing.rpcTimeoutMs }))
          result = unwrapReply(reply)
        }
        this.msLeaderHint = target
        return result
      } catch (e) {
        if (!shouldRetry(e)) throw e
        lastError = e
        const hint = leaderHintOf(e)
        if (hint !== 0 && hint !== target && this.apById.has(hint)) {
          target = hint
          continue
        }
        this.msLeaderHint = 0
        const i = ids.indexOf(target)
        target = ids[(i + 1) % ids.length] ?? target
        await this.runtime.timers.sleep(this.nextDelay(attempt))
      }
    }
    throw toDerError(lastError)
  }

  /** Runs a rank operation on `rank` (locally when it is this node). */
  private async rankCall(rank: number, op: string, args: Value, timeoutMs = this.timing.rpcTimeoutMs): Promise<Value> {
    if (rank === this.rankValue) return this.runRankOp(op, args)
    const context = this.cart.contexts[0]
    if (context === undefined) throw new DerError('DER_SHUTDOWN', 'no cart context')
    if (!this.cart.primaryGroup.has(rank)) await this.syncMembers().catch(() => undefined)
    const reply = await context.call(mgmtCallRpc, { rank, tag: 0 }, { target: '', op, args: encodeArgs(args) }, { timeoutMs })
    return unwrapReply(reply)
  }

  /** Runs a pool operation on the pool service leader (locally when it leads here). */
  private async poolCall(uuid: string, svcRanks: readonly number[], op: string, args: Value, options: { timeoutMs?: number; maxAttempts?: number } = {}): Promise<Value> {
    const local = this.pools.get(uuid)
    const ids = svcRanks.map((r) => r + 1)
    if (ids.length === 0) throw new DerError('DER_NONEXIST', `pool ${uuid} has no service ranks`)
    let target = local !== undefined && local.leaderHint !== 0 && ids.includes(local.leaderHint) ? local.leaderHint : (ids[this.random.int(ids.length)] as number)
    const maxAttempts = options.maxAttempts ?? this.timing.maxAttempts
    let lastError: unknown
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
      try {
        let result: Value
        if (target - 1 === this.rankValue) result = await this.runPoolOp(uuid, op, args)
        else {
          const context = this.cart.contexts[0]
          if (context === undefined) throw new DerError('DER_SHUTDOWN', 'no cart context')
          if (!this.cart.primaryGroup.has(target - 1)) await this.syncMembers().catch(() => undefined)
          const reply = await transport(context.call(poolCallRpc, { rank: target - 1, tag: 0 }, { target: uuid, op, args: encodeArgs(args) }, { timeoutMs: options.timeoutMs ?? this.timing.rpcTimeoutMs }))
          result = unwrapReply(reply)
        }
        const p = this.pools.get(uuid)
        if (p !== undefined) p.leaderHint = target
        return result
      } catch (e) {
        if (!shouldRetry(e)) throw e
        lastError = e
        const hint = leaderHintOf(e)
        if (hint !== 0 && hint !== target && ids.includes(hint)) {
          target = hint
          continue
        }
        const i = ids.indexOf(target)
        target = ids[(i + 1) % ids.length] ?? target
        await this.runtime.timers.sleep(this.nextDelay(attempt))
      }
    }
    throw toDerError(lastError)
  }

  // ------------------------------------------------------------------ serving

  private async serveMgmt(op: string, argBytes: Uint8Array): Promise<SystemCallOutput> {
    try {
      const args = decodeArgs(argBytes)
      const result = rankOps.has(op) ? await this.runRankOp(op, args) : await this.runMsOp(op, args)
      return okReply(result)
    } catch (e) {
      return errorReply(e)
    }
  }

  private async servePool(uuid: string, op: string, argBytes: Uint8Array): Promise<SystemCallOutput> {
    try {
      const args = decodeArgs(argBytes)
      return okReply(await this.runPoolOp(uuid, op, args))
    } catch (e) {
      return errorReply(e)
    }
  }

  private msLeader(): ReplicatedService<ManagementMachine> {
    if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
    const ms = this.ms
    if (ms === undefined) throw new DerError('DER_NOTLEADER', 'this engine runs no management-service replica', { details: { leaderHint: 0 } })
    if (!ms.isLeader()) throw notLeaderError(ms.id, ms.leaderHint())
    return ms
  }

  private async msSubmit(command: MgmtCommand): Promise<Value> {
    const ms = this.msLeader()
    return decodeArgs(await ms.submit(encodeMgmtCommand(command)))
  }

  private async runMsOp(op: string, args: Value): Promise<Value> {
    const a = ValueReader.of(args, `mgmt ${op}`)
    switch (op) {
      case 'join': {
        const ms = this.msLeader()
        const command: MgmtCommand = {
          op: 'join',
          uuid: str(a, 'uuid'),
          addr: str(a, 'addr'),
          fabricUri: str(a, 'fabricUri'),
          uris: a.strings('uris'),
          faultDomain: str(a, 'faultDomain'),
          incarnation: a.uint('incarnation'),
        }
        const result = decodeJoinResult(await ms.submit(encodeMgmtCommand(command)))
        return { rank: result.rank, mapVersion: result.mapVersion }
      }
      case 'members': {
        const ms = this.msLeader()
        return ms.read((m) => ({ mapVersion: m.systemMapVersion, members: m.systemQuery().map(memberValue) }))
      }
      case 'poolList': {
        const ms = this.msLeader()
        return ms.read((m) => m.poolList().map(poolRecordValue))
      }
      case 'poolLookup': {
        const ms = this.msLeader()
        const id = str(a, 'id')
        return ms.read((m) => poolRecordValue(m.poolQuery(id)))
      }
      case 'rankState': {
        const which = str(a, 'op')
        if (which !== 'exclude' && which !== 'stop' && which !== 'start') throw new DerError('DER_INVAL', `unknown rank operation ${which}`)
        const result = ValueReader.of(await this.msSubmit({ op: which, ranks: a.uints('ranks') }), 'rank state result')
        if (which === 'exclude') for (const rank of a.uints('ranks')) await this.excludeFromPools(rank)
        return { mapVersion: result.uint('mapVersion') }
      }
      case 'reportDead':
        return this.msReportDead(a.uint('rank'))
      case 'poolCreate':
        return this.msPoolCreate(a)
      case 'poolDestroy':
        return this.msPoolDestroy(str(a, 'id'), a.bool('force'))
      default:
        throw new DerError('DER_NOSYS', `unknown management operation '${op}'`)
    }
  }

  private async msReportDead(rank: number): Promise<Value> {
    const ms = this.msLeader()
    const member = ms.machine.systemQuery().find((m) => m.rank === rank)
    if (member === undefined || member.state !== 'joined') return { excluded: false }
    // Confirm before excluding: a rank that answers is alive (SWIM may report a restarted rank's old life).
    for (let i = 0; i < 2; i++) {
      try {
        await this.rankCall(rank, 'nodeInfo', {}, Math.max(200, Math.floor(this.timing.rpcTimeoutMs / 5)))
        return { excluded: false }
      } catch {
        // not answering
      }
    }
    this.logger.warn('excluding dead rank', { rank })
    await this.msSubmit({ op: 'exclude', ranks: [rank] })
    await this.excludeFromPools(rank)
    return { excluded: true }
  }

  /** Excludes `rank`'s targets from every ready pool that has them. */
  private async excludeFromPools(rank: number): Promise<void> {
    const ms = this.msLeader()
    for (const pool of ms.machine.poolList()) {
      if (pool.state !== 'ready' || !pool.tgtRanks.includes(rank)) continue
      try {
        await this.poolCall(pool.uuid, pool.svcRanks, 'mapOp', { op: 'exclude', selectors: [{ rank }] }, { timeoutMs: this.timing.longRpcTimeoutMs })
      } catch (e) {
        if (!isDerError(e, 'DER_ALREADY')) this.logger.warn('pool exclusion failed', { pool: pool.uuid, rank, error: String(e) })
      }
    }
  }

  /**
   * MS leader housekeeping: a pool left `creating` or `destroying` by a leader that died midway
   * (seen so on two passes and not worked on here) is rolled back or finished.
   */
  private async cleanupPools(): Promise<void> {
    if (this.stopped || this.ms === undefined || !this.ms.isLeader()) {
      this.stuckPools = new Set()
      return
    }
    const pending = this.ms.machine.poolList().filter((p) => p.state !== 'ready' && !this.poolOpsInProgress.has(p.uuid))
    const previous = this.stuckPools
    this.stuckPools = new Set(pending.map((p) => p.uuid))
    for (const p of pending) {
      if (!previous.has(p.uuid)) continue
      this.logger.warn('cleaning up an interrupted pool operation', { uuid: p.uuid, label: p.label, state: p.state })
      this.poolOpsInProgress.add(p.uuid)
      try {
        await this.removePoolEverywhere(p.uuid, [...new Set([...p.svcRanks, ...p.tgtRanks])])
      } finally {
        this.poolOpsInProgress.delete(p.uuid)
      }
    }
  }

  private async msPoolCreate(a: ValueReader): Promise<Value> {
    const uuid = checkUuid(str(a, 'uuid'), 'pool uuid')
    if (this.poolOpsInProgress.has(uuid)) throw new DerError('DER_BUSY', `pool ${uuid} is being created`)
    this.poolOpsInProgress.add(uuid)
    try {
      return await this.msPoolCreateLocked(uuid, a)
    } finally {
      this.poolOpsInProgress.delete(uuid)
    }
  }

  private async msPoolCreateLocked(uuid: string, a: ValueReader): Promise<Value> {
    const ms = this.msLeader()
    const label = checkLabel(str(a, 'label'))
    const sizeBytes = a.uint('sizeBytes')
    const existing = ms.machine.poolList().find((p) => p.uuid === uuid)
    if (existing !== undefined && existing.state === 'ready') return poolRecordValue(existing)
    if (existing !== undefined) throw new DerError('DER_BUSY', `pool ${uuid} is ${existing.state}`)
    if (ms.machine.poolList().some((p) => p.label === label)) throw new DerError('DER_EXIST', `a pool labelled '${label}' already exists`)
    const joined = ms.machine.systemQuery().filter((m) => m.state === 'joined')
    if (joined.length === 0) throw new DerError('DER_NOSPACE', 'no joined rank to hold the pool')
    const nranks = a.record['nranks'] === undefined ? joined.length : a.uint('nranks')
    if (nranks < 1 || nranks > joined.length) throw new DerError('DER_INVAL', `nranks must be 1..${joined.length} (the joined ranks), got ${nranks}`)
    const tgtRanks = spreadRanks(joined, nranks)
    const tgtMembers = joined.filter((m) => tgtRanks.includes(m.rank))
    const svcRanks = spreadRanks(tgtMembers, Math.min(3, tgtMembers.length))
    const props = a.stringMap('props')
    const acl = a.strings('acl')
    const init: PoolCommand = { op: 'init', props: { ...Object.fromEntries(props), label }, acl }
    new PoolServiceMachine(uuid).check(init)
    const infos = await Promise.all(tgtRanks.map(async (rank) => ValueReader.of(await this.rankCall(rank, 'nodeInfo', {}), 'node info')))
    const capacityBytes = infos.reduce((sum, info) => sum + info.uint('capacityBytes'), 0)
    if (sizeBytes > capacityBytes) throw new DerError('DER_NOSPACE', `pool size ${sizeBytes} bytes exceeds the capacity of ranks ${tgtRanks.join(',')} (${capacityBytes} bytes)`)
    const map = buildPoolMap({ ranks: tgtMembers.map((m, i) => ({ rank: m.rank, host: m.faultDomain, targets: infos[i]?.uint('targets') ?? 1 })) })
    await this.msSubmit({ op: 'poolCreate', uuid, label, sizeBytes, svcRanks, tgtRanks })
    try {
      const mapBytes = encodePoolMap(map)
      await Promise.all(svcRanks.map((rank) => this.rankCall(rank, 'poolStartService', { uuid, svcRanks })))
      await Promise.all(tgtRanks.map((rank) => this.rankCall(rank, 'poolOpenTargets', { uuid, svcRanks, map: mapBytes })))
      await this.poolCall(uuid, svcRanks, 'setup', { props: init.props, acl, map: mapBytes }, { timeoutMs: this.timing.longRpcTimeoutMs })
      const ready = await this.msSubmit({ op: 'poolReady', uuid })
      this.logger.info('pool created', { uuid, label, svcRanks, tgtRanks })
      return ready
    } catch (e) {
      this.logger.warn('pool create failed; rolling back', { uuid, label, error: String(e) })
      await this.removePoolEverywhere(uuid, [...new Set([...svcRanks, ...tgtRanks])]).catch(() => undefined)
      throw e
    }
  }

  private async removePoolEverywhere(uuid: string, ranks: readonly number[]): Promise<void> {
    const record = this.msLeader().machine.poolList().find((p) => p.uuid === uuid)
    if (record !== undefined && record.state !== 'destroying') await this.msSubmit({ op: 'poolDestroy', uuid })
    await Promise.allSettled(ranks.map((rank) => this.rankCall(rank, 'poolClose', { uuid, destroy: true })))
    if (record !== undefined) await this.msSubmit({ op: 'poolRemove', uuid })
  }

  private async msPoolDestroy(id: string, force: boolean): Promise<Value> {
    const ms = this.msLeader()
    const record = await ms.read((m) => m.poolQuery(id))
    if (this.poolOpsInProgress.has(record.uuid)) throw new DerError('DER_BUSY', `pool ${record.label} is being created or destroyed`)
    this.poolOpsInProgress.add(record.uuid)
    try {
      return await this.msPoolDestroyLocked(record, force)
    } finally {
      this.poolOpsInProgress.delete(record.uuid)
    }
  }

  private async msPoolDestroyLocked(record: PoolRecord, force: boolean): Promise<Value> {
    if (!force && record.state === 'ready') {
      const q = ValueReader.of(await this.poolCall(record.uuid, record.svcRanks, 'query', {}), 'pool query')
      const handles = q.uint('handles')
      if (handles > 0) throw new DerError('DER_BUSY', `pool ${record.label} has ${handles} open handle(s); use --force to destroy it anyway`)
    }
    await this.removePoolEverywhere(record.uuid, [...new Set([...record.svcRanks, ...record.tgtRanks])])
    this.logger.info('pool destroyed', { uuid: record.uuid, label: record.label })
    return { uuid: record.uuid, label: record.label }
  }

  // ---- rank operations

  private async runRankOp(op: string, args: Value): Promise<Value> {
    if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
    const a = ValueReader.of(args, `rank ${op}`)
    switch (op) {
      case 'nodeInfo': {
        const space = this.targets.space()
        return { rank: this.rankValue ?? 0, targets: this.targets.size, capacityBytes: space.capacityBytes, usedBytes: space.usedBytes }
      }
      case 'poolStartService': {
        const uuid = checkUuid(str(a, 'uuid'), 'pool uuid')
        this.startPoolService(uuid, a.uints('svcRanks'))
        return null
      }
      case 'poolOpenTargets': {
        const uuid = checkUuid(str(a, 'uuid'), 'pool uuid')
        await this.openPoolTargets(uuid, a.uints('svcRanks'), decodePoolMap(a.bytes('map')))
        return null
      }
      case 'poolClose': {
        await this.closePool(checkUuid(str(a, 'uuid'), 'pool uuid'), a.bool('destroy'))
        return null
      }
      case 'poolMapPush': {
        const uuid = checkUuid(str(a, 'uuid'), 'pool uuid')
        const map = decodePoolMap(a.bytes('map'))
        await this.ensureRanksKnown(map)
        this.applyMap(uuid, map)
        return null
      }
      default:
        throw new DerError('DER_NOSYS', `unknown rank operation '${op}'`)
    }
  }

  private localPool(uuid: string, svcRanks: readonly number[]): LocalPool {
    let pool = this.pools.get(uuid)
    if (pool === undefined) {
      pool = { uuid, svcRanks, service: undefined, objects: undefined, scoped: undefined, rebuild: undefined, opening: undefined, rebuiltMap: undefined, rebuildChain: Promise.resolve(), rebuildPending: false, lastReport: undefined, mapOpChain: Promise.resolve(), tracker: undefined, leaderHint: 0 }
      this.pools.set(uuid, pool)
    } else if (svcRanks.length > 0) pool.svcRanks = svcRanks
    return pool
  }

  private startPoolService(uuid: string, svcRanks: readonly number[]): void {
    const pool = this.localPool(uuid, svcRanks)
    if (pool.service !== undefined) return
    const group = `pool/${uuid}`
    const storage = this.options.storage.open(group, svcRanks.map((r) => r + 1))
    const service = new ReplicatedService({
      id: this.rank + 1,
      runtime: this.runtime,
      storage,
      send: this.router.sender(group),
      machine: new PoolServiceMachine(uuid),
      ...this.groupOptions(),
      onFatal: (e) => this.logger.error('pool service replica failed', { uuid, error: String(e) }),
    })
    pool.service = service
    this.router.attach(group, service)
    service.start()
  }

  /** Makes sure the cart's primary group knows every rank of `map` (the object service sends to them). */
  private async ensureRanksKnown(map: PoolMap): Promise<void> {
    const group = this.cart.primaryGroup
    if (map.ranks.every((r) => group.has(r.rank))) return
    await this.syncMembers().catch(() => undefined)
    if (!map.ranks.every((r) => group.has(r.rank))) {
      this.memberVersion = -1
      await this.syncMembers().catch(() => undefined)
    }
  }

  private async openPoolTargets(uuid: string, svcRanks: readonly number[], map: PoolMap): Promise<void> {
    await this.ensureRanksKnown(map)
    const pool = this.localPool(uuid, svcRanks)
    if (pool.objects !== undefined) {
      this.applyMap(uuid, map)
      return
    }
    if (pool.opening !== undefined) return pool.opening
    const open = Promise.resolve().then((): void => {
      const scoped = new PoolScopedCart(this.dispatcher, uuid)
      const objects = new ObjectService({
        cart: scoped,
        targets: this.targets,
        poolUuid: uuid,
        poolMap: map,
        refreshMap: (wanted) => this.refreshMap(uuid, wanted),
        ...(this.options.objectService?.commitIntervalMs === undefined ? {} : { commitIntervalMs: this.options.objectService.commitIntervalMs }),
        ...(this.options.objectService?.replicaTimeoutMs === undefined ? {} : { replicaTimeoutMs: this.options.objectService.replicaTimeoutMs }),
        logger: this.logger,
      })
      pool.scoped = scoped
      pool.objects = objects
      pool.rebuiltMap = map
      // The DTXs this engine held prepared when it went down (a kill -9) are resolved in the
      // background: without it they stay prepared until a read meets them, and rebuild pushes
      // into them fail with DER_INPROGRESS.
      objects.startRecovery().then(
        (r) => {
          if (r.found > 0) this.logger.info('DTX recovery finished', { pool: uuid, found: r.found, resolved: r.resolved, pending: r.pending })
        },
        (e: unknown) => this.logger.warn('DTX recovery failed', { pool: uuid, error: String(e) }),
      )
      const factory = this.options.rebuild === undefined ? defaultRebuildFactory : this.options.rebuild
      if (factory !== false) {
        pool.rebuild = factory({
          cart: scoped,
          runtime: this.runtime,
          rank: this.rank,
          poolUuid: uuid,
          targets: this.targets,
          logger: this.logger,
          resolvePrepared: (tag, vosDtxId) => objects.resolvePrepared(tag, vosDtxId),
        })
      }
    })
    pool.opening = open
    try {
      await open
    } finally {
      pool.opening = undefined
    }
  }

  private async refreshMap(uuid: string, wanted: number): Promise<PoolMap | undefined> {
    const pool = this.pools.get(uuid)
    if (pool === undefined) return undefined
    try {
      const r = ValueReader.of(await this.poolCall(uuid, pool.svcRanks, 'map', {}, { maxAttempts: 3 }), 'pool map')
      if (r.uint('version') < wanted && r.uint('version') <= (pool.objects?.poolMap.version ?? 0)) return undefined
      const map = decodePoolMap(r.bytes('map'))
      this.applyMap(uuid, map)
      return map
    } catch {
      return undefined
    }
  }

  private async closePool(uuid: string, destroy: boolean): Promise<void> {
    const pool = this.pools.get(uuid)
    if (pool === undefined) {
      if (destroy) this.options.storage.remove?.(`pool/${uuid}`)
      return
    }
    this.pools.delete(uuid)
    if (pool.opening !== undefined) await pool.opening.catch(() => undefined)
    pool.rebuild?.stop?.()
    if (pool.objects !== undefined) {
      await pool.objects.flushCommits().catch(() => undefined)
      pool.objects.stop()
    }
    this.dispatcher.drop(uuid)
    const group = `pool/${uuid}`
    if (pool.service !== undefined) {
      pool.service.stop()
      this.router.detach(group, pool.service)
      this.options.storage.release?.(group)
    }
    if (destroy) this.options.storage.remove?.(group)
  }

  /** Installs a newer map of a pool on this rank and starts a rebuild when the change moves data. */
  private applyMap(uuid: string, map: PoolMap): void {
    const pool = this.pools.get(uuid)
    const objects = pool?.objects
    if (pool === undefined || objects === undefined) return
    if (map.version <= objects.poolMap.version) return
    objects.setPoolMap(map)
    if (!pool.rebuildPending && !mapChangeNeedsRebuild(pool.rebuiltMap ?? map, map)) {
      pool.rebuiltMap = map
      return
    }
    this.scheduleRebuild(pool, 0)
  }

  private scheduleRebuild(pool: LocalPool, attempt: number): void {
    if (pool.rebuildPending && attempt === 0) return
    pool.rebuildPending = true
    pool.rebuildChain = pool.rebuildChain.then(() => this.runRebuild(pool, attempt))
  }

  /**
   * Rebuilds this rank's part from the last map it rebuilt to the current one and reports to the
   * pool service leader; a failed run is retried (with backoff, a few times) and reported failed.
   */
  private async runRebuild(pool: LocalPool, attempt: number): Promise<void> {
    pool.rebuildPending = false
    const objects = pool.objects
    if (objects === undefined || this.stopped || this.pools.get(pool.uuid) !== pool) return
    const toMap = objects.poolMap
    const fromMap = pool.rebuiltMap ?? toMap
    if (toMap.version <= fromMap.version) return
    if (!mapChangeNeedsRebuild(fromMap, toMap)) {
      pool.rebuiltMap = toMap
      return
    }
    let report: Value
    let failed = false
    if (pool.rebuild === undefined) {
      report = { rank: this.rank, version: toMap.version, ok: true, skipped: true, objects: 0, records: 0, bytes: 0 }
    } else {
      try {
        const stats = await pool.rebuild.rebuild({ fromMap, toMap })
        failed = stats.failures > 0
        report = { rank: this.rank, version: toMap.version, ok: !failed, skipped: false, objects: stats.objects, records: stats.records, bytes: stats.bytes }
      } catch (e) {
        this.logger.warn('rebuild failed', { pool: pool.uuid, version: toMap.version, error: String(e) })
        failed = true
        report = { rank: this.rank, version: toMap.version, ok: false, skipped: false, objects: 0, records: 0, bytes: 0 }
      }
    }
    if (!failed) {
      pool.rebuiltMap = toMap
      pool.lastReport = { version: toMap.version, report }
    }
    try {
      await this.poolCall(pool.uuid, pool.svcRanks, 'rebuildReport', report, { timeoutMs: this.timing.longRpcTimeoutMs })
    } catch (e) {
      this.logger.warn('rebuild report failed', { pool: pool.uuid, error: String(e) })
    }
    if (failed && attempt < maxRebuildRetries && !this.stopped) {
      await this.runtime.timers.sleep(this.timing.retryMaxMs * 2 ** attempt)
      this.scheduleRebuild(pool, attempt + 1)
    }
  }

  private pullMaps(): void {
    if (this.stopped) return
    for (const pool of this.pools.values()) {
      const objects = pool.objects
      if (objects === undefined) continue
      void this.refreshMap(pool.uuid, objects.poolMap.version + 1)
      // While the map still waits for rebuilds, repeat this rank's report: a new pool service
      // leader has no record of the reports its predecessor received.
      const last = pool.lastReport
      if (last !== undefined && !pool.rebuildPending && last.version === objects.poolMap.version && hasPendingTargets(objects.poolMap)) {
        void this.poolCall(pool.uuid, pool.svcRanks, 'rebuildReport', last.report, { maxAttempts: 3 }).catch(() => undefined)
      }
    }
  }

  /**
   * Reopens the pools this rank serves, as the MS records them: starts the service replicas,
   * fetches each pool's map, then opens the object services.
   */
  private async recoverPools(): Promise<void> {
    const list = (await this.msCall('poolList', {})) as readonly Value[]
    const records = list.map(poolRecordFrom)
    const rank = this.rank
    for (const p of records) if (p.state === 'ready' && p.svcRanks.includes(rank)) this.startPoolService(p.uuid, p.svcRanks)
    const served = records.filter((p) => p.state === 'ready' && p.tgtRanks.includes(rank))
    const maps = await Promise.all(
      served.map(async (p) => {
        for (let attempt = 0; ; attempt++) {
          if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
          try {
            const r = ValueReader.of(await this.poolCall(p.uuid, p.svcRanks, 'map', {}), 'pool map')
            return decodePoolMap(r.bytes('map'))
          } catch (e) {
            if (attempt > 600) throw e
            await this.runtime.timers.sleep(this.nextDelay(attempt))
          }
        }
      }),
    )
    await Promise.all(
      served.map(async (p, i) => {
        const map = maps[i] as PoolMap
        await this.openPoolTargets(p.uuid, p.svcRanks, map)
        this.logger.info('pool reopened', { pool: p.uuid, mapVersion: map.version })
        // A rebuild of this map version may wait for this rank's report; it had no earlier map
        // to rebuild from (it was down), so it has nothing to push: report at once.
        if (hasPendingTargets(map)) {
          const report: Value = { rank, version: map.version, ok: true, skipped: this.options.rebuild === false, objects: 0, records: 0, bytes: 0 }
          const local = this.pools.get(p.uuid)
          if (local !== undefined) local.lastReport = { version: map.version, report }
          await this.poolCall(p.uuid, p.svcRanks, 'rebuildReport', report).catch(() => undefined)
        }
        // A map change pushed while the pool was not open yet is picked up now.
        void this.refreshMap(p.uuid, map.version + 1)
      }),
    )
  }

  // ---- pool service leader operations

  private poolLeader(uuid: string): { pool: LocalPool; service: ReplicatedService<PoolServiceMachine> } {
    if (this.stopped) throw new DerError('DER_SHUTDOWN', 'the node is stopping')
    const pool = this.pools.get(uuid)
    const service = pool?.service
    if (pool === undefined || service === undefined) throw new DerError('DER_NOTLEADER', `this engine runs no replica of pool ${uuid}`, { details: { leaderHint: 0 } })
    if (!service.isLeader()) throw notLeaderError(service.id, service.leaderHint())
    return { pool, service }
  }

  private async psSubmit(service: ReplicatedService<PoolServiceMachine>, command: PoolCommand): Promise<Value> {
    return decodeArgs(await service.submit(encodePoolCommand(command)))
  }

  private async runPoolOp(uuidText: string, op: string, args: Value): Promise<Value> {
    const uuid = checkUuid(uuidText, 'pool uuid')
    const { pool, service } = this.poolLeader(uuid)
    const a = ValueReader.of(args, `pool ${op}`)
    const cont = (): string => str(a, 'cont')
    switch (op) {
      case 'setup': {
        const initialized = await service.read((m) => m.isInitialized)
        if (!initialized) await this.psSubmit(service, { op: 'init', props: Object.fromEntries(a.stringMap('props')), acl: a.strings('acl') })
        const map = decodePoolMap(a.bytes('map'))
        const current = await service.read((m) => m.poolMap().version)
        if (current < map.version) await this.psSubmit(service, { op: 'mapUpdate', version: map.version, map: a.bytes('map') })
        return null
      }
      case 'map':
        return service.read((m) => ({ version: m.poolMap().version, map: m.poolMap().bytes }))
      case 'query': {
        const info = await service.read((m) => ({ q: m.poolQuery(), map: m.poolMap() }))
        return { mapVersion: info.q.mapVersion, handles: info.q.handles, containers: info.q.containers, props: mapToRecord(info.q.props), map: info.map.bytes, rebuild: this.rebuildValue(pool, info.q.mapVersion) }
      }
      case 'mapOp':
        return this.leaderMapOp(pool, service, str(a, 'op') as PoolMapOperation, a.array('selectors').map((v) => {
          const s = ValueReader.of(v, 'selector')
          return s.record['targetIndexes'] === undefined ? { rank: s.uint('rank') } : { rank: s.uint('rank'), targetIndexes: s.uints('targetIndexes') }
        }))
      case 'rebuildReport':
        return this.leaderRebuildReport(pool, service, a)
      case 'connect': {
        const handle = checkUuid(str(a, 'handle'), 'pool handle')
        const user = optString(a.record, 'user')
        const command: PoolCommand = { op: 'connect', handle, caps: str(a, 'caps'), ...(user === undefined ? {} : { user, groups: a.strings('groups') }) }
        await this.psSubmit(service, command)
        return service.read((m) => ({ version: m.poolMap().version, map: m.poolMap().bytes }))
      }
      case 'disconnect':
        return this.psSubmit(service, { op: 'disconnect', handle: str(a, 'handle') })
      case 'getProp': {
        const names = a.record['names'] === undefined ? undefined : a.strings('names')
        return service.read((m) => mapToRecord(m.getProps(names)))
      }
      case 'setProp':
        return this.psSubmit(service, { op: 'setProps', props: Object.fromEntries(a.stringMap('props')) })
      case 'getAcl':
        return service.read((m) => m.getAcl())
      case 'updateAcl':
        return this.psSubmit(service, { op: 'aclUpdate', entries: a.strings('entries') })
      case 'overwriteAcl':
        return this.psSubmit(service, { op: 'aclOverwrite', entries: a.strings('entries') })
      case 'deleteAcl':
        return this.psSubmit(service, { op: 'aclDelete', principal: str(a, 'principal') })
      case 'evict':
        return this.psSubmit(service, a.record['handles'] === undefined ? { op: 'evict' } : { op: 'evict', handles: a.strings('handles') })
      case 'contCreate':
        return this.leaderContainerCreate(service, a)
      case 'contList':
        return service.read((m) => m.listContainers())
      case 'contQuery': {
        const c = await service.read((m) => m.containerQuery(cont()))
        return { uuid: c.uuid, label: c.label, props: mapToRecord(c.props), attrs: mapToRecord(c.attrs), openHandles: c.handles.size, snapshots: c.snapshots.map((e) => e.toString()) }
      }
      case 'contDestroy': {
        const c = await service.read((m) => m.containerQuery(cont()))
        await this.withHandle(service, (handle) => this.psSubmit(service, { op: 'contDestroy', handle, cont: c.uuid, force: a.bool('force') }))
        return { uuid: c.uuid, label: c.label }
      }
      case 'contSetProp':
        return this.psSubmit(service, { op: 'contSetProps', cont: cont(), props: Object.fromEntries(a.stringMap('props')) })
      case 'contGetAttr': {
        const names = a.strings('names')
        return service.read((m) => mapToRecord(m.getAttrs(cont(), names)))
      }
      case 'contSetAttr':
        return this.psSubmit(service, { op: 'contSetAttrs', cont: cont(), attrs: Object.fromEntries(a.bytesMap('attrs')) })
      case 'contListAttrs':
        return service.read((m) => m.listAttrs(cont()))
      case 'contDelAttr':
        return this.psSubmit(service, { op: 'contDelAttrs', cont: cont(), names: a.strings('names') })
      case 'snapCreate': {
        const epoch = a.record['epoch'] === undefined ? this.hlc.now() : checkEpoch(str(a, 'epoch'), 'snapshot')
        await this.psSubmit(service, { op: 'snapCreate', cont: cont(), epoch })
        return epoch.toString()
      }
      case 'snapList':
        return service.read((m) => m.listSnapshots(cont()).map((e) => e.toString()))
      case 'snapDestroy': {
        const epoch = checkEpoch(str(a, 'epoch'), 'snapshot')
        await this.psSubmit(service, { op: 'snapDestroy', cont: cont(), epoch })
        return epoch.toString()
      }
      default:
        throw new DerError('DER_NOSYS', `unknown pool operation '${op}'`)
    }
  }

  private async withHandle<T>(service: ReplicatedService<PoolServiceMachine>, body: (handle: string) => Promise<T>): Promise<T> {
    const handle = this.newUuid()
    await this.psSubmit(service, { op: 'connect', handle, caps: 'rw' })
    try {
      return await body(handle)
    } finally {
      await this.psSubmit(service, { op: 'disconnect', handle }).catch(() => undefined)
    }
  }

  private async leaderContainerCreate(service: ReplicatedService<PoolServiceMachine>, a: ValueReader): Promise<Value> {
    const label = checkLabel(str(a, 'label'))
    const type = str(a, 'type')
    const oclass = parseObjectClass(str(a, 'oclass'))
    const map = await service.read((m) => m.poolMap())
    const oid = generateObjectId({ lo: kvObjectLo, type: ObjectType.KV_HASHED, oclass, fit: poolMapFit(decodePoolMap(map.bytes)) })
    const uuid = checkUuid(str(a, 'uuid'), 'container uuid')
    const props: Record<string, string> = { ...Object.fromEntries(a.stringMap('props')), label }
    if (type === 'POSIX' && props['layout_type'] === undefined) props['layout_type'] = 'POSIX'
    const existing = await service.read((m) => m.listContainers().find((c) => c.uuid === uuid))
    if (existing !== undefined) return { uuid: existing.uuid, label: existing.label }
    return this.withHandle(service, async (handle) => {
      await this.psSubmit(service, { op: 'contCreate', handle, uuid, props })
      const attrs = { [kvOidAttribute]: textEncoder.encode(formatObjectId(oid)), [containerTypeAttribute]: textEncoder.encode(type), [containerOclassAttribute]: textEncoder.encode(oclass.name) }
      await this.psSubmit(service, { op: 'contSetAttrs', cont: uuid, attrs })
      return { uuid, label }
    })
  }

  private leaderMapOp(pool: LocalPool, service: ReplicatedService<PoolServiceMachine>, op: PoolMapOperation, selectors: readonly TargetSelector[]): Promise<Value> {
    const run = pool.mapOpChain.then(async (): Promise<Value> => {
      const blob = await service.read((m) => m.poolMap())
      const next = applyPoolMapOperation(decodePoolMap(blob.bytes), op, selectors)
      const bytes = encodePoolMap(next)
      await this.psSubmit(service, { op: 'mapUpdate', version: next.version, map: bytes })
      if (op === 'exclude' || op === 'drain' || op === 'reintegrate') {
        const expected = new Set(next.ranks.filter((r) => r.targets.some((t) => isTargetAvailable(t.state))).map((r) => r.rank))
        pool.tracker = { version: next.version, expected, done: new Set(), failed: new Set(), objects: 0, records: 0, bytes: 0, state: 'busy', finishing: false }
      }
      this.pushMap(pool.uuid, next)
      return { mapVersion: next.version }
    })
    pool.mapOpChain = run.catch(() => undefined)
    return run
  }

  private pushMap(uuid: string, map: PoolMap): void {
    const bytes = encodePoolMap(map)
    for (const r of map.ranks) {
      void this.rankCall(r.rank, 'poolMapPush', { uuid, map: bytes }).catch(() => undefined)
    }
  }

  private async leaderRebuildReport(pool: LocalPool, service: ReplicatedService<PoolServiceMachine>, a: ValueReader): Promise<Value> {
    const version = a.uint('version')
    const rank = a.uint('rank')
    const blob = await service.read((m) => m.poolMap())
    if (version !== blob.version) return { accepted: false }
    const map = decodePoolMap(blob.bytes)
    let t = pool.tracker
    if (t === undefined || t.version !== version) {
      const expected = new Set(map.ranks.filter((r) => r.targets.some((x) => isTargetAvailable(x.state))).map((r) => r.rank))
      t = { version, expected, done: new Set(), failed: new Set(), objects: 0, records: 0, bytes: 0, state: 'busy', finishing: false }
      pool.tracker = t
    }
    if (a.bool('skipped')) {
      t.state = 'unavailable'
      return { accepted: true }
    }
    if (!t.done.has(rank)) {
      if (!a.bool('ok')) {
        t.failed.add(rank)
        return { accepted: true }
      }
      t.done.add(rank)
      t.failed.delete(rank)
      t.objects += a.uint('objects')
      t.records += a.uint('records')
      t.bytes += a.uint('bytes')
    }
    const tracker = t
    if (!tracker.finishing && [...tracker.expected].every((r) => tracker.done.has(r)) && hasPendingTargets(map)) {
      tracker.finishing = true
      tracker.state = 'done'
      void this.finishRebuild(pool, service, map)
        .catch((e: unknown) => {
          tracker.state = 'busy'
          this.logger.warn('rebuild completion failed', { pool: pool.uuid, error: String(e) })
        })
        .finally(() => {
          tracker.finishing = false
        })
    }
    return { accepted: true }
  }

  private async finishRebuild(pool: LocalPool, service: ReplicatedService<PoolServiceMachine>, map: PoolMap): Promise<void> {
    const selectorsIn = (states: readonly TargetStateName[]): TargetSelector[] =>
      map.ranks
        .map((r) => ({ rank: r.rank, targetIndexes: r.targets.filter((t) => states.includes(t.state)).map((t) => t.index) }))
        .filter((s) => s.targetIndexes.length > 0)
    const out = selectorsIn(['DOWN', 'DRAIN'])
    const back = selectorsIn(['UP'])
    const tracker = pool.tracker
    if (out.length > 0) await this.leaderMapOp(pool, service, 'rebuildDone', out)
    if (back.length > 0) await this.leaderMapOp(pool, service, 'reintegrateDone', back)
    if (tracker !== undefined) pool.tracker = tracker
  }

  private rebuildValue(pool: LocalPool, mapVersion: number): Value {
    const t = pool.tracker
    if (t === undefined) return { state: 'idle', version: 0, ranksDone: 0, ranksTotal: 0, objects: 0, records: 0, bytes: 0, failures: 0 }
    const state = t.state === 'busy' && t.version < mapVersion && t.done.size === t.expected.size ? 'done' : t.state
    return { state, version: t.version, ranksDone: t.done.size, ranksTotal: t.expected.size, objects: t.objects, records: t.records, bytes: t.bytes, failures: t.failed.size }
  }

  private newUuid(): string {
    const b = this.random.bytes(16)
    b[6] = ((b[6] as number) & 0x0f) | 0x40
    b[8] = ((b[8] as number) & 0x3f) | 0x80
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }

  // ------------------------------------------------------------------ public operations

  private async lookupPool(id: unknown, what: string): Promise<PoolRecord> {
    const poolId = checkId(id, what)
    const record = poolRecordFrom(await this.msCall('poolLookup', { id: poolId }))
    if (record.state !== 'ready') throw new DerError('DER_BUSY', `pool ${record.label} is ${record.state}`)
    const local = this.pools.get(record.uuid)
    if (local !== undefined) local.svcRanks = record.svcRanks
    return record
  }

  private async onPool(id: unknown, what: string, op: string, args: Value, timeoutMs?: number): Promise<{ record: PoolRecord; result: Value }> {
    const record = await this.lookupPool(id, what)
    const result = await this.poolCall(record.uuid, record.svcRanks, op, args, timeoutMs === undefined ? {} : { timeoutMs })
    return { record, result }
  }

  /** `dmg system query`: the members (all or the given ranks) and the system map version. */
  async systemQuery(request: SystemQueryRequest = {}): Promise<SystemQueryResponse> {
    const ranks = request.ranks === undefined ? undefined : checkRanks(request.ranks, 'system query')
    const r = ValueReader.of(await this.msCall('members', {}), 'members')
    let members = r.array('members').map(memberFrom)
    if (ranks !== undefined) {
      for (const rank of ranks) if (!members.some((m) => m.rank === rank)) throw new DerError('DER_NONEXIST', `rank ${rank} is not a member`)
      members = members.filter((m) => ranks.includes(m.rank))
    }
    return { members, mapVersion: r.uint('mapVersion') }
  }

  private async rankState(op: 'stop' | 'start' | 'exclude', request: SystemRanksRequest): Promise<SystemRanksResponse> {
    let ranks: number[]
    if (request.ranks === undefined) {
      if (op === 'exclude') throw new DerError('DER_INVAL', 'system exclude: give the ranks to exclude')
      ranks = (await this.systemQuery()).members.map((m) => m.rank)
    } else ranks = checkRanks(request.ranks, `system ${op}`)
    const r = ValueReader.of(await this.msCall('rankState', { op, ranks }, { timeoutMs: this.timing.longRpcTimeoutMs }), 'rank state')
    return { mapVersion: r.uint('mapVersion') }
  }

  /** `dmg system stop`: marks ranks stopped in the management service (the daemon stops its engine). */
  systemStop(request: SystemRanksRequest = {}): Promise<SystemRanksResponse> {
    return this.rankState('stop', request)
  }

  /** `dmg system start`: marks stopped ranks joined again. */
  systemStart(request: SystemRanksRequest = {}): Promise<SystemRanksResponse> {
    return this.rankState('start', request)
  }

  /** `dmg system exclude`: excludes ranks, and their targets from every pool. */
  systemExclude(request: SystemRanksRequest): Promise<SystemRanksResponse> {
    return this.rankState('exclude', request)
  }

  /** `dmg pool create`: checks everything, then creates the pool across ranks (rolled back on failure). */
  async poolCreate(request: PoolCreateRequest): Promise<PoolCreateResponse> {
    if (typeof request !== 'object' || request === null) throw new DerError('DER_INVAL', 'pool create: a request is required')
    if (typeof request.label !== 'string') throw new DerError('DER_INVAL', 'pool create: a pool label is required')
    const label = checkLabel(request.label)
    if (!Number.isSafeInteger(request.sizeBytes) || request.sizeBytes <= 0) throw new DerError('DER_INVAL', `pool size must be a positive number of bytes, got ${String(request.sizeBytes)}`)
    const props = request.properties === undefined ? {} : checkStringRecord(request.properties, 'pool properties')
    if (request.user !== undefined) {
      if (typeof request.user !== 'string' || request.user.length === 0) throw new DerError('DER_INVAL', 'pool create: bad user')
      props['owner'] = request.user.includes('@') ? request.user : `${request.user}@`
    }
    if (request.group !== undefined) {
      if (typeof request.group !== 'string' || request.group.length === 0) throw new DerError('DER_INVAL', 'pool create: bad group')
      props['group'] = request.group.includes('@') ? request.group : `${request.group}@`
    }
    const acl = request.acl === undefined ? [] : checkStrings(request.acl, 'pool ACL')
    if (request.nranks !== undefined && (!Number.isSafeInteger(request.nranks) || request.nranks < 1)) throw new DerError('DER_INVAL', `nranks must be a positive integer, got ${String(request.nranks)}`)
    new PoolServiceMachine(this.newUuid()).check({ op: 'init', props: { ...props, label }, acl })
    const args: Record<string, Value> = { uuid: this.newUuid(), label, sizeBytes: request.sizeBytes, props, acl }
    if (request.nranks !== undefined) args['nranks'] = request.nranks
    const record = poolRecordFrom(await this.msCall('poolCreate', args, { timeoutMs: this.timing.longRpcTimeoutMs }))
    return { pool: poolInfoOf(record) }
  }

  /** `dmg pool list`. */
  async poolList(): Promise<PoolListResponse> {
    const list = (await this.msCall('poolList', {})) as readonly Value[]
    return { pools: list.map((v) => poolInfoOf(poolRecordFrom(v))) }
  }

  /** `dmg pool query`: map version, target counts by state, space, properties and rebuild state. */
  async poolQuery(request: PoolIdRequest): Promise<PoolQueryResponse> {
    const { record, result } = await this.onPool(request?.id, 'pool query', 'query', {})
    const q = ValueReader.of(result, 'pool query')
    const map = decodePoolMap(q.bytes('map'))
    const counts = targetStateCounts(map)
    const active = counts.UPIN + counts.UP + counts.DRAIN
    const infos = await Promise.all(
      map.ranks.map(async (r) => {
        if (!r.targets.some((t) => isTargetAvailable(t.state))) return undefined
        try {
          return ValueReader.of(await this.rankCall(r.rank, 'nodeInfo', {}, Math.min(this.timing.rpcTimeoutMs, 2_000)), 'node info')
        } catch {
          return undefined
        }
      }),
    )
    let usedBytes = 0
    let rawCapacity = 0
    infos.forEach((info, i) => {
      const r = map.ranks[i]
      if (info === undefined || r === undefined || !r.targets.some((t) => isTargetAvailable(t.state))) return
      usedBytes += info.uint('usedBytes')
      rawCapacity += info.uint('capacityBytes')
    })
    const capacityBytes = Math.min(record.sizeBytes, rawCapacity)
    const rb = ValueReader.of(q.record['rebuild'] ?? null, 'rebuild')
    const rebuildState = rb.string('state') as PoolRebuildStatus['state']
    return {
      pool: poolInfoOf(record),
      mapVersion: q.uint('mapVersion'),
      totalTargets: poolTargets(map).length,
      activeTargets: active,
      disabledTargets: counts.DOWN + counts.DOWNOUT,
      targetStates: counts,
      space: { usedBytes, capacityBytes, freeBytes: Math.max(0, capacityBytes - usedBytes) },
      properties: Object.fromEntries(q.stringMap('props')),
      handles: q.uint('handles'),
      containers: q.uint('containers'),
      rebuild: {
        state: rebuildState,
        version: rb.uint('version'),
        ranksDone: rb.uint('ranksDone'),
        ranksTotal: rb.uint('ranksTotal'),
        objects: rb.uint('objects'),
        records: rb.uint('records'),
        bytes: rb.uint('bytes'),
        failures: rb.uint('failures'),
      },
    }
  }

  /** `dmg pool destroy`: `DER_BUSY` while the pool has open handles, unless `force`. */
  async poolDestroy(request: PoolDestroyRequest): Promise<PoolDestroyResponse> {
    const id = checkId(request?.id, 'pool destroy')
    if (request.force !== undefined && typeof request.force !== 'boolean') throw new DerError('DER_INVAL', 'pool destroy: force must be a boolean')
    const r = ValueReader.of(await this.msCall('poolDestroy', { id, force: request.force === true }, { timeoutMs: this.timing.longRpcTimeoutMs }), 'pool destroy')
    return { uuid: r.string('uuid'), label: r.string('label') }
  }

  /** Pool connect: a handle (ACL-checked when `user` is given), the map and every rank's URIs. */
  async poolConnect(request: PoolConnectRequest): Promise<PoolConnectResponse> {
    const caps = request?.caps ?? 'rw'
    if (caps !== 'ro' && caps !== 'rw' && caps !== 'ex') throw new DerError('DER_INVAL', `pool connect: caps must be ro, rw or ex, got '${String(caps)}'`)
    if (request.user !== undefined && (typeof request.user !== 'string' || request.user.length === 0)) throw new DerError('DER_INVAL', 'pool connect: bad user')
    const groups = request.groups === undefined ? [] : checkStrings(request.groups, 'pool connect groups')
    if (request.user === undefined && request.groups !== undefined) throw new DerError('DER_INVAL', 'pool connect: groups given without a user')
    const handle = request.handle === undefined ? this.newUuid() : checkUuid(request.handle, 'pool handle')
    const args: Record<string, Value> = { handle, caps }
    if (request.user !== undefined) {
      // ACL principals carry a trailing `@` (`alice@`); plain OS names get it added.
      args['user'] = request.user.includes('@') ? request.user : `${request.user}@`
      args['groups'] = groups.map((g) => (g.includes('@') ? g : `${g}@`))
    }
    const { record, result } = await this.onPool(request.id, 'pool connect', 'connect', args)
    const r = ValueReader.of(result, 'pool connect')
    const mapBytes = r.bytes('map')
    const map = decodePoolMap(mapBytes)
    const ranks: RankUris[] = []
    for (const pr of map.ranks) {
      if (!this.cart.primaryGroup.has(pr.rank)) await this.syncMembers().catch(() => undefined)
      const uris: string[] = []
      for (let tag = 0; tag < pr.targets.length; tag++) {
        try {
          uris.push(this.cart.primaryGroup.lookup(pr.rank, tag))
        } catch {
          break
        }
      }
      ranks.push({ rank: pr.rank, uris })
    }
    return { uuid: record.uuid, label: record.label, handle, poolMap: mapBytes, mapVersion: r.uint('version'), ranks }
  }

  /** Closes a pool handle. */
  async poolDisconnect(request: PoolDisconnectRequest): Promise<void> {
    const handle = checkUuid(String(request?.handle), 'pool handle')
    await this.onPool(request.id, 'pool disconnect', 'disconnect', { handle })
  }

  /** `dmg pool get-prop`. */
  async poolGetProp(request: PoolGetPropRequest): Promise<PropertiesResponse> {
    const args: Record<string, Value> = {}
    if (request?.names !== undefined) args['names'] = checkStrings(request.names, 'pool get-prop names')
    const { result } = await this.onPool(request?.id, 'pool get-prop', 'getProp', args)
    return { properties: { ...(result as Record<string, string>) } }
  }

  /** `dmg pool set-prop`. */
  async poolSetProp(request: PoolSetPropRequest): Promise<void> {
    const props = checkStringRecord(request?.properties, 'pool set-prop properties')
    await this.onPool(request.id, 'pool set-prop', 'setProp', { props })
  }

  /** `dmg pool get-acl`. */
  async poolGetAcl(request: PoolIdRequest): Promise<PoolAclResponse> {
    const { result } = await this.onPool(request?.id, 'pool get-acl', 'getAcl', {})
    return { entries: [...(result as string[])] }
  }

  /** `dmg pool update-acl`: adds or replaces entries. */
  async poolUpdateAcl(request: PoolAclRequest): Promise<PoolAclResponse> {
    const entries = checkStrings(request?.entries, 'pool update-acl entries', false)
    const { result } = await this.onPool(request.id, 'pool update-acl', 'updateAcl', { entries })
    return { entries: [...(result as string[])] }
  }

  /** `dmg pool overwrite-acl`: replaces the whole ACL. */
  async poolOverwriteAcl(request: PoolAclRequest): Promise<PoolAclResponse> {
    const entries = checkStrings(request?.entries, 'pool overwrite-acl entries')
    const { result } = await this.onPool(request.id, 'pool overwrite-acl', 'overwriteAcl', { entries })
    return { entries: [...(result as string[])] }
  }

  /** `dmg pool delete-acl`: removes a principal's entry. */
  async poolDeleteAcl(request: PoolDeleteAclRequest): Promise<PoolAclResponse> {
    if (typeof request?.principal !== 'string' || request.principal.length === 0) throw new DerError('DER_INVAL', 'pool delete-acl: a principal is required')
    const { result } = await this.onPool(request.id, 'pool delete-acl', 'deleteAcl', { principal: request.principal })
    return { entries: [...(result as string[])] }
  }

  /** `dmg pool evict`: closes pool handles (all, or the given ones). */
  async poolEvict(request: PoolEvictRequest): Promise<PoolEvictResponse> {
    const args: Record<string, Value> = {}
    if (request?.handles !== undefined) args['handles'] = checkStrings(request.handles, 'pool evict handles', false)
    const { result } = await this.onPool(request?.id, 'pool evict', 'evict', args)
    return { evicted: ValueReader.of(result, 'evict').uint('evicted') }
  }

  private async poolTargets(op: 'exclude' | 'drain' | 'reintegrate', request: PoolTargetsRequest): Promise<PoolMapResponse> {
    const rank = checkRank(request?.rank, `pool ${op}`)
    const selector: Record<string, Value> = { rank }
    if (request.targetIndexes !== undefined) {
      const raw: unknown = request.targetIndexes
      if (!Array.isArray(raw) || raw.length === 0 || raw.some((t) => !Number.isInteger(t) || (t as number) < 0)) {
        throw new DerError('DER_INVAL', `pool ${op}: target indexes must be non-negative integers`)
      }
      selector['targetIndexes'] = (raw as number[]).slice()
    }
    if (op === 'reintegrate') {
      const members = (await this.systemQuery()).members
      const m = members.find((x) => x.rank === rank)
      if (m === undefined) throw new DerError('DER_NONEXIST', `rank ${rank} is not a member`)
      if (m.state !== 'joined') throw new DerError('DER_INVAL', `pool reintegrate: rank ${rank} is ${m.state}; it must rejoin first`)
    }
    const { result } = await this.onPool(request.id, `pool ${op}`, 'mapOp', { op, selectors: [selector] }, this.timing.longRpcTimeoutMs)
    return { mapVersion: ValueReader.of(result, 'map op').uint('mapVersion') }
  }

  /** `dmg pool exclude`: the rank's targets (or some of them) go DOWN; rebuild follows. */
  poolExclude(request: PoolTargetsRequest): Promise<PoolMapResponse> {
    return this.poolTargets('exclude', request)
  }

  /** `dmg pool drain`: the targets go DRAIN (still serving) while their data moves away. */
  poolDrain(request: PoolTargetsRequest): Promise<PoolMapResponse> {
    return this.poolTargets('drain', request)
  }

  /** `dmg pool reintegrate`: the targets come back UP, are rebuilt, then UPIN. */
  poolReintegrate(request: PoolTargetsRequest): Promise<PoolMapResponse> {
    return this.poolTargets('reintegrate', request)
  }

  /** `daos container create`: records the container and allocates its KV object id (class `oclass`, default `S1`). */
  async containerCreate(request: ContainerCreateRequest): Promise<ContainerCreateResponse> {
    if (typeof request?.label !== 'string') throw new DerError('DER_INVAL', 'container create: a container label is required')
    const label = checkLabel(request.label)
    const type = request.type ?? 'KV'
    if (type !== 'KV' && type !== 'POSIX') throw new DerError('DER_INVAL', `container create: type must be KV or POSIX, got '${String(type)}'`)
    const oclassName = request.oclass ?? 'S1'
    if (typeof oclassName !== 'string') throw new DerError('DER_INVAL', 'container create: oclass must be a string')
    parseObjectClass(oclassName)
    const props = request.properties === undefined ? {} : checkStringRecord(request.properties, 'container properties')
    const { result } = await this.onPool(request.pool, 'container create', 'contCreate', { uuid: this.newUuid(), label, type, oclass: oclassName, props })
    const r = ValueReader.of(result, 'container')
    return { container: { uuid: r.string('uuid'), label: r.string('label') } }
  }

  /** `daos container list`. */
  async containerList(request: ContainerListRequest): Promise<ContainerListResponse> {
    const { result } = await this.onPool(request?.pool, 'container list', 'contList', {})
    return { containers: (result as readonly Value[]).map((v) => ({ uuid: ValueReader.of(v, 'container').string('uuid'), label: ValueReader.of(v, 'container').string('label') })) }
  }

  private contArgs(request: ContainerIdRequest, what: string): string {
    return checkId(request?.cont, what)
  }

  /** `daos container query`. */
  async containerQuery(request: ContainerIdRequest): Promise<ContainerQueryResponse> {
    const cont = this.contArgs(request, 'container query')
    const { record, result } = await this.onPool(request.pool, 'container query', 'contQuery', { cont })
    const r = ValueReader.of(result, 'container')
    const attrs = r.bytesMap('attrs')
    const attr = (name: string, fallback: string): string => {
      const v = attrs.get(name)
      return v === undefined ? fallback : textDecoder.decode(v)
    }
    return {
      poolUuid: record.uuid,
      container: { uuid: r.string('uuid'), label: r.string('label') },
      type: attr(containerTypeAttribute, 'KV'),
      oclass: attr(containerOclassAttribute, ''),
      kvOid: attr(kvOidAttribute, ''),
      properties: Object.fromEntries(r.stringMap('props')),
      openHandles: r.uint('openHandles'),
      snapshots: r.strings('snapshots'),
    }
  }

  /** `daos container destroy`: `DER_BUSY` with open handles unless `force`. */
  async containerDestroy(request: ContainerDestroyRequest): Promise<ContainerDestroyResponse> {
    const cont = this.contArgs(request, 'container destroy')
    if (request.force !== undefined && typeof request.force !== 'boolean') throw new DerError('DER_INVAL', 'container destroy: force must be a boolean')
    const { result } = await this.onPool(request.pool, 'container destroy', 'contDestroy', { cont, force: request.force === true })
    const r = ValueReader.of(result, 'container')
    return { container: { uuid: r.string('uuid'), label: r.string('label') } }
  }

  /** `daos container get-prop`. */
  async containerGetProp(request: ContainerGetPropRequest): Promise<PropertiesResponse> {
    const q = await this.containerQuery(request)
    if (request.names === undefined) return { properties: q.properties }
    const names = checkStrings(request.names, 'container get-prop names', false)
    const out: Record<string, string> = {}
    for (const n of names) {
      const v = q.properties[n]
      if (v === undefined) throw new DerError('DER_INVAL', `unknown container property '${n}'`)
      out[n] = v
    }
    return { properties: out }
  }

  /** `daos container set-prop`. */
  async containerSetProp(request: ContainerSetPropRequest): Promise<void> {
    const cont = this.contArgs(request, 'container set-prop')
    const props = checkStringRecord(request.properties, 'container set-prop properties')
    await this.onPool(request.pool, 'container set-prop', 'contSetProp', { cont, props })
  }

  /** `daos container get-attr`. */
  async containerGetAttr(request: ContainerGetAttrRequest): Promise<ContainerAttrsResponse> {
    const cont = this.contArgs(request, 'container get-attr')
    const names = checkStrings(request.names, 'container get-attr names', false)
    const { result } = await this.onPool(request.pool, 'container get-attr', 'contGetAttr', { cont, names })
    if (!isRecord(result)) throw new DerError('DER_PROTO', 'container get-attr: bad reply')
    const attributes: Record<string, Uint8Array> = {}
    for (const [k, v] of Object.entries(result)) if (v instanceof Uint8Array) attributes[k] = v
    return { attributes }
  }

  /** `daos container set-attr` (string values are stored as UTF-8). */
  async containerSetAttr(request: ContainerSetAttrRequest): Promise<void> {
    const cont = this.contArgs(request, 'container set-attr')
    const given = request.attributes
    if (typeof given !== 'object' || given === null || Array.isArray(given) || Object.keys(given).length === 0) throw new DerError('DER_INVAL', 'container set-attr: give at least one attribute')
    const attrs: Record<string, Uint8Array> = {}
    for (const [k, v] of Object.entries(given)) {
      if (typeof v === 'string') attrs[k] = textEncoder.encode(v)
      else if (v instanceof Uint8Array) attrs[k] = v
      else throw new DerError('DER_INVAL', `container set-attr: attribute ${k} must be a string or bytes`)
    }
    await this.onPool(request.pool, 'container set-attr', 'contSetAttr', { cont, attrs })
  }

  /** `daos container list-attrs`. */
  async containerListAttrs(request: ContainerIdRequest): Promise<ContainerListAttrsResponse> {
    const cont = this.contArgs(request, 'container list-attrs')
    const { result } = await this.onPool(request.pool, 'container list-attrs', 'contListAttrs', { cont })
    return { names: [...(result as string[])] }
  }

  /** `daos container del-attr`. */
  async containerDelAttr(request: ContainerDelAttrRequest): Promise<void> {
    const cont = this.contArgs(request, 'container del-attr')
    const names = checkStrings(request.names, 'container del-attr names', false)
    await this.onPool(request.pool, 'container del-attr', 'contDelAttr', { cont, names })
  }

  /** `daos container create-snap` (default epoch: now on the pool service leader's HLC). */
  async containerCreateSnap(request: ContainerCreateSnapRequest): Promise<ContainerSnapResponse> {
    const cont = this.contArgs(request, 'container create-snap')
    const args: Record<string, Value> = { cont }
    if (request.epoch !== undefined) args['epoch'] = checkEpoch(request.epoch, 'container create-snap').toString()
    const { result } = await this.onPool(request.pool, 'container create-snap', 'snapCreate', args)
    return { epoch: typeof result === 'string' ? result : '' }
  }

  /** `daos container list-snaps`. */
  async containerListSnaps(request: ContainerIdRequest): Promise<ContainerListSnapsResponse> {
    const cont = this.contArgs(request, 'container list-snaps')
    const { result } = await this.onPool(request.pool, 'container list-snaps', 'snapList', { cont })
    return { epochs: [...(result as string[])] }
  }

  /** `daos container destroy-snap`. */
  async containerDestroySnap(request: ContainerDestroySnapRequest): Promise<ContainerSnapResponse> {
    const cont = this.contArgs(request, 'container destroy-snap')
    const epoch = checkEpoch(request.epoch, 'container destroy-snap')
    const { result } = await this.onPool(request.pool, 'container destroy-snap', 'snapDestroy', { cont, epoch: epoch.toString() })
    return { epoch: typeof result === 'string' ? result : '' }
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Stops the node: SWIM, background pulls, pool services and object services (commit records
   * flushed unless `crash`), the MS replica, and the cart. Targets are the caller's to close.
   * With `crash` nothing is flushed (a simulated power loss: the caller also drops unsynced storage).
   */
  async stop(options: { readonly crash?: boolean } = {}): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.agent?.stop()
    for (const t of this.timers) this.runtime.timers.cancel(t)
    this.timers = []
    for (const pool of this.pools.values()) {
      pool.rebuild?.stop?.()
      if (pool.objects !== undefined) {
        if (options.crash !== true) await pool.objects.flushCommits().catch(() => undefined)
        pool.objects.stop()
      }
      if (pool.service !== undefined) {
        pool.service.stop()
        this.router.detach(`pool/${pool.uuid}`, pool.service)
        this.options.storage.release?.(`pool/${pool.uuid}`)
      }
    }
    this.pools.clear()
    if (this.ms !== undefined) {
      this.ms.stop()
      this.router.detach('ms', this.ms)
      this.options.storage.release?.('ms')
    }
    await this.cart.close().catch(() => undefined)
  }

}

function checkOptions(o: SystemNodeOptions): void {
  if (typeof o !== 'object' || o === null) throw new DerError('DER_INVAL', 'system node: options are required')
  checkUuid(o.identity?.uuid, 'system node identity uuid')
  if (!Number.isSafeInteger(o.identity.incarnation) || o.identity.incarnation < 1) throw new DerError('DER_INVAL', `system node: incarnation must be an integer >= 1, got ${String(o.identity.incarnation)}`)
  const aps: readonly AccessPoint[] = o.accessPoints
  if (typeof aps !== 'object' || aps === null || aps.length === 0) throw new DerError('DER_INVAL', 'system node: at least one access point is required')
  const ids = new Set<number>()
  for (const ap of aps) {
    if (!Number.isInteger(ap.msId) || ap.msId < 1) throw new DerError('DER_INVAL', `system node: access point msId must be an integer >= 1, got ${String(ap.msId)}`)
    if (ids.has(ap.msId)) throw new DerError('DER_INVAL', `system node: access point msId ${ap.msId} is repeated`)
    if (typeof ap.uri !== 'string' || ap.uri.length === 0) throw new DerError('DER_INVAL', `system node: access point ${ap.msId} has no URI`)
    ids.add(ap.msId)
  }
  if (o.msId !== undefined && !ids.has(o.msId)) throw new DerError('DER_INVAL', `system node: msId ${o.msId} is not among the access points`)
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(o.faultDomain ?? '')) throw new DerError('DER_INVAL', `system node: fault domain '${String(o.faultDomain)}' must look like /host or /rack/host`)
  if (typeof o.controlAddress !== 'string' || o.controlAddress.length === 0) throw new DerError('DER_INVAL', 'system node: a control address is required')
  if (o.targets.size < 1) throw new DerError('DER_INVAL', 'system node: at least one target is required')
}

