/**
 * Management service messages (the system and pool administration behind `dmg`).
 *
 * @module
 */
import { LABEL_MAX_LENGTH, aclType, poolInfoType, propertyType, statusFields } from './common-fields.ts'
import { defineMessage, t } from './schema.ts'

/** A member of the system, as `dmg system query` lists it. */
export const systemMemberType = t.struct({
  rank: t.u32,
  uuid: t.uuid,
  address: t.string(256),
  fabricUri: t.string(256),
  faultDomain: t.string(256),
  state: t.enum(['AwaitFormat', 'Starting', 'Ready', 'Joined', 'Stopping', 'Stopped', 'Excluded', 'Errored', 'Unresponsive', 'AdminExcluded', 'Unknown'] as const),
  incarnation: t.u64,
})

/** `system query`: every member, or the listed ranks. */
export const SystemQueryRequest = defineMessage('SystemQueryRequest', { ranks: t.array(t.u32) })
/** Reply of `system query`. */
export const SystemQueryReply = defineMessage('SystemQueryReply', { ...statusFields, mapVersion: t.u32, accessPoints: t.array(t.string(256), 64), members: t.array(systemMemberType) })

/** Pool identity by UUID or label, as `dmg pool` commands take it. */
const poolIdType = t.string(LABEL_MAX_LENGTH)

/** `pool create`. */
export const PoolCreateRequest = defineMessage('PoolCreateRequest', {
  uuid: t.uuid,
  label: t.string(LABEL_MAX_LENGTH),
  totalBytes: t.u64,
  tierRatioPercent: t.array(t.u8, 2),
  rankCount: t.u32,
  ranks: t.array(t.u32),
  serviceReplicas: t.u32,
  properties: t.array(propertyType, 64),
  acl: t.optional(aclType),
  user: t.string(256),
  group: t.string(256),
})
/** Reply of `pool create`. */
export const PoolCreateReply = defineMessage('PoolCreateReply', {
  ...statusFields,
  uuid: t.uuid,
  serviceLeader: t.u32,
  serviceRanks: t.array(t.u32, 64),
  storageRanks: t.array(t.u32),
  tierBytes: t.array(t.u64, 2),
})

/** `pool destroy`. */
export const PoolDestroyRequest = defineMessage('PoolDestroyRequest', { id: poolIdType, force: t.bool, recursive: t.bool })
/** Reply of `pool destroy`, `pool evict` and the other replies with nothing but a status. */
export const StatusReply = defineMessage('StatusReply', { ...statusFields })

/** `pool list`. */
export const PoolListRequest = defineMessage('PoolListRequest', { query: t.bool })
/** One pool in `pool list`. */
export const poolSummaryType = t.struct({
  uuid: t.uuid,
  label: t.string(LABEL_MAX_LENGTH),
  state: t.string(32),
  svcReplicas: t.array(t.u32, 64),
  totalBytes: t.u64,
  freeBytes: t.u64,
  imbalancePercent: t.u32,
  disabledTargets: t.u32,
  totalTargets: t.u32,
  rebuildState: t.string(32),
})
/** Reply of `pool list`. */
export const PoolListReply = defineMessage('PoolListReply', { ...statusFields, pools: t.array(poolSummaryType) })

/** `pool query` through the management service. */
export const MgmtPoolQueryRequest = defineMessage('MgmtPoolQueryRequest', { id: poolIdType, healthOnly: t.bool })
/** Reply of `pool query`. */
export const MgmtPoolQueryReply = defineMessage('MgmtPoolQueryReply', { ...statusFields, info: poolInfoType })

/** `pool exclude`, `pool drain` and `pool reintegrate`: a rank and optionally target indexes. */
export const PoolTargetsRequest = defineMessage('PoolTargetsRequest', { id: poolIdType, rank: t.u32, targetIndexes: t.array(t.u32, 1024), force: t.bool })
/** Reply of the target operations: the new pool map version. */
export const PoolTargetsReply = defineMessage('PoolTargetsReply', { ...statusFields, mapVersion: t.u32 })

/** `pool evict`. */
export const PoolEvictRequest = defineMessage('PoolEvictRequest', { id: poolIdType })

/** `system exclude`, `system stop`, `system start`: ranks to act on. */
export const SystemRanksRequest = defineMessage('SystemRanksRequest', { ranks: t.array(t.u32), force: t.bool })
