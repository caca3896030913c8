/**
 * Object I/O of an engine: {@link ObjectService} (OBJ_* handlers per target, map version checks,
 * leader-based replication under DTX with batched asynchronous commits and resolution of prepared
 * DTXs on read), the engine-to-engine DTX protocol ({@link dtxProtocol}; clients call `@x/protocol`'s
 * `objectProtocol`) and a small
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
  dtxAbortRpc,
  dtxCheckRpc,
  dtxCommitRpc,
  dtxProtocol,
  dtxReplicaPunchRpc,
  dtxReplicaUpdateRpc,
} from './messages.ts'
export { ObjectService, type ObjectServiceOptions, type ObjectServiceStats } from './service.ts'
