/**
 * Binary forms of {@link Mutation}s (WAL records) and of a whole {@link VosIndex} (checkpoint
 * images), as versioned structs. Decoders throw `DecodeError` on any malformed input, and every
 * decoded value is re-checked (ids, epochs, ranges) before it reaches the index.
 *
 * @module
 */
import { type Decoder, DecodeError, type Encoder } from '@x/common'
import { type ExtentRecord, type Version } from './extent-tree.ts'
import type { Mutation, StoredAkeyUpdate } from './mutation.ts'
import { type DataRef, type StoredData, copyValue } from './stored-data.ts'
import { AkeyNode, ContainerNode, DkeyNode, ObjectNode, type SvRecord, type VosIndex } from './vos-index.ts'
import { type ChecksumType, type DtxState, vosDtxMetaMaxBytes } from './types.ts'

const mutationTags = ['containerCreate', 'containerDestroy', 'update', 'punch', 'snapshotCreate', 'snapshotDestroy', 'aggregate', 'discard', 'dtxCommit', 'dtxAbort'] as const

function copy(bytes: Uint8Array): Uint8Array {
  return copyValue(bytes)
}

function encodeStored(e: Encoder, data: StoredData): void {
  e.varuint(data.lengthBytes)
  e.array(data.csums, (en, c) => en.u32(c))
  if (data.ref.kind === 'inline') e.u8(0).raw(data.ref.bytes)
  else e.u8(1).varuint(data.ref.offsetBytes).varuint(data.ref.allocatedBytes)
}

function decodeStored(d: Decoder): StoredData {
  const lengthBytes = d.varuint()
  const csums = d.array((de) => de.u32())
  if (csums.length !== 0 && csums.length !== Math.ceil(lengthBytes / (32 * 1024))) d.malformed(`stored value of ${lengthBytes} bytes carries ${csums.length} checksums`)
  const kind = d.u8()
  let ref: DataRef
  if (kind === 0) ref = { kind: 'inline', bytes: copy(d.raw(lengthBytes)) }
  else if (kind === 1) {
    const offsetBytes = d.varuint()
    const allocatedBytes = d.varuint()
    if (allocatedBytes < lengthBytes) d.malformed('blob allocation shorter than its value')
    ref = { kind: 'blob', offsetBytes, allocatedBytes }
  } else d.malformed(`unknown data ref kind ${kind}`)
  return { ref, lengthBytes, csums }
}

function decodeCsum(d: Decoder): ChecksumType {
  const kind = d.u8()
  if (kind > 1) d.malformed(`unknown checksum type ${kind}`)
  return kind === 0 ? 'crc32c' : 'none'
}

function encodeVersion(e: Encoder, v: Version): void {
  e.varuint64(v.epoch).varuint(v.seq).optional(v.dtx, (en, id) => en.string(id))
}

function decodeVersion(d: Decoder): Version {
  const epoch = d.varuint64()
  if (epoch === 0n) d.malformed('epoch 0')
  return { epoch, seq: d.varuint(), dtx: d.optional((de) => de.string()) }
}

function decodeUuid(d: Decoder): string {
  const id = d.string()
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) d.malformed(`bad container id ${JSON.stringify(id)}`)
  return id
}

function encodeOid(e: Encoder, oid: bigint): void {
  e.u64(oid >> 64n).u64(oid & 0xffff_ffff_ffff_ffffn)
}

function decodeOid(d: Decoder): bigint {
  return (d.u64() << 64n) | d.u64()
}

function decodeEpoch(d: Decoder): bigint {
  const epoch = d.varuint64()
  if (epoch === 0n) d.malformed('epoch 0')
  return epoch
}

function nonEmptyKey(d: Decoder): Uint8Array {
  const key = d.bytes()
  if (key.length === 0) d.malformed('empty key')
  return copy(key)
}

function decodeDtxMeta(d: Decoder): Uint8Array {
  const meta = d.bytes()
  if (meta.length > vosDtxMetaMaxBytes) d.malformed(`DTX meta of ${meta.length} bytes exceeds ${vosDtxMetaMaxBytes}`)
  return copy(meta)
}

/** The DTX meta of an update or punch, if any. */
function mutationDtxMeta(m: Mutation): Uint8Array | undefined {
  return m.type === 'update' || m.type === 'punch' ? m.dtxMeta : undefined
}

/**
 * Writes one mutation. Version 2 appends the DTX meta of a prepared update or punch; a mutation
 * without it is written as version 1 (byte-identical to older images).
 */
