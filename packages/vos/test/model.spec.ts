import fc from 'fast-check'
import { describe, it } from 'vitest'
import { runSequence, stepArb } from './model-runner.ts'

// X_SEED=<n> re-runs a failing seed (fast-check prints it, with the shrunk counterexample).
const seed = process.env.X_SEED === undefined ? undefined : Number(process.env.X_SEED)

describe('VOS against a naive model (differential)', () => {
  // ~130 sequences of 60..200 steps: about 17k steps.
  it('matches the model in memory over random update/punch/fetch/enumerate/aggregate/discard/snapshot sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb(false), { minLength: 60, maxLength: 200, size: 'max' }), (steps) => runSequence(steps, false)),
      { numRuns: 130, seed },
    )
  })

  // ~50 sequences of 40..150 steps: about 5k steps, through the WAL, checkpoints and the data blob.
  it('matches the model with a WAL, checkpoints, a data blob and reopens in between, and survives a final power cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb(true), { minLength: 40, maxLength: 150, size: 'max' }), (steps) => runSequence(steps, true)),
      { numRuns: 50, seed },
    )
  })
})
