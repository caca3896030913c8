/** Re-runs one model-check seed with a trace: `npx tsx --conditions=@x/source test/support/debug-seed.ts SEED CLIENTS INODES [grep]`. */
import { runModelTraced } from './model-traced.ts'

const [seed = '1', clients = '2', inodes = '1', pattern = ''] = process.argv.slice(2)
const healthy = process.env.HEALTHY === '1'
const sim = runModelTraced(Number(seed), { clients: Number(clients), inodes: Number(inodes), durationMs: 40_000, crashes: !healthy, partitions: !healthy, healthy })
const lines = sim.trace.filter((l) => pattern === '' || new RegExp(pattern).test(l))
console.warn(lines.join('\n'))
console.warn(sim.violations)
