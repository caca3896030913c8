/**
 * The pool service's state machine (one Raft group per pool, DAOS's PS): the pool map (opaque
 * bytes whose version only grows), pool properties, the ACL, pool handles, and the containers
 * with their properties, attributes, snapshots and open handles. As in the management service,
 * every command is checked in full before any change.
 *
 * @module
 */
import { DerError, type StructCodec, decodeStruct, encodeStruct } from '@x/common'
import { type AclEntry, aclPermissionsFor, aclPrincipalKey, defaultPoolAcl, formatAclEntry, parseAcl, parseAclPrincipal } from './acl.ts'
import { checkLabel, checkProperties, checkUuid, containerProperties, isUuid, poolProperties, withDefaults } from './properties.ts'
import type { ServiceMachine } from './rsm.ts'
import { type CommandSchema, type Value, ValueReader, commandCodec, decodeValue, encodeValue, mapToRecord } from './value.ts'

/** Capabilities of a pool handle: read-only, read-write or exclusive (DAOS_PC_RO/RW/EX). */
export type PoolHandleCaps = 'ro' | 'rw' | 'ex'

/** Mode of a container handle. */
export type ContainerOpenMode = 'ro' | 'rw'

/** A pool service command. Containers are named by UUID or label (`cont`). */
export type PoolCommand =
  | { readonly op: 'init'; readonly props: Readonly<Record<string, string>>; readonly acl: readonly string[] }
  | { readonly op: 'mapUpdate'; readonly version: number; readonly map: Uint8Array }
  | { readonly op: 'setProps'; readonly props: Readonly<Record<string, string>> }
  | { readonly op: 'aclUpdate' | 'aclOverwrite'; readonly entries: readonly string[] }
  | { readonly op: 'aclDelete'; readonly principal: string }
  | { readonly op: 'connect'; readonly handle: string; readonly caps: string; readonly user?: string; readonly groups?: readonly string[] }
  | { readonly op: 'disconnect'; readonly handle: string }
  | { readonly op: 'evict'; readonly handles?: readonly string[] }
  | { readonly op: 'contCreate'; readonly handle: string; readonly uuid: string; readonly props: Readonly<Record<string, string>> }
  | { readonly op: 'contDestroy'; readonly handle: string; readonly cont: string; readonly force: boolean }
  | { readonly op: 'contOpen'; readonly handle: string; readonly cont: string; readonly contHandle: string; readonly mode: string }
  | { readonly op: 'contClose'; readonly contHandle: string }
  | { readonly op: 'contSetProps'; readonly cont: string; readonly props: Readonly<Record<string, string>> }
  | { readonly op: 'contSetAttrs'; readonly cont: string; readonly attrs: Readonly<Record<string, Uint8Array>> }
  | { readonly op: 'contDelAttrs'; readonly cont: string; readonly names: readonly string[] }
  | { readonly op: 'snapCreate' | 'snapDestroy'; readonly cont: string; readonly epoch: bigint }

const poolSchema: CommandSchema = {
  init: { props: 'stringMap', acl: 'strings' },
  mapUpdate: { version: 'uint', map: 'bytes' },
  setProps: { props: 'stringMap' },
  aclUpdate: { entries: 'strings' },
  aclOverwrite: { entries: 'strings' },
  aclDelete: { principal: 'string' },
  connect: { handle: 'string', caps: 'string', user: 'string?', groups: 'strings?' },
  disconnect: { handle: 'string' },
  evict: { handles: 'strings?' },
  contCreate: { handle: 'string', uuid: 'string', props: 'stringMap' },
  contDestroy: { handle: 'string', cont: 'string', force: 'bool' },
  contOpen: { handle: 'string', cont: 'string', contHandle: 'string', mode: 'string' },
  contClose: { contHandle: 'string' },
  contSetProps: { cont: 'string', props: 'stringMap' },
  contSetAttrs: { cont: 'string', attrs: 'bytesMap' },
  contDelAttrs: { cont: 'string', names: 'strings' },
  snapCreate: { cont: 'string', epoch: 'u64' },
  snapDestroy: { cont: 'string', epoch: 'u64' },
}

