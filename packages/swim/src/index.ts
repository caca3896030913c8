/**
 * SWIM membership and failure detection with Lifeguard's improvements, as a pure core.
 *
 * A {@link SwimNode} is one member's protocol state machine. It takes time and messages in
 * (`tick(nowMs)`, `step(message, nowMs)`, `join`, `leave`) and returns messages to send and
 * membership events (`alive`, `suspect`, `dead`, `left`, each with the member's incarnation);
 * `nextDeadlineMs()` says when to tick next. It implements:
 *
 * - protocol periods with a randomized round-robin probe order, ping, and ping-req through
 *   `indirectChecks` helpers;
 * - suspicion with incarnation numbers, refutation by the suspected member, confirm-dead, and
 *   graceful leave; join through seed members;
 * - piggybacked dissemination with a retransmit limit of `retransmitMult * ceil(log10(n + 1))`;
 * - Lifeguard: local health awareness (missed acks and nacks raise a score that stretches the
 *   node's own probe interval and timeouts), dynamic suspicion timeouts that fall from a maximum
 *   to a minimum as independent confirmations arrive ({@link suspicionTimeoutMs}), and the buddy
 *   system (a ping to a suspect carries the suspicion).
 *
 * Beyond the papers, a few small mechanisms keep views converging:
 *
 * - memberlist-style gossip: while updates are queued, every `gossipIntervalMs` they also go to
 *   `gossipFanout` random members, so all members learn a verdict within a second of the first;
 * - corrections: a node that receives a suspicion or death about a member at an incarnation
 *   older than the one it knows answers the sender with the newer state (otherwise a node that
 *   missed a refutation confirms its own stale suspicion alone), and a node that hears from a
 *   member it holds dead tells it so, so that it refutes;
 * - dead probes: every `deadProbeEveryPeriods` periods a node pings one `dead` member, carrying
 *   the verdict, so members wrongly declared dead during a partition refute after it heals;
 * - DAOS's network-outage guard (`outageGuard`, on in the `daos` profile): a node that has heard
 *   nothing for 2/3 of the suspicion timeout postpones its verdicts instead of declaring the
 *   whole group dead.
 *
 * Configuration ({@link resolveSwimConfig}) starts from a profile: memberlist's `lan`, `wan` and
 * `local`, or `daos` (CaRT's defaults: 1 s period, 900 ms ping timeout, 2 indirect pings, 20 s
 * suspicion), and rejects bad values with `DER_INVAL`. {@link encodeSwimMessage} and
 * {@link decodeSwimMessage} are the wire codec, and {@link SwimDriver} is the adapter that runs a
 * node on a `Runtime` and a byte transport. The `@x/swim/testing` subpath has `SwimCluster`, a
 * seeded simulation on a virtual clock and a lossy network.
 *
 * @example
 * ```ts
 * import { Random } from '@x/common'
 * import { SwimNode, resolveSwimConfig } from '@x/swim'
 *
 * const node = new SwimNode({ self: 1, members: [1, 2, 3], config: resolveSwimConfig({}, 'daos'), random: new Random(7), nowMs: 0 })
 * const { messages, events } = node.tick(node.nextDeadlineMs())
 * // send `messages`, deliver `events`, feed replies to node.step(message, nowMs)
 * ```
 *
 * @packageDocumentation
 */
export {
  type MemberId,
  type MemberState,
  type MemberUpdate,
  type MembershipEvent,
  type PingBody,
  type PingReqBody,
  type AckBody,
  type NackBody,
  type JoinBody,
  type SyncBody,
  type GossipBody,
  type SwimBody,
  type SwimMessage,
  type SwimOutput,
  memberStates,
  swimBodyTypes,
} from './types.ts'
export {
  type LifeguardOptions,
  type SwimConfig,
  type SwimConfigInput,
  type SwimProfileName,
  daosProfile,
  detectionBoundMs,
  lanProfile,
  lifeguardOff,
  localProfile,
  resolveSwimConfig,
  retransmitLimit,
  suspicionConfirmationsNeeded,
  suspicionMaxTimeoutMs,
  suspicionMinTimeoutMs,
  swimProfiles,
  wanProfile,
} from './config.ts'
export { Suspicion, remainingSuspicionTimeMs, suspicionTimeoutMs } from './suspicion.ts'
export { Awareness } from './awareness.ts'
export { BroadcastQueue } from './broadcast-queue.ts'
export { checkMemberUpdate, checkSwimMessage, maxUpdatesPerMessage } from './message-check.ts'
export { decodeSwimMessage, encodeSwimMessage, swimWireVersion } from './codec.ts'
export { type MemberInfo, type SwimNodeInit, type SwimStats, SwimNode } from './swim-node.ts'
export { SwimDriver, type SwimDriverInit, type SwimTransport } from './swim-driver.ts'
