// The replicated state machine: the pure core (dedup, sessions, bad entries, snapshots) and the
// runner on RaftDriver (leader-only writes with hints, leader-side validation, read-index reads,
// snapshots and compaction, restart from storage).
import { DerError, VirtualRuntime, encodeStruct, isDerError } from '@x/common'
import { MemoryStorage, type Message, RaftTicker } from '@x/raft'
import { describe, expect, it } from 'vitest'
import { ManagementMachine, type MgmtCommand, ReplicatedService, RsmCore, type ServiceMachine, decodeJoinResult, encodeMgmtCommand, leaderHintOf, rsmEntryCodec } from '../src/index.ts'
import { uuidOf } from './support/machines.ts'

/** A counter machine: command = one byte to add; 0 is refused with DER_INVAL. */
class Counter implements ServiceMachine {
  total = 0
  applies = 0
  validate(command: Uint8Array): void {
    if (command.length !== 1 || command[0] === 0) throw new DerError('DER_INVAL', 'bad increment')
  }
  apply(command: Uint8Array): Uint8Array {
    this.validate(command)
    this.applies++
    this.total += command[0] as number
    return new Uint8Array([this.total & 0xff])
  }
  snapshot(): Uint8Array {
    return new Uint8Array([this.total & 0xff, this.applies & 0xff])
  }
  restore(bytes: Uint8Array): void {
    if (bytes.length !== 2) throw new DerError('DER_PROTO', 'bad counter snapshot')
    this.total = bytes[0] as number
    this.applies = bytes[1] as number
  }
}

const entry = (clientId: string, seq: number, add: number): Uint8Array => encodeStruct(rsmEntryCodec, { clientId, seq, command: new Uint8Array([add]) })

describe('RsmCore', () => {
  it('applies a request once: a retry gets the first outcome, an older one DER_STALE', () => {
    const core = new RsmCore(new Counter())
    expect(core.applyEntry(1, entry('a', 1, 5))).toEqual({ ok: true, result: new Uint8Array([5]) })
    expect(core.applyEntry(2, entry('a', 1, 5))).toEqual({ ok: true, result: new Uint8Array([5]) })
    expect(core.applyEntry(3, entry('a', 2, 1))).toEqual({ ok: true, result: new Uint8Array([6]) })
    expect(core.applyEntry(4, entry('a', 1, 5))).toMatchObject({ ok: false, error: 'DER_STALE' })
    expect(core.applyEntry(5, entry('', 0, 1))).toEqual({ ok: true, result: new Uint8Array([7]) })
    expect(core.applyEntry(6, entry('', 0, 1))).toEqual({ ok: true, result: new Uint8Array([8]) })
    expect((core.machine as Counter).applies).toBe(4)
    expect(core.applyEntry(7, entry('a', 3, 0))).toMatchObject({ ok: false, error: 'DER_INVAL' })
    expect(core.applyEntry(8, entry('a', 3, 0))).toMatchObject({ ok: false, error: 'DER_INVAL' })
    expect(core.cached({ clientId: 'a', seq: 3 })).toMatchObject({ ok: false, error: 'DER_INVAL' })
    expect(core.cached({ clientId: 'a', seq: 4 })).toBe(undefined)
  })

  it('answers undecodable entries with an error and no change', () => {
    const core = new RsmCore(new Counter())
    const before = core.snapshot()
    expect(core.applyEntry(1, new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false })
    expect(core.snapshot()).toEqual(before)
  })

  it('forgets the least recently used session beyond its limit', () => {
    const core = new RsmCore(new Counter(), 2)
    core.applyEntry(1, entry('a', 1, 1))
    core.applyEntry(2, entry('b', 1, 1))
    core.applyEntry(3, entry('a', 2, 1))
    core.applyEntry(4, entry('c', 1, 1))
    expect(core.sessionCount).toBe(2)
    expect(core.cached({ clientId: 'b', seq: 1 })).toBe(undefined)
    expect(core.cached({ clientId: 'a', seq: 2 })).toBeDefined()
  })

  it('keeps sessions in snapshots; bad snapshots change nothing', () => {
    const core = new RsmCore(new Counter())
    core.applyEntry(1, entry('a', 1, 3))
    const copy = new RsmCore(new Counter())
    copy.restore(core.snapshot())
    expect(copy.snapshot()).toEqual(core.snapshot())
    expect(copy.applyEntry(2, entry('a', 1, 3))).toEqual({ ok: true, result: new Uint8Array([3]) })
    expect((copy.machine as Counter).applies).toBe(1)
    const before = copy.snapshot()
    expect(() => copy.restore(new Uint8Array([9, 9]))).toThrow()
    expect(copy.snapshot()).toEqual(before)
  })
})

