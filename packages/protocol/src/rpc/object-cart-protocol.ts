/**
 * The cart protocol of object I/O, shared by client and engine: `@x/protocol`'s OBJ_* request
 * codecs and opcodes (base `0x04000000`, version 1, indexes 1-5, so cart's opcodes equal
 * `Opcode.OBJ_*`); each reply is the protocol's reply extended with an optional pool map, sent
 * when the sender's map is stale.
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import {
  ObjEnumerateReply,
  ObjEnumerateRequest,
  ObjFetchReply,
  ObjFetchRequest,
  ObjPunchReply,
  ObjPunchRequest,
  ObjQueryKeyReply,
  ObjQueryKeyRequest,
  ObjUpdateReply,
  ObjUpdateRequest,
} from './object.ts'
import { type MessageValue, defineMessage, t } from './schema.ts'

const withMap = { poolMap: t.optional(t.poolMap) } as const

/** Update reply plus the engine's pool map when the sender's was stale. */
export const ObjUpdateReplyMsg = defineMessage('ObjUpdateReplyMsg', { ...ObjUpdateReply.fields, ...withMap })
/** Fetch reply plus the engine's pool map when the sender's was stale. */
export const ObjFetchReplyMsg = defineMessage('ObjFetchReplyMsg', { ...ObjFetchReply.fields, ...withMap })
/** Punch reply plus the engine's pool map when the sender's was stale. */
export const ObjPunchReplyMsg = defineMessage('ObjPunchReplyMsg', { ...ObjPunchReply.fields, ...withMap })
/** Enumerate reply plus the engine's pool map when the sender's was stale. */
export const ObjEnumerateReplyMsg = defineMessage('ObjEnumerateReplyMsg', { ...ObjEnumerateReply.fields, ...withMap })
/** Query-key reply plus the engine's pool map when the sender's was stale. */
export const ObjQueryKeyReplyMsg = defineMessage('ObjQueryKeyReplyMsg', { ...ObjQueryKeyReply.fields, ...withMap })

/** An update request (`OBJ_UPDATE`). */
export type ObjUpdateInput = MessageValue<typeof ObjUpdateRequest>
/** A fetch request (`OBJ_FETCH`). */
export type ObjFetchInput = MessageValue<typeof ObjFetchRequest>
/** A punch request (`OBJ_PUNCH`). */
export type ObjPunchInput = MessageValue<typeof ObjPunchRequest>
/** An enumerate request (`OBJ_ENUMERATE`). */
export type ObjEnumerateInput = MessageValue<typeof ObjEnumerateRequest>
/** A query-key request (`OBJ_QUERY_KEY`). */
export type ObjQueryKeyInput = MessageValue<typeof ObjQueryKeyRequest>
/** An update reply. */
export type ObjUpdateOutput = MessageValue<typeof ObjUpdateReplyMsg>
/** A fetch reply. */
export type ObjFetchOutput = MessageValue<typeof ObjFetchReplyMsg>
/** A punch reply. */
export type ObjPunchOutput = MessageValue<typeof ObjPunchReplyMsg>
/** An enumerate reply. */
export type ObjEnumerateOutput = MessageValue<typeof ObjEnumerateReplyMsg>
/** A query-key reply. */
export type ObjQueryKeyOutput = MessageValue<typeof ObjQueryKeyReplyMsg>

const Empty = defineMessage('ObjReserved', {})

/** Index 0 of the object protocol is reserved so the indexes match the OBJ_* numbers. */
export const objReservedRpc = defineRpc({ name: 'obj_reserved', input: Empty, output: Empty })
/** `OBJ_UPDATE`. */
export const objUpdateRpc: RpcFormat<ObjUpdateInput, ObjUpdateOutput> = defineRpc({ name: 'obj_update', input: ObjUpdateRequest, output: ObjUpdateReplyMsg })
/** `OBJ_FETCH`. */
export const objFetchRpc: RpcFormat<ObjFetchInput, ObjFetchOutput> = defineRpc({ name: 'obj_fetch', input: ObjFetchRequest, output: ObjFetchReplyMsg })
/** `OBJ_PUNCH`. */
export const objPunchRpc: RpcFormat<ObjPunchInput, ObjPunchOutput> = defineRpc({ name: 'obj_punch', input: ObjPunchRequest, output: ObjPunchReplyMsg })
/** `OBJ_ENUMERATE`. */
export const objEnumerateRpc: RpcFormat<ObjEnumerateInput, ObjEnumerateOutput> = defineRpc({ name: 'obj_enumerate', input: ObjEnumerateRequest, output: ObjEnumerateReplyMsg })
/** `OBJ_QUERY_KEY`. */
export const objQueryKeyRpc: RpcFormat<ObjQueryKeyInput, ObjQueryKeyOutput> = defineRpc({ name: 'obj_query_key', input: ObjQueryKeyRequest, output: ObjQueryKeyReplyMsg })

/** The client-facing object protocol; its opcodes equal `@x/protocol`'s `Opcode.OBJ_*`. */
export const objectProtocol = new Protocol({ name: 'daos_obj', baseOpcode: 0x04000000, version: 1, rpcs: [objReservedRpc, objUpdateRpc, objFetchRpc, objPunchRpc, objEnumerateRpc, objQueryKeyRpc] })

/**
 * The largest message an object I/O endpoint accepts (give it to cart as `maxUnexpectedBytes` on
 * engines and clients). Updates and fetches carry their data inline (no bulk transfer yet), so a
 * 4 MiB value with its headers, or a 4 MiB EC stripe with its parity, must fit: 16 MiB.
 */
export const objectMaxMessageBytes = 16 << 20
