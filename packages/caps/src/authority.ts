/**
 * The authority core (the metadata server's side, Ceph's `Locker` + `Capability` + session
 * handling): a pure state machine driven by {@link CapsAuthority.step} and
 * {@link CapsAuthority.tick} with monotonic time given by the caller, returning the messages to
 * send and the evictions to enforce.
 *
 * @module
 */
import { DerError, assert } from '@x/common'
import { CAP_ANY_WR, CAP_AUTH_EXCL, CAP_FILE_ANY, CAP_FILE_WR, CAP_FILE_BUFFER, CAP_FILE_EXCL, CAP_PIN, type CapMask, formatCaps, seqCmp } from './cap-bits.ts'
import { Capability } from './capability.ts'
import { allowedCaps, decideIssue } from './decision.ts'
import { type MaxSizePolicy, calcNewMaxSize, defaultMaxSizePolicy } from './max-size.ts'
import { type CapsMessage, CapOp, type CapOpValue, type CapPeer, type Message, SessionOp, type SessionOpValue, validateMessage } from './messages.ts'

/** Timeouts and limits of an authority. Times are monotonic milliseconds. */
export interface AuthorityConfig {
  /** This authority's rank. */
  readonly rank: number
  /** A session without a renew for this long goes stale (Ceph: 60 s). */
  readonly sessionTimeoutMs: number
  /** A stale session is evicted after this long without a renew (Ceph: 300 s). */
  readonly sessionAutocloseMs: number
  /** A revoke unanswered this long raises a warning (Ceph: 60 s). */
  readonly revokeWarningMs: number
  /** A revoke unanswered this long evicts the client; 0 disables it (Ceph's default). */
  readonly revokeEvictionTimeoutMs: number
  /** How max_size grows. */
  readonly maxSize: MaxSizePolicy
}

/** Ceph's defaults, with revoke eviction on at 120 s (Ceph leaves it off). */
export const defaultAuthorityConfig: AuthorityConfig = {
  rank: 0,
  sessionTimeoutMs: 60_000,
  sessionAutocloseMs: 300_000,
  revokeWarningMs: 60_000,
  revokeEvictionTimeoutMs: 120_000,
  maxSize: defaultMaxSizePolicy,
}

/** What an authority asks its adapter to do. */
export type AuthorityOutput =
  | { readonly kind: 'send'; readonly to: string; readonly message: Message }
  /** Fence the client in the data layer now (blocklist); its later writes must be refused. */
  | { readonly kind: 'evict'; readonly clientId: string; readonly reason: string }
  /** A client is slow to answer a revoke (Ceph's "failing to respond to capability release"). */
  | { readonly kind: 'warning'; readonly clientId: string; readonly ino: number; readonly pending: CapMask; readonly issued: CapMask; readonly ageMs: number }
  /** A lost writer may have written past the known size: probe the data layer, then call {@link CapsAuthority.sizeRecovered}. */
  | { readonly kind: 'recover-size'; readonly ino: number; readonly upToBytes: number }
  /** A message was refused (unknown or evicted client, stale cap id or mseq). */
  | { readonly kind: 'refused'; readonly clientId: string; readonly reason: string }

/** A session's state at the authority. */
export type AuthoritySessionState = 'open' | 'stale' | 'evicted'

/** The authority's view of one client session. */
export interface AuthoritySession {
  /** The client. */
  readonly clientId: string
  /** Its state. */
  state: AuthoritySessionState
  /** Monotonic time of the last renew (or open). */
  lastRenewMs: number
  /** Evicted sessions: when their caps may be given to others (their lease has surely run out). */
  reclaimAtMs: number
}

interface InodeState {
  readonly ino: number
  sizeBytes: number
  mode: number
  readonly caps: Map<string, Capability>
  /** Journaled writable ranges per client (max_size). */
  readonly ranges: Map<string, number>
  /** The range last sent to each client. */
  readonly rangesSent: Map<string, number>
  /** A client with a range was lost: the size must be recovered from the data layer. */
  needsRecover: boolean
}