function cluster(seed: number, n: number, snapshotEveryEntries = 1000): { runtime: VirtualRuntime; services: ReplicatedService<ManagementMachine>[]; storages: MemoryStorage[]; ticker: RaftTicker } {
  const runtime = new VirtualRuntime({ seed })
  const ticker = new RaftTicker(runtime, 10)
  const ids = Array.from({ length: n }, (_, i) => i + 1)
  const services: ReplicatedService<ManagementMachine>[] = []
  const storages = ids.map(() => MemoryStorage.withVoters(ids))
  const send = (messages: readonly Message[]): void => {
    for (const m of messages) runtime.timers.schedule(1, () => services[m.to - 1]?.receive(m))
  }
  for (const id of ids) {
    services.push(new ReplicatedService({ id, runtime, storage: storages[id - 1] as MemoryStorage, send, machine: new ManagementMachine(), ticker, raft: { electionTicks: 10, heartbeatTicks: 1 }, snapshotEveryEntries, keepEntriesAfterSnapshot: 2 }))
  }
  for (const s of services) s.start()
  return { runtime, services, storages, ticker }
}

const joinCmd = (n: number): Uint8Array => encodeMgmtCommand({ op: 'join', uuid: uuidOf(n), addr: `10.0.0.${n}:1`, fabricUri: 'tcp://x', faultDomain: `/h${n}`, incarnation: 1 } satisfies MgmtCommand)

async function leaderOf(runtime: VirtualRuntime, services: ReplicatedService<ManagementMachine>[], seed: number): Promise<ReplicatedService<ManagementMachine>> {
  expect(await runtime.runUntil(() => services.some((s) => s.isLeader()), 5000), `seed ${seed}: no leader`).toBe(true)
  return services.find((s) => s.isLeader()) as ReplicatedService<ManagementMachine>
}

