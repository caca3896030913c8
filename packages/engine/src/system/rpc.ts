/**
 * The cart protocols between the engines of a system: `rdb` (Raft messages of named replicated
 * groups), `mgmt` (management-service operations forwarded to its leader, and the requests the
 * MS leader makes of ranks: open a pool's targets, start a pool service replica, push a map) and
 * `pool` (pool and container operations forwarded to a pool service leader). The last two carry
 * one generic call: an operation name and its arguments as a `Value` tree, answered with either
 * a result tree or a typed error with the leader hint of `DER_NOTLEADER`.
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import { DecodeError, DerError, type DerName, type StructCodec, isDerError, isDerName, toDerError } from '@x/common'
import { leaderHintOf } from '../rsm.ts'
import { type Value, decodeValue, encodeValue } from '../value.ts'

/** A Raft message of group `group` (`ms`, `pool/<uuid>`), encoded with `@x/raft`'s `encodeMessage`. */
export interface RdbMessageInput {
  readonly group: string
  readonly message: Uint8Array
}

const maxGroupNameLength = 64
const maxOpLength = 64
const maxRaftMessageBytes = 64 << 20

const rdbInputCodec: StructCodec<RdbMessageInput> = {
  name: 'x.engine.rdb-message',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => {
    e.string(v.group).bytes(v.message)
  },
  decodeFields: (d) => {
    const group = d.string()
    const message = d.bytes().slice()
    if (group.length === 0 || group.length > maxGroupNameLength) d.malformed(`rdb group name must have 1..${maxGroupNameLength} characters`)
    if (message.length > maxRaftMessageBytes) d.malformed('rdb message too large')
    return { group, message }
  },
}

const emptyCodec: StructCodec<Record<string, never>> = {
  name: 'x.engine.empty',
  version: 1,
  compat: 1,
  encodeFields: () => {},
  decodeFields: () => ({}),
}

/** The input of a generic system call. */
export interface SystemCallInput {
  /** What the call is about: a pool UUID for pool calls, empty otherwise. */
  readonly target: string
  /** The operation name. */
  readonly op: string
  /** The arguments, a `Value` tree encoded with `encodeValue`. */
  readonly args: Uint8Array
}

/** The output of a generic system call. */
export interface SystemCallOutput {
  readonly ok: boolean
  /** DER name of the failure (empty when ok). */
  readonly error: string
  readonly message: string
  /** With `DER_NOTLEADER`: the leader's Raft id (0: unknown). */
  readonly leaderHint: number
  /** The result, a `Value` tree encoded with `encodeValue` (empty when failed). */
  readonly result: Uint8Array
}

const callInputCodec: StructCodec<SystemCallInput> = {
  name: 'x.engine.system-call',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => {
    e.string(v.target).string(v.op).bytes(v.args)
  },
  decodeFields: (d) => {
    const target = d.string()
    const op = d.string()
    const args = d.bytes().slice()
    if (target.length > maxOpLength) d.malformed('call target too long')
    if (op.length === 0 || op.length > maxOpLength) d.malformed(`call op must have 1..${maxOpLength} characters`)
    return { target, op, args }
  },
}

const callOutputCodec: StructCodec<SystemCallOutput> = {
  name: 'x.engine.system-reply',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => {
    e.bool(v.ok).string(v.error).string(v.message).varuint(v.leaderHint).bytes(v.result)
  },
  decodeFields: (d) => {
    const ok = d.bool()
    const error = d.string()
    const message = d.string()
    const leaderHint = d.varuint()
    const result = d.bytes().slice()
    if (!ok && !isDerName(error)) d.malformed(`unknown error name '${error}'`)
    return { ok, error, message, leaderHint, result }
  },
}

/** Raft message of a replicated group (one-way: the reply is empty). */
export const rdbMessageRpc: RpcFormat<RdbMessageInput, Record<string, never>> = defineRpc({ name: 'rdb_raft', input: rdbInputCodec, output: emptyCodec })
/** A management call: MS operations (answered by the MS leader) and rank operations. */
export const mgmtCallRpc: RpcFormat<SystemCallInput, SystemCallOutput> = defineRpc({ name: 'mgmt_call', input: callInputCodec, output: callOutputCodec })
/** A pool call, answered by the pool service leader. */
export const poolCallRpc: RpcFormat<SystemCallInput, SystemCallOutput> = defineRpc({ name: 'pool_call', input: callInputCodec, output: callOutputCodec })

/** The `rdb` protocol (base `0x05000000`): Raft messages between replicas of system groups. */
export const rdbProtocol = new Protocol({ name: 'rdb', baseOpcode: 0x05000000, version: 1, rpcs: [rdbMessageRpc] })
/** The `mgmt` protocol (base `0x01000000`, DAOS's MGMT module id 1). */
export const mgmtProtocol = new Protocol({ name: 'mgmt', baseOpcode: 0x01000000, version: 1, rpcs: [mgmtCallRpc] })
/** The `pool` protocol (base `0x02000000`, DAOS's POOL module id 2): pool and container calls. */
export const poolProtocol = new Protocol({ name: 'pool', baseOpcode: 0x02000000, version: 1, rpcs: [poolCallRpc] })

/** Encodes call arguments. */
export function encodeArgs(args: Value): Uint8Array {
  return encodeValue(args)
}

/** Decodes call arguments or a result; a `DecodeError` becomes `DER_PROTO`. */
export function decodeArgs(bytes: Uint8Array): Value {
  try {
    return decodeValue(bytes)
  } catch (e) {
    if (e instanceof DecodeError) throw new DerError('DER_PROTO', `bad call payload: ${e.message}`)
    throw e
  }
}

/** The reply of a successful call. */
export function okReply(result: Value): SystemCallOutput {
  return { ok: true, error: '', message: '', leaderHint: 0, result: encodeValue(result) }
}

/** The reply of a failed call. */
export function errorReply(error: unknown): SystemCallOutput {
  const e = toDerError(error)
  return { ok: false, error: e.name, message: e.message, leaderHint: leaderHintOf(e), result: new Uint8Array(0) }
}

/** Turns a reply back into its result, or throws its typed error (with `details.leaderHint`). */
export function unwrapReply(reply: SystemCallOutput): Value {
  if (reply.ok) return decodeArgs(reply.result)
  const name = reply.error as DerName
  if (name === 'DER_NOTLEADER') throw new DerError(name, reply.message, { details: { leaderHint: reply.leaderHint } })
  throw new DerError(name, reply.message)
}

/** Whether an error means "try another replica" (not a verdict on the request). */
export function isRetryable(error: unknown): boolean {
  return isDerError(error, 'DER_NOTLEADER') || isDerError(error, 'DER_UNREACH') || isDerError(error, 'DER_TIMEDOUT') || isDerError(error, 'DER_SHUTDOWN') || isDerError(error, 'DER_OOG') || isDerError(error, 'DER_HG')
}