/** One client's cap of an exported inode, as handed to the importing authority. */
export interface ExportedCap {
  /** The client. */
  readonly clientId: string
  /** Its cap id at the exporter. */
  readonly capId: number
  /** Bits the client may hold (the exporter's `issued`). */
  readonly issued: CapMask
  /** Bits it wants. */
  readonly wanted: CapMask
  /** The exporter's last seq. */
  readonly seq: number
  /** The exporter's mseq. */
  readonly mseq: number
  /** The client's writable range in bytes (0 if none). */
  readonly rangeBytes: number
}

/** An inode's cap state moving from one authority to another. */
export interface ExportedInode {
  /** Inode number. */
  readonly ino: number
  /** The exporter's rank. */
  readonly fromRank: number
  /** File size. */
  readonly sizeBytes: number
  /** File mode. */
  readonly mode: number
  /** Caps. */
  readonly caps: readonly ExportedCap[]
}

/** One row of {@link CapsAuthority.revokingCaps}. */
export interface RevokingCap {
  /** The client. */
  readonly clientId: string
  /** Inode. */
  readonly ino: number
  /** Pending bits. */
  readonly pending: string
  /** Issued bits. */
  readonly issued: string
  /** Age of the oldest unconfirmed revoke. */
  readonly ageMs: number
}

const writeBits = CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_EXCL

/**
 * The authority side. Per inode it keeps each client's {@link Capability}; it grants what
 * {@link allowedCaps} and {@link decideIssue} allow, revokes with sequence numbers and waits for
 * the acks, grows max_size on request, tracks session leases, and evicts (fences) clients that
 * stop answering. Evicted clients' caps are reclaimed only once their lease has surely expired.
 */
export class CapsAuthority {
  /** The configuration in force. */
  readonly config: AuthorityConfig
  private readonly sessions = new Map<string, AuthoritySession>()
  private readonly inodes = new Map<number, InodeState>()
  private nextCapId = 1
  private lastNowMs = 0
  private out: AuthorityOutput[] = []

  constructor(config: Partial<AuthorityConfig> = {}) {
    this.config = { ...defaultAuthorityConfig, ...config }
    const c = this.config
    for (const [name, value] of Object.entries({ sessionTimeoutMs: c.sessionTimeoutMs, sessionAutocloseMs: c.sessionAutocloseMs, revokeWarningMs: c.revokeWarningMs })) {
      if (!Number.isFinite(value) || value <= 0) throw new DerError('DER_INVAL', `${name} must be > 0, got ${value}`)
    }
    if (!Number.isFinite(c.revokeEvictionTimeoutMs) || c.revokeEvictionTimeoutMs < 0) throw new DerError('DER_INVAL', 'revokeEvictionTimeoutMs must be >= 0')
  }

  // ---------------------------------------------------------------- inputs

  /** Handles one message from a client. Invalid messages throw `DER_INVAL` and change nothing. */
  step(nowMs: number, input: unknown): AuthorityOutput[] {
    const message = validateMessage(input)
    this.advance(nowMs)
    if (message.authority !== this.config.rank) throw new DerError('DER_INVAL', `message for authority ${message.authority} reached ${this.config.rank}`)
    const session = this.sessions.get(message.clientId)
    if (message.kind === 'session') {
      this.handleSession(nowMs, message.clientId, message.op, message.seq, session)
      return this.flush()
    }
    if (session === undefined || session.state === 'evicted') {
      this.refuse(message.clientId, session === undefined ? 'no session' : 'client evicted')
      return this.flush()
    }
    if (session.state === 'stale') {
      // Ceph only lets a renew bring a stale session back.
      this.out.push({ kind: 'refused', clientId: message.clientId, reason: 'session stale' })
      return this.flush()
    }
    if (message.kind === 'open') this.handleOpen(nowMs, message.clientId, message.ino, message.wanted)
    else this.handleCaps(nowMs, message)
    return this.flush()
  }

