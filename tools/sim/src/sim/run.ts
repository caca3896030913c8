/**
 * One simulation run: draw the configuration and the fault schedule from the seed, start the
 * cluster, run the KV workload through a safety phase with the scheduled faults, heal everything
 * (restart crashed engines, clear cuts and device faults, reset clocks), run a liveness phase,
 * read every key back from every replica, and hand the recorded history and the replicas' state
 * to the independent checkers.
 *
 * @module
 */
import { type TimerHandle, VirtualRuntime, isDerError } from '@x/common'
import { vosOid } from '@x/engine'
import { placeObject } from '@x/protocol'
import type { FaultSettings } from '@x/spdk-io'
import { vosEpochMax } from '@x/vos'
import { checkReplicaConvergence } from '../checkers/convergence.ts'
import { checkLinearizability } from '../checkers/linearizability.ts'
import { checkLiveness } from '../checkers/liveness.ts'
import { checkLogPrefixConsistency } from '../checkers/log-prefix.ts'
import { type FinalEntry, type RecordedWrite, checkNoAcknowledgedWriteLost } from '../checkers/lost-writes.ts'
import { type KvInput, type KvOutput, kvModel } from '../checkers/models.ts'
import type { History, Operation } from '../history.ts'
import type { AdminStats } from './mgmt.ts'
import { SimCluster, clientAddress, engineAddress, simContainerUuid } from './cluster.ts'
import { type SimConfig, type SimOptions, drawConfig } from './config.ts'
import { type FaultEvent, type ScheduleSummary, drawSchedule, summarizeSchedule } from './schedule.ts'
import { KvWorkload, type WorkloadStats, dkeyOf, keyName, valueAkey } from './workload.ts'

/** One checker's verdict. */
export interface CheckerVerdict {
  /** The checker. */
  readonly name: 'linearizability' | 'lost-writes' | 'convergence' | 'log-prefix' | 'liveness' | 'harness'
  /** `pass`, `fail`, or `inconclusive` (a search budget ran out). */
  readonly verdict: 'pass' | 'fail' | 'inconclusive'
  /** What was checked (operations, writes, keys). */
  readonly checked: number
  /** The findings, readable. */
  readonly text: string
}

/** Faults the run actually injected. */
export interface FaultsInjected {
  readonly dropped: number
  readonly duplicated: number
  readonly reordered: number
  readonly delayed: number
  readonly resets: number
  readonly partitionedMessages: number
  readonly crashes: number
  readonly diskFaults: number
  readonly scheduled: ScheduleSummary
}

/** Everything a run produced. */
export interface SimResult {
  readonly seed: number
  readonly config: SimConfig
  readonly schedule: readonly FaultEvent[]
  readonly faults: FaultsInjected
  readonly workload: WorkloadStats
  /** Management commands the administrator submitted, and how they ended. */
  readonly admin: AdminStats
  /** Errors the clients saw, by name, most frequent first. */
  readonly clientErrors: readonly (readonly [string, number])[]
  /** The recorded KV history, final reads included. */
  readonly history: History<KvInput, KvOutput>
  readonly verdicts: readonly CheckerVerdict[]
  /** True when every checker passed (inconclusive counts as a pass, and is reported). */
  readonly ok: boolean
  /** The command that replays this run. */
  readonly replay: string
  /** Virtual time the run took. */
  readonly virtualMs: number
}

/** Optional callbacks into a run, for tests and debugging. */
export interface SimHooks {
  /** Called after the final reads, before the checkers run: inspect the cluster's state. */
  readonly afterRun?: (cluster: SimCluster) => Promise<void>
}

/** The command line that reproduces a run of `options`. */
export function replayCommand(options: SimOptions): string {
  const parts = [`pnpm sim --seed ${options.seed}`]
  if (options.ticks !== undefined) parts.push(`--ticks ${options.ticks}`)
  if (options.engines !== undefined) parts.push(`--engines ${options.engines}`)
  if (options.faults !== undefined) parts.push(`--faults ${options.faults}`)
  if (options.mutation !== undefined && options.mutation !== 'none') parts.push(`--mutation ${options.mutation}`)
  return parts.join(' ')
}

const td = new TextDecoder()

/** Applies the fault schedule to the cluster with the runtime's timers. */
class FaultInjector {
  private healed = false
  private readonly handles: TimerHandle[] = []
  diskFaults = 0
  restartedAfterWriteErrors = 0
  readonly errors: string[] = []

