// 3-node Raft group over loopback TCP in three processes with FileStorage: 256-byte proposals,
// 64 in flight, commits/s and p50/p99 latency; the reference is a 3-member etcd cluster (Debian
// etcd-server) under the same load in the same run (skipped with a message when etcd is missing).
import { type ChildProcess, execFileSync, fork, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BenchReport } from '@x/bench'
import { createRealRuntime } from '@x/common'

const here = dirname(fileURLToPath(import.meta.url))
const runtime = createRealRuntime()
const concurrency = 64
const valueBytes = 256
const durationS = Number(process.env['RAFT_BENCH_SECONDS'] ?? 10)
const peersDir = '/work/shared/peers'

interface LoadResult {
  commits: number
  commitsPerSecond: number
  p50Ms: number
  p99Ms: number
  errors: number
}

function waitFor<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if ((m as { type: string }).type === type) {
        child.off('message', onMessage)
        resolve(m as T)
      }
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) while waiting for ${type}`)))
  })
}

/** A load client over TCP: `concurrency` proposals in flight, latency from send to answer. */
function runClient(port: number, warmupMs: number, durationMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.setNoDelay(true)
    const value = Buffer.alloc(valueBytes, 0x62)
    const started = new Map<number, number>()
    const latencies: number[] = []
    let nextId = 1
    let commits = 0
    let errors = 0
    const t0 = runtime.clock.monotonicMs()
    const measureFrom = t0 + warmupMs
    const end = measureFrom + durationMs
    const sendOne = (): void => {
      const id = nextId++
      const frame = Buffer.allocUnsafe(8 + valueBytes)
      frame.writeUInt32LE(4 + valueBytes, 0)
      frame.writeUInt32LE(id, 4)
      value.copy(frame, 8)
      started.set(id, runtime.clock.monotonicMs())
      socket.write(frame)
    }
    let buffered: Buffer = Buffer.alloc(0)
    socket.on('connect', () => {
      for (let i = 0; i < concurrency; i++) sendOne()
    })
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      let at = 0
      while (buffered.length - at >= 4) {
        const length = buffered.readUInt32LE(at)
        if (buffered.length - at - 4 < length) break
        const id = buffered.readUInt32LE(at + 4)
        const ok = length === 4
        at += 4 + length
        const now = runtime.clock.monotonicMs()
        const t = started.get(id) ?? now
        started.delete(id)
        if (!ok) errors++
        else if (t >= measureFrom && now <= end) {
          latencies.push(now - t)
          commits++
        }
        if (now < end) sendOne()
        else if (started.size === 0) {
          socket.end()
          latencies.sort((a, b) => a - b)
          const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
          resolve({ commits, commitsPerSecond: commits / (durationMs / 1000), p50Ms: pct(50), p99Ms: pct(99), errors })
        }
      }
      buffered = buffered.subarray(at)
    })
    socket.on('error', reject)
  })
}

async function runRaft(): Promise<{ inProcess: LoadResult; overTcp: LoadResult }> {
  const root = mkdtempSync(join(tmpdir(), 'raft-bench-'))
  const base = 43000 + Math.floor(runtime.random.int(1000)) * 3
  const ports = { 1: base, 2: base + 1, 3: base + 2 }
  const workers = [1, 2, 3].map((id) => {
    const child = fork(join(here, 'worker.ts'), [], { execArgv: ['--import', 'tsx', '--conditions=@x/source'], cwd: join(here, '..'), stdio: 'inherit' })
    child.send({ type: 'init', id, ports, clientPort: base + 10 + id, dir: join(root, `n${id}`) })
    return child
  })
  try {
    await Promise.all(workers.map((w) => waitFor(w, 'ready')))
    for (const w of workers) w.send({ type: 'connect' })
    await Promise.all(workers.map((w) => waitFor(w, 'connected')))
    const leader = workers[0] as ChildProcess
    leader.send({ type: 'campaign' })
    await waitFor(leader, 'leader')
    const overTcp = await runClient(base + 11, 1000, durationS * 1000)
    leader.send({ type: 'load', concurrency, valueBytes, warmupMs: 1000, durationMs: durationS * 1000 })
    const inProcess = await waitFor<LoadResult>(leader, 'result')
    return { inProcess, overTcp }
  } finally {
    for (const w of workers) w.send({ type: 'stop' })
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))))
    rmSync(root, { recursive: true, force: true })
  }
}

interface EtcdResult {
  puts_per_s: number
  p50_ms: number
  p99_ms: number
  errors: number
}

function runEtcd(): EtcdResult | undefined {
  if (spawnSync('sh', ['-c', 'command -v etcd && command -v etcdctl']).status !== 0) {
    console.log('etcd reference skipped: etcd-server / etcd-client are not installed (apt-get install -y etcd-server etcd-client)')
    return undefined
  }
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'))
  try {
    execFileSync(join(peersDir, 'etcd-cluster.sh'), ['start', dir], { stdio: 'inherit', env: { ...process.env, ETCD_CLUSTER_QUIET: '1' } })
    const endpoints = execFileSync(join(peersDir, 'etcd-cluster.sh'), ['endpoints', dir]).toString().trim()
    const status = JSON.parse(execFileSync('etcdctl', ['--endpoints', endpoints, 'endpoint', 'status', '-w', 'json']).toString()) as { Endpoint: string; Status: { leader: string; header: { member_id: string } } }[]
    const leader = status.find((s) => s.Status.leader === s.Status.header.member_id)?.Endpoint ?? endpoints.split(',')[0] ?? ''
    const out = execFileSync('node', [join(peersDir, 'etcd-put-bench.mjs'), '--endpoints', leader, '--concurrency', String(concurrency), '--duration', String(durationS), '--val-size', String(valueBytes), '--json']).toString()
    console.log(out.trim().split('\n')[0])
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as EtcdResult
  } finally {
    spawnSync(join(peersDir, 'etcd-cluster.sh'), ['stop', dir], { stdio: 'inherit' })
    rmSync(dir, { recursive: true, force: true })
  }
}

const report = new BenchReport('raft')
console.log(`raft: 3 processes, FileStorage (fsync), loopback tcp, ${valueBytes} B proposals, ${concurrency} in flight, ${durationS} s`)
const raft = await runRaft()
for (const [label, r] of [['client over tcp', raft.overTcp], ['in-process proposer', raft.inProcess]] as const) {
  console.log(`raft (${label}): ${r.commitsPerSecond.toFixed(0)} commits/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}`)
}
const etcd = runEtcd()
const reference = etcd === undefined ? 'etcd 3-member (not installed: no reference)' : 'etcd 3.4 3-member put (grpc client, leader endpoint)'
// The headline records use a client over loopback tcp to the leader process, as etcd's do (its
// put-bench talks gRPC to the leader); the in-process records drop that client hop.
for (const [suffix, r] of [['', raft.overTcp], [' (in-process proposer)', raft.inProcess]] as const) {
  report.add({ name: `3-node commit throughput, 256 B x 64 in flight${suffix}`, unit: 'commits/s', value: r.commitsPerSecond, reference, referenceValue: etcd?.puts_per_s ?? NaN, higherIsBetter: true })
  report.add({ name: `3-node commit latency p50${suffix}`, unit: 'ms', value: r.p50Ms, reference, referenceValue: etcd?.p50_ms ?? NaN, higherIsBetter: false })
  report.add({ name: `3-node commit latency p99${suffix}`, unit: 'ms', value: r.p99Ms, reference, referenceValue: etcd?.p99_ms ?? NaN, higherIsBetter: false })
}
report.write()
