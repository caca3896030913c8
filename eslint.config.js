// The repository's one flat config. Type-aware rules run on every TypeScript file through the
// project service (each file is checked with the tsconfig.json of its package). The
// architecture blocks (layer graph, banned ambient APIs) come from tools/eslint-plugin, whose
// tests prove each rule fires.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import { architectureConfigs } from './tools/eslint-plugin/src/index.js'

const repoRoot = import.meta.dirname

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/docs/api/**', 'packages/*/docs/**', 'apps/*/docs/**', 'tools/*/docs/**', '**/.turbo/**', '**/.vitest-results/**', '**/coverage/**', 'bench-results/**'],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: repoRoot },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allow: [{ from: 'lib', name: ['bigint', 'Error', 'URL', 'URLSearchParams'] }] }],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Plain JavaScript (tool scripts, configs) is linted without type information.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // vitest's asymmetric matchers (expect.objectContaining, expect.any) are typed `any`.
    files: ['**/test/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // Command-line entry points, benchmarks and tool scripts talk to the terminal.
    files: ['apps/cli/**', 'apps/daemon/src/main.ts', '**/bench/**', 'tools/**'],
    rules: { 'no-console': 'off' },
  },
  ...architectureConfigs(repoRoot),
)
