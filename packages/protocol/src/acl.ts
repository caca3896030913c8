/**
 * Access control lists in DAOS's text form: entries `TYPE:FLAGS:PRINCIPAL:PERMS` such as
 * `A::OWNER@:rw` or `A:G:admins@:rwcd`, principals `OWNER@`, `GROUP@`, `EVERYONE@`, `name@`
 * (a user, or a group with the `G` flag; `u:name@` / `g:name@` where a principal stands alone),
 * DAOS's permission letters, and the enforcement order owner, users, groups, everyone.
 *
 * @module
 */
import { DerError } from '@x/common'

/** A permission letter. */
export type Permission = 'r' | 'w' | 'c' | 'd' | 't' | 'T' | 'a' | 'A' | 'o'
/** Every permission letter in DAOS's print order. */
export const permissionLetters: readonly Permission[] = ['r', 'w', 'c', 'd', 't', 'T', 'a', 'A', 'o']
/** What each letter allows. */
export const permissionMeanings: Readonly<Record<Permission, string>> = {
  r: 'read (pool: connect and query)',
  w: 'write (pool: create and delete containers)',
  c: 'create containers',
  d: 'delete containers',
  t: 'get properties (pool: connect and query)',
  T: 'set properties',
  a: 'get the ACL',
  A: 'set the ACL',
  o: 'set the owner',
}
/** Letters a pool ACL accepts. */
export const poolPermissionLetters: readonly Permission[] = ['r', 'w', 'c', 'd', 't']

/** The kinds of principal. */
export type PrincipalKind = 'owner' | 'owner-group' | 'everyone' | 'user' | 'group'

/** Who an entry is about. */
export interface Principal {
  /** The kind. */
  readonly kind: PrincipalKind
  /** The `name@` for users and groups, empty otherwise. */
  readonly name: string
}

/** One access control entry (only allow entries exist, as in DAOS). */
export interface AclEntry {
  /** The principal. */
  readonly principal: Principal
  /** The allowed letters (empty = deny everything). */
  readonly permissions: ReadonlySet<Permission>
}

/** An ACL with its owner and owner group (`user@`, `group@`). */
export interface Acl {
  /** The owner user (`name@`). */
  readonly owner: string
  /** The owner group (`name@`). */
  readonly ownerGroup: string
  /** Entries, at most one per principal. */
  readonly entries: readonly AclEntry[]
}

const namePattern = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,254}@[A-Za-z0-9._-]{0,255}$/
const maxEntries = 1024

function badEntry(text: string, why: string): never {
  throw new DerError('DER_INVAL', `invalid ACL entry '${text}': ${why}`)
}

/** Throws `DER_INVAL` unless `name` is a `name@` or `name@domain` principal name. */
export function validatePrincipalName(name: string): void {
  if (!namePattern.test(name)) throw new DerError('DER_INVAL', `invalid principal name '${name}': expected name@ (letters, digits, '.', '_', '-')`)
  if (name === 'OWNER@' || name === 'GROUP@' || name === 'EVERYONE@') throw new DerError('DER_INVAL', `'${name}' is a special principal, not a name`)
}

function specialPrincipal(text: string): Principal | undefined {
  if (text === 'OWNER@') return { kind: 'owner', name: '' }
  if (text === 'GROUP@') return { kind: 'owner-group', name: '' }
  if (text === 'EVERYONE@') return { kind: 'everyone', name: '' }
  return undefined
}

/** Parses a standalone principal: `OWNER@`, `GROUP@`, `EVERYONE@`, `u:name@` or `g:name@`. */
export function parsePrincipal(text: string): Principal {
  const s = text.trim()
  const special = specialPrincipal(s)
  if (special !== undefined) return special
  if (s.startsWith('u:') || s.startsWith('g:')) {
    const name = s.slice(2)
    validatePrincipalName(name)
    return { kind: s.startsWith('u:') ? 'user' : 'group', name }
  }
  throw new DerError('DER_INVAL', `invalid principal '${text}': expected OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@`)
}

/** The standalone form of a principal (`u:name@`, `OWNER@` ...). */
export function formatPrincipal(p: Principal): string {
  switch (p.kind) {
    case 'owner':
      return 'OWNER@'
    case 'owner-group':
      return 'GROUP@'
    case 'everyone':
      return 'EVERYONE@'
    case 'user':
      return `u:${p.name}`
    case 'group':
      return `g:${p.name}`
  }
}

