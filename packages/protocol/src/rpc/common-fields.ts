/**
 * Field groups shared by several services: reply status, credentials, properties, ACLs,
 * attributes, pool information.
 *
 * @module
 */
import { t } from './schema.ts'

/** Longest label (pool or container), as DAOS allows. */
export const LABEL_MAX_LENGTH = 127

/** Every reply starts with a DER status (0 = success) and a message for humans. */
export const statusFields = { rc: t.i32, message: t.string(4096) } as const

/** Who is asking: user and groups as `name@` principals (DAOS's credential, unsigned here). */
export const credentialType = t.struct({ user: t.string(256), group: t.string(256), groups: t.array(t.string(256), 1024), host: t.string(256) })

/** One property on the wire: its name and canonical text value (see `parseProperty`). */
export const propertyType = t.struct({ name: t.string(64), value: t.string(65536) })

/** An ACL on the wire: owner, owner group and entries in DAOS's `TYPE:FLAGS:PRINCIPAL:PERMS` text. */
export const aclType = t.struct({ owner: t.string(256), ownerGroup: t.string(256), entries: t.array(t.string(512), 1024) })

/** A user attribute: a name and an opaque value. */
export const attributeType = t.struct({ name: t.string(255), value: t.bytes(1 << 20) })

/** Space of one storage tier (`Total size`, `Free: x, min, max, mean`). */
export const tierSpaceType = t.struct({ tier: t.enum(['scm', 'nvme'] as const), totalBytes: t.u64, freeBytes: t.u64, minFreeBytes: t.u64, maxFreeBytes: t.u64, meanFreeBytes: t.u64 })

/** Rebuild progress as `pool query` shows it. */
export const rebuildStatusType = t.struct({
  state: t.enum(['idle', 'done', 'busy', 'stopping', 'stopped', 'failing', 'failed'] as const),
  status: t.i32,
  mapVersion: t.u32,
  objects: t.u64,
  records: t.u64,
})

/** What `pool query` reports. */
export const poolInfoType = t.struct({
  uuid: t.uuid,
  label: t.string(LABEL_MAX_LENGTH),
  state: t.enum(['Creating', 'Ready', 'Destroying', 'TargetsExcluded', 'Unknown'] as const),
  mapVersion: t.u32,
  leader: t.u32,
  totalTargets: t.u32,
  activeTargets: t.u32,
  disabledTargets: t.u32,
  enabledRanks: t.array(t.u32),
  disabledRanks: t.array(t.u32),
  deadRanks: t.array(t.u32),
  rebuild: rebuildStatusType,
  space: t.array(tierSpaceType, 2),
  svcReplicas: t.array(t.u32, 64),
})

/** What `container query` reports. */
export const containerInfoType = t.struct({
  uuid: t.uuid,
  label: t.string(LABEL_MAX_LENGTH),
  layoutType: t.string(32),
  snapshotCount: t.u32,
  highestAllocatedOid: t.u64,
  latestSnapshot: t.u64,
  openHandles: t.u32,
  health: t.enum(['HEALTHY', 'UNCLEAN'] as const),
  redundancyFactor: t.u8,
})

/** A snapshot: its epoch and optional name. */
export const snapshotType = t.struct({ epoch: t.u64, name: t.string(255) })
