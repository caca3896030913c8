/**
 * Messages between clients and an authority, their op numbers (Ceph's `CEPH_CAP_OP_*` and
 * `CEPH_SESSION_*`), and the validation every incoming message passes before a core touches it.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type CapMask, isCapMask } from './cap-bits.ts'

/** Cap message ops with Ceph's numbers. */
export const CapOp = {
  /** authority→client: new cap set (may also carry a new max_size). */
  GRANT: 0,
  /** authority→client: bits removed; the client answers with UPDATE carrying this seq. */
  REVOKE: 1,
  /** authority→client: truncate notification (not used by this model). */
  TRUNC: 2,
  /** authority→client: the cap leaves this authority. */
  EXPORT: 3,
  /** authority→client: the cap now lives at this authority. */
  IMPORT: 4,
  /** client→authority: ack, release of bits, want change, size report, max_size request. */
  UPDATE: 5,
  /** client→authority: drop bits (not used by this model). */
  DROP: 6,
  /** client→authority: flush dirty metadata now. */
  FLUSH: 7,
  /** authority→client: the flush with `flushTid` is durable. */
  FLUSH_ACK: 8,
  /** Snapshot flush (not used by this model). */
  FLUSHSNAP: 9,
  /** Snapshot flush ack (not used by this model). */
  FLUSHSNAP_ACK: 10,
  /** client→authority: drop the cap entirely. */
  RELEASE: 11,
  /** Per-cap renew (legacy; session renew is used instead). */
  RENEW: 12,
} as const
/** A value of {@link CapOp}. */
export type CapOpValue = (typeof CapOp)[keyof typeof CapOp]

/** Session ops with Ceph's numbers. */
export const SessionOp = {
  /** client→authority: open a session. */
  REQUEST_OPEN: 0,
  /** authority→client: the session is open. */
  OPEN: 1,
  /** client→authority: close the session. */
  REQUEST_CLOSE: 2,
  /** authority→client: the session is closed (also after eviction). */
  CLOSE: 3,
  /** client→authority: renew the caps' lease. */
  REQUEST_RENEWCAPS: 4,
  /** authority→client: the renew with this seq was received. */
  RENEWCAPS: 5,
  /** authority→client: the session went stale; caps issued before are void. */
  STALE: 6,
  /** Not used by this model. */
  RECALL_STATE: 7,
  /** Not used by this model. */
  FLUSHMSG: 8,
  /** Not used by this model. */
  FLUSHMSG_ACK: 9,
  /** Not used by this model. */
  FORCE_RO: 10,
  /** authority→client: the session is refused (evicted or blocklisted client). */
  REJECT: 11,
} as const
/** A value of {@link SessionOp}. */
export type SessionOpValue = (typeof SessionOp)[keyof typeof SessionOp]

/** The other cap of an EXPORT or IMPORT. */
export interface CapPeer {
  /** The other authority's rank (target of an export, source of an import). */
  readonly authority: number
  /** The other cap's id (0 when not known yet). */
  readonly capId: number
  /** The other cap's seq. */
  readonly seq: number
  /** The other cap's migrate seq. */
  readonly mseq: number
}

/** A cap message (`CEPH_MSG_CLIENT_CAPS` body, the fields this model uses). */
export interface CapsMessage {
  /** Discriminant. */
  readonly kind: 'caps'
  /** The op. */
  readonly op: CapOpValue
  /** The authority's rank (sender or recipient). */
  readonly authority: number
  /** The client (sender or recipient). */
  readonly clientId: string
  /** Inode number. */
  readonly ino: number
  /** Cap id. */
  readonly capId: number
  /** Message seq (authority→client) or last seq received (client→authority). */
  readonly seq: number
  /** Issue seq. */
  readonly issueSeq: number
  /** Migrate seq. */
  readonly mseq: number
  /** Cap bits (granted, or kept by the client). */
  readonly caps: CapMask
  /** Bits wanted. */
  readonly wanted: CapMask
  /** Dirty metadata bits being flushed (UPDATE/FLUSH) or acked (FLUSH_ACK). */
  readonly dirty: CapMask
  /** Flush transaction id (0 when none). */
  readonly flushTid: number
  /** File size as the sender knows it. */
  readonly sizeBytes: number
  /** Granted max_size (authority→client) or requested max_size (client→authority, 0 = none). */
  readonly maxSizeBytes: number
  /** File mode bits (trusted under `As`, changed locally under `Ax`). */
  readonly mode: number
  /** Peer block of EXPORT and IMPORT. */
  readonly peer?: CapPeer
}

