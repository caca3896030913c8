import fc from 'fast-check'
import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { BPlusTree, type BlockExtent, ExtentAllocator, compareBytes } from '../src/index.ts'

const seed = process.env.X_SEED === undefined ? undefined : Number(process.env.X_SEED)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('BPlusTree', () => {
  it('behaves like a sorted map under random sets, deletes and range scans', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'scan'), fc.uint8Array({ minLength: 1, maxLength: 3 }), fc.nat()), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 4, max: 8 }),
        (ops, order) => {
          const tree = new BPlusTree<number>(order)
          const model = new Map<string, { key: Uint8Array; value: number }>()
          for (const [op, key, value] of ops) {
            if (op === 'set') {
              tree.set(key, value)
              model.set(hex(key), { key, value })
            } else if (op === 'delete') {
              expect(tree.delete(key)).toBe(model.delete(hex(key)))
            } else {
              const sorted = [...model.values()].sort((a, b) => compareBytes(a.key, b.key))
              const from = sorted.filter((e) => compareBytes(e.key, key) > 0).map((e) => e.value)
              expect([...tree.entries(key, true)].map(([, v]) => v)).toEqual(from)
              expect([...tree.entriesReverse()].map(([, v]) => v)).toEqual(sorted.map((e) => e.value).reverse())
            }
            expect(tree.size).toBe(model.size)
          }
          for (const { key, value } of model.values()) expect(tree.get(key)).toBe(value)
          const sorted = [...model.values()].sort((a, b) => compareBytes(a.key, b.key))
          expect(tree.first()?.[1]).toBe(sorted[0]?.value)
          expect(tree.last()?.[1]).toBe(sorted[sorted.length - 1]?.value)
        },
      ),
      { numRuns: 200, seed },
    )
  })

  it('stays shallow: 100k keys at order 32 need at most 5 levels', () => {
    const tree = new BPlusTree<number>(32)
    for (let i = 0; i < 100_000; i++) tree.set(new Uint8Array([i >> 16, (i >> 8) & 0xff, i & 0xff]), i)
    expect(tree.height()).toBeLessThanOrEqual(5)
    expect(tree.size).toBe(100_000)
  })
})

describe('ExtentAllocator', () => {
  it('never hands out a block twice, coalesces frees, and reuses aged space only after the flush', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('reserve', 'cancel', 'publish', 'release', 'flush'), fc.integer({ min: 1, max: 9 }), fc.nat()), { maxLength: 300 }), (ops) => {
        const total = 64
        const allocator = new ExtentAllocator(total)
        const owner = new Int32Array(total).fill(-1)
        const reserved: BlockExtent[] = []
        const published: BlockExtent[] = []
        let aging = 0
        let generation = 0
        for (const [op, n, pick] of ops) {
          if (op === 'reserve') {
            try {
              const e = allocator.reserve(n)
              for (let b = e.startBlock; b < e.startBlock + e.blockCount; b++) {
                expect(owner[b]).toBe(-1)
                owner[b] = 1
              }
              reserved.push(e)
            } catch (error) {
              expect(isDerError(error, 'DER_NOSPACE')).toBe(true)
            }
          } else if (op === 'cancel' || op === 'publish') {
            const e = reserved.splice(pick % Math.max(1, reserved.length), 1)[0]
            if (e === undefined) continue
            if (op === 'cancel') {
              allocator.cancel(e)
              owner.fill(-1, e.startBlock, e.startBlock + e.blockCount)
            } else {
              allocator.publish(e)
              published.push(e)
            }
          } else if (op === 'release') {
            const e = published.splice(pick % Math.max(1, published.length), 1)[0]
            if (e === undefined) continue
            allocator.release(e, ++generation)
            aging += e.blockCount
          } else {
            allocator.flushAging(generation)
            owner.fill(-1)
            for (const e of [...reserved, ...published]) owner.fill(1, e.startBlock, e.startBlock + e.blockCount)
            aging = 0
          }
          const held = [...reserved, ...published].reduce((s, e) => s + e.blockCount, 0)
          expect(allocator.freeBlocks + held + aging).toBe(total)
        }
        allocator.flushAging(generation)
        for (const e of reserved) allocator.cancel(e)
        const rebuilt = ExtentAllocator.rebuild(total, published)
        expect(rebuilt.freeBlocks).toBe(allocator.freeBlocks)
      }),
      { numRuns: 300, seed },
    )
  })
})
