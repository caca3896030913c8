/**
 * A deterministic simulation of one authority, several clients, a data layer with fencing, and a
 * network with per-link FIFO delays and partitions, on a VirtualRuntime. It checks the
 * consistency properties after every event and records a readable trace.
 */
import { Random, VirtualRuntime } from '@x/common'
import {
  CAP_AUTH_EXCL,
  CAP_AUTH_SHARED,
  type AuthorityConfig,
  type AuthorityOutput,
  CAP_FILE_BUFFER,
  CAP_FILE_CACHE,
  CAP_FILE_RD,
  CAP_FILE_SHARED,
  CAP_FILE_WR,
  CAP_PIN,
  CapsAuthority,
  CapsClient,
  type ClientConfig,
  type ClientOutput,
  type Message,
  capsConflict,
  decodeMessage,
  describeMessage,
  encodeMessage,
  formatCaps,
} from '../../src/index.ts'

/** Options of a simulation. */
export interface SimOptions {
  readonly seed: number
  readonly authority?: Partial<AuthorityConfig>
  readonly client?: Partial<Omit<ClientConfig, 'clientId'>>
  /** One-way message latency: fixed, or drawn in [min, max]. */
  readonly latencyMs?: number | { readonly min: number; readonly max: number }
  /** Data-layer write latency (client → store and back, each way): fixed, or drawn in [min, max]. */
  readonly storeLatencyMs?: number | { readonly min: number; readonly max: number }
  readonly tickMs?: number
  readonly trace?: boolean
  /** Pending operations give up after this long. */
  readonly opTimeoutMs?: number
  /** A deliberately broken adapter, to prove the checker catches it. */
  readonly fault?: 'writeback-done-before-landing'
}

type OpKind = 'read' | 'write' | 'stat' | 'chmod' | 'getmode'
interface PendingOp {
  readonly id: number
  readonly kind: OpKind
  readonly ino: number
  readonly startMs: number
  readonly offsetBytes: number
  readonly lengthBytes: number
  readonly cacheBusyMs: number
}

interface Token {
  readonly name: string
  readonly writer: string
  readonly ino: number
  readonly endBytes: number
}

interface SimClient {
  readonly id: string
  readonly core: CapsClient
  crashed: boolean
  closed: boolean
  driftPpm: number
  readonly dirty: Map<number, Token[]>
  readonly writingBack: Map<number, Token[]>
  readonly cache: Map<number, { gen: number; tokens: Set<string> }>
  readonly opens: Map<number, number[]>
  pending: PendingOp[]
  writes: number
}

/** A recorded completed operation. */
export interface OpRecord {
  readonly client: string
  readonly kind: OpKind
  readonly ino: number
  readonly startMs: number
  readonly endMs: number
  readonly result: string
}

/** The data layer: landed tokens per inode, a fence (blocklist). */
class Store {
  readonly landed = new Map<number, Map<string, Token>>()
  readonly fenced = new Set<string>()
  tokens(ino: number): Set<string> {
    return new Set(this.landed.get(ino)?.keys() ?? [])
  }
}

/** One simulation. */
export class Sim {
  readonly runtime: VirtualRuntime
  readonly random: Random
  readonly authority: CapsAuthority
  readonly clients = new Map<string, SimClient>()
  readonly store = new Store()
  readonly trace: string[] = []
  readonly violations: string[] = []
  readonly ops: OpRecord[] = []
  readonly events = { evictions: 0, warnings: 0, refused: 0, refusedWrites: 0, dropped: 0, delivered: 0, reads: 0, writes: 0, stats: 0, abandoned: 0 }
  /** Local mode changes (chmod under Ax) that returned, with their (increasing) values. */
  readonly chmods: Array<{ ino: number; value: number; writer: string; atMs: number }> = []
  private modeCounter = 0
  /** Writes that returned to their caller, with the time they returned. */
  readonly returned: Array<{ token: Token; atMs: number }> = []
  private readonly linkDownUntil = new Map<string, number>()
  private readonly linkLast = new Map<string, number>()
  private readonly options: SimOptions
  private nextOpId = 1
  private authorityDriftPpm = 0
  private readonly crashedAt = new Map<string, number>()
  private readonly sessionStates = new Map<string, string>()

