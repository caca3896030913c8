/**
 * The golden cases: which maps and which `crushtool --test` invocations the committed
 * expectations in `testdata/golden/` came from.
 */
import type { RandomMapOptions } from './random-map.ts'

/** One map of the golden set. */
export interface GoldenMap {
  /** File stem in testdata/golden. */
  name: string
  /** Seed and options for {@link randomMapText}, or a path to a text map, or a build spec. */
  source: { seed: number; options: RandomMapOptions } | { file: string } | { build: string[] }
  /** Test runs on this map. */
  runs: GoldenRun[]
}

/** One `crushtool --test` run. */
export interface GoldenRun {
  /** Extra crushtool arguments after `-i MAP --test`. */
  args: string[]
}

const full = ['--min-x', '0', '--max-x', '99', '--show-mappings', '--show-statistics', '--show-bad-mappings']
const reweighted = [...full, '--weight', '0', '0', '--weight', '3', '0.5', '--weight', '7', '0.1', '--weight', '12', '0.8']

/** Every golden map with its runs. */
export const goldenMaps: GoldenMap[] = [
  ...(['uniform', 'list', 'tree', 'straw', 'straw2'] as const).map((alg, i) => ({
    name: `alg-${alg}`,
    source: { seed: 100 + i, options: { algs: alg === 'uniform' ? ['uniform', 'straw2'] : [alg], tunables: 'jewel' } },
    runs: [{ args: full }, { args: reweighted }],
  })),
  ...(['legacy', 'bobtail', 'firefly', 'hammer', 'jewel', 'odd'] as const).map((t, i) => ({
    name: `tunables-${t}`,
    source: { seed: 200 + i, options: { tunables: t } },
    runs: [{ args: full }, { args: reweighted }, { args: ['--min-x', '0', '--max-x', '299', '--show-choose-tries', '--show-utilization-all', '--rule', '1'] }],
  })),
  { name: 'classes-straw2', source: { seed: 300, options: { classes: true, algs: ['straw2'], tunables: 'jewel' } }, runs: [{ args: full }, { args: reweighted }] },
  { name: 'classes-mixed', source: { seed: 303, options: { classes: true, algs: ['list', 'straw', 'straw2'], tunables: 'hammer' } }, runs: [{ args: full }] },
  { name: 'choose-args-a', source: { seed: 401, options: { chooseArgs: true, algs: ['straw2'], tunables: 'jewel' } }, runs: [{ args: full }, { args: reweighted }] },
  { name: 'choose-args-b', source: { seed: 405, options: { chooseArgs: true, algs: ['straw2', 'list'], tunables: 'firefly' } }, runs: [{ args: full }] },
  {
    name: 'example',
    source: { file: 'peers/crush/example.txt' },
    runs: [{ args: [...full, '--show-utilization'] }, { args: ['--min-x', '0', '--max-x', '199', '--show-mappings', '--weight', '15', '0', '--weight', '16', '0', '--rule', '2', '--num-rep', '6'] }],
  },
  {
    name: 'built-100',
    source: { build: ['--num_osds', '100', 'host', 'straw2', '5', 'rack', 'straw2', '4', 'root', 'straw2', '0'] },
    runs: [{ args: ['--min-x', '0', '--max-x', '999', '--num-rep', '3', '--show-mappings', '--show-utilization'] }],
  },
]

/** Map edits replayed against `crushtool` (base golden map, crushtool arguments). */
export const goldenEdits: { name: string; base: string; args: string[] }[] = [
  { name: 'edit-add-new-host', base: 'built-100', args: ['--add-item', '100', '1.5', 'osd.100', '--loc', 'host', 'newhost', '--loc', 'rack', 'newrack', '--loc', 'root', 'root'] },
  { name: 'edit-add-existing-host', base: 'built-100', args: ['--add-item', '100', '2.0', 'osd.100', '--loc', 'host', 'host3'] },
  { name: 'edit-add-legacy-straw', base: 'tunables-legacy', args: ['--add-item', '60', '1.0', 'osd.60', '--loc', 'host', 'hx', '--loc', 'rack', 'rack0'] },
  { name: 'edit-reweight', base: 'alg-straw', args: ['--reweight-item', 'osd.1', '0.3'] },
  { name: 'edit-remove', base: 'built-100', args: ['--remove-item', 'osd.7'] },
  { name: 'edit-move', base: 'built-100', args: ['--move', 'host3', '--loc', 'rack', 'rack2'] },
]
