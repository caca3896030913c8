import { describe, it } from 'vitest'
import { ciSeeds, expectSeedPasses } from '../support/ci-seeds.ts'

describe('simulator CI seeds, faults: disk', () => {
  for (const seed of ciSeeds.disk) {
    it(`seed ${seed}: every checker passes (replay: pnpm sim --seed ${seed} --faults disk --ticks 300)`, async () => {
      await expectSeedPasses(seed, 'disk')
    }, 120_000)
  }
})
