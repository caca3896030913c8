/**
 * Rebuild, reintegration and drain of a pool on an engine: {@link RebuildService} scans the
 * engine's targets after a pool map change and pushes every shard that moved from its
 * deterministic surviving holder to its new target over the `rebuild` cart protocol
 * ({@link rebuildProtocol}); {@link planObjectRebuild} is the pure plan of one object and
 * {@link assembleEcShardHistory} recomputes a lost erasure-coded shard.
 *
 * @module
 */
export { type EcShardRebuildInput, assembleEcShardHistory } from './ec-rebuild.ts'
export {
  RebuildHistoryReply,
  RebuildHistoryRequest,
  type RebuildHistoryInput,
  type RebuildHistoryOutput,
  RebuildPushReply,
  RebuildPushRequest,
  type RebuildPushInput,
  type RebuildPushOutput,
  type WireDkeyHistory,
  akeyHistoryType,
  dkeyHistoryType,
  historyBytes,
  historyFromWire,
  historyRecordCount,
  historyToWire,
  rebuildHistoryRpc,
  rebuildProtocol,
  rebuildPushRpc,
  splitDkeyHistory,
} from './messages.ts'
export { type ObjectRebuildPlan, type ShardPush, type TargetAddress, isRebuildSource, planObjectRebuild, rebuildSource } from './plan.ts'
export { RebuildService, type RebuildProgress, type RebuildServiceOptions, type RebuildState, type RebuildStats } from './service.ts'
