/**
 * The array API (`daos_array_*`): an array of fixed-size cells split into chunks of
 * `chunkSizeCells` cells, one dkey per chunk (an 8-byte big-endian chunk number + 1, so byte order
 * is numeric order), records under one akey. The metadata (cell and chunk sizes) is a single
 * value under dkey 0. I/O is split into per-chunk requests run in parallel (`dc_array_io`);
 * holes read as zeros. The size is the end of the greatest written cell.
 *
 * @module
 */
import { DerError } from '@x/common'
import { isArrayType, oidType } from '@x/protocol'
import { type CallOptions, runWithEvent } from './events.ts'
import type { ObjectHandle } from './object.ts'
import { checkBytes, checkCount } from './validate.ts'

/** The akey of array records and of the metadata. */
export const arrayAkey: Uint8Array = Uint8Array.of(0x30)
const metaMagic = 0x41525259 // "ARRY"

/** Cell and chunk sizes of an array. */
export interface ArrayAttributes {
  /** Bytes per cell. */
  readonly cellSizeBytes: number
  /** Cells per chunk (one dkey each). */
  readonly chunkSizeCells: number
}

/** The dkey of chunk `chunk` (dkey 0 holds the metadata). */
export function chunkDkey(chunk: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(chunk) + 1n)
  return out
}

function chunkOfDkey(dkey: Uint8Array): number | undefined {
  if (dkey.length !== 8) return undefined
  const n = new DataView(dkey.buffer, dkey.byteOffset, 8).getBigUint64(0)
  return n === 0n ? undefined : Number(n - 1n)
}

function encodeMeta(a: ArrayAttributes): Uint8Array {
  const out = new Uint8Array(20)
  const view = new DataView(out.buffer)
  view.setUint32(0, metaMagic)
  view.setFloat64(4, a.cellSizeBytes)
  view.setFloat64(12, a.chunkSizeCells)
  return out
}

