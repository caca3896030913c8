import { describe, it } from 'vitest'
import { ciSeeds, expectSeedPasses } from '../support/ci-seeds.ts'

describe('simulator CI seeds, faults: all', () => {
  for (const seed of ciSeeds.all) {
    it(`seed ${seed}: every checker passes (replay: pnpm sim --seed ${seed} --faults all --ticks 300)`, async () => {
      await expectSeedPasses(seed, 'all')
    }, 120_000)
  }
})
