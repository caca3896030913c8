/**
 * What a rebuild moves, as pure functions of the pool maps before and after a change: for one
 * object, which shards move to targets that did not hold them, and which surviving holder pushes
 * each (the same on every engine, so each shard is pushed once): the group's lowest-position
 * survivor for replicas and lost EC shards, the shard's own holder for an EC shard that only
 * moves.
 *
 * @module
 */
import { type ObjectId, type ObjectLayout, type PoolMap, type PoolTarget, type ShardPlacement, layoutMoves, placeObject, targetById } from '@x/protocol'

/** A target of the pool: its rank and its index inside the rank. */
export interface TargetAddress {
  readonly rank: number
  readonly targetIndex: number
}

/** One shard a holder must push. */
export interface ShardPush {
  /** The redundancy group. */
  readonly group: number
  /** The shard index in the object. */
  readonly shard: number
  /** Where the shard lives after the change. */
  readonly to: TargetAddress
  /** The holder that pushes it. */
  readonly from: TargetAddress
  /**
   * Erasure coding: the shard's own holder is gone, so `from` recomputes its cells from the
   * group's survivors; false when `from` holds the shard's content itself (a replica, or the
   * shard's own EC holder that only moves, as in reintegration and drain).
   */
  readonly reconstruct: boolean
}

/** The pushes one object needs (see {@link planObjectRebuild}). */
export interface ObjectRebuildPlan {
  /** The layout before the change. */
  readonly before: ObjectLayout
  /** The layout after the change. */
  readonly after: ObjectLayout
  /** Every shard that moves, with its pusher; groups that lost every holder are in `orphanGroups`. */
  readonly pushes: readonly ShardPush[]
  /** Groups with moving shards but no surviving holder (data loss for those shards). */
  readonly orphanGroups: readonly number[]
}

/**
 * Whether the holder on `target` (taken from the map before) can serve as a rebuild source: it
 * did not fail in the change, i.e. in `toMap` it is not `DOWN` and its fail sequence did not move
 * (an exclusion raises it; a drain's `DRAIN -> DOWNOUT` does not, the drained target stays a
 * source).
 */
export function isRebuildSource(target: PoolTarget, toMap: PoolMap): boolean {
  const after = targetById(toMap, target.id)
  if (after === undefined) return false
  return after.state !== 'DOWN' && after.failSeq === target.failSeq
}

/**
 * The holder that pushes a group's moving shards: the lowest-position shard of the group in the
 * layout before the change that is a rebuild source ({@link isRebuildSource}); undefined when the
 * group has none left.
 */
export function rebuildSource(before: ObjectLayout, group: number, fromMap: PoolMap, toMap: PoolMap): ShardPlacement | undefined {
  for (const s of before.groups[group]?.shards ?? []) {
    if (s.targetId === undefined) continue
    const target = targetById(fromMap, s.targetId)
    if (target !== undefined && isRebuildSource(target, toMap)) return s
  }
  return undefined
}

/**
 * The shards of `oid` that move to a target that did not hold them between `fromMap` and
 * `toMap` (a shard that loses its target without a new one is not a push), each with the holder
 * that pushes it. Throws `DER_INVAL` when the object cannot be placed on either map.
 */
export function planObjectRebuild(fromMap: PoolMap, toMap: PoolMap, oid: ObjectId): ObjectRebuildPlan {
  const before = placeObject(fromMap, oid)
  const after = placeObject(toMap, oid)
  const size = before.oclass.groupSize
  const pushes: ShardPush[] = []
  const orphans = new Set<number>()
  for (const move of layoutMoves(before, after)) {
    if (move.toTargetId === undefined) continue
    const group = Math.floor(move.shard / size)
    const dest = after.groups[group]?.shards[move.shard % size]
    if (dest?.rank === undefined || dest.targetIndex === undefined) continue
    // EC shards differ: a shard whose own holder survives is copied from it; a lost one is
    // recomputed by the group's lowest surviving shard. Replicas are all alike.
    const own = before.groups[group]?.shards[move.shard % size]
    const ownTarget = own?.targetId === undefined ? undefined : targetById(fromMap, own.targetId)
    const erasure = before.oclass.redundancy.kind === 'erasure'
    const ownSurvives = erasure && own?.rank !== undefined && own.targetIndex !== undefined && ownTarget !== undefined && isRebuildSource(ownTarget, toMap)
    const source = ownSurvives ? own : rebuildSource(before, group, fromMap, toMap)
    if (source?.rank === undefined || source.targetIndex === undefined) {
      orphans.add(group)
      continue
    }
    pushes.push({ group, shard: move.shard, to: { rank: dest.rank, targetIndex: dest.targetIndex }, from: { rank: source.rank, targetIndex: source.targetIndex }, reconstruct: erasure && !ownSurvives })
  }
  return { before, after, pushes, orphanGroups: [...orphans] }
}
