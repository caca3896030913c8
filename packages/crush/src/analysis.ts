/**
 * Analysis over many inputs: placements in bulk, utilization per device against its CRUSH
 * weight, and data movement between two maps.
 *
 * @module
 */
import { CRUSH_ITEM_NONE, type ChooseArgMap, type CrushMap } from './model.ts'
import { CrushMapper, resolveChooseArgs } from './mapper.ts'

/** Placements of inputs `firstX..lastX` through one rule, `numRep` slots each (NONE-padded). */
export interface Placements {
  /** The first input. */
  firstX: number
  /** Slots per input. */
  numRep: number
  /** `(x - firstX) * numRep + slot` → device, or `CRUSH_ITEM_NONE` for an empty slot. */
  items: Int32Array
  /** Result length per input. */
  lengths: Uint8Array
}

/** Maps every input in `[firstX, lastX]` at once with a reused mapper. */
export function placeMany(
  map: CrushMap,
  ruleId: number,
  numRep: number,
  firstX: number,
  lastX: number,
  weights: ArrayLike<number>,
  chooseArgs?: ChooseArgMap,
): Placements {
  const count = Math.max(0, lastX - firstX + 1)
  const items = new Int32Array(count * numRep).fill(CRUSH_ITEM_NONE)
  const lengths = new Uint8Array(count)
  const mapper = new CrushMapper(map)
  const args = resolveChooseArgs(chooseArgs)
  const out = new Int32Array(numRep)
  for (let i = 0; i < count; i++) {
    const n = mapper.map(ruleId, firstX + i, numRep, weights, out, args)
    lengths[i] = n
    items.set(out.subarray(0, n), i * numRep)
  }
  return { firstX, numRep, items, lengths }
}

/** One device's share of placements against its expected share. */
export interface DeviceUtilization {
  /** Device id. */
  device: number
  /** Placements it received. */
  stored: number
  /** Placements it should receive in proportion to its CRUSH weight. */
  expected: number
  /** stored / expected (NaN when nothing is expected). */
  ratio: number
}

/** The CRUSH weight of each device: the sum of its weights in every non-shadow bucket. */
export function deviceCrushWeights(map: CrushMap): Map<number, number> {
  const w = new Map<number, number>()
  for (const b of map.buckets) {
    if (b === undefined || (map.names.get(b.id)?.includes('~') ?? false)) continue
    b.items.forEach((it, i) => {
      if (it >= 0) w.set(it, (w.get(it) ?? 0) + (b.itemWeights[i] ?? 0))
    })
  }
  return w
}

/**
 * Utilization of each device by the given placements, against expectations proportional to
 * CRUSH weight times reweight (over devices with both positive).
 */
export function utilization(map: CrushMap, placements: Placements, weights: ArrayLike<number>): DeviceUtilization[] {
  const stored = new Map<number, number>()
  let total = 0
  for (let i = 0; i < placements.lengths.length; i++) {
    const n = placements.lengths[i] ?? 0
    for (let k = 0; k < n; k++) {
      const d = placements.items[i * placements.numRep + k] ?? CRUSH_ITEM_NONE
      if (d === CRUSH_ITEM_NONE || d < 0) continue
      stored.set(d, (stored.get(d) ?? 0) + 1)
      total++
    }
  }
  const cw = deviceCrushWeights(map)
  let sum = 0
  const eff = new Map<number, number>()
  for (const [d, w] of cw) {
    const r = Math.min(weights[d] ?? 0, 0x10000)
    const e = (w * r) / 0x10000
    if (e > 0) {
      eff.set(d, e)
      sum += e
    }
  }
  const devices = new Set([...eff.keys(), ...stored.keys()])
  return [...devices]
    .sort((a, b) => a - b)
    .map((device) => {
      const expected = sum > 0 ? ((eff.get(device) ?? 0) / sum) * total : 0
      const s = stored.get(device) ?? 0
      return { device, stored: s, expected, ratio: expected > 0 ? s / expected : Number.NaN }
    })
}

/** How many inputs and slots changed between two placements of the same inputs. */
export interface Movement {
  /** Inputs compared. */
  inputs: number
  /** Inputs whose result differs in any way. */
  changedInputs: number
  /** Slots whose device changed. */
  changedSlots: number
  /** Devices newly holding an input (added to its set), summed over inputs. */
  movedReplicas: number
}

/** Compares two placements of the same inputs (e.g. before and after a map change). */
export function movement(before: Placements, after: Placements): Movement {
  const inputs = Math.min(before.lengths.length, after.lengths.length)
  let changedInputs = 0
  let changedSlots = 0
  let movedReplicas = 0
  for (let i = 0; i < inputs; i++) {
    const nb = before.lengths[i] ?? 0
    const na = after.lengths[i] ?? 0
    let diff = nb !== na
    const setBefore = new Set<number>()
    for (let k = 0; k < nb; k++) setBefore.add(before.items[i * before.numRep + k] ?? 0)
    for (let k = 0; k < Math.max(nb, na); k++) {
      const a = k < nb ? before.items[i * before.numRep + k] : undefined
      const b = k < na ? after.items[i * after.numRep + k] : undefined
      if (a !== b) {
        diff = true
        changedSlots++
      }
      if (b !== undefined && b !== CRUSH_ITEM_NONE && !setBefore.has(b)) movedReplicas++
    }
    if (diff) changedInputs++
  }
  return { inputs, changedInputs, changedSlots, movedReplicas }
}
