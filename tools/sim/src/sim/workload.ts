/**
 * The KV workload: clients issuing put, get and delete on a few keys (one replicated object per
 * key: dkey = the key, one single-value akey), each recording its operations in a
 * {@link HistoryRecorder} as it goes. Values are unique per write (`c<client>.<n>`), so a value
 * read back names the write that produced it.
 *
 * Outcomes: a read that fails did not change anything (`failed`); a write that fails or times out
 * may still have taken effect (`unknown`): the leader may have prepared it on every replica before
 * the answer was lost; only a write whose connection was refused is a definite failure. After a
 * failure the clients back off for 100-300 ms.
 *
 * @module
 */
import { Random, type VirtualRuntime, isDerError } from '@x/common'
import type { ObjectClient } from '@x/engine'
import { type ObjectId, placeObject } from '@x/protocol'
import { HistoryRecorder } from '../history.ts'
import type { KvInput, KvOutput } from '../checkers/models.ts'
import type { SimCluster } from './cluster.ts'
import type { SimConfig } from './config.ts'

const te = new TextEncoder()
const td = new TextDecoder()

/** The akey every KV value lives under. */
export const valueAkey = te.encode('v')

/** The dkey of workload key `key`. */
export function dkeyOf(key: string): Uint8Array {
  return te.encode(key)
}

/** The name of workload key `k`. */
export function keyName(k: number): string {
  return `k${k}`
}

/** A write as the workload saw it: what it wrote and, when acknowledged, its epoch. */
export interface WorkloadWrite {
  readonly opId: number
  readonly key: string
  /** The value; null for a delete. */
  readonly value: string | null
  readonly clientId: string
  readonly callMs: number
  /** When acknowledged; undefined when the outcome is unknown. */
  ackMs?: number
  /** The epoch the system answered (0n: the answer carried none). */
  epoch?: bigint
}

/** Counters of the workload. */
export interface WorkloadStats {
  invoked: number
  ok: number
  failed: number
  unknown: number
}

/** Runs the KV clients and records their history (see the module comment). */
export class KvWorkload {
  readonly recorder = new HistoryRecorder<KvInput, KvOutput>()
  readonly writes = new Map<number, WorkloadWrite>()
  readonly stats: WorkloadStats = { invoked: 0, ok: 0, failed: 0, unknown: 0 }
  /** Errors the clients saw, by DER name (or message), for summaries. */
  readonly errors = new Map<string, number>()
  private running = false
  /** Set by a failure: the next operation of any client waits a little longer (clients back off). */
  private backoff = false
  private loops: Promise<void>[] = []
  private readonly runtime: VirtualRuntime

  constructor(
    private readonly cluster: SimCluster,
    private readonly config: SimConfig,
  ) {
    this.runtime = cluster.runtime
  }

  /** Starts one loop per workload client. */
  start(): void {
    this.running = true
    for (let c = 0; c < this.config.clients; c++) {
      const client = this.cluster.clients[c]
      if (client === undefined) continue
      const random = new Random(`sim-${this.config.seed}-client-${c}`)
      this.loops.push(this.loop(`c${c}`, client.object, random))
    }
  }

  /** Stops issuing; resolves when every loop finished its current operation. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.loops = []
  }

  private replicas(oid: ObjectId): number {
    return placeObject(this.cluster.map, oid).groups[0]?.shards.length ?? 1
  }

  private async loop(clientId: string, client: ObjectClient, random: Random): Promise<void> {
    let n = 0
    while (this.running) {
      const pause = random.int(2 * this.config.thinkMs + 1) + (this.backoff ? 100 + random.int(200) : 0)
      this.backoff = false
      await this.runtime.timers.sleep(pause)
      if (!this.running) break
      const k = random.int(this.config.keys)
      const key = keyName(k)
      const oid = this.cluster.objects[k] as ObjectId
      const draw = random.float()
      if (draw < this.config.mix.put) {
        await this.put(clientId, client, oid, key, `${clientId}.${n++}`)
      } else if (draw < this.config.mix.put + this.config.mix.get) {
        const replica = random.chance(0.5) ? random.int(this.replicas(oid)) : undefined
        await this.get(clientId, client, oid, key, replica)
      } else {
        await this.delete(clientId, client, oid, key)
      }
    }
  }

  /**
   * Records a failed write: definite when the request never reached the leader (the connection
   * was refused, so nothing was sent), else of unknown outcome (the leader may have prepared it
   * on every replica before the answer was lost). Earlier attempts of the same call ended in
   * definite refusals (`DER_STALE`, `DER_INPROGRESS`), or the client would not have retried.
   */
  private writeFailed(id: number, error: unknown): void {
    this.noteError(error)
    if (isDerError(error, 'DER_UNREACH') && error.message.includes('refused')) {
      this.recorder.fail(id, this.now())
      this.stats.failed++
    } else {
      this.recorder.timeout(id, this.now())
      this.stats.unknown++
    }
    this.backoff = true
  }

  private noteError(error: unknown): void {
    if (process.env.SIM_DEBUG) console.error(error)
    const name = isDerError(error) ? `${error.name}: ${error.message.slice(0, 100)}` : String(error).slice(0, 120)
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1)
  }

  private now(): number {
    return this.runtime.nowMs
  }

  /** Puts `value` under `key`, recording the operation. */
  async put(clientId: string, client: ObjectClient, oid: ObjectId, key: string, value: string): Promise<void> {
    const id = this.recorder.invoke(clientId, { kind: 'put', key, value }, this.now())
    this.stats.invoked++
    const write: WorkloadWrite = { opId: id, key, value, clientId, callMs: this.now() }
    this.writes.set(id, write)
    try {
      const epoch = await client.update(oid, dkeyOf(key), [{ type: 'single', akey: valueAkey, value: te.encode(value) }])
      write.ackMs = this.now()
      write.epoch = epoch
      this.recorder.ok(id, {}, this.now())
      this.stats.ok++
    } catch (error) {
      this.writeFailed(id, error)
    }
  }

  /** Deletes `key`, recording the operation. */
  async delete(clientId: string, client: ObjectClient, oid: ObjectId, key: string): Promise<void> {
    const id = this.recorder.invoke(clientId, { kind: 'delete', key }, this.now())
    this.stats.invoked++
    const write: WorkloadWrite = { opId: id, key, value: null, clientId, callMs: this.now() }
    this.writes.set(id, write)
    try {
      const epoch = await client.punch(oid, 'akeys', [dkeyOf(key)], [valueAkey])
      write.ackMs = this.now()
      write.epoch = epoch
      this.recorder.ok(id, {}, this.now())
      this.stats.ok++
    } catch (error) {
      this.writeFailed(id, error)
    }
  }

  /** Reads `key` (from replica position `replica` first, when given), recording the operation. */
  async get(clientId: string, client: ObjectClient, oid: ObjectId, key: string, replica: number | undefined): Promise<boolean> {
    const id = this.recorder.invoke(clientId, { kind: 'get', key }, this.now())
    this.stats.invoked++
    try {
      const [v] = await client.fetch(oid, dkeyOf(key), [{ type: 'single', akey: valueAkey }], replica === undefined ? {} : { replica })
      const value = v === undefined || v.recordSizeBytes === 0 ? null : td.decode(v.data)
      this.recorder.ok(id, { value }, this.now())
      this.stats.ok++
      return true
    } catch (error) {
      this.noteError(error)
      this.backoff = true
      this.recorder.fail(id, this.now())
      this.stats.failed++
      return false
    }
  }
}
