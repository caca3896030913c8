/**
 * The wire format of SWIM messages, on `@x/common`'s `Encoder`/`Decoder`.
 *
 * Layout (a versioned struct, version 1, compat 1):
 * `from u32, fromIncarnation varuint, to u32, bodyType u8, body..., updates: varuint count,
 * then per update (member u32, incarnation varuint, state u8, reporter u32)`.
 * Bodies: ping/ack/nack `seq u32`; ping-req `seq u32, target u32`; join and gossip nothing; sync
 * an update array. Body types and states are indexes into {@link swimBodyTypes} and {@link memberStates}.
 *
 * @module
 */
import { DecodeError, Decoder, Encoder } from '@x/common'
import { maxUpdatesPerMessage } from './message-check.ts'
import { type MemberUpdate, type SwimBody, type SwimMessage, memberStates, swimBodyTypes } from './types.ts'

/** The struct version this codec writes and the newest it reads. */
export const swimWireVersion = 1

function writeUpdate(encoder: Encoder, update: MemberUpdate): void {
  encoder.u32(update.member).varuint(update.incarnation).u8(memberStates.indexOf(update.state)).u32(update.reporter)
}

function readUpdate(decoder: Decoder): MemberUpdate {
  const member = decoder.u32()
  const incarnation = decoder.varuint()
  const stateIndex = decoder.u8()
  const state = memberStates[stateIndex]
  if (state === undefined) decoder.malformed(`unknown member state ${stateIndex}`)
  const reporter = decoder.u32()
  return { member, incarnation, state, reporter }
}

/** Encodes a message (assumed well formed: the core only produces checked messages). */
export function encodeSwimMessage(message: SwimMessage): Uint8Array {
  return new Encoder(64)
    .struct(swimWireVersion, 1, (e) => {
      e.u32(message.from).varuint(message.fromIncarnation).u32(message.to)
      const body = message.body
      e.u8(swimBodyTypes.indexOf(body.type))
      switch (body.type) {
        case 'ping':
        case 'ack':
        case 'nack':
          e.u32(body.seq)
          break
        case 'ping-req':
          e.u32(body.seq).u32(body.target)
          break
        case 'join':
        case 'gossip':
          break
        case 'sync':
          e.array(body.members, writeUpdate)
          break
      }
      e.array(message.updates, writeUpdate)
    })
    .finish()
}

function readBody(decoder: Decoder): SwimBody {
  const typeIndex = decoder.u8()
  const type = swimBodyTypes[typeIndex]
  if (type === undefined) decoder.malformed(`unknown body type ${typeIndex}`)
  switch (type) {
    case 'ping':
    case 'ack':
    case 'nack':
      return { type, seq: decoder.u32() }
    case 'ping-req':
      return { type, seq: decoder.u32(), target: decoder.u32() }
    case 'join':
    case 'gossip':
      return { type }
    case 'sync':
      return { type, members: decoder.array(readUpdate) }
  }
}

/**
 * Decodes a message. Truncated, malformed, over-long or too-new input throws a
 * `DecodeError` from `@x/common` (`DER_TRUNC`, `DER_PROTO`, `DER_OVERFLOW`, `DER_DF_INCOMPT`); trailing
 * bytes after the struct are malformed too.
 */
export function decodeSwimMessage(bytes: Uint8Array): SwimMessage {
  const decoder = new Decoder(bytes, { maxItems: maxUpdatesPerMessage })
  const message = decoder.struct(swimWireVersion, (d): SwimMessage => {
    const from = d.u32()
    const fromIncarnation = d.varuint()
    const to = d.u32()
    const body = readBody(d)
    const updates = d.array(readUpdate)
    return { from, fromIncarnation, to, body, updates }
  })
  if (decoder.remaining !== 0) throw new DecodeError('malformed', `${decoder.remaining} trailing bytes after the message`, decoder.offset)
  return message
}
