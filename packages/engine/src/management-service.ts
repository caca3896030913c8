/**
 * The management service's state machine (DAOS's MS database): system members and their states,
 * system properties, and the pools' bookkeeping. Every command is checked in full before any
 * change, so a failed command changes nothing; the same check runs on the leader before the
 * command enters the log and again, deterministically, when it is applied.
 *
 * @module
 */
import { DecodeError, DerError, type StructCodec, decodeStruct, encodeStruct } from '@x/common'
import { checkLabel, checkProperties, checkUuid, isUuid, systemProperties, withDefaults } from './properties.ts'
import type { ServiceMachine } from './rsm.ts'
import { type CommandSchema, type Value, ValueReader, commandCodec, decodeValue, encodeValue, mapToRecord } from './value.ts'

/** A member's state, as `dmg system query` shows it. */
export type MemberState = 'joined' | 'stopped' | 'excluded' | 'errored'

/** One system member (an engine with its rank). */
export interface Member {
  readonly rank: number
  readonly uuid: string
  readonly addr: string
  readonly fabricUri: string
  readonly faultDomain: string
  readonly incarnation: number
  readonly state: MemberState
  /** The fabric URIs of the engine's contexts (index = tag), when it gave them at join. */
  readonly uris?: readonly string[]
  /** Why the state last changed (empty when joined normally). */
  readonly info: string
}

/** A pool's lifecycle state in the management service. */
export type PoolState = 'creating' | 'ready' | 'destroying'

/** A pool as the management service records it. */
export interface PoolRecord {
  readonly uuid: string
  readonly label: string
  readonly sizeBytes: number
  /** Ranks of the pool service replicas. */
  readonly svcRanks: readonly number[]
  /** Ranks holding the pool's targets. */
  readonly tgtRanks: readonly number[]
  readonly state: PoolState
}

/** A management-service command. */
export type MgmtCommand =
  | { readonly op: 'join'; readonly uuid: string; readonly rank?: number; readonly addr: string; readonly fabricUri: string; readonly faultDomain: string; readonly incarnation: number; readonly uris?: readonly string[] }
  | { readonly op: 'exclude' | 'stop' | 'start'; readonly ranks: readonly number[] }
  | { readonly op: 'markErrored'; readonly rank: number; readonly incarnation: number; readonly info: string }
  | { readonly op: 'setProps'; readonly props: Readonly<Record<string, string>> }
  | { readonly op: 'poolCreate'; readonly uuid: string; readonly label: string; readonly sizeBytes: number; readonly svcRanks: readonly number[]; readonly tgtRanks: readonly number[] }
  | { readonly op: 'poolReady' | 'poolDestroy' | 'poolRemove'; readonly uuid: string }

const mgmtSchema: CommandSchema = {
  join: { uuid: 'string', rank: 'uint?', addr: 'string', fabricUri: 'string', faultDomain: 'string', incarnation: 'uint', uris: 'strings?' },
  exclude: { ranks: 'uints' },
  stop: { ranks: 'uints' },
  start: { ranks: 'uints' },
  markErrored: { rank: 'uint', incarnation: 'uint', info: 'string' },
  setProps: { props: 'stringMap' },
  poolCreate: { uuid: 'string', label: 'string', sizeBytes: 'uint', svcRanks: 'uints', tgtRanks: 'uints' },
  poolReady: { uuid: 'string' },
  poolDestroy: { uuid: 'string' },
  poolRemove: { uuid: 'string' },
}

/** The versioned codec of {@link MgmtCommand} (struct `x.engine.mgmt-command`, version 1). */
export const mgmtCommandCodec: StructCodec<MgmtCommand> = commandCodec<MgmtCommand>('x.engine.mgmt-command', mgmtSchema)

/** Encodes a management command. */
export function encodeMgmtCommand(command: MgmtCommand): Uint8Array {
  return encodeStruct(mgmtCommandCodec, command)
}

/** Decodes a management command; throws `DecodeError` on bad bytes. */
export function decodeMgmtCommand(bytes: Uint8Array): MgmtCommand {
  return decodeStruct(mgmtCommandCodec, bytes, { maxItems: 1 << 16, maxBytesLength: 1 << 20 })
}

/** The result of `join`. */
export interface JoinResult {
  readonly rank: number
  readonly mapVersion: number
}

/** Maximum number of members. */
export const maxMembers = 1 << 16
/** Maximum number of pools. */
export const maxPools = 1 << 14

const memberStates: readonly MemberState[] = ['joined', 'stopped', 'excluded', 'errored']
const poolStates: readonly PoolState[] = ['creating', 'ready', 'destroying']

