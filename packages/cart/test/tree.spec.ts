import { isDerError } from '@x/common'
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type TreeTopology, buildTree, treeChildren, treeMembers, treeParent } from '../src/index.ts'

const topologies: [string, TreeTopology][] = [
  ['flat', { type: 'flat' }],
  ['kary k=2', { type: 'kary', branchRatio: 2 }],
  ['kary k=4', { type: 'kary', branchRatio: 4 }],
  ['knomial k=2', { type: 'knomial', branchRatio: 2 }],
  ['knomial k=4', { type: 'knomial', branchRatio: 4 }],
]
const goldenPath = new URL('../testdata/trees.golden', import.meta.url)

function render(): string {
  const lines: string[] = []
  for (const [name, topology] of topologies) {
    for (let n = 1; n <= 64; n++) {
      const members = Array.from({ length: n }, (_, i) => i)
      for (const root of [...new Set([0, n >> 1])]) {
        const tree = buildTree(topology, members, root)
        const edges = [...tree].filter(([, c]) => c.length > 0).map(([r, c]) => `${r}->${c.join(',')}`)
        lines.push(`${name} n=${n} root=${root}: ${edges.join(' ')}`)
      }
    }
  }
  return `${lines.join('\n')}\n`
}

describe('tree topologies', () => {
  it('matches DAOS\'s knomial k=2 tree over 8 ranks', () => {
    const tree = buildTree({ type: 'knomial', branchRatio: 2 }, [0, 1, 2, 3, 4, 5, 6, 7], 0)
    expect(Object.fromEntries(tree)).toEqual({ 0: [1, 2, 4], 1: [3, 5], 2: [6], 3: [7], 4: [], 5: [], 6: [], 7: [] })
  })

  it('matches the golden shapes for 1 to 64 ranks and each topology', () => {
    const actual = render()
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath, actual)
    const golden = readFileSync(goldenPath, 'utf8')
    const a = actual.split('\n')
    const g = golden.split('\n')
    for (let i = 0; i < Math.max(a.length, g.length); i++) expect(a[i], `golden line ${i + 1}`).toBe(g[i])
  })

  it('forms a spanning tree with consistent parents for every topology, size and root', () => {
    for (const [name, topology] of topologies) {
      for (let n = 1; n <= 64; n++) {
        const members = Array.from({ length: n }, (_, i) => i * 3 + 1)
        for (const root of [members[0] as number, members[n - 1] as number, members[n >> 1] as number]) {
          const seen = new Set<number>([root])
          const queue = [root]
          while (queue.length > 0) {
            const r = queue.shift() as number
            for (const child of treeChildren(topology, members, root, r)) {
              expect(seen.has(child), `${name} n=${n} root=${root}: ${child} reached twice`).toBe(false)
              expect(treeParent(topology, members, root, child), `${name} n=${n} root=${root} child ${child}`).toBe(r)
              seen.add(child)
              queue.push(child)
            }
          }
          expect(seen.size, `${name} n=${n} root=${root}`).toBe(n)
          expect(treeParent(topology, members, root, root)).toBeUndefined()
        }
      }
    }
  })

  it('skips excluded ranks and refuses an excluded root or a bad ratio', () => {
    const members = treeMembers([5, 1, 3, 2, 4, 0, 3], [2, 4])
    expect(members).toEqual([0, 1, 3, 5])
    expect(Object.fromEntries(buildTree({ type: 'knomial', branchRatio: 2 }, members, 0))).toEqual({ 0: [1, 3], 1: [5], 3: [], 5: [] })
    expect(Object.fromEntries(buildTree({ type: 'kary', branchRatio: 2 }, members, 3))).toEqual({ 3: [5, 0], 5: [1], 0: [], 1: [] })
    for (const bad of [() => treeChildren({ type: 'flat' }, members, 2, 0), () => treeChildren({ type: 'kary', branchRatio: 1 }, members, 0, 0), () => treeChildren({ type: 'knomial', branchRatio: 65 }, members, 0, 0)]) {
      let error: unknown
      try {
        bad()
      } catch (e) {
        error = e
      }
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
    }
  })
})
