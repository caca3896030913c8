// The simulator seeds CI runs, by fault profile, and the assertion every seed must pass. Each
// spec file runs one profile's seeds, so vitest spreads the files over the cores.
import { expect } from 'vitest'
import type { FaultProfile } from '../../src/sim/config.ts'
import { formatRun } from '../../src/sim/report.ts'
import { type SimResult, runSimulation } from '../../src/sim/run.ts'

/** Safety-phase length of CI runs (x 10 ms), short to keep CI bounded. */
export const ciTicks = 300

/**
 * The CI seeds of each profile (13 each, 52 in all, every one with faults on): the first seeds of
 * each profile's range in the 2,000-seed campaign (all of them passed there).
 */
export const ciSeeds: Readonly<Record<Exclude<FaultProfile, 'none'>, readonly number[]>> = {
  net: [10000, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008, 10009, 10010, 10011, 10012],
  disk: [20000, 20001, 20002, 20003, 20004, 20005, 20006, 20007, 20008, 20009, 20010, 20011, 20012],
  crash: [30000, 30001, 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30009, 30010, 30011, 30012],
  all: [40000, 40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008, 40009, 40010, 40011, 40012],
}

/** Runs one CI seed and asserts every checker passed; the message is the whole run report. */
export async function expectSeedPasses(seed: number, faults: FaultProfile): Promise<SimResult> {
  const result = await runSimulation({ seed, faults, ticks: ciTicks })
  expect(result.ok, formatRun(result)).toBe(true)
  expect(result.history.length, `seed ${seed}: the workload ran`).toBeGreaterThan(20)
  return result
}
