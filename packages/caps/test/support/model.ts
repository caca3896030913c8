/** The randomized workload of the model check: one seed, one simulated run. */
import { Random } from '@x/common'
import { Sim, modes } from './sim.ts'

/** Knobs of one model-check run. */
export interface ModelOptions {
  readonly clients: number
  readonly inodes: number
  readonly durationMs: number
  readonly crashes: boolean
  readonly partitions: boolean
  readonly driftPpm?: number
  readonly clientDriftBoundPpm?: number
  /** No faults at all: no partitions, crashes, evictions, non-responders or stalled writebacks. */
  readonly healthy?: boolean
}

/** Runs one seeded workload and returns the simulation for inspection. */
export function runModel(seed: number, options: ModelOptions, trace = false): Sim {
  const random = new Random(seed * 7919 + 17)
  const sim = new Sim({
    seed,
    authority: { sessionTimeoutMs: 10_000, sessionAutocloseMs: 30_000, revokeWarningMs: 4_000, revokeEvictionTimeoutMs: 8_000 },
    client: { sessionTimeoutMs: 10_000, renewIntervalMs: 2_500, clockDriftBoundPpm: options.clientDriftBoundPpm ?? 1000 },
    latencyMs: { min: 1, max: 30 },
    storeLatencyMs: { min: 1, max: options.healthy !== true && random.chance(0.3) ? 12_000 : 20 },
    tickMs: 500,
    opTimeoutMs: 6_000,
    trace,
  })
  const ids = Array.from({ length: options.clients }, (_, i) => String.fromCharCode(97 + i))
  const nonResponder = options.healthy !== true && random.chance(0.3) ? ids[ids.length - 1] : undefined
  for (const id of ids) {
    const drift = options.driftPpm === undefined ? 0 : random.intBetween(-options.driftPpm, options.driftPpm)
    sim.addClient(id, { injectReleaseFailure: id === nonResponder }, drift)
  }
  const inos = Array.from({ length: options.inodes }, (_, i) => 0x10000000000 + i)
  const crashed = new Set<string>()
  let t = 50
  while (t < options.durationMs) {
    t += random.intBetween(5, 400)
    const id = random.pick(ids)
    const ino = random.pick(inos)
    const roll = random.int(100)
    const at = t
    sim.at(at, () => {
      if (crashed.has(id)) return
      const c = sim.client(id)
      const open = c.opens.get(ino) ?? []
      if (roll < 14) {
        sim.open(id, ino, random.pick([modes.r, modes.w, modes.rw, modes.r]))
      } else if (roll < 24) {
        const m = open[0]
        if (m !== undefined) sim.close(id, ino, m)
      } else if (roll < 46) {
        if (open.some((m) => (m & 1) !== 0)) sim.startOp(id, 'read', ino, 0, 0, random.chance(0.2) ? random.intBetween(10, 3000) : 0)
      } else if (roll < 70) {
        if (open.some((m) => (m & 2) !== 0)) {
          const offset = random.pick([0, 4096, 1 << 20, 6 << 20, 9 << 20])
          sim.startOp(id, 'write', ino, offset, random.pick([512, 4096, 1 << 20]))
        }
      } else if (roll < 78) {
        if (open.length > 0) sim.startOp(id, 'stat', ino)
      } else if (roll < 83) {
        if (open.some((m) => (m & 2) !== 0)) sim.startOp(id, 'chmod', ino)
      } else if (roll < 88) {
        if (open.length > 0) sim.startOp(id, 'getmode', ino)
      } else if (roll < 95) {
        if (options.partitions && random.chance(0.3)) sim.partition(id, random.pick([300, 2_000, 9_000, 15_000]))
        else if (options.healthy !== true && random.chance(0.05)) sim.evict(id)
      } else if (options.crashes && random.chance(0.15) && crashed.size < ids.length - 1) {
        crashed.add(id)
        sim.crash(id)
      }
    })
  }
  sim.run(options.durationMs + 40_000)
  return sim
}
