// The mutation check: with one safety rule broken on purpose (an engine acknowledges an update
// before its replicas hold it), the checkers must flag a violation within the CI seeds.
import { describe, expect, it } from 'vitest'
import { formatRun } from '../../src/sim/report.ts'
import { runSimulation } from '../../src/sim/run.ts'
import { ciSeeds, ciTicks } from '../support/ci-seeds.ts'

describe('mutation check: acknowledging before the replicas are durable', () => {
  it('is caught by the safety checkers within the CI seeds of the net profile', async () => {
    const tried: number[] = []
    for (const seed of ciSeeds.net) {
      tried.push(seed)
      const result = await runSimulation({ seed, faults: 'net', ticks: ciTicks, mutation: 'ack-before-replicated' })
      const safety = result.verdicts.filter((v) => (v.name === 'linearizability' || v.name === 'lost-writes') && v.verdict === 'fail')
      if (safety.length > 0) {
        expect(result.ok, formatRun(result)).toBe(false)
        expect(result.replay).toContain('--mutation ack-before-replicated')
        return
      }
    }
    expect.fail(`the broken rule went unnoticed on seeds ${tried.join(', ')}`)
  }, 300_000)
})
