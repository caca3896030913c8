/**
 * Rebuild of a lost shard of an erasure-coded group. Its single values and punches are those of
 * any surviving shard (EC groups store them on every shard). Its array cells are recomputed, for
 * every stripe and every epoch at which the stripe was written, from the surviving shards' cells
 * as of that epoch: a lost data cell is reconstructed from k surviving cells, a lost parity cell
 * is re-encoded. Each recomputed cell is written whole at the write's epoch, so the rebuilt shard
 * reads, at every epoch, what the lost one read (never-written records read as zeros there
 * instead of holes: parity is computed over zero-filled holes anyway).
 *
 * The surviving shards' histories are loaded into scratch in-memory VOSes (`applyHistory`), so
 * reading a cell "as of epoch E" uses the VOS's own visibility rules.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { AkeyHistory, DkeyHistory, ExtentVersion, HistoryRecords, Vos } from '@x/vos'
import { ErasureCodec, type EcGeometry } from '../object/index.ts'

/** The input of {@link assembleEcShardHistory}. */
export interface EcShardRebuildInput {
  /** Surviving shards by position, each a VOS holding that shard's committed history of the object. */
  readonly shards: ReadonlyMap<number, Vos>
  /** The container. */
  readonly cont: string
  /** The object (VOS form). */
  readonly oid: bigint
  /** The position of the lost shard in its group. */
  readonly lostPosition: number
  /** The group's shape (its cell size must be the object service's). */
  readonly geometry: EcGeometry
}

const keyOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function fullHistory(vos: Vos, cont: string, oid: bigint): Promise<HistoryRecords> {
  if (!vos.listContainers().includes(cont)) return { punches: [], dkeys: [] }
  const dkeys: DkeyHistory[] = []
  let punches: HistoryRecords['punches'] = []
  let after: Uint8Array | undefined
  let first = true
  do {
    const page = await vos.objectHistory(cont, oid, { maxDkeys: 256, ...(after === undefined ? {} : { after }) })
    if (first) punches = page.punches
    first = false
    dkeys.push(...page.dkeys)
    after = page.anchor
  } while (after !== undefined)
  return { punches, dkeys }
}

/**
 * The history the lost shard held (see the module comment). Throws `DER_DATA_LOSS` when fewer
 * than k shards survive.
 */
