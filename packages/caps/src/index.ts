/**
 * Capabilities ("caps") between a metadata authority and caching clients, with CephFS's
 * semantics, as two pure cores driven by `tick(nowMs)` and `step(nowMs, message)`:
 *
 * - **Cap bits** ({@link formatCaps}, {@link parseCaps}, `CAP_*`): Ceph's values and string form
 *   (`pAsLsXsFscr` = 0xD55), open modes ({@link capsForMode}), {@link seqCmp}.
 * - **Decision** ({@link allowedCaps}, {@link decideIssue}, {@link capsConflict}): one loner with
 *   everything, or many caching readers (SYNC), or several synchronous writers (MIX); never a
 *   cached reader beside another client's writer; never add bits in a message that revokes.
 * - **Authority** ({@link CapsAuthority}): per-inode {@link Capability} records with revoke
 *   sequence numbers, grants after the acks, max_size ranges journaled before they are granted,
 *   session leases (stale, autoclose), revoke timeouts that evict and fence a client, and
 *   export/import of an inode's caps to another authority.
 * - **Client** ({@link CapsClient}): issued/implemented/revoking/wanted, revoke handling
 *   (writeback, then invalidate, then ack; a deferred ack is owed until sent), dirty caps and
 *   flush tids, max_size checks, import/export in either order, renew before the TTL expires.
 * - **Wire codec** ({@link encodeMessage}, {@link decodeMessage}).
 *
 * Leases run on monotonic time: the caller passes `clock.monotonicMs()`, never the wall clock,
 * because an NTP step or a manual clock change must neither extend a lease (two clients trusting
 * conflicting caps) nor cut every lease short (spurious evictions). Rate drift between the
 * client's and the authority's clocks is bounded by {@link ClientConfig.clockDriftBoundPpm}: the
 * client's TTL is shortened by that much, so it stops trusting its caps before the authority
 * reuses them.
 *
 * @example
 * ```ts
 * import { CapsAuthority, CapsClient, FileMode, formatCaps } from '@x/caps'
 *
 * const mds = new CapsAuthority({ rank: 0 })
 * const client = new CapsClient({ clientId: 'a' })
 * const deliver = (outs: ReturnType<CapsClient['open']>) => outs.flatMap((o) => (o.kind === 'send' ? mds.step(0, o.message) : []))
 * for (const o of deliver(client.openSession(0, 0))) if (o.kind === 'send') client.step(0, o.message)
 * for (const o of deliver(client.open(0, 0x10000000000, FileMode.RD))) if (o.kind === 'send') client.step(0, o.message)
 * console.log(formatCaps(client.issued(0, 0x10000000000))) // pFscr: the lone reader gets all it wants
 * ```
 *
 * @packageDocumentation
 */
export * from './cap-bits.ts'
export { type ClientWant, type FileLockState, type IssueInput, MIX_FILE_CAPS, SYNC_FILE_CAPS, allowedCaps, capsConflict, conflictsWith, decideIssue, fileLockState } from './decision.ts'
export { Capability, type IssueResult, type RevokeRecord } from './capability.ts'
export { type MaxSizePolicy, calcNewMaxSize, defaultMaxSizePolicy, shouldReportSize } from './max-size.ts'
export {
  CapOp,
  type CapOpValue,
  type CapPeer,
  type CapsMessage,
  MAX_CLIENT_ID_LENGTH,
  type Message,
  type OpenMessage,
  SessionOp,
  type SessionMessage,
  type SessionOpValue,
  describeMessage,
  validateMessage,
} from './messages.ts'
export { decodeMessage, encodeMessage } from './codec.ts'
export {
  type AuthorityConfig,
  type AuthorityOutput,
  type AuthoritySession,
  type AuthoritySessionState,
  CapsAuthority,
  type ExportedCap,
  type ExportedInode,
  type RevokingCap,
  defaultAuthorityConfig,
} from './authority.ts'
export {
  type CapSummary,
  type ClientCap,
  type ClientConfig,
  type ClientOutput,
  type ClientSession,
  CapsClient,
  type GetCapsResult,
  type GetCapsWait,
  defaultClientConfig,
} from './client.ts'
