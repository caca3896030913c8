/**
 * The client core (the caching client's side, after the Linux kernel's `fs/ceph/caps.c`): per
 * inode the issued/implemented/revoking/wanted bits of each authority's cap, grants and revokes
 * (writeback, then invalidate, then ack; a deferred ack is remembered and always sent), dirty
 * caps with flush tids, max_size checks, import/export, and session renewal with a TTL counted
 * on the monotonic clock from the moment the renew was sent.
 *
 * @module
 */
import { DerError, assert } from '@x/common'
import {
  CAP_ANY,
  CAP_ANY_FILE_WR,
  CAP_AUTH_EXCL,
  CAP_AUTH_SHARED,
  CAP_FILE_BUFFER,
  CAP_FILE_CACHE,
  CAP_FILE_EXCL,
  CAP_FILE_RD,
  CAP_FILE_WR,
  CAP_PIN,
  type CapMask,
  capsForMode,
  formatCaps,
  seqCmp,
} from './cap-bits.ts'
import { shouldReportSize } from './max-size.ts'
import { type CapsMessage, CapOp, type Message, SessionOp, validateMessage } from './messages.ts'

/** Client timeouts. Times are monotonic milliseconds. */
export interface ClientConfig {
  /** This client's id. */
  readonly clientId: string
  /** The authorities' session timeout T (Ceph: 60 s). */
  readonly sessionTimeoutMs: number
  /** How often to renew (Ceph: T/4). */
  readonly renewIntervalMs: number
  /**
   * Largest rate difference between this client's clock and an authority's, in parts per million.
   * The TTL is shortened by this much so the client stops trusting its caps before any authority
   * can reuse them, even when its clock runs slow.
   */
  readonly clockDriftBoundPpm: number
  /** Fault knob (Ceph's "inject release failure"): never answer revokes. */
  readonly injectReleaseFailure: boolean
}

/** Defaults: T = 60 s, renew every 15 s, 1000 ppm drift bound. */
export const defaultClientConfig: Omit<ClientConfig, 'clientId'> = {
  sessionTimeoutMs: 60_000,
  renewIntervalMs: 15_000,
  clockDriftBoundPpm: 1000,
  injectReleaseFailure: false,
}

/** What a client core asks its adapter to do. */
export type ClientOutput =
  | { readonly kind: 'send'; readonly to: number; readonly message: Message }
  /** Write back every dirty buffer of the inode, then call {@link CapsClient.writebackDone}. */
  | { readonly kind: 'writeback'; readonly ino: number }
  /** Drop the inode's cached data now (it is not busy). */
  | { readonly kind: 'invalidate'; readonly ino: number }
  /** New caps, a new max_size or a finished revoke: retry waiting operations. */
  | { readonly kind: 'wake'; readonly ino: number }
  /** The authority closed the session (eviction): caps are gone; dirty data of these inodes is lost. */
  | { readonly kind: 'session-closed'; readonly authority: number; readonly lostDirtyInodes: readonly number[] }

/** Why {@link CapsClient.getCaps} could not give the caps now. */
export type GetCapsWait = 'wait' | 'max-size' | 'stale' | 'closed'

/** Result of {@link CapsClient.getCaps}. */
export type GetCapsResult = { readonly ok: true; readonly got: CapMask } | { readonly ok: false; readonly reason: GetCapsWait }

/** A client's session with one authority. */
export interface ClientSession {
  /** State. */
  state: 'opening' | 'open' | 'closed'
  /** Generation; caps with an older one are void (bumped on STALE or a lapsed lease). */
  capGen: number
  /** Caps of this session are valid while `now < capTtlMs`. */
  capTtlMs: number
  /** When the last renew was sent. */
  renewRequestedMs: number
  /** Seq of the last renew sent. */
  renewSeq: number
}

/** One authority's cap on an inode, as the client holds it. */
export interface ClientCap {
  /** The authority's rank. */
  readonly authority: number
  /** Cap id (0 for an export placeholder). */
  capId: number
  /** The latest set the authority gave. */
  issued: CapMask
  /** Bits the client may still be using: issued plus revoked-but-unacked bits. */
  implemented: CapMask
  /** What we last told the authority we want. */
  mdsWanted: CapMask
  /** Seq of the last message received for this cap. */
  seq: number
  /** Seq of the last issue. */
  issueSeq: number
  /** Migrate seq. */
  mseq: number
  /** Session generation when last issued. */
  capGen: number
}

interface Flush {
  readonly tid: number
  readonly caps: CapMask
}

interface InodeCaps {
  readonly ino: number
  readonly caps: Map<number, ClientCap>
  authRank: number
  openModes: Map<number, number>
  /** When the last open request (no cap yet) was sent. */
  openRequestedMs: number
  /** Bits waiting operations need (e.g. `As` for a getattr) beyond what open files want. */
  waitWanted: CapMask
  refs: { rd: number; cache: number; wr: number; buffer: number; excl: number }
  dirtyBuffers: number
  cachedPages: number
  cacheBusy: number
  rdcacheGen: number
  invalidateQueued: boolean
  writebackQueued: boolean
  /** A revoke ack is owed (the `CEPH_I_FLUSH_FORCE` fix): send it as soon as the revoked bits are unused. */
  owedAck: boolean
  dirtyCaps: CapMask
  flushing: Flush[]
  sizeBytes: number
  mode: number
  reportedSizeBytes: number
  maxSizeBytes: number
  wantedMaxSizeBytes: number
  requestedMaxSizeBytes: number
}

