/**
 * Collective-RPC trees as pure functions (`crt_tree_topo`): flat, k-ary and k-nomial, over the
 * sorted ranks of a group minus the excluded ones, rooted at a chosen rank.
 *
 * Positions are relative to the root (`(index - rootIndex) mod n`). k-ary: the children of
 * position p are `k*p + 1 .. k*p + k`. k-nomial: the children of p are `p + d * k^j` for every
 * `j` with `k^j > p` and `d` in `1 .. k-1`, ordered by `j` then `d` (for 8 ranks and k = 2:
 * 0 -> [1,2,4], 1 -> [3,5], 2 -> [6], 3 -> [7]), so a position's parent is the position with its
 * highest non-zero base-k digit cleared. (DAOS's `crt_tree_knomial.c` builds the mirror image,
 * clearing the lowest digit: 0 -> [1,2,4], 2 -> [3], 4 -> [5,6], 6 -> [7]; both have the same
 * depth and fan-out, and this package follows the shape its specification asks for.)
 * Flat: the root is the parent of everyone.
 *
 * @module
 */
import { DerError } from '@x/common'

/** The shape of a collective-RPC tree. */
export type TreeType = 'flat' | 'kary' | 'knomial'

/** A tree type and its branch ratio (2 to 64; ignored for flat). */
export interface TreeTopology {
  readonly type: TreeType
  readonly branchRatio?: number
}

/** Largest branch ratio CaRT accepts. */
export const maxBranchRatio = 64

function checkTopology(topology: TreeTopology): number {
  if (topology.type === 'flat') return 0
  const k = topology.branchRatio ?? 2
  if (!Number.isInteger(k) || k < 2 || k > maxBranchRatio) {
    throw new DerError('DER_INVAL', `tree branch ratio must be an integer in 2..${maxBranchRatio}, got ${k}`)
  }
  if (topology.type !== 'kary' && topology.type !== 'knomial') throw new DerError('DER_INVAL', `unknown tree type ${String(topology.type)}`)
  return k
}

/** Children positions (relative to the root) of position `p` in a tree of `n` nodes. */
export function childPositions(topology: TreeTopology, n: number, p: number): number[] {
  const k = checkTopology(topology)
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(p) || p < 0 || p >= n) throw new DerError('DER_INVAL', `position ${p} outside a tree of ${n}`)
  const children: number[] = []
  if (topology.type === 'flat') {
    if (p === 0) for (let c = 1; c < n; c++) children.push(c)
  } else if (topology.type === 'kary') {
    for (let c = k * p + 1; c <= k * p + k && c < n; c++) children.push(c)
  } else {
    let power = 1
    while (power <= p) power *= k
    for (; power < n; power *= k) {
      for (let d = 1; d < k; d++) {
        const c = p + d * power
        if (c < n) children.push(c)
      }
    }
  }
  return children
}

/** The parent position of `p` (undefined for the root). */
export function parentPosition(topology: TreeTopology, n: number, p: number): number | undefined {
  const k = checkTopology(topology)
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(p) || p < 0 || p >= n) throw new DerError('DER_INVAL', `position ${p} outside a tree of ${n}`)
  if (p === 0) return undefined
  if (topology.type === 'flat') return 0
  if (topology.type === 'kary') return Math.floor((p - 1) / k)
  let power = 1
  while (power * k <= p) power *= k
  return p % power
}

/** The members of a tree: `ranks` sorted and deduplicated, minus `excluded`. */
export function treeMembers(ranks: readonly number[], excluded: readonly number[] = []): number[] {
  const skip = new Set(excluded)
  return [...new Set(ranks)].filter((r) => !skip.has(r)).sort((a, b) => a - b)
}

/** The children ranks of `rank` in the tree over `members` (sorted) rooted at `root`. */
export function treeChildren(topology: TreeTopology, members: readonly number[], root: number, rank: number): number[] {
  const n = members.length
  const rootIndex = members.indexOf(root)
  const index = members.indexOf(rank)
  if (rootIndex < 0) throw new DerError('DER_INVAL', `tree root ${root} is not a member (excluded or unknown)`)
  if (index < 0) throw new DerError('DER_INVAL', `rank ${rank} is not a member of the tree`)
  const p = (index - rootIndex + n) % n
  return childPositions(topology, n, p).map((c) => members[(c + rootIndex) % n] as number)
}

/** The parent rank of `rank` (undefined for the root). */
export function treeParent(topology: TreeTopology, members: readonly number[], root: number, rank: number): number | undefined {
  const n = members.length
  const rootIndex = members.indexOf(root)
  const index = members.indexOf(rank)
  if (rootIndex < 0 || index < 0) throw new DerError('DER_INVAL', `rank ${rank} or root ${root} is not a member of the tree`)
  const parent = parentPosition(topology, n, (index - rootIndex + n) % n)
  return parent === undefined ? undefined : (members[(parent + rootIndex) % n])
}

/** The whole tree as `rank -> children` (ranks with no children included with `[]`). */
export function buildTree(topology: TreeTopology, members: readonly number[], root: number): Map<number, number[]> {
  const tree = new Map<number, number[]>()
  for (const rank of members) tree.set(rank, treeChildren(topology, members, root, rank))
  return tree
}
