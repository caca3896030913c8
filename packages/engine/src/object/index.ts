/**
 * Object I/O of an engine: {@link ObjectService} (OBJ_* handlers per target, map version checks,
 * leader-based replication under DTX with batched asynchronous commits and resolution of prepared
 * DTXs on read), the cart protocols ({@link objectProtocol}, {@link dtxProtocol}) and a small
 * {@link ObjectClient}.
 *
 * @module
 */
export { ObjectClient, type ObjectClientOptions, type ObjectReadOptions } from './client.ts'
export { type FetchedValue, type Iod, decodeAnchor, encodeAnchor, fetchResultsToWire, fetchesFromWire, fetchesToWire, objectKey, updatesFromWire, updatesToWire, vosOid } from './convert.ts'
export {
  DtxBatchRequest,
  DtxCheckReply,
  DtxCheckRequest,
  DtxStatusReply,
  type DtxBatchInput,
  type DtxCheckInput,
  type DtxCheckOutput,
  type DtxCheckState,
  type DtxStatusOutput,
  ObjEnumerateReplyMsg,
  ObjFetchReplyMsg,
  ObjPunchReplyMsg,
  ObjQueryKeyReplyMsg,
  ObjUpdateReplyMsg,
  type ObjEnumerateInput,
  type ObjEnumerateOutput,
  type ObjFetchInput,
  type ObjFetchOutput,
  type ObjPunchInput,
  type ObjPunchOutput,
  type ObjQueryKeyInput,
  type ObjQueryKeyOutput,
  type ObjUpdateInput,
  type ObjUpdateOutput,
  dtxAbortRpc,
  dtxCheckRpc,
  dtxCommitRpc,
  dtxProtocol,
  dtxReplicaPunchRpc,
  dtxReplicaUpdateRpc,
  objEnumerateRpc,
  objFetchRpc,
  objPunchRpc,
  objQueryKeyRpc,
  objReservedRpc,
  objUpdateRpc,
  objectProtocol,
} from './messages.ts'
export { ObjectService, type ObjectServiceOptions, type ObjectServiceStats } from './service.ts'
