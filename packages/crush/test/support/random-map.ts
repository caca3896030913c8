/**
 * Random text CRUSH maps for golden and differential tests: every bucket algorithm, several
 * tunables profiles, gaps in device ids, fractional and zero weights, device classes and
 * choose_args, and a set of rule shapes (firstn, indep, multi-step, set_* steps).
 */
import { Random } from '@x/common'

/** The tunables sets the generator draws from (values in crushtool's text form). */
export const tunableSets: Record<string, Record<string, number>> = {
  legacy: {},
  bobtail: { choose_local_tries: 0, choose_local_fallback_tries: 0, choose_total_tries: 50, chooseleaf_descend_once: 1 },
  firefly: { choose_local_tries: 0, choose_local_fallback_tries: 0, choose_total_tries: 50, chooseleaf_descend_once: 1, chooseleaf_vary_r: 1 },
  hammer: { choose_local_tries: 0, choose_local_fallback_tries: 0, choose_total_tries: 50, chooseleaf_descend_once: 1, chooseleaf_vary_r: 1, allowed_bucket_algs: 54 },
  jewel: { choose_local_tries: 0, choose_local_fallback_tries: 0, choose_total_tries: 50, chooseleaf_descend_once: 1, chooseleaf_vary_r: 1, chooseleaf_stable: 1, straw_calc_version: 1, allowed_bucket_algs: 54 },
  odd: { choose_local_tries: 1, choose_local_fallback_tries: 3, choose_total_tries: 7, chooseleaf_descend_once: 0, chooseleaf_vary_r: 3, chooseleaf_stable: 1 },
}

/** Options of {@link randomMapText}. */
export interface RandomMapOptions {
  /** Bucket algorithms to draw from. */
  algs?: string[]
  /** Tunables set name (key of {@link tunableSets}). */
  tunables?: string
  /** Give devices classes hdd/ssd and add class rules. */
  classes?: boolean
  /** Add choose_args (index 0 or -1) for straw2 buckets. */
  chooseArgs?: boolean
}

const weightsPool = ['1.000', '0.500', '2.000', '0.100', '3.000', '7.277', '1.819', '0.000', '1.500', '4.000']

