// Found by the campaign: `pnpm sim --seed 10140 --ticks 300 --faults net`.
// Engine bug (packages/engine/src/object/service.ts, resolve()): client c3 reads k0 from a
// replica that holds an update prepared and is cut off from the group's leader (partition
// [2,3] | [0,1]). The replica asks the other participants; none answers, so no answer says
// committed, aborted or unknown, and the fallback decides "commit" ("prepared on every reachable
// participant" holds vacuously). The read returns "c0.0". The leader meanwhile aborts the update
// (its replica timed out), and c3's next read returns null: a linearizability violation (a value
// read, then gone, with no delete in between). The fallback must commit only when every other
// participant answered prepared, committable or committed, and leave the DTX pending otherwise.
// Fixed in the engine: a replica commits a DTX in doubt only when every participant the pool map still counts as available answered (a silent leader blocks it until its exclusion, as in DAOS).
import { describe, expect, it } from 'vitest'
import { formatRun } from '../../src/sim/report.ts'
import { runSimulation } from '../../src/sim/run.ts'

describe('regression seed 10140 (faults net, ticks 300)', () => {
  it('every checker passes (was: a read commits an update its leader aborts)', async () => {
    const result = await runSimulation({ seed: 10140, faults: 'net', ticks: 300 })
    expect(result.ok, formatRun(result)).toBe(true)
  }, 120_000)
})
