/**
 * RPC in the manner of DAOS's CaRT, on the `@x/rdma-transport` fabric contract.
 *
 * - **Protocols** ({@link Protocol}, {@link defineRpc}): a base opcode, a version and RPC formats
 *   whose inputs and outputs are `@x/common` versioned structs; opcode = `base | version << 16 |
 *   index`. Unknown opcodes or versions are answered with `DER_UNREG`, and
 *   {@link Context.queryProtocol} asks a peer which versions it knows (`crt_proto_query`).
 * - **Contexts** ({@link Cart.createContext}) own a fabric endpoint. RPCs are created
 *   ({@link Context.createRequest}), sent, and completed exactly once — by the reply, a timeout
 *   (`DER_TIMEDOUT`, per RPC or the context default, 60 s by default), an abort (`DER_CANCELED`) or a
 *   transport error (`DER_UNREACH`) — whichever comes first; anything later (a late reply racing
 *   its timeout, a duplicate) is counted and dropped. Progress runs at once (`auto`) or in
 *   {@link Context.progress} (`manual`); the promise API sits on top.
 * - **Handlers** ({@link Cart.handle}) receive an {@link IncomingRpc}, reply once (a second reply
 *   throws `DER_ALREADY`), now or later; returning a value replies with it. Servers drop
 *   duplicated requests (re-sending the remembered reply).
 * - **Bulk** ({@link Context.bulkCreate}, {@link Context.bulkTransfer}): registered memory in one
 *   or more segments, described by a {@link BulkDescriptor} inside an RPC input; the server GETs
 *   or PUTs it with one-sided RDMA, with its own timeout, cancellation and crc32c verification
 *   for formats that set `bulkChecksum`.
 * - **Groups** ({@link Group}): a versioned rank -> URIs map; RPCs go to `(group, rank, tag)`.
 * - **Collective RPCs** ({@link Context.corpc}) along flat, k-ary or k-nomial trees
 *   ({@link buildTree}) with a chosen root and excluded ranks; each node runs the handler,
 *   forwards to its children with a shorter timeout, and aggregates with the format's
 *   `corpc.aggregate`; failed or silent subtrees are listed in {@link CorpcResult.failures}.
 * - **Metrics** per context and opcode through `MetricsRegistry`; log masks via
 *   {@link Cart.setLogMask}.
 *
 * **Why CaRT sits directly on `@x/rdma-transport`, not on `@x/msgr`.** DAOS's CaRT runs on
 * Mercury over NA, i.e. straight on the fabric's tagged messages and RMA; bulk transfers must use
 * the fabric's one-sided RDMA on registered memory anyway, and those need the same endpoint and
 * connection the RPC came on. msgr adds Ceph-style sessions, authentication and lossless resend,
 * which CaRT does not need: CaRT's contract is "complete exactly once, possibly with a timeout",
 * implemented here with per-context RPC ids, a reply-matching table and a duplicate-request
 * cache. One layer fewer also keeps the null-RPC path short.
 *
 * @example
 * ```ts
 * import { type StructCodec, VirtualRuntime } from '@x/common'
 * import { MemoryFabric } from '@x/rdma-transport'
 * import { Cart, Protocol, defineRpc } from '@x/cart'
 *
 * const runtime = new VirtualRuntime({ seed: 1 })
 * const fabric = new MemoryFabric({ runtime })
 * const u32: StructCodec<number> = { name: 'u32', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v), decodeFields: (d) => d.u32() }
 * const double = defineRpc({ name: 'double', input: u32, output: u32 })
 * const protocol = new Protocol({ name: 'demo', baseOpcode: 0x01000000, version: 1, rpcs: [double] })
 * const server = new Cart({ fabric, runtime, rank: 0 })
 * server.registerProtocol(protocol)
 * server.handle(double, (rpc) => rpc.input * 2)
 * const serverContext = await server.createContext({ listen: 'memory://rank-0' })
 * const client = new Cart({ fabric, runtime })
 * client.registerProtocol(protocol)
 * const context = await client.createContext()
 * const answer = context.call(double, { uri: serverContext.address }, 21)
 * await runtime.runUntilIdle()
 * console.log(await answer) // 42
 * ```
 *
 * @packageDocumentation
 */
export { type BulkAccess, type BulkDescriptor, type BulkSegment, type LocalBulk, bulkDescriptorCodec, crc32cOf, maxBulkSegments, readBulkDescriptor, writeBulkDescriptor } from './bulk.ts'
export { Cart, type CartOptions, type CreateContextOptions, defaultRpcTimeoutMs, maxContexts } from './cart.ts'
export {
  type BulkTransferOptions,
  type BulkTransferResult,
  type CallOptions,
  Context,
  type ContextHost,
  type ContextOptions,
  type CorpcResult,
  type CorpcSpec,
  IncomingRpc,
  Request,
  type RpcHandler,
  type RpcTarget,
} from './context.ts'
export { Group, type GroupMember } from './group.ts'
export { type ProtoQueryInput, type ProtoQueryOutput, internalProtocol, protoQueryRpc } from './internal.ts'
export { CartMetrics, opcodeLabel } from './metrics.ts'
export {
  type AnyRpcFormat,
  type CorpcOps,
  Protocol,
  type ProtocolInit,
  ProtocolRegistry,
  type RpcFormat,
  type RpcFormatInit,
  defineRpc,
  makeOpcode,
  maxProtocolVersion,
  maxRpcsPerProtocol,
  splitOpcode,
} from './protocol.ts'
export { type TreeTopology, type TreeType, buildTree, childPositions, maxBranchRatio, parentPosition, treeChildren, treeMembers, treeParent } from './tree.ts'
export { type CorpcFailure } from './wire.ts'
