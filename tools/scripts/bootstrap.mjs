#!/usr/bin/env node
// Makes sure the workspace's dependencies are installed, on a machine that has only Node and npm.
//
// pnpm itself is a root devDependency, so after the first install it lives in
// node_modules/.bin. The first install needs a pnpm from somewhere: corepack when it works,
// `npx pnpm@<version>` otherwise. The lockfile is frozen: a fresh clone installs exactly what
// was committed.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
const pnpmVersion = manifest.packageManager.replace(/^pnpm@/, '')

function installIsCurrent() {
  const marker = join(repoRoot, 'node_modules', '.modules.yaml')
  const pnpmBin = join(repoRoot, 'node_modules', '.bin', 'pnpm')
  if (!existsSync(marker) || !existsSync(pnpmBin)) return false
  const lock = join(repoRoot, 'pnpm-lock.yaml')
  return statSync(marker).mtimeMs >= statSync(lock).mtimeMs
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env: process.env })
  return result.status === 0
}

export function ensureInstalled() {
  if (installIsCurrent()) return
  const args = ['install', '--frozen-lockfile', '--config.confirmModulesPurge=false']
  const localPnpm = join(repoRoot, 'node_modules', '.bin', 'pnpm')
  if (existsSync(localPnpm) && run(localPnpm, args)) return
  console.log(`[bootstrap] installing dependencies with pnpm ${pnpmVersion}`)
  if (run('npx', ['--yes', `pnpm@${pnpmVersion}`, ...args])) return
  console.error('[bootstrap] could not install dependencies: npx pnpm failed (see above)')
  process.exit(1)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureInstalled()
