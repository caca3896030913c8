/**
 * A recorded KV workload for the checkers of `@x/sim`: logical clients write and read keys of a
 * KV object through `@x/client`, each key with a single writer, values `c<client>/k<key>/v<seq>`
 * so the version of a write is its sequence number (a single writer's order is real-time order).
 * Every put and get goes into a linearizability history; a put that fails or times out is an
 * `unknown` outcome (it may have taken effect), a failed get a definite failure. After the faults
 * heal, {@link KvWorkload.readBack} reads every key and the two checkers run:
 * `checkLinearizability(kvModel())` and `checkNoAcknowledgedWriteLost`.
 *
 * @module
 */
import type { KvObject } from '@x/client'
import { DerError, type Runtime, isDerError } from '@x/common'
import {
  type FinalEntry,
  HistoryRecorder,
  type KvInput,
  type KvOutput,
  type LinearizabilityResult,
  type LostWritesResult,
  type RecordedWrite,
  checkLinearizability,
  checkNoAcknowledgedWriteLost,
  kvModel,
} from '@x/sim'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** What the workload needs of a KV object: `@x/client`'s `KvObject`, or a fake in tests. */
export type WorkloadKv = Pick<KvObject, 'put' | 'get'>

/** Options of {@link KvWorkload}. */
export interface KvWorkloadOptions {
  readonly runtime: Runtime
  /** Logical clients (concurrent loops), default 4. */
  readonly clients?: number
  /** Keys per client, default 4. */
  readonly keysPerClient?: number
  /** Every n-th operation of a client is a get (default 3). */
  readonly readEvery?: number
  /**
   * Pause of a client after a failed operation (default 1,000 ms): every failed put is an
   * unknown outcome, and each one widens the checker's search.
   */
  readonly failureBackoffMs?: number
  /** A key prefix that keeps runs apart. */
  readonly prefix?: string
}

/** The checkers' verdicts. */
export interface KvWorkloadVerdict {
  readonly linearizability: LinearizabilityResult<KvInput, KvOutput>
  readonly lostWrites: LostWritesResult
  /** Operations recorded, by outcome. */
  readonly counts: { readonly ok: number; readonly failed: number; readonly unknown: number }
  /** True when both checkers pass. */
  readonly ok: boolean
  /** A readable summary with the first violations. */
  readonly text: string
}

/** Parses a workload value `c<client>/k<key>/v<seq>` into its sequence number. */
export function versionOfValue(value: string): number {
  const match = /\/v(\d+)$/.exec(value)
  if (match === null) throw new DerError('DER_INVAL', `not a workload value: ${JSON.stringify(value)}`)
  return Number(match[1])
}

/** See the module comment. */
export class KvWorkload {
  readonly recorder = new HistoryRecorder<KvInput, KvOutput>()
  private readonly acknowledged: RecordedWrite[] = []
  private readonly attempted: RecordedWrite[] = []
  private readonly startMs: number
  private stopping = false
  /** Failures seen by the clients, by DER name. */
  readonly failures = new Map<string, number>()
  private readonly clients: number
  private readonly keysPerClient: number

  constructor(private readonly options: KvWorkloadOptions) {
    this.clients = options.clients ?? 4
    this.keysPerClient = options.keysPerClient ?? 4
    this.startMs = options.runtime.clock.monotonicMs()
  }

  /** Every key of the workload. */
  get keys(): string[] {
    const keys: string[] = []
    for (let c = 0; c < this.clients; c++) for (let k = 0; k < this.keysPerClient; k++) keys.push(this.key(c, k))
    return keys
  }

  /** Acknowledged puts so far. */
  get acknowledgedWrites(): number {
    return this.acknowledged.length
  }

  private key(client: number, k: number): string {
    return `${this.options.prefix ?? 'w'}-c${client}-k${k}`
  }

  private nowMs(): number {
    return this.options.runtime.clock.monotonicMs() - this.startMs
  }

  private get backoffMs(): number {
    return this.options.failureBackoffMs ?? 1000
  }

  private noteFailure(name: string): void {
    this.failures.set(name, (this.failures.get(name) ?? 0) + 1)
  }

  /** Runs the clients on `kv` until {@link KvWorkload.stop}; resolves when they have all returned. */
  async run(kv: WorkloadKv): Promise<void> {
    await Promise.all(Array.from({ length: this.clients }, (_, c) => this.client(kv, c)))
  }