  constructor(
    private readonly cluster: SimCluster,
    private readonly schedule: readonly FaultEvent[],
  ) {}

  start(): void {
    const rt = this.cluster.runtime
    for (const event of this.schedule) this.handles.push(rt.timers.schedule(Math.max(0, event.atMs - rt.nowMs), () => this.apply(event)))
  }

  private at(delayMs: number, body: () => void | Promise<void>): void {
    this.handles.push(
      this.cluster.runtime.timers.schedule(delayMs, () => {
        if (this.healed) return
        this.guard(body)
      }),
    )
  }

  private guard(body: () => void | Promise<void>): void {
    try {
      const r = body()
      if (r instanceof Promise) r.catch((e: unknown) => this.errors.push(`fault injection failed: ${String(e)}`))
    } catch (e) {
      this.errors.push(`fault injection failed: ${String(e)}`)
    }
  }

  private cut(event: Extract<FaultEvent, { kind: 'partition' }>, on: boolean): void {
    const fabric = this.cluster.fabric
    const pairs: [string, string][] = []
    const clients = this.cluster.clients.map((c) => c.address)
    switch (event.mode) {
      case 'isolate-engine':
        for (const a of event.sideA) {
          for (const b of event.sideB) pairs.push([engineAddress(a), engineAddress(b)])
          for (const c of clients) pairs.push([engineAddress(a), c])
        }
        break
      case 'split-engines':
        for (const a of event.sideA) for (const b of event.sideB) pairs.push([engineAddress(a), engineAddress(b)])
        break
      case 'one-way':
        for (const a of event.sideA) {
          for (const b of event.sideB) {
            if (on) fabric.cutOneWay(engineAddress(a), engineAddress(b))
            else fabric.healOneWay(engineAddress(a), engineAddress(b))
          }
        }
        return
      case 'isolate-client':
        for (const b of event.sideB) pairs.push([clientAddress(event.client ?? 0), engineAddress(b)])
        break
    }
    for (const [a, b] of pairs) {
      if (on) fabric.partition(a, b)
      else fabric.heal(a, b)
    }
  }

  private apply(event: FaultEvent): void {
    if (this.healed) return
    this.guard(async () => {
      switch (event.kind) {
        case 'partition': {
          this.cut(event, true)
          if (event.flapMs > 0) {
            let on = true
            for (let t = event.flapMs; t < event.durationMs; t += event.flapMs) {
              const next: boolean = !on
              on = next
              this.at(t, () => this.cut(event, next))
            }
          }
          this.at(event.durationMs, () => this.cut(event, false))
          break
        }
        case 'crash': {
          await this.cluster.crash(event.rank)
          this.at(event.downMs, () => this.cluster.restart(event.rank))
          break
        }
        case 'disk': {
          const settings: FaultSettings =
            event.fault === 'slow'
              ? { latencyMs: { min: 0, max: event.rate } }
              : event.fault === 'read-errors'
                ? { readErrorRate: event.rate }
                : event.fault === 'bit-flips'
                  ? { bitFlipRate: event.rate }
                  : { writeErrorRate: event.rate }
          const e = this.cluster.engine(event.rank)
          e.device.setFaults(settings)
          this.diskFaults++
          this.at(event.durationMs, () => this.cluster.engine(event.rank).device.setFaults({}))
          break
        }
        case 'clock': {
          const clock = this.cluster.engine(event.rank).clock
          clock.reset()
          clock.step(event.offsetMs)
          clock.setDriftPpm(event.driftPpm)
          break
        }
      }
    })
  }

  /** Stops every fault: cuts healed, network and disks clean, clocks reset, engines restarted. */
  async heal(): Promise<void> {
    this.healed = true
    for (const h of this.handles) this.cluster.runtime.timers.cancel(h)
    const c = this.cluster
    c.fabric.healAll()
    c.fabric.setFaults({})
    for (const e of c.engines) {
      if (e.alive) e.device.setFaults({})
      e.clock.reset()
    }
    // A target that met a write error stays failed until its engine restarts (exclusion and
    // rebuild would replace it; they are not in the simulated system yet): restart those engines.
    for (const e of c.engines) {
      if (e.alive && e.device.events.some((ev) => ev.kind === 'writeError')) {
        await c.crash(e.rank)
        this.restartedAfterWriteErrors++
      }
    }
    for (const e of c.engines) if (!e.alive) await c.restart(e.rank)
  }
}

