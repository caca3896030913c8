/** Turns crushtool `--test` arguments (as used for the golden runs) into {@link CrushTestOptions}. */
import type { CrushTestOptions } from '../../src/index.ts'

/** Parses the subset of crushtool's test flags that the golden runs use. */
export function testOptionsFromArgs(args: readonly string[]): CrushTestOptions {
  const o: CrushTestOptions = {}
  const weights = new Map<number, number>()
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const next = (): number => Number(args[++i])
    switch (a) {
      case '--min-x':
        o.minX = next()
        break
      case '--max-x':
        o.maxX = next()
        break
      case '--rule':
        o.rule = next()
        break
      case '--num-rep':
        o.numRep = next()
        break
      case '--weight': {
        const d = next()
        weights.set(d, next())
        break
      }
      case '--show-mappings':
        o.showMappings = true
        break
      case '--show-statistics':
        o.showStatistics = true
        break
      case '--show-bad-mappings':
        o.showBadMappings = true
        break
      case '--show-utilization':
        o.showUtilization = true
        break
      case '--show-utilization-all':
        o.showUtilizationAll = true
        break
      case '--show-choose-tries':
        o.showChooseTries = true
        break
      default:
        throw new Error(`unsupported golden argument ${String(a)}`)
    }
  }
  if (weights.size > 0) o.deviceWeights = weights
  return o
}