/** Parses the letters of an entry; throws `DER_INVAL` on unknown or repeated letters. */
export function parsePermissions(text: string, context = text): Set<Permission> {
  const out = new Set<Permission>()
  for (const ch of text) {
    if (!(permissionLetters as readonly string[]).includes(ch)) badEntry(context, `unknown permission '${ch}' (known: ${permissionLetters.join('')})`)
    if (out.has(ch as Permission)) badEntry(context, `permission '${ch}' is repeated`)
    out.add(ch as Permission)
  }
  return out
}

/** Letters in DAOS's order. */
export function formatPermissions(perms: ReadonlySet<Permission>): string {
  return permissionLetters.filter((p) => perms.has(p)).join('')
}

/** Parses one entry `TYPE:FLAGS:PRINCIPAL:PERMS`; throws `DER_INVAL` saying what is wrong. */
export function parseAclEntry(text: string): AclEntry {
  const s = text.trim()
  const parts = s.split(':')
  if (parts.length !== 4) badEntry(text, 'expected TYPE:FLAGS:PRINCIPAL:PERMS, such as A::OWNER@:rw')
  const [type, flags, who, perms] = parts as [string, string, string, string]
  if (type !== 'A') badEntry(text, type === 'U' || type === 'L' ? `access type '${type}' (audit/alarm) is not supported, only A` : `unknown access type '${type}' (only A, allow)`)
  for (const f of flags) if (!'GSFP'.includes(f)) badEntry(text, `unknown flag '${f}' (G marks a group)`)
  if (/[SFP]/.test(flags)) badEntry(text, 'audit and poison flags (S, F, P) are not supported')
  const isGroup = flags.includes('G')
  const special = specialPrincipal(who)
  let principal: Principal
  if (special !== undefined) {
    if (special.kind === 'owner-group' && !isGroup) badEntry(text, 'GROUP@ needs the G flag')
    if (special.kind !== 'owner-group' && isGroup) badEntry(text, `${who} is not a group; drop the G flag`)
    principal = special
  } else {
    if (!namePattern.test(who)) badEntry(text, `invalid principal '${who}': expected OWNER@, GROUP@, EVERYONE@ or name@`)
    principal = { kind: isGroup ? 'group' : 'user', name: who }
  }
  return { principal, permissions: parsePermissions(perms, text) }
}

/** The text of one entry (`A:G:GROUP@:rw`). */
export function formatAclEntry(entry: AclEntry): string {
  const p = entry.principal
  const group = p.kind === 'owner-group' || p.kind === 'group'
  const who = p.kind === 'owner' ? 'OWNER@' : p.kind === 'owner-group' ? 'GROUP@' : p.kind === 'everyone' ? 'EVERYONE@' : p.name
  return `A:${group ? 'G' : ''}:${who}:${formatPermissions(entry.permissions)}`
}

function principalKey(p: Principal): string {
  return `${p.kind}:${p.name}`
}

/**
 * Parses an ACL file or entry list: one entry per line (or comma-separated), `#` comments and
 * blank lines ignored. Throws `DER_INVAL` for a bad entry or a principal listed twice.
 */
