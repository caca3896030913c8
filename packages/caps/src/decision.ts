/**
 * The grant/revoke decision as plain functions: which cap bits conflict across clients, which bits
 * each client may hold given what every client wants (the lock-state choice: one loner with
 * everything, readers that cache, or writers without cache and buffer), and what to issue next.
 *
 * @module
 */
import {
  CAP_ANY,
  CAP_AUTH_EXCL,
  CAP_AUTH_SHARED,
  CAP_FILE_ANY,
  CAP_FILE_BUFFER,
  CAP_FILE_CACHE,
  CAP_FILE_EXCL,
  CAP_FILE_LAZYIO,
  CAP_FILE_RD,
  CAP_FILE_SHARED,
  CAP_FILE_WR,
  CAP_FILE_WREXTEND,
  CAP_LINK_EXCL,
  CAP_LINK_SHARED,
  CAP_PIN,
  CAP_XATTR_EXCL,
  CAP_XATTR_SHARED,
  type CapMask,
} from './cap-bits.ts'

/** For each single bit, the bits no *other* client may hold at the same time. Symmetric. */
const conflictTable: ReadonlyArray<readonly [bit: number, conflicts: number]> = [
  [CAP_AUTH_SHARED, CAP_AUTH_EXCL],
  [CAP_AUTH_EXCL, CAP_AUTH_SHARED | CAP_AUTH_EXCL],
  [CAP_LINK_SHARED, CAP_LINK_EXCL],
  [CAP_LINK_EXCL, CAP_LINK_SHARED | CAP_LINK_EXCL],
  [CAP_XATTR_SHARED, CAP_XATTR_EXCL],
  [CAP_XATTR_EXCL, CAP_XATTR_SHARED | CAP_XATTR_EXCL],
  [CAP_FILE_SHARED, CAP_FILE_EXCL | CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_WREXTEND],
  [CAP_FILE_EXCL, CAP_FILE_ANY],
  [CAP_FILE_CACHE, CAP_FILE_EXCL | CAP_FILE_WR | CAP_FILE_BUFFER],
  [CAP_FILE_RD, CAP_FILE_EXCL | CAP_FILE_BUFFER],
  [CAP_FILE_WR, CAP_FILE_SHARED | CAP_FILE_EXCL | CAP_FILE_CACHE | CAP_FILE_BUFFER],
  [CAP_FILE_BUFFER, CAP_FILE_ANY],
  [CAP_FILE_WREXTEND, CAP_FILE_SHARED | CAP_FILE_EXCL | CAP_FILE_BUFFER],
  [CAP_FILE_LAZYIO, CAP_FILE_EXCL | CAP_FILE_BUFFER],
]

/**
 * The bits that no other client may hold while one client holds `held`: a buffered writer (`Fb`)
 * or file-exclusive holder (`Fx`) excludes every other file bit; a writer (`Fw`) excludes cached
 * readers (`Fc`, `Fs`); an exclusive attribute bit (`Ax`, `Lx`, `Xx`) excludes its shared bit.
 */
export function conflictsWith(held: CapMask): CapMask {
  let out = 0
  for (const [bit, conflicts] of conflictTable) if ((held & bit) !== 0) out |= conflicts
  return out
}

/** Whether two clients holding `a` and `b` at once would break coherence. */
export function capsConflict(a: CapMask, b: CapMask): boolean {
  return (conflictsWith(a) & b) !== 0
}

/** The state chosen for the file class, after Ceph's filelock states. */
export type FileLockState = 'excl' | 'mix' | 'sync'

/** File bits any client may hold in SYNC (many cached readers). */
export const SYNC_FILE_CAPS = CAP_FILE_SHARED | CAP_FILE_CACHE | CAP_FILE_RD | CAP_FILE_LAZYIO
/** File bits any client may hold in MIX (several synchronous readers/writers). */
export const MIX_FILE_CAPS = CAP_FILE_RD | CAP_FILE_WR | CAP_FILE_WREXTEND | CAP_FILE_LAZYIO

