// Each architecture rule of eslint.config.js fires on a violating file, and stays quiet on a
// conforming one. The files are linted as if they lived at the given paths of the repository.
import { ESLint } from 'eslint'
import { join } from 'node:path'
import tseslint from 'typescript-eslint'
import { describe, expect, it } from 'vitest'
import { architectureConfigs, bannedGlobals, bannedProperties } from '../src/index.js'

const repoRoot = join(import.meta.dirname, '..', '..', '..')

const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ...architectureConfigs(repoRoot),
  ],
})

async function lint(path: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, path) })
  return (result?.messages ?? []).map(({ ruleId, message }) => ({ ruleId, message }))
}

describe('layer graph (x/layer-imports)', () => {
  it('refuses a package importing an app by name', async () => {
    const messages = await lint('packages/crush/src/probe.ts', "import { x } from '@x/client'\nexport { x }\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('Packages never import apps') })])
  })

  it('refuses a package importing an app by relative path', async () => {
    const messages = await lint('packages/vos/src/probe.ts', "import { x } from '../../../apps/daemon/src/main.ts'\nexport { x }\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('Packages never import apps') })])
  })

  it("refuses a deep import into another package's src", async () => {
    const messages = await lint('packages/vos/src/probe.ts', "import { x } from '@x/spdk-io/src/device.ts'\nexport { x }\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('Deep import') })])
  })

  it('refuses a relative import that leaves the package', async () => {
    const messages = await lint('packages/vos/src/probe.ts', "import { x } from '../../spdk-io/src/device.ts'\nexport { x }\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('leaves this package') })])
  })

  it('refuses an upward import between layers', async () => {
    const messages = await lint('packages/crush/src/probe.ts', "import { x } from '@x/cart'\nexport { x }\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('@x/crush may not import @x/cart') })])
  })

  it('refuses an upward import from an app-free package in a re-export', async () => {
    const messages = await lint('packages/raft/src/probe.ts', "export * from '@x/engine'\n")
    expect(messages).toEqual([expect.objectContaining({ ruleId: 'x/layer-imports', message: expect.stringContaining('@x/raft may not import @x/engine') })])
  })

  it('accepts imports the graph allows', async () => {
    expect(await lint('packages/vos/src/probe.ts', "import { a } from '@x/spdk-io'\nimport { b } from '@x/common'\nimport { c } from './c.ts'\nexport { a, b, c }\n")).toEqual([])
    expect(await lint('apps/cli/src/probe.ts', "import { a } from '@x/crush'\nimport { b } from '@x/client'\nexport { a, b }\n")).toEqual([])
    expect(await lint('packages/crush/test/probe.spec.ts', "import { a } from '@x/bench'\nimport { b } from '../src/index.ts'\nexport { a, b }\n")).toEqual([])
  })
})

describe('banned ambient APIs', () => {
  for (const { name } of bannedGlobals) {
    it(`refuses ${name} in a package and names the Runtime replacement`, async () => {
      const messages = await lint('packages/raft/src/probe.ts', `export const h = ${name}(() => undefined, 1)\n`)
      expect(messages).toEqual([expect.objectContaining({ ruleId: 'no-restricted-globals', message: expect.stringContaining('runtime.timers') })])
    })
  }

  for (const { object, property } of bannedProperties) {
    it(`refuses ${object}.${property} in a package and names the Runtime replacement`, async () => {
      const messages = await lint('packages/swim/test/probe.spec.ts', `export const v = ${object}.${property}\n`)
      expect(messages).toEqual([expect.objectContaining({ ruleId: 'no-restricted-properties', message: expect.stringContaining('Runtime') })])
    })
  }

  it('refuses new Date() and node:timers', async () => {
    const messages = await lint('packages/caps/src/probe.ts', "import { setTimeout as t } from 'node:timers'\nexport const d = new Date()\nexport { t }\n")
    expect(messages.map((m) => m.ruleId)).toEqual(['no-restricted-syntax', 'no-restricted-syntax'])
  })

  it("allows them in @x/common's real runtime module and in apps", async () => {
    const code = 'export const now = Date.now()\nexport const h = setTimeout(() => undefined, 1)\nexport const r = Math.random()\n'
    expect(await lint('packages/common/src/runtime/real-runtime.ts', code)).toEqual([])
    expect(await lint('apps/daemon/src/probe.ts', code)).toEqual([])
  })
})
