/**
 * Pool service messages: handles, query, properties and ACL.
 *
 * @module
 */
import { aclType, attributeType, credentialType, poolInfoType, propertyType, statusFields } from './common-fields.ts'
import { defineMessage, t } from './schema.ts'

/** Fields every pool-service request carries: the pool, the handle and the sender's map version. */
export const poolRequestFields = { poolUuid: t.uuid, handleUuid: t.uuid, mapVersion: t.u32 } as const
/** Fields every pool-service reply carries: status and the service's map version. */
export const poolReplyFields = { ...statusFields, mapVersion: t.u32 } as const

/** Pool connect flags (`DAOS_PC_RO`, `DAOS_PC_RW`, `DAOS_PC_EX`). */
export const PoolConnectFlags = { RO: 1, RW: 2, EX: 4 } as const

/** `daos_pool_connect`. */
export const PoolConnectRequest = defineMessage('PoolConnectRequest', { ...poolRequestFields, flags: t.u32, credential: credentialType })
/** Reply of connect: the pool map and what the handle may do. */
export const PoolConnectReply = defineMessage('PoolConnectReply', { ...poolReplyFields, poolMap: t.optional(t.poolMap), info: t.optional(poolInfoType), permissions: t.string(16) })

/** `daos_pool_disconnect`. */
export const PoolDisconnectRequest = defineMessage('PoolDisconnectRequest', { ...poolRequestFields })
/** Reply with a status and map version only. */
export const PoolStatusReply = defineMessage('PoolStatusReply', { ...poolReplyFields })

/** `daos_pool_query`; the map travels back when the sender's is older. */
export const PoolQueryRequest = defineMessage('PoolQueryRequest', { ...poolRequestFields, includeMap: t.bool })
/** Reply of pool query. */
export const PoolQueryReply = defineMessage('PoolQueryReply', { ...poolReplyFields, info: poolInfoType, poolMap: t.optional(t.poolMap) })

/** `pool get-prop`: the names wanted (empty = all). */
export const PoolGetPropsRequest = defineMessage('PoolGetPropsRequest', { ...poolRequestFields, names: t.array(t.string(64), 64) })
/** Properties in a reply. */
export const PropertiesReply = defineMessage('PropertiesReply', { ...poolReplyFields, properties: t.array(propertyType, 64) })
/** `pool set-prop`. */
export const PoolSetPropsRequest = defineMessage('PoolSetPropsRequest', { ...poolRequestFields, properties: t.array(propertyType, 64) })

/** `pool get-acl`. */
export const PoolGetAclRequest = defineMessage('PoolGetAclRequest', { ...poolRequestFields })
/** An ACL in a reply. */
export const AclReply = defineMessage('AclReply', { ...poolReplyFields, acl: aclType })
/** `pool update-acl` and `pool overwrite-acl`: entries to merge or the whole list. */
export const PoolModifyAclRequest = defineMessage('PoolModifyAclRequest', { ...poolRequestFields, entries: t.array(t.string(512), 1024), overwrite: t.bool })
/** `pool delete-acl`: a principal (`u:name@`, `g:name@`, `OWNER@` ...). */
export const PoolDeleteAclRequest = defineMessage('PoolDeleteAclRequest', { ...poolRequestFields, principal: t.string(260) })

/** `pool list-attrs`, `get-attr` (names), `set-attr` (attributes), `del-attr` (names). */
export const PoolAttrsRequest = defineMessage('PoolAttrsRequest', { ...poolRequestFields, names: t.array(t.string(255), 1024), attributes: t.array(attributeType, 1024) })
/** Attributes in a reply (names only for list). */
export const AttrsReply = defineMessage('AttrsReply', { ...poolReplyFields, attributes: t.array(attributeType, 1024) })

/** `pool list-containers`. */
export const PoolListContainersRequest = defineMessage('PoolListContainersRequest', { ...poolRequestFields })
/** Reply of list-containers. */
export const PoolListContainersReply = defineMessage('PoolListContainersReply', {
  ...poolReplyFields,
  containers: t.array(t.struct({ uuid: t.uuid, label: t.string(127) })),
})