/** The versioned codec of {@link PoolCommand} (struct `x.engine.pool-command`, version 1). */
export const poolCommandCodec: StructCodec<PoolCommand> = commandCodec<PoolCommand>('x.engine.pool-command', poolSchema)

/** Encodes a pool service command. */
export function encodePoolCommand(command: PoolCommand): Uint8Array {
  return encodeStruct(poolCommandCodec, command)
}

/** Decodes a pool service command; throws `DecodeError` on bad bytes. */
export function decodePoolCommand(bytes: Uint8Array): PoolCommand {
  return decodeStruct(poolCommandCodec, bytes, { maxItems: 1 << 16, maxBytesLength: 64 << 20 })
}

/** The pool map as the pool service keeps it: opaque bytes and a version that only grows. */
export interface PoolMapBlob {
  readonly version: number
  readonly bytes: Uint8Array
}

/** A container's record. */
export interface ContainerRecord {
  readonly uuid: string
  readonly label: string
  readonly props: ReadonlyMap<string, string>
  readonly attrs: ReadonlyMap<string, Uint8Array>
  /** Snapshot epochs, ascending. */
  readonly snapshots: readonly bigint[]
  /** Open container handles: handle uuid -> mode. */
  readonly handles: ReadonlyMap<string, { readonly poolHandle: string; readonly mode: ContainerOpenMode }>
}

/** What `pool query` reports from the pool service. */
export interface PoolServiceInfo {
  readonly poolUuid: string
  readonly mapVersion: number
  readonly handles: number
  readonly containers: number
  readonly props: ReadonlyMap<string, string>
}

/** Limits of the pool service. */
export const poolServiceLimits = {
  maxContainers: 1 << 14,
  maxHandles: 1 << 14,
  maxAttrs: 1024,
  maxAttrNameBytes: 256,
  maxAttrValueBytes: 64 * 1024,
  maxSnapshots: 1 << 12,
  maxMapBytes: 16 << 20,
} as const

type Change = () => Value

function checkCaps(caps: string): PoolHandleCaps {
  if (caps !== 'ro' && caps !== 'rw' && caps !== 'ex') throw new DerError('DER_INVAL', `pool handle capabilities must be ro, rw or ex, got '${caps}'`)
  return caps
}

function containerValue(c: ContainerRecord): Value {
  const handles: Record<string, Value> = {}
  for (const k of [...c.handles.keys()].sort()) {
    const h = c.handles.get(k) as { poolHandle: string; mode: ContainerOpenMode }
    handles[k] = { poolHandle: h.poolHandle, mode: h.mode }
  }
  return { uuid: c.uuid, label: c.label, props: mapToRecord(c.props), attrs: mapToRecord(c.attrs), snapshots: [...c.snapshots], handles }
}

/** The pool service's state machine for pool `poolUuid`. */
export class PoolServiceMachine implements ServiceMachine {
  readonly poolUuid: string
  private initialized = false
  private map: PoolMapBlob = { version: 0, bytes: new Uint8Array(0) }
  private props = withDefaults(poolProperties, new Map())
  private acl: AclEntry[] = parseAcl(defaultPoolAcl)
  private poolHandles = new Map<string, PoolHandleCaps>()
  private containers = new Map<string, ContainerRecord>()

  constructor(poolUuid: string) {
    this.poolUuid = checkUuid(poolUuid, 'pool uuid')
  }

  /** See {@link ServiceMachine.validate}. */
  validate(command: Uint8Array): void {
    this.plan(decodePoolCommand(command))
  }

  /** See {@link ServiceMachine.apply}. */
  apply(command: Uint8Array): Uint8Array {
    return encodeValue(this.execute(decodePoolCommand(command)))
  }

  /** Checks a command against the current state without changing anything. */
  check(command: PoolCommand): void {
    this.plan(command)
  }

  /** Checks and applies a typed command; returns its result value. */
  execute(command: PoolCommand): Value {
    return this.plan(command)()
  }

