/**
 * The cart protocols of object I/O. The client-facing protocol is `@x/protocol`'s `objectProtocol`. The engine-to-engine DTX protocol (base `0x0a000000`, DAOS's
 * DTX module id 10) carries replica writes, batched commit and abort records, and DTX checks.
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import {
  type ObjEnumerateInput,
  type ObjEnumerateOutput,
  ObjEnumerateReplyMsg,
  ObjEnumerateRequest,
  type ObjFetchInput,
  type ObjFetchOutput,
  ObjFetchReplyMsg,
  ObjFetchRequest,
  type ObjQueryKeyInput,
  type ObjQueryKeyOutput,
  ObjQueryKeyReplyMsg,
  ObjQueryKeyRequest,
  type ObjPunchInput,
  type ObjPunchOutput,
  ObjPunchRequest,
  ObjPunchReplyMsg,
  type ObjUpdateInput,
  type ObjUpdateOutput,
  ObjUpdateReplyMsg,
  ObjUpdateRequest,
  type StructValue,
  defineMessage,
  statusFields,
  t,
} from '@x/protocol'


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

/**
 * Engine -> engine, for erasure-coded objects: read one shard as it is stored (shard-local
 * indexes, parity cells on parity shards), at the request's epoch. The engine serving an EC fetch
 * gathers the data cells with it and reconstructs missing ones from parity.
 */
export const ecShardFetchRpc: RpcFormat<ObjFetchInput, ObjFetchOutput> = defineRpc({ name: 'ec_shard_fetch', input: ObjFetchRequest, output: ObjFetchReplyMsg })
/** Engine -> engine, for EC objects: enumerate one shard as stored (shard-local extents). */
export const ecShardEnumerateRpc: RpcFormat<ObjEnumerateInput, ObjEnumerateOutput> = defineRpc({ name: 'ec_shard_enumerate', input: ObjEnumerateRequest, output: ObjEnumerateReplyMsg })
/** Engine -> engine, for EC objects: query-key on one shard as stored. */
export const ecShardQueryKeyRpc: RpcFormat<ObjQueryKeyInput, ObjQueryKeyOutput> = defineRpc({ name: 'ec_shard_query_key', input: ObjQueryKeyRequest, output: ObjQueryKeyReplyMsg })

/** The engine-to-engine DTX protocol (DAOS's DTX module, id 10), with the EC shard reads appended. */
export const dtxProtocol = new Protocol({
  name: 'daos_dtx',
  baseOpcode: 0x0a000000,
  version: 1,
  rpcs: [dtxReplicaUpdateRpc, dtxReplicaPunchRpc, dtxCommitRpc, dtxAbortRpc, dtxCheckRpc, ecShardFetchRpc, ecShardEnumerateRpc, ecShardQueryKeyRpc],
})
