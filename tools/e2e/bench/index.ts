// The system benchmark of issue 12: the same workload against a real 3-OSD Ceph cluster
// (`rados bench`, through /work/shared/peers/ceph-bench.sh: 4 KiB and 4 MiB objects, 16
// concurrent ops, write then seq read; the cluster is started for the run and torn down after)
// and against our system through @x/client with 16 operations in flight (each operation writes
// or reads one whole object of the given size: a KV value up to 1 MiB, an array of 1 MiB chunks
// above). Our side runs 3 engines with an RP_3GX container
// when the daemons form a 3-engine system, compared with Ceph size=3; until then it runs 1
// engine with S1 and is compared with Ceph size=1, and the record names say so. The 1-engine S1
// run against Ceph size=1 (no replication on either side) is always recorded too. Results:
// bench-results/system.json.
//
// Environment: X_BENCH_SECS (seconds per phase, default 10), X_BENCH_SKIP_CEPH=1 (ours only,
// no records written), CEPH_BENCH (path of ceph-bench.sh).
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchReport } from '@x/bench'
import type { ArrayObject, ContainerHandle } from '@x/client'
import { type Runtime, DerError, createRealRuntime, isDerError } from '@x/common'
import { type ObjectId, ObjectType } from '@x/protocol'
import { Cluster, ManagedProcess, probeMultiEngine, repoRoot } from '../src/index.ts'

const runtime = createRealRuntime()
const secs = Number(process.env.X_BENCH_SECS ?? 10)
const inFlight = 16
const sizes = [
  { label: '4KiB', bytes: 4096 },
  { label: '4MiB', bytes: 4 << 20 },
] as const
/** Our pool's size; a write phase stops early once it has written 40% of it. */
const poolBytes = 1_500_000_000
const cephBench = process.env.CEPH_BENCH ?? '/work/shared/peers/ceph-bench.sh'

interface PhaseResult {
  readonly opsPerSecond: number
  readonly megabytesPerSecond: number
  /** Operations that completed (only these count). */
  readonly operations: number
  /** Operations that failed with a DerError (the loop goes on with the next one). */
  readonly failures: number
}

/** Runs ceph-bench.sh for pool sizes `replicas`; returns `size write|seq label -> result`. */
async function runCeph(replicas: readonly number[]): Promise<Map<string, PhaseResult>> {
  const out = await mkdtemp(join(tmpdir(), 'x-e2e-ceph-'))
  try {
    const args = [cephBench, '--secs', String(secs), '--threads', String(inFlight), '--replicas', replicas.join(' '), '--sizes', sizes.map((s) => s.bytes).join(' '), '--out', out, '--port-base', '40300']
    console.log(`ceph: bash ${args.join(' ')}`)
    const child = ManagedProcess.spawn({ name: 'ceph-bench', command: 'bash', args, cwd: repoRoot, runtime, env: { PEERS_QUIET_MAX: '5', PEERS_QUIET_PCT: '60' } })
    child.exited.then(() => undefined, () => undefined)
    const exit = await child.waitExit(20 * 60_000).catch(async (e: unknown) => {
      child.signal('SIGTERM')
      await child.waitExit(60_000).catch(() => child.signal('SIGKILL'))
      throw e
    })
    console.log(child.stdout.trim())
    if (exit.code !== 0) throw new Error(`ceph-bench.sh failed (exit ${exit.code ?? exit.signal}): ${child.tailText(30)}`)
    const tsv = await readFile(join(out, 'summary.tsv'), 'utf8')
    const results = new Map<string, PhaseResult>()
    for (const line of tsv.trim().split('\n').slice(1)) {
      const [name, ops, mib, , , , n] = line.split('\t')
      if (name === undefined || ops === undefined || mib === undefined) continue
      // name: "r=3 write 4KiB t=16"; rados' MB/sec is MiB/s.
      results.set(name.replace(/ t=\d+$/, ''), { opsPerSecond: Number(ops), megabytesPerSecond: (Number(mib) * 2 ** 20) / 1e6, operations: Number(n), failures: 0 })
    }
    return results
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}

/** 16 loops, each writing (or reading) whole objects of `bytes` for `durationMs`. */
async function runOurs(rt: Runtime, container: ContainerHandle, oclass: string, bytes: number, durationMs: number): Promise<{ write: PhaseResult; read: PhaseResult }> {
  const value = Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + 3) & 0xff)
  const key = new TextEncoder().encode('data')
  const written: ObjectId[] = []
  const phase = async (op: (i: number) => Promise<void>, maxOperations = Infinity): Promise<PhaseResult> => {
    const start = rt.clock.monotonicMs()
    let operations = 0
    let failures = 0
    let next = 0
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (rt.clock.monotonicMs() - start < durationMs && next < maxOperations) {
          try {
            await op(next++)
            operations++
          } catch (e) {
            if (!isDerError(e)) throw e
            failures++
            if (failures <= 3) console.log(`  operation failed: ${e.name}: ${e.message}`)
          }
        }
      }),
    )
    const elapsedS = (rt.clock.monotonicMs() - start) / 1000
    return { opsPerSecond: operations / elapsedS, megabytesPerSecond: (operations * bytes) / elapsedS / 1e6, operations, failures }
  }
  // Up to 1 MiB an object is one KV value (one update RPC); larger objects are arrays of 1 MiB
  // chunks (one dkey each, written in parallel), as a single inline value is capped at 4 MiB.
  const arrays: ArrayObject[] = []
  const whole = bytes <= 1 << 20
  const write = await phase(
    async () => {
      const oid = await container.allocateOid(oclass, whole ? ObjectType.KV_HASHED : ObjectType.ARRAY)
      if (whole) {
        await container.openKv(oid).put(key, value)
        written.push(oid)
      } else {
        const arr = await container.createArray(oid, { cellSizeBytes: 1, chunkSizeCells: 1 << 20 })
        await arr.write(0, value)
        arrays.push(arr)
      }
    },
    Math.floor((poolBytes * 0.4) / bytes),
  )
  if ((whole ? written.length : arrays.length) === 0) throw new DerError('DER_MISC', `no ${bytes}-byte object was written: nothing to read`)
  const read = await phase(async (i) => {
    let length: number | undefined
    if (whole) length = (await container.openKv(written[i % written.length] as ObjectId).get(key))?.length
    else length = (await (arrays[i % arrays.length] as ArrayObject).read(0, bytes)).length
    if (length !== bytes) throw new DerError('DER_MISC', `read back ${length} bytes, expected ${bytes}`)
  })
  return { write, read }
}

