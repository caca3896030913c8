/**
 * Protocols and opcodes: a protocol is a base opcode, a version and a list of RPC formats; the
 * opcode of format `index` is `base | version << 16 | index` (CaRT's packing).
 *
 * @module
 */
import { DerError, type StructCodec } from '@x/common'

/** How a collective RPC merges the replies of a node and of its subtree (`co_aggregate`). */
export interface CorpcOps<O> {
  /** Merges `next` (one more node's output) into `accumulated`; returns the merged value. */
  aggregate(accumulated: O, next: O): O
}

/** Options of {@link defineRpc}. */
export interface RpcFormatInit<I, O> {
  /** A name for logs and metrics (`ping`, `pool_connect`). */
  readonly name: string
  /** Encoding of the request body. */
  readonly input: StructCodec<I>
  /** Encoding of the reply body. */
  readonly output: StructCodec<O>
  /** Aggregation for collective RPCs. */
  readonly corpc?: CorpcOps<O>
  /** Whether bulk GETs made by handlers of this RPC verify the descriptor's checksum. */
  readonly bulkChecksum?: boolean
}

/** One RPC format (CaRT's `crt_proto_rpc_format`): input and output schemas plus options. */
export interface RpcFormat<I, O> extends RpcFormatInit<I, O> {
  /** Set by the {@link Protocol} that lists the format. */
  readonly opcode: number
  /** The protocol that lists the format. */
  readonly protocol: Protocol
}

/** Declares an RPC format; a {@link Protocol} assigns its opcode. */
export function defineRpc<I, O>(init: RpcFormatInit<I, O>): RpcFormat<I, O> {
  return { ...init, opcode: -1, protocol: undefined as unknown as Protocol }
}

/** Largest protocol version (8 bits). */
export const maxProtocolVersion = 0xff
/** Largest number of RPCs in a protocol (16 bits of index). */
export const maxRpcsPerProtocol = 0x10000

/** Packs an opcode: `base | version << 16 | index`. */
export function makeOpcode(baseOpcode: number, version: number, index: number): number {
  return (baseOpcode | (version << 16) | index) >>> 0
}

/** Splits an opcode into its base, version and index. */
export function splitOpcode(opcode: number): { baseOpcode: number; version: number; index: number } {
  return { baseOpcode: (opcode & 0xff000000) >>> 0, version: (opcode >>> 16) & 0xff, index: opcode & 0xffff }
}

/** Any {@link RpcFormat}, whatever its input and output types. */
export interface AnyRpcFormat {
  readonly name: string
  readonly opcode: number
}

/** Options of {@link Protocol}. */
export interface ProtocolInit {
  readonly name: string
  /** The top 8 bits of every opcode: a multiple of `0x01000000`. */
  readonly baseOpcode: number
  /** 0 to 255. */
  readonly version: number
  /** The formats, in index order. */
  readonly rpcs: readonly AnyRpcFormat[]
}

/** A protocol (`crt_proto_format`): formats numbered by their position. */
export class Protocol {
  readonly name: string
  readonly baseOpcode: number
  readonly version: number
  /** The formats with their opcodes assigned. */
  readonly rpcs: readonly RpcFormat<unknown, unknown>[]

  constructor(init: ProtocolInit) {
    if (!Number.isInteger(init.baseOpcode) || init.baseOpcode < 0 || init.baseOpcode > 0xff000000 || init.baseOpcode % 0x01000000 !== 0) {
      throw new DerError('DER_INVAL', `protocol ${init.name}: baseOpcode must be a multiple of 0x01000000 below 2^32, got ${init.baseOpcode}`)
    }
    if (!Number.isInteger(init.version) || init.version < 0 || init.version > maxProtocolVersion) {
      throw new DerError('DER_INVAL', `protocol ${init.name}: version must be 0..255, got ${init.version}`)
    }
    if (init.rpcs.length === 0 || init.rpcs.length > maxRpcsPerProtocol) {
      throw new DerError('DER_INVAL', `protocol ${init.name}: needs 1..65536 RPC formats, got ${init.rpcs.length}`)
    }
    this.name = init.name
    this.baseOpcode = init.baseOpcode
    this.version = init.version
    this.rpcs = init.rpcs.map((format, index) => {
      const f = format as unknown as RpcFormat<unknown, unknown>
      if (f.opcode !== -1) throw new DerError('DER_EXIST', `RPC ${f.name} already belongs to protocol ${f.protocol.name}`)
      const opcode = makeOpcode(init.baseOpcode, init.version, index)
      Object.assign(f, { opcode, protocol: this })
      return f
    })
  }
}

/** The protocols known to one CaRT instance (`crt_proto_register`). */
export class ProtocolRegistry {
  private readonly byOpcode = new Map<number, RpcFormat<unknown, unknown>>()
  private readonly versions = new Map<number, Set<number>>()

  /** Registers a protocol; refuses a second registration of the same base and version (`DER_EXIST`). */
  register(protocol: Protocol): void {
    const versions = this.versions.get(protocol.baseOpcode) ?? new Set<number>()
    if (versions.has(protocol.version)) {
      throw new DerError('DER_EXIST', `protocol ${protocol.name} base 0x${protocol.baseOpcode.toString(16)} version ${protocol.version} is already registered`)
    }
    versions.add(protocol.version)
    this.versions.set(protocol.baseOpcode, versions)
    for (const format of protocol.rpcs) this.byOpcode.set(format.opcode, format)
  }

  /** The format of an opcode, or `DER_UNREG` when its protocol or version is unknown. */
  lookup(opcode: number): RpcFormat<unknown, unknown> {
    const format = this.byOpcode.get(opcode)
    if (format === undefined) {
      const { baseOpcode, version, index } = splitOpcode(opcode)
      throw new DerError('DER_UNREG', `opcode 0x${opcode.toString(16)} (base 0x${baseOpcode.toString(16)} version ${version} index ${index}) is not registered`, {
        details: { opcode, baseOpcode, version, index },
      })
    }
    return format
  }

  /** Whether an opcode is registered. */
  has(opcode: number): boolean {
    return this.byOpcode.has(opcode)
  }

  /** The registered versions of a base opcode, ascending (empty when unknown). */
  versionsOf(baseOpcode: number): number[] {
    return [...(this.versions.get(baseOpcode) ?? [])].sort((a, b) => a - b)
  }
}
