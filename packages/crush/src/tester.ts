/**
 * `crushtool --test`: maps a range of inputs through rules and prints what Ceph's CrushTester
 * prints (mappings, bad mappings, statistics, utilization), line for line.
 *
 * @module
 */
import { hash32x2 } from './hash.ts'
import { CRUSH_ITEM_NONE, type CrushMap } from './model.ts'
import { CrushMapper, resolveChooseArgs, selectChooseArgs } from './mapper.ts'

/** Options of {@link runCrushTest}, named after crushtool's flags. */
export interface CrushTestOptions {
  /** `--rule`: the only rule to test (default: every rule). */
  rule?: number
  /** `--min-x` (honoured only together with `maxX`, as in Ceph). */
  minX?: number
  /** `--max-x` (honoured only together with `minX`). */
  maxX?: number
  /** `--num-rep`: replica count (default: each rule's min_size..max_size). */
  numRep?: number
  /** `--weight DEV W`: reweights in [0, 1] per device. */
  deviceWeights?: ReadonlyMap<number, number>
  /** `--pool-id`: hash each x with the pool id first. */
  poolId?: number
  /** `--show-mappings`. */
  showMappings?: boolean
  /** `--show-bad-mappings`. */
  showBadMappings?: boolean
  /** `--show-statistics`. */
  showStatistics?: boolean
  /** `--show-utilization`. */
  showUtilization?: boolean
  /** `--show-utilization-all`. */
  showUtilizationAll?: boolean
  /** `--show-choose-tries`. */
  showChooseTries?: boolean
}

/** Where {@link runCrushTest} writes: whole lines without their newline. */
export interface CrushTestOutput {
  /** A line for standard output. */
  out(line: string): void
  /** A line for standard error. */
  err(line: string): void
}

/**
 * Formats a number the way a C++ ostream does by default (`%g` with 6 significant digits),
 * rounding exact ties to even as glibc does.
 */
export function formatFloatG6(v: number): string {
  return formatG(v, 6)
}

function formatG(v: number, precision: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'
  const neg = v < 0
  const a = Math.abs(v)
  // exact decimal digits of the double (exact for values with <= 100 fractional digits)
  const exact = a < 1e21 ? a.toFixed(100) : a.toPrecision(40)
  let intPart: string
  let fracPart: string
  if (exact.includes('e')) {
    const [m = '', e = '0'] = exact.split('e')
    const [mi = '', mf = ''] = m.split('.')
    const shift = Number(e)
    const digits = mi + mf
    intPart = digits.slice(0, mi.length + shift).padEnd(mi.length + shift, '0')
    fracPart = digits.slice(mi.length + shift)
  } else {
    ;[intPart = '', fracPart = ''] = exact.split('.')
  }
  intPart = intPart.replace(/^0+/, '')
  let digits = intPart + fracPart
  // decimal exponent of the first significant digit
  let firstSig = digits.search(/[1-9]/)
  if (firstSig < 0) return '0'
  let exp10 = intPart.length - 1 - firstSig
  digits = digits.slice(firstSig)
  let kept = digits.slice(0, precision).padEnd(precision, '0')
  const rest = digits.slice(precision)
  const roundUp = rest.length > 0 && (rest[0]! > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(kept[kept.length - 1]) % 2 === 1)))
  if (roundUp) {
    const n = (BigInt(kept) + 1n).toString()
    if (n.length > precision) {
      exp10++
      kept = n.slice(0, precision)
    } else kept = n
  }
  firstSig = 0
  let out: string
  if (exp10 < -4 || exp10 >= precision) {
    let mant = kept[0]! + (precision > 1 ? `.${kept.slice(1)}` : '')
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '')
    out = `${mant}e${exp10 < 0 ? '-' : '+'}${String(Math.abs(exp10)).padStart(2, '0')}`
  } else if (exp10 >= 0) {
    out = `${kept.slice(0, exp10 + 1)}.${kept.slice(exp10 + 1)}`
    out = out.replace(/0+$/, '').replace(/\.$/, '')
  } else {
    out = `0.${'0'.repeat(-exp10 - 1)}${kept}`
    out = out.replace(/0+$/, '').replace(/\.$/, '')
  }
  return neg ? `-${out}` : out
}

/** Ceph's reweight conversion for `--weight`: `(int)(w * 0x10000)` in float, clamped to [0, 0x10000]. */
export function testerDeviceWeight(w: number): number {
  let v = Math.trunc(Math.fround(Math.fround(w) * 65536))
  if (v < 0) v = 0
  if (v > 0x10000) v = 0x10000
  return v
}