/** The per-inode numbers shown by {@link CapsClient.summary}. */
export interface CapSummary {
  /** Bits in use. */
  readonly used: CapMask
  /** Valid issued bits. */
  readonly issued: CapMask
  /** Implemented bits. */
  readonly implemented: CapMask
  /** Revoking bits. */
  readonly revoking: CapMask
  /** What the authority was told. */
  readonly mdsWanted: CapMask
  /** What open files want. */
  readonly fileWanted: CapMask
  /** What would be kept on a check. */
  readonly retain: CapMask
}

/**
 * The client side. Application code asks {@link CapsClient.getCaps} before reading or writing and
 * {@link CapsClient.putCaps} after; the adapter owns the page cache and dirty buffers and reports
 * them with {@link CapsClient.addDirtyBuffers}, {@link CapsClient.writebackDone},
 * {@link CapsClient.setCachedPages} and {@link CapsClient.releaseCacheBusy}.
 */
export class CapsClient {
  /** The configuration in force. */
  readonly config: ClientConfig
  private readonly sessions = new Map<number, ClientSession>()
  private readonly inodes = new Map<number, InodeCaps>()
  private lastNowMs = 0
  private lastFlushTid = 0
  private out: ClientOutput[] = []

  constructor(config: Partial<ClientConfig> & { readonly clientId: string }) {
    this.config = { ...defaultClientConfig, ...config }
    const c = this.config
    if (c.clientId.length === 0 || c.clientId.length > 128) throw new DerError('DER_INVAL', 'clientId must have 1..128 characters')
    if (!(c.sessionTimeoutMs > 0) || !(c.renewIntervalMs > 0) || c.renewIntervalMs >= c.sessionTimeoutMs) throw new DerError('DER_INVAL', 'need 0 < renewIntervalMs < sessionTimeoutMs')
    if (!(c.clockDriftBoundPpm >= 0 && c.clockDriftBoundPpm < 1e6)) throw new DerError('DER_INVAL', 'clockDriftBoundPpm must be in [0, 1e6)')
  }

  // ---------------------------------------------------------------- sessions

  /** Opens a session with an authority (REQUEST_OPEN; the TTL starts with the OPEN reply). */
  openSession(nowMs: number, authority: number): ClientOutput[] {
    this.advance(nowMs)
    if (this.sessions.get(authority)?.state === 'closed') throw new DerError('DER_SHUTDOWN', `session with authority ${authority} was closed (evicted)`)
    this.sessions.set(authority, { state: 'opening', capGen: 1, capTtlMs: 0, renewRequestedMs: nowMs, renewSeq: 0 })
    this.send(authority, { kind: 'session', op: SessionOp.REQUEST_OPEN, authority, clientId: this.config.clientId, seq: 0 })
    return this.flushOut()
  }

  /** A session's state. */
  session(authority: number): Readonly<ClientSession> | undefined {
    return this.sessions.get(authority)
  }

  /** Whether caps from `authority` may be trusted at `nowMs`. */
  sessionValid(nowMs: number, authority: number): boolean {
    const s = this.sessions.get(authority)
    return s !== undefined && s.state === 'open' && nowMs < s.capTtlMs
  }