/** A random text map, deterministic for a given seed. */
export function randomMapText(seed: number, options: RandomMapOptions = {}): string {
  const rnd = new Random(seed)
  const algs = options.algs ?? ['uniform', 'list', 'tree', 'straw', 'straw2']
  const lines: string[] = []
  for (const [k, v] of Object.entries(tunableSets[options.tunables ?? 'jewel'] ?? {})) lines.push(`tunable ${k} ${v}`)
  const racks = rnd.intBetween(1, 4)
  let dev = 0
  const hosts: { name: string; items: { name: string; w: string }[]; alg: string }[] = []
  const devices: string[] = []
  for (let r = 0; r < racks; r++) {
    const nh = rnd.intBetween(1, 4)
    for (let h = 0; h < nh; h++) {
      const alg = algs[rnd.int(algs.length)] ?? 'straw2'
      const n = rnd.intBetween(1, 6)
      const uniformW = weightsPool[rnd.int(weightsPool.length - 3)] ?? '1.000'
      const items: { name: string; w: string }[] = []
      for (let i = 0; i < n; i++) {
        if (rnd.chance(0.15)) dev++ // gap in device ids
        const id = dev++
        const cls = options.classes === true ? (rnd.chance(0.4) ? ' class ssd' : ' class hdd') : ''
        devices.push(`device ${id} osd.${id}${cls}`)
        let w = alg === 'uniform' ? uniformW : weightsPool[rnd.int(weightsPool.length)] ?? '1.000'
        if (alg === 'uniform' && w === '0.000') w = '1.000'
        items.push({ name: `osd.${id}`, w })
      }
      hosts.push({ name: `host${r}-${h}`, items, alg })
    }
  }
  lines.push(...devices)
  lines.push('type 0 osd', 'type 1 host', 'type 2 rack', 'type 3 root')
  let bucketId = -1
  const rackNames: string[] = []
  const perRack: string[][] = []
  for (const h of hosts) {
    const r = Number(h.name.slice(4).split('-')[0])
    ;(perRack[r] ??= []).push(h.name)
    lines.push(`host ${h.name} {`, `\tid ${bucketId--}`, `\talg ${h.alg}`, '\thash 0')
    for (const it of h.items) lines.push(`\titem ${it.name} weight ${it.w}`)
    lines.push('}')
  }
  const nonUniform = algs.filter((a) => a !== 'uniform')
  for (let r = 0; r < perRack.length; r++) {
    const alg = nonUniform[rnd.int(nonUniform.length)] ?? 'straw2'
    const name = `rack${r}`
    rackNames.push(name)
    lines.push(`rack ${name} {`, `\tid ${bucketId--}`, `\talg ${alg}`, '\thash 0')
    for (const h of perRack[r] ?? []) lines.push(`\titem ${h}`)
    lines.push('}')
  }
  const rootAlg = nonUniform[rnd.int(nonUniform.length)] ?? 'straw2'
  lines.push('root default {', `\tid ${bucketId--}`, `\talg ${rootAlg}`, '\thash 0')
  for (const r of rackNames) lines.push(`\titem ${r}`)
  lines.push('}')
  const rules: string[][] = [
    ['step take default', 'step chooseleaf firstn 0 type host', 'step emit'],
    ['step set_chooseleaf_tries 5', 'step set_choose_tries 100', 'step take default', 'step chooseleaf indep 0 type host', 'step emit'],
    ['step take default', 'step choose firstn 0 type rack', 'step chooseleaf firstn 2 type host', 'step emit'],
    ['step take default', 'step choose indep 2 type rack', 'step chooseleaf indep 2 type host', 'step emit'],
    ['step take default', 'step choose firstn 0 type osd', 'step emit'],
    ['step set_chooseleaf_vary_r 0', 'step set_chooseleaf_stable 0', 'step set_choose_local_tries 2', 'step set_choose_local_fallback_tries 5', 'step take default', 'step chooseleaf firstn 0 type rack', 'step emit'],
    ['step take rack0', 'step chooseleaf firstn 2 type host', 'step emit', 'step take default', 'step chooseleaf firstn -2 type host', 'step emit'],
    ['step take default', 'step choose indep 0 type osd', 'step emit'],
  ]
  if (options.classes === true) {
    rules.push(['step take default class ssd', 'step chooseleaf firstn 0 type host', 'step emit'])
    rules.push(['step take default class hdd', 'step chooseleaf indep 0 type host', 'step emit'])
  }
  rules.forEach((steps, i) => {
    lines.push(`rule r${i} {`, `\tid ${i}`, `\ttype ${steps.some((s) => s.includes('indep')) ? 'erasure' : 'replicated'}`, '\tmin_size 1', '\tmax_size 10')
    for (const s of steps) lines.push(`\t${s}`)
    lines.push('}')
  })
  if (options.chooseArgs === true) {
    // weight sets for straw2 buckets: hosts (by id), racks and the root
    const index = rnd.chance(0.5) ? '0' : '18446744073709551615'
    lines.push(`choose_args ${index} {`)
    let id = -1
    for (const h of hosts) {
      if (h.alg === 'straw2' && rnd.chance(0.7)) {
        const positions = rnd.intBetween(1, 3)
        lines.push('  {', `    bucket_id ${id}`, '    weight_set [')
        for (let p = 0; p < positions; p++) lines.push(`      [ ${h.items.map(() => weightsPool[rnd.int(weightsPool.length - 3)]).join(' ')} ]`)
        lines.push('    ]')
        if (rnd.chance(0.5)) lines.push(`    ids [ ${h.items.map((_, k) => -100 - k - 10 * -id).join(' ')} ]`)
        lines.push('  }')
      }
      id--
    }
    lines.push('}')
  }
  return `${lines.join('\n')}\n`
}