export function parseAclEntries(text: string): AclEntry[] {
  const entries: AclEntry[] = []
  const seen = new Set<string>()
  for (const raw of text.split(/\r?\n|,/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const entry = parseAclEntry(line)
    const key = principalKey(entry.principal)
    if (seen.has(key)) throw new DerError('DER_INVAL', `ACL lists principal ${formatPrincipal(entry.principal)} twice`)
    seen.add(key)
    entries.push(entry)
    if (entries.length > maxEntries) throw new DerError('DER_INVAL', `an ACL holds at most ${maxEntries} entries`)
  }
  return entries
}

/** Throws `DER_INVAL` when an entry uses letters a pool ACL does not have. */
export function validatePoolAcl(entries: readonly AclEntry[]): void {
  for (const e of entries) {
    for (const p of e.permissions) {
      if (!poolPermissionLetters.includes(p)) throw new DerError('DER_INVAL', `pool ACL entry ${formatAclEntry(e)}: permission '${p}' applies to containers only`)
    }
  }
}

/** The ACL as `get-acl` prints it: owner lines, then one entry per line. */
export function formatAcl(acl: Acl): string {
  return [`# Owner: ${acl.owner}`, `# Owner Group: ${acl.ownerGroup}`, '# Entries:', ...acl.entries.map(formatAclEntry)].join('\n')
}

/** Adds or replaces entries per principal (`update-acl`). */
export function mergeAclEntries(entries: readonly AclEntry[], updates: readonly AclEntry[]): AclEntry[] {
  const out = [...entries]
  for (const u of updates) {
    const i = out.findIndex((e) => principalKey(e.principal) === principalKey(u.principal))
    if (i >= 0) out[i] = u
    else out.push(u)
  }
  return out
}

/** Removes a principal's entry (`delete-acl`); `DER_NONEXIST` when it has none. */
export function removeAclEntry(entries: readonly AclEntry[], principal: Principal): AclEntry[] {
  const key = principalKey(principal)
  if (!entries.some((e) => principalKey(e.principal) === key)) throw new DerError('DER_NONEXIST', `the ACL has no entry for ${formatPrincipal(principal)}`)
  return entries.filter((e) => principalKey(e.principal) !== key)
}

/** The default pool ACL (`A::OWNER@:rw`, `A:G:GROUP@:rw`). */
export function defaultPoolAclEntries(): AclEntry[] {
  return parseAclEntries('A::OWNER@:rw\nA:G:GROUP@:rw')
}
/** The default container ACL (`A::OWNER@:rwdtTaAo`, `A:G:GROUP@:rwtT`). */
export function defaultContainerAclEntries(): AclEntry[] {
  return parseAclEntries('A::OWNER@:rwdtTaAo\nA:G:GROUP@:rwtT')
}

/** Who is asking: a user and the groups it belongs to (all `name@`). */
export interface AclSubject {
  /** The user (`name@`). */
  readonly user: string
  /** Its groups (`name@`), primary first. */
  readonly groups: readonly string[]
}

/**
 * The permissions `subject` gets from `acl`, in DAOS's order: the owner entry if the subject owns
 * it; else a named-user entry; else the union of every matching group entry (owner group and
 * named groups); else EVERYONE; else nothing. On pools, `r` implies `t` and `w` implies `c`
 * and `d`. Container owners always keep `a` and `A` (DAOS grants them implicitly).
 */
export function effectivePermissions(acl: Acl, subject: AclSubject, scope: 'pool' | 'container'): Set<Permission> {
  const find = (kind: PrincipalKind, name = ''): AclEntry | undefined => acl.entries.find((e) => e.principal.kind === kind && e.principal.name === name)
  let perms: Set<Permission> | undefined
  if (subject.user === acl.owner) {
    const e = find('owner')
    if (e !== undefined) perms = new Set(e.permissions)
  }
  if (perms === undefined) {
    const e = find('user', subject.user)
    if (e !== undefined) perms = new Set(e.permissions)
  }
  if (perms === undefined) {
    let matched = false
    const union = new Set<Permission>()
    for (const g of subject.groups) {
      for (const e of [g === acl.ownerGroup ? find('owner-group') : undefined, find('group', g)]) {
        if (e === undefined) continue
        matched = true
        for (const p of e.permissions) union.add(p)
      }
    }
    if (matched) perms = union
  }
  if (perms === undefined) perms = new Set(find('everyone')?.permissions ?? [])
  if (scope === 'pool') {
    if (perms.has('r')) perms.add('t')
    if (perms.has('w')) {
      perms.add('c')
      perms.add('d')
    }
  } else if (subject.user === acl.owner) {
    perms.add('a')
    perms.add('A')
  }
  return perms
}

/** Throws `DER_NO_PERM` unless `subject` has every permission in `needed`. */
export function checkPermissions(acl: Acl, subject: AclSubject, scope: 'pool' | 'container', needed: readonly Permission[]): void {
  const have = effectivePermissions(acl, subject, scope)
  const missing = needed.filter((p) => !have.has(p))
  if (missing.length > 0) {
    throw new DerError('DER_NO_PERM', `${subject.user} lacks ${scope} permission ${missing.map((p) => `'${p}' (${permissionMeanings[p]})`).join(', ')}`)
  }
}
