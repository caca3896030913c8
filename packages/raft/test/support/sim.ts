// A simulated cluster under VirtualRuntime: nodes on MemoryStorage (what a crash keeps is what the
// node persisted), a lossy network (drop, delay, duplicate, reorder, partitions), crashes and
// restarts, a replicated key-value store, clients recording histories, and safety checks.
import { type Random, type TimerHandle, VirtualRuntime, isDerError } from '@x/common'
import { type ConfChange, type Entry, type Message, MemoryStorage, RawNode, type Ready, type Storage, decodeConfChange } from '../../src/index.ts'
import type { Operation } from './linearizability.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface SimOptions {
  readonly seed: number
  readonly nodes: number
  readonly tickMs?: number
  readonly dropRate?: number
  readonly duplicateRate?: number
  readonly maxDelayMs?: number
  readonly snapshotEvery?: number
  readonly storageFactory?: (id: number) => Storage
  /** Reopens a crashed node's storage from disk (durable storages); default: keep the object. */
  readonly reopenStorage?: (id: number, crashed: Storage) => Storage
  /** Lease-based reads (with per-node tick periods drifting within +-4%, under a 10% bound). */
  readonly leaseReads?: boolean
  /** Extra nodes started outside the configuration (to be added by conf changes). */
  readonly spares?: number
}

interface Command {
  readonly client: number
  readonly seq: number
  readonly key: string
  readonly value: string
}

interface SimNode {
  readonly id: number
  storage: Storage
  node: RawNode | undefined
  ticker: TimerHandle | undefined
  kv: Map<string, string>
  applied: number
  readWaiters: Map<string, (index: number) => void>
  applyWaiters: { index: number; resolve: () => void }[]
}

export class SimCluster {
  readonly runtime: VirtualRuntime
  readonly rng: Random
  readonly nodes = new Map<number, SimNode>()
  readonly history: Operation[] = []
  /** index -> "term:data" of every entry any node applied (state machine safety). */
  readonly appliedLog = new Map<number, string>()
  /** term -> leader (election safety). */
  readonly leaders = new Map<number, number>()
  readonly violations: string[] = []
  faultsOn = true
  dropRate: number
  duplicateRate: number
  maxDelayMs: number
  /** Partition group per node; messages cross only within the same group. */
  private group = new Map<number, number>()
  private readonly tickMs: number
  private readonly snapshotEvery: number
  private readonly storageFactory: (id: number) => Storage
  private nextContext = 1
  messagesSent = 0
  snapshotsSent = 0

