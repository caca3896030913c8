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

/** Bytes of the LEB128 encoding of a safe non-negative integer. */
function varuintBytes(value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    size++
  }
  return size
}

function writeVaruint(into: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    into[at++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  into[at++] = value
  return at
}

/** Small headers are carved from a shared slab (one allocation per 64 KiB of headers). */
const slabBytes = 64 * 1024
let slab = new Uint8Array(slabBytes)
let slabUsed = 0

function carve(length: number): Uint8Array {
  if (length > 256) return new Uint8Array(length)
  if (slabUsed + length > slabBytes) {
    slab = new Uint8Array(slabBytes)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + length)
  // Keep 8-byte alignment for the next header.
  slabUsed += (length + 7) & ~7
  return out
}

/** Values small enough for the direct header writer (zigzag stays exact below 2^52). */
const directLimit = 2 ** 51

/**
 * Encodes a request as a gather list: a header (the struct head, the fields and the body's length
 * prefix) and the body itself, not copied. The concatenation equals {@link encodeRequest}'s bytes.
 */
export function encodeRequestParts(m: RequestMessage): Uint8Array[] {
  const direct =
    m.corpc === undefined &&
    Number.isSafeInteger(m.rpcId) && m.rpcId >= 0 && m.rpcId < directLimit &&
    Number.isSafeInteger(m.timeoutMs) && m.timeoutMs >= 0 && m.timeoutMs < directLimit &&
    Number.isSafeInteger(m.srcRank) && Math.abs(m.srcRank) < directLimit &&
    Number.isInteger(m.opcode) && m.opcode >= 0 && m.opcode <= 0xffff_ffff
  if (!direct) return splitStruct(encodeRequest(m), m.body.length)
  const zigzag = m.srcRank >= 0 ? m.srcRank * 2 : -m.srcRank * 2 - 1
  const fields = varuintBytes(m.rpcId) + 4 + varuintBytes(m.timeoutMs) + varuintBytes(zigzag) + 1 + varuintBytes(m.body.length)
  const header = carve(6 + fields)
  header[0] = 1
  header[1] = 1
  writeU32(header, 2, fields + m.body.length)
  let at = writeVaruint(header, 6, m.rpcId)
  writeU32(header, at, m.opcode)
  at = writeVaruint(header, at + 4, m.timeoutMs)
  at = writeVaruint(header, at, zigzag)
  header[at++] = 0
  writeVaruint(header, at, m.body.length)
  return m.body.length === 0 ? [header] : [header, m.body]
}

function writeU32(into: Uint8Array, at: number, value: number): void {
  into[at] = value & 0xff
  into[at + 1] = (value >>> 8) & 0xff
  into[at + 2] = (value >>> 16) & 0xff
  into[at + 3] = (value >>> 24) & 0xff
}

/** Splits encoded bytes whose last `bodyBytes` are the body into [header, body] views. */
function splitStruct(bytes: Uint8Array, bodyBytes: number): Uint8Array[] {
  const cut = bytes.length - bodyBytes
  return bodyBytes === 0 ? [bytes] : [bytes.subarray(0, cut), bytes.subarray(cut)]
}

// ---- fast decoders: the common shapes without a Decoder; anything else takes the generic path ----

let cursor = 0

/** A canonical varuint of at most 7 bytes at `cursor`, or -1 (the generic decoder then decides). */
function fastVaruint(bytes: Uint8Array, end: number): number {
  let result = 0
  let scale = 1
  for (let i = 0; i < 7 && cursor < end; i++) {
    const byte = bytes[cursor++] as number
    result += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) return i > 0 && byte === 0 ? -1 : result
    scale *= 0x80
  }
  return -1
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0
}

/** The end of a version-1 struct filling `bytes`, or -1. */
function fastStruct(bytes: Uint8Array): number {
  if (bytes.length < 6 || bytes[0] !== 1 || bytes[1] !== 1) return -1
  const end = 6 + readU32(bytes, 2)
  if (end !== bytes.length) return -1
  cursor = 6
  return end
}

/** A plain request (no corpc, small integers) decoded directly; undefined for anything else. */
function fastDecodeRequest(bytes: Uint8Array): RequestMessage | undefined {
  const end = fastStruct(bytes)
  if (end < 0) return undefined
  const rpcId = fastVaruint(bytes, end)
  if (rpcId < 0 || cursor + 4 > end) return undefined
  const opcode = readU32(bytes, cursor)
  cursor += 4
  const timeoutMs = fastVaruint(bytes, end)
  if (timeoutMs < 0) return undefined
  const zigzag = fastVaruint(bytes, end)
  if (zigzag < 0 || cursor >= end || bytes[cursor++] !== 0) return undefined
  const bodyLength = fastVaruint(bytes, end)
  if (bodyLength < 0 || cursor + bodyLength !== end) return undefined
  const srcRank = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2
  return { rpcId, opcode, timeoutMs, srcRank, body: bytes.subarray(cursor, end) }
}

/** A reply with an empty message decoded directly; undefined for anything else. */
function fastDecodeReply(bytes: Uint8Array): ReplyMessage | undefined {
  const end = fastStruct(bytes)
  if (end < 0) return undefined
  const rpcId = fastVaruint(bytes, end)
  if (rpcId < 0 || cursor + 5 > end) return undefined
  const status = readU32(bytes, cursor) | 0
  cursor += 4
  if (status > 0 || bytes[cursor++] !== 0) return undefined
  const bodyLength = fastVaruint(bytes, end)
  if (bodyLength < 0 || cursor + bodyLength !== end) return undefined
  return { rpcId, status, message: '', body: bytes.subarray(cursor, end) }
}

/** Decodes a request; throws `DecodeError` / `DerError` on bad bytes. */
export function decodeRequest(bytes: Uint8Array): RequestMessage {
  return fastDecodeRequest(bytes) ?? decodeRequestGeneric(bytes)
}

/** {@link decodeRequest} through the generic `Decoder` only (the reference of the fast path). */
export function decodeRequestGeneric(bytes: Uint8Array): RequestMessage {
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

/**
 * Encodes a reply as a gather list (header, then the body not copied); the concatenation equals
 * {@link encodeReply}'s bytes.
 */
export function encodeReplyParts(m: ReplyMessage): Uint8Array[] {
  const direct = m.message === '' && Number.isSafeInteger(m.rpcId) && m.rpcId >= 0 && m.rpcId < directLimit && Number.isInteger(m.status) && m.status >= -0x8000_0000 && m.status <= 0x7fff_ffff
  if (!direct) return splitStruct(encodeReply(m), m.body.length)
  const fields = varuintBytes(m.rpcId) + 4 + 1 + varuintBytes(m.body.length)
  const header = carve(6 + fields)
  header[0] = 1
  header[1] = 1
  writeU32(header, 2, fields + m.body.length)
  const at = writeVaruint(header, 6, m.rpcId)
  writeU32(header, at, m.status >>> 0)
  header[at + 4] = 0 // empty message string
  writeVaruint(header, at + 5, m.body.length)
  return m.body.length === 0 ? [header] : [header, m.body]
}

/** Decodes a reply. */
export function decodeReply(bytes: Uint8Array): ReplyMessage {
  return fastDecodeReply(bytes) ?? decodeReplyGeneric(bytes)
}

/** {@link decodeReply} through the generic `Decoder` only (the reference of the fast path). */
export function decodeReplyGeneric(bytes: Uint8Array): ReplyMessage {
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
