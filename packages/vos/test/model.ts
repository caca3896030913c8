// A naive model of VOS semantics for the differential test: a flat list of operations, and
// every read is a scan of that list ("for each byte, the newest op at or below the epoch").
import type { Epoch, ObjectId, Recx, VisibleExtent } from '../src/index.ts'

export const recordSize = 2
export const modelMaxIndex = 64

export type ModelOp =
  | { kind: 'single'; id: number; epoch: Epoch; seq: number; oid: ObjectId; dkey: string; akey: string; value: Uint8Array }
  | { kind: 'extent'; id: number; epoch: Epoch; seq: number; oid: ObjectId; dkey: string; akey: string; lo: number; hi: number; data: Uint8Array | undefined }
  | { kind: 'punch'; id: number; epoch: Epoch; seq: number; oid: ObjectId; dkey: string | undefined; akey: string | undefined }

function newerOp(a: ModelOp, b: ModelOp): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq)
}

export class VosModel {
  ops: ModelOp[] = []
  private byAkey: Map<string, ModelOp[]> | undefined
  private punchesByOid: Map<bigint, ModelOp[]> | undefined

  add(op: ModelOp): void {
    this.ops.push(op)
    this.byAkey = undefined
    this.punchesByOid = undefined
  }

  private candidates(oid: ObjectId, dkey: string, akey: string): ModelOp[][] {
    if (this.byAkey === undefined || this.punchesByOid === undefined) {
      this.byAkey = new Map()
      this.punchesByOid = new Map()
      for (const op of this.ops) {
        if (op.kind === 'punch') {
          const list = this.punchesByOid.get(op.oid) ?? []
          list.push(op)
          this.punchesByOid.set(op.oid, list)
        } else {
          const k = `${op.oid}/${op.dkey}/${op.akey}`
          const list = this.byAkey.get(k) ?? []
          list.push(op)
          this.byAkey.set(k, list)
        }
      }
    }
    return [this.byAkey.get(`${oid}/${dkey}/${akey}`) ?? [], this.punchesByOid.get(oid) ?? []]
  }
  seq = 0
  nextId = 0
  aggregated = 0n
  safe = new Set<Epoch>()
  snapshots: Epoch[] = []

  isSafe(epoch: Epoch): boolean {
    return epoch >= this.aggregated || this.safe.has(epoch)
  }

  aggregate(boundary: Epoch): void {
    if (boundary <= this.aggregated) return
    this.safe = new Set(this.snapshots.filter((s) => s < boundary && this.isSafe(s)))
    this.aggregated = boundary
  }

  discard(lo: Epoch, hi: Epoch): void {
    this.ops = this.ops.filter((op) => op.epoch < lo || op.epoch > hi)
    this.byAkey = undefined
    this.punchesByOid = undefined
  }

  private punchHits(op: ModelOp, oid: ObjectId, dkey: string, akey: string): boolean {
    return op.kind === 'punch' && op.oid === oid && (op.dkey === undefined || (op.dkey === dkey && (op.akey === undefined || op.akey === akey)))
  }

  /** The newest op at or below `epoch` among writes to the akey covering `index` (or any, if undefined) and punches above it. */
  private latest(oid: ObjectId, dkey: string, akey: string, epoch: Epoch, index: number | undefined): ModelOp | undefined {
    let best: ModelOp | undefined
    for (const op of this.candidates(oid, dkey, akey).flat()) {
      if (op.epoch > epoch) continue
      let hit = this.punchHits(op, oid, dkey, akey)
      if (!hit && op.kind !== 'punch' && op.oid === oid && op.dkey === dkey && op.akey === akey) {
        hit = op.kind === 'single' || index === undefined || (op.lo <= index && index < op.hi)
      }
      if (hit && (best === undefined || newerOp(op, best))) best = op
    }
    return best
  }

  /** Whether any write to the akey, or punch above it, has an epoch above `epoch`. */
  hasNewer(oid: ObjectId, dkey: string, akey: string, epoch: Epoch): boolean {
    return this.candidates(oid, dkey, akey)
      .flat()
      .some((op) => op.epoch > epoch && (op.kind !== 'punch' || this.punchHits(op, oid, dkey, akey)))
  }

  akeyLive(oid: ObjectId, dkey: string, akey: string, epoch: Epoch): boolean {
    const op = this.latest(oid, dkey, akey, epoch, undefined)
    return op !== undefined && op.kind !== 'punch'
  }

  single(oid: ObjectId, dkey: string, akey: string, epoch: Epoch): { value: Uint8Array | undefined; epoch: Epoch | undefined } {
    const op = this.latest(oid, dkey, akey, epoch, undefined)
    if (op === undefined || op.kind !== 'single') return { value: undefined, epoch: undefined }
    return { value: op.value, epoch: op.epoch }
  }

  /** Source of one record: the extent op with data, or undefined (hole). */
  recordSource(oid: ObjectId, dkey: string, akey: string, epoch: Epoch, index: number): Extract<ModelOp, { kind: 'extent' }> | undefined {
    const op = this.latest(oid, dkey, akey, epoch, index)
    return op?.kind === 'extent' ? op : undefined
  }

  array(oid: ObjectId, dkey: string, akey: string, epoch: Epoch, recxs: readonly Recx[]): { data: Uint8Array; holes: Recx[]; any: boolean } {
    let total = 0
    for (const r of recxs) total += r.count
    const data = new Uint8Array(total * recordSize)
    const holes: Recx[] = []
    let at = 0
    let any = false
    for (const r of recxs) {
      for (let i = r.index; i < r.index + r.count; i++) {
        const src = this.recordSource(oid, dkey, akey, epoch, i)
        if (src?.data !== undefined) {
          any = true
          data.set(src.data.subarray((i - src.lo) * recordSize, (i - src.lo + 1) * recordSize), at)
        } else {
          const last = holes[holes.length - 1]
          if (last !== undefined && last.index + last.count === i) holes[holes.length - 1] = { index: last.index, count: last.count + 1 }
          else holes.push({ index: i, count: 1 })
        }
        at += recordSize
      }
    }
    return { data, holes, any }
  }

  extents(oid: ObjectId, dkey: string, akey: string, epoch: Epoch): VisibleExtent[] {
    const out: VisibleExtent[] = []
    let prev: ModelOp | undefined
    for (let i = 0; i < modelMaxIndex; i++) {
      const src = this.recordSource(oid, dkey, akey, epoch, i)
      const withData = src?.data !== undefined ? src : undefined
      const last = out[out.length - 1]
      if (withData !== undefined && withData === prev && last !== undefined && last.index + last.count === i) out[out.length - 1] = { ...last, count: last.count + 1 }
      else if (withData !== undefined) out.push({ index: i, count: 1, epoch: withData.epoch })
      prev = src
    }
    return out
  }

  akeys(oid: ObjectId, dkey: string, epoch: Epoch, all: readonly string[]): string[] {
    return [...all].sort().filter((a) => this.akeyLive(oid, dkey, a, epoch))
  }

  dkeys(oid: ObjectId, epoch: Epoch, allDkeys: readonly string[], allAkeys: readonly string[]): string[] {
    return [...allDkeys].sort().filter((d) => this.akeys(oid, d, epoch, allAkeys).length > 0)
  }

  objects(epoch: Epoch, oids: readonly ObjectId[], allDkeys: readonly string[], allAkeys: readonly string[]): ObjectId[] {
    return [...oids].sort((a, b) => (a < b ? -1 : 1)).filter((o) => this.dkeys(o, epoch, allDkeys, allAkeys).length > 0)
  }
}