export function encodeMutation(e: Encoder, m: Mutation): void {
  const meta = mutationDtxMeta(m)
  e.struct(meta === undefined ? 1 : 2, 1, (en) => {
    en.u8(mutationTags.indexOf(m.type))
    switch (m.type) {
      case 'containerCreate':
        en.string(m.cont).u8(m.csum === 'crc32c' ? 0 : 1)
        break
      case 'containerDestroy':
        en.string(m.cont)
        break
      case 'update':
        en.string(m.cont)
        encodeOid(en, m.oid)
        en.varuint64(m.epoch).varuint(m.seq).bytes(m.dkey).optional(m.dtx, (x, id) => x.string(id))
        en.array(m.akeys, (x, a) => {
          x.bytes(a.akey)
          if (a.type === 'single') {
            x.u8(0)
            encodeStored(x, a.data)
          } else {
            x.u8(1).varuint(a.recordSizeBytes)
            x.array(a.extents, (y, ext) => {
              y.varuint(ext.lo).varuint(ext.hi).optional(ext.data, encodeStored)
            })
          }
        })
        break
      case 'punch':
        en.string(m.cont)
        encodeOid(en, m.oid)
        en.varuint64(m.epoch).varuint(m.seq).optional(m.dtx, (x, id) => x.string(id))
        en.optional(m.dkey, (x, k) => x.bytes(k))
        en.optional(m.akeys, (x, ks) => x.array(ks, (y, k) => y.bytes(k)))
        break
      case 'snapshotCreate':
      case 'snapshotDestroy':
      case 'aggregate':
        en.string(m.cont).varuint64(m.epoch)
        break
      case 'discard':
        en.string(m.cont).varuint64(m.lo).varuint64(m.hi)
        break
      case 'dtxCommit':
      case 'dtxAbort':
        en.string(m.id)
        break
    }
    if (meta !== undefined) en.bytes(meta)
  })
}

/** Reads one mutation. */
export function decodeMutation(d: Decoder): Mutation {
  return d.struct(2, (x, version): Mutation => {
    const tag = mutationTags[x.u8()]
    switch (tag) {
      case undefined:
        return x.malformed('unknown mutation tag')
      case 'containerCreate':
        return { type: tag, cont: decodeUuid(x), csum: decodeCsum(x) }
      case 'containerDestroy':
        return { type: tag, cont: decodeUuid(x) }
      case 'update': {
        const cont = decodeUuid(x)
        const oid = decodeOid(x)
        const epoch = decodeEpoch(x)
        const seq = x.varuint()
        const dkey = nonEmptyKey(x)
        const dtx = x.optional((y) => y.string())
        const akeys = x.array((y): StoredAkeyUpdate => {
          const akey = nonEmptyKey(y)
          const kind = y.u8()
          if (kind === 0) return { type: 'single', akey, data: decodeStored(y) }
          if (kind !== 1) return y.malformed('unknown akey update kind')
          const recordSizeBytes = y.varuint()
          const extents = y.array((z) => {
            const lo = z.varuint()
            const hi = z.varuint()
            if (hi <= lo) z.malformed('empty extent')
            return { lo, hi, data: z.optional(decodeStored) }
          })
          return { type: 'array', akey, recordSizeBytes, extents }
        })
        const dtxMeta = version >= 2 ? decodeDtxMeta(x) : undefined
        if (dtxMeta !== undefined && dtx === undefined) x.malformed('DTX meta without a DTX')
        return { type: 'update', cont, oid, epoch, seq, dkey, akeys, dtx, dtxMeta }
      }
      case 'punch': {
        const cont = decodeUuid(x)
        const oid = decodeOid(x)
        const epoch = decodeEpoch(x)
        const seq = x.varuint()
        const dtx = x.optional((y) => y.string())
        const dkey = x.optional(nonEmptyKey)
        const akeys = x.optional((y) => y.array(nonEmptyKey))
        const dtxMeta = version >= 2 ? decodeDtxMeta(x) : undefined
        if (dtxMeta !== undefined && dtx === undefined) x.malformed('DTX meta without a DTX')
        return { type: 'punch', cont, oid, epoch, seq, dkey, akeys, dtx, dtxMeta }
      }
      case 'snapshotCreate':
      case 'snapshotDestroy':
      case 'aggregate':
        return { type: tag, cont: decodeUuid(x), epoch: decodeEpoch(x) }
      case 'discard':
        return { type: tag, cont: decodeUuid(x), lo: decodeEpoch(x), hi: decodeEpoch(x) }
      case 'dtxCommit':
      case 'dtxAbort':
        return { type: tag, id: x.string() }
      default:
        return x.malformed('unknown mutation tag')
    }
  })
}

/**
 * Writes a whole index (a checkpoint image). Version 2 appends the DTX meta of prepared DTXs; an
 * index without any is written as version 1.
 */