export async function assembleEcShardHistory(input: EcShardRebuildInput): Promise<HistoryRecords> {
  const { dataCells: k, parityCells: p, cellRecords: c } = input.geometry
  if (input.shards.size < k) throw new DerError('DER_DATA_LOSS', `EC ${k}+${p}: only ${input.shards.size} shards survive, ${k} needed`)
  if (input.lostPosition < 0 || input.lostPosition >= k + p || input.shards.has(input.lostPosition)) throw new DerError('DER_INVAL', `EC ${k}+${p}: bad lost position ${input.lostPosition}`)
  const histories = new Map<number, HistoryRecords>()
  for (const [position, vos] of input.shards) histories.set(position, await fullHistory(vos, input.cont, input.oid))
  // Keys, singles and punches: from a surviving parity shard (it holds every key), else from all shards merged.
  const parityPositions = [...histories.keys()].filter((pos) => pos >= k).sort((a, b) => a - b)
  const keySources = parityPositions.length > 0 ? [parityPositions[0] as number] : [...histories.keys()].sort((a, b) => a - b)
  const objectPunches = new Map<bigint, HistoryRecords['punches'][number]>()
  const dkeys = new Map<string, { dkey: Uint8Array; punches: Map<bigint, DkeyHistory['punches'][number]>; akeys: Map<string, { akey: Uint8Array; type: AkeyHistory['type']; recordSizeBytes: number; punches: Map<bigint, AkeyHistory['punches'][number]>; singles: Map<bigint, AkeyHistory['singles'][number]> }> }>()
  for (const position of keySources) {
    const h = histories.get(position) as HistoryRecords
    for (const pu of h.punches) objectPunches.set(pu.epoch, pu)
    for (const dk of h.dkeys) {
      let d = dkeys.get(keyOf(dk.dkey))
      if (d === undefined) dkeys.set(keyOf(dk.dkey), (d = { dkey: dk.dkey, punches: new Map(), akeys: new Map() }))
      for (const pu of dk.punches) d.punches.set(pu.epoch, pu)
      for (const ak of dk.akeys) {
        let a = d.akeys.get(keyOf(ak.akey))
        if (a === undefined) d.akeys.set(keyOf(ak.akey), (a = { akey: ak.akey, type: ak.type, recordSizeBytes: ak.recordSizeBytes, punches: new Map(), singles: new Map() }))
        if (a.type === undefined) {
          a.type = ak.type
          a.recordSizeBytes = ak.recordSizeBytes
        }
        for (const pu of ak.punches) a.punches.set(pu.epoch, pu)
        for (const sv of ak.singles) a.singles.set(sv.epoch, sv)
      }
    }
  }
  // Array writes: every (stripe, epoch) some surviving shard holds a cell version of.
  const writes = new Map<string, { recordSizeBytes: number; stripes: Map<number, Set<bigint>> }>()
  for (const [position, h] of histories) {
    for (const dk of h.dkeys) {
      for (const ak of dk.akeys) {
        if (ak.type !== 'array') continue
        const id = `${keyOf(dk.dkey)}/${keyOf(ak.akey)}`
        let w = writes.get(id)
        if (w === undefined) writes.set(id, (w = { recordSizeBytes: ak.recordSizeBytes, stripes: new Map() }))
        // Parity shards hold every written stripe; data shards only their cells (enough when no parity survives).
        if (parityPositions.length > 0 && position < k) continue
        for (const e of ak.extents) {
          for (let s = Math.floor(e.index / c); s * c < e.index + e.count; s++) {
            let epochs = w.stripes.get(s)
            if (epochs === undefined) w.stripes.set(s, (epochs = new Set()))
            epochs.add(e.epoch)
          }
        }
      }
    }
  }
  const codec = ErasureCodec.of(k, p)
  const out: DkeyHistory[] = []
  for (const [dkeyId, d] of dkeys) {
    const akeys: AkeyHistory[] = []
    const seen = new Set<string>()
    for (const [akeyId, a] of d.akeys) {
      seen.add(akeyId)
      const w = writes.get(`${dkeyId}/${akeyId}`)
      const extents = w === undefined ? [] : await rebuildCells(input, codec, d.dkey, a.akey, w.recordSizeBytes, w.stripes)
      akeys.push({
        akey: a.akey,
        type: a.type ?? (extents.length > 0 ? 'array' : undefined),
        recordSizeBytes: a.type === 'array' || extents.length > 0 ? (w?.recordSizeBytes ?? a.recordSizeBytes) : a.recordSizeBytes,
        punches: [...a.punches.values()],
        singles: a.type === 'single' ? [...a.singles.values()] : [],
        extents,
      })
    }
    out.push({ dkey: d.dkey, punches: [...d.punches.values()], akeys })
  }
  return { punches: [...objectPunches.values()], dkeys: out }
}

/** The lost shard's cell versions of one array akey. */
async function rebuildCells(input: EcShardRebuildInput, codec: ErasureCodec, dkey: Uint8Array, akey: Uint8Array, recordSizeBytes: number, stripes: ReadonlyMap<number, ReadonlySet<bigint>>): Promise<ExtentVersion[]> {
  const { dataCells: k, parityCells: p, cellRecords: c } = input.geometry
  const cellBytes = c * recordSizeBytes
  const zero = new Uint8Array(cellBytes)
  const extents: ExtentVersion[] = []
  let seq = 0
  for (const [stripe, epochSet] of [...stripes].sort((a, b) => a[0] - b[0])) {
    let written = false
    for (const epoch of [...epochSet].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const slots: (Uint8Array | undefined)[] = Array.from({ length: k + p }, () => undefined)
      for (const [position, vos] of input.shards) {
        if (!vos.listContainers().includes(input.cont)) {
          slots[position] = zero
          continue
        }
        const [r] = await vos.fetch(input.cont, input.oid, epoch, dkey, [{ type: 'array', akey, extents: [{ index: stripe * c, count: c }] }])
        slots[position] = r?.type === 'array' && r.recordSizeBytes === recordSizeBytes ? r.data : zero
      }
      const cell = codec.reconstruct(slots)[input.lostPosition] as Uint8Array
      // A cell never written reads as zeros: no need to store zeros before the first real write.
      if (!written && cell.every((b) => b === 0)) continue
      written = true
      extents.push({ epoch, seq: seq++, index: stripe * c, count: c, data: cell })
    }
  }
  return extents
}