/** Whether a device id appears as an item of some bucket (`check_item_present`). */
export function devicesPresent(map: CrushMap): Set<number> {
  const present = new Set<number>()
  for (const b of map.buckets) if (b !== undefined) for (const it of b.items) present.add(it)
  return present
}

/** The reweight vector crushtool --test uses: 0x10000 for present devices, 0 otherwise, then overrides. */
export function testerWeights(map: CrushMap, deviceWeights?: ReadonlyMap<number, number>): number[] {
  const present = devicesPresent(map)
  const weights: number[] = []
  for (let o = 0; o < map.maxDevices; o++) {
    const w = deviceWeights?.get(o)
    weights.push(w !== undefined ? testerDeviceWeight(w) : present.has(o) ? 0x10000 : 0)
  }
  return weights
}

/** `CrushTester::get_maximum_affected_by_rule`. */
export function maximumAffectedByRule(map: CrushMap, ruleId: number): number {
  const rule = map.rules[ruleId]
  const affected: number[] = []
  const replications = new Map<number, number>()
  for (const s of rule?.steps ?? []) {
    if (s.op >= 2 && s.op !== 4) {
      affected.push(s.arg2)
      replications.set(s.arg2, s.arg1)
    }
  }
  const maxOfType = new Map<number, number>()
  for (const t of affected) {
    for (const id of map.names.keys()) {
      const b = id < 0 ? map.buckets[-1 - id] : undefined
      const bt = b === undefined ? -2 : b.type
      if (bt === t) maxOfType.set(t, (maxOfType.get(t) ?? 0) + 1)
    }
  }
  for (const t of affected) {
    const rep = replications.get(t) ?? 0
    if (rep > 0 && rep < (maxOfType.get(t) ?? 0)) maxOfType.set(t, rep)
  }
  let maxAffected = Math.max(map.buckets.length, map.maxDevices)
  for (const t of affected) {
    const m = maxOfType.get(t) ?? 0
    if (m > 0 && m < maxAffected) maxAffected = m
  }
  return maxAffected
}

/** Runs `crushtool --test` with the given options, writing its lines to `output`. */
export function runCrushTest(map: CrushMap, options: CrushTestOptions, output: CrushTestOutput): void {
  const maxRules = map.rules.length
  let minRule = 0
  let maxRule = maxRules - 1
  if (options.rule !== undefined) {
    minRule = options.rule
    maxRule = options.rule
  }
  let minX = options.minX ?? -1
  let maxX = options.maxX ?? -1
  if (minX < 0 || maxX < 0) {
    minX = 0
    maxX = 1023
  }
  const statistics = options.showStatistics === true || options.showUtilization === true || options.showUtilizationAll === true
  const weights = testerWeights(map, options.deviceWeights)
  if (options.showUtilizationAll === true) output.err(`devices weights (hex): [${weights.map((w) => w.toString(16)).join(',')}]`)
  const mapper = new CrushMapper(map)
  const chooseArgs = resolveChooseArgs(selectChooseArgs(map, 0n))
  const tries = options.showChooseTries === true ? new Uint32Array(Math.max(0, map.tunables.chooseTotalTries)) : undefined
  if (tries !== undefined) mapper.chooseTries = tries
  const result = new Int32Array(256)
  for (let r = minRule; r < maxRules && r <= maxRule; r++) {
    const rule = map.rules[r]
    if (rule === undefined) {
      if (statistics) output.out(`rule ${r} dne`)
      continue
    }
    let minr = options.numRep ?? -1
    let maxr = options.numRep ?? -1
    if (minr < 0 || maxr < 0) {
      minr = rule.minSize
      maxr = rule.maxSize
    }
    const name = map.ruleNames.get(r) ?? ''
    if (statistics) output.out(`rule ${r} (${name}), x = ${minX}..${maxX}, numrep = ${minr}..${maxr}`)
    const maxAffected = maximumAffectedByRule(map, r)
    for (let nr = minr; nr <= maxr; nr++) {
      const per = new Array<number>(map.maxDevices).fill(0)
      const sizes = new Map<number, number>()
      const numObjects = maxX - minX + 1
      let totalWeight = 0
      for (let i = 0; i < per.length; i++) totalWeight = (totalWeight + (weights[i] ?? 0)) | 0
      if (totalWeight === 0) continue
      const expectedObjects = Math.fround(Math.min(nr, maxAffected) * numObjects)
      const expected = per.map((_, i) => Math.fround(Math.fround(Math.fround(weights[i] ?? 0) / Math.fround(totalWeight)) * expectedObjects))
      if (result.length < nr) throw new RangeError('num_rep too large')
      for (let x = minX; x <= maxX; x++) {
        const realX = options.poolId !== undefined ? hash32x2(x, options.poolId) | 0 : x
        const n = nr > 0 ? mapper.map(r, realX, nr, weights, result, chooseArgs) : 0
        const out = result.subarray(0, n)
        if (options.showMappings === true) output.out(`CRUSH rule ${r} x ${x} [${out.join(',')}]`)
        let hasNone = false
        for (const item of out) {
          if (item === CRUSH_ITEM_NONE) hasNone = true
          else if (item >= 0 && item < per.length) per[item] = (per[item] ?? 0) + 1
        }
        sizes.set(n, (sizes.get(n) ?? 0) + 1)
        if (options.showBadMappings === true && (n !== nr || hasNone)) {
          output.out(`bad mapping rule ${r} x ${x} num_rep ${nr} result [${out.join(',')}]`)
        }
      }
      if (options.showUtilization === true && !statistics) {
        per.forEach((p, i) => output.out(`  device ${i}:\t${p}`))
      }
      if (statistics) {
        for (const size of [...sizes.keys()].sort((a, b) => a - b)) {
          output.out(`rule ${r} (${name}) num_rep ${nr} result size == ${size}:\t${sizes.get(size) ?? 0}/${maxX - minX + 1}`)
        }
        for (let i = 0; i < per.length; i++) {
          const e = expected[i] ?? 0
          const p = per[i] ?? 0
          if (options.showUtilization === true) {
            if (e > 0 && p > 0) output.out(`  device ${i}:\t\t stored : ${p}\t expected : ${formatFloatG6(e)}`)
          } else if (options.showUtilizationAll === true) {
            output.out(`  device ${i}:\t\t stored : ${p}\t expected : ${formatFloatG6(e)}`)
          }
        }
      }
    }
  }
  if (tries !== undefined) {
    for (let i = 0; i < tries.length; i++) output.out(`${String(i).padStart(2)}: ${String(tries[i] ?? 0).padStart(9)}`)
  }
}

