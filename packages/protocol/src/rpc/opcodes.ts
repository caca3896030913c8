/**
 * RPC opcodes in DAOS's shape `module << 24 | version << 16 | opcode`, with DAOS's module ids
 * (management 1, pool 2, container 3, object 4). The opcode numbers inside a module are ours
 * (stable, never reused); they do not match DAOS's.
 *
 * @module
 */

/** DAOS module ids (`enum daos_module_id`). */
export const RpcModule = { mgmt: 1, pool: 2, container: 3, object: 4 } as const
/** A module name. */
export type RpcModuleName = keyof typeof RpcModule

/** The protocol version carried in every opcode. */
export const RPC_PROTOCOL_VERSION = 1

/** Builds an opcode (`DAOS_RPC_OPCODE(opc, mod, ver)`). */
export function rpcOpcode(module: RpcModuleName, opcode: number, version: number = RPC_PROTOCOL_VERSION): number {
  return ((RpcModule[module] << 24) | (version << 16) | opcode) >>> 0
}

/** The module, version and in-module number of an opcode. */
export function splitOpcode(opcode: number): { module: number; version: number; number: number } {
  return { module: (opcode >>> 24) & 0xff, version: (opcode >>> 16) & 0xff, number: opcode & 0xffff }
}