export function encodeIndex(e: Encoder, index: VosIndex): void {
  const metas = [...index.dtxActive.values()].flatMap((entry) => (entry.meta === undefined ? [] : [[entry.id, entry.meta] as const]))
  e.struct(metas.length === 0 ? 1 : 2, 1, (en) => {
    en.varuint(index.seq)
    en.array([...index.containers.values()], (x, node) => {
      x.string(node.id).u8(node.csum === 'crc32c' ? 0 : 1).varuint64(node.aggregatedEpoch)
      x.array(node.snapshots, (y, s) => y.varuint64(s))
      x.varuint(node.objects.size)
      for (const [key, obj] of node.objects.entries()) {
        x.raw(key)
        x.array(obj.punches, encodeVersion)
        x.varuint(obj.dkeys.size)
        for (const [dkey, dk] of obj.dkeys.entries()) {
          x.bytes(dkey)
          x.array(dk.punches, encodeVersion)
          x.varuint(dk.akeys.size)
          for (const [akey, ak] of dk.akeys.entries()) {
            x.bytes(akey)
            x.u8(ak.type === undefined ? 0 : ak.type === 'single' ? 1 : 2).varuint(ak.recordSizeBytes)
            x.array(ak.punches, encodeVersion)
            x.array(ak.sv, (y, r) => {
              encodeVersion(y, r)
              encodeStored(y, r.data)
            })
            x.array(ak.ext.all(), (y, r) => {
              encodeVersion(y, r)
              y.varuint(r.lo).varuint(r.hi).optional(r.data, encodeStored)
            })
          }
        }
      }
    })
    en.array([...index.dtxActive.values()], (x, entry) => x.string(entry.id).string(entry.cont).varuint64(entry.epoch))
    en.map(index.dtxDone, (x, id) => x.string(id), (x, state) => x.u8(state === 'committed' ? 1 : 2))
    if (metas.length !== 0) en.array(metas, (x, [id, meta]) => x.string(id).bytes(meta))
  })
}

/** Reads a checkpoint image into a new index. */
export function decodeIndex(d: Decoder, index: VosIndex): VosIndex {
  return d.struct(2, (x, version) => {
    index.seq = x.varuint()
    const count = x.varuint()
    for (let c = 0; c < count; c++) {
      const node = new ContainerNode(decodeUuid(x), decodeCsum(x))
      if (index.containers.has(node.id)) x.malformed('repeated container')
      index.containers.set(node.id, node)
      node.aggregatedEpoch = x.varuint64()
      node.snapshots = x.array(decodeEpoch)
      const objects = x.varuint()
      for (let o = 0; o < objects; o++) {
        const key = copy(x.raw(16))
        const obj = new ObjectNode()
        obj.punches = x.array(decodeVersion)
        const dkeys = x.varuint()
        for (let i = 0; i < dkeys; i++) {
          const dkey = nonEmptyKey(x)
          const dk = new DkeyNode()
          dk.punches = x.array(decodeVersion)
          const akeys = x.varuint()
          for (let j = 0; j < akeys; j++) {
            const akey = nonEmptyKey(x)
            const ak = new AkeyNode()
            const type = x.u8()
            if (type > 2) x.malformed('bad akey type')
            ak.type = type === 0 ? undefined : type === 1 ? 'single' : 'array'
            ak.recordSizeBytes = x.varuint()
            ak.punches = x.array(decodeVersion)
            ak.sv = x.array((y): SvRecord => ({ ...decodeVersion(y), data: decodeStored(y) }))
            for (const r of x.array((y): ExtentRecord => {
              const v = decodeVersion(y)
              const lo = y.varuint()
              const hi = y.varuint()
              if (hi <= lo) y.malformed('empty extent')
              return { ...v, lo, hi, data: y.optional(decodeStored) }
            })) {
              ak.ext.insert(r)
            }
            for (const r of ak.sv) node.usedBytes += r.data.ref.kind === 'inline' ? r.data.lengthBytes : r.data.ref.allocatedBytes
            for (const r of ak.ext.all()) if (r.data !== undefined) node.usedBytes += r.data.ref.kind === 'inline' ? r.data.lengthBytes : r.data.ref.allocatedBytes
            dk.akeys.set(akey, ak)
          }
          obj.dkeys.set(dkey, dk)
        }
        node.objects.set(key, obj)
      }
      index.usedBytes += node.usedBytes
    }
    const active = x.array((y) => ({ id: y.string(), cont: decodeUuid(y), epoch: decodeEpoch(y) }))
    const done = x.map(
      (y) => y.string(),
      (y): DtxState => {
        const s = y.u8()
        if (s !== 1 && s !== 2) y.malformed('bad DTX state')
        return s === 1 ? 'committed' : 'aborted'
      },
    )
    for (const [id, state] of done) index.dtxDone.set(id, state)
    try {
      index.relinkDtx(active)
    } catch (error) {
      throw new DecodeError('malformed', `checkpoint DTX table does not match its records: ${String(error)}`, x.offset)
    }
    if (version >= 2) {
      for (const [id, meta] of x.array((y) => [y.string(), decodeDtxMeta(y)] as const)) {
        const entry = index.dtxActive.get(id) ?? x.malformed(`DTX meta of DTX ${id}, which is not prepared`)
        entry.meta = meta
      }
    }
    return index
  })
}
