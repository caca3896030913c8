/**
 * Wire formats of CaRT messages on the fabric: a request and a reply, each a versioned struct
 * header followed by the body bytes, carried as tagged two-sided messages.
 *
 * @module
 */
import { Decoder, DerError, Encoder, derInfoByCode } from '@x/common'
import type { TreeType } from './tree.ts'

/** Fabric tag of request messages. */
export const requestTag = 0x43520001
/** Fabric tag of reply messages. */
export const replyTag = 0x43520002

/** The request is a collective RPC. */
export const flagCorpc = 1

/** Collective-RPC routing carried in a request. */
export interface CorpcHeader {
  readonly groupName: string
  readonly groupVersion: number
  readonly root: number
  readonly tree: TreeType
  readonly branchRatio: number
  readonly excluded: readonly number[]
  /** The ranks that are members of the tree. */
  readonly tag: number
}

/** A decoded request. */
export interface RequestMessage {
  readonly rpcId: number
  readonly opcode: number
  readonly timeoutMs: number
  readonly srcRank: number
  readonly corpc?: CorpcHeader
  readonly body: Uint8Array
}

/** A decoded reply: `status` 0 or a negative DER code. */
export interface ReplyMessage {
  readonly rpcId: number
  readonly status: number
  readonly message: string
  readonly body: Uint8Array
}

const treeCodes: readonly TreeType[] = ['flat', 'kary', 'knomial']
const limits = { maxBytesLength: 1 << 30, maxItems: 1 << 20 }

/** Encodes a request. */
export function encodeRequest(m: RequestMessage): Uint8Array {
  const e = new Encoder(64 + m.body.length)
  e.struct(1, 1, (s) => {
    s.varuint(m.rpcId).u32(m.opcode).varuint(m.timeoutMs).varint(m.srcRank)
    const c = m.corpc
    s.u8(c === undefined ? 0 : flagCorpc)
    if (c !== undefined) {
      s.string(c.groupName).varuint(c.groupVersion).varuint(c.root).u8(treeCodes.indexOf(c.tree)).varuint(c.branchRatio).varuint(c.tag)
      s.varuint(c.excluded.length)
      for (const r of c.excluded) s.varuint(r)
    }
    s.bytes(m.body)
  })
  return e.finish()
}

/** Decodes a request; throws `DecodeError` / `DerError` on bad bytes. */
export function decodeRequest(bytes: Uint8Array): RequestMessage {
  const d = new Decoder(bytes, limits)
  const m = d.struct(1, (s) => {
    const rpcId = s.varuint()
    const opcode = s.u32()
    const timeoutMs = s.varuint()
    const srcRank = s.varint()
    const flags = s.u8()
    if ((flags & ~flagCorpc) !== 0) s.malformed(`unknown request flags 0x${flags.toString(16)}`)
    let corpc: CorpcHeader | undefined
    if ((flags & flagCorpc) !== 0) {
      const groupName = s.string()
      const groupVersion = s.varuint()
      const root = s.varuint()
      const tree = treeCodes[s.u8()]
      if (tree === undefined) return s.malformed('unknown tree type')
      const branchRatio = s.varuint()
      const tag = s.varuint()
      const count = s.varuint()
      if (count > 1 << 20) s.malformed('too many excluded ranks')
      const excluded: number[] = []
      for (let i = 0; i < count; i++) excluded.push(s.varuint())
      corpc = { groupName, groupVersion, root, tree, branchRatio, excluded, tag }
    }
    const body = s.bytes()
    return corpc === undefined ? { rpcId, opcode, timeoutMs, srcRank, body } : { rpcId, opcode, timeoutMs, srcRank, corpc, body }
  })
  d.expectEnd()
  return m
}

/** Encodes a reply. */
export function encodeReply(m: ReplyMessage): Uint8Array {
  const e = new Encoder(32 + m.body.length + m.message.length)
  e.struct(1, 1, (s) => s.varuint(m.rpcId).i32(m.status).string(m.message).bytes(m.body))
  return e.finish()
}

/** Decodes a reply. */
export function decodeReply(bytes: Uint8Array): ReplyMessage {
  const d = new Decoder(bytes, limits)
  const m = d.struct(1, (s) => ({ rpcId: s.varuint(), status: s.i32(), message: s.string(), body: s.bytes() }))
  d.expectEnd()
  if (m.status > 0) throw new DerError('DER_PROTO', `reply status must be 0 or negative, got ${m.status}`)
  return m
}

/** The error a reply status stands for (unknown codes become `DER_PROTO`). */
export function statusToError(status: number, message: string): DerError {
  const info = derInfoByCode(status)
  if (info.code !== status) return new DerError('DER_PROTO', `peer replied with unknown status ${status}: ${message}`)
  return new DerError(info.name, message === '' ? undefined : message, { details: { remote: true } })
}

/** One failed node of a collective RPC. */
export interface CorpcFailure {
  /** The rank that failed (its whole subtree is missing from the aggregate). */
  readonly rank: number
  readonly error: DerError
}

/** The reply body of a collective RPC: the aggregated output (if any node produced one) and the failures. */
export interface CorpcReplyBody {
  readonly output?: Uint8Array
  readonly failures: readonly CorpcFailure[]
}

/** Encodes a collective reply body. */
export function encodeCorpcBody(b: CorpcReplyBody): Uint8Array {
  const e = new Encoder()
  e.struct(1, 1, (s) => {
    s.bool(b.output !== undefined)
    if (b.output !== undefined) s.bytes(b.output)
    s.varuint(b.failures.length)
    for (const f of b.failures) s.varuint(f.rank).i32(f.error.code).string(f.error.message)
  })
  return e.finish()
}

/** Decodes a collective reply body. */
export function decodeCorpcBody(bytes: Uint8Array): CorpcReplyBody {
  const d = new Decoder(bytes, limits)
  const b = d.struct(1, (s) => {
    const output = s.bool() ? s.bytes() : undefined
    const count = s.varuint()
    if (count > 1 << 20) s.malformed('too many failures')
    const failures: CorpcFailure[] = []
    for (let i = 0; i < count; i++) {
      const rank = s.varuint()
      const code = s.i32()
      failures.push({ rank, error: statusToError(code, s.string()) })
    }
    return output === undefined ? { failures } : { output, failures }
  })
  d.expectEnd()
  return b
}
