import { describe, it } from 'vitest'
import { ciSeeds, expectSeedPasses } from '../support/ci-seeds.ts'

describe('simulator CI seeds, faults: net', () => {
  for (const seed of ciSeeds.net) {
    it(`seed ${seed}: every checker passes (replay: pnpm sim --seed ${seed} --faults net --ticks 300)`, async () => {
      await expectSeedPasses(seed, 'net')
    }, 120_000)
  }
})