  constructor(options: SimOptions) {
    this.options = options
    this.runtime = new VirtualRuntime({ seed: options.seed })
    this.random = new Random(options.seed)
    this.authority = new CapsAuthority({ ...options.authority })
    const tickMs = options.tickMs ?? 1000
    this.runtime.timers.repeat(tickMs, () => this.event(() => this.handleAuthority(this.authority.tick(this.localNow(undefined)))))
  }

  get nowMs(): number {
    return this.runtime.nowMs
  }

  /** Monotonic time on a node's own clock (the authority when `client` is undefined). */
  localNow(client: SimClient | undefined): number {
    const ppm = client === undefined ? this.authorityDriftPpm : client.driftPpm
    return this.nowMs * (1 + ppm / 1e6)
  }

  setAuthorityDriftPpm(ppm: number): void {
    this.authorityDriftPpm = ppm
  }

  addClient(id: string, config: Partial<Omit<ClientConfig, 'clientId'>> = {}, driftPpm = 0): void {
    const core = new CapsClient({ ...this.options.client, ...config, clientId: id })
    const c: SimClient = { id, core, crashed: false, closed: false, driftPpm, dirty: new Map(), writingBack: new Map(), cache: new Map(), opens: new Map(), pending: [], writes: 0 }
    this.clients.set(id, c)
    const tickMs = this.options.tickMs ?? 1000
    this.runtime.timers.repeat(tickMs, () => {
      if (c.crashed) return
      this.event(() => this.handleClient(c, c.core.tick(this.localNow(c))))
    })
    this.event(() => this.handleClient(c, core.openSession(this.localNow(c), 0)))
  }

  client(id: string): SimClient {
    const c = this.clients.get(id)
    if (c === undefined) throw new Error(`no client ${id}`)
    return c
  }

  // ------------------------------------------------------------ operations

  open(id: string, ino: number, mode: number): void {
    const c = this.client(id)
    if (c.crashed || c.closed) return
    this.event(() => {
      this.log(`${id} open ${ino} mode=${mode}`)
      c.opens.set(ino, [...(c.opens.get(ino) ?? []), mode])
      this.handleClient(c, c.core.open(this.localNow(c), ino, mode))
    })
  }

  close(id: string, ino: number, mode: number): void {
    const c = this.client(id)
    if (c.crashed || c.closed) return
    const modes = c.opens.get(ino) ?? []
    const at = modes.indexOf(mode)
    if (at < 0) return
    this.event(() => {
      modes.splice(at, 1)
      this.log(`${id} close ${ino} mode=${mode}`)
      this.handleClient(c, c.core.close(this.localNow(c), ino, mode))
    })
  }

  startOp(id: string, kind: OpKind, ino: number, offsetBytes = 0, lengthBytes = 0, cacheBusyMs = 0): void {
    const c = this.client(id)
    if (c.crashed || c.closed) return
    this.event(() => {
      c.pending.push({ id: this.nextOpId++, kind, ino, startMs: this.nowMs, offsetBytes, lengthBytes, cacheBusyMs })
      this.log(`${id} start ${kind} ${ino}${kind === 'write' ? ` [${offsetBytes},+${lengthBytes})` : ''}`)
    })
  }

  crash(id: string): void {
    const c = this.client(id)
    this.event(() => {
      c.crashed = true
      this.crashedAt.set(id, this.nowMs)
      c.pending = []
      this.log(`${id} crash`)
    })
  }

  partition(id: string, durationMs: number): void {
    this.event(() => {
      const until = this.nowMs + durationMs
      for (const link of [`${id}>mds`, `mds>${id}`, `${id}>store`, `store>${id}`]) this.linkDownUntil.set(link, until)
      this.log(`${id} partitioned for ${durationMs} ms`)
    })
  }

  evict(id: string): void {
    this.event(() => this.handleAuthority(this.authority.evict(this.localNow(undefined), id)))
  }

  /** Runs `fn` at simulated time `atMs` (absolute). */
  at(atMs: number, fn: () => void): void {
    this.runtime.timers.schedule(Math.max(0, atMs - this.nowMs), fn)
  }

  run(untilMs: number): void {
    this.runtime.advanceSync(untilMs - this.nowMs)
  }

  // ------------------------------------------------------------ plumbing