function checkText(value: string, what: string, max = 256): void {
  if (value.length === 0 || value.length > max) throw new DerError('DER_INVAL', `${what} must have 1..${max} characters`)
}

function checkRankList(ranks: readonly number[], what: string): void {
  if (ranks.length === 0) throw new DerError('DER_INVAL', `${what}: no ranks given`)
  if (new Set(ranks).size !== ranks.length) throw new DerError('DER_INVAL', `${what}: a rank is repeated`)
}

type Change = () => Value

/** The management service's state machine. */
export class ManagementMachine implements ServiceMachine {
  private members = new Map<number, Member>()
  private pools = new Map<string, PoolRecord>()
  private props = withDefaults(systemProperties, new Map())
  /** Version of the system map: bumped by every membership change. */
  private mapVersion = 0

  // ---- ServiceMachine ----

  /** See {@link ServiceMachine.validate}. */
  validate(command: Uint8Array): void {
    this.plan(decodeMgmtCommand(command))
  }

  /** See {@link ServiceMachine.apply}. */
  apply(command: Uint8Array): Uint8Array {
    return encodeValue(this.execute(decodeMgmtCommand(command)))
  }

  /** Checks a command against the current state without changing anything. */
  check(command: MgmtCommand): void {
    this.plan(command)
  }

  /** Checks and applies a typed command; returns its result value. */
  execute(command: MgmtCommand): Value {
    return this.plan(command)()
  }

  private plan(c: MgmtCommand): Change {
    switch (c.op) {
      case 'join':
        return this.planJoin(c)
      case 'exclude':
      case 'stop':
      case 'start':
        return this.planRankState(c.op, c.ranks)
      case 'markErrored': {
        const m = this.requireMember(c.rank)
        if (c.incarnation < m.incarnation) throw new DerError('DER_STALE', `rank ${c.rank}: incarnation ${c.incarnation} older than ${m.incarnation}`)
        checkText(c.info, 'info')
        return () => {
          this.members.set(m.rank, { ...m, state: m.state === 'excluded' ? 'excluded' : 'errored', info: c.info })
          this.mapVersion++
          return { mapVersion: this.mapVersion }
        }
      }
      case 'setProps': {
        const given = new Map(Object.entries(c.props))
        if (given.size === 0) throw new DerError('DER_INVAL', 'system set-prop: no properties given')
        const checked = checkProperties(systemProperties, given, 'set', 'system set-prop')
        return () => {
          for (const [k, v] of checked) this.props.set(k, v)
          return null
        }
      }
      case 'poolCreate':
        return this.planPoolCreate(c)
      case 'poolReady': {
        const p = this.requirePool(c.uuid)
        if (p.state === 'ready') return () => poolValue(p)
        if (p.state !== 'creating') throw new DerError('DER_BUSY', `pool ${p.uuid} is ${p.state}`)
        return () => {
          const next: PoolRecord = { ...p, state: 'ready' }
          this.pools.set(p.uuid, next)
          return poolValue(next)
        }
      }
      case 'poolDestroy': {
        const p = this.requirePool(c.uuid)
        return () => {
          const next: PoolRecord = { ...p, state: 'destroying' }
          this.pools.set(p.uuid, next)
          return poolValue(next)
        }
      }
      case 'poolRemove': {
        const p = this.requirePool(c.uuid)
        if (p.state !== 'destroying') throw new DerError('DER_BUSY', `pool ${p.uuid} is ${p.state}; destroy it first`)
        return () => {
          this.pools.delete(p.uuid)
          return null
        }
      }
    }
  }