  /** Runs timers: stale sessions, autoclose, revoke warnings and eviction, reclaiming evicted caps. */
  tick(nowMs: number): AuthorityOutput[] {
    this.advance(nowMs)
    const c = this.config
    for (const s of [...this.sessions.values()]) {
      const idleMs = nowMs - s.lastRenewMs
      if (s.state === 'open' && idleMs >= c.sessionTimeoutMs) this.markStale(nowMs, s)
      else if (s.state === 'stale' && idleMs >= c.sessionAutocloseMs) this.evictClient(nowMs, s.clientId, 'session autoclose')
    }
    for (const inode of [...this.inodes.values()]) {
      for (const [clientId, cap] of [...inode.caps]) {
        if (cap.revokeStampMs === undefined) continue
        const session = this.sessions.get(clientId)
        if (session?.state !== 'open') continue
        const ageMs = nowMs - cap.revokeStampMs
        if (ageMs >= c.revokeWarningMs && !cap.revokeWarned) {
          cap.revokeWarned = true
          this.out.push({ kind: 'warning', clientId, ino: inode.ino, pending: cap.pending, issued: cap.issued, ageMs })
        }
        if (c.revokeEvictionTimeoutMs > 0 && ageMs >= c.revokeEvictionTimeoutMs) this.evictClient(nowMs, clientId, `revoke of ${formatCaps(cap.revoking)} on ${inode.ino} unanswered for ${ageMs} ms`)
      }
    }
    for (const s of this.sessions.values()) if (s.state === 'evicted' && s.reclaimAtMs <= nowMs) this.reclaim(nowMs, s.clientId)
    return this.flush()
  }

  /** Evicts a client now (an administrator's `evict`): fences it and reclaims its caps once its lease ran out. */
  evict(nowMs: number, clientId: string): AuthorityOutput[] {
    this.advance(nowMs)
    const s = this.sessions.get(clientId)
    if (s === undefined) throw new DerError('DER_NONEXIST', `no session for client ${clientId}`)
    if (s.state !== 'evicted') this.evictClient(nowMs, clientId, 'evicted by request')
    return this.flush()
  }

  /**
   * Hands an inode's caps to another authority: sends EXPORT to every holder, forgets the inode,
   * and returns what {@link CapsAuthority.importInode} needs. Only for inodes without pending revokes.
   */
  exportInode(nowMs: number, ino: number, toRank: number): { readonly outputs: AuthorityOutput[]; readonly exported: ExportedInode } {
    this.advance(nowMs)
    const inode = this.inodes.get(ino)
    if (inode === undefined) throw new DerError('DER_NONEXIST', `no inode ${ino}`)
    for (const cap of inode.caps.values()) if (cap.revokes.length > 0) throw new DerError('DER_BUSY', `inode ${ino} has revokes in flight`)
    const caps: ExportedCap[] = []
    for (const [clientId, cap] of inode.caps) {
      caps.push({ clientId, capId: cap.capId, issued: cap.issued, wanted: cap.wanted, seq: cap.lastSent, mseq: cap.mseq, rangeBytes: inode.ranges.get(clientId) ?? 0 })
      this.sendCaps(clientId, inode, cap, CapOp.EXPORT, cap.lastSent, { authority: toRank, capId: 0, seq: cap.lastSent, mseq: cap.mseq + 1 })
    }
    this.inodes.delete(ino)
    return { outputs: this.flush(), exported: { ino, fromRank: this.config.rank, sizeBytes: inode.sizeBytes, mode: inode.mode, caps } }
  }

