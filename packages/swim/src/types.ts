/**
 * The data the SWIM core consumes and produces: members, updates, messages and events.
 *
 * @module
 */

/** A member's identity: the DAOS rank (an unsigned 32-bit integer). */
export type MemberId = number

/**
 * A member's state as one node sees it. `alive`, `suspect` and `dead` are SWIM's states; `left`
 * is a graceful leave, final for that incarnation like `dead`.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/** All member states, in wire order (the codec writes the index). */
export const memberStates: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']

/**
 * One membership update, the unit of piggybacked dissemination: "`member` is `state` at
 * `incarnation`, says `reporter`". The reporter matters for suspicions: Lifeguard counts
 * independent reporters as confirmations.
 */
export interface MemberUpdate {
  /** The member the update is about. */
  readonly member: MemberId
  /** The member's incarnation the update refers to. */
  readonly incarnation: number
  /** The state the update claims. */
  readonly state: MemberState
  /** The member that first reported this update (the suspecter for a suspicion). */
  readonly reporter: MemberId
}

/** A direct probe: "answer me with an ack carrying `seq`". */
export interface PingBody {
  readonly type: 'ping'
  /** The sender's probe sequence number, echoed in the ack. */
  readonly seq: number
}

/** An indirect probe request: "ping `target` for me and relay its ack with `seq`". */
export interface PingReqBody {
  readonly type: 'ping-req'
  /** The requester's probe sequence number. */
  readonly seq: number
  /** The member to ping on the requester's behalf. */
  readonly target: MemberId
}

/** The answer to a ping (or a relayed answer to a ping-req). */
export interface AckBody {
  readonly type: 'ack'
  /** The sequence number of the ping or ping-req being answered. */
  readonly seq: number
}

/**
 * Lifeguard's negative acknowledgement: a ping-req helper saying "I am here, but the target did
 * not answer me in time". Missing nacks tell the requester that its own health is poor.
 */
export interface NackBody {
  readonly type: 'nack'
  /** The ping-req sequence number. */
  readonly seq: number
}

/** A request to join the group, sent by a new (or restarted) member to a seed member. */
export interface JoinBody {
  readonly type: 'join'
}

/** The seed's answer to a join: its whole membership table. */
export interface SyncBody {
  readonly type: 'sync'
  /** One update per member the seed knows, itself included. */
  readonly members: readonly MemberUpdate[]
}

/** A message that only carries piggybacked updates (memberlist's gossip); no answer. */
export interface GossipBody {
  readonly type: 'gossip'
}

/** The body of a SWIM message. */
export type SwimBody = PingBody | PingReqBody | AckBody | NackBody | JoinBody | SyncBody | GossipBody

/** The kinds of SWIM message bodies, in wire order (the codec writes the index). */
export const swimBodyTypes: readonly SwimBody['type'][] = ['ping', 'ping-req', 'ack', 'nack', 'join', 'sync', 'gossip']

/**
 * A SWIM message. Every message carries the sender's incarnation (a direct message is proof the
 * sender is alive at it) and piggybacked membership updates.
 */
export interface SwimMessage {
  /** The sender. */
  readonly from: MemberId
  /** The sender's current incarnation. */
  readonly fromIncarnation: number
  /** The receiver. */
  readonly to: MemberId
  /** What the message asks or answers. */
  readonly body: SwimBody
  /** Piggybacked membership updates (dissemination). */
  readonly updates: readonly MemberUpdate[]
}

/**
 * A membership change one node observed, for the application (the engine drives rank exclusion
 * from `dead`). `alive` is emitted when a member is first learned, when it refutes a suspicion,
 * and when it comes back with a higher incarnation after `dead` or `left`.
 */
export interface MembershipEvent {
  /** What happened to the member. */
  readonly type: MemberState
  /** The member. */
  readonly member: MemberId
  /** The member's incarnation the event refers to. */
  readonly incarnation: number
  /** The observer's time of the change. */
  readonly atMs: number
}

/** What one call into the core produced: messages to send and events to deliver. */
export interface SwimOutput {
  /** Messages for the transport, in order. */
  readonly messages: readonly SwimMessage[]
  /** Membership events for the application, in order. */
  readonly events: readonly MembershipEvent[]
}