  private planJoin(c: Extract<MgmtCommand, { op: 'join' }>): Change {
    const uuid = checkUuid(c.uuid, 'member uuid')
    checkText(c.addr, 'addr')
    checkText(c.fabricUri, 'fabric uri')
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(c.faultDomain) || c.faultDomain.length > 256) throw new DerError('DER_INVAL', `fault domain '${c.faultDomain}' must look like /host or /rack/host`)
    if (c.incarnation < 1) throw new DerError('DER_INVAL', 'incarnation must be >= 1')
    if (c.uris !== undefined) {
      if (c.uris.length === 0 || c.uris.length > 1024) throw new DerError('DER_INVAL', 'uris must list 1..1024 fabric URIs')
      for (const u of c.uris) checkText(u, 'fabric uri')
    }
    const uris = c.uris === undefined ? {} : { uris: [...c.uris] }
    const existing = [...this.members.values()].find((m) => m.uuid === uuid)
    for (const m of this.members.values()) {
      if (m.uuid !== uuid && m.addr === c.addr && m.state === 'joined') throw new DerError('DER_EXIST', `address ${c.addr} is used by rank ${m.rank}`)
    }
    if (existing !== undefined) {
      if (c.rank !== undefined && c.rank !== existing.rank) throw new DerError('DER_INVAL', `member ${uuid} has rank ${existing.rank}, not ${c.rank}`)
      if (c.incarnation < existing.incarnation) throw new DerError('DER_STALE', `rank ${existing.rank}: incarnation ${c.incarnation} older than ${existing.incarnation}`)
      if (c.incarnation === existing.incarnation) {
        if (existing.state === 'joined' && existing.addr === c.addr) return () => ({ rank: existing.rank, mapVersion: this.mapVersion })
        throw new DerError('DER_STALE', `rank ${existing.rank}: rejoin needs a new incarnation (have ${existing.incarnation}, state ${existing.state})`)
      }
      return () => {
        this.members.set(existing.rank, { rank: existing.rank, uuid: existing.uuid, addr: c.addr, fabricUri: c.fabricUri, faultDomain: c.faultDomain, incarnation: c.incarnation, state: 'joined', info: '', ...uris })
        this.mapVersion++
        return { rank: existing.rank, mapVersion: this.mapVersion }
      }
    }
    if (this.members.size >= maxMembers) throw new DerError('DER_NOSPACE', `at most ${maxMembers} members`)
    let rank = c.rank
    if (rank !== undefined) {
      if (rank > 0xfffffffe) throw new DerError('DER_INVAL', `rank ${rank} out of range`)
      if (this.members.has(rank)) throw new DerError('DER_EXIST', `rank ${rank} belongs to member ${this.members.get(rank)?.uuid}`)
    } else {
      rank = 0
      while (this.members.has(rank)) rank++
    }
    const chosen = rank
    return () => {
      this.members.set(chosen, { rank: chosen, uuid, addr: c.addr, fabricUri: c.fabricUri, faultDomain: c.faultDomain, incarnation: c.incarnation, state: 'joined', info: '', ...uris })
      this.mapVersion++
      return { rank: chosen, mapVersion: this.mapVersion }
    }
  }

  private planRankState(op: 'exclude' | 'stop' | 'start', ranks: readonly number[]): Change {
    checkRankList(ranks, `system ${op}`)
    const members = ranks.map((r) => this.requireMember(r))
    const next = (m: Member): MemberState => {
      if (op === 'exclude') return 'excluded'
      if (op === 'stop') return m.state === 'excluded' ? 'excluded' : 'stopped'
      if (m.state === 'excluded') throw new DerError('DER_INVAL', `rank ${m.rank} is excluded; it must rejoin`)
      return 'joined'
    }
    const states = members.map(next)
    return () => {
      let changed = false
      members.forEach((m, i) => {
        const state = states[i] as MemberState
        if (state !== m.state) {
          this.members.set(m.rank, { ...m, state, info: op === 'start' ? '' : `system ${op}` })
          changed = true
        }
      })
      if (changed) this.mapVersion++
      return { mapVersion: this.mapVersion }
    }
  }

  private planPoolCreate(c: Extract<MgmtCommand, { op: 'poolCreate' }>): Change {
    const uuid = checkUuid(c.uuid, 'pool uuid')
    const label = checkLabel(c.label)
    if (c.sizeBytes < 1) throw new DerError('DER_INVAL', 'pool size must be > 0')
    checkRankList(c.tgtRanks, 'pool create target ranks')
    checkRankList(c.svcRanks, 'pool create service ranks')
    if (this.pools.has(uuid)) throw new DerError('DER_EXIST', `pool ${uuid} exists`)
    for (const p of this.pools.values()) if (p.label === label) throw new DerError('DER_EXIST', `pool label ${label} is used by ${p.uuid}`)
    if (this.pools.size >= maxPools) throw new DerError('DER_NOSPACE', `at most ${maxPools} pools`)
    for (const r of c.tgtRanks) {
      const m = this.requireMember(r)
      if (m.state !== 'joined') throw new DerError('DER_INVAL', `rank ${r} is ${m.state}, not joined`)
    }
    for (const r of c.svcRanks) if (!c.tgtRanks.includes(r)) throw new DerError('DER_INVAL', `service rank ${r} is not a target rank`)
    const record: PoolRecord = { uuid, label, sizeBytes: c.sizeBytes, svcRanks: [...c.svcRanks].sort((a, b) => a - b), tgtRanks: [...c.tgtRanks].sort((a, b) => a - b), state: 'creating' }
    return () => {
      this.pools.set(uuid, record)
      return poolValue(record)
    }
  }

  private requireMember(rank: number): Member {
    const m = this.members.get(rank)
    if (m === undefined) throw new DerError('DER_NONEXIST', `rank ${rank} is not a member`)
    return m
  }

  private requirePool(uuid: string): PoolRecord {
    const p = isUuid(uuid) ? this.pools.get(uuid.toLowerCase()) : undefined
    if (p === undefined) throw new DerError('DER_NONEXIST', `pool ${uuid} does not exist`)
    return p
  }

  // ---- queries ----

  /** Members sorted by rank (optionally only the given ranks; unknown ones are DER_NONEXIST). */
  systemQuery(ranks?: readonly number[]): Member[] {
    if (ranks !== undefined) return ranks.map((r) => this.requireMember(r))
    return [...this.members.values()].sort((a, b) => a.rank - b.rank)
  }

  /** The system map version. */
  get systemMapVersion(): number {
    return this.mapVersion
  }

  /** System properties (all, or the named ones: an unknown name is DER_INVAL). */
  getProps(names?: readonly string[]): Map<string, string> {
    if (names === undefined) return new Map(this.props)
    const out = new Map<string, string>()
    for (const n of names) {
      const v = this.props.get(n)
      if (v === undefined) throw new DerError('DER_INVAL', `unknown system property '${n}'`)
      out.set(n, v)
    }
    return out
  }

  /** Pools sorted by label. */
  poolList(): PoolRecord[] {
    return [...this.pools.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
  }

  /** A pool by UUID or label; DER_NONEXIST when unknown. */
  poolQuery(idOrLabel: string): PoolRecord {
    if (isUuid(idOrLabel)) return this.requirePool(idOrLabel)
    for (const p of this.pools.values()) if (p.label === idOrLabel) return p
    throw new DerError('DER_NONEXIST', `pool ${idOrLabel} does not exist`)
  }

  // ---- snapshots ----

  /** See {@link ServiceMachine.snapshot}. */
  snapshot(): Uint8Array {
    const members = this.systemQuery().map((m): Value => (m.uris === undefined ? { ...m, uris: undefined } : { ...m, uris: [...m.uris] }) as Value)
    const pools = [...this.pools.keys()].sort().map((k): Value => poolValue(this.pools.get(k) as PoolRecord))
    return encodeValue({ version: 1, mapVersion: this.mapVersion, members, pools, props: mapToRecord(this.props) })
  }

  /** See {@link ServiceMachine.restore}. */
  restore(bytes: Uint8Array): void {
    const r = ValueReader.of(decodeValue(bytes), 'mgmt snapshot')
    const members = new Map<number, Member>()
    for (const v of r.array('members')) {
      const m = ValueReader.of(v, 'member')
      const state = m.string('state') as MemberState
      if (!memberStates.includes(state)) throw new DecodeError('malformed', `mgmt snapshot: unknown member state ${state}`, 0)
      const uris = m.record['uris'] === undefined ? {} : { uris: m.strings('uris') }
      const member: Member = { rank: m.uint('rank'), uuid: m.string('uuid'), addr: m.string('addr'), fabricUri: m.string('fabricUri'), faultDomain: m.string('faultDomain'), incarnation: m.uint('incarnation'), state, info: m.string('info'), ...uris }
      members.set(member.rank, member)
    }
    const pools = new Map<string, PoolRecord>()
    for (const v of r.array('pools')) {
      const p = ValueReader.of(v, 'pool')
      const state = p.string('state') as PoolState
      if (!poolStates.includes(state)) throw new DecodeError('malformed', `mgmt snapshot: unknown pool state ${state}`, 0)
      pools.set(p.string('uuid'), { uuid: p.string('uuid'), label: p.string('label'), sizeBytes: p.uint('sizeBytes'), svcRanks: p.uints('svcRanks'), tgtRanks: p.uints('tgtRanks'), state })
    }
    const props = r.stringMap('props')
    const mapVersion = r.uint('mapVersion')
    this.members = members
    this.pools = pools
    this.props = props
    this.mapVersion = mapVersion
  }
}

function poolValue(p: PoolRecord): Value {
  return { uuid: p.uuid, label: p.label, sizeBytes: p.sizeBytes, svcRanks: [...p.svcRanks], tgtRanks: [...p.tgtRanks], state: p.state }
}

/** Decodes the result of `join`. */
export function decodeJoinResult(bytes: Uint8Array): JoinResult {
  const r = ValueReader.of(decodeValue(bytes), 'join result')
  return { rank: r.uint('rank'), mapVersion: r.uint('mapVersion') }
}
