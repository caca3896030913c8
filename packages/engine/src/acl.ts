/**
 * Access control entries in DAOS's `TYPE:FLAGS:PRINCIPAL:PERMS` form (`A::OWNER@:rw`,
 * `A:G:GROUP@:r`, `A::EVERYONE@:`, `A::alice@:rwcd`, `A:G:staff@:t`), parsed strictly.
 *
 * @module
 */
import { DerError } from '@x/common'

/** The permission letters, in canonical order (`r` read, `w` write, `c` create containers, `d` delete, `t` get-prop, `T` set-prop, `a` get-ACL, `A` set-ACL, `o` set-owner). */
export const aclPermissionLetters = 'rwcdtTaAo'

/** A parsed access control entry. */
export interface AclEntry {
  /** `OWNER@`, `GROUP@`, `EVERYONE@`, or a named `user@` / group `group@`. */
  readonly principal: string
  /** Whether the principal is a group (`OWNER@` and `EVERYONE@` never are; `GROUP@` always is). */
  readonly group: boolean
  /** Permission letters in canonical order; empty means deny. */
  readonly permissions: string
}

/** Maximum number of entries in one ACL. */
export const maxAclEntries = 64

const namePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@$/

/** Parses one entry; throws DER_INVAL with the reason on any deviation from the format. */
export function parseAclEntry(text: string): AclEntry {
  const parts = text.split(':')
  if (parts.length !== 4) throw new DerError('DER_INVAL', `ACL entry '${text}': expected TYPE:FLAGS:PRINCIPAL:PERMS`)
  const [type, flags, principal, permissions] = parts as [string, string, string, string]
  if (type !== 'A') throw new DerError('DER_INVAL', `ACL entry '${text}': type must be A (allow)`)
  if (flags !== '' && flags !== 'G') throw new DerError('DER_INVAL', `ACL entry '${text}': flags must be empty or G`)
  const group = flags === 'G'
  if (principal === 'OWNER@' || principal === 'EVERYONE@') {
    if (group) throw new DerError('DER_INVAL', `ACL entry '${text}': ${principal} takes no G flag`)
  } else if (principal === 'GROUP@') {
    if (!group) throw new DerError('DER_INVAL', `ACL entry '${text}': GROUP@ needs the G flag`)
  } else if (!namePattern.test(principal)) {
    throw new DerError('DER_INVAL', `ACL entry '${text}': principal must be OWNER@, GROUP@, EVERYONE@ or name@`)
  }
  const seen = new Set<string>()
  for (const letter of permissions) {
    if (!aclPermissionLetters.includes(letter)) throw new DerError('DER_INVAL', `ACL entry '${text}': unknown permission '${letter}' (allowed: ${aclPermissionLetters})`)
    if (seen.has(letter)) throw new DerError('DER_INVAL', `ACL entry '${text}': permission '${letter}' repeated`)
    seen.add(letter)
  }
  const canonical = [...aclPermissionLetters].filter((l) => seen.has(l)).join('')
  return { principal, group, permissions: canonical }
}

/** The canonical text of an entry. */
export function formatAclEntry(entry: AclEntry): string {
  return `A:${entry.group ? 'G' : ''}:${entry.principal}:${entry.permissions}`
}

/** The key that identifies an entry's principal within an ACL (`u:alice@`, `g:GROUP@`). */
export function aclPrincipalKey(entry: Pick<AclEntry, 'principal' | 'group'>): string {
  return `${entry.group ? 'g' : 'u'}:${entry.principal}`
}

/**
 * Parses a principal as the delete command names it: `OWNER@`, `GROUP@`, `EVERYONE@`,
 * `u:name@` or `g:name@`. Returns its {@link aclPrincipalKey}.
 */
export function parseAclPrincipal(text: string): string {
  if (text === 'OWNER@' || text === 'EVERYONE@') return `u:${text}`
  if (text === 'GROUP@') return 'g:GROUP@'
  const m = /^([ug]):(.*)$/.exec(text)
  if (m === null || !namePattern.test(m[2] as string) || ['OWNER@', 'GROUP@', 'EVERYONE@'].includes(m[2] as string)) {
    throw new DerError('DER_INVAL', `ACL principal '${text}': expected OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@`)
  }
  return `${m[1] as string}:${m[2] as string}`
}

/**
 * Parses a list of entries into a canonical ACL (in DAOS's enforcement order). A principal given twice,
 * more than {@link maxAclEntries} entries, or any bad entry is DER_INVAL.
 */
export function parseAcl(entries: readonly string[]): AclEntry[] {
  if (entries.length > maxAclEntries) throw new DerError('DER_INVAL', `ACL has ${entries.length} entries; at most ${maxAclEntries}`)
  const byKey = new Map<string, AclEntry>()
  for (const text of entries) {
    const entry = parseAclEntry(text)
    const key = aclPrincipalKey(entry)
    if (byKey.has(key)) throw new DerError('DER_INVAL', `ACL names ${entry.principal} twice`)
    byKey.set(key, entry)
  }
  return [...byKey.values()].sort((a, b) => aclOrder(a) - aclOrder(b) || (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0))
}

/** DAOS's canonical ACL order: owner, named users, owner group, named groups, everyone. */
function aclOrder(e: AclEntry): number {
  if (e.principal === 'OWNER@') return 0
  if (e.principal === 'GROUP@') return 2
  if (e.principal === 'EVERYONE@') return 4
  return e.group ? 3 : 1
}

/** The default pool ACL: the owner and the owner group may connect and create containers. */
export const defaultPoolAcl: readonly string[] = ['A::OWNER@:rw', 'A:G:GROUP@:rw']

/** Who asks: a user name and the groups it belongs to (names with the trailing `@`). */
export interface AclIdentity {
  readonly user: string
  readonly groups: readonly string[]
}

/**
 * The permissions an ACL grants `who`, in DAOS's enforcement order: the owner gets the `OWNER@`
 * entry; otherwise a named user entry; otherwise the union of every matching group entry
 * (`GROUP@` for the owner group, and named groups) if at least one matches; otherwise `EVERYONE@`;
 * otherwise nothing. Returns letters in canonical order.
 */
export function aclPermissionsFor(acl: readonly AclEntry[], owner: string | undefined, ownerGroup: string | undefined, who: AclIdentity): string {
  const find = (principal: string, group: boolean): AclEntry | undefined => acl.find((e) => e.principal === principal && e.group === group)
  if (owner !== undefined && who.user === owner) {
    const e = find('OWNER@', false)
    if (e !== undefined) return e.permissions
  }
  const named = find(who.user, false)
  if (named !== undefined && !['OWNER@', 'GROUP@', 'EVERYONE@'].includes(who.user)) return named.permissions
  let matched = false
  const union = new Set<string>()
  for (const g of who.groups) {
    const entries = [find(g, true), ownerGroup !== undefined && g === ownerGroup ? find('GROUP@', true) : undefined]
    for (const e of entries) {
      if (e === undefined) continue
      matched = true
      for (const l of e.permissions) union.add(l)
    }
  }
  if (matched) return [...aclPermissionLetters].filter((l) => union.has(l)).join('')
  return find('EVERYONE@', false)?.permissions ?? ''
}