  /** Renews leases every `renewIntervalMs` (and at once after a lapse), and retries owed acks. */
  tick(nowMs: number): ClientOutput[] {
    this.advance(nowMs)
    for (const [authority, s] of this.sessions) {
      if (s.state === 'opening' && nowMs - s.renewRequestedMs >= this.config.renewIntervalMs) {
        // The request or its reply was lost: ask again (the TTL will count from this send).
        s.renewRequestedMs = nowMs
        this.send(authority, { kind: 'session', op: SessionOp.REQUEST_OPEN, authority, clientId: this.config.clientId, seq: 0 })
      }
      if (s.state !== 'open') continue
      if (nowMs - s.renewRequestedMs >= this.config.renewIntervalMs || nowMs >= s.capTtlMs) {
        if (nowMs - s.renewRequestedMs >= Math.min(this.config.renewIntervalMs, 1_000) || s.renewSeq === 0) this.sendRenew(nowMs, authority, s)
      }
    }
    for (const inode of this.inodes.values()) if (inode.owedAck) this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  // ---------------------------------------------------------------- messages

  /** Handles one message from an authority. Invalid messages throw `DER_INVAL` and change nothing. */
  step(nowMs: number, input: unknown): ClientOutput[] {
    const m = validateMessage(input)
    this.advance(nowMs)
    if (m.clientId !== this.config.clientId) throw new DerError('DER_INVAL', `message for client ${m.clientId} reached ${this.config.clientId}`)
    const s = this.sessions.get(m.authority)
    if (s === undefined || s.state === 'closed') return this.flushOut()
    if (m.kind === 'session') this.handleSession(nowMs, m.authority, s, m.op, m.seq)
    else if (m.kind === 'caps') this.handleCaps(nowMs, s, m)
    return this.flushOut()
  }

  private handleSession(nowMs: number, authority: number, s: ClientSession, op: number, seq: number): void {
    switch (op) {
      case SessionOp.OPEN:
        if (s.state !== 'opening') return
        s.state = 'open'
        s.capTtlMs = this.ttlFrom(s.renewRequestedMs)
        return
      case SessionOp.RENEWCAPS: {
        if (seq !== s.renewSeq || s.state !== 'open') return // an older renew's ack
        const wasStale = nowMs >= s.capTtlMs
        if (wasStale) this.lapse(authority, s)
        s.capTtlMs = this.ttlFrom(s.renewRequestedMs)
        if (wasStale && nowMs < s.capTtlMs) {
          for (const inode of this.inodes.values()) this.checkCaps(nowMs, inode, false)
        }
        return
      }
      case SessionOp.STALE:
        this.lapse(authority, s)
        s.capTtlMs = Math.min(s.capTtlMs, nowMs)
        this.sendRenew(nowMs, authority, s)
        return
      case SessionOp.CLOSE:
      case SessionOp.REJECT:
        this.closeSession(authority, s)
        return
      default:
        return
    }
  }

  private handleCaps(nowMs: number, s: ClientSession, m: CapsMessage): void {
    const inode = this.inodes.get(m.ino)
    switch (m.op) {
      case CapOp.GRANT:
      case CapOp.REVOKE:
      case CapOp.IMPORT:
        if (inode === undefined) {
          // A cap for an inode we do not have: give it back at once.
          this.send(m.authority, { ...this.capMessage(m.authority, m.ino, m.capId, m.seq, m.issueSeq, m.mseq, 0, 0), op: CapOp.RELEASE })
          return
        }
        this.handleGrant(nowMs, s, inode, m)
        return
      case CapOp.EXPORT:
        if (inode !== undefined) this.handleExport(inode, m)
        return
      case CapOp.FLUSH_ACK:
        if (inode !== undefined) this.handleFlushAck(inode, m.flushTid)
        return
      default:
        return
    }
  }

  private handleGrant(nowMs: number, s: ClientSession, inode: InodeCaps, m: CapsMessage): void {
    let cap = inode.caps.get(m.authority)
    let keepBits = false
    if (m.op === CapOp.IMPORT) {
      const peer = m.peer
      const peerCap = peer === undefined || peer.authority === m.authority ? undefined : inode.caps.get(peer.authority)
      if (peer !== undefined && peerCap !== undefined && peerCap.capId === peer.capId) {
        // The new authority took over the old cap: its bits carry over, the old cap goes.
        inode.caps.delete(peer.authority)
        cap ??= this.newCap(m.authority, m, s)
        cap.issued |= peerCap.issued
        cap.implemented |= peerCap.implemented
        cap.capGen = peerCap.capGen
      }
      cap ??= this.newCap(m.authority, m, s)
      cap.capId = m.capId
      cap.seq = 0
    } else if (cap === undefined) {
      cap = this.newCap(m.authority, m, s)
    } else if (cap.capId === 0) {
      // A grant from the new authority between EXPORT and IMPORT: adopt it, take nothing away.
      cap.capId = m.capId
      keepBits = true
    } else if (cap.capId !== m.capId) {
      // The authority dropped our old cap and made a new one (e.g. after a release).
      inode.caps.delete(m.authority)
      cap = this.newCap(m.authority, m, s)
    }
    if (m.op === CapOp.IMPORT || seqCmp(m.mseq, cap.mseq) > 0 || !inode.caps.has(inode.authRank)) {
      const auth = inode.caps.get(inode.authRank)
      if (auth === undefined || auth === cap || seqCmp(m.mseq, auth.mseq) > 0) inode.authRank = m.authority
      cap.mseq = m.mseq
    }
    let newcaps = m.caps | CAP_PIN
    let seq = m.seq
    const wasStale = cap.capGen < s.capGen
    if (wasStale) {
      cap.issued = CAP_PIN
      cap.implemented = CAP_PIN | (cap.implemented & this.used(inode) & CAP_FILE_BUFFER)
    }
    const isAuth = inode.authRank === m.authority
    if (keepBits || (seqCmp(seq, cap.seq) <= 0 && isAuth && m.op !== CapOp.IMPORT && !wasStale && cap.seq !== 0)) {
      // Sent before an import we already applied: never take bits away because of it.
      newcaps |= cap.issued
      seq = cap.seq
    }
    cap.capGen = s.capGen
    cap.seq = seq
    cap.issueSeq = m.issueSeq
    // Issue side effects: a newly granted Fc starts a new cache generation.
    if ((newcaps & CAP_FILE_CACHE) !== 0 && (cap.issued & CAP_FILE_CACHE) === 0) inode.rdcacheGen++
    if (m.sizeBytes > inode.sizeBytes) inode.sizeBytes = m.sizeBytes
    // Attributes come from the authority (under As or Ax) unless we changed them locally and the
    // change is not acknowledged yet: a grant must never undo a local change.
    let flushingBits = 0
    for (const f of inode.flushing) flushingBits |= f.caps
    if ((newcaps & (CAP_AUTH_SHARED | CAP_AUTH_EXCL)) !== 0 && ((inode.dirtyCaps | flushingBits) & CAP_AUTH_EXCL) === 0) inode.mode = m.mode
    let wake = false
    if (isAuth && (newcaps & CAP_ANY_FILE_WR) !== 0 && m.maxSizeBytes !== inode.maxSizeBytes) {
      inode.maxSizeBytes = m.maxSizeBytes
      if (inode.maxSizeBytes >= inode.wantedMaxSizeBytes) {
        inode.wantedMaxSizeBytes = 0
        inode.requestedMaxSizeBytes = 0
      }
      wake = true
    }
    const revoking = cap.issued & ~newcaps
    let revokeWait = false
    if (revoking !== 0) {
      const used = this.used(inode)
      if ((revoking & used & CAP_FILE_BUFFER) !== 0) {
        revokeWait = true
        this.queueWriteback(inode)
      }
      if ((revoking & CAP_FILE_CACHE) !== 0 && inode.cachedPages > 0) {
        if (inode.cacheBusy === 0) {
          this.out.push({ kind: 'invalidate', ino: inode.ino })
          inode.cachedPages = 0
        } else {
          revokeWait = true
          inode.invalidateQueued = true
        }
      }
      cap.issued = newcaps
      cap.implemented |= newcaps
      if ((newcaps & ~cap.implemented) !== 0) wake = true
    } else if (newcaps !== cap.issued) {
      cap.issued = newcaps
      cap.implemented |= newcaps
      wake = true
    }
    assert((cap.issued & ~cap.implemented) === 0, 'client cap issued must be a subset of implemented')
    if (wake) this.out.push({ kind: 'wake', ino: inode.ino })
    if (m.op === CapOp.REVOKE || revoking !== 0) inode.owedAck = true
    if (revokeWait) return
    const reannounce = (wasStale || m.op === CapOp.IMPORT) && (this.wanted(inode) & ~(cap.mdsWanted | newcaps)) !== 0
    if (inode.owedAck || reannounce || wake) this.checkCaps(nowMs, inode, false)
  }

  private handleExport(inode: InodeCaps, m: CapsMessage): void {
    const cap = inode.caps.get(m.authority)
    if (cap === undefined || cap.capId !== m.capId || m.peer === undefined) return
    const target = m.peer.authority
    inode.caps.delete(m.authority)
    const existing = inode.caps.get(target)
    if (existing !== undefined) {
      existing.issued |= cap.issued
      existing.implemented |= cap.implemented
    } else {
      const s = this.sessions.get(target)
      inode.caps.set(target, { ...cap, authority: target, capId: 0, seq: 0, mseq: m.peer.mseq, mdsWanted: 0, capGen: s?.capGen ?? cap.capGen })
    }
    if (inode.authRank === m.authority) inode.authRank = target
  }

  private handleFlushAck(inode: InodeCaps, flushTid: number): void {
    const remaining = inode.flushing.filter((f) => f.tid > flushTid)
    inode.flushing = remaining
  }

  private newCap(authority: number, m: CapsMessage, s: ClientSession): ClientCap {
    const cap: ClientCap = { authority, capId: m.capId, issued: CAP_PIN, implemented: CAP_PIN, mdsWanted: m.wanted, seq: 0, issueSeq: 0, mseq: m.mseq, capGen: s.capGen }
    const inode = this.inodes.get(m.ino)
    assert(inode !== undefined, 'inode known')
    inode.caps.set(authority, cap)
    if (!inode.caps.has(inode.authRank)) inode.authRank = authority
    return cap
  }

  // ---------------------------------------------------------------- application side

  /** Opens `ino` in `mode` (a {@link FileMode} bit set) at `authority`; asks for caps it lacks. */
  open(nowMs: number, ino: number, mode: number, authority = 0): ClientOutput[] {
    this.advance(nowMs)
    if (!Number.isSafeInteger(ino) || ino < 0) throw new DerError('DER_INVAL', `bad inode number ${ino}`)
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) throw new DerError('DER_INVAL', `bad file mode ${mode}`)
    const s = this.sessions.get(authority)
    if (s === undefined || s.state === 'closed') throw new DerError('DER_SHUTDOWN', `no session with authority ${authority}`)
    let inode = this.inodes.get(ino)
    if (inode === undefined) {
      inode = this.newInode(ino, authority)
      this.inodes.set(ino, inode)
    }
    inode.openModes.set(mode, (inode.openModes.get(mode) ?? 0) + 1)
    const cap = inode.caps.get(inode.authRank)
    if (cap === undefined) this.requestOpen(nowMs, inode)
    else this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  /** Closes one open of `ino` in `mode`; bits nobody uses or wants any more are released. */
  close(nowMs: number, ino: number, mode: number): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.inodes.get(ino)
    const count = inode?.openModes.get(mode) ?? 0
    if (inode === undefined || count === 0) throw new DerError('DER_INVAL', `inode ${ino} is not open in mode ${mode}`)
    if (count === 1) inode.openModes.delete(mode)
    else inode.openModes.set(mode, count - 1)
    if (inode.openModes.size === 0) inode.waitWanted = 0
    this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  /**
   * Takes cap references for an operation that needs `need` and would like `want` (Ceph's
   * `get_caps`). For writes pass `endOffsetBytes`: beyond max_size the client asks for more and
   * the caller waits (`max-size`). Waits while a wanted bit is being revoked, so a synchronous
   * write never overtakes buffered data still being written back (Fb|Fw → Fw).
   */
  getCaps(nowMs: number, ino: number, need: CapMask, want: CapMask, endOffsetBytes = 0): { result: GetCapsResult; outputs: ClientOutput[] } {
    this.advance(nowMs)
    const inode = this.inodes.get(ino)
    if (inode === undefined) throw new DerError('DER_INVAL', `inode ${ino} is not open`)
    const s = this.sessions.get(inode.authRank)
    let reason: GetCapsWait | undefined
    if (s === undefined || s.state === 'closed') reason = 'closed'
    else if (!this.sessionValid(nowMs, inode.authRank)) reason = 'stale'
    if (reason !== undefined) return { result: { ok: false, reason }, outputs: this.flushOut() }
    const have = this.validIssued(nowMs, inode)
    const auth = inode.caps.get(inode.authRank)
    const revoking = auth === undefined ? 0 : auth.implemented & ~auth.issued
    if ((need & CAP_FILE_WR) !== 0 && (have & CAP_FILE_WR) !== 0 && endOffsetBytes > inode.maxSizeBytes) {
      if (endOffsetBytes > inode.wantedMaxSizeBytes) inode.wantedMaxSizeBytes = endOffsetBytes
      if (inode.wantedMaxSizeBytes > inode.requestedMaxSizeBytes) this.checkCaps(nowMs, inode, false)
      return { result: { ok: false, reason: 'max-size' }, outputs: this.flushOut() }
    }
    if ((need & ~have) !== 0) {
      inode.waitWanted |= need
      // No cap yet and the open request may have been lost: ask again, at most once per renew interval.
      if (auth === undefined && nowMs - inode.openRequestedMs >= this.config.renewIntervalMs) this.requestOpen(nowMs, inode)
      if ((need & ~(auth?.mdsWanted ?? 0)) !== 0) this.checkCaps(nowMs, inode, false)
      return { result: { ok: false, reason: 'wait' }, outputs: this.flushOut() }
    }
    // Bits being revoked may still be in use by a writeback: new users of `need` wait for it.
    if ((revoking & (need | want) & (CAP_FILE_BUFFER | CAP_FILE_CACHE)) !== 0 && (revoking & this.used(inode)) !== 0) {
      return { result: { ok: false, reason: 'wait' }, outputs: this.flushOut() }
    }
    const got = (need | (want & have)) & CAP_ANY
    inode.waitWanted &= ~need
    this.takeRefs(inode, got, 1)
    return { result: { ok: true, got }, outputs: this.flushOut() }
  }

  /** Drops the references {@link CapsClient.getCaps} gave; a finished revoke gets its ack. */
  putCaps(nowMs: number, ino: number, got: CapMask): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.mustInode(ino)
    this.takeRefs(inode, got, -1)
    this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  /** Records a write that ended at `endOffsetBytes` (size grows; buffered under `Fx` dirties it). */
  noteWrite(nowMs: number, ino: number, endOffsetBytes: number): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.mustInode(ino)
    if (endOffsetBytes > inode.maxSizeBytes) throw new DerError('DER_OVERFLOW', `write to ${endOffsetBytes} passes max_size ${inode.maxSizeBytes} of inode ${ino}`)
    if (endOffsetBytes > inode.sizeBytes) {
      inode.sizeBytes = endOffsetBytes
      const have = this.validIssued(nowMs, inode)
      if ((have & CAP_FILE_EXCL) !== 0) inode.dirtyCaps |= CAP_FILE_EXCL
      else inode.dirtyCaps |= CAP_FILE_WR
    }
    if (shouldReportSize(inode.sizeBytes, inode.maxSizeBytes, inode.reportedSizeBytes)) {
      if (inode.wantedMaxSizeBytes <= inode.maxSizeBytes) inode.wantedMaxSizeBytes = inode.maxSizeBytes + 1
      this.checkCaps(nowMs, inode, false)
    }
    return this.flushOut()
  }

