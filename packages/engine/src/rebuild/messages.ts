/**
 * The engine-to-engine rebuild protocol (`rebuild`, base `0x0b000000`, DAOS's rebuild module
 * id 11): a surviving holder pushes an object's stored history (every committed version and
 * punch with its epoch, see `@x/vos`'s `objectHistory`) to the target that now holds a shard;
 * the receiver replays it idempotently (`applyHistory`).
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import { DerError } from '@x/common'
import { type StructValue, defineMessage, statusFields, t } from '@x/protocol'
import type { AkeyHistory, HistoryRecords } from '@x/vos'

const stamp = t.struct({ epoch: t.u64, seq: t.u64 })
const keyBytes = 4096

/** One akey's history on the wire. */
export const akeyHistoryType = t.struct({
  akey: t.bytes(keyBytes),
  type: t.enum(['none', 'single', 'array'] as const),
  recordSizeBytes: t.u32,
  punches: t.array(stamp),
  singles: t.array(t.struct({ epoch: t.u64, seq: t.u64, value: t.bytes() })),
  extents: t.array(t.struct({ epoch: t.u64, seq: t.u64, index: t.u64, count: t.u64, hole: t.bool, data: t.bytes() })),
})

/** One dkey's history on the wire. */
export const dkeyHistoryType = t.struct({ dkey: t.bytes(keyBytes), punches: t.array(stamp), akeys: t.array(akeyHistoryType) })

/** Holder -> new holder: part of an object's history for target `targetIndex`. */
export const RebuildPushRequest = defineMessage('RebuildPushRequest', {
  poolUuid: t.uuid,
  /** The pool map version the rebuild moves to. */
  mapVersion: t.u32,
  targetIndex: t.u32,
  containerUuid: t.uuid,
  oid: t.oid,
  /** Object punches (sent with the object's first push only). */
  punches: t.array(stamp),
  dkeys: t.array(dkeyHistoryType),
})

/** What the receiver did: versions and punches written, and those it already held. */
export const RebuildPushReply = defineMessage('RebuildPushReply', { ...statusFields, applied: t.u32, skipped: t.u32 })

/** Pusher -> surviving shard of an erasure-coded group: a page of that shard's stored history. */
export const RebuildHistoryRequest = defineMessage('RebuildHistoryRequest', {
  poolUuid: t.uuid,
  targetIndex: t.u32,
  containerUuid: t.uuid,
  oid: t.oid,
  /** Start after this dkey (empty: from the start). */
  after: t.bytes(keyBytes),
  maxDkeys: t.u32,
  /** Keep the dkeys of these groups only (empty: all). */
  groups: t.array(t.u32, 4096),
  /** The group's shards, to resolve DTXs the shard still holds prepared (the asked one skips itself). */
  participants: t.array(t.struct({ rank: t.u32, targetIndex: t.u32, holdsEveryWrite: t.bool }), 4096),
  /** The group's leader before the change, if any. */
  leader: t.optional(t.struct({ rank: t.u32, targetIndex: t.u32 })),
})

/** A page of a shard's stored history (committed versions only). */
export const RebuildHistoryReply = defineMessage('RebuildHistoryReply', { ...statusFields, punches: t.array(stamp), dkeys: t.array(dkeyHistoryType), anchor: t.bytes(keyBytes), done: t.bool })

/** A history page request. */
export type RebuildHistoryInput = StructValue<typeof RebuildHistoryRequest.fields>
/** A history page. */
export type RebuildHistoryOutput = StructValue<typeof RebuildHistoryReply.fields>

/** A rebuild push. */
export type RebuildPushInput = StructValue<typeof RebuildPushRequest.fields>
/** The reply of a rebuild push. */
export type RebuildPushOutput = StructValue<typeof RebuildPushReply.fields>
/** One dkey's history as it travels. */
export type WireDkeyHistory = StructValue<typeof dkeyHistoryType.fields>

/** Holder -> new holder: replay part of an object's history. */
export const rebuildPushRpc: RpcFormat<RebuildPushInput, RebuildPushOutput> = defineRpc({ name: 'rebuild_push', input: RebuildPushRequest, output: RebuildPushReply })

