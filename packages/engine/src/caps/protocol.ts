/**
 * The cart protocol of the caps service (base `0x0c000000`, version 1): clients of a POSIX
 * container exchange `@x/caps` messages with the container's metadata authority and allocate
 * object ids from it.
 *
 * - `dfs_caps_exchange`: the client hands over its outgoing caps messages (encoded with
 *   `@x/caps`'s `encodeMessage`) and receives the messages queued for it. With `waitMs > 0` and
 *   nothing queued the engine holds the reply until a message for this client arrives or
 *   `waitMs` passes (a long poll: revokes reach clients without the engine calling them).
 * - `dfs_caps_alloc_oids`: a range of `count` object-id `lo` values unique in the container.
 *
 * @module
 */
import { Protocol, type RpcFormat, defineRpc } from '@x/cart'
import type { StructCodec } from '@x/common'

/** Base opcode of the caps protocol. */
export const capsBaseOpcode = 0x0c000000
/** Longest long poll an engine honours, in milliseconds. */
export const maxCapsWaitMs = 60_000
/** Most messages in one exchange, either way. */
export const maxCapsMessages = 1024
/** Largest encoded caps message accepted, in bytes. */
export const maxCapsMessageBytes = 4096
/** Most object ids allocated by one request. */
export const maxOidAllocation = 1 << 20

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Input of `dfs_caps_exchange`. */
export interface CapsExchangeInput {
  /** The pool. */
  readonly poolUuid: string
  /** The container whose inodes the caps cover. */
  readonly containerUuid: string
  /** The client (as in its caps messages). */
  readonly clientId: string
  /** Messages from the client, each an `encodeMessage` buffer. */
  readonly messages: readonly Uint8Array[]
  /** How long to hold the reply when nothing is queued (0 = answer at once). */
  readonly waitMs: number
}

/** Output of `dfs_caps_exchange`. */
export interface CapsExchangeOutput {
  /** Messages for the client, in order. */
  readonly messages: readonly Uint8Array[]
}

/** Input of `dfs_caps_alloc_oids`. */
export interface AllocOidsInput {
  /** The pool. */
  readonly poolUuid: string
  /** The container. */
  readonly containerUuid: string
  /** How many ids. */
  readonly count: number
}

/** Output of `dfs_caps_alloc_oids`: ids `[first, first + count)` are the caller's. */
export interface AllocOidsOutput {
  /** The first id's `lo`. */
  readonly first: bigint
}

function readUuid(d: { string(): string; malformed(message: string): never }, what: string): string {
  const s = d.string()
  if (!uuidPattern.test(s)) d.malformed(`${what} is not a UUID`)
  return s
}

/** Codec of {@link CapsExchangeInput}. */
export const capsExchangeInputCodec: StructCodec<CapsExchangeInput> = {
  name: 'CapsExchangeInput',
  version: 1,
  compat: 1,
  encodeFields(e, v) {
    e.string(v.poolUuid).string(v.containerUuid).string(v.clientId).u32(v.waitMs)
    e.array(v.messages, (a, m) => void a.bytes(m))
  },
  decodeFields(d) {
    const poolUuid = readUuid(d, 'poolUuid')
    const containerUuid = readUuid(d, 'containerUuid')
    const clientId = d.string()
    if (clientId.length === 0 || clientId.length > 128) d.malformed('clientId must have 1..128 characters')
    const waitMs = d.u32()
    if (waitMs > maxCapsWaitMs) d.malformed(`waitMs ${waitMs} exceeds ${maxCapsWaitMs}`)
    const messages = d.array((a) => {
      const b = a.bytes()
      if (b.length > maxCapsMessageBytes) a.malformed(`caps message of ${b.length} bytes`)
      return b
    })
    if (messages.length > maxCapsMessages) d.malformed(`${messages.length} caps messages in one exchange`)
    return { poolUuid, containerUuid, clientId, waitMs, messages }
  },
}

/** Codec of {@link CapsExchangeOutput}. */
export const capsExchangeOutputCodec: StructCodec<CapsExchangeOutput> = {
  name: 'CapsExchangeOutput',
  version: 1,
  compat: 1,
  encodeFields(e, v) {
    e.array(v.messages, (a, m) => void a.bytes(m))
  },
  decodeFields(d) {
    return { messages: d.array((a) => a.bytes()) }
  },
}

/** Codec of {@link AllocOidsInput}. */
export const allocOidsInputCodec: StructCodec<AllocOidsInput> = {
  name: 'AllocOidsInput',
  version: 1,
  compat: 1,
  encodeFields(e, v) {
    e.string(v.poolUuid).string(v.containerUuid).u32(v.count)
  },
  decodeFields(d) {
    const poolUuid = readUuid(d, 'poolUuid')
    const containerUuid = readUuid(d, 'containerUuid')
    const count = d.u32()
    if (count < 1 || count > maxOidAllocation) d.malformed(`cannot allocate ${count} object ids`)
    return { poolUuid, containerUuid, count }
  },
}

/** Codec of {@link AllocOidsOutput}. */
export const allocOidsOutputCodec: StructCodec<AllocOidsOutput> = {
  name: 'AllocOidsOutput',
  version: 1,
  compat: 1,
  encodeFields(e, v) {
    e.u64(v.first)
  },
  decodeFields(d) {
    return { first: d.u64() }
  },
}

/** `dfs_caps_exchange`. */
export const capsExchangeRpc: RpcFormat<CapsExchangeInput, CapsExchangeOutput> = defineRpc({ name: 'dfs_caps_exchange', input: capsExchangeInputCodec, output: capsExchangeOutputCodec })
/** `dfs_caps_alloc_oids`. */
export const capsAllocOidsRpc: RpcFormat<AllocOidsInput, AllocOidsOutput> = defineRpc({ name: 'dfs_caps_alloc_oids', input: allocOidsInputCodec, output: allocOidsOutputCodec })

/** The caps protocol (register it on both the engine's and the client's cart). */
export const capsProtocol: Protocol = new Protocol({ name: 'dfs_caps', baseOpcode: capsBaseOpcode, version: 1, rpcs: [capsExchangeRpc, capsAllocOidsRpc] })