  private event(fn: () => void): void {
    fn()
    this.pump()
    this.check()
    for (const id of this.clients.keys()) {
      const state = this.authority.session(id)?.state ?? 'none'
      if (state !== (this.sessionStates.get(id) ?? 'none')) {
        this.log(`mds session ${id}: ${this.sessionStates.get(id) ?? 'none'} -> ${state}`)
        this.sessionStates.set(id, state)
      }
    }
  }

  private log(line: string): void {
    if (this.options.trace === true) this.trace.push(`${String(this.nowMs).padStart(7)} ${line}`)
  }

  private latency(): number {
    const l = this.options.latencyMs ?? 1
    return typeof l === 'number' ? l : this.random.intBetween(l.min, l.max)
  }

  private transmit(link: string, delayMs: number, deliver: () => void): boolean {
    if ((this.linkDownUntil.get(link) ?? 0) > this.nowMs) {
      this.events.dropped++
      return false
    }
    const atMs = Math.max(this.nowMs + delayMs, this.linkLast.get(link) ?? 0)
    this.linkLast.set(link, atMs)
    this.runtime.timers.schedule(atMs - this.nowMs, () => {
      if ((this.linkDownUntil.get(link) ?? 0) > this.nowMs) {
        this.events.dropped++
        return
      }
      this.event(deliver)
    })
    return true
  }

  private sendToAuthority(c: SimClient, message: Message): void {
    const bytes = encodeMessage(message)
    this.transmit(`${c.id}>mds`, this.latency(), () => {
      const m = decodeMessage(bytes)
      this.log(`${c.id} -> mds ${describeMessage(m, formatCaps)}`)
      this.events.delivered++
      this.handleAuthority(this.authority.step(this.localNow(undefined), m))
    })
  }

