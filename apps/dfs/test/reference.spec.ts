// The namespace against a reference: the same generated operation sequences on DFS (two caps
// clients taking turns) and on a local temporary directory, compared result by result.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as nodePath from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { type Op, opArb, runDfs, runLocal } from './support/model.ts'
import { startCluster } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 20261121)

describe('namespace vs a local directory', () => {
  const root = mkdtempSync(nodePath.join(tmpdir(), 'dfs-ref-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('generated sequences give the same results and errors (two clients taking turns)', async () => {
    const c = await startCluster({ seed })
    const a = await c.mount({ clientId: 'ref-a' })
    const b = await c.mount({ clientId: 'ref-b' })
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), opArb), { minLength: 1, maxLength: 30 }), async (steps: [number, Op][]) => {
        run++
        const base = `/run-${run}`
        const local = nodePath.join(root, `run-${run}`)
        await c.settle(a.mkdir(base))
        await runLocal(root, { op: 'mkdir', path: `run-${run}`, mode: 0o755 })
        for (const [i, [who, op]] of steps.entries()) {
          const expected = await runLocal(local, op)
          const got = await c.settle(runDfs(who === 0 ? a : b, base, op))
          expect(got, `seed ${seed} run ${run} step ${i} client ${who}: ${JSON.stringify(op)}\nall: ${JSON.stringify(steps)}`).toEqual(expected)
        }
      }),
      { seed, numRuns: 40, endOnFailure: true },
    )
    await c.settle(a.unmount())
    await c.settle(b.unmount())
    c.stop()
  }, 120_000)
})
