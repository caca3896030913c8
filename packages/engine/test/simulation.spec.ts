// Seeded simulations of the management service (3 replicas) and a pool service (5 replicas) under
// drops, delays, partitions and crash-restarts: identical final states, every acknowledged
// command applied exactly once, leadership changes survived.
import { describe, expect, it } from 'vitest'
import { ManagementMachine, type MgmtCommand, type PoolCommand, PoolServiceMachine, type ServiceMachine, encodeMgmtCommand, encodePoolCommand } from '../src/index.ts'
import { uuidOf } from './support/machines.ts'
import { type ClientAnswer, ServiceSim } from './support/sim.ts'

/** Random faults every `periodMs` while `running()`: crash / restart / isolate / heal. */
function chaos<M extends ServiceMachine>(sim: ServiceSim<M>, periodMs: number, running: () => boolean, keepDown: number[] = []): void {
  const n = sim.replicas.size
  const maxDown = Math.floor((n - 1) / 2)
  let first = true
  const step = (): void => {
    if (!running()) return
    // The first fault is always a leader crash, so every run sees a leadership change.
    const roll = first ? 0 : sim.rng.int(6)
    first = false
    const down = [...sim.replicas.values()].filter((r) => r.service === undefined && !keepDown.includes(r.id)).map((r) => r.id)
    const downCount = [...sim.replicas.values()].filter((r) => r.service === undefined).length
    if (roll === 0 && downCount < maxDown) {
      const victim = sim.leader()?.id ?? 1 + sim.rng.int(n)
      sim.crash(victim)
    } else if (roll === 1 && downCount < maxDown) {
      sim.crash(1 + sim.rng.int(n))
    } else if (roll === 2 && down.length > 0) {
      sim.restart(sim.rng.pick(down))
    } else if (roll === 3) {
      const isolated = sim.leader()?.id ?? 1 + sim.rng.int(n)
      sim.partition([[isolated], [...sim.replicas.keys()].filter((id) => id !== isolated)])
    } else {
      sim.heal()
    }
    sim.runtime.timers.schedule(periodMs, step)
  }
  sim.runtime.timers.schedule(15, step)
}

interface Acked {
  readonly client: string
  readonly seq: number
  readonly answer: ClientAnswer
}

async function runClients<M extends ServiceMachine>(sim: ServiceSim<M>, clients: number, ops: number, command: (client: number, seq: number) => Uint8Array, acked: Acked[], keepDown: number[] = []): Promise<boolean> {
  let finished = 0
  const tasks: Promise<void>[] = []
  for (let c = 1; c <= clients; c++) {
    tasks.push(
      (async () => {
        for (let seq = 1; seq <= ops; seq++) {
          const answer = await sim.call(`client-${c}`, seq, command(c, seq))
          acked.push({ client: `client-${c}`, seq, answer })
          if (!answer.ok && answer.error.name === 'DER_TIMEDOUT') break
        }
        finished++
      })(),
    )
  }
  chaos(sim, 40, () => finished < clients, keepDown)
  const ok = await sim.runtime.runUntil(() => finished === clients, 120_000)
  await Promise.all(tasks)
  return ok
}

async function checkConverged<M extends ServiceMachine>(sim: ServiceSim<M>, seed: number): Promise<Map<number, string>> {
  const settled = await sim.settle()
  expect(settled, `seed ${seed}: replicas did not converge: ${sim.describe()}`).toBe(true)
  const states = sim.states()
  expect(states.size, `seed ${seed}`).toBe(sim.replicas.size)
  const distinct = new Set(states.values())
  expect(distinct.size, `seed ${seed}: replicas hold ${distinct.size} different states`).toBe(1)
  return states
}

async function setup<M extends ServiceMachine>(sim: ServiceSim<M>, commands: Uint8Array[], seed: number): Promise<void> {
  const run = (async () => {
    for (let i = 0; i < commands.length; i++) {
      const a = await sim.call('setup', i + 1, commands[i] as Uint8Array)
      expect(a.ok, `seed ${seed}: setup command ${i} failed: ${a.ok ? '' : a.error.toString()}`).toBe(true)
    }
  })()
  await sim.runtime.settle(run, 30_000)
}

// ENGINE_SIM_SEEDS=N adds N more seeds to each simulation (for soak runs outside CI).
const extraSeeds = Number(process.env['ENGINE_SIM_SEEDS'] ?? 0)
const more = (base: number): number[] => Array.from({ length: extraSeeds }, (_, i) => base + i)
const mgmtSeeds = [11, 12, 13, 14, 15, 16, 17, 18, ...more(Number(process.env["ENGINE_SIM_BASE"] ?? 1000))]
// 6123 and 6277: a new leader whose applied state lags its log must not refuse a command that an
// acknowledged earlier write made valid (leader-side validation re-checks after a read-index).
const poolSeeds = [21, 22, 23, 24, 25, 26, 6123, 6277, ...more(Number(process.env["ENGINE_SIM_BASE"] ?? 1000) + 4000)]