  private plan(c: PoolCommand): Change {
    if (c.op === 'init') return this.planInit(c)
    if (!this.initialized) throw new DerError('DER_UNINIT', `pool ${this.poolUuid}: the pool service is not initialized`)
    switch (c.op) {
      case 'mapUpdate': {
        if (c.version <= this.map.version) throw new DerError('DER_STALE', `pool map version ${c.version} is not newer than ${this.map.version}`)
        if (c.map.length === 0 || c.map.length > poolServiceLimits.maxMapBytes) throw new DerError('DER_INVAL', `pool map must have 1..${poolServiceLimits.maxMapBytes} bytes`)
        const blob: PoolMapBlob = { version: c.version, bytes: c.map.slice() }
        return () => {
          this.map = blob
          return { mapVersion: blob.version }
        }
      }
      case 'setProps': {
        const checked = this.checkPoolProps(c.props, 'set')
        if (checked.size === 0) throw new DerError('DER_INVAL', 'pool set-prop: no properties given')
        return () => {
          for (const [k, v] of checked) this.props.set(k, v)
          return null
        }
      }
      case 'aclUpdate': {
        const updates = parseAcl(c.entries)
        if (updates.length === 0) throw new DerError('DER_INVAL', 'pool update-acl: no entries given')
        const merged = new Map(this.acl.map((e) => [aclPrincipalKey(e), e]))
        for (const e of updates) merged.set(aclPrincipalKey(e), e)
        const next = parseAcl([...merged.values()].map(formatAclEntry))
        return () => this.setAcl(next)
      }
      case 'aclOverwrite': {
        const next = parseAcl(c.entries)
        return () => this.setAcl(next)
      }
      case 'aclDelete': {
        const key = parseAclPrincipal(c.principal)
        if (!this.acl.some((e) => aclPrincipalKey(e) === key)) throw new DerError('DER_NONEXIST', `the ACL has no entry for ${c.principal}`)
        const next = this.acl.filter((e) => aclPrincipalKey(e) !== key)
        return () => this.setAcl(next)
      }
      case 'connect': {
        const handle = checkUuid(c.handle, 'pool handle')
        const caps = checkCaps(c.caps)
        if (c.user !== undefined) this.checkConnectAccess(c.user, c.groups ?? [], caps)
        else if (c.groups !== undefined) throw new DerError('DER_INVAL', 'pool connect: groups given without a user')
        const existing = this.poolHandles.get(handle)
        if (existing !== undefined) {
          if (existing !== caps) throw new DerError('DER_EXIST', `pool handle ${handle} exists with capabilities ${existing}`)
          return () => ({ mapVersion: this.map.version })
        }
        if (this.poolHandles.size >= poolServiceLimits.maxHandles) throw new DerError('DER_NOSPACE', `at most ${poolServiceLimits.maxHandles} pool handles`)
        if ([...this.poolHandles.values()].includes('ex')) throw new DerError('DER_BUSY', `pool ${this.poolUuid} is connected exclusively`)
        if (caps === 'ex' && this.poolHandles.size > 0) throw new DerError('DER_BUSY', `pool ${this.poolUuid} has ${this.poolHandles.size} handles; exclusive connect refused`)
        return () => {
          this.poolHandles.set(handle, caps)
          return { mapVersion: this.map.version }
        }
      }
      case 'disconnect': {
        const handle = this.requirePoolHandle(c.handle)
        const open = this.containerHandlesOf(handle)
        if (open > 0) throw new DerError('DER_BUSY', `pool handle ${handle} still has ${open} open container handles`)
        return () => {
          this.poolHandles.delete(handle)
          return null
        }
      }
      case 'evict': {
        const handles = c.handles === undefined ? [...this.poolHandles.keys()] : c.handles.map((h) => this.requirePoolHandle(h))
        const set = new Set(handles)
        return () => {
          for (const h of set) this.poolHandles.delete(h)
          for (const [uuid, cont] of this.containers) {
            const kept = new Map([...cont.handles].filter(([, v]) => !set.has(v.poolHandle)))
            if (kept.size !== cont.handles.size) this.containers.set(uuid, { ...cont, handles: kept })
          }
          return { evicted: set.size }
        }
      }
      case 'contCreate': {
        this.requireWritableHandle(c.handle)
        const uuid = checkUuid(c.uuid, 'container uuid')
        if (this.containers.has(uuid)) throw new DerError('DER_EXIST', `container ${uuid} exists`)
        if (this.containers.size >= poolServiceLimits.maxContainers) throw new DerError('DER_NOSPACE', `at most ${poolServiceLimits.maxContainers} containers`)
        const given = checkProperties(containerProperties, new Map(Object.entries(c.props)), 'create', 'container create')
        const label = given.get('label')
        if (label !== undefined) this.checkLabelFree(label, uuid)
        const inherited = new Map(given)
        if (!inherited.has('rd_fac')) inherited.set('rd_fac', this.props.get('rd_fac') ?? '0')
        if (!inherited.has('ec_cell_sz')) inherited.set('ec_cell_sz', this.props.get('ec_cell_sz') ?? String(128 * 1024))
        const props = withDefaults(containerProperties, inherited)
        const record: ContainerRecord = { uuid, label: props.get('label') ?? '', props, attrs: new Map(), snapshots: [], handles: new Map() }
        return () => {
          this.containers.set(uuid, record)
          return { uuid, label: record.label }
        }
      }
      case 'contDestroy': {
        this.requireWritableHandle(c.handle)
        const cont = this.requireContainer(c.cont)
        if (cont.handles.size > 0 && !c.force) throw new DerError('DER_BUSY', `container ${cont.uuid} has ${cont.handles.size} open handles; use force`)
        return () => {
          this.containers.delete(cont.uuid)
          return null
        }
      }
      case 'contOpen': {
        const poolHandle = this.requirePoolHandle(c.handle)
        const cont = this.requireContainer(c.cont)
        const contHandle = checkUuid(c.contHandle, 'container handle')
        if (c.mode !== 'ro' && c.mode !== 'rw') throw new DerError('DER_INVAL', `container open mode must be ro or rw, got '${c.mode}'`)
        const mode: ContainerOpenMode = c.mode
        if (mode === 'rw' && this.poolHandles.get(poolHandle) === 'ro') throw new DerError('DER_NO_PERM', `pool handle ${poolHandle} is read-only`)
        if (cont.props.get('status') === 'unclean') throw new DerError('DER_RF', `container ${cont.uuid} is unclean`)
        const existing = cont.handles.get(contHandle)
        if (existing !== undefined) {
          if (existing.mode !== mode || existing.poolHandle !== poolHandle) throw new DerError('DER_EXIST', `container handle ${contHandle} exists`)
          return () => this.containerInfo(cont)
        }
        for (const other of this.containers.values()) if (other.handles.has(contHandle)) throw new DerError('DER_EXIST', `container handle ${contHandle} is open on ${other.uuid}`)
        return () => {
          const handles = new Map(cont.handles)
          handles.set(contHandle, { poolHandle, mode })
          const next = { ...cont, handles }
          this.containers.set(cont.uuid, next)
          return this.containerInfo(next)
        }
      }
      case 'contClose': {
        const contHandle = checkUuid(c.contHandle, 'container handle')
        const cont = [...this.containers.values()].find((x) => x.handles.has(contHandle))
        if (cont === undefined) throw new DerError('DER_NO_HDL', `container handle ${contHandle} is not open`)
        return () => {
          const handles = new Map(cont.handles)
          handles.delete(contHandle)
          this.containers.set(cont.uuid, { ...cont, handles })
          return null
        }
      }
      case 'contSetProps': {
        const cont = this.requireContainer(c.cont)
        const checked = checkProperties(containerProperties, new Map(Object.entries(c.props)), 'set', 'container set-prop')
        if (checked.size === 0) throw new DerError('DER_INVAL', 'container set-prop: no properties given')
        const label = checked.get('label')
        if (label !== undefined) this.checkLabelFree(label, cont.uuid)
        return () => {
          const props = new Map(cont.props)
          for (const [k, v] of checked) props.set(k, v)
          this.containers.set(cont.uuid, { ...cont, props, label: props.get('label') ?? cont.label })
          return null
        }
      }
      case 'contSetAttrs': {
        const cont = this.requireContainer(c.cont)
        const names = Object.keys(c.attrs)
        if (names.length === 0) throw new DerError('DER_INVAL', 'set-attr: no attributes given')
        const attrs = new Map(cont.attrs)
        for (const name of names) {
          const value = c.attrs[name] as Uint8Array
          const nameBytes = new TextEncoder().encode(name).length
          if (nameBytes === 0 || nameBytes > poolServiceLimits.maxAttrNameBytes) throw new DerError('DER_INVAL', `attribute name must have 1..${poolServiceLimits.maxAttrNameBytes} bytes`)
          if (value.length > poolServiceLimits.maxAttrValueBytes) throw new DerError('DER_INVAL', `attribute ${name}: value above ${poolServiceLimits.maxAttrValueBytes} bytes`)
          attrs.set(name, value.slice())
        }
        if (attrs.size > poolServiceLimits.maxAttrs) throw new DerError('DER_NOSPACE', `at most ${poolServiceLimits.maxAttrs} attributes per container`)
        return () => {
          this.containers.set(cont.uuid, { ...cont, attrs })
          return null
        }
      }
      case 'contDelAttrs': {
        const cont = this.requireContainer(c.cont)
        if (c.names.length === 0) throw new DerError('DER_INVAL', 'del-attr: no names given')
        for (const n of c.names) if (!cont.attrs.has(n)) throw new DerError('DER_NONEXIST', `container ${cont.uuid} has no attribute ${n}`)
        return () => {
          const attrs = new Map(cont.attrs)
          for (const n of c.names) attrs.delete(n)
          this.containers.set(cont.uuid, { ...cont, attrs })
          return null
        }
      }
      case 'snapCreate': {
        const cont = this.requireContainer(c.cont)
        if (c.epoch < 1n || c.epoch >= 0xffff_ffff_ffff_ffffn) throw new DerError('DER_INVAL', `snapshot epoch ${c.epoch} out of range`)
        if (cont.snapshots.includes(c.epoch)) throw new DerError('DER_EXIST', `container ${cont.uuid} has a snapshot at epoch ${c.epoch}`)
        const max = Number(cont.props.get('max_snapshot') ?? '0')
        if (max === 0 && cont.snapshots.length >= poolServiceLimits.maxSnapshots) throw new DerError('DER_NOSPACE', `at most ${poolServiceLimits.maxSnapshots} snapshots`)
        const snaps = [...cont.snapshots, c.epoch].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        while (max > 0 && snaps.length > max) snaps.shift()
        return () => {
          this.containers.set(cont.uuid, { ...cont, snapshots: snaps })
          return { epoch: c.epoch }
        }
      }
      case 'snapDestroy': {
        const cont = this.requireContainer(c.cont)
        if (!cont.snapshots.includes(c.epoch)) throw new DerError('DER_NONEXIST', `container ${cont.uuid} has no snapshot at epoch ${c.epoch}`)
        return () => {
          this.containers.set(cont.uuid, { ...cont, snapshots: cont.snapshots.filter((e) => e !== c.epoch) })
          return null
        }
      }
    }
  }

