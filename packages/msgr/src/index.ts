/**
 * A messenger in the manner of Ceph's msgr2, over the `@x/rdma-transport` fabric contract.
 *
 * - **Entities** are named `type.id` (`client.4123`, `engine.3`, `mon.a`); an address is a
 *   fabric URI plus a per-incarnation nonce ({@link EntityAddr}).
 * - A {@link Messenger} binds an endpoint, accepts peers and gets or creates one
 *   {@link Connection} (session) per peer address.
 * - **Handshake**: the banner (`ceph v2\n`, features), HELLO, then authentication with a
 *   pluggable {@link AuthMethod} — {@link noneAuth}, or {@link hmacAuth}, a mutual shared-secret
 *   HMAC challenge-response with keys from a keyring file ({@link loadKeyring}) — and
 *   AUTH_SIGNATURE frames that sign the whole handshake transcript with the session key.
 *   Then CLIENT_IDENT / SERVER_IDENT, SESSION_RECONNECT / SESSION_RECONNECT_OK, SESSION_RESET, WAIT.
 * - **Frames** (msgr2.1 crc mode): a 32-byte preamble, segments (header, front, middle, data),
 *   crc32c on each. A corrupt frame drops the connection and is counted, never delivered.
 *   Over the fabric a frame is one message; once a session is ready, message frames queued
 *   behind a full send window travel back to back in one fabric message (up to 64 KiB).
 * - **Sessions** number messages; the receiver acks (ACK frames and piggy-backed ack_seq), at
 *   once every 32 messages or 256 KiB, else on the next timer turn.
 *   {@link Policies}: lossy client (a fault ends the session), lossless peer and lossless client
 *   (the dialling side reconnects with backoff; unacked messages are replayed; duplicates are
 *   dropped by seq), stateful server (keeps sessions for clients to resume), stateless server.
 *   A peer that restarted (new nonce) or lost our session gets a session reset: both sides start
 *   over, and dispatchers hear `onRemoteReset`.
 * - **Keepalives** (KEEPALIVE2 / ACK) detect dead peers; a **throttle** bounds bytes and messages
 *   received and not yet dispatched (reading from the fabric pauses when it is full).
 * - **Dispatchers**: fast dispatch on the receive path, or a queue ordered by priority.
 * - Payloads are `@x/common` versioned structs, registered in a {@link MessageRegistry}.
 *
 * @example
 * ```ts
 * import { Encoder, VirtualRuntime } from '@x/common'
 * import { MemoryFabric } from '@x/rdma-transport'
 * import { MessageRegistry, Messenger } from '@x/msgr'
 *
 * const runtime = new VirtualRuntime({ seed: 1 })
 * const fabric = new MemoryFabric({ runtime })
 * const registry = new MessageRegistry()
 * const ping = registry.register({
 *   id: 1,
 *   name: 'ping',
 *   codec: { name: 'ping', version: 1, compat: 1, encodeFields: (e, v: { n: number }) => void e.u32(v.n), decodeFields: (d) => ({ n: d.u32() }) },
 * })
 * const server = new Messenger({ fabric, runtime, name: 'engine.0', registry })
 * const client = new Messenger({ fabric, runtime, name: 'client.1', registry })
 * await server.bind('memory://engine-0')
 * await client.bind()
 * server.addDispatcher({ dispatch: (m) => (console.log(m.source, m.payload), true) })
 * client.connect('memory://engine-0').send({ type: ping, payload: { n: 1 } })
 * await runtime.runUntil(() => server.stats.dispatched === 1, 1000)
 * ```
 *
 * @packageDocumentation
 */
export { type AuthContext, type AuthMethod, type AuthStep, type ClientAuth, type ServerAuth, hmacAuth, noneAuth, signTranscript, signaturesMatch } from './auth.ts'
export { type Dispatcher, DispatchQueue, type ReceivedMessage } from './dispatcher.ts'
export { type EntityAddr, type EntityName, type EntityType, entityTypes, formatEntityAddr, formatEntityName, parseEntityName } from './entity.ts'
export { type Frame, Tag, bannerBytes, bannerMagic, decodeBanner, decodeFrame, encodeBanner, encodeFrame, encodeFrameParts, featureRevision1, lateStatusComplete, lateStatusNoDataCrc } from './frame.ts'
export { type Keyring, formatKeyring, loadKeyring, minKeyBytes, parseKeyring } from './keyring.ts'
export {
  type MessageHeader,
  type MessageType,
  MessageRegistry,
  type OutgoingMessage,
  Priority,
  decodeMessageHeader,
  encodeMessageHeader,
  messageHeaderBytes,
} from './message.ts'
export { Messenger, type MessengerOptions, type MessengerStats } from './messenger.ts'
export { Policies, type Policy } from './policy.ts'
export { Connection, type ConnectionState, type ConnectionStats } from './session.ts'
export { Throttle, type ThrottleLimits } from './throttle.ts'
