/**
 * The cart protocol that carries SWIM between engines (`swim`, base `0xfe000000`, like CaRT's
 * `CRT_OPC_SWIM_BASE`). SWIM messages are datagrams: each rides one RPC whose reply is empty,
 * sent with a short timeout, and a failed or late RPC is simply a lost message.
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import { type StructValue, defineMessage, t } from '@x/protocol'

/** Largest encoded SWIM message carried (a sync of a large group fits easily). */
export const maxSwimPayloadBytes = 1 << 20

/** One SWIM datagram: the `@x/swim` wire bytes. */
export const SwimDatagram = defineMessage('SwimDatagram', { payload: t.bytes(maxSwimPayloadBytes) })
/** The empty reply of a SWIM datagram (its only use is to complete the RPC). */
export const SwimDatagramReply = defineMessage('SwimDatagramReply', {})

/** A SWIM datagram. */
export type SwimDatagramInput = StructValue<typeof SwimDatagram.fields>
/** The reply of a SWIM datagram. */
export type SwimDatagramOutput = StructValue<typeof SwimDatagramReply.fields>

/** Engine -> engine: one SWIM message. */
export const swimDatagramRpc: RpcFormat<SwimDatagramInput, SwimDatagramOutput> = defineRpc({ name: 'swim_datagram', input: SwimDatagram, output: SwimDatagramReply })

/** The SWIM protocol of the engines (CaRT's SWIM opcode base). */
export const swimProtocol = new Protocol({ name: 'swim', baseOpcode: 0xfe000000, version: 1, rpcs: [swimDatagramRpc] })