  private planInit(c: Extract<PoolCommand, { op: 'init' }>): Change {
    if (this.initialized) throw new DerError('DER_ALREADY', `pool ${this.poolUuid}: already initialized`)
    const props = this.checkPoolProps(c.props, 'create')
    const acl = c.acl.length === 0 ? parseAcl(defaultPoolAcl) : parseAcl(c.acl)
    return () => {
      this.initialized = true
      this.props = withDefaults(poolProperties, props)
      this.acl = acl
      return null
    }
  }

  /**
   * Pool connect access: read-only needs `r` or `t`; read-write and exclusive need `w` (or both
   * `c` and `d`). DER_NO_PERM otherwise.
   */
  private checkConnectAccess(user: string, groups: readonly string[], caps: PoolHandleCaps): void {
    const perms = aclPermissionsFor(this.acl, this.props.get('owner'), this.props.get('group'), { user, groups })
    const canRead = perms.includes('r') || perms.includes('t')
    const canWrite = perms.includes('w') || (perms.includes('c') && perms.includes('d'))
    if (!canRead || (caps !== 'ro' && !canWrite)) throw new DerError('DER_NO_PERM', `pool ${this.poolUuid}: ${user} may not connect ${caps} (permissions '${perms}')`)
  }

  private checkPoolProps(props: Readonly<Record<string, string>>, use: 'create' | 'set'): Map<string, string> {
    return checkProperties(poolProperties, new Map(Object.entries(props)), use, `pool ${use === 'create' ? 'create' : 'set-prop'}`)
  }