  /** Takes over an exported inode: new caps with `mseq + 1`, IMPORT sent to each holder. */
  importInode(nowMs: number, exported: ExportedInode): AuthorityOutput[] {
    this.advance(nowMs)
    if (this.inodes.has(exported.ino)) throw new DerError('DER_EXIST', `inode ${exported.ino} is already here`)
    const inode = this.inode(exported.ino)
    inode.sizeBytes = exported.sizeBytes
    inode.mode = exported.mode
    for (const e of exported.caps) {
      const cap = new Capability(this.nextCapId++)
      cap.mseq = e.mseq + 1
      cap.wanted = e.wanted
      cap.pending = e.issued
      cap.issued = e.issued
      cap.lastSent = 1
      cap.markIssued()
      inode.caps.set(e.clientId, cap)
      if (e.rangeBytes > 0) inode.ranges.set(e.clientId, e.rangeBytes)
      if (!this.sessions.has(e.clientId)) this.sessions.set(e.clientId, { clientId: e.clientId, state: 'open', lastRenewMs: nowMs, reclaimAtMs: 0 })
      this.sendCaps(e.clientId, inode, cap, CapOp.IMPORT, cap.lastSent, { authority: exported.fromRank, capId: e.capId, seq: e.seq, mseq: e.mseq })
    }
    return this.flush()
  }

  /**
   * The data layer reports the true size of an inode that needed recovery (Ceph's size probe):
   * file caps are issued again from now on.
   */
  sizeRecovered(nowMs: number, ino: number, sizeBytes: number): AuthorityOutput[] {
    this.advance(nowMs)
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new DerError('DER_INVAL', `bad recovered size ${sizeBytes}`)
    const inode = this.inodes.get(ino)
    if (inode === undefined || !inode.needsRecover) throw new DerError('DER_INVAL', `inode ${ino} is not being recovered`)
    inode.needsRecover = false
    if (sizeBytes > inode.sizeBytes) inode.sizeBytes = sizeBytes
    this.evaluate(nowMs, inode)
    return this.flush()
  }

  // ---------------------------------------------------------------- introspection

  /** A client's session, if any. */
  session(clientId: string): Readonly<AuthoritySession> | undefined {
    return this.sessions.get(clientId)
  }

  /** Whether the client is evicted (its data writes must be refused). */
  isFenced(clientId: string): boolean {
    return this.sessions.get(clientId)?.state === 'evicted'
  }

  /** A client's cap on an inode. */
  cap(ino: number, clientId: string): Readonly<Capability> | undefined {
    return this.inodes.get(ino)?.caps.get(clientId)
  }

  /** Every (client, cap) on an inode. */
  caps(ino: number): ReadonlyMap<string, Readonly<Capability>> {
    return this.inodes.get(ino)?.caps ?? new Map()
  }

  /** The inodes this authority knows. */
  inodeNumbers(): number[] {
    return [...this.inodes.keys()]
  }

  /** The file mode the authority knows. */
  mode(ino: number): number {
    return this.inodes.get(ino)?.mode ?? 0
  }

  /** The file size the authority knows. */
  sizeBytes(ino: number): number {
    return this.inodes.get(ino)?.sizeBytes ?? 0
  }

  /** A client's journaled writable range (max_size), 0 if none. */
  rangeBytes(ino: number, clientId: string): number {
    return this.inodes.get(ino)?.ranges.get(clientId) ?? 0
  }

  /** Whether the size of `ino` must be recovered (a writer with a range was lost). */
  needsRecover(ino: number): boolean {
    return this.inodes.get(ino)?.needsRecover ?? false
  }

  /** Caps with unconfirmed revokes and their age (Ceph's revoking list). */
  revokingCaps(nowMs: number): RevokingCap[] {
    const rows: RevokingCap[] = []
    for (const inode of this.inodes.values()) {
      for (const [clientId, cap] of inode.caps) {
        if (cap.revokeStampMs !== undefined) rows.push({ clientId, ino: inode.ino, pending: formatCaps(cap.pending), issued: formatCaps(cap.issued), ageMs: nowMs - cap.revokeStampMs })
      }
    }
    return rows
  }

  // ---------------------------------------------------------------- handlers

