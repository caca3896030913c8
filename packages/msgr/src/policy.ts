/**
 * Connection policies (Ceph's `Messenger::Policy`), chosen by the peer's entity type.
 *
 * @module
 */

/** How a session behaves when its connection fails. */
export interface Policy {
  /** Messages may be lost: on a fault the session ends (`onReset`) and nothing is replayed. */
  readonly lossy: boolean
  /** This side never reconnects; it keeps (lossless) session state for the peer to come back. */
  readonly server: boolean
}

/** The policies Ceph names. */
export const Policies = {
  /** A client that reconnects from scratch: faults drop the session and its messages. */
  lossyClient: (): Policy => ({ lossy: true, server: false }),
  /** Peers whose sessions survive reconnects: unacked messages are replayed, duplicates dropped. */
  losslessPeer: (): Policy => ({ lossy: false, server: false }),
  /** A client that reconnects and replays, to a stateful server. */
  losslessClient: (): Policy => ({ lossy: false, server: false }),
  /** A server that keeps each client's session for it to resume, and never connects back. */
  statefulServer: (): Policy => ({ lossy: false, server: true }),
  /** A server that forgets a client on a fault. */
  statelessServer: (): Policy => ({ lossy: true, server: true }),
} as const
