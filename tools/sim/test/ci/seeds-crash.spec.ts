import { describe, it } from 'vitest'
import { ciSeeds, expectSeedPasses } from '../support/ci-seeds.ts'

describe('simulator CI seeds, faults: crash', () => {
  for (const seed of ciSeeds.crash) {
    it(`seed ${seed}: every checker passes (replay: pnpm sim --seed ${seed} --faults crash --ticks 300)`, async () => {
      await expectSeedPasses(seed, 'crash')
    }, 120_000)
  }
})