  private handleSession(nowMs: number, clientId: string, op: SessionOpValue, seq: number, session: AuthoritySession | undefined): void {
    switch (op) {
      case SessionOp.REQUEST_OPEN:
        if (session?.state === 'evicted') {
          this.sendSession(clientId, SessionOp.REJECT, 0)
          this.out.push({ kind: 'refused', clientId, reason: 'client evicted' })
          return
        }
        if (session === undefined) this.sessions.set(clientId, { clientId, state: 'open', lastRenewMs: nowMs, reclaimAtMs: 0 })
        else session.lastRenewMs = nowMs
        this.sendSession(clientId, SessionOp.OPEN, 0)
        return
      case SessionOp.REQUEST_RENEWCAPS:
        if (session === undefined || session.state === 'evicted') {
          this.refuse(clientId, session === undefined ? 'no session' : 'client evicted')
          return
        }
        session.lastRenewMs = nowMs
        if (session.state === 'stale') {
          session.state = 'open'
          // resume_stale_caps: re-issue what the client still wants.
          for (const inode of this.inodes.values()) if (inode.caps.has(clientId)) this.evaluate(nowMs, inode, clientId)
        }
        this.sendSession(clientId, SessionOp.RENEWCAPS, seq)
        return
      case SessionOp.REQUEST_CLOSE:
        if (session === undefined || session.state === 'evicted') {
          this.refuse(clientId, session === undefined ? 'no session' : 'client evicted')
          return
        }
        this.dropClientCaps(nowMs, clientId, false)
        this.sessions.delete(clientId)
        this.sendSession(clientId, SessionOp.CLOSE, 0)
        return
      default:
        this.out.push({ kind: 'refused', clientId, reason: `session op ${op} is not a client request` })
    }
  }

  private handleOpen(nowMs: number, clientId: string, ino: number, wanted: CapMask): void {
    const inode = this.inode(ino)
    let cap = inode.caps.get(clientId)
    if (cap === undefined) {
      cap = new Capability(this.nextCapId++)
      inode.caps.set(clientId, cap)
    }
    cap.wanted = wanted | CAP_PIN
    const sentBefore = cap.lastSent
    this.evaluate(nowMs, inode)
    // The reply always carries the cap (a GRANT even if nothing changed), and counts as an issue.
    if (cap.lastSent === sentBefore || cap.revokes.length > 0) {
      if (cap.revokes.length === 0) {
        cap.issue(cap.pending, nowMs)
        this.sendCaps(clientId, inode, cap, CapOp.GRANT, cap.lastSent)
      }
    }
    cap.markIssued()
  }

  private handleCaps(nowMs: number, m: CapsMessage): void {
    const inode = this.inodes.get(m.ino)
    const cap = inode?.caps.get(m.clientId)
    if (inode === undefined || cap === undefined || cap.capId !== m.capId) {
      this.out.push({ kind: 'refused', clientId: m.clientId, reason: `no cap ${m.capId} on ${m.ino}` })
      return
    }
    if (seqCmp(m.mseq, cap.mseq) < 0) {
      this.out.push({ kind: 'refused', clientId: m.clientId, reason: `mseq ${m.mseq} older than ${cap.mseq}` })
      return
    }
    if (m.op === CapOp.RELEASE) {
      if (m.issueSeq !== cap.lastIssue) {
        // A release racing a newer issue: only forget revocations it proves were seen.
        cap.confirmReceipt(m.seq, cap.issued)
        this.out.push({ kind: 'refused', clientId: m.clientId, reason: `release with issue seq ${m.issueSeq}, last issue ${cap.lastIssue}` })
        return
      }
      this.removeCap(inode, m.clientId, false)
      this.evaluate(nowMs, inode)
      return
    }
    if (m.op !== CapOp.UPDATE && m.op !== CapOp.FLUSH) {
      this.out.push({ kind: 'refused', clientId: m.clientId, reason: `cap op ${m.op} is not a client op` })
      return
    }
    const heldBefore = cap.issued
    cap.confirmReceipt(m.seq, m.caps)
    // wanted: accepted when the client saw the last issue, or when it only adds bits.
    if (m.issueSeq === cap.lastIssue || (m.wanted & ~cap.wanted) !== 0) cap.wanted = m.wanted | CAP_PIN
    // Size and dirty metadata only from a holder of write-class caps.
    if ((heldBefore & writeBits) !== 0 && m.sizeBytes > inode.sizeBytes) inode.sizeBytes = m.sizeBytes
    // Attributes changed under Ax are applied before anyone else can be granted As (P5).
    if ((m.dirty & CAP_AUTH_EXCL) !== 0 && (heldBefore & CAP_AUTH_EXCL) !== 0) inode.mode = m.mode
    if (m.dirty !== 0 && m.flushTid !== 0) {
      // The state of this core is the journal: applying is journaling; then acknowledge.
      this.sendCaps(m.clientId, inode, cap, CapOp.FLUSH_ACK, cap.lastSent, undefined, { dirty: m.dirty, flushTid: m.flushTid })
    }
    if (m.maxSizeBytes > 0 && (cap.pending & CAP_FILE_WR) !== 0) {
      const current = inode.ranges.get(m.clientId) ?? 0
      if (m.maxSizeBytes > current) {
        const next = Math.max(m.maxSizeBytes, calcNewMaxSize(Math.max(m.maxSizeBytes, inode.sizeBytes), this.config.maxSize))
        inode.ranges.set(m.clientId, next) // journaled before the grant that carries it (sent by evaluate)
      }
    }
    this.evaluate(nowMs, inode)
  }

