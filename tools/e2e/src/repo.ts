/**
 * Where the repository is (this file is tools/e2e/src/repo.ts) and the entry points the harness
 * spawns.
 *
 * @module
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** The daemon's entry point (apps/daemon's `start` script runs it with tsx). */
export const daemonMainPath = join(repoRoot, 'apps', 'daemon', 'src', 'main.ts')

/** Node arguments that run the daemon from source with `config`. */
export function daemonNodeArgs(configPath: string): string[] {
  return ['--conditions=@x/source', '--import', 'tsx', daemonMainPath, '--config', configPath]
}
