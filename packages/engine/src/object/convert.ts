/**
 * Conversions between `@x/protocol`'s object I/O wire fields and `@x/vos`'s value descriptors,
 * with validation (`DER_INVAL`) of everything that comes off the wire, and enumeration anchors.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { ObjectId as WireObjectId, StructValue, iodType } from '@x/protocol'
import type { AkeyFetch, AkeyFetchResult, AkeyUpdate, EnumAnchor, ObjectId as VosObjectId, RecxUpdate } from '@x/vos'

/** One I/O descriptor as it travels. */
export type Iod = StructValue<typeof iodType.fields>

const maxIndex = BigInt(Number.MAX_SAFE_INTEGER)

/** The VOS form (one 128-bit bigint) of a wire object id. */
export function vosOid(oid: WireObjectId): VosObjectId {
  return (oid.hi << 64n) | oid.lo
}

/** A printable key for an object of a container (locks, DTX tables). */
export function objectKey(cont: string, oid: WireObjectId): string {
  return `${cont}/${oid.hi.toString(16)}.${oid.lo.toString(16)}`
}

function safeNumber(value: bigint, what: string): number {
  if (value > maxIndex) throw new DerError('DER_INVAL', `${what} ${value} is too large`)
  return Number(value)
}

/** Builds the VOS updates of an update request; `DER_INVAL` when iods and data do not match. */
export function updatesFromWire(iods: readonly Iod[], data: readonly Uint8Array[]): AkeyUpdate[] {
  if (iods.length === 0) throw new DerError('DER_INVAL', 'an update needs at least one iod')
  if (iods.length !== data.length) throw new DerError('DER_INVAL', `${iods.length} iods but ${data.length} data buffers`)
  return iods.map((iod, i): AkeyUpdate => {
    const buf = data[i] as Uint8Array
    if (iod.type === 'single') {
      if (iod.recxs.length !== 0) throw new DerError('DER_INVAL', `iod ${i}: a single value has no extents`)
      if (iod.recordSizeBytes !== BigInt(buf.length)) throw new DerError('DER_INVAL', `iod ${i}: recordSizeBytes ${iod.recordSizeBytes} but ${buf.length} data bytes`)
      return { type: 'single', akey: iod.akey, value: buf }
    }
    const recordSizeBytes = safeNumber(iod.recordSizeBytes, 'recordSizeBytes')
    if (recordSizeBytes < 1) throw new DerError('DER_INVAL', `iod ${i}: an array needs recordSizeBytes >= 1`)
    if (iod.recxs.length === 0) throw new DerError('DER_INVAL', `iod ${i}: an array update needs extents`)
    let at = 0
    const extents: RecxUpdate[] = iod.recxs.map((r) => {
      const index = safeNumber(r.index, 'recx index')
      const count = safeNumber(r.count, 'recx count')
      const bytes = count * recordSizeBytes
      if (count < 1 || at + bytes > buf.length) throw new DerError('DER_INVAL', `iod ${i}: extents need ${at + bytes} bytes, data has ${buf.length}`)
      const part = buf.subarray(at, at + bytes)
      at += bytes
      return { index, count, data: part }
    })
    if (at !== buf.length) throw new DerError('DER_INVAL', `iod ${i}: extents cover ${at} bytes, data has ${buf.length}`)
    return { type: 'array', akey: iod.akey, recordSizeBytes, extents }
  })
}

/** The wire form of VOS updates (client side). */
export function updatesToWire(akeys: readonly AkeyUpdate[]): { iods: Iod[]; data: Uint8Array[] } {
  const iods: Iod[] = []
  const data: Uint8Array[] = []
  for (const a of akeys) {
    if (a.type === 'single') {
      iods.push({ akey: a.akey, type: 'single', recordSizeBytes: BigInt(a.value.length), recxs: [] })
      data.push(a.value)
      continue
    }
    const parts: Uint8Array[] = []
    for (const e of a.extents) {
      if (e.data === undefined) throw new DerError('DER_INVAL', 'punching array extents through update is not supported; use punch')
      parts.push(e.data)
    }
    const total = parts.reduce((n, p) => n + p.length, 0)
    const buf = new Uint8Array(total)
    let at = 0
    for (const p of parts) {
      buf.set(p, at)
      at += p.length
    }
    iods.push({ akey: a.akey, type: 'array', recordSizeBytes: BigInt(a.recordSizeBytes), recxs: a.extents.map((e) => ({ index: BigInt(e.index), count: BigInt(e.count) })) })
    data.push(buf)
  }
  return { iods, data }
}

/** Builds the VOS fetch descriptors of a fetch request. */
export function fetchesFromWire(iods: readonly Iod[]): AkeyFetch[] {
  if (iods.length === 0) throw new DerError('DER_INVAL', 'a fetch needs at least one iod')
  return iods.map((iod): AkeyFetch => {
    if (iod.type === 'single') return { type: 'single', akey: iod.akey }
    return { type: 'array', akey: iod.akey, extents: iod.recxs.map((r) => ({ index: safeNumber(r.index, 'recx index'), count: safeNumber(r.count, 'recx count') })) }
  })
}

/** The wire form of VOS fetch descriptors (client side). */
export function fetchesToWire(akeys: readonly AkeyFetch[]): Iod[] {
  return akeys.map((a): Iod => (a.type === 'single' ? { akey: a.akey, type: 'single', recordSizeBytes: 0n, recxs: [] } : { akey: a.akey, type: 'array', recordSizeBytes: 0n, recxs: a.extents.map((e) => ({ index: BigInt(e.index), count: BigInt(e.count) })) }))
}

/** The wire form of fetch results: per iod its record size (0 = absent) and data. */
export function fetchResultsToWire(results: readonly AkeyFetchResult[]): { recordSizes: bigint[]; data: Uint8Array[] } {
  return {
    recordSizes: results.map((r) => (r.type === 'single' ? BigInt(r.value?.length ?? 0) : BigInt(r.recordSizeBytes))),
    data: results.map((r) => (r.type === 'single' ? (r.value ?? new Uint8Array(0)) : r.data)),
  }
}

/** A fetched value as the client sees it: record size (0 = absent) and bytes. */
export interface FetchedValue {
  readonly akey: Uint8Array
  readonly recordSizeBytes: number
  readonly data: Uint8Array
}

/** Encodes an enumeration anchor (empty = start). */
export function encodeAnchor(anchor: EnumAnchor | undefined): Uint8Array {
  if (anchor === undefined) return new Uint8Array(0)
  if (anchor.kind === 'key') {
    const out = new Uint8Array(1 + anchor.after.length)
    out[0] = 1
    out.set(anchor.after, 1)
    return out
  }
  if (anchor.kind === 'index') {
    const out = new Uint8Array(9)
    out[0] = 3
    new DataView(out.buffer).setFloat64(1, anchor.from)
    return out
  }
  throw new DerError('DER_INVAL', 'object anchors do not travel in object enumerations')
}

/** Decodes an enumeration anchor; `DER_INVAL` on bad bytes. */
export function decodeAnchor(bytes: Uint8Array): EnumAnchor | undefined {
  if (bytes.length === 0) return undefined
  if (bytes[0] === 1) return { kind: 'key', after: bytes.slice(1) }
  if (bytes[0] === 3 && bytes.length === 9) {
    const from = new DataView(bytes.buffer, bytes.byteOffset, 9).getFloat64(1)
    if (!Number.isSafeInteger(from) || from < 0) throw new DerError('DER_INVAL', 'bad index anchor')
    return { kind: 'index', from }
  }
  throw new DerError('DER_INVAL', 'bad enumeration anchor')
}
