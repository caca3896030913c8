// Found by the campaign: `pnpm sim --seed 10300 --ticks 300 --faults net`.
// Engine bug (packages/engine/src/object/service.ts, onDtxFinish() racing write() on a replica):
// the leader aborts an update (a replica timed out) and its abort reaches another replica while
// that replica is still applying the prepare (or, reordered, before it). onDtxFinish finds no
// prepared DTX, deletes the replica-side DTX record, and then the prepare lands: the write stays
// prepared with no record to resolve it (resolve() gives up without one). Every later read or
// write of that dkey on that replica fails with DER_INPROGRESS: after the heal the key is
// unavailable (liveness) and the replicas never converge (rank 0 holds it prepared, the leader
// aborted it).
// Fixed in the engine (object/service.ts: decisions that overtake a prepare are remembered and applied to it; the in-doubt entry is rebuilt from the DTX record in the VOS).
import { describe, expect, it } from 'vitest'
import { formatRun } from '../../src/sim/report.ts'
import { runSimulation } from '../../src/sim/run.ts'

describe('regression seed 10300 (faults net, ticks 300)', () => {
  it('every checker passes (was: an abort that overtakes the prepare strands the write)', async () => {
    const result = await runSimulation({ seed: 10300, faults: 'net', ticks: 300 })
    expect(result.ok, formatRun(result)).toBe(true)
  }, 120_000)
})
