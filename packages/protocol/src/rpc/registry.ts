/**
 * Every RPC: its name, opcode, and request and reply codecs. Client and engine look messages up
 * here by opcode.
 *
 * @module
 */
import { DerError } from '@x/common'
import * as cont from './container.ts'
import * as mgmt from './mgmt.ts'
import * as obj from './object.ts'
import { type RpcModuleName, rpcOpcode } from './opcodes.ts'
import * as pool from './pool.ts'
import type { AnyMessageCodec } from './schema.ts'

/** One RPC. */
export interface RpcDefinition {
  /** Its name (`POOL_CONNECT`). */
  readonly name: RpcName
  /** The module it belongs to. */
  readonly module: RpcModuleName
  /** Its opcode. */
  readonly opcode: number
  /** The request codec. */
  readonly request: AnyMessageCodec
  /** The reply codec. */
  readonly reply: AnyMessageCodec
}

/** The RPC table: name, module, number inside the module, request and reply codecs. */
export const rpcTable = [
  ['MGMT_SYSTEM_QUERY', 'mgmt', 1, mgmt.SystemQueryRequest, mgmt.SystemQueryReply],
  ['MGMT_SYSTEM_EXCLUDE', 'mgmt', 2, mgmt.SystemRanksRequest, mgmt.StatusReply],
  ['MGMT_SYSTEM_STOP', 'mgmt', 3, mgmt.SystemRanksRequest, mgmt.StatusReply],
  ['MGMT_SYSTEM_START', 'mgmt', 4, mgmt.SystemRanksRequest, mgmt.StatusReply],
  ['MGMT_POOL_CREATE', 'mgmt', 10, mgmt.PoolCreateRequest, mgmt.PoolCreateReply],
  ['MGMT_POOL_DESTROY', 'mgmt', 11, mgmt.PoolDestroyRequest, mgmt.StatusReply],
  ['MGMT_POOL_LIST', 'mgmt', 12, mgmt.PoolListRequest, mgmt.PoolListReply],
  ['MGMT_POOL_QUERY', 'mgmt', 13, mgmt.MgmtPoolQueryRequest, mgmt.MgmtPoolQueryReply],
  ['MGMT_POOL_EXCLUDE', 'mgmt', 14, mgmt.PoolTargetsRequest, mgmt.PoolTargetsReply],
  ['MGMT_POOL_DRAIN', 'mgmt', 15, mgmt.PoolTargetsRequest, mgmt.PoolTargetsReply],
  ['MGMT_POOL_REINTEGRATE', 'mgmt', 16, mgmt.PoolTargetsRequest, mgmt.PoolTargetsReply],
  ['MGMT_POOL_EVICT', 'mgmt', 17, mgmt.PoolEvictRequest, mgmt.StatusReply],
  ['POOL_CONNECT', 'pool', 1, pool.PoolConnectRequest, pool.PoolConnectReply],
  ['POOL_DISCONNECT', 'pool', 2, pool.PoolDisconnectRequest, pool.PoolStatusReply],
  ['POOL_QUERY', 'pool', 3, pool.PoolQueryRequest, pool.PoolQueryReply],
  ['POOL_PROP_GET', 'pool', 4, pool.PoolGetPropsRequest, pool.PropertiesReply],
  ['POOL_PROP_SET', 'pool', 5, pool.PoolSetPropsRequest, pool.PoolStatusReply],
  ['POOL_ACL_GET', 'pool', 6, pool.PoolGetAclRequest, pool.AclReply],
  ['POOL_ACL_UPDATE', 'pool', 7, pool.PoolModifyAclRequest, pool.AclReply],
  ['POOL_ACL_DELETE', 'pool', 8, pool.PoolDeleteAclRequest, pool.AclReply],
  ['POOL_ATTR_LIST', 'pool', 9, pool.PoolAttrsRequest, pool.AttrsReply],
  ['POOL_ATTR_GET', 'pool', 10, pool.PoolAttrsRequest, pool.AttrsReply],
  ['POOL_ATTR_SET', 'pool', 11, pool.PoolAttrsRequest, pool.PoolStatusReply],
  ['POOL_ATTR_DEL', 'pool', 12, pool.PoolAttrsRequest, pool.PoolStatusReply],
  ['POOL_LIST_CONT', 'pool', 13, pool.PoolListContainersRequest, pool.PoolListContainersReply],
  ['CONT_CREATE', 'container', 1, cont.ContCreateRequest, pool.PoolStatusReply],
  ['CONT_OPEN', 'container', 2, cont.ContOpenRequest, cont.ContOpenReply],
  ['CONT_CLOSE', 'container', 3, cont.ContCloseRequest, pool.PoolStatusReply],
  ['CONT_DESTROY', 'container', 4, cont.ContDestroyRequest, pool.PoolStatusReply],
  ['CONT_QUERY', 'container', 5, cont.ContQueryRequest, cont.ContQueryReply],
  ['CONT_PROP_GET', 'container', 6, cont.ContGetPropsRequest, pool.PropertiesReply],
  ['CONT_PROP_SET', 'container', 7, cont.ContSetPropsRequest, pool.PoolStatusReply],
  ['CONT_ATTR_LIST', 'container', 8, cont.ContAttrsRequest, pool.AttrsReply],
  ['CONT_ATTR_GET', 'container', 9, cont.ContAttrsRequest, pool.AttrsReply],
  ['CONT_ATTR_SET', 'container', 10, cont.ContAttrsRequest, pool.PoolStatusReply],
  ['CONT_ATTR_DEL', 'container', 11, cont.ContAttrsRequest, pool.PoolStatusReply],
  ['CONT_SNAP_CREATE', 'container', 12, cont.ContCreateSnapRequest, cont.ContCreateSnapReply],
  ['CONT_SNAP_LIST', 'container', 13, cont.ContListSnapsRequest, cont.ContListSnapsReply],
  ['CONT_SNAP_DESTROY', 'container', 14, cont.ContDestroySnapRequest, pool.PoolStatusReply],
  ['CONT_OID_ALLOC', 'container', 15, cont.ContAllocOidsRequest, cont.ContAllocOidsReply],
  ['OBJ_UPDATE', 'object', 1, obj.ObjUpdateRequest, obj.ObjUpdateReply],
  ['OBJ_FETCH', 'object', 2, obj.ObjFetchRequest, obj.ObjFetchReply],
  ['OBJ_PUNCH', 'object', 3, obj.ObjPunchRequest, obj.ObjPunchReply],
  ['OBJ_ENUMERATE', 'object', 4, obj.ObjEnumerateRequest, obj.ObjEnumerateReply],
  ['OBJ_QUERY_KEY', 'object', 5, obj.ObjQueryKeyRequest, obj.ObjQueryKeyReply],
] as const satisfies readonly (readonly [string, RpcModuleName, number, AnyMessageCodec, AnyMessageCodec])[]