  private setAcl(next: AclEntry[]): Value {
    this.acl = next
    return this.acl.map(formatAclEntry)
  }

  private checkLabelFree(label: string, self: string): void {
    checkLabel(label)
    for (const other of this.containers.values()) if (other.uuid !== self && other.label === label) throw new DerError('DER_EXIST', `container label ${label} is used by ${other.uuid}`)
  }

  private requirePoolHandle(text: string): string {
    const handle = isUuid(text) ? text.toLowerCase() : text
    if (!this.poolHandles.has(handle)) throw new DerError('DER_NO_HDL', `pool handle ${text} is not connected`)
    return handle
  }

  private requireWritableHandle(text: string): string {
    const handle = this.requirePoolHandle(text)
    if (this.poolHandles.get(handle) === 'ro') throw new DerError('DER_NO_PERM', `pool handle ${handle} is read-only`)
    return handle
  }

  private containerHandlesOf(poolHandle: string): number {
    let n = 0
    for (const c of this.containers.values()) for (const h of c.handles.values()) if (h.poolHandle === poolHandle) n++
    return n
  }

  private requireContainer(idOrLabel: string): ContainerRecord {
    if (isUuid(idOrLabel)) {
      const c = this.containers.get(idOrLabel.toLowerCase())
      if (c !== undefined) return c
    } else {
      for (const c of this.containers.values()) if (c.label === idOrLabel) return c
    }
    throw new DerError('DER_NONEXIST', `container ${idOrLabel} does not exist in pool ${this.poolUuid}`)
  }