/**
 * `crushtool -i A --compare B`: maps every input through every rule of both maps and reports
 * mismatches per rule, as Ceph's CrushTester::compare does. Returns true when equivalent.
 */
export function compareCrushMaps(map: CrushMap, other: CrushMap, options: CrushTestOptions, output: CrushTestOutput): boolean {
  const maxRules = map.rules.length
  let minRule = 0
  let maxRule = maxRules - 1
  if (options.rule !== undefined) {
    minRule = options.rule
    maxRule = options.rule
  }
  let minX = options.minX ?? -1
  let maxX = options.maxX ?? -1
  if (minX < 0 || maxX < 0) {
    minX = 0
    maxX = 1023
  }
  const weights = testerWeights(map, options.deviceWeights)
  const m1 = new CrushMapper(map)
  const m2 = new CrushMapper(other)
  const a1 = resolveChooseArgs(selectChooseArgs(map, 0n))
  const a2 = resolveChooseArgs(selectChooseArgs(other, 0n))
  const out1 = new Int32Array(256)
  const out2 = new Int32Array(256)
  let equivalent = true
  const statistics = options.showStatistics === true
  for (let r = minRule; r < maxRules && r <= maxRule; r++) {
    const rule = map.rules[r]
    if (rule === undefined) {
      if (statistics) output.out(`rule ${r} dne`)
      continue
    }
    let minr = options.numRep ?? -1
    let maxr = options.numRep ?? -1
    if (minr < 0 || maxr < 0) {
      minr = rule.minSize
      maxr = rule.maxSize
    }
    let bad = 0
    for (let nr = minr; nr <= maxr; nr++) {
      for (let x = minX; x <= maxX; x++) {
        const n1 = m1.map(r, x, nr, weights, out1, a1)
        const n2 = m2.map(r, x, nr, weights, out2, a2)
        let same = n1 === n2
        for (let i = 0; same && i < n1; i++) if (out1[i] !== out2[i]) same = false
        if (!same) bad++
      }
    }
    if (bad > 0) equivalent = false
    const max = (maxr - minr + 1) * (maxX - minX + 1)
    output.out(`rule ${r} had ${bad}/${max} mismatched mappings (${formatG(bad / max, 6)})`)
  }
  if (equivalent) output.out('maps appear equivalent')
  else output.err('warning: maps are NOT equivalent')
  return equivalent
}