/** One client's standing for {@link allowedCaps}. */
export interface ClientWant {
  /** The client. */
  readonly clientId: string
  /** What it wants (file_wanted | used, as last reported). */
  readonly wanted: CapMask
  /** Whether its wants count (its session is open and it is not being evicted). */
  readonly eligible: boolean
}

const attributeClasses: ReadonlyArray<readonly [shared: number, excl: number]> = [
  [CAP_AUTH_SHARED, CAP_AUTH_EXCL],
  [CAP_LINK_SHARED, CAP_LINK_EXCL],
  [CAP_XATTR_SHARED, CAP_XATTR_EXCL],
]

/**
 * The bits each client may hold given everybody's wants, per class: when exactly one eligible
 * client is interested in a class it is that class's loner and may hold all of it (EXCL); when
 * several are, the file class is MIX if any of them wants to write and SYNC otherwise, and the
 * attribute classes allow only their shared bit. Clients not interested in a class are allowed
 * the class's shared subset (so they lose bits that would conflict with the loner's).
 */
export function allowedCaps(clients: readonly ClientWant[]): Map<string, CapMask> {
  // One pass: per class, how many eligible clients are interested and which one (the loner if 1).
  let fileCount = 0
  let fileLoner: ClientWant | undefined
  let anyWriter = false
  const classCount = [0, 0, 0]
  const classLoner: Array<ClientWant | undefined> = [undefined, undefined, undefined]
  for (const c of clients) {
    if (!c.eligible) continue
    if ((c.wanted & CAP_FILE_ANY) !== 0) {
      fileCount++
      fileLoner = c
      if ((c.wanted & (CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_EXCL)) !== 0) anyWriter = true
    }
    for (let k = 0; k < attributeClasses.length; k++) {
      const [shared, excl] = attributeClasses[k] ?? [0, 0]
      if ((c.wanted & (shared | excl)) !== 0) {
        classCount[k] = (classCount[k] ?? 0) + 1
        classLoner[k] = c
      }
    }
  }
  const out = new Map<string, CapMask>()
  const shared = fileCount === 1 ? 0 : anyWriter ? MIX_FILE_CAPS : SYNC_FILE_CAPS
  for (const c of clients) {
    let allowed = CAP_PIN | (fileCount === 1 ? (c === fileLoner ? CAP_FILE_ANY : 0) : shared)
    for (let k = 0; k < attributeClasses.length; k++) {
      const [s, x] = attributeClasses[k] ?? [0, 0]
      allowed |= classCount[k] === 1 ? (c === classLoner[k] ? s | x : 0) : s
    }
    out.set(c.clientId, allowed)
  }
  return out
}

/** The file-lock state {@link allowedCaps} picks for these wants (for logs and traces). */
export function fileLockState(clients: readonly ClientWant[]): FileLockState {
  const interested = clients.filter((c) => c.eligible && (c.wanted & CAP_FILE_ANY) !== 0)
  if (interested.length <= 1) return 'excl'
  return interested.some((c) => (c.wanted & (CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_EXCL)) !== 0) ? 'mix' : 'sync'
}

/** Inputs of {@link decideIssue} for one client's cap. */
export interface IssueInput {
  /** What the authority currently allows this client (`pending`). */
  readonly pending: CapMask
  /** What the client wants. */
  readonly wanted: CapMask
  /** What the client may hold ({@link allowedCaps}). */
  readonly allowed: CapMask
  /** Union of the `issued` sets (including bits still being revoked) of every other client. */
  readonly othersIssued: CapMask
}

/**
 * The next `pending` set for one cap, as Ceph's `issue_caps`: if some pending bit is no longer
 * allowed, revoke it and add nothing in the same message; otherwise add the wanted, allowed bits
 * that conflict with nothing another client still holds. The result always keeps `p`.
 */
export function decideIssue(input: IssueInput): CapMask {
  const { pending, wanted, allowed, othersIssued } = input
  if ((pending & ~allowed) !== 0) return (pending & allowed) | CAP_PIN
  const grantable = wanted & allowed & ~conflictsWith(othersIssued) & CAP_ANY
  return pending | grantable | CAP_PIN
}