function decodeMeta(bytes: Uint8Array): ArrayAttributes {
  if (bytes.length !== 20) throw new DerError('DER_NONEXIST', 'the object is not an array created by this client (no metadata)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, 20)
  if (view.getUint32(0) !== metaMagic) throw new DerError('DER_PROTO', 'bad array metadata magic')
  const attrs = { cellSizeBytes: view.getFloat64(4), chunkSizeCells: view.getFloat64(12) }
  checkAttributes(attrs)
  return attrs
}

function checkAttributes(a: ArrayAttributes): void {
  checkCount(a.cellSizeBytes, 'cellSizeBytes', 1)
  checkCount(a.chunkSizeCells, 'chunkSizeCells', 1)
}

const metaDkey = new Uint8Array(8)

/** One per-chunk piece of an I/O: `count` cells from `index` in `chunk`, at `at` in the buffer. */
interface Piece {
  readonly chunk: number
  readonly index: number
  readonly count: number
  readonly atCell: number
}

/** An open array object (see the module comment). */
export class ArrayObject {
  private constructor(
    /** The underlying object. */
    readonly object: ObjectHandle,
    /** Cell and chunk sizes. */
    readonly attributes: ArrayAttributes,
  ) {}

  /** Creates the array's metadata (`daos_array_create`); `DER_INVAL` on bad sizes or a non-array oid. */
  static create(object: ObjectHandle, attributes: ArrayAttributes, options?: CallOptions): Promise<ArrayObject> {
    return runWithEvent(async () => {
      if (!isArrayType(oidType(object.oid))) throw new DerError('DER_INVAL', `object type ${oidType(object.oid)} is not an array type`)
      checkAttributes(attributes)
      const [existing] = await object.fetch(metaDkey, [{ type: 'single', akey: arrayAkey }])
      if (existing !== undefined && existing.recordSizeBytes !== 0) throw new DerError('DER_EXIST', 'the array exists already')
      await object.update(metaDkey, [{ type: 'single', akey: arrayAkey, value: encodeMeta(attributes) }])
      return new ArrayObject(object, { ...attributes })
    }, options)
  }

  /** Opens an existing array, reading its metadata (`daos_array_open`). */
  static open(object: ObjectHandle, options?: CallOptions): Promise<ArrayObject> {
    return runWithEvent(async () => {
      if (!isArrayType(oidType(object.oid))) throw new DerError('DER_INVAL', `object type ${oidType(object.oid)} is not an array type`)
      const [meta] = await object.fetch(metaDkey, [{ type: 'single', akey: arrayAkey }])
      if (meta === undefined || meta.recordSizeBytes === 0) throw new DerError('DER_NONEXIST', 'no such array')
      return new ArrayObject(object, decodeMeta(meta.data))
    }, options)
  }

  /** Splits cells `[offset, offset + count)` into per-chunk pieces. */
  private pieces(offsetCells: number, countCells: number): Piece[] {
    const chunk = this.attributes.chunkSizeCells
    const out: Piece[] = []
    let at = offsetCells
    const end = offsetCells + countCells
    while (at < end) {
      const c = Math.floor(at / chunk)
      const n = Math.min(end, (c + 1) * chunk) - at
      out.push({ chunk: c, index: at, count: n, atCell: at - offsetCells })
      at += n
    }
    return out
  }

  private checkRange(offsetCells: unknown, what: string): asserts offsetCells is number {
    checkCount(offsetCells, what)
  }

  /** Writes `data` (whole cells) from cell `offsetCells` (`daos_array_write`). */
  write(offsetCells: number, data: Uint8Array, options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      this.checkRange(offsetCells, 'offsetCells')
      checkBytes(data, 'data')
      const cell = this.attributes.cellSizeBytes
      if (data.length === 0 || data.length % cell !== 0) throw new DerError('DER_INVAL', `write data of ${data.length} bytes is not a positive number of ${cell}-byte cells`)
      const count = data.length / cell
      checkCount(offsetCells + count, 'end of write')
      await Promise.all(
        this.pieces(offsetCells, count).map((p) =>
          this.object.update(chunkDkey(p.chunk), [
            { type: 'array', akey: arrayAkey, recordSizeBytes: cell, extents: [{ index: p.index, count: p.count, data: data.subarray(p.atCell * cell, (p.atCell + p.count) * cell) }] },
          ]),
        ),
      )
    }, options)
  }

  /** Reads `countCells` cells from `offsetCells` (`daos_array_read`); holes read as zeros. */
  read(offsetCells: number, countCells: number, options?: CallOptions): Promise<Uint8Array> {
    return runWithEvent(async () => {
      this.checkRange(offsetCells, 'offsetCells')
      checkCount(countCells, 'countCells', 1)
      checkCount(offsetCells + countCells, 'end of read')
      const cell = this.attributes.cellSizeBytes
      const out = new Uint8Array(countCells * cell)
      await Promise.all(
        this.pieces(offsetCells, countCells).map(async (p) => {
          const [v] = await this.object.fetch(chunkDkey(p.chunk), [{ type: 'array', akey: arrayAkey, extents: [{ index: p.index, count: p.count }] }])
          if (v === undefined || v.recordSizeBytes === 0) return
          if (v.recordSizeBytes !== cell) throw new DerError('DER_MISMATCH', `records of ${v.recordSizeBytes} bytes in an array of ${cell}-byte cells`)
          out.set(v.data.subarray(0, p.count * cell), p.atCell * cell)
        }),
      )
      return out
    }, options)
  }

  /** The array's size in cells: the end of the greatest written cell (`daos_array_get_size`). */
  getSize(options?: CallOptions): Promise<number> {
    return runWithEvent(() => this.size(), options)
  }

  private async size(): Promise<number> {
    const top = await this.object.queryKey('max')
    const chunk = top.dkey === undefined ? undefined : chunkOfDkey(top.dkey)
    if (chunk === undefined || top.dkey === undefined) return 0
    const q = await this.object.queryKey('max', top.dkey, arrayAkey)
    if (q.extent === undefined) return chunk * this.attributes.chunkSizeCells
    return q.extent.index + q.extent.count
  }

  /**
   * Sets the size (`daos_array_set_size`) to exactly `sizeCells`: shrinking punches the chunks
   * past the end and rewrites the kept cells of the last chunk (or the last cell); growing writes
   * a zero cell at the new end (a hole before it).
   */
  setSize(sizeCells: number, options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      checkCount(sizeCells, 'sizeCells')
      const current = await this.size()
      if (sizeCells === current) return
      const cell = this.attributes.cellSizeBytes
      if (sizeCells > current) {
        await this.write(sizeCells - 1, new Uint8Array(cell))
        return
      }
      const chunk = this.attributes.chunkSizeCells
      const keepChunk = Math.floor(sizeCells / chunk)
      const partial = sizeCells % chunk
      // The cells of the last kept chunk up to the new end are rewritten after the punch, so the
      // size is exactly `sizeCells` (a hole before it reads as zeros).
      const keptFrom = partial === 0 ? sizeCells - 1 : keepChunk * chunk
      const kept = sizeCells === 0 ? undefined : await this.read(keptFrom, sizeCells - keptFrom)
      const dkeys = (await this.object.listDkeys()).filter((d) => {
        const c = chunkOfDkey(d)
        return c !== undefined && c >= keepChunk
      })
      if (dkeys.length > 0) await this.object.punchDkeys(dkeys)
      if (kept !== undefined) await this.write(keptFrom, kept)
    }, options)
  }

  /** Truncates (or extends) to `sizeCells` (an alias of {@link setSize}). */
  truncate(sizeCells: number, options?: CallOptions): Promise<void> {
    return this.setSize(sizeCells, options)
  }

  /** Destroys the array: punches the whole object (`daos_array_destroy`). */
  destroy(options?: CallOptions): Promise<void> {
    return runWithEvent(() => this.object.punch(), options)
  }
}
