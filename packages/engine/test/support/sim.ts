// A seeded simulation of one replicated service: replicas on storages that keep only what was
// synced, a lossy in-process network (drops, delays, partitions; FIFO links), crashes and restarts, and
// clients that retry with request ids until they get an answer.
import { DerError, type Random, VirtualRuntime, isDerError } from '@x/common'
import { type Message, RaftTicker } from '@x/raft'
import { ReplicatedService, type ServiceMachine, leaderHintOf } from '../../src/index.ts'
import { DurableMemoryStorage } from '../../src/testing/index.ts'

export { DurableMemoryStorage }

export interface SimOptions<M extends ServiceMachine> {
  readonly seed: number
  readonly replicas: number
  readonly makeMachine: () => M
  readonly dropRate?: number
  readonly maxDelayMs?: number
  readonly snapshotEveryEntries?: number
}

interface Replica<M extends ServiceMachine> {
  readonly id: number
  storage: DurableMemoryStorage
  service: ReplicatedService<M> | undefined
}

/** The answer a client finally got. */
export type ClientAnswer = { readonly ok: true; readonly result: Uint8Array } | { readonly ok: false; readonly error: DerError }

export class ServiceSim<M extends ServiceMachine> {
  readonly runtime: VirtualRuntime
  readonly rng: Random
  readonly replicas = new Map<number, Replica<M>>()
  readonly ticker: RaftTicker
  faultsOn = true
  dropRate: number
  maxDelayMs: number
  private group = new Map<number, number>()
  /** Per link, the time of its last scheduled delivery (to keep links FIFO). */
  private readonly linkClear = new Map<string, number>()
  crashes = 0
  readonly fatalErrors: string[] = []
  leaderChanges = 0
  private lastLeader = 0

  constructor(readonly options: SimOptions<M>) {
    this.runtime = new VirtualRuntime({ seed: options.seed })
    this.rng = this.runtime.random.fork()
    this.ticker = new RaftTicker(this.runtime, 10)
    this.dropRate = options.dropRate ?? 0.05
    this.maxDelayMs = options.maxDelayMs ?? 12
    const ids = Array.from({ length: options.replicas }, (_, i) => i + 1)
    for (const id of ids) {
      const replica: Replica<M> = { id, storage: DurableMemoryStorage.withVoters(ids), service: undefined }
      this.replicas.set(id, replica)
      this.start(replica)
    }
  }

  private start(replica: Replica<M>): void {
    const service = new ReplicatedService<M>({
      id: replica.id,
      runtime: this.runtime,
      storage: replica.storage,
      send: (messages) => {
        for (const m of messages) this.send(m)
      },
      machine: this.options.makeMachine(),
      ticker: this.ticker,
      raft: { electionTicks: 10, heartbeatTicks: 2, maxSizePerMsgBytes: 4096, maxSnapshotChunkBytes: 512 },
      snapshotEveryEntries: this.options.snapshotEveryEntries ?? 20,
      keepEntriesAfterSnapshot: 3,
      requestTimeoutMs: 400,
      onSoftState: (s) => {
        if (s.role === 'leader' && s.lead !== this.lastLeader) {
          this.lastLeader = s.lead
          this.leaderChanges++
        }
      },
      onFatal: (e) => {
        this.fatalErrors.push(`replica ${replica.id}: ${String(e)}`)
      },
    })
    replica.service = service
    service.start()
  }

  private send(m: Message): void {
    if (this.faultsOn && this.rng.chance(this.dropRate)) return
    // Links are FIFO, as a TCP connection is (messages may be lost, never reordered): the Raft
    // transport sends snapshots as ordered chunks.
    const link = `${m.from}>${m.to}`
    const at = Math.max(this.runtime.nowMs + 1 + (this.faultsOn ? this.rng.int(this.maxDelayMs) : this.rng.int(2)), this.linkClear.get(link) ?? 0)
    this.linkClear.set(link, at)
    this.runtime.timers.schedule(at - this.runtime.nowMs, () => {
      const to = this.replicas.get(m.to)?.service
      if (to === undefined || (this.group.get(m.from) ?? 0) !== (this.group.get(m.to) ?? 0)) return
      to.receive(m)
    })
  }

  crash(id: number): void {
    const r = this.replicas.get(id)
    if (r?.service === undefined) return
    r.service.stop()
    r.service = undefined
    r.storage = r.storage.reopen()
    this.crashes++
  }

