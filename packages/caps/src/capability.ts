/**
 * The authority's record of one client's cap on one inode (Ceph's `Capability`): `pending`
 * (what the authority allows now), `issued` (pending plus bits being revoked and not yet
 * confirmed), the revoke history and the sequence numbers.
 *
 * @module
 */
import { assert } from '@x/common'
import { CAP_PIN, type CapMask, seqCmp, seqNext } from './cap-bits.ts'

/** One revocation not yet confirmed: the bits before it, its seq and the issue seq then. */
export interface RevokeRecord {
  /** `pending` before the revocation. */
  before: CapMask
  /** The seq of the message that carried the revocation. */
  readonly seq: number
  /** `lastIssue` at that time. */
  readonly lastIssue: number
}

/** The result of {@link Capability.issue}: the seq of the message and whether bits were removed. */
export interface IssueResult {
  /** The new `lastSent`. */
  readonly seq: number
  /** Whether bits were removed (op REVOKE) or only added/kept (op GRANT). */
  readonly revoke: boolean
}

/** The authority's cap state for one (inode, client). Invariant: `pending ⊆ issued`. */
export class Capability {
  /** What the authority currently allows. */
  pending: CapMask = CAP_PIN
  /** `pending` plus the bits being revoked and not yet confirmed. */
  issued: CapMask = CAP_PIN
  /** What the client last said it wants. */
  wanted: CapMask = CAP_PIN
  /** Seq of the last cap message sent for this cap. */
  lastSent = 0
  /** Seq at which caps were last issued in a reply or an import. */
  lastIssue = 0
  /** Migrate seq (bumped on every import). */
  mseq = 0
  /** Unconfirmed revocations, oldest first. */
  readonly revokes: RevokeRecord[] = []
  /** Monotonic time of the oldest unconfirmed revocation, or undefined. */
  revokeStampMs: number | undefined = undefined
  /** Whether the revoke warning was already raised for the current revocation. */
  revokeWarned = false

  constructor(
    /** The cap's id (fresh when the cap is recreated). */
    readonly capId: number,
  ) {}

  /** Bits being revoked and not yet confirmed. */
  get revoking(): CapMask {
    return this.issued & ~this.pending
  }

  /** Issues `caps` (C-SRV-2): bumps `lastSent`; removal pushes a revoke record. */
  issue(caps: CapMask, nowMs: number): IssueResult {
    caps |= CAP_PIN
    const removed = (this.pending & ~caps) !== 0
    if (removed) {
      this.revokes.push({ before: this.pending, seq: this.lastSent, lastIssue: this.lastIssue })
      this.revokeStampMs ??= nowMs
      this.pending = caps
      this.issued |= caps
    } else {
      this.pending |= caps
      this.issued |= caps
      // Drop trailing revocations whose bits are all pending again.
      while (this.revokes.length > 0) {
        const last = this.revokes[this.revokes.length - 1]
        if (last === undefined || (last.before & ~this.pending) !== 0) break
        this.revokes.pop()
      }
    }
    this.lastSent = seqNext(this.lastSent)
    this.checkInvariant()
    return { seq: this.lastSent, revoke: removed }
  }

  /** Marks the current `lastSent` as an issue (a reply or an import handed caps out). */
  markIssued(): void {
    this.lastIssue = this.lastSent
  }

  /**
   * Confirms that the client now holds only `caps` as of `seq` (C-SRV-4). Bits never issued are
   * clipped; an ack for an older seq never completes a newer revocation. Returns the clipped caps.
   */
  confirmReceipt(seq: number, caps: CapMask): CapMask {
    caps = (caps & this.issued) | CAP_PIN
    if (seq === this.lastSent) {
      this.revokes.length = 0
      this.issued = caps
      this.pending &= caps
      this.pending |= CAP_PIN
    } else {
      while (this.revokes.length > 0 && seqCmp(this.revokes[0]?.seq ?? 0, seq) < 0) this.revokes.shift()
      const head = this.revokes[0]
      if (head !== undefined && head.seq === seq) head.before = caps
      // Every revocation up to `seq` was seen: what may still be held is what is pending, what
      // later revocations took away, and what the client says it still holds (e.g. bits in use).
      this.recompute()
      this.issued |= caps
    }
    if (this.issued === this.pending) {
      this.revokeStampMs = undefined
      this.revokeWarned = false
    }
    this.checkInvariant()
    return caps
  }

  /** Drops every bit but `p` at once (a stale session's silent revoke). */
  resetToPin(): void {
    this.pending = CAP_PIN
    this.issued = CAP_PIN
    this.revokes.length = 0
    this.revokeStampMs = undefined
    this.revokeWarned = false
    this.lastSent = seqNext(this.lastSent)
  }

  private recompute(): void {
    let issued = this.pending
    for (const r of this.revokes) issued |= r.before
    this.issued = issued
  }

  private checkInvariant(): void {
    assert((this.pending & ~this.issued) === 0, 'capability pending must be a subset of issued')
  }
}