  /**
   * Changes the file mode locally under `Ax` (a chmod without a request): the change is dirty
   * until flushed (fsync, a revoke ack, or giving `Ax` back). Throws `DER_NO_PERM` without `Ax`.
   */
  setModeLocally(nowMs: number, ino: number, mode: number): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.mustInode(ino)
    if (!Number.isInteger(mode) || mode < 0 || mode > 0xffff_ffff) throw new DerError('DER_INVAL', `bad mode ${mode}`)
    if ((this.validIssued(nowMs, inode) & CAP_AUTH_EXCL) === 0) throw new DerError('DER_NO_PERM', `no Ax on inode ${ino}: change the mode through the authority`)
    inode.mode = mode
    inode.dirtyCaps |= CAP_AUTH_EXCL
    return this.flushOut()
  }

  /** The file mode as this client knows it (trust it only under `As`). */
  mode(ino: number): number {
    return this.mustInode(ino).mode
  }

  /** The adapter dirtied `count` buffers of `ino` (under `Fb`). */
  addDirtyBuffers(ino: number, count: number): void {
    const inode = this.mustInode(ino)
    assert(count > 0 && Number.isInteger(count), 'dirty buffer count must be a positive integer')
    inode.dirtyBuffers += count
  }

  /** `count` dirty buffers of `ino` are written back (or dropped after an error); at 0 the owed ack goes out. */
  writebackDone(nowMs: number, ino: number, count: number): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.mustInode(ino)
    assert(count >= 0 && count <= inode.dirtyBuffers, 'writeback count must not exceed the dirty buffers')
    inode.dirtyBuffers -= count
    if (inode.dirtyBuffers === 0) inode.writebackQueued = false
    this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  /** The adapter now caches `count` pages of `ino` (under `Fc`). */
  setCachedPages(ino: number, count: number): void {
    this.mustInode(ino).cachedPages = count
  }

  /** Marks the cache busy (a read in flight): revoking `Fc` then defers the invalidation. */
  holdCacheBusy(ino: number): void {
    this.mustInode(ino).cacheBusy++
  }

  /** Ends a {@link CapsClient.holdCacheBusy}; runs a queued invalidation and sends the owed ack. */
  releaseCacheBusy(nowMs: number, ino: number): ClientOutput[] {
    this.advance(nowMs)
    const inode = this.mustInode(ino)
    assert(inode.cacheBusy > 0, 'cache was not busy')
    inode.cacheBusy--
    if (inode.cacheBusy === 0 && inode.invalidateQueued) {
      inode.invalidateQueued = false
      const auth = inode.caps.get(inode.authRank)
      const fcRevoked = auth === undefined || (auth.issued & CAP_FILE_CACHE) === 0
      if (fcRevoked && inode.cachedPages > 0) {
        this.out.push({ kind: 'invalidate', ino })
        inode.cachedPages = 0
      }
    }
    this.checkCaps(nowMs, inode, false)
    return this.flushOut()
  }

  /** Flushes dirty metadata now (fsync): an UPDATE with a flush tid, acked by FLUSH_ACK. */
  flushDirty(nowMs: number, ino: number): ClientOutput[] {
    this.advance(nowMs)
    this.checkCaps(nowMs, this.mustInode(ino), true)
    return this.flushOut()
  }

  // ---------------------------------------------------------------- introspection

  /** Valid issued bits of `ino` (caps of live, unexpired sessions with the current generation). */
  issued(nowMs: number, ino: number): CapMask {
    const i = this.inodes.get(ino)
    return i === undefined ? 0 : this.validIssued(nowMs, i)
  }

  private validIssued(nowMs: number, i: InodeCaps): CapMask {
    let have = 0
    for (const cap of i.caps.values()) {
      const s = this.sessions.get(cap.authority)
      if (s === undefined || s.state !== 'open' || nowMs >= s.capTtlMs || cap.capGen !== s.capGen || cap.capId === 0) continue
      have |= cap.issued
    }
    return have
  }

  /** Bits the client may be using on `ino` at `nowMs`: implemented bits of valid caps, plus `Fb` while dirty data remains. */
  implemented(nowMs: number, ino: number): CapMask {
    const i = this.inodes.get(ino)
    if (i === undefined) return 0
    let have = 0
    for (const cap of i.caps.values()) {
      const s = this.sessions.get(cap.authority)
      if (s === undefined || s.state !== 'open' || nowMs >= s.capTtlMs) continue
      have |= cap.implemented
    }
    return have
  }

  /** The cap of `ino` from `authority`. */
  cap(ino: number, authority = 0): Readonly<ClientCap> | undefined {
    return this.inodes.get(ino)?.caps.get(authority)
  }

  /** The authority holding the auth cap of `ino`. */
  authRank(ino: number): number | undefined {
    return this.inodes.get(ino)?.authRank
  }

  /** Current cache generation of `ino`: cached data of another generation must not be served. */
  rdcacheGen(ino: number): number {
    return this.inodes.get(ino)?.rdcacheGen ?? 0
  }

  /** Known size and max_size of `ino`. */
  sizes(ino: number): { readonly sizeBytes: number; readonly maxSizeBytes: number; readonly wantedMaxSizeBytes: number; readonly requestedMaxSizeBytes: number } {
    const i = this.mustInode(ino)
    return { sizeBytes: i.sizeBytes, maxSizeBytes: i.maxSizeBytes, wantedMaxSizeBytes: i.wantedMaxSizeBytes, requestedMaxSizeBytes: i.requestedMaxSizeBytes }
  }

  /** Dirty and flushing metadata bits of `ino`. */
  dirtyState(ino: number): { readonly dirty: CapMask; readonly flushing: CapMask; readonly dirtyBuffers: number; readonly owedAck: boolean } {
    const i = this.mustInode(ino)
    let flushing = 0
    for (const f of i.flushing) flushing |= f.caps
    return { dirty: i.dirtyCaps, flushing, dirtyBuffers: i.dirtyBuffers, owedAck: i.owedAck }
  }

  /** The numbers of Ceph's `caps(summary)` line for `ino`. */
  summary(nowMs: number, ino: number): CapSummary {
    const i = this.mustInode(ino)
    const auth = i.caps.get(i.authRank)
    const fileWanted = this.fileWanted(i)
    return {
      used: this.used(i),
      issued: this.validIssued(nowMs, i),
      implemented: auth?.implemented ?? 0,
      revoking: auth === undefined ? 0 : auth.implemented & ~auth.issued,
      mdsWanted: auth?.mdsWanted ?? 0,
      fileWanted,
      retain: this.retain(i),
    }
  }

  /** Ceph's summary line: `caps(summary): used … issued … implemented … revoking … mds_wanted … file_wanted … retain …`. */
  summaryLine(nowMs: number, ino: number): string {
    const s = this.summary(nowMs, ino)
    return `caps(summary): used ${formatCaps(s.used)} issued ${formatCaps(s.issued)} implemented ${formatCaps(s.implemented)} revoking ${formatCaps(s.revoking)} mds_wanted ${formatCaps(s.mdsWanted)} file_wanted ${formatCaps(s.fileWanted)} retain ${formatCaps(s.retain)}`
  }

  // ---------------------------------------------------------------- internals

  /**
   * Ceph's `check_caps` for the auth cap: sends an UPDATE when a revoke is owed and complete, when
   * bits beyond `retain` can be given back, when wanted bits were not announced, for max_size
   * requests and size reports, and when a flush is asked for.
   */
  private checkCaps(nowMs: number, inode: InodeCaps, flushRequested: boolean): void {
    const cap = inode.caps.get(inode.authRank)
    const s = this.sessions.get(inode.authRank)
    if (cap === undefined || cap.capId === 0 || s === undefined || s.state !== 'open') return
    const used = this.used(inode)
    const wanted = this.wanted(inode)
    const retain = this.retain(inode)
    const revoking = cap.implemented & ~cap.issued
    if (this.config.injectReleaseFailure && (inode.owedAck || revoking !== 0)) return
    const valid = this.sessionValid(nowMs, inode.authRank)
    let send = false
    if (inode.owedAck && (revoking & used) === 0) send = true
    if (revoking !== 0 && (revoking & used) === 0) send = true
    if (valid && (cap.issued & ~retain & ~CAP_PIN) !== 0) send = true
    if (valid && (wanted & ~cap.mdsWanted & ~cap.issued) !== 0) send = true
    if ((cap.issued & CAP_FILE_WR) !== 0 && inode.wantedMaxSizeBytes > inode.maxSizeBytes && inode.wantedMaxSizeBytes > inode.requestedMaxSizeBytes) send = true
    if ((cap.issued & CAP_FILE_WR) !== 0 && shouldReportSize(inode.sizeBytes, inode.maxSizeBytes, inode.reportedSizeBytes)) send = true
    if (flushRequested && inode.dirtyCaps !== 0) send = true
    if (!send) return
    if (valid) cap.issued &= retain
    cap.implemented &= cap.issued | used
    cap.implemented |= cap.issued
    cap.mdsWanted = wanted
    let dirty = 0
    let flushTid = 0
    // Dirty metadata goes with any ack, with a flush request, and whenever we stop holding a
    // bit it was changed under: the authority must have it before anyone else gets the shared bit.
    const losingDirty = (inode.dirtyCaps & ~cap.implemented) !== 0 || (revoking & (CAP_FILE_EXCL | CAP_FILE_WR | CAP_FILE_BUFFER)) !== 0
    if (inode.dirtyCaps !== 0 && (flushRequested || losingDirty || inode.owedAck)) {
      dirty = inode.dirtyCaps
      flushTid = ++this.lastFlushTid
      inode.flushing.push({ tid: flushTid, caps: dirty })
      inode.dirtyCaps = 0
    }
    // Every message re-sends what is still flushing (the current values, the newest tid): a lost
    // flush must not let a later message give the exclusive bit back without its changes.
    for (const f of inode.flushing) {
      dirty |= f.caps
      if (f.tid > flushTid) flushTid = f.tid
    }
    let requested = 0
    if (inode.wantedMaxSizeBytes > inode.maxSizeBytes && inode.wantedMaxSizeBytes > inode.requestedMaxSizeBytes) {
      requested = inode.wantedMaxSizeBytes
      inode.requestedMaxSizeBytes = requested
    }
    inode.reportedSizeBytes = inode.sizeBytes
    if ((revoking & used) === 0) inode.owedAck = false
    this.send(inode.authRank, {
      ...this.capMessage(inode.authRank, inode.ino, cap.capId, cap.seq, cap.issueSeq, cap.mseq, cap.implemented, wanted),
      op: flushRequested && dirty !== 0 ? CapOp.FLUSH : CapOp.UPDATE,
      dirty,
      flushTid,
      sizeBytes: inode.sizeBytes,
      maxSizeBytes: requested,
      mode: inode.mode,
    })
  }

  /** The session's lease lapsed (STALE, or a renew ack found it expired): every cap is void. */
  private lapse(authority: number, s: ClientSession): void {
    s.capGen++
    for (const inode of this.inodes.values()) {
      const cap = inode.caps.get(authority)
      if (cap === undefined) continue
      const used = this.used(inode)
      cap.issued = CAP_PIN
      cap.implemented = CAP_PIN | (cap.implemented & used & CAP_FILE_BUFFER)
      if (inode.cachedPages > 0 && inode.cacheBusy === 0) {
        this.out.push({ kind: 'invalidate', ino: inode.ino })
        inode.cachedPages = 0
      }
      inode.rdcacheGen++
      if (inode.dirtyBuffers > 0) this.queueWriteback(inode)
    }
  }

  private closeSession(authority: number, s: ClientSession): void {
    s.state = 'closed'
    const lost: number[] = []
    for (const inode of this.inodes.values()) {
      if (!inode.caps.has(authority)) continue
      inode.caps.delete(authority)
      if (inode.dirtyBuffers > 0 || inode.dirtyCaps !== 0 || inode.flushing.length > 0) lost.push(inode.ino)
      inode.dirtyCaps = 0
      inode.flushing = []
      inode.owedAck = false
      inode.rdcacheGen++
      if (inode.cachedPages > 0) {
        this.out.push({ kind: 'invalidate', ino: inode.ino })
        inode.cachedPages = 0
      }
    }
    this.out.push({ kind: 'session-closed', authority, lostDirtyInodes: lost })
  }

  private sendRenew(nowMs: number, authority: number, s: ClientSession): void {
    s.renewSeq = (s.renewSeq + 1) >>> 0
    s.renewRequestedMs = nowMs
    this.send(authority, { kind: 'session', op: SessionOp.REQUEST_RENEWCAPS, authority, clientId: this.config.clientId, seq: s.renewSeq })
  }

  private ttlFrom(renewRequestedMs: number): number {
    return renewRequestedMs + this.config.sessionTimeoutMs * (1 - this.config.clockDriftBoundPpm / 1e6)
  }

  private queueWriteback(inode: InodeCaps): void {
    if (inode.writebackQueued) return
    inode.writebackQueued = true
    this.out.push({ kind: 'writeback', ino: inode.ino })
  }

  private used(inode: InodeCaps): CapMask {
    let used = 0
    const r = inode.refs
    if (r.rd > 0) used |= CAP_FILE_RD
    if (r.cache > 0 || inode.cachedPages > 0) used |= CAP_FILE_CACHE
    if (r.wr > 0) used |= CAP_FILE_WR
    if (r.buffer > 0 || inode.dirtyBuffers > 0) used |= CAP_FILE_BUFFER
    if (r.excl > 0) used |= CAP_FILE_EXCL
    if (used !== 0) used |= CAP_PIN
    return used
  }

  private fileWanted(inode: InodeCaps): CapMask {
    let wanted = 0
    for (const [mode, count] of inode.openModes) if (count > 0) wanted |= capsForMode(mode)
    return wanted
  }

  private wanted(inode: InodeCaps): CapMask {
    return this.fileWanted(inode) | this.used(inode) | inode.waitWanted | CAP_PIN
  }

  private retain(inode: InodeCaps): CapMask {
    return inode.openModes.size > 0 ? CAP_ANY : this.wanted(inode)
  }

  private takeRefs(inode: InodeCaps, got: CapMask, delta: 1 | -1): void {
    const r = inode.refs
    if ((got & CAP_FILE_RD) !== 0) r.rd += delta
    if ((got & CAP_FILE_CACHE) !== 0) r.cache += delta
    if ((got & CAP_FILE_WR) !== 0) r.wr += delta
    if ((got & CAP_FILE_BUFFER) !== 0) r.buffer += delta
    if ((got & CAP_FILE_EXCL) !== 0) r.excl += delta
    assert(r.rd >= 0 && r.cache >= 0 && r.wr >= 0 && r.buffer >= 0 && r.excl >= 0, 'cap refs never go negative')
  }

  private requestOpen(nowMs: number, inode: InodeCaps): void {
    inode.openRequestedMs = nowMs
    this.send(inode.authRank, { kind: 'open', authority: inode.authRank, clientId: this.config.clientId, ino: inode.ino, wanted: this.wanted(inode) })
  }

  private newInode(ino: number, authority: number): InodeCaps {
    return {
      ino,
      caps: new Map(),
      authRank: authority,
      openModes: new Map(),
      openRequestedMs: -Infinity,
      waitWanted: 0,
      refs: { rd: 0, cache: 0, wr: 0, buffer: 0, excl: 0 },
      dirtyBuffers: 0,
      cachedPages: 0,
      cacheBusy: 0,
      rdcacheGen: 0,
      invalidateQueued: false,
      writebackQueued: false,
      owedAck: false,
      dirtyCaps: 0,
      flushing: [],
      sizeBytes: 0,
      mode: 0,
      reportedSizeBytes: 0,
      maxSizeBytes: 0,
      wantedMaxSizeBytes: 0,
      requestedMaxSizeBytes: 0,
    }
  }

  private mustInode(ino: number): InodeCaps {
    const inode = this.inodes.get(ino)
    if (inode === undefined) throw new DerError('DER_INVAL', `inode ${ino} is not open`)
    return inode
  }

  private capMessage(authority: number, ino: number, capId: number, seq: number, issueSeq: number, mseq: number, caps: CapMask, wanted: CapMask): CapsMessage {
    return { kind: 'caps', op: CapOp.UPDATE, authority, clientId: this.config.clientId, ino, capId, seq, issueSeq, mseq, caps, wanted, dirty: 0, flushTid: 0, sizeBytes: 0, maxSizeBytes: 0, mode: 0 }
  }

  private send(to: number, message: Message): void {
    this.out.push({ kind: 'send', to, message })
  }

  private advance(nowMs: number): void {
    if (!Number.isFinite(nowMs) || nowMs < this.lastNowMs) throw new DerError('DER_INVAL', `time must be monotonic: got ${nowMs} ms after ${this.lastNowMs} ms`)
    this.lastNowMs = nowMs
  }

  private flushOut(): ClientOutput[] {
    const out = this.out
    this.out = []
    return out
  }
}
