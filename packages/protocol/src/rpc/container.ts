/**
 * Container service messages (served by the pool service): create, open, close, destroy, query,
 * properties, attributes, snapshots, object id allocation.
 *
 * @module
 */
import { attributeType, containerInfoType, propertyType, snapshotType } from './common-fields.ts'
import { poolReplyFields, poolRequestFields } from './pool.ts'
import { defineMessage, t } from './schema.ts'

/** Fields of requests on an open container: the pool handle fields plus the container and its handle. */
export const containerRequestFields = { ...poolRequestFields, containerUuid: t.uuid, containerHandle: t.uuid } as const

/** Container open flags (`DAOS_COO_RO`, `DAOS_COO_RW`, `DAOS_COO_EX`, `DAOS_COO_FORCE`). */
export const ContainerOpenFlags = { RO: 1, RW: 2, EX: 4, FORCE: 16 } as const

/** `daos_cont_create`. */
export const ContCreateRequest = defineMessage('ContCreateRequest', { ...poolRequestFields, containerUuid: t.uuid, properties: t.array(propertyType, 64) })
/** `daos_cont_open` by UUID or label (one of them empty). */
export const ContOpenRequest = defineMessage('ContOpenRequest', { ...poolRequestFields, containerUuid: t.optional(t.uuid), label: t.string(127), containerHandle: t.uuid, flags: t.u32 })
/** Reply of open: the container and its properties. */
export const ContOpenReply = defineMessage('ContOpenReply', { ...poolReplyFields, info: containerInfoType, properties: t.array(propertyType, 64) })
/** `daos_cont_close`. */
export const ContCloseRequest = defineMessage('ContCloseRequest', { ...containerRequestFields })
/** `daos_cont_destroy` by UUID or label. */
export const ContDestroyRequest = defineMessage('ContDestroyRequest', { ...poolRequestFields, containerUuid: t.optional(t.uuid), label: t.string(127), force: t.bool })
/** `daos_cont_query`. */
export const ContQueryRequest = defineMessage('ContQueryRequest', { ...containerRequestFields })
/** Reply of query. */
export const ContQueryReply = defineMessage('ContQueryReply', { ...poolReplyFields, info: containerInfoType })
/** `container get-prop` (names, empty = all). */
export const ContGetPropsRequest = defineMessage('ContGetPropsRequest', { ...containerRequestFields, names: t.array(t.string(64), 64) })
/** `container set-prop`. */
export const ContSetPropsRequest = defineMessage('ContSetPropsRequest', { ...containerRequestFields, properties: t.array(propertyType, 64) })
/** `container list-attrs`, `get-attr`, `set-attr`, `del-attr`. */
export const ContAttrsRequest = defineMessage('ContAttrsRequest', { ...containerRequestFields, names: t.array(t.string(255), 1024), attributes: t.array(attributeType, 1024) })
/** `container create-snap`. */
export const ContCreateSnapRequest = defineMessage('ContCreateSnapRequest', { ...containerRequestFields, name: t.string(255) })
/** Reply of create-snap: the snapshot's epoch. */
export const ContCreateSnapReply = defineMessage('ContCreateSnapReply', { ...poolReplyFields, epoch: t.u64 })
/** `container list-snaps`. */
export const ContListSnapsRequest = defineMessage('ContListSnapsRequest', { ...containerRequestFields })
/** Reply of list-snaps. */
export const ContListSnapsReply = defineMessage('ContListSnapsReply', { ...poolReplyFields, snapshots: t.array(snapshotType) })
/** `container destroy-snap`: an epoch range (inclusive) or one epoch (`first == last`). */
export const ContDestroySnapRequest = defineMessage('ContDestroySnapRequest', { ...containerRequestFields, firstEpoch: t.u64, lastEpoch: t.u64 })
/** `daos_cont_alloc_oids`: reserve `count` object ids. */
export const ContAllocOidsRequest = defineMessage('ContAllocOidsRequest', { ...containerRequestFields, count: t.u64 })
/** Reply of alloc-oids: the first reserved id. */
export const ContAllocOidsReply = defineMessage('ContAllocOidsReply', { ...poolReplyFields, firstOid: t.u64 })