  private containerInfo(c: ContainerRecord): Value {
    return { uuid: c.uuid, label: c.label, openHandles: c.handles.size, snapshots: c.snapshots.length }
  }

  // ---- queries ----

  /** Whether `init` was applied. */
  get isInitialized(): boolean {
    return this.initialized
  }

  /** The pool map blob. */
  poolMap(): PoolMapBlob {
    return this.map
  }

  /** The pool's summary for `pool query`. */
  poolQuery(): PoolServiceInfo {
    return { poolUuid: this.poolUuid, mapVersion: this.map.version, handles: this.poolHandles.size, containers: this.containers.size, props: new Map(this.props) }
  }

  /** Pool properties (all or named; unknown names are DER_INVAL). */
  getProps(names?: readonly string[]): Map<string, string> {
    if (names === undefined) return new Map(this.props)
    const out = new Map<string, string>()
    for (const n of names) {
      if (!Object.prototype.hasOwnProperty.call(poolProperties, n)) throw new DerError('DER_INVAL', `unknown pool property '${n}'`)
      const v = this.props.get(n)
      if (v !== undefined) out.set(n, v)
    }
    return out
  }

  /** The ACL as canonical entry strings. */
  getAcl(): string[] {
    return this.acl.map(formatAclEntry)
  }

  /** Capabilities of a connected pool handle (undefined: not connected). */
  handleCaps(handle: string): PoolHandleCaps | undefined {
    return this.poolHandles.get(handle.toLowerCase())
  }

  /** Containers sorted by UUID: `{ uuid, label }`. */
  listContainers(): { uuid: string; label: string }[] {
    return [...this.containers.keys()].sort().map((k) => {
      const c = this.containers.get(k) as ContainerRecord
      return { uuid: c.uuid, label: c.label }
    })
  }