  // ---------------------------------------------------------------- decisions

  /** Recomputes every cap of `inode` (or only `onlyClient`'s) and sends grants and revokes. */
  private evaluate(nowMs: number, inode: InodeState, onlyClient?: string): void {
    const ids = [...inode.caps.keys()].sort()
    const wants = ids.map((clientId) => ({
      clientId,
      wanted: inode.caps.get(clientId)?.wanted ?? CAP_PIN,
      eligible: this.sessions.get(clientId)?.state === 'open',
    }))
    const allowed = allowedCaps(wants)
    if (inode.needsRecover) for (const [id, a] of allowed) allowed.set(id, a & ~CAP_FILE_ANY)
    for (const clientId of ids) {
      if (onlyClient !== undefined && clientId !== onlyClient) continue
      if (this.sessions.get(clientId)?.state !== 'open') continue
      const cap = inode.caps.get(clientId)
      assert(cap !== undefined, 'cap listed')
      let othersIssued = 0
      for (const [other, c] of inode.caps) if (other !== clientId) othersIssued |= c.issued
      const next = decideIssue({ pending: cap.pending, wanted: cap.wanted, allowed: allowed.get(clientId) ?? CAP_PIN, othersIssued })
      if (next === cap.pending) {
        // share_inode_max_size: a writer learns a grown range by a GRANT with a fresh seq.
        const range = inode.ranges.get(clientId) ?? 0
        if ((cap.pending & CAP_FILE_WR) !== 0 && cap.revokes.length === 0 && range !== (inode.rangesSent.get(clientId) ?? 0)) {
          const r = cap.issue(cap.pending, nowMs)
          this.sendCaps(clientId, inode, cap, CapOp.GRANT, r.seq)
        }
        continue
      }
      if ((next & CAP_FILE_WR) !== 0 && !inode.ranges.has(clientId)) inode.ranges.set(clientId, calcNewMaxSize(inode.sizeBytes, this.config.maxSize))
      const r = cap.issue(next, nowMs)
      this.sendCaps(clientId, inode, cap, r.revoke ? CapOp.REVOKE : CapOp.GRANT, r.seq)
    }
  }

  private markStale(nowMs: number, s: AuthoritySession): void {
    // A client that holds or is giving back write-class caps may have dirty state we cannot
    // trust any more: evict it (fenced). Others lose their caps silently (their lease is over).
    for (const inode of this.inodes.values()) {
      const cap = inode.caps.get(s.clientId)
      if (cap !== undefined && (cap.issued & CAP_ANY_WR) !== 0) {
        this.evictClient(nowMs, s.clientId, 'session stale while holding write caps')
        return
      }
    }
    s.state = 'stale'
    const touched: InodeState[] = []
    for (const inode of this.inodes.values()) {
      const cap = inode.caps.get(s.clientId)
      if (cap === undefined) continue
      cap.resetToPin()
      touched.push(inode)
    }
    this.sendSession(s.clientId, SessionOp.STALE, 0)
    for (const inode of touched) this.evaluate(nowMs, inode)
  }