/** The name of an RPC. */
export type RpcName = (typeof rpcTable)[number][0]

/** Every RPC, in module then opcode order. */
export const rpcDefinitions: readonly RpcDefinition[] = Object.freeze(
  rpcTable.map(([name, module, number, request, reply]): RpcDefinition => Object.freeze({ name, module, opcode: rpcOpcode(module, number), request, reply })),
)
const byOpcode = new Map(rpcDefinitions.map((d) => [d.opcode, d]))
const byName = new Map<string, RpcDefinition>(rpcDefinitions.map((d) => [d.name, d]))

/** The RPC with this opcode; throws `DER_NOSYS` for an unknown one (DAOS's answer to an unregistered opcode). */
export function rpcByOpcode(opcode: number): RpcDefinition {
  const found = byOpcode.get(opcode)
  if (found === undefined) throw new DerError('DER_NOSYS', `unknown RPC opcode 0x${(opcode >>> 0).toString(16)}`)
  return found
}

/** The RPC named `name` (`OBJ_UPDATE`); throws `DER_NOSYS` for an unknown name. */
export function rpcByName(name: string): RpcDefinition {
  const found = byName.get(name)
  if (found === undefined) throw new DerError('DER_NOSYS', `unknown RPC '${name}'`)
  return found
}

/** The opcodes by name, for switch statements (`Opcode.OBJ_UPDATE`). */
export const Opcode = Object.freeze(Object.fromEntries(rpcDefinitions.map((d) => [d.name, d.opcode]))) as Readonly<Record<RpcName, number>>
