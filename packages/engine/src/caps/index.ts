// The engine side of caps (issue 14): the caps cart protocol and the per-container authority service.
export {
  type AllocOidsInput,
  type AllocOidsOutput,
  type CapsExchangeInput,
  type CapsExchangeOutput,
  allocOidsInputCodec,
  allocOidsOutputCodec,
  capsAllocOidsRpc,
  capsBaseOpcode,
  capsExchangeInputCodec,
  capsExchangeOutputCodec,
  capsExchangeRpc,
  capsProtocol,
  maxCapsMessageBytes,
  maxCapsMessages,
  maxCapsWaitMs,
  maxOidAllocation,
} from './protocol.ts'
export { type CapsEviction, CapsService, type CapsServiceOptions } from './service.ts'
