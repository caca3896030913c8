/**
 * Groups and ranks: the primary group maps ranks to the URIs of their contexts (one per tag),
 * with a version bumped on every membership change (`crt_group_primary_modify`).
 *
 * @module
 */
import { DerError } from '@x/common'

/** A member of a group: its rank and the URI of each of its contexts (index = tag). */
export interface GroupMember {
  readonly rank: number
  readonly uris: readonly string[]
}

/** A versioned rank -> URI map. */
export class Group {
  private members = new Map<number, readonly string[]>()
  private currentVersion = 0

  /** `name` identifies the group in collective RPCs. */
  constructor(readonly name: string) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) throw new DerError('DER_INVAL', `bad group name '${name}'`)
  }

  /** The membership version (0 before any change). */
  get version(): number {
    return this.currentVersion
  }

  /** Adds or updates a rank; bumps the version. */
  addRank(rank: number, uris: readonly string[]): void {
    checkRank(rank)
    if (uris.length === 0) throw new DerError('DER_INVAL', `rank ${rank} needs at least one URI`)
    this.members.set(rank, [...uris])
    this.currentVersion++
  }

  /** Removes a rank; bumps the version. `DER_OOG` if it is not a member. */
  removeRank(rank: number): void {
    if (!this.members.delete(rank)) throw new DerError('DER_OOG', `rank ${rank} is not in group ${this.name}`)
    this.currentVersion++
  }

  /**
   * Replaces the whole membership with the one of `version`, which must be newer than the
   * current one (`DER_GRPVER` otherwise).
   */
  update(version: number, members: readonly GroupMember[]): void {
    if (!Number.isInteger(version) || version <= this.currentVersion) {
      throw new DerError('DER_GRPVER', `group ${this.name}: version ${version} is not newer than ${this.currentVersion}`)
    }
    const next = new Map<number, readonly string[]>()
    for (const m of members) {
      checkRank(m.rank)
      if (m.uris.length === 0) throw new DerError('DER_INVAL', `rank ${m.rank} needs at least one URI`)
      next.set(m.rank, [...m.uris])
    }
    this.members = next
    this.currentVersion = version
  }

  /** The URI of context `tag` of `rank`: `DER_OOG` for a non-member, `DER_NONEXIST` for a bad tag. */
  lookup(rank: number, tag = 0): string {
    const uris = this.members.get(rank)
    if (uris === undefined) throw new DerError('DER_OOG', `rank ${rank} is not in group ${this.name} (version ${this.currentVersion})`)
    const uri = uris[tag]
    if (uri === undefined) throw new DerError('DER_NONEXIST', `rank ${rank} has no context with tag ${tag}`)
    return uri
  }

  /** Whether `rank` is a member. */
  has(rank: number): boolean {
    return this.members.has(rank)
  }

  /** The ranks, ascending. */
  ranks(): number[] {
    return [...this.members.keys()].sort((a, b) => a - b)
  }

  /** The number of members. */
  get size(): number {
    return this.members.size
  }
}

function checkRank(rank: number): void {
  if (!Number.isInteger(rank) || rank < 0 || rank > 0xfffffffe) throw new DerError('DER_INVAL', `bad rank ${rank}`)
}