interface OurRun {
  readonly label: string
  readonly cephReplicas: number
  readonly results: Map<string, { write: PhaseResult; read: PhaseResult }>
}

/** Starts a cluster of `engines`, creates a pool and a container of `oclass`, runs every size. */
async function measureOurs(engines: number, oclass: string, label: string, cephReplicas: number): Promise<OurRun | string> {
  const cluster = await Cluster.start({ engines, targets: 4, deviceSizeBytes: 2 * 2 ** 30, readyTimeoutMs: 180_000, runtime })
  try {
    if (engines > 1) {
      const missing = await probeMultiEngine(cluster)
      if (missing !== undefined) return missing
    }
    await cluster.dmgOk(['pool', 'create', 'bench', '--size', `${poolBytes}`])
    await cluster.daosOk(['container', 'create', 'bench', 'c', '--oclass', oclass])
    const session = await cluster.openClient('bench', 'c', { timeoutMs: 30_000 })
    const results = new Map<string, { write: PhaseResult; read: PhaseResult }>()
    try {
      for (const size of sizes) {
        const result = await runOurs(runtime, session.container, oclass, size.bytes, secs * 1000)
        results.set(size.label, result)
        console.log(`ours ${label} ${size.label}: write ${result.write.opsPerSecond.toFixed(0)} ops/s ${result.write.megabytesPerSecond.toFixed(1)} MB/s (n=${result.write.operations}, failed ${result.write.failures}); read ${result.read.opsPerSecond.toFixed(0)} ops/s ${result.read.megabytesPerSecond.toFixed(1)} MB/s (n=${result.read.operations}, failed ${result.read.failures})`)
      }
    } finally {
      await session.close()
    }
    return { label, cephReplicas, results }
  } finally {
    await cluster.close()
  }
}

async function main(): Promise<void> {
  const runs: OurRun[] = []
  // 3 engines with RP_3GX against Ceph size 3 (the comparison), when the daemons form a
  // 3-engine system; and 1 engine with S1 against Ceph size 1 (no replication on either side).
  const three = await measureOurs(3, 'RP_3GX', '3 engines RP_3GX', 3)
  if (typeof three === 'string') console.log(`ours: 3 engines unavailable (${three}); measuring 1 engine only`)
  else runs.push(three)
  const one = await measureOurs(1, 'S1', typeof three === 'string' ? '1 engine S1 (3-engine daemon not available)' : '1 engine S1', 1)
  if (typeof one === 'string') throw new Error(one)
  runs.push(one)
  if (process.env.X_BENCH_SKIP_CEPH === '1') return
  if (!existsSync(cephBench)) throw new Error(`${cephBench} not found: cannot measure the Ceph reference`)
  const ceph = await runCeph([...new Set(runs.map((r) => r.cephReplicas))])
  const report = new BenchReport('system')
  for (const run of runs) {
    for (const size of sizes) {
      const mine = run.results.get(size.label)
      if (mine === undefined) continue
      for (const [phase, cephPhase] of [['write', 'write'], ['read', 'seq']] as const) {
        const reference = ceph.get(`r=${run.cephReplicas} ${cephPhase} ${size.label}`)
        if (reference === undefined) throw new Error(`no Ceph result for r=${run.cephReplicas} ${cephPhase} ${size.label}`)
        const refName = `rados bench ${cephPhase} -t ${inFlight}, 3 OSDs, pool size ${run.cephReplicas}`
        report.add({ name: `${run.label} ${size.label} ${phase} ops/s, ${inFlight} in flight`, unit: 'ops/s', value: mine[phase].opsPerSecond, reference: refName, referenceValue: reference.opsPerSecond, higherIsBetter: true })
        report.add({ name: `${run.label} ${size.label} ${phase} MB/s, ${inFlight} in flight`, unit: 'MB/s', value: mine[phase].megabytesPerSecond, reference: refName, referenceValue: reference.megabytesPerSecond, higherIsBetter: true })
      }
    }
  }
  report.write()
}

await main()
