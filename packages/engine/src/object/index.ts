/**
 * Object I/O of an engine: {@link ObjectService} (OBJ_* handlers per target, map version checks,
 * leader-based replication under DTX with batched asynchronous commits and resolution of prepared
 * DTXs on read, and erasure coding for the EC classes: read-modify-write at the group leader,
 * gathered and degraded fetches), the engine-to-engine DTX protocol ({@link dtxProtocol}, with the
 * EC shard reads; clients call `@x/protocol`'s `objectProtocol`), a small {@link ObjectClient},
 * the DTX record every shard keeps with a prepare so a restarted engine resolves its in-doubt
 * writes ({@link DtxRecord}, {@link encodeDtxRecord}), and the pure erasure-coding pieces: the Reed-Solomon codec ({@link ErasureCodec}: GF(2^8),
 * XOR for one parity, ISA-L's Cauchy rows for more; reconstructs any P lost cells) and the
 * cell/stripe index arithmetic ({@link ecPieces}, {@link ecDefaultCellRecords}).
 *
 * @module
 */
export {
  ErasureCodec,
  ecEncode,
  ecGeneratorMatrix,
  ecReconstruct,
  gfInv,
  gfInvertMatrix,
  gfMul,
  gfPolynomial,
  maxEcCells,
  splitStripe,
} from './ec-codec.ts'
export {
  type CellPiece,
  type EcGeometry,
  type RecordRange,
  checkEcGeometry,
  ecDefaultCellRecords,
  ecObjectIndex,
  ecPieces,
  ecShardRangeToObject,
  mergeRanges,
  stripeRecords,
} from './ec-layout.ts'
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
  ecShardEnumerateRpc,
  ecShardFetchRpc,
  ecShardQueryKeyRpc,
} from './messages.ts'
export { type DtxRecoveryResult, ObjectService, type ObjectServiceOptions, type ObjectServiceStats } from './service.ts'
export { type DtxMember, type DtxRecord, decodeDtxRecord, encodeDtxRecord } from './dtx-record.ts'
