/**
 * The client side of the object I/O wire protocol: `@x/protocol`'s OBJ_* request codecs on a
 * `@x/cart` protocol (base `0x04000000`, version 1, indexes 1-5 so cart opcodes equal
 * `Opcode.OBJ_*`). Each reply is the protocol's reply plus an optional pool map, which an engine
 * sends when the client's map is stale. Defined here (not imported from the engine) so the
 * client library carries no server code.
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
  type StructValue,
  defineMessage,
  t,
} from '@x/protocol'

const withMap = { poolMap: t.optional(t.poolMap) } as const
const UpdateReply = defineMessage('ObjUpdateReplyMsg', { ...ObjUpdateReply.fields, ...withMap })
const FetchReply = defineMessage('ObjFetchReplyMsg', { ...ObjFetchReply.fields, ...withMap })
const PunchReply = defineMessage('ObjPunchReplyMsg', { ...ObjPunchReply.fields, ...withMap })
const EnumerateReply = defineMessage('ObjEnumerateReplyMsg', { ...ObjEnumerateReply.fields, ...withMap })
const QueryKeyReply = defineMessage('ObjQueryKeyReplyMsg', { ...ObjQueryKeyReply.fields, ...withMap })
const Empty = defineMessage('ObjReserved', {})

/** An update request (`OBJ_UPDATE`). */
export type UpdateInput = StructValue<typeof ObjUpdateRequest.fields>
/** A fetch request (`OBJ_FETCH`). */
export type FetchInput = StructValue<typeof ObjFetchRequest.fields>
/** A punch request (`OBJ_PUNCH`). */
export type PunchInput = StructValue<typeof ObjPunchRequest.fields>
/** An enumerate request (`OBJ_ENUMERATE`). */
export type EnumerateInput = StructValue<typeof ObjEnumerateRequest.fields>
/** A query-key request (`OBJ_QUERY_KEY`). */
export type QueryKeyInput = StructValue<typeof ObjQueryKeyRequest.fields>
/** An update reply. */
export type UpdateOutput = StructValue<typeof UpdateReply.fields>
/** A fetch reply. */
export type FetchOutput = StructValue<typeof FetchReply.fields>
/** A punch reply. */
export type PunchOutput = StructValue<typeof PunchReply.fields>
/** An enumerate reply. */
export type EnumerateOutput = StructValue<typeof EnumerateReply.fields>
/** A query-key reply. */
export type QueryKeyOutput = StructValue<typeof QueryKeyReply.fields>

const reservedRpc = defineRpc({ name: 'obj_reserved', input: Empty, output: Empty })
/** `OBJ_UPDATE`. */
export const updateRpc: RpcFormat<UpdateInput, UpdateOutput> = defineRpc({ name: 'obj_update', input: ObjUpdateRequest, output: UpdateReply })
/** `OBJ_FETCH`. */
export const fetchRpc: RpcFormat<FetchInput, FetchOutput> = defineRpc({ name: 'obj_fetch', input: ObjFetchRequest, output: FetchReply })
/** `OBJ_PUNCH`. */
export const punchRpc: RpcFormat<PunchInput, PunchOutput> = defineRpc({ name: 'obj_punch', input: ObjPunchRequest, output: PunchReply })
/** `OBJ_ENUMERATE`. */
export const enumerateRpc: RpcFormat<EnumerateInput, EnumerateOutput> = defineRpc({ name: 'obj_enumerate', input: ObjEnumerateRequest, output: EnumerateReply })
/** `OBJ_QUERY_KEY`. */
export const queryKeyRpc: RpcFormat<QueryKeyInput, QueryKeyOutput> = defineRpc({ name: 'obj_query_key', input: ObjQueryKeyRequest, output: QueryKeyReply })

/** The object I/O protocol as a client registers it on its cart (`cart.registerProtocol`). */
export const clientObjectProtocol = new Protocol({
  name: 'daos_obj',
  baseOpcode: 0x04000000,
  version: 1,
  rpcs: [reservedRpc, updateRpc, fetchRpc, punchRpc, enumerateRpc, queryKeyRpc],
})