  restart(id: number): void {
    const r = this.replicas.get(id)
    if (r === undefined || r.service !== undefined) return
    this.start(r)
  }

  partition(groups: number[][]): void {
    this.group = new Map()
    groups.forEach((g, i) => g.forEach((id) => this.group.set(id, i)))
  }

  heal(): void {
    this.group = new Map()
  }

  up(): Replica<M>[] {
    return [...this.replicas.values()].filter((r) => r.service !== undefined)
  }

  leader(): ReplicatedService<M> | undefined {
    let best: ReplicatedService<M> | undefined
    for (const r of this.up()) {
      const s = r.service as ReplicatedService<M>
      if (s.isLeader() && (best === undefined || s.driver.status().hardState.term > best.driver.status().hardState.term)) best = s
    }
    return best
  }

  /**
   * A client call: retries (same request id) on DER_NOTLEADER / DER_TIMEDOUT / DER_SHUTDOWN,
   * following leader hints, until answered or `deadlineMs` of virtual time pass.
   */
  async call(clientId: string, seq: number, command: Uint8Array, deadlineMs = 60_000): Promise<ClientAnswer> {
    const until = this.runtime.nowMs + deadlineMs
    let target = 1 + this.rng.int(this.replicas.size)
    while (this.runtime.nowMs < until) {
      const service = this.replicas.get(target)?.service
      if (service === undefined) {
        target = 1 + this.rng.int(this.replicas.size)
        await this.runtime.timers.sleep(10)
        continue
      }
      try {
        const result = await service.submit(command, { clientId, seq })
        return { ok: true, result }
      } catch (e) {
        if (!isDerError(e)) throw e
        if (e.name === 'DER_NOTLEADER' || e.name === 'DER_TIMEDOUT' || e.name === 'DER_SHUTDOWN') {
          const hint = leaderHintOf(e)
          target = hint !== 0 && hint !== target ? hint : 1 + this.rng.int(this.replicas.size)
          await this.runtime.timers.sleep(5 + this.rng.int(20))
          continue
        }
        return { ok: false, error: e }
      }
    }
    return { ok: false, error: new DerError('DER_TIMEDOUT', `client ${clientId}#${seq}: no answer within ${deadlineMs} ms`) }
  }

  /** Heals, restarts everyone, stops faults and waits until every replica applied the leader's index. */
  async settle(timeoutMs = 20_000): Promise<boolean> {
    this.heal()
    for (const id of this.replicas.keys()) this.restart(id)
    this.faultsOn = false
    const done = (): boolean => {
      const l = this.leader()
      if (l === undefined) return false
      const index = l.driver.status().hardState.commit
      return l.driver.appliedIndex >= index && this.up().every((r) => r.service?.driver.appliedIndex === l.driver.appliedIndex)
    }
    // A fresh entry from the current leader makes everyone's commit index catch up.
    const nudgeUntil = this.runtime.nowMs + timeoutMs
    while (this.runtime.nowMs < nudgeUntil) {
      if (await this.runtime.runUntil(done, 200)) return true
    }
    return false
  }

  /** The replicas' full state (sessions and machine) as hex, by id. */
  states(): Map<number, string> {
    const out = new Map<number, string>()
    for (const r of this.up()) out.set(r.id, Buffer.from((r.service as ReplicatedService<M>).core.snapshot()).toString('hex'))
    return out
  }

  /** One line per replica: role, term, commit, applied, log range, snapshot index. */
  describe(): string {
    return [...this.replicas.values()]
      .map((r) => {
        const s = r.service
        if (s === undefined) return `${r.id}: down`
        const st = s.driver.status()
        return `${r.id}: ${s.isRunning ? '' : 'STOPPED '}${st.softState.role} lead=${st.softState.lead} term=${st.hardState.term} commit=${st.hardState.commit} applied=${s.driver.appliedIndex} log=[${st.firstIndex},${st.lastIndex}] snap=${r.storage.snapshot().metadata.index} dropped=${s.driver.droppedMessages}${st.softState.role === 'leader' ? ` progress=${JSON.stringify(st.progress)}` : ''}`
      })
      .join('; ') + (this.fatalErrors.length > 0 ? ` fatal: ${this.fatalErrors.join(', ')}` : '')
  }

  stopAll(): void {
    for (const r of this.up()) r.service?.stop()
  }
}
