#!/usr/bin/env node
// The README's commands. `npm test` and `npm start` land here:
//   test  - install if needed, run every package's tests through turbo, then print one summary
//           line, `N passed, N failed`, summed from each package's vitest JSON report.
//   start - install if needed, build, and start the embedded one-node system.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { ensureInstalled, repoRoot } from './bootstrap.mjs'

const workspaceDirs = ['packages', 'apps', 'tools']
  .map((dir) => join(repoRoot, dir))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)))
  .filter((dir) => existsSync(join(dir, 'package.json')))

function withLocalBin() {
  const bin = join(repoRoot, 'node_modules', '.bin')
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` }
}

function turbo(args) {
  const result = spawnSync(join(repoRoot, 'node_modules', '.bin', 'turbo'), args, {
    cwd: repoRoot,
    stdio: 'inherit',
    env: withLocalBin(),
  })
  return result.status ?? 1
}

// Every package's report is counted: turbo restores a cached package's report together with its
// cached log, and `--continue` makes every package run, so each report belongs to this run.
function summarizeVitestReports() {
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const dir of workspaceDirs) {
    const report = join(dir, '.vitest-results', 'results.json')
    if (!existsSync(report)) continue
    const json = JSON.parse(readFileSync(report, 'utf8'))
    passed += json.numPassedTests ?? 0
    failed += (json.numFailedTests ?? 0) + (json.numFailedTestSuites ?? 0)
    skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0)
  }
  return { passed, failed, skipped }
}

const [command = 'test', ...rest] = process.argv.slice(2)
ensureInstalled()

if (command === 'test') {
  const status = turbo(['run', 'test', '--concurrency=2', '--continue', '--output-logs=full', ...rest])
  const { passed, failed, skipped } = summarizeVitestReports()
  console.log('')
  console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exit(status !== 0 ? status : failed > 0 ? 1 : 0)
} else if (command === 'start') {
  const daemon = join(repoRoot, 'apps', 'daemon', 'package.json')
  const daemonScripts = existsSync(daemon) ? (JSON.parse(readFileSync(daemon, 'utf8')).scripts ?? {}) : {}
  if (daemonScripts.start === undefined) {
    console.error('npm start: the daemon cannot start the system yet (apps/daemon has no start script); see docs/architecture.md')
    process.exit(2)
  }
  const status = turbo(['run', 'build', '--filter=@x/daemon...'])
  if (status !== 0) process.exit(status)
  const result = spawnSync(join(repoRoot, 'node_modules', '.bin', 'pnpm'), ['--filter', '@x/daemon', 'start', ...rest], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: withLocalBin(),
  })
  process.exit(result.status ?? 1)
} else {
  console.error(`run.mjs: unknown command '${command}' (expected test or start)`)
  process.exit(2)
}