  /** A container by UUID or label; DER_NONEXIST when unknown. */
  containerQuery(idOrLabel: string): ContainerRecord {
    return this.requireContainer(idOrLabel)
  }

  /** The named attributes of a container (an unknown name is DER_NONEXIST). */
  getAttrs(idOrLabel: string, names: readonly string[]): Map<string, Uint8Array> {
    const c = this.requireContainer(idOrLabel)
    const out = new Map<string, Uint8Array>()
    for (const n of names) {
      const v = c.attrs.get(n)
      if (v === undefined) throw new DerError('DER_NONEXIST', `container ${c.uuid} has no attribute ${n}`)
      out.set(n, v)
    }
    return out
  }

  /** Attribute names of a container, sorted. */
  listAttrs(idOrLabel: string): string[] {
    return [...this.requireContainer(idOrLabel).attrs.keys()].sort()
  }

  /** Snapshot epochs of a container, ascending. */
  listSnapshots(idOrLabel: string): bigint[] {
    return [...this.requireContainer(idOrLabel).snapshots]
  }

  // ---- snapshots ----

  /** See {@link ServiceMachine.snapshot}. */
  snapshot(): Uint8Array {
    const handles: Record<string, Value> = {}
    for (const k of [...this.poolHandles.keys()].sort()) handles[k] = this.poolHandles.get(k) as string
    return encodeValue({
      version: 1,
      poolUuid: this.poolUuid,
      initialized: this.initialized,
      mapVersion: this.map.version,
      map: this.map.bytes,
      props: mapToRecord(this.props),
      acl: this.acl.map(formatAclEntry),
      handles,
      containers: [...this.containers.keys()].sort().map((k) => containerValue(this.containers.get(k) as ContainerRecord)),
    })
  }

  /** See {@link ServiceMachine.restore}. */
  restore(bytes: Uint8Array): void {
    const r = ValueReader.of(decodeValue(bytes), 'pool snapshot')
    if (r.string('poolUuid') !== this.poolUuid) throw new DerError('DER_MISMATCH', `snapshot of pool ${r.string('poolUuid')} given to pool ${this.poolUuid}`)
    const initialized = r.bool('initialized')
    const map: PoolMapBlob = { version: r.uint('mapVersion'), bytes: r.bytes('map') }
    const props = r.stringMap('props')
    let acl: AclEntry[]
    try {
      acl = parseAcl(r.strings('acl'))
    } catch (e) {
      throw new DerError('DER_PROTO', `pool snapshot: bad ACL: ${e instanceof Error ? e.message : String(e)}`)
    }
    const handles = new Map<string, PoolHandleCaps>()
    for (const [k, v] of r.stringMap('handles')) {
      if (v !== 'ro' && v !== 'rw' && v !== 'ex') throw new DerError('DER_PROTO', `pool snapshot: bad handle capabilities ${v}`)
      handles.set(k, v)
    }
    const containers = new Map<string, ContainerRecord>()
    for (const v of r.array('containers')) {
      const c = ValueReader.of(v, 'container')
      const contHandles = new Map<string, { poolHandle: string; mode: ContainerOpenMode }>()
      const hr = c.sub('handles')
      for (const k of Object.keys(hr.record).sort()) {
        const h = hr.sub(k)
        const mode = h.string('mode')
        if (mode !== 'ro' && mode !== 'rw') throw new DerError('DER_PROTO', `pool snapshot: bad container handle mode ${mode}`)
        contHandles.set(k, { poolHandle: h.string('poolHandle'), mode })
      }
      const record: ContainerRecord = { uuid: c.string('uuid'), label: c.string('label'), props: c.stringMap('props'), attrs: c.bytesMap('attrs'), snapshots: c.u64s('snapshots'), handles: contHandles }
      containers.set(record.uuid, record)
    }
    this.initialized = initialized
    this.map = map
    this.props = props
    this.acl = acl
    this.poolHandles = handles
    this.containers = containers
  }
}