function diskFaultCount(cluster: SimCluster): number {
  return cluster.engines.reduce((n, e) => n + e.device.events.length, 0)
}

/** Runs one simulation (see the module comment). */
export async function runSimulation(options: SimOptions, hooks: SimHooks = {}): Promise<SimResult> {
  const config = drawConfig(options)
  const schedule = drawSchedule(config)
  const runtime = new VirtualRuntime({ seed: `sim-${config.seed}` })
  const cluster = await SimCluster.start(config, runtime)
  const workload = new KvWorkload(cluster, config)
  const injector = new FaultInjector(cluster, schedule)
  const harness: string[] = []
  let diskEvents = 0

  const mgmt = cluster.mgmt
  cluster.fabric.setFaults(config.network)
  if (mgmt !== undefined) {
    mgmt.dropRate = config.network.dropRate
    mgmt.maxDelayMs = config.network.delayRate > 0 ? config.network.maxDelayMs : 2
    mgmt.startAdmin(config.seed)
  }
  injector.start()
  workload.start()
  await runtime.advance(config.safetyMs)
  // The safety phase ends: heal everything.
  diskEvents += diskFaultCount(cluster)
  cluster.fabric.setFaults({})
  if (mgmt !== undefined) {
    mgmt.dropRate = 0
    mgmt.maxDelayMs = 2
  }
  await runtime.settle(injector.heal(), 60_000)
  const healMs = runtime.nowMs
  await runtime.advance(config.livenessMs)
  const stopped = { done: false }
  void Promise.all([workload.stop(), mgmt?.stopAdmin()]).then(() => (stopped.done = true))
  if (!(await runtime.runUntil(() => stopped.done, 30_000))) harness.push('the workload clients did not stop within 30 s of virtual time')
  await runtime.advance(1_000) // batched commits go out
  diskEvents += diskFaultCount(cluster)
  const endMs = runtime.nowMs

  // Final reads: every key from every replica, recorded like any other operation.
  const reader = cluster.clients[config.clients]
  if (reader === undefined) throw new Error('no reader client')
  for (let k = 0; k < config.keys; k++) {
    const oid = cluster.objects[k]
    if (oid === undefined) continue
    const replicas = placeObject(cluster.map, oid).groups[0]?.shards.length ?? 1
    for (let r = 0; r < replicas; r++) {
      await runtime.settle(workload.get('final', reader.object, oid, keyName(k), r), 30_000)
    }
  }
  await runtime.advance(500)
  if (hooks.afterRun !== undefined) await hooks.afterRun(cluster)
  injector.errors.forEach((e) => harness.push(e))
  const history = workload.recorder.history()
  const verdicts: CheckerVerdict[] = []

  // Linearizability of the whole KV history.
  const lin = checkLinearizability(kvModel(), history, { maxSteps: 400_000, maxMinimizeSteps: 200_000 })
  verdicts.push({
    name: 'linearizability',
    verdict: lin.verdict === 'linearizable' ? 'pass' : lin.verdict === 'violation' ? 'fail' : 'inconclusive',
    checked: history.length,
    text: lin.violations.map((v) => v.text).join('\n'),
  })

  // No acknowledged write lost: every replica of the key's group reads each acknowledged write
  // back at its own epoch (its exact version); a write answered without an epoch is left to
  // linearizability.
  const acknowledged: RecordedWrite[] = []
  const final = new Map<string, FinalEntry>()
  for (const w of workload.writes.values()) {
    if (w.ackMs === undefined || w.epoch === undefined || w.epoch === 0n) continue
    const k = Number(w.key.slice(1))
    const oid = cluster.objects[k]
    if (oid === undefined) continue
    const shards = placeObject(cluster.map, oid).groups[0]?.shards ?? []
    for (const s of shards) {
      const engine = cluster.engine(s.rank as number)
      const probeKey = `${w.key}#${w.opId}@rank${engine.rank}`
      acknowledged.push({ key: probeKey, value: w.value, version: 1, ackMs: w.ackMs, callMs: w.callMs, clientId: w.clientId })
      let value: string | null
      try {
        const [v] = await engine.targets.get(0).vos.fetch(simContainerUuid, vosOid(oid), w.epoch, dkeyOf(w.key), [{ type: 'single', akey: valueAkey }])
        value = v?.type === 'single' && v.value !== undefined ? td.decode(v.value) : null
      } catch (e) {
        value = isDerError(e, 'DER_INPROGRESS') ? '<still prepared: unresolved DTX>' : `<${String(e)}>`
      }
      final.set(probeKey, { value, version: value === w.value ? 1 : 0 })
    }
  }
  const lost = checkNoAcknowledgedWriteLost({ acknowledged, final })
  verdicts.push({ name: 'lost-writes', verdict: lost.ok ? 'pass' : 'fail', checked: lost.checked, text: lost.text })

  // Replica convergence: the value every replica position holds at the newest epoch.
  const dumps = new Map<string, Map<string, string>>()
  for (let k = 0; k < config.keys; k++) {
    const oid = cluster.objects[k]
    if (oid === undefined) continue
    for (const s of placeObject(cluster.map, oid).groups[0]?.shards ?? []) {
      const name = `replica${s.position}`
      let dump = dumps.get(name)
      if (dump === undefined) dumps.set(name, (dump = new Map<string, string>()))
      const engine = cluster.engine(s.rank as number)
      let value: string
      try {
        const [v] = await engine.targets.get(0).vos.fetch(simContainerUuid, vosOid(oid), vosEpochMax, dkeyOf(keyName(k)), [{ type: 'single', akey: valueAkey }])
        value = v?.type === 'single' && v.value !== undefined ? JSON.stringify(td.decode(v.value)) : 'absent'
      } catch (e) {
        value = isDerError(e, 'DER_INPROGRESS') ? 'prepared (unresolved DTX)' : `<${String(e)}>`
      }
      dump.set(keyName(k), value)
    }
  }
  const conv = checkReplicaConvergence(dumps)
  verdicts.push({ name: 'convergence', verdict: conv.ok ? 'pass' : 'fail', checked: conv.keysChecked, text: conv.text })

  // Raft: every replica's committed log of the management service agrees at every common index.
  if (mgmt !== undefined) {
    const logs = mgmt.committedLogs()
    const prefix = checkLogPrefixConsistency(logs)
    const shortest = Math.min(...[...logs.values()].map((l) => l[l.length - 1]?.index ?? 0))
    const text = prefix.text + (mgmt.stats.ok === 0 ? `${prefix.text === '' ? '' : '\n'}no management command committed (${mgmt.stats.submitted} submitted)` : '')
    verdicts.push({ name: 'log-prefix', verdict: prefix.ok && (mgmt.stats.ok > 0 || shortest > 0) ? 'pass' : 'fail', checked: prefix.entriesCompared, text })
    mgmt.fatal.forEach((e) => harness.push(e))
    mgmt.stop()
  }

  // Liveness: once healed and settled, every operation completes, successfully, within the bound.
  const settleMs = healMs + config.clientTimeoutMs + 500
  // Operations that ended before the settle point belong to the safety phase; failures after it
  // count as stragglers (an available cluster answers every request).
  const strict = history
    .filter((op) => op.returnMs === undefined || op.returnMs >= settleMs)
    .map((op): Operation<KvInput, KvOutput> => (op.outcome === 'failed' ? { ...op, outcome: 'unknown', output: undefined } : op))
  const live = checkLiveness(strict, { healMs: settleMs, boundMs: config.livenessBoundMs, endMs: Math.max(endMs, ...history.map((o) => o.returnMs ?? o.callMs)) })
  verdicts.push({ name: 'liveness', verdict: live.ok ? 'pass' : 'fail', checked: live.judged, text: live.text })
  verdicts.push({ name: 'harness', verdict: harness.length === 0 ? 'pass' : 'fail', checked: 0, text: harness.join('\n') })

  const stats = cluster.fabric.stats
  return {
    seed: config.seed,
    config,
    schedule,
    faults: {
      dropped: stats.dropped,
      duplicated: stats.duplicated,
      reordered: stats.reordered,
      delayed: stats.delayed,
      resets: stats.resets,
      partitionedMessages: stats.partitioned,
      crashes: cluster.crashes,
      diskFaults: diskEvents + injector.diskFaults,
      scheduled: summarizeSchedule(schedule),
    },
    workload: workload.stats,
    admin: mgmt?.stats ?? { submitted: 0, ok: 0, failed: 0 },
    clientErrors: [...workload.errors].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    history,
    verdicts,
    ok: verdicts.every((v) => v.verdict !== 'fail'),
    replay: replayCommand(options),
    virtualMs: runtime.nowMs,
  }
}
