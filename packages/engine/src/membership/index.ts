/**
 * SWIM membership between engines: {@link MembershipAgent} runs an `@x/swim` node over the `swim`
 * cart protocol ({@link swimProtocol}, CaRT's SWIM opcode base) and reports each rank's
 * `alive` / `suspect` / `dead` state with its incarnation.
 *
 * @module
 */
export { MembershipAgent, type MembershipAgentOptions, type MembershipAgentStats, type MembershipProfile, type RankState, type RankStateEvent } from './agent.ts'
export { SwimDatagram, SwimDatagramReply, type SwimDatagramInput, type SwimDatagramOutput, maxSwimPayloadBytes, swimDatagramRpc, swimProtocol } from './protocol.ts'