/** Pusher -> surviving EC shard: read a page of its stored history (to rebuild a lost cell). */
export const rebuildHistoryRpc: RpcFormat<RebuildHistoryInput, RebuildHistoryOutput> = defineRpc({ name: 'rebuild_history', input: RebuildHistoryRequest, output: RebuildHistoryReply })

/** The engine-to-engine rebuild protocol (DAOS's rebuild module, id 11). */
export const rebuildProtocol = new Protocol({ name: 'rebuild', baseOpcode: 0x0b000000, version: 1, rpcs: [rebuildPushRpc, rebuildHistoryRpc] })

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER)

function safe(value: bigint, what: string): number {
  if (value > maxSafe) throw new DerError('DER_INVAL', `rebuild push: ${what} ${value} is too large`)
  return Number(value)
}

/** The wire form of dkey histories (what a holder sends). */
export function historyToWire(dkeys: HistoryRecords['dkeys']): WireDkeyHistory[] {
  return dkeys.map((dk) => ({
    dkey: dk.dkey,
    punches: dk.punches.map((p) => ({ epoch: p.epoch, seq: BigInt(p.seq) })),
    akeys: dk.akeys.map((ak) => ({
      akey: ak.akey,
      type: ak.type ?? 'none',
      recordSizeBytes: ak.recordSizeBytes,
      punches: ak.punches.map((p) => ({ epoch: p.epoch, seq: BigInt(p.seq) })),
      singles: ak.singles.map((s) => ({ epoch: s.epoch, seq: BigInt(s.seq), value: s.value })),
      extents: ak.extents.map((e) => ({ epoch: e.epoch, seq: BigInt(e.seq), index: BigInt(e.index), count: BigInt(e.count), hole: e.data === undefined, data: e.data ?? new Uint8Array(0) })),
    })),
  }))
}

/**
 * The history records of a push, checked (`DER_INVAL`): positive epochs, extents with data of
 * `count * recordSizeBytes` bytes, values only under akeys of their type.
 */
export function historyFromWire(input: Pick<RebuildPushInput, 'punches' | 'dkeys'>): HistoryRecords {
  const stampOf = (p: { epoch: bigint; seq: bigint }): { epoch: bigint; seq: number } => {
    if (p.epoch < 1n) throw new DerError('DER_INVAL', 'rebuild push: epochs start at 1')
    return { epoch: p.epoch, seq: safe(p.seq, 'seq') }
  }
  return {
    punches: input.punches.map(stampOf),
    dkeys: input.dkeys.map((dk) => ({
      dkey: dk.dkey,
      punches: dk.punches.map(stampOf),
      akeys: dk.akeys.map((ak): AkeyHistory => {
        const type = ak.type === 'none' ? undefined : ak.type
        if (type !== 'single' && ak.singles.length > 0) throw new DerError('DER_INVAL', 'rebuild push: single values under an akey that is not single')
        if (type !== 'array' && ak.extents.length > 0) throw new DerError('DER_INVAL', 'rebuild push: extents under an akey that is not an array')
        if (type === 'array' && ak.recordSizeBytes < 1) throw new DerError('DER_INVAL', 'rebuild push: an array needs recordSizeBytes >= 1')
        return {
          akey: ak.akey,
          type,
          recordSizeBytes: type === 'array' ? ak.recordSizeBytes : 0,
          punches: ak.punches.map(stampOf),
          singles: ak.singles.map((s) => ({ ...stampOf(s), value: s.value })),
          extents: ak.extents.map((e) => {
            const count = safe(e.count, 'extent count')
            const index = safe(e.index, 'extent index')
            if (count < 1) throw new DerError('DER_INVAL', 'rebuild push: an extent needs count >= 1')
            if (e.hole) {
              if (e.data.length !== 0) throw new DerError('DER_INVAL', 'rebuild push: a hole carries no data')
              return { ...stampOf(e), index, count, data: undefined }
            }
            if (e.data.length !== count * ak.recordSizeBytes) throw new DerError('DER_INVAL', `rebuild push: extent of ${count} records needs ${count * ak.recordSizeBytes} bytes, got ${e.data.length}`)
            return { ...stampOf(e), index, count, data: e.data }
          }),
        }
      }),
    })),
  }
}

/** What a version or punch costs on the wire besides its value (epoch, seq, index, count, tags). */
const versionCostBytes = 32