  constructor(readonly options: SimOptions) {
    this.runtime = new VirtualRuntime({ seed: options.seed })
    this.rng = this.runtime.random.fork()
    this.tickMs = options.tickMs ?? 10
    this.dropRate = options.dropRate ?? 0.05
    this.duplicateRate = options.duplicateRate ?? 0.02
    this.maxDelayMs = options.maxDelayMs ?? 15
    this.snapshotEvery = options.snapshotEvery ?? 20
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1)
    this.storageFactory = options.storageFactory ?? (() => MemoryStorage.withVoters(voters))
    const spares = Array.from({ length: options.spares ?? 0 }, (_, i) => options.nodes + i + 1)
    for (const id of [...voters, ...spares]) {
      const sim: SimNode = { id, storage: this.storageFactory(id), node: undefined, ticker: undefined, kv: new Map(), applied: 0, readWaiters: new Map(), applyWaiters: [] }
      this.nodes.set(id, sim)
      this.start(sim)
    }
  }

  private fail(message: string): void {
    this.violations.push(`seed ${this.options.seed} t=${this.runtime.nowMs}: ${message}`)
  }

  private start(sim: SimNode): void {
    const snap = sim.storage.snapshot()
    sim.kv = snap.data.length > 0 ? new Map(JSON.parse(decoder.decode(snap.data)) as [string, string][]) : new Map()
    sim.applied = snap.metadata.index
    sim.node = new RawNode({ id: sim.id, storage: sim.storage, random: this.rng.fork(), applied: snap.metadata.index, ...(this.options.leaseReads === true ? { readOnly: 'lease' as const, maxClockDriftRatio: 0.1 } : {}), electionTicks: 10, heartbeatTicks: 2, maxInflightMsgs: 8, maxSizePerMsgBytes: 512, maxSnapshotChunkBytes: 64 })
    const offset = this.rng.int(this.tickMs) + 1
    const handle = this.runtime.timers.schedule(offset, () => {
      const periodMs = this.options.leaseReads === true ? this.tickMs * (0.96 + 0.08 * this.rng.float()) : this.tickMs
      sim.ticker = this.runtime.timers.repeat(periodMs, () => {
        sim.node?.tick()
        this.process(sim)
      })
    })
    sim.ticker = handle
  }

  crash(id: number): void {
    const sim = this.nodes.get(id)
    if (sim?.node === undefined) return
    if (sim.ticker !== undefined) this.runtime.timers.cancel(sim.ticker)
    sim.ticker = undefined
    sim.node = undefined
    sim.readWaiters.clear()
    sim.applyWaiters = []
  }

  restart(id: number): void {
    const sim = this.nodes.get(id)
    if (sim === undefined || sim.node !== undefined) return
    if (this.options.reopenStorage !== undefined) sim.storage = this.options.reopenStorage(sim.id, sim.storage)
    this.start(sim)
  }

  isUp(id: number): boolean {
    return this.nodes.get(id)?.node !== undefined
  }

  partition(groups: number[][]): void {
    this.group = new Map()
    groups.forEach((g, i) => g.forEach((id) => this.group.set(id, i)))
  }

  heal(): void {
    this.group = new Map()
  }

  private connected(a: number, b: number): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0)
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined
    for (const sim of this.nodes.values()) {
      const st = sim.node?.status()
      if (st?.softState.role === 'leader' && (best === undefined || st.hardState.term > (best.node?.status().hardState.term ?? 0))) best = sim
    }
    return best
  }

  private send(m: Message): void {
    this.messagesSent++
    if (m.type === 'MsgSnap') this.snapshotsSent++
    if (this.faultsOn && this.rng.chance(this.dropRate)) return
    const copies = this.faultsOn && this.rng.chance(this.duplicateRate) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const delay = 1 + (this.faultsOn ? this.rng.int(this.maxDelayMs) : this.rng.int(3))
      this.runtime.timers.schedule(delay, () => this.deliver(m))
    }
  }

  private deliver(m: Message): void {
    const sim = this.nodes.get(m.to)
    if (sim?.node === undefined || !this.connected(m.from, m.to)) return
    try {
      sim.node.step(m)
    } catch (e) {
      if (!isDerError(e)) throw e
    }
    this.process(sim)
  }

  /** Handles every pending Ready of a node: persist, send, apply, advance. */
  process(sim: SimNode): void {
    const node = sim.node
    if (node === undefined) return
    while (node.hasReady()) {
      const rd = node.ready()
      this.persist(sim, rd)
      for (const m of rd.messages) this.send(m)
      this.apply(sim, node, rd)
      node.advance(rd)
    }
    this.maybeSnapshot(sim, node)
  }

  private persist(sim: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) sim.storage.applySnapshot(rd.snapshot)
    sim.storage.append(rd.entries)
    if (rd.hardState !== undefined) sim.storage.setHardState(rd.hardState)
    if (rd.mustSync) sim.storage.sync()
    if (rd.softState?.role === 'leader') {
      const term = rd.hardState?.term ?? sim.node?.status().hardState.term ?? 0
      const previous = this.leaders.get(term)
      if (previous !== undefined && previous !== sim.id) this.fail(`election safety: term ${term} has leaders ${previous} and ${sim.id}`)
      this.leaders.set(term, sim.id)
      // Lease safety: when a new leader is elected, no other node may still believe in its lease.
      for (const other of this.nodes.values()) {
        if (other !== sim && other.node?.raft.inLeaderLease() === true) this.fail(`lease safety: ${other.id} holds a lease while ${sim.id} leads term ${term}`)
      }
      // Leader completeness (5.4): the new leader's log holds every entry committed so far.
      const log = sim.node?.raft.log
      if (log !== undefined) {
        for (const [index, fingerprint] of this.appliedLog) {
          if (index < log.firstIndex()) continue
          if (log.term(index) !== Number(fingerprint.split(':')[0])) this.fail(`leader completeness: leader ${sim.id} of term ${term} lacks committed entry ${index} (${fingerprint})`)
        }
      }
    }
  }

  private apply(sim: SimNode, node: RawNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      sim.kv = new Map(JSON.parse(decoder.decode(rd.snapshot.data)) as [string, string][])
      sim.applied = rd.snapshot.metadata.index
    }
    for (const e of rd.committedEntries) this.applyEntry(sim, node, e)
    for (const rs of rd.readStates) {
      const waiter = sim.readWaiters.get(decoder.decode(rs.requestContext))
      if (waiter !== undefined) waiter(rs.index)
    }
    const ready = sim.applyWaiters.filter((w) => w.index <= sim.applied)
    sim.applyWaiters = sim.applyWaiters.filter((w) => w.index > sim.applied)
    for (const w of ready) w.resolve()
  }

  private applyEntry(sim: SimNode, node: RawNode, e: Entry): void {
    if (e.index !== sim.applied + 1) this.fail(`node ${sim.id} applied ${e.index} after ${sim.applied}`)
    const fingerprint = `${e.term}:${e.type}:${decoder.decode(e.data)}`
    const known = this.appliedLog.get(e.index)
    if (known === undefined) this.appliedLog.set(e.index, fingerprint)
    else if (known !== fingerprint) this.fail(`state machine safety: node ${sim.id} applied ${fingerprint} at ${e.index}, others ${known}`)
    if (e.type === 'confChange') node.applyConfChange(decodeConfChange(e.data))
    else if (e.data.length > 0) {
      const cmd = JSON.parse(decoder.decode(e.data)) as Command
      sim.kv.set(cmd.key, cmd.value)
    }
    sim.applied = e.index
  }

  private maybeSnapshot(sim: SimNode, node: RawNode): void {
    const snapIndex = sim.storage.snapshot().metadata.index
    if (sim.applied - snapIndex < this.snapshotEvery) return
    const data = encoder.encode(JSON.stringify([...sim.kv]))
    sim.storage.createSnapshot(sim.applied, node.raft.confState(), data)
    const keep = this.rng.int(5)
    if (sim.applied - keep > sim.storage.firstIndex()) sim.storage.compact(sim.applied - keep)
  }

  // ---- clients ----

  /** Issues a put through node `id`; records the operation in the history. */
  put(client: number, seq: number, id: number, key: string, timeoutMs: number): void {
    const sim = this.nodes.get(id)
    if (sim?.node === undefined) return
    const value = `c${client}-${seq}`
    const invokeMs = this.runtime.nowMs
    let index: number
    try {
      index = sim.node.propose(encoder.encode(JSON.stringify({ client, seq, key, value } satisfies Command)))
    } catch (e) {
      if (isDerError(e)) return // refused: never took effect
      throw e
    }
    const term = sim.node.status().hardState.term
    const op = { client, kind: 'put' as const, key, value, invokeMs, responseMs: Infinity }
    this.history.push(op)
    const at = this.history.length - 1
    this.process(sim)
    let settled = false
    const timer = this.runtime.timers.schedule(timeoutMs, () => {
      settled = true
    })
    const node = sim.node
    sim.applyWaiters.push({
      index,
      resolve: () => {
        if (settled || sim.node !== node) return
        settled = true
        this.runtime.timers.cancel(timer)
        const t = this.appliedLog.get(index)
        if (t?.startsWith(`${term}:normal:`) === true && t.includes(`"value":"${value}"`)) {
          this.history[at] = { ...op, responseMs: this.runtime.nowMs }
        }
      },
    })
  }

  /** Issues a linearizable read through node `id`; records it once answered. */
  get(client: number, id: number, key: string, timeoutMs: number): void {
    const sim = this.nodes.get(id)
    if (sim?.node === undefined) return
    const invokeMs = this.runtime.nowMs
    const context = `r${this.nextContext++}`
    try {
      sim.node.readIndex(encoder.encode(context))
    } catch (e) {
      if (isDerError(e)) return
      throw e
    }
    let settled = false
    const timer = this.runtime.timers.schedule(timeoutMs, () => {
      settled = true
      sim.readWaiters.delete(context)
    })
    const node = sim.node
    sim.readWaiters.set(context, (readIndex) => {
      sim.readWaiters.delete(context)
      const finish = (): void => {
        if (settled || sim.node !== node) return
        settled = true
        this.runtime.timers.cancel(timer)
        this.history.push({ client, kind: 'get', key, value: sim.kv.get(key), invokeMs, responseMs: this.runtime.nowMs })
      }
      if (sim.applied >= readIndex) finish()
      else sim.applyWaiters.push({ index: readIndex, resolve: finish })
    })
    this.process(sim)
  }

  /** Proposes an empty-ish entry at the leader (used to flush commits after healing). */
  nudge(): void {
    const l = this.leader()
    if (l?.node === undefined) return
    try {
      l.node.propose(encoder.encode(JSON.stringify({ client: 0, seq: 0, key: '_', value: `nudge${this.runtime.nowMs}` } satisfies Command)))
    } catch (e) {
      if (!isDerError(e)) throw e
    }
    this.process(l)
  }

  /** Proposes a membership change at the leader; returns whether it was accepted. */
  proposeConfChange(cc: ConfChange): boolean {
    const l = this.leader()
    if (l?.node === undefined) return false
    try {
      l.node.proposeConfChange(cc)
    } catch (e) {
      if (isDerError(e)) return false
      throw e
    }
    this.process(l)
    return true
  }

  /** Final agreement check: every member has applied the same entries and holds the same state. */
  checkConvergence(): void {
    const cs = this.leader()?.node?.raft.confState()
    const members = new Set(cs === undefined ? [...this.nodes.keys()] : [...cs.voters, ...cs.learners])
    const states = [...this.nodes.values()].filter((s) => members.has(s.id)).map((s) => ({ id: s.id, applied: s.applied, kv: JSON.stringify([...s.kv].sort()) }))
    // Log matching (5.3): where two logs hold an entry with the same index and term, they are
    // identical up to it.
    const logs = [...this.nodes.values()].filter((s) => members.has(s.id)).map((s) => s.storage)
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const x = logs[a] as Storage
        const y = logs[b] as Storage
        const lo = Math.max(x.firstIndex(), y.firstIndex())
        const hi = Math.min(x.lastIndex(), y.lastIndex())
        let matched = false
        for (let i = hi; i >= lo; i--) {
          const ex = x.entries(i, i + 1)[0] as Entry
          const ey = y.entries(i, i + 1)[0] as Entry
          if (ex.term === ey.term) matched = true
          if (matched && (ex.term !== ey.term || decoder.decode(ex.data) !== decoder.decode(ey.data))) {
            this.fail(`log matching: logs differ at ${i} below a matching entry`)
            return
          }
        }
      }
    }
    const first = states[0]
    if (first === undefined) return
    for (const s of states) {
      if (s.applied !== first.applied || s.kv !== first.kv) {
        this.fail(`nodes disagree after healing: ${states.map((x) => `${x.id}@${x.applied}`).join(' ')}`)
        return
      }
    }
  }
}
