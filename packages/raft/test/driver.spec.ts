// The driver: a RaftDriver per node on a virtual runtime, a shared ticker, an in-memory network.
import { type Runtime, VirtualRuntime, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type Entry, MemoryStorage, type Message, RaftDriver, RaftTicker, type Snapshot } from '../src/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

class ListMachine {
  items: string[] = []
  restore(snapshot: Snapshot): void {
    this.items = decoder.decode(snapshot.data).split(',').filter((s) => s !== '')
  }
  apply(entry: Entry): void {
    if (entry.data.length > 0) this.items.push(decoder.decode(entry.data))
  }
}

function cluster(seed: number, ids: number[]): { runtime: VirtualRuntime; drivers: Map<number, RaftDriver>; machines: Map<number, ListMachine>; ticker: RaftTicker } {
  const runtime = new VirtualRuntime({ seed })
  const ticker = new RaftTicker(runtime, 10)
  const drivers = new Map<number, RaftDriver>()
  const machines = new Map<number, ListMachine>()
  const send = (messages: readonly Message[]): void => {
    for (const m of messages) runtime.timers.schedule(1, () => drivers.get(m.to)?.receive(m))
  }
  for (const id of ids) {
    const machine = new ListMachine()
    machines.set(id, machine)
    drivers.set(id, new RaftDriver({ id, runtime, storage: MemoryStorage.withVoters(ids), send, stateMachine: machine, ticker, raft: { electionTicks: 10, heartbeatTicks: 1 } }))
  }
  for (const d of drivers.values()) d.start()
  return { runtime, drivers, machines, ticker }
}

describe('RaftDriver', () => {
  it('elects a leader, applies proposals everywhere and serves linearizable read barriers', async () => {
    const { runtime, drivers, machines } = cluster(1, [1, 2, 3])
    const leaderOf = (): RaftDriver | undefined => [...drivers.values()].find((d) => d.status().softState.role === 'leader')
    expect(await runtime.runUntil(() => leaderOf() !== undefined, 5000), 'seed 1: a leader within 5 s').toBe(true)
    const leader = leaderOf() as RaftDriver
    const follower = [...drivers.values()].find((d) => d !== leader) as RaftDriver
    await expect(follower.propose(encoder.encode('x'))).rejects.toMatchObject({ name: 'DER_NOTLEADER' })
    const done = Promise.all(['a', 'b', 'c'].map((v) => leader.propose(encoder.encode(v))))
    await runtime.advance(100)
    const indexes = await done
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b))
    const read = follower.readIndex()
    await runtime.advance(100)
    expect(await read).toBeGreaterThanOrEqual(indexes[2] as number)
    await runtime.advance(100)
    for (const m of machines.values()) expect(m.items).toEqual(['a', 'b', 'c'])
    for (const d of drivers.values()) d.stop()
  })

  it('fails pending requests when stopped, and proposals time out when no quorum answers', async () => {
    const { runtime, drivers } = cluster(2, [1, 2, 3])
    await runtime.runUntil(() => [...drivers.values()].some((d) => d.status().softState.role === 'leader'), 5000)
    const leader = [...drivers.values()].find((d) => d.status().softState.role === 'leader') as RaftDriver
    for (const d of drivers.values()) if (d !== leader) d.stop()
    const p = leader.propose(encoder.encode('lonely'), 50).catch((e: unknown) => e)
    await runtime.advance(100)
    const error = await p
    expect(isDerError(error) && (error.name === 'DER_TIMEDOUT' || error.name === 'DER_NOTLEADER')).toBe(true)
    const q = leader.readIndex(10_000).catch((e: unknown) => e)
    leader.stop()
    const stopped = await q
    expect(isDerError(stopped) && (stopped.name === 'DER_SHUTDOWN' || stopped.name === 'DER_NOTLEADER')).toBe(true)
  })

  it('runs a thousand single-node groups from one ticker timer', async () => {
    const runtime = new VirtualRuntime({ seed: 3 })
    let repeating = 0
    const counted: Runtime = {
      clock: runtime.clock,
      random: runtime.random,
      timers: {
        ...runtime.timers,
        repeat: (periodMs, callback, options) => {
          repeating++
          return runtime.timers.repeat(periodMs, callback, options)
        },
      },
    }
    const ticker = new RaftTicker(counted, 10)
    const groups: RaftDriver[] = []
    for (let g = 0; g < 1000; g++) {
      const d = new RaftDriver({ id: 1, runtime: counted, storage: MemoryStorage.withVoters([1]), send: () => {}, stateMachine: new ListMachine(), ticker })
      d.start()
      groups.push(d)
    }
    expect(ticker.size).toBe(1000)
    expect(repeating).toBe(1)
    await runtime.advance(400)
    expect(groups.every((d) => d.status().softState.role === 'leader')).toBe(true)
    const applied = Promise.all(groups.map((d, i) => d.propose(encoder.encode(`g${i}`))))
    await runtime.advance(20)
    expect((await applied).length).toBe(1000)
    for (const d of groups) d.stop()
    expect(ticker.size).toBe(0)
  })
})
