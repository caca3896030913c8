// The replicated services in one process (3 replicas, in-process network, real time): management
// commands committed per second through ReplicatedService (leader-side validation, dedup
// sessions, result answers), against the bare RaftDriver under the same load and entry size in
// the same run; the management state machine's snapshot encode/restore against JSON; and the
// object I/O path (bench/object-io.ts).
import { BenchReport, measureSync } from '@x/bench'
import { createRealRuntime } from '@x/common'
import { MemoryStorage, type Message, RaftDriver, RaftTicker } from '@x/raft'
import { ManagementMachine, type MgmtCommand, ReplicatedService, encodeMgmtCommand } from '../src/index.ts'
import { benchObjectIo } from './object-io.ts'

const runtime = createRealRuntime()
const inFlight = 64
const durationMs = Number(process.env['ENGINE_BENCH_MS'] ?? 3000)

function uuid(n: number): string {
  return `aaaaaaaa-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

interface Group {
  submit(worker: number, seq: number): Promise<unknown>
  isReady(): boolean
  stop(): void
}

function network(deliver: (m: Message) => void): (messages: readonly Message[]) => void {
  return (messages) => {
    for (const m of messages) queueMicrotask(() => deliver(m))
  }
}

function serviceGroup(): Group {
  const ticker = new RaftTicker(runtime, 10)
  const services: ReplicatedService<ManagementMachine>[] = []
  const send = network((m) => services[m.to - 1]?.receive(m))
  for (const id of [1, 2, 3]) services.push(new ReplicatedService({ id, runtime, storage: MemoryStorage.withVoters([1, 2, 3]), send, machine: new ManagementMachine(), ticker, raft: { electionTicks: 10, heartbeatTicks: 1 }, snapshotEveryEntries: 5000 }))
  for (const s of services) s.start()
  const leader = (): ReplicatedService<ManagementMachine> | undefined => services.find((s) => s.isLeader())
  return {
    submit: (worker, seq) => (leader() as ReplicatedService<ManagementMachine>).submit(encodeMgmtCommand({ op: 'setProps', props: { pool_scrub_thresh: String(seq % 1000) } }), { clientId: `client-${worker}`, seq }),
    isReady: () => leader() !== undefined,
    stop: () => services.forEach((s) => s.stop()),
  }
}

function bareGroup(entryBytes: number): Group {
  const ticker = new RaftTicker(runtime, 10)
  const drivers: RaftDriver[] = []
  const send = network((m) => drivers[m.to - 1]?.receive(m))
  const machine = { restore: (): void => {}, apply: (): void => {} }
  for (const id of [1, 2, 3]) drivers.push(new RaftDriver({ id, runtime, storage: MemoryStorage.withVoters([1, 2, 3]), send, stateMachine: machine, ticker, raft: { electionTicks: 10, heartbeatTicks: 1 } }))
  for (const d of drivers) d.start()
  const payload = new Uint8Array(entryBytes).fill(7)
  const leader = (): RaftDriver | undefined => drivers.find((d) => d.status().softState.role === 'leader')
  return { submit: () => (leader() as RaftDriver).propose(payload), isReady: () => leader() !== undefined, stop: () => drivers.forEach((d) => d.stop()) }
}

async function load(group: Group): Promise<number> {
  while (!group.isReady()) await runtime.timers.sleep(10)
  let done = 0
  const t0 = runtime.clock.monotonicMs()
  const end = t0 + durationMs
  const worker = async (w: number): Promise<void> => {
    for (let seq = 1; runtime.clock.monotonicMs() < end; seq++) {
      await group.submit(w, seq)
      done++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)))
  const elapsedS = (runtime.clock.monotonicMs() - t0) / 1000
  group.stop()
  return done / elapsedS
}

const report = new BenchReport('engine')
const sampleEntryBytes = encodeMgmtCommand({ op: 'setProps', props: { pool_scrub_thresh: '500' } }).length + 16
const ours = await load(serviceGroup())
const bare = await load(bareGroup(sampleEntryBytes))
report.add({ name: 'mgmt service commits (3 replicas, 64 in flight)', unit: 'ops/s', value: ours, reference: 'bare RaftDriver, same entry size', referenceValue: bare, higherIsBetter: true })

// Snapshot of a management service with 256 members and 1000 pools.
const machine = new ManagementMachine()
for (let i = 0; i < 256; i++) machine.execute({ op: 'join', uuid: uuid(i), addr: `10.0.${i >> 8}.${i & 255}:10001`, fabricUri: `tcp://10.0.0.${i}`, faultDomain: `/rack${i % 8}/host${i}`, incarnation: 1 })
for (let i = 0; i < 1000; i++) machine.execute({ op: 'poolCreate', uuid: uuid(100_000 + i), label: `pool${i}`, sizeBytes: 1 << 30, svcRanks: [i % 256], tgtRanks: [i % 256, (i + 1) % 256, (i + 2) % 256] } satisfies MgmtCommand)
const plain = { members: machine.systemQuery(), pools: machine.poolList(), props: [...machine.getProps()] }
const snap = machine.snapshot()
const ourRoundTrip = measureSync(() => new ManagementMachine().restore(machine.snapshot()), { minDurationMs: 700 })
const jsonRoundTrip = measureSync(() => JSON.parse(JSON.stringify(plain)) as unknown, { minDurationMs: 700 })
report.add({ name: `mgmt snapshot encode+restore (256 members, 1000 pools, ${snap.length} B)`, unit: 'ops/s', value: ourRoundTrip.operationsPerSecond, reference: 'JSON.stringify+parse of the same state', referenceValue: jsonRoundTrip.operationsPerSecond, higherIsBetter: true })
await benchObjectIo(report, Number(process.env['ENGINE_OBJECT_BENCH_MS'] ?? 1500))
report.write()
