/**
 * The caller's identity as ACL principals: the OS user (`alice@`) and its groups (`staff@`), read
 * from the process credentials and `/etc/group`. `daos` sends it with every pool request; the pool
 * service checks it against the pool's ACL (`OWNER@`, `GROUP@`, `EVERYONE@`, named principals).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import type { ClientIdentity } from '@x/daemon'

const principalName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/

/** Group names by gid from the text of an `/etc/group` file (malformed lines are skipped). */
export function parseGroupFile(text: string): Map<number, string> {
  const groups = new Map<number, string>()
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':')
    if (name === undefined || gid === undefined || !/^\d+$/.test(gid) || !principalName.test(name)) continue
    if (!groups.has(Number(gid))) groups.set(Number(gid), name)
  }
  return groups
}

/** Builds an identity from a user name, the primary gid, the supplementary gids and a gid -> name table. */
export function identityFrom(user: string, primaryGid: number, gids: readonly number[], groupNames: ReadonlyMap<number, string>): ClientIdentity {
  const safeUser = principalName.test(user) ? user : 'nobody'
  const names: string[] = []
  for (const gid of [primaryGid, ...gids]) {
    const name = groupNames.get(gid)
    if (name !== undefined && !names.includes(`${name}@`)) names.push(`${name}@`)
  }
  return { user: `${safeUser}@`, groups: names }
}

/** The identity of this process (primary group first). */
export function localIdentity(): ClientIdentity {
  const info = userInfo()
  let groupNames = new Map<number, string>()
  try {
    groupNames = parseGroupFile(readFileSync('/etc/group', 'utf8'))
  } catch {
    // No group database: the identity carries the user only.
  }
  const gids = typeof process.getgroups === 'function' ? process.getgroups() : []
  return identityFrom(info.username, info.gid, gids, groupNames)
}
