/**
 * The management service of the simulated system: a Raft group (`@x/engine`'s
 * `ReplicatedService` running a `ManagementMachine`) on the first three engines, whose messages
 * obey the same partitions, crashes and loss rate as the object I/O traffic. An administrator
 * joins members (a new UUID each time) concurrently with the KV workload. At the end, every
 * replica's committed log is handed to the log-prefix checker.
 *
 * Raft storage is a `MemoryStorage` that survives an engine crash whole (every write counts as
 * synced); a crash stops the replica, a restart starts a new one on the same storage.
 *
 * @module
 */
import { type Random, type VirtualRuntime, isDerError } from '@x/common'
import { ManagementMachine, ReplicatedService, encodeMgmtCommand } from '@x/engine'
import { MemoryStorage, type Message, RaftTicker } from '@x/raft'
import type { LogEntry } from '../checkers/log-prefix.ts'
import type { SimFabric } from './fabric.ts'
import { engineAddress } from './cluster.ts'

interface MgmtReplica {
  readonly rank: number
  readonly storage: MemoryStorage
  service: ReplicatedService<ManagementMachine> | undefined
}

/** Counters of the administrator. */
export interface AdminStats {
  submitted: number
  ok: number
  failed: number
}

/** The management service's Raft group and its administrator (see the module comment). */
export class SimManagementGroup {
  readonly replicas = new Map<number, MgmtReplica>()
  readonly stats: AdminStats = { submitted: 0, ok: 0, failed: 0 }
  readonly fatal: string[] = []
  private readonly ticker: RaftTicker
  private readonly linkClearMs = new Map<string, number>()
  private running = false
  private admin: Promise<void> | undefined
  /** Message loss rate of the group's traffic (follows the fabric's safety-phase faults). */
  dropRate = 0
  /** Largest extra delay of a message. */
  maxDelayMs = 5

  constructor(
    private readonly runtime: VirtualRuntime,
    private readonly fabric: SimFabric,
    private readonly random: Random,
    ranks: readonly number[],
  ) {
    this.ticker = new RaftTicker(runtime, 10)
    const ids = ranks.map((r) => r + 1)
    for (const rank of ranks) {
      const replica: MgmtReplica = { rank, storage: MemoryStorage.withVoters(ids), service: undefined }
      this.replicas.set(rank, replica)
      this.startReplica(replica)
    }
  }

  private startReplica(replica: MgmtReplica): void {
    const service = new ReplicatedService<ManagementMachine>({
      id: replica.rank + 1,
      runtime: this.runtime,
      storage: replica.storage,
      send: (messages) => {
        for (const m of messages) this.send(m)
      },
      machine: new ManagementMachine(),
      ticker: this.ticker,
      raft: { electionTicks: 10, heartbeatTicks: 2 },
      snapshotEveryEntries: 50,
      keepEntriesAfterSnapshot: 10,
      requestTimeoutMs: 500,
      onFatal: (e) => this.fatal.push(`management replica on rank ${replica.rank}: ${String(e)}`),
    })
    replica.service = service
    service.start()
  }

  private send(m: Message): void {
    if (this.dropRate > 0 && this.random.chance(this.dropRate)) return
    const from = m.from - 1
    const to = m.to - 1
    // Links are FIFO (a connection): a message never overtakes an earlier one on its link.
    const link = `${from}>${to}`
    const now = this.runtime.nowMs
    const at = Math.max(now + 1 + this.random.int(this.maxDelayMs + 1), this.linkClearMs.get(link) ?? 0)
    this.linkClearMs.set(link, at)
    this.runtime.timers.schedule(at - now, () => {
      if (this.fabric.isPartitioned(engineAddress(from), engineAddress(to))) return
      this.replicas.get(to)?.service?.receive(m)
    })
  }

  /** Stops the replica on `rank` (an engine crash). */
  crash(rank: number): void {
    const r = this.replicas.get(rank)
    if (r?.service === undefined) return
    r.service.stop()
    r.service = undefined
  }

  /** Starts the replica on `rank` again on its storage. */
  restart(rank: number): void {
    const r = this.replicas.get(rank)
    if (r === undefined || r.service !== undefined) return
    this.startReplica(r)
  }

  /** Starts the administrator: joins a new member every few hundred ms through the leader. */
  startAdmin(seed: number): void {
    this.running = true
    this.admin = this.adminLoop(seed)
  }

  /** Stops the administrator; resolves when its last command finished. */
  async stopAdmin(): Promise<void> {
    this.running = false
    await this.admin
  }

  private leader(): ReplicatedService<ManagementMachine> | undefined {
    for (const r of this.replicas.values()) if (r.service?.isLeader() === true) return r.service
    return undefined
  }

  private async adminLoop(seed: number): Promise<void> {
    let n = 0
    while (this.running) {
      await this.runtime.timers.sleep(100 + this.random.int(300))
      if (!this.running) break
      const leader = this.leader()
      if (leader === undefined) continue
      n++
      const uuid = `5e5e${(seed % 0xffff).toString(16).padStart(4, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
      const command = encodeMgmtCommand({ op: 'join', uuid, addr: `10.0.0.${n % 250}:10001`, fabricUri: `memory://member-${n}`, faultDomain: `/host${n}`, incarnation: 1 })
      this.stats.submitted++
      try {
        await leader.submit(command, { clientId: 'sim-admin', seq: n }, 1_000)
        this.stats.ok++
      } catch (error) {
        if (!isDerError(error)) this.fatal.push(`admin submit threw a non-DER error: ${String(error)}`)
        this.stats.failed++
      }
    }
  }

  /** Every replica's committed log (what its storage holds up to its durable commit index). */
  committedLogs(): Map<string, LogEntry[]> {
    const logs = new Map<string, LogEntry[]>()
    for (const r of this.replicas.values()) {
      const s = r.storage
      const commit = s.initialState().hardState.commit
      const first = s.firstIndex()
      const entries = commit >= first ? s.entries(first, commit + 1) : []
      logs.set(`rank${r.rank}`, entries.map((e) => ({ index: e.index, term: e.term, data: e.data })))
    }
    return logs
  }

  /** Stops every replica (the end of the run). */
  stop(): void {
    for (const r of this.replicas.values()) r.service?.stop()
  }
}
