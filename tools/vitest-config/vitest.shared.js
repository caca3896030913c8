/**
 * The one vitest configuration every package uses (its own `vitest.config.ts` re-exports it from `@x/vitest-config`).
 *
 * Tests run against `src` through the `@x/source` export condition, so no package needs a build
 * before its tests. Each run also writes a JSON report that `tools/scripts/run.mjs` sums into the
 * closing `N passed, N failed` line.
 */
import { defineConfig } from 'vitest/config'

const sourceConditions = ['@x/source', 'import', 'module', 'node', 'default']

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ['@x/source'] } },
  test: {
    include: ['test/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-results/results.json' }]],
    pool: 'forks',
  },
})