  private handleAuthority(outputs: AuthorityOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'send': {
          const c = this.clients.get(o.to)
          if (c === undefined) break
          const bytes = encodeMessage(o.message)
          this.transmit(`mds>${c.id}`, this.latency(), () => {
            if (c.crashed) return
            const m = decodeMessage(bytes)
            this.log(`mds -> ${c.id} ${describeMessage(m, formatCaps)}`)
            this.events.delivered++
            this.handleClient(c, c.core.step(this.localNow(c), m))
          })
          break
        }
        case 'evict':
          this.store.fenced.add(o.clientId)
          this.events.evictions++
          this.log(`mds evict ${o.clientId} (${o.reason}); data layer fences it`)
          break
        case 'warning':
          this.events.warnings++
          this.log(`mds warning: ${o.clientId} failing to respond to capability release ino=${o.ino} pending=${formatCaps(o.pending)} issued=${formatCaps(o.issued)} age=${o.ageMs}ms`)
          break
        case 'recover-size': {
          const ino = o.ino
          this.log(`mds recovers the size of ${ino} (a lost writer had max_size ${o.upToBytes})`)
          this.runtime.timers.schedule(2, () =>
            this.event(() => {
              let size = 0
              for (const t of this.store.landed.get(ino)?.values() ?? []) size = Math.max(size, t.endBytes)
              this.log(`store probe: size of ${ino} is ${size}`)
              this.handleAuthority(this.authority.sizeRecovered(this.localNow(undefined), ino, size))
            }),
          )
          break
        }
        case 'refused':
          this.events.refused++
          this.log(`mds refused ${o.clientId}: ${o.reason}`)
          break
      }
    }
  }

  private handleClient(c: SimClient, outputs: ClientOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'send':
          this.sendToAuthority(c, o.message)
          break
        case 'writeback':
          this.startWriteback(c, o.ino)
          break
        case 'invalidate':
          c.cache.delete(o.ino)
          this.log(`${c.id} invalidate cache of ${o.ino}`)
          break
        case 'wake':
          break
        case 'session-closed':
          c.closed = true
          this.log(`${c.id} session closed by mds; lost dirty inodes [${o.lostDirtyInodes.join(',')}]`)
          for (const ino of o.lostDirtyInodes) c.dirty.delete(ino)
          c.pending = []
          break
      }
    }
  }

  private startWriteback(c: SimClient, ino: number): void {
    const tokens = c.dirty.get(ino) ?? []
    if (tokens.length === 0) return
    c.dirty.delete(ino)
    c.writingBack.set(ino, [...(c.writingBack.get(ino) ?? []), ...tokens])
    this.log(`${c.id} writeback ${ino} [${tokens.map((t) => t.name).join(',')}]`)
    if (this.options.fault === 'writeback-done-before-landing') {
      c.writingBack.set(ino, [])
      this.handleClient(c, c.core.writebackDone(this.localNow(c), ino, tokens.length))
    }
    const l = this.options.storeLatencyMs ?? 2
    const delay = typeof l === 'number' ? l : this.random.intBetween(l.min, l.max)
    this.transmit(`${c.id}>store`, delay, () => {
      const ok = this.storeWrite(c.id, tokens)
      this.transmit(`store>${c.id}`, delay, () => {
        if (c.crashed) return
        const inFlight = c.writingBack.get(ino) ?? []
        c.writingBack.set(ino, inFlight.filter((t) => !tokens.includes(t)))
        // Written-back pages stay in the writer's page cache as clean pages.
        if (ok) for (const t of tokens) c.cache.get(ino)?.tokens.add(t.name)
        this.log(`${c.id} writeback ${ino} ${ok ? 'done' : 'failed (fenced)'}`)
        if (this.options.fault !== 'writeback-done-before-landing') this.handleClient(c, c.core.writebackDone(this.localNow(c), ino, tokens.length))
      })
    })
  }

  private storeWrite(writer: string, tokens: readonly Token[]): boolean {
    if (this.store.fenced.has(writer)) {
      this.events.refusedWrites++
      this.log(`store refuses ${tokens.length} write(s) from fenced ${writer}`)
      return false
    }
    if (this.authority.isFenced(writer)) this.violations.push(`${this.nowMs}: store accepted a write from evicted ${writer}`)
    for (const t of tokens) {
      const range = this.authority.rangeBytes(t.ino, writer)
      if (t.endBytes > range) this.violations.push(`${this.nowMs}: ${writer} wrote to ${t.endBytes} past its max_size range ${range} on ${t.ino} (P10)`)
      let m = this.store.landed.get(t.ino)
      if (m === undefined) this.store.landed.set(t.ino, (m = new Map<string, Token>()))
      m.set(t.name, t)
    }
    return true
  }

  /** Retries every pending operation until none makes progress. */
  private pump(): void {
    for (const c of this.clients.values()) {
      if (c.crashed || c.closed) continue
      const still: PendingOp[] = []
      for (const op of c.pending) {
        if (!this.tryOp(c, op)) still.push(op)
      }
      c.pending = still
    }
  }

  private ownTokens(c: SimClient, ino: number): Token[] {
    return [...(c.dirty.get(ino) ?? []), ...(c.writingBack.get(ino) ?? [])]
  }

  /** Returns true when the op finished (or was abandoned). */
  private tryOp(c: SimClient, op: PendingOp): boolean {
    const now = this.localNow(c)
    if (this.nowMs - op.startMs > (this.options.opTimeoutMs ?? 30_000)) {
      this.events.abandoned++
      this.log(`${c.id} gives up ${op.kind} ${op.ino}`)
      return true
    }
    const core = c.core
    if (op.kind === 'read') {
      const { result, outputs } = core.getCaps(now, op.ino, CAP_FILE_RD, CAP_FILE_CACHE)
      this.handleClient(c, outputs)
      if (!result.ok) return false
      const gen = core.rdcacheGen(op.ino)
      const cached = c.cache.get(op.ino)
      let seen: Set<string>
      let from: string
      if ((result.got & CAP_FILE_CACHE) !== 0 && cached !== undefined && cached.gen === gen) {
        seen = new Set(cached.tokens)
        from = 'cache'
      } else {
        seen = this.store.tokens(op.ino)
        from = 'store'
        if ((result.got & CAP_FILE_CACHE) !== 0) {
          c.cache.set(op.ino, { gen, tokens: new Set(seen) })
          core.setCachedPages(op.ino, 1)
        }
      }
      for (const t of this.ownTokens(c, op.ino)) seen.add(t.name)
      this.checkRead(c, op, seen)
      this.events.reads++
      this.record(c, op, `${from} {${[...seen].sort().join(',')}}`)
      if (op.cacheBusyMs > 0 && (result.got & CAP_FILE_CACHE) !== 0) {
        core.holdCacheBusy(op.ino)
        this.runtime.timers.schedule(op.cacheBusyMs, () => {
          if (c.crashed || c.closed) return
          this.event(() => this.handleClient(c, core.releaseCacheBusy(this.localNow(c), op.ino)))
        })
      }
      this.handleClient(c, core.putCaps(now, op.ino, result.got))
      return true
    }
    if (op.kind === 'chmod') {
      const { result, outputs } = core.getCaps(now, op.ino, CAP_AUTH_EXCL, 0)
      this.handleClient(c, outputs)
      if (!result.ok) return false
      const value = ++this.modeCounter
      this.handleClient(c, core.setModeLocally(now, op.ino, value))
      this.chmods.push({ ino: op.ino, value, writer: c.id, atMs: this.nowMs })
      this.record(c, op, `mode=${value}`)
      this.handleClient(c, core.putCaps(now, op.ino, result.got))
      return true
    }
    if (op.kind === 'getmode') {
      const { result, outputs } = core.getCaps(now, op.ino, CAP_AUTH_SHARED, 0)
      this.handleClient(c, outputs)
      if (!result.ok) return false
      const mode = core.mode(op.ino)
      for (const ch of this.chmods) {
        if (ch.ino !== op.ino || ch.atMs >= op.startMs || mode >= ch.value) continue
        const w = this.clients.get(ch.writer)
        const lost = w === undefined || w.crashed || w.closed || this.authority.isFenced(ch.writer)
        if (!lost) this.violations.push(`${this.nowMs}: ${c.id} saw mode ${mode} of ${op.ino}, older than ${ch.value} set by ${ch.writer} at ${ch.atMs} (P5)`)
      }
      this.record(c, op, `mode=${mode}`)
      this.handleClient(c, core.putCaps(now, op.ino, result.got))
      return true
    }
    if (op.kind === 'stat') {
      const { result, outputs } = core.getCaps(now, op.ino, CAP_FILE_SHARED, 0)
      this.handleClient(c, outputs)
      if (!result.ok) return false
      const size = core.sizes(op.ino).sizeBytes
      for (const { token, atMs } of this.returned) {
        if (token.ino !== op.ino || atMs >= op.startMs || this.lost(token)) continue
        if (token.endBytes > size) this.violations.push(`${this.nowMs}: ${c.id} stat of ${op.ino} saw size ${size} < ${token.endBytes} written by ${token.writer} at ${atMs} (P4)`)
      }
      this.events.stats++
      this.record(c, op, `size=${size}`)
      this.handleClient(c, core.putCaps(now, op.ino, result.got))
      return true
    }
    const end = op.offsetBytes + op.lengthBytes
    const { result, outputs } = core.getCaps(now, op.ino, CAP_FILE_WR, CAP_FILE_BUFFER, end)
    this.handleClient(c, outputs)
    if (!result.ok) return false
    const token: Token = { name: `${c.id}${++c.writes}`, writer: c.id, ino: op.ino, endBytes: end }
    if ((result.got & CAP_FILE_BUFFER) !== 0) {
      c.dirty.set(op.ino, [...(c.dirty.get(op.ino) ?? []), token])
      core.addDirtyBuffers(op.ino, 1)
      this.returned.push({ token, atMs: this.nowMs })
      this.record(c, op, `buffered ${token.name}`)
    } else if (this.storeWrite(c.id, [token])) {
      c.cache.get(op.ino)?.tokens.add(token.name) // a write goes through the writer's own page cache
      this.returned.push({ token, atMs: this.nowMs })
      this.record(c, op, `sync ${token.name}`)
    } else {
      this.record(c, op, `EIO (fenced)`)
    }
    this.events.writes++
    this.handleClient(c, core.noteWrite(now, op.ino, end))
    this.handleClient(c, core.putCaps(now, op.ino, result.got))
    return true
  }

  private record(c: SimClient, op: PendingOp, result: string): void {
    this.ops.push({ client: c.id, kind: op.kind, ino: op.ino, startMs: op.startMs, endMs: this.nowMs, result })
    this.log(`${c.id} ${op.kind} ${op.ino} -> ${result}`)
  }

  /** A token is legitimately lost when its writer crashed or was evicted before it landed. */
  private lost(token: Token): boolean {
    if (this.store.landed.get(token.ino)?.has(token.name) === true) return false
    const w = this.clients.get(token.writer)
    return w === undefined || w.crashed || w.closed || this.authority.isFenced(token.writer)
  }

  private checkRead(c: SimClient, op: PendingOp, seen: Set<string>): void {
    for (const { token, atMs } of this.returned) {
      if (token.ino !== op.ino || atMs >= op.startMs || seen.has(token.name) || this.lost(token)) continue
      this.violations.push(`${this.nowMs}: ${c.id} read of ${op.ino} (started ${op.startMs}) missed ${token.name} that ${token.writer} wrote at ${atMs} (P2/P3)`)
    }
    for (const name of seen) {
      const landed = this.store.landed.get(op.ino)?.has(name) === true
      const own = this.ownTokens(c, op.ino).some((t) => t.name === name)
      if (!landed && !own) this.violations.push(`${this.nowMs}: ${c.id} read ${name}, buffered by another client and not flushed`)
    }
  }

  /** The invariants, after every event. */
  private check(): void {
    const a = this.authority
    for (const ino of a.inodeNumbers()) {
      const caps = [...a.caps(ino)]
      for (let i = 0; i < caps.length; i++) {
        for (let j = i + 1; j < caps.length; j++) {
          const [ci, x] = caps[i] ?? ['', undefined]
          const [cj, y] = caps[j] ?? ['', undefined]
          if (x !== undefined && y !== undefined && capsConflict(x.issued, y.issued)) {
            this.violations.push(`${this.nowMs}: authority issued conflicting caps on ${ino}: ${ci} ${formatCaps(x.issued)} vs ${cj} ${formatCaps(y.issued)} (P1/P3/P5)`)
          }
        }
      }
    }
    const live = [...this.clients.values()].filter((c) => !c.crashed)
    const inos = new Set<number>()
    for (const c of live) for (const ino of c.opens.keys()) inos.add(ino)
    for (const ino of inos) {
      const held = live.map((c) => [c, c.core.implemented(this.localNow(c), ino) & ~CAP_PIN] as const)
      for (let i = 0; i < held.length; i++) {
        const [ci, hi] = held[i] ?? [undefined, 0]
        if (ci === undefined || hi === 0) continue
        const server = a.cap(ino, ci.id)?.issued ?? 0
        if ((hi & ~server) !== 0) this.violations.push(`${this.nowMs}: ${ci.id} uses ${formatCaps(hi)} on ${ino} but the authority has it at ${formatCaps(server)} (P8)`)
        for (let j = i + 1; j < held.length; j++) {
          const [cj, hj] = held[j] ?? [undefined, 0]
          if (cj !== undefined && capsConflict(hi, hj)) this.violations.push(`${this.nowMs}: clients ${ci.id} ${formatCaps(hi)} and ${cj.id} ${formatCaps(hj)} hold conflicting caps on ${ino}`)
        }
      }
    }
  }

  /**
   * P7: revokes still unanswered at the end by clients that are alive, connected, not evicted and
   * not configured to ignore revokes (there should be none once the workload has gone quiet).
   */
  stuckRevokes(): string[] {
    const a = this.authority
    return a
      .revokingCaps(this.localNow(undefined))
      .filter((r) => {
        const c = this.clients.get(r.clientId)
        return c !== undefined && !c.crashed && !c.closed && !c.core.config.injectReleaseFailure && !a.isFenced(r.clientId)
      })
      .map((r) => `${r.clientId} ino=${r.ino} pending=${r.pending} issued=${r.issued} age=${r.ageMs}ms`)
  }

  /** Whether a client currently has any op waiting. */
  pendingOps(id: string): number {
    return this.client(id).pending.length
  }

  /** Writes whose buffers were never flushed and legitimately lost (for reports). */
  lostWrites(): number {
    return this.returned.filter(({ token }) => this.lost(token)).length
  }

  /** The caps a client's core says it holds (valid), for tests. */
  clientCaps(id: string, ino: number): string {
    const c = this.client(id)
    return formatCaps(c.core.issued(this.localNow(c), ino))
  }
}

export const modes = { r: 1, w: 2, rw: 3 } as const
export { CAP_FILE_WR }
