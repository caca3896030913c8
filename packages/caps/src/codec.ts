/**
 * The wire codec of {@link Message}: a versioned struct (Ceph-style `ENCODE_START`) per message,
 * decoded with limits and validated, so bad bytes give a `DecodeError` or `DER_INVAL`, never a
 * half-built message.
 *
 * @module
 */
import { DecodeError, Decoder, Encoder } from '@x/common'
import { MAX_CLIENT_ID_LENGTH, type Message, validateMessage } from './messages.ts'

const kindCodes = { caps: 1, session: 2, open: 3 } as const
const codecVersion = 1

/** Encodes a message (validating it first). */
export function encodeMessage(message: Message): Uint8Array {
  const m = validateMessage(message)
  const e = new Encoder(96)
  e.struct(codecVersion, 1, (s) => {
    s.u8(kindCodes[m.kind]).u32(m.authority).string(m.clientId)
    switch (m.kind) {
      case 'caps':
        s.u8(m.op).varuint(m.ino).u32(m.capId).u32(m.seq).u32(m.issueSeq).u32(m.mseq)
        s.u32(m.caps).u32(m.wanted).u32(m.dirty).varuint(m.flushTid).varuint(m.sizeBytes).varuint(m.maxSizeBytes).u32(m.mode)
        s.optional(m.peer, (p, peer) => p.u32(peer.authority).u32(peer.capId).u32(peer.seq).u32(peer.mseq))
        break
      case 'session':
        s.u8(m.op).u32(m.seq)
        break
      case 'open':
        s.varuint(m.ino).u32(m.wanted)
        break
    }
  })
  return e.finish()
}

/**
 * Decodes one message that fills `bytes` exactly. Throws `DecodeError` on malformed bytes and
 * `DER_INVAL` when the fields decode but do not form a valid message.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const d = new Decoder(bytes, { maxBytesLength: MAX_CLIENT_ID_LENGTH * 4, maxItems: 16 })
  const message = d.struct(codecVersion, (s): Message => {
    const kindCode = s.u8()
    const authority = s.u32()
    const clientId = s.string()
    switch (kindCode) {
      case kindCodes.caps: {
        const op = s.u8()
        const ino = s.varuint()
        const capId = s.u32()
        const seq = s.u32()
        const issueSeq = s.u32()
        const mseq = s.u32()
        const caps = s.u32()
        const wanted = s.u32()
        const dirty = s.u32()
        const flushTid = s.varuint()
        const sizeBytes = s.varuint()
        const maxSizeBytes = s.varuint()
        const mode = s.u32()
        const peer = s.optional((p) => ({ authority: p.u32(), capId: p.u32(), seq: p.u32(), mseq: p.u32() }))
        const base = { kind: 'caps' as const, op: op as never, authority, clientId, ino, capId, seq, issueSeq, mseq, caps, wanted, dirty, flushTid, sizeBytes, maxSizeBytes, mode }
        return peer === undefined ? base : { ...base, peer }
      }
      case kindCodes.session:
        return { kind: 'session', authority, clientId, op: s.u8() as never, seq: s.u32() }
      case kindCodes.open:
        return { kind: 'open', authority, clientId, ino: s.varuint(), wanted: s.u32() }
      default:
        throw new DecodeError('malformed', `unknown message kind ${kindCode}`, 0)
    }
  })
  d.expectEnd()
  return validateMessage(message)
}
