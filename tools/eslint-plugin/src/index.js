// @x/eslint-plugin: the repository's own lint rules and the config blocks that apply them.
import { bannedGlobals, bannedProperties, bannedSyntax } from './banned-apis.js'
import { layerImportsRule } from './layer-imports-rule.js'

export { layerGraph, appPackages } from './layer-graph.js'
export { bannedGlobals, bannedProperties, bannedSyntax } from './banned-apis.js'

export const plugin = {
  meta: { name: '@x/eslint-plugin' },
  rules: { 'layer-imports': layerImportsRule },
}

/** Files exempt from the banned-API rules: the real runtime of @x/common wraps the platform. */
export const runtimeModuleFiles = ['packages/common/src/runtime/real-runtime.ts']

/**
 * The architecture blocks of the flat config: the layer graph everywhere, and the ambient
 * time/timer/randomness ban in every package but @x/common's real runtime module.
 *
 * @param {string} repoRoot absolute path of the repository root
 * @returns {import('eslint').Linter.Config[]}
 */
export function architectureConfigs(repoRoot) {
  return [
    {
      files: ['packages/**/*.{ts,tsx,js,mjs}', 'apps/**/*.{ts,tsx,js,mjs}', 'tools/**/*.{ts,tsx,js,mjs}'],
      plugins: { x: plugin },
      rules: { 'x/layer-imports': ['error', { repoRoot }] },
    },
    {
      files: ['packages/**/*.{ts,tsx,js,mjs}'],
      ignores: runtimeModuleFiles,
      rules: {
        'no-restricted-globals': ['error', ...bannedGlobals],
        'no-restricted-properties': ['error', ...bannedProperties],
        'no-restricted-syntax': ['error', ...bannedSyntax],
      },
    },
  ]
}