describe('ReplicatedService', () => {
  it('answers with the result, refuses on followers with a leader hint, validates before the log', async () => {
    const { runtime, services } = cluster(1, 3)
    const leader = await leaderOf(runtime, services, 1)
    const follower = services.find((s) => s !== leader) as ReplicatedService<ManagementMachine>
    await runtime.advance(50)
    const error = await follower.submit(joinCmd(1)).catch((e: unknown) => e)
    expect(isDerError(error, 'DER_NOTLEADER')).toBe(true)
    expect(leaderHintOf(error)).toBe(leader.id)
    const p = leader.submit(joinCmd(1), { clientId: 'x', seq: 1 })
    await runtime.advance(20)
    expect(decodeJoinResult(await p)).toEqual({ rank: 0, mapVersion: 1 })
    const lastIndex = leader.driver.status().lastIndex
    const refused = leader.submit(encodeMgmtCommand({ op: 'exclude', ranks: [7] })).catch((e: unknown) => e)
    await runtime.advance(20) // a refusal waits for a read-index round: this state is current
    expect(await refused).toMatchObject({ name: 'DER_NONEXIST' })
    await expect(leader.submit(new Uint8Array([1, 2]))).rejects.toMatchObject({ name: 'DER_PROTO' })
    expect(leader.driver.status().lastIndex, 'a refused command entered the log').toBe(lastIndex)
    await expect(leader.submit(joinCmd(1), { clientId: '', seq: 1 })).rejects.toMatchObject({ name: 'DER_INVAL' })
    await expect(leader.submit(joinCmd(1), { clientId: 'x', seq: 0 })).rejects.toMatchObject({ name: 'DER_INVAL' })
    // A retry of an applied request returns the first result, without a new entry.
    expect(decodeJoinResult(await leader.submit(joinCmd(1), { clientId: 'x', seq: 1 }))).toEqual({ rank: 0, mapVersion: 1 })
    for (const s of services) s.stop()
  })

  it('serves read-index reads on the leader and, on request, on followers', async () => {
    const { runtime, services } = cluster(2, 3)
    const leader = await leaderOf(runtime, services, 2)
    const follower = services.find((s) => s !== leader) as ReplicatedService<ManagementMachine>
    const w = leader.submit(joinCmd(1))
    await runtime.advance(20)
    await w
    await expect(follower.read((m) => m.systemQuery().length)).rejects.toMatchObject({ name: 'DER_NOTLEADER' })
    const r1 = leader.read((m) => m.systemQuery().length)
    const r2 = follower.read((m) => m.systemQuery().length, { followerRead: true })
    await runtime.advance(50)
    expect([await r1, await r2]).toEqual([1, 1])
    for (const s of services) s.stop()
    await expect(leader.read((m) => m)).rejects.toMatchObject({ name: 'DER_SHUTDOWN' })
    await expect(leader.submit(joinCmd(2))).rejects.toMatchObject({ name: 'DER_SHUTDOWN' })
  })

  it('takes snapshots every N entries, compacts, and a restarted replica restores from storage', async () => {
    const { runtime, services, storages, ticker } = cluster(3, 1, 5)
    const leader = await leaderOf(runtime, services, 3)
    for (let i = 1; i <= 12; i++) {
      const p = leader.submit(joinCmd(i), { clientId: 'c', seq: i })
      await runtime.advance(5)
      await p
    }
    await runtime.advance(5)
    expect(leader.snapshotsTaken).toBeGreaterThanOrEqual(2)
    const storage = storages[0] as MemoryStorage
    expect(storage.snapshot().metadata.index).toBeGreaterThanOrEqual(10)
    expect(storage.firstIndex()).toBeGreaterThan(5)
    const state = leader.core.snapshot()
    leader.stop()
    const again = new ReplicatedService({ id: 1, runtime, storage, send: () => {}, machine: new ManagementMachine(), ticker, snapshotEveryEntries: 5 })
    expect(again.snapshotsRestored).toBe(1)
    again.start()
    await runtime.advance(300)
    expect(again.core.snapshot()).toEqual(state)
    expect(again.machine.systemQuery().length).toBe(12)
    // The dedup table survived the restart.
    expect(decodeJoinResult(await again.submit(joinCmd(12), { clientId: 'c', seq: 12 }))).toEqual({ rank: 11, mapVersion: 12 })
    await expect(again.submit(joinCmd(3), { clientId: 'c', seq: 3 })).rejects.toMatchObject({ name: 'DER_STALE' })
    again.stop()
  })

  it('refuses bad options', () => {
    const runtime = new VirtualRuntime({ seed: 4 })
    const base = { id: 1, runtime, storage: MemoryStorage.withVoters([1]), send: () => {}, machine: new ManagementMachine() }
    expect(() => new ReplicatedService({ ...base, snapshotEveryEntries: 0 })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
    expect(() => new ReplicatedService({ ...base, keepEntriesAfterSnapshot: -1 })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
  })
})

describe('ReplicatedService: apply-time validation', () => {
  it('two creates of one label both pass the leader check; the second is refused at apply with DER_EXIST', async () => {
    const { runtime, services } = cluster(5, 3)
    const leader = await leaderOf(runtime, services, 5)
    const j = leader.submit(joinCmd(1))
    await runtime.advance(20)
    await j
    const create = (n: number): Uint8Array => encodeMgmtCommand({ op: 'poolCreate', uuid: uuidOf(n, 'b'), label: 'same', sizeBytes: 1, svcRanks: [0], tgtRanks: [0] })
    const a = leader.submit(create(1)).then(() => 'ok', (e: unknown) => (isDerError(e) ? e.name : String(e)))
    const b = leader.submit(create(2)).then(() => 'ok', (e: unknown) => (isDerError(e) ? e.name : String(e)))
    await runtime.advance(30)
    expect([await a, await b]).toEqual(['ok', 'DER_EXIST'])
    await runtime.advance(30)
    const states = new Set(services.map((s) => Buffer.from(s.core.snapshot()).toString('hex')))
    expect(states.size).toBe(1)
    expect(leader.machine.poolList().map((p) => p.uuid)).toEqual([uuidOf(1, 'b')])
    for (const s of services) s.stop()
  })

  it('runs the package documentation example', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const ms = new ReplicatedService({ id: 1, runtime, storage: MemoryStorage.withVoters([1]), send: () => {}, machine: new ManagementMachine(), tickMs: 10 })
    ms.start()
    await runtime.advance(500)
    const join = ms.submit(encodeMgmtCommand({ op: 'join', uuid: '6f1c4c3a-0d1e-4f7b-9a4e-2b1f1f0c0a01', addr: '10.0.0.1:10001', fabricUri: 'tcp://10.0.0.1:31416', faultDomain: '/host1', incarnation: 1 }), { clientId: 'engine-1', seq: 1 })
    await runtime.advance(10)
    expect(decodeJoinResult(await join)).toEqual({ rank: 0, mapVersion: 1 })
    ms.stop()
  })
})
