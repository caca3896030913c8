/**
 * The cart protocols of object I/O. The client-facing protocol uses `@x/protocol`'s OBJ_* request
 * codecs and opcodes (base `0x04000000`, version 1, indexes 1-5, so cart's opcodes equal
 * `Opcode.OBJ_*`); each reply is the protocol's reply extended with an optional pool map, sent
 * when the sender's map is stale. The engine-to-engine DTX protocol (base `0x0a000000`, DAOS's
 * DTX module id 10) carries replica writes, batched commit and abort records, and DTX checks.
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
  statusFields,
  t,
} from '@x/protocol'

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
export type ObjUpdateInput = StructValue<typeof ObjUpdateRequest.fields>
/** A fetch request (`OBJ_FETCH`). */
export type ObjFetchInput = StructValue<typeof ObjFetchRequest.fields>
/** A punch request (`OBJ_PUNCH`). */
export type ObjPunchInput = StructValue<typeof ObjPunchRequest.fields>
/** An enumerate request (`OBJ_ENUMERATE`). */
export type ObjEnumerateInput = StructValue<typeof ObjEnumerateRequest.fields>
/** A query-key request (`OBJ_QUERY_KEY`). */
export type ObjQueryKeyInput = StructValue<typeof ObjQueryKeyRequest.fields>
/** An update reply. */
export type ObjUpdateOutput = StructValue<typeof ObjUpdateReplyMsg.fields>
/** A fetch reply. */
export type ObjFetchOutput = StructValue<typeof ObjFetchReplyMsg.fields>
/** A punch reply. */
export type ObjPunchOutput = StructValue<typeof ObjPunchReplyMsg.fields>
/** An enumerate reply. */
export type ObjEnumerateOutput = StructValue<typeof ObjEnumerateReplyMsg.fields>
/** A query-key reply. */
export type ObjQueryKeyOutput = StructValue<typeof ObjQueryKeyReplyMsg.fields>

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

/** A batch of DTX commit (or abort) records for one target. */
export const DtxBatchRequest = defineMessage('DtxBatchRequest', { poolUuid: t.uuid, mapVersion: t.u32, targetIndex: t.u32, ids: t.array(t.string(128), 65536) })
/** Status of a batch. */
export const DtxStatusReply = defineMessage('DtxStatusReply', { ...statusFields })
/** Asks the state of one DTX on one target. */
export const DtxCheckRequest = defineMessage('DtxCheckRequest', {
  poolUuid: t.uuid,
  targetIndex: t.u32,
  id: t.string(128),
  /** Asked of the (new) leader: resolve a DTX it holds prepared but does not run (its leader is gone). */
  resolve: t.bool,
})
/** The state of a DTX: `committable` means every replica has it durable. */
export const DtxCheckReply = defineMessage('DtxCheckReply', { ...statusFields, state: t.enum(['unknown', 'prepared', 'committable', 'committed', 'aborted'] as const) })

/** A DTX batch request. */
export type DtxBatchInput = StructValue<typeof DtxBatchRequest.fields>
/** A DTX status reply. */
export type DtxStatusOutput = StructValue<typeof DtxStatusReply.fields>
/** A DTX check request. */
export type DtxCheckInput = StructValue<typeof DtxCheckRequest.fields>
/** A DTX check reply. */
export type DtxCheckOutput = StructValue<typeof DtxCheckReply.fields>
/** What a DTX check answers. */
export type DtxCheckState = DtxCheckOutput['state']

/** Leader -> replica: apply an update prepared under the request's DTX at the request's epoch. */
export const dtxReplicaUpdateRpc: RpcFormat<ObjUpdateInput, ObjUpdateOutput> = defineRpc({ name: 'dtx_replica_update', input: ObjUpdateRequest, output: ObjUpdateReplyMsg })
/** Leader -> replica: apply a punch prepared under the request's DTX. */
export const dtxReplicaPunchRpc: RpcFormat<ObjPunchInput, ObjPunchOutput> = defineRpc({ name: 'dtx_replica_punch', input: ObjPunchRequest, output: ObjPunchReplyMsg })
/** Leader -> replica: commit records (a batch of DTX ids). */
export const dtxCommitRpc: RpcFormat<DtxBatchInput, DtxStatusOutput> = defineRpc({ name: 'dtx_commit', input: DtxBatchRequest, output: DtxStatusReply })
/** Leader -> replica: abort a DTX. */
export const dtxAbortRpc: RpcFormat<DtxBatchInput, DtxStatusOutput> = defineRpc({ name: 'dtx_abort', input: DtxBatchRequest, output: DtxStatusReply })
/** Replica -> leader (or peer): the state of a DTX. */
export const dtxCheckRpc: RpcFormat<DtxCheckInput, DtxCheckOutput> = defineRpc({ name: 'dtx_check', input: DtxCheckRequest, output: DtxCheckReply })

/** The engine-to-engine DTX protocol (DAOS's DTX module, id 10). */
export const dtxProtocol = new Protocol({ name: 'daos_dtx', baseOpcode: 0x0a000000, version: 1, rpcs: [dtxReplicaUpdateRpc, dtxReplicaPunchRpc, dtxCommitRpc, dtxAbortRpc, dtxCheckRpc] })
