/**
 * What a shard keeps with a prepared DTX in its VOS (`WriteOptions.dtxMeta`), so that an engine
 * restarted with the DTX still prepared can resolve it (DAOS keeps the same facts in its VOS DTX
 * entry: the DTX id and epoch, the leader and the member list). A versioned struct; the decoder
 * throws `DecodeError` on malformed bytes.
 *
 * @module
 */
import { Decoder, Encoder } from '@x/common'
import type { ObjectId } from '@x/protocol'

/** A shard of a DTX: the engine rank and its target index. */
export interface DtxMember {
  /** Engine rank. */
  readonly rank: number
  /** Target index inside the rank. */
  readonly tag: number
}

/** The facts kept with a prepared DTX on every shard that holds it. */
export interface DtxRecord {
  /** The DTX id (a UUID). */
  readonly id: string
  /** Its epoch (HLC). */
  readonly epoch: bigint
  /** The object it writes. */
  readonly oid: ObjectId
  /** The redundancy group of the object it writes. */
  readonly group: number
  /** The group leader that ran it. */
  readonly leader: DtxMember
  /** The shards that decide it when the leader is gone (the group's shards when it was prepared). */
  readonly participants: readonly DtxMember[]
}

const maxParticipants = 64

/** Encodes a {@link DtxRecord} (struct version 1). */
export function encodeDtxRecord(record: DtxRecord): Uint8Array {
  return new Encoder()
    .struct(1, 1, (e) => {
      e.string(record.id).varuint64(record.epoch).u64(record.oid.hi).u64(record.oid.lo).varuint(record.group)
      e.varuint(record.leader.rank).varuint(record.leader.tag)
      e.array(record.participants, (x, p) => x.varuint(p.rank).varuint(p.tag))
    })
    .finish()
}

/** Decodes a {@link DtxRecord}; throws `DecodeError` when the bytes are malformed. */
export function decodeDtxRecord(bytes: Uint8Array): DtxRecord {
  const d = new Decoder(bytes)
  const record = d.struct(1, (x): DtxRecord => {
    const id = x.string()
    if (id.length === 0 || id.length > 128) x.malformed('DTX id must have 1 to 128 characters')
    const epoch = x.varuint64()
    if (epoch === 0n) x.malformed('DTX epoch 0')
    const oid = { hi: x.u64(), lo: x.u64() }
    const group = x.varuint()
    const member = (y: Decoder): DtxMember => ({ rank: y.varuint(), tag: y.varuint() })
    const leader = member(x)
    const participants = x.array(member)
    if (participants.length > maxParticipants) x.malformed(`DTX with ${participants.length} participants`)
    return { id, epoch, oid, group, leader, participants }
  })
  if (d.remaining !== 0) d.malformed('trailing bytes after the DTX record')
  return record
}
