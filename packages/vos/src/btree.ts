/**
 * `BPlusTree`: the ordered map behind every key level of a VOS (containers' objects, dkeys,
 * akeys). Keys are byte strings in lexical (memcmp) order, as DAOS's lexical key class.
 *
 * Leaves hold sorted keys and values; internal nodes hold separators. Inserts split full nodes
 * (order = the most keys a node holds). Deletes remove empty nodes but do not merge underfull
 * ones: the height stays logarithmic in the largest size the tree ever had, which is what a
 * VOS tree (that aggregation shrinks rarely) needs, and it keeps deletes simple.
 *
 * @module
 */
import { assert } from '@x/common'

/** Lexical (memcmp) order of two byte strings; a shorter prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  // A plain loop beats the native Buffer.compare call for the short keys trees hold.
  if (a.length > 64 && b.length > 64) return Buffer.compare(a, b)
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

interface Leaf<V> {
  readonly leaf: true
  keys: Uint8Array[]
  values: V[]
}

interface Internal<V> {
  readonly leaf: false
  /** `keys[i]` is the smallest key of `children[i + 1]`. */
  keys: Uint8Array[]
  children: Node<V>[]
}

type Node<V> = Leaf<V> | Internal<V>

/** Index of the first key >= `key` in a sorted array. */
function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(keys[mid] as Uint8Array, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the child of an internal node that may hold `key`. */
function childIndex(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareBytes(keys[mid] as Uint8Array, key) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** An ordered map from byte-string keys to values (a B+tree). */
export class BPlusTree<V> {
  private root: Node<V> = { leaf: true, keys: [], values: [] }
  private count = 0

  /** @param order the most keys a node holds before it splits (>= 4). */
  constructor(readonly order = 32) {
    assert(Number.isInteger(order) && order >= 4, `B+tree order must be an integer >= 4, got ${order}`)
  }

  /** Number of keys. */
  get size(): number {
    return this.count
  }

  /** The value of `key`, if present. */
  get(key: Uint8Array): V | undefined {
    let node = this.root
    while (!node.leaf) node = node.children[childIndex(node.keys, key)] as Node<V>
    const i = lowerBound(node.keys, key)
    if (i < node.keys.length && compareBytes(node.keys[i] as Uint8Array, key) === 0) return node.values[i]
    return undefined
  }

  /** Inserts or replaces the value of `key`. */
  set(key: Uint8Array, value: V): void {
    const split = this.insert(this.root, key, value)
    if (split !== undefined) {
      this.root = { leaf: false, keys: [split.separator], children: [this.root, split.right] }
    }
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: Uint8Array): boolean {
    const removed = this.remove(this.root, key)
    if (!removed) return false
    this.count--
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0] as Node<V>
    if (!this.root.leaf && this.root.children.length === 0) this.root = { leaf: true, keys: [], values: [] }
    return true
  }

  /** Removes every key. */
  clear(): void {
    this.root = { leaf: true, keys: [], values: [] }
    this.count = 0
  }

  /**
   * Entries in ascending key order, starting at the first key >= `from` (or > `from` when
   * `exclusive`). The tree must not change while the iterator is in use.
   */
  *entries(from?: Uint8Array, exclusive = false): IterableIterator<[Uint8Array, V]> {
    const path: { node: Internal<V>; index: number }[] = []
    let node = this.root
    while (!node.leaf) {
      const index = from === undefined ? 0 : childIndex(node.keys, from)
      path.push({ node, index })
      node = node.children[index] as Node<V>
    }
    let leaf: Leaf<V> | undefined = node
    let i = from === undefined ? 0 : lowerBound(leaf.keys, from)
    if (from !== undefined && exclusive && i < leaf.keys.length && compareBytes(leaf.keys[i] as Uint8Array, from) === 0) i++
    while (leaf !== undefined) {
      for (; i < leaf.keys.length; i++) yield [leaf.keys[i] as Uint8Array, leaf.values[i] as V]
      leaf = this.nextLeaf(path)
      i = 0
    }
  }

  /** Entries in descending key order, from the last key <= `from` (or all of them). */
  *entriesReverse(from?: Uint8Array): IterableIterator<[Uint8Array, V]> {
    const all: [Uint8Array, V][] = []
    for (const entry of this.entries()) {
      if (from !== undefined && compareBytes(entry[0], from) > 0) break
      all.push(entry)
    }
    for (let i = all.length - 1; i >= 0; i--) yield all[i] as [Uint8Array, V]
  }

  /** The smallest key and its value. */
  first(): [Uint8Array, V] | undefined {
    const next = this.entries().next()
    return next.done === true ? undefined : next.value
  }

  /** The largest key and its value. */
  last(): [Uint8Array, V] | undefined {
    let node = this.root
    while (!node.leaf) node = node.children[node.children.length - 1] as Node<V>
    // Leaves are never empty except the root of an empty tree.
    const n = node.keys.length
    return n === 0 ? undefined : [node.keys[n - 1] as Uint8Array, node.values[n - 1] as V]
  }

  /** Height of the tree (1 for a single leaf); for tests of the balancing invariant. */
  height(): number {
    let h = 1
    let node = this.root
    while (!node.leaf) {
      node = node.children[0] as Node<V>
      h++
    }
    return h
  }

  private nextLeaf(path: { node: Internal<V>; index: number }[]): Leaf<V> | undefined {
    while (path.length > 0) {
      const top = path[path.length - 1] as { node: Internal<V>; index: number }
      if (top.index + 1 < top.node.children.length) {
        top.index++
        let node = top.node.children[top.index] as Node<V>
        while (!node.leaf) {
          path.push({ node, index: 0 })
          node = node.children[0] as Node<V>
        }
        return node
      }
      path.pop()
    }
    return undefined
  }

  private insert(node: Node<V>, key: Uint8Array, value: V): { separator: Uint8Array; right: Node<V> } | undefined {
    if (node.leaf) {
      const i = lowerBound(node.keys, key)
      if (i < node.keys.length && compareBytes(node.keys[i] as Uint8Array, key) === 0) {
        node.values[i] = value
        return undefined
      }
      node.keys.splice(i, 0, key)
      node.values.splice(i, 0, value)
      this.count++
      if (node.keys.length <= this.order) return undefined
      const half = node.keys.length >>> 1
      const right: Leaf<V> = { leaf: true, keys: node.keys.splice(half), values: node.values.splice(half) }
      return { separator: right.keys[0] as Uint8Array, right }
    }
    const i = childIndex(node.keys, key)
    const split = this.insert(node.children[i] as Node<V>, key, value)
    if (split === undefined) return undefined
    node.keys.splice(i, 0, split.separator)
    node.children.splice(i + 1, 0, split.right)
    if (node.keys.length <= this.order) return undefined
    const half = node.keys.length >>> 1
    const separator = node.keys[half] as Uint8Array
    const right: Internal<V> = { leaf: false, keys: node.keys.splice(half + 1), children: node.children.splice(half + 1) }
    node.keys.pop()
    return { separator, right }
  }

  private remove(node: Node<V>, key: Uint8Array): boolean {
    if (node.leaf) {
      const i = lowerBound(node.keys, key)
      if (i >= node.keys.length || compareBytes(node.keys[i] as Uint8Array, key) !== 0) return false
      node.keys.splice(i, 1)
      node.values.splice(i, 1)
      return true
    }
    const i = childIndex(node.keys, key)
    const child = node.children[i] as Node<V>
    if (!this.remove(child, key)) return false
    const empty = child.leaf ? child.keys.length === 0 : child.children.length === 0
    if (empty) {
      node.children.splice(i, 1)
      // Drop the separator that bounded the removed child (the left one, or the first).
      if (node.keys.length > 0) node.keys.splice(i === 0 ? 0 : i - 1, 1)
    }
    return true
  }
}
