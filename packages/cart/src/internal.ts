/**
 * CaRT's internal protocol: the protocol query (`crt_proto_query`).
 *
 * @module
 */
import { Protocol, defineRpc } from './protocol.ts'

/** Input of the built-in protocol query. */
export interface ProtoQueryInput {
  readonly baseOpcode: number
}

/** Output of the built-in protocol query. */
export interface ProtoQueryOutput {
  readonly versions: number[]
}

/** The built-in `crt_proto_query` RPC. */
export const protoQueryRpc = defineRpc<ProtoQueryInput, ProtoQueryOutput>({
  name: 'proto_query',
  input: { name: 'cart.proto_query_in', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v.baseOpcode), decodeFields: (d) => ({ baseOpcode: d.u32() }) },
  output: {
    name: 'cart.proto_query_out',
    version: 1,
    compat: 1,
    encodeFields: (e, v) => void e.array(v.versions, (x, n) => x.u8(n)),
    decodeFields: (d) => ({ versions: d.array((x) => x.u8()) }),
  },
})

/** CaRT's internal protocol (base `0xFF000000`): the protocol query. */
export const internalProtocol = new Protocol({ name: 'cart_internal', baseOpcode: 0xff000000, version: 1, rpcs: [protoQueryRpc] })