/** Bytes a dkey history carries, about (to size pushes). */
export function historyBytes(dk: HistoryRecords['dkeys'][number]): number {
  let n = dk.dkey.length + versionCostBytes * dk.punches.length
  for (const ak of dk.akeys) {
    n += ak.akey.length + versionCostBytes * (ak.punches.length + ak.singles.length + ak.extents.length)
    for (const s of ak.singles) n += s.value.length
    for (const e of ak.extents) n += e.data?.length ?? 0
  }
  return n
}

/** Versions and punches a history holds. */
export function historyRecordCount(history: HistoryRecords): number {
  let n = history.punches.length
  for (const dk of history.dkeys) {
    n += dk.punches.length
    for (const ak of dk.akeys) n += ak.punches.length + ak.singles.length + ak.extents.length
  }
  return n
}

/**
 * Splits one dkey's history into pieces of about `maxBytes` (value bytes plus a small cost per
 * version), so no push outgrows the fabric's message limit: akeys go to separate pieces, an akey's
 * versions are spread over pieces, and an array extent larger than half the limit is cut into
 * sub-extents at the same epoch (the same records at the same version). The dkey's punches ride
 * with the first piece, an akey's with its first. A single value larger than the limit stays one
 * piece.
 */
export function splitDkeyHistory(dk: HistoryRecords['dkeys'][number], maxBytes: number): HistoryRecords['dkeys'][number][] {
  if (!(maxBytes > 0)) throw new DerError('DER_INVAL', `maxBytes must be > 0, got ${maxBytes}`)
  type Akey = { akey: Uint8Array; type: AkeyHistory['type']; recordSizeBytes: number; punches: AkeyHistory['punches'][number][]; singles: AkeyHistory['singles'][number][]; extents: AkeyHistory['extents'][number][] }
  const pieces: HistoryRecords['dkeys'][number][] = []
  let akeys: Akey[] = []
  let dkeyPunches = dk.punches
  let size = dk.dkey.length + versionCostBytes * dk.punches.length
  const flush = (): void => {
    if (akeys.length === 0 && dkeyPunches.length === 0) return
    pieces.push({ dkey: dk.dkey, punches: dkeyPunches, akeys })
    akeys = []
    dkeyPunches = []
    size = dk.dkey.length
  }
  for (const ak of dk.akeys) {
    const fresh = (punches: readonly AkeyHistory['punches'][number][]): Akey => ({ akey: ak.akey, type: ak.type, recordSizeBytes: ak.recordSizeBytes, punches: [...punches], singles: [], extents: [] })
    let cur = fresh(ak.punches)
    let curSize = ak.akey.length + versionCostBytes * ak.punches.length
    const add = (bytes: number, put: (a: Akey) => void): void => {
      const hasContent = akeys.length > 0 || cur.singles.length > 0 || cur.extents.length > 0
      if (hasContent && size + curSize + bytes > maxBytes) {
        if (cur.singles.length > 0 || cur.extents.length > 0 || cur.punches.length > 0) akeys.push(cur)
        flush()
        cur = fresh([])
        curSize = ak.akey.length
      }
      put(cur)
      curSize += bytes
    }
    for (const s of ak.singles) add(s.value.length + versionCostBytes, (a) => a.singles.push(s))
    const rs = ak.recordSizeBytes
    const perPiece = rs > 0 ? Math.max(1, Math.floor(maxBytes / 2 / rs)) : 1
    for (const e of ak.extents) {
      if (e.data === undefined || e.count <= perPiece) {
        add((e.data?.length ?? 0) + versionCostBytes, (a) => a.extents.push(e))
        continue
      }
      const data = e.data
      for (let i = 0; i < e.count; i += perPiece) {
        const count = Math.min(perPiece, e.count - i)
        const sub = { epoch: e.epoch, seq: e.seq, index: e.index + i, count, data: data.subarray(i * rs, (i + count) * rs) }
        add(count * rs + versionCostBytes, (a) => a.extents.push(sub))
      }
    }
    akeys.push(cur)
    size += curSize
  }
  flush()
  return pieces.length === 0 ? [{ dkey: dk.dkey, punches: [], akeys: [] }] : pieces
}
