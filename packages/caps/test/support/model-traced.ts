import { type ModelOptions, runModel } from './model.ts'
import type { Sim } from './sim.ts'

/** {@link runModel} with the trace on. */
export function runModelTraced(seed: number, options: ModelOptions): Sim {
  return runModel(seed, options, true)
}