/** A session message (`CEPH_MSG_CLIENT_SESSION`). */
export interface SessionMessage {
  /** Discriminant. */
  readonly kind: 'session'
  /** The op. */
  readonly op: SessionOpValue
  /** The authority's rank. */
  readonly authority: number
  /** The client. */
  readonly clientId: string
  /** Renew seq (RENEWCAPS and REQUEST_RENEWCAPS), else 0. */
  readonly seq: number
}

/** client→authority: open an inode with these wanted caps (stands in for the OPEN request; the reply is a GRANT). */
export interface OpenMessage {
  /** Discriminant. */
  readonly kind: 'open'
  /** The authority's rank. */
  readonly authority: number
  /** The client. */
  readonly clientId: string
  /** Inode number. */
  readonly ino: number
  /** Wanted caps. */
  readonly wanted: CapMask
}

/** Any message of the protocol. */
export type Message = CapsMessage | SessionMessage | OpenMessage

const capOps = new Set<number>(Object.values(CapOp))
const sessionOps = new Set<number>(Object.values(SessionOp))
/** Longest client id accepted, in UTF-16 units. */
export const MAX_CLIENT_ID_LENGTH = 128

function bad(message: string, value?: unknown): never {
  throw new DerError('DER_INVAL', `invalid message: ${message}`, { details: { value } })
}

function u32(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) bad(`${field} must be a u32`, value)
  return value
}

function safeNat(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) bad(`${field} must be a safe non-negative integer`, value)
  return value
}

function mask(value: unknown, field: string): CapMask {
  if (!isCapMask(value)) bad(`${field} must be a cap mask`, value)
  return value
}

function clientId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLIENT_ID_LENGTH) bad('clientId must be a non-empty string of at most 128 units', value)
  return value
}

/**
 * Checks that `value` is a well-formed {@link Message} (known kind and op, integers in range,
 * masks of known bits); throws `DER_INVAL` otherwise. Returns it typed.
 */
export function validateMessage(value: unknown): Message {
  if (typeof value !== 'object' || value === null) bad('not an object', value)
  const m = value as Record<string, unknown>
  u32(m.authority, 'authority')
  clientId(m.clientId)
  switch (m.kind) {
    case 'caps': {
      if (typeof m.op !== 'number' || !capOps.has(m.op)) bad('unknown cap op', m.op)
      safeNat(m.ino, 'ino')
      for (const f of ['capId', 'seq', 'issueSeq', 'mseq'] as const) u32(m[f], f)
      for (const f of ['caps', 'wanted', 'dirty'] as const) mask(m[f], f)
      for (const f of ['flushTid', 'sizeBytes', 'maxSizeBytes'] as const) safeNat(m[f], f)
      u32(m.mode, 'mode')
      if (m.peer !== undefined) {
        if (typeof m.peer !== 'object' || m.peer === null) bad('peer must be an object', m.peer)
        const p = m.peer as Record<string, unknown>
        for (const f of ['authority', 'capId', 'seq', 'mseq'] as const) u32(p[f], `peer.${f}`)
      }
      return value as CapsMessage
    }
    case 'session':
      if (typeof m.op !== 'number' || !sessionOps.has(m.op)) bad('unknown session op', m.op)
      u32(m.seq, 'seq')
      return value as SessionMessage
    case 'open':
      safeNat(m.ino, 'ino')
      mask(m.wanted, 'wanted')
      return value as OpenMessage
    default:
      return bad('unknown kind', m.kind)
  }
}

/** A one-line rendering of a message for traces and logs. */
export function describeMessage(m: Message, formatMask: (mask: CapMask) => string): string {
  switch (m.kind) {
    case 'session': {
      const name = Object.entries(SessionOp).find(([, v]) => v === m.op)?.[0] ?? String(m.op)
      return `session ${name.toLowerCase()} seq=${m.seq}`
    }
    case 'open':
      return `open ino=${m.ino} wanted=${formatMask(m.wanted)}`
    case 'caps': {
      const name = Object.entries(CapOp).find(([, v]) => v === m.op)?.[0] ?? String(m.op)
      let out = `caps ${name.toLowerCase()} ino=${m.ino} cap=${m.capId} seq=${m.seq} caps=${formatMask(m.caps)} wanted=${formatMask(m.wanted)}`
      if (m.dirty !== 0) out += ` dirty=${formatMask(m.dirty)} flush=${m.flushTid}`
      if (m.op === CapOp.FLUSH_ACK) out = `caps flush_ack ino=${m.ino} cap=${m.capId} dirty=${formatMask(m.dirty)} flush=${m.flushTid}`
      else out += ` size=${m.sizeBytes} max=${m.maxSizeBytes}${m.mode === 0 ? '' : ` mode=${m.mode}`}`
      if (m.peer !== undefined) out += ` peer=${m.peer.authority}/${m.peer.capId}/${m.peer.mseq}`
      return out
    }
    default:
      return 'unknown'
  }
}