describe('management service simulation (3 replicas)', () => {
  for (const seed of mgmtSeeds) {
    it(`seed ${seed}: converges, applies every acknowledged pool create exactly once`, async () => {
      const sim = new ServiceSim({ seed, replicas: 3, makeMachine: () => new ManagementMachine(), snapshotEveryEntries: 15 })
      const joins: MgmtCommand[] = [1, 2, 3].map((n) => ({ op: 'join', uuid: uuidOf(n), addr: `10.0.0.${n}:10001`, fabricUri: `tcp://10.0.0.${n}:1`, faultDomain: `/h${n}`, incarnation: 1 }))
      await setup(sim, joins.map(encodeMgmtCommand), seed)
      const acked: Acked[] = []
      const label = (c: number, s: number): string => `pool-${c}-${s}`
      // Clients 1-3 create pools; client 4 cycles rank 2 through stop, start, exclude and rejoin.
      const command = (c: number, s: number): Uint8Array => {
        if (c <= 3) return encodeMgmtCommand({ op: 'poolCreate', uuid: uuidOf(c * 1000 + s, 'b'), label: label(c, s), sizeBytes: 1 << 30, svcRanks: [0], tgtRanks: [0, 1] })
        if (s % 4 === 1) return encodeMgmtCommand({ op: 'stop', ranks: [2] })
        if (s % 4 === 2) return encodeMgmtCommand({ op: 'start', ranks: [2] })
        if (s % 4 === 3) return encodeMgmtCommand({ op: 'exclude', ranks: [2] })
        return encodeMgmtCommand({ ...(joins[2] as Extract<MgmtCommand, { op: 'join' }>), incarnation: 1 + s / 4 })
      }
      const finished = await runClients(sim, 4, 12, command, acked)
      expect(finished, `seed ${seed}: clients did not finish`).toBe(true)
      const states = await checkConverged(sim, seed)
      for (const a of acked) expect(a.answer.ok, `seed ${seed}: ${a.client}#${a.seq} answered ${a.answer.ok ? 'ok' : a.answer.error.toString()}`).toBe(true)
      expect(acked.length).toBe(48)
      const leader = sim.leader()?.machine as ManagementMachine
      expect(leader.systemQuery([2])[0], `seed ${seed}`).toMatchObject({ state: 'joined', incarnation: 4 })
      const labels = new Set(leader.poolList().map((p) => p.label))
      for (const a of acked.filter((x) => x.client !== 'client-4')) expect(labels.has(label(Number(a.client.split('-')[1]), a.seq)), `seed ${seed}: ${a.client}#${a.seq} missing`).toBe(true)
      expect(labels.size, `seed ${seed}: pools created that no client asked for`).toBe(36)
      expect(sim.leaderChanges + sim.crashes, `seed ${seed}: no fault happened`).toBeGreaterThan(1)
      expect(states.size).toBe(3)
      sim.stopAll()
    })
  }
})

describe('pool service simulation (5 replicas)', () => {
  for (const seed of poolSeeds) {
    it(`seed ${seed}: converges with containers, attributes and snapshots applied exactly once`, async () => {
      const pool = uuidOf(1, 'c')
      const handle = uuidOf(1, 'd')
      const sim = new ServiceSim({ seed, replicas: 5, makeMachine: () => new PoolServiceMachine(pool), snapshotEveryEntries: 12 })
      const init: PoolCommand[] = [
        { op: 'init', props: { label: 'tank' }, acl: [] },
        { op: 'connect', handle, caps: 'rw' },
      ]
      await setup(sim, init.map(encodePoolCommand), seed)
      const acked: Acked[] = []
      const cont = (c: number): string => uuidOf(c, 'e')
      const command = (c: number, s: number): Uint8Array => {
        if (s === 1) return encodePoolCommand({ op: 'contCreate', handle, uuid: cont(c), props: { label: `cont-${c}` } })
        if (s % 2 === 0) return encodePoolCommand({ op: 'snapCreate', cont: cont(c), epoch: BigInt(s) })
        return encodePoolCommand({ op: 'contSetAttrs', cont: `cont-${c}`, attrs: { [`a${s}`]: new Uint8Array([s]) } })
      }
      // Replica 5 is cut off (and crashed) for the whole run: it must catch up from a snapshot.
      const lagging = sim.leader()?.id === 5 ? 4 : 5
      sim.crash(lagging)
      const lagRestored = (): number => sim.replicas.get(lagging)?.service?.snapshotsRestored ?? 0
      const finished = await runClients(sim, 3, 10, command, acked, [lagging])
      expect(finished, `seed ${seed}: clients did not finish`).toBe(true)
      await checkConverged(sim, seed)
      expect(lagRestored(), `seed ${seed}: replica ${lagging} did not restore a snapshot`).toBeGreaterThan(0)
      for (const a of acked) expect(a.answer.ok, `seed ${seed}: ${a.client}#${a.seq} answered ${a.answer.ok ? 'ok' : a.answer.error.toString()}`).toBe(true)
      const m = sim.leader()?.machine as PoolServiceMachine
      for (let c = 1; c <= 3; c++) {
        expect(m.listSnapshots(cont(c)), `seed ${seed}`).toEqual([2n, 4n, 6n, 8n, 10n])
        expect(m.listAttrs(cont(c)), `seed ${seed}`).toEqual(['a3', 'a5', 'a7', 'a9'])
      }
      const restored = [...sim.replicas.values()].reduce((n, r) => n + (r.service?.snapshotsRestored ?? 0), 0)
      const taken = [...sim.replicas.values()].reduce((n, r) => n + (r.service?.snapshotsTaken ?? 0), 0)
      expect(taken, `seed ${seed}: no snapshot taken`).toBeGreaterThan(0)
      expect(restored, `seed ${seed}`).toBeGreaterThan(0)
      expect(sim.leaderChanges + sim.crashes, `seed ${seed}: no fault happened`).toBeGreaterThan(2)
      sim.stopAll()
    })
  }
})