  private evictClient(nowMs: number, clientId: string, reason: string): void {
    const s = this.sessions.get(clientId)
    if (s === undefined || s.state === 'evicted') return
    s.state = 'evicted'
    // The client stops trusting its caps at renewRequested + T <= lastRenew + T: wait that out.
    s.reclaimAtMs = Math.max(nowMs, s.lastRenewMs + this.config.sessionTimeoutMs)
    this.out.push({ kind: 'evict', clientId, reason })
    this.sendSession(clientId, SessionOp.CLOSE, 0)
    if (s.reclaimAtMs <= nowMs) this.reclaim(nowMs, clientId)
  }

  private reclaim(nowMs: number, clientId: string): void {
    this.dropClientCaps(nowMs, clientId, true)
  }

  private dropClientCaps(nowMs: number, clientId: string, lost: boolean): void {
    for (const inode of [...this.inodes.values()]) {
      if (!inode.caps.has(clientId)) continue
      this.removeCap(inode, clientId, lost)
      this.evaluate(nowMs, inode)
    }
  }

  private removeCap(inode: InodeState, clientId: string, lost: boolean): void {
    inode.caps.delete(clientId)
    inode.rangesSent.delete(clientId)
    if (inode.ranges.has(clientId)) {
      const range = inode.ranges.get(clientId) ?? 0
      if (lost && range > inode.sizeBytes && !inode.needsRecover) {
        inode.needsRecover = true
        this.out.push({ kind: 'recover-size', ino: inode.ino, upToBytes: range })
      }
      inode.ranges.delete(clientId)
    }
  }

  // ---------------------------------------------------------------- plumbing

  private inode(ino: number): InodeState {
    let inode = this.inodes.get(ino)
    if (inode === undefined) {
      inode = { ino, sizeBytes: 0, mode: 0, caps: new Map(), ranges: new Map(), rangesSent: new Map(), needsRecover: false }
      this.inodes.set(ino, inode)
    }
    return inode
  }

  private sendCaps(clientId: string, inode: InodeState, cap: Capability, op: CapOpValue, seq: number, peer?: CapPeer, flush?: { dirty: CapMask; flushTid: number }): void {
    const message: CapsMessage = {
      kind: 'caps',
      op,
      authority: this.config.rank,
      clientId,
      ino: inode.ino,
      capId: cap.capId,
      seq,
      issueSeq: cap.lastIssue,
      mseq: cap.mseq,
      caps: cap.pending,
      wanted: cap.wanted,
      dirty: flush?.dirty ?? 0,
      flushTid: flush?.flushTid ?? 0,
      sizeBytes: inode.sizeBytes,
      maxSizeBytes: inode.ranges.get(clientId) ?? 0,
      mode: inode.mode,
      ...(peer === undefined ? {} : { peer }),
    }
    if (op === CapOp.GRANT || op === CapOp.REVOKE || op === CapOp.IMPORT) inode.rangesSent.set(clientId, message.maxSizeBytes)
    this.out.push({ kind: 'send', to: clientId, message })
  }

  private sendSession(clientId: string, op: SessionOpValue, seq: number): void {
    this.out.push({ kind: 'send', to: clientId, message: { kind: 'session', op, authority: this.config.rank, clientId, seq } })
  }

  private refuse(clientId: string, reason: string): void {
    this.out.push({ kind: 'refused', clientId, reason })
    const s = this.sessions.get(clientId)
    this.sendSession(clientId, s?.state === 'evicted' ? SessionOp.CLOSE : SessionOp.REJECT, 0)
  }

  private advance(nowMs: number): void {
    if (!Number.isFinite(nowMs) || nowMs < this.lastNowMs) {
      throw new DerError('DER_INVAL', `time must be monotonic: got ${nowMs} ms after ${this.lastNowMs} ms`)
    }
    this.lastNowMs = nowMs
  }

  private flush(): AuthorityOutput[] {
    const out = this.out
    this.out = []
    return out
  }
}
