import { VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type AuthorityOutput, CapsAuthority, CapsClient, type ClientOutput, FileMode, SessionOp } from '../src/index.ts'
import { runModel } from './support/model.ts'
import { Sim, modes } from './support/sim.ts'

/** T-42a / P8: a cached reader is partitioned past its lease while a writer waits for its caps. */
function partitionedReader(clientDriftPpm: number, driftBoundPpm: number): Sim {
  const sim = new Sim({
    seed: 42,
    authority: { sessionTimeoutMs: 10_000, sessionAutocloseMs: 60_000 },
    client: { sessionTimeoutMs: 10_000, renewIntervalMs: 2_500, clockDriftBoundPpm: driftBoundPpm },
    tickMs: 100,
    opTimeoutMs: 60_000,
  })
  sim.addClient('a', {}, clientDriftPpm)
  sim.addClient('b')
  sim.at(10, () => sim.open('a', 1, modes.r))
  sim.at(20, () => sim.startOp('a', 'read', 1))
  sim.at(3_000, () => sim.partition('a', 30_000))
  sim.at(4_000, () => sim.open('b', 1, modes.w))
  sim.at(4_000, () => sim.startOp('b', 'write', 1, 0, 10))
  // a keeps reading from its cache for as long as it trusts its caps.
  for (let t = 3_100; t < 20_000; t += 100) sim.at(t, () => sim.startOp('a', 'read', 1))
  sim.run(40_000)
  return sim
}

describe('leases under clock drift (P8)', () => {
  it('a slow client clock within the drift bound: the client stops trusting before the authority reuses', () => {
    for (const drift of [-900, 0, 900]) {
      const sim = partitionedReader(drift, 1000)
      expect(sim.violations, `drift ${drift} ppm`).toEqual([])
      expect(sim.ops.some((o) => o.client === 'b' && o.kind === 'write'), 'b eventually writes').toBe(true)
    }
  })

  it('the checker catches a client whose clock runs slower than the bound allows (the test can fail)', () => {
    const sim = partitionedReader(-200_000, 0)
    expect(sim.violations.join('\n')).toMatch(/conflicting caps|but the authority has it/)
  })

  it('randomized: 100 seeds with every client clock drifting up to ±900 ppm', () => {
    for (let seed = 5000; seed < 5100; seed++) {
      const sim = runModel(seed, { clients: 3, inodes: 1, durationMs: 30_000, crashes: true, partitions: true, driftPpm: 900, clientDriftBoundPpm: 1000 })
      expect(sim.violations, `seed ${seed}`).toEqual([])
    }
  })
})

/**
 * Binds a client and an authority to a VirtualRuntime the way an adapter does: ticks on timers,
 * time from `clock.monotonicMs()`, messages delivered after 1 ms.
 */
function runOnRuntime(jumps: (runtime: VirtualRuntime) => void): { staleAtMs: number | undefined; lapsedAtMs: number | undefined } {
  const runtime = new VirtualRuntime({ seed: 7 })
  const now = (): number => runtime.clock.monotonicMs()
  const mds = new CapsAuthority({ sessionTimeoutMs: 10_000, sessionAutocloseMs: 100_000 })
  const client = new CapsClient({ clientId: 'a', sessionTimeoutMs: 10_000, renewIntervalMs: 2_500 })
  let crashed = false
  let staleAtMs: number | undefined
  let lapsedAtMs: number | undefined
  const toClient = (outs: AuthorityOutput[]): void => {
    for (const o of outs) {
      if (o.kind !== 'send') continue
      if (o.message.kind === 'session' && o.message.op === SessionOp.STALE) staleAtMs ??= now()
      runtime.timers.schedule(1, () => {
        if (!crashed) toMds(client.step(now(), o.message))
      })
    }
  }
  const toMds = (outs: ClientOutput[]): void => {
    for (const o of outs) if (o.kind === 'send') runtime.timers.schedule(1, () => toClient(mds.step(now(), o.message)))
  }
  runtime.timers.repeat(100, () => toClient(mds.tick(now())))
  runtime.timers.repeat(100, () => {
    if (crashed) return
    toMds(client.tick(now()))
    if (lapsedAtMs === undefined && !client.sessionValid(now(), 0)) lapsedAtMs = now()
  })
  toMds(client.openSession(now(), 0))
  runtime.advanceSync(5)
  toMds(client.open(now(), 1, FileMode.RD))
  jumps(runtime)
  runtime.advanceSync(60_000 - runtime.nowMs)
  expect(client.sessionValid(now(), 0), 'renewing client never lapses').toBe(true)
  crashed = true // the client stops; its lease must end on the monotonic clock only
  runtime.advanceSync(20_000)
  return { staleAtMs, lapsedAtMs }
}

describe('leases under wall-clock jumps and drift (monotonic time)', () => {
  it('stepping the wall clock back and forth and changing its rate changes nothing', () => {
    const reference = runOnRuntime((rt) => rt.advanceSync(1))
    const jumped = runOnRuntime((rt) => {
      rt.advanceSync(1)
      rt.clock.stepRealtime(-86_400_000) // a day back (NTP step)
      rt.clock.setDriftPpm(500_000)
      rt.advanceSync(20_000)
      rt.clock.stepRealtime(+7 * 86_400_000)
      rt.clock.setDriftPpm(-300_000)
    })
    expect(reference.staleAtMs).toBeDefined()
    expect(jumped).toEqual(reference)
    expect(reference.lapsedAtMs).toBeUndefined()
  })

  it('why not the wall clock: a core refuses time that goes backwards, and a forward step would expire every lease at once', () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const mds = new CapsAuthority({ sessionTimeoutMs: 10_000 })
    mds.step(runtime.clock.realtimeMs(), { kind: 'session', op: SessionOp.REQUEST_OPEN, authority: 0, clientId: 'a', seq: 0 })
    runtime.clock.stepRealtime(-5_000)
    expect(() => mds.tick(runtime.clock.realtimeMs())).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    runtime.clock.stepRealtime(3_600_000)
    const out = mds.tick(runtime.clock.realtimeMs())
    expect(out.some((o) => o.kind === 'send' && o.message.kind === 'session' && o.message.op === SessionOp.STALE)).toBe(true)
  })
})