  /** Asks the clients to stop after their current operation. */
  stop(): void {
    this.stopping = true
  }

  private async client(kv: WorkloadKv, c: number): Promise<void> {
    const seq = new Array<number>(this.keysPerClient).fill(0)
    const readEvery = this.options.readEvery ?? 3
    for (let n = 0; !this.stopping; n++) {
      const k = n % this.keysPerClient
      const key = this.key(c, k)
      if (readEvery > 0 && n % readEvery === readEvery - 1) {
        const id = this.recorder.invoke(c, { kind: 'get', key }, this.nowMs())
        try {
          const bytes = await kv.get(encoder.encode(key))
          this.recorder.ok(id, { value: bytes === undefined ? null : decoder.decode(bytes) }, this.nowMs())
        } catch (e) {
          if (!isDerError(e)) throw e
          this.recorder.fail(id, this.nowMs())
          this.noteFailure(e.name)
          await this.options.runtime.timers.sleep(this.backoffMs)
        }
        continue
      }
      const version = (seq[k] as number) + 1
      seq[k] = version
      const value = `c${c}/k${k}/v${version}`
      const callMs = this.nowMs()
      const id = this.recorder.invoke(c, { kind: 'put', key, value }, callMs)
      this.attempted.push({ key, value, version, callMs, clientId: c })
      try {
        await kv.put(encoder.encode(key), encoder.encode(value))
        const ackMs = this.nowMs()
        this.recorder.ok(id, {}, ackMs)
        this.acknowledged.push({ key, value, version, callMs, ackMs, clientId: c })
      } catch (e) {
        if (!isDerError(e)) throw e
        this.recorder.timeout(id, this.nowMs())
        this.noteFailure(e.name)
        await this.options.runtime.timers.sleep(this.backoffMs)
      }
    }
  }

  /** Reads every key back (each read retried up to `attempts` times, 500 ms apart) and records the gets. */
  async readBack(kv: WorkloadKv, attempts = 30): Promise<Map<string, FinalEntry>> {
    const final = new Map<string, FinalEntry>()
    for (const key of this.keys) {
      let lastError: unknown
      for (let attempt = 0; attempt < attempts; attempt++) {
        const id = this.recorder.invoke('readback', { kind: 'get', key }, this.nowMs())
        try {
          const bytes = await kv.get(encoder.encode(key))
          const value = bytes === undefined ? null : decoder.decode(bytes)
          this.recorder.ok(id, { value }, this.nowMs())
          if (value !== null) final.set(key, { value, version: versionOfValue(value) })
          lastError = undefined
          break
        } catch (e) {
          if (!isDerError(e)) throw e
          this.recorder.fail(id, this.nowMs())
          lastError = e
          await this.options.runtime.timers.sleep(500)
        }
      }
      if (lastError !== undefined) throw new DerError('DER_TIMEDOUT', `read-back of ${key} kept failing: ${(lastError as Error).message}`, { cause: lastError })
    }
    return final
  }

  /** Runs both checkers on what was recorded and the read-back state. */
  check(final: ReadonlyMap<string, FinalEntry>): KvWorkloadVerdict {
    const history = this.recorder.history()
    const linearizability = checkLinearizability(kvModel(), history, { maxSteps: 20_000_000, maxMinimizeSteps: 100_000, deadline: { clock: this.options.runtime.clock, maxMs: 30_000 } })
    const lostWrites = checkNoAcknowledgedWriteLost({ acknowledged: this.acknowledged, final, attempted: this.attempted })
    const counts = { ok: 0, failed: 0, unknown: 0 }
    for (const op of history) counts[op.outcome]++
    const ok = linearizability.verdict === 'linearizable' && lostWrites.ok
    const lines = [
      `operations: ${history.length} (ok ${counts.ok}, failed ${counts.failed}, unknown ${counts.unknown}); acknowledged puts ${this.acknowledged.length}`,
      `failures by error: ${[...this.failures].map(([name, n]) => `${name} ${n}`).join(', ') || 'none'}`,
      `linearizability: ${linearizability.verdict} (${linearizability.steps} steps)`,
      ...linearizability.violations.slice(0, 3).map((v) => v.text),
      `lost writes: ${lostWrites.ok ? 'none' : 'FOUND'} (${lostWrites.checked} checked)`,
      ...(lostWrites.ok ? [] : [lostWrites.text.slice(0, 2000)]),
    ]
    return { linearizability, lostWrites, counts, ok, text: lines.join('\n') }
  }
}
