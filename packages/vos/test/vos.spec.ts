import { type DerName, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type AkeyUpdate, MemoryBlobIo, Vos, type VosStorage, vosEpochMax } from '../src/index.ts'

const cont = '00000000-0000-4000-8000-0000000000aa'
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b))
const sv = (akey: string, value: string | Uint8Array): AkeyUpdate => ({ type: 'single', akey: enc(akey), value: typeof value === 'string' ? enc(value) : value })

async function fresh(storage?: VosStorage, capacityBytes?: number): Promise<Vos> {
  const vos = await Vos.create({ storage, capacityBytes })
  await vos.createContainer(cont)
  return vos
}

async function single(vos: Vos, oid: bigint, epoch: bigint, dkey: string, akey: string): Promise<string | undefined> {
  const [r] = await vos.fetch(cont, oid, epoch, enc(dkey), [{ type: 'single', akey: enc(akey) }])
  return r?.type === 'single' ? dec(r.value) : undefined
}

async function expectDer(run: () => unknown, name: DerName): Promise<void> {
  try {
    await run()
  } catch (error) {
    expect(isDerError(error) ? error.name : error).toBe(name)
    return
  }
  throw new Error(`expected ${name}, but it succeeded`)
}

function memoryStorage(): { wal: MemoryBlobIo; meta: MemoryBlobIo; data: MemoryBlobIo } {
  return { wal: new MemoryBlobIo(256 * 1024), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(4 * 1024 * 1024) }
}

describe('versioning', () => {
  it('reads the newest single value at or below the epoch (write a@1 and b@3)', async () => {
    const vos = await fresh()
    await vos.update(cont, 1n, 1n, enc('d'), [sv('a', 'a')])
    await vos.update(cont, 1n, 3n, enc('d'), [sv('a', 'b')])
    expect(await single(vos, 1n, 2n, 'd', 'a')).toBe('a')
    expect(await single(vos, 1n, 3n, 'd', 'a')).toBe('b')
    expect(await single(vos, 1n, vosEpochMax, 'd', 'a')).toBe('b')
    await vos.update(cont, 1n, 2n, enc('d'), [sv('a', 'late')]) // out of order: still ordered by epoch
    expect(await single(vos, 1n, 2n, 'd', 'a')).toBe('late')
    expect(await single(vos, 1n, 5n, 'd', 'a')).toBe('b')
  })

  it('merges overlapping extents newest-wins per record ([0,100)@1, [50,150)@2, [25,75)@3)', async () => {
    const vos = await fresh()
    const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v)
    const put = (epoch: bigint, index: number, count: number, v: number): Promise<void> =>
      vos.update(cont, 1n, epoch, enc('d'), [{ type: 'array', akey: enc('x'), recordSizeBytes: 1, extents: [{ index, count, data: fill(count, v) }] }])
    await put(1n, 0, 100, 1)
    await put(2n, 50, 100, 2)
    await put(3n, 25, 50, 3)
    const read = async (epoch: bigint): Promise<number[]> => {
      const [r] = await vos.fetch(cont, 1n, epoch, enc('d'), [{ type: 'array', akey: enc('x'), extents: [{ index: 0, count: 160 }] }])
      return r?.type === 'array' ? [...r.data] : []
    }
    const expected = (f: (i: number) => number): number[] => Array.from({ length: 160 }, (_, i) => f(i))
    expect(await read(1n)).toEqual(expected((i) => (i < 100 ? 1 : 0)))
    expect(await read(2n)).toEqual(expected((i) => (i < 50 ? 1 : i < 150 ? 2 : 0)))
    expect(await read(3n)).toEqual(expected((i) => (i < 25 ? 1 : i < 75 ? 3 : i < 150 ? 2 : 0)))
    const [r] = await vos.fetch(cont, 1n, 3n, enc('d'), [{ type: 'array', akey: enc('x'), extents: [{ index: 140, count: 20 }] }])
    expect(r?.type === 'array' ? r.holes : undefined).toEqual([{ index: 150, count: 10 }])
    expect(vos.listExtents(cont, 1n, 3n, enc('d'), enc('x')).items).toEqual([
      { index: 0, count: 25, epoch: 1n },
      { index: 25, count: 50, epoch: 3n },
      { index: 75, count: 75, epoch: 2n },
    ])
    expect(vos.queryKey(cont, 1n, 3n, 'max', enc('d'), enc('x')).recx).toEqual({ index: 75, count: 75, epoch: 2n })
  })

  it('hides data below a punch from reads at or above it, not from reads below it', async () => {
    const vos = await fresh()
    await vos.update(cont, 7n, 10n, enc('d1'), [sv('a', 'one'), sv('b', 'two')])
    await vos.update(cont, 7n, 10n, enc('d2'), [sv('a', 'three')])
    await vos.punchAkeys(cont, 7n, 20n, enc('d1'), [enc('a')])
    expect(await single(vos, 7n, 19n, 'd1', 'a')).toBe('one')
    expect(await single(vos, 7n, 20n, 'd1', 'a')).toBeUndefined()
    expect(await single(vos, 7n, 25n, 'd1', 'b')).toBe('two')
    await vos.punchDkey(cont, 7n, 30n, enc('d1'))
    expect(vos.listDkeys(cont, 7n, 31n).items.map(dec)).toEqual(['d2'])
    expect(vos.listDkeys(cont, 7n, 29n).items.map(dec)).toEqual(['d1', 'd2'])
    await vos.punchObject(cont, 7n, 40n)
    expect(vos.listObjects(cont, 40n).items).toEqual([])
    expect(vos.listObjects(cont, 39n).items).toEqual([7n])
    await vos.update(cont, 7n, 50n, enc('d1'), [sv('a', 'again')])
    expect(await single(vos, 7n, 50n, 'd1', 'a')).toBe('again')
    expect(await single(vos, 7n, 50n, 'd1', 'b')).toBeUndefined()
  })

  it('enumerates with resumable anchors, even when keys are added between pages', async () => {
    const vos = await fresh()
    for (let i = 0; i < 20; i++) await vos.update(cont, 1n, 5n, enc(`k${String(i).padStart(2, '0')}`), [sv('a', 'v')])
    const first = vos.listDkeys(cont, 1n, 5n, undefined, 7)
    expect(first.items.map(dec)).toEqual(['k00', 'k01', 'k02', 'k03', 'k04', 'k05', 'k06'])
    await vos.update(cont, 1n, 5n, enc('k03x'), [sv('a', 'v')]) // before the anchor: not listed
    await vos.update(cont, 1n, 5n, enc('k10x'), [sv('a', 'v')]) // after it: listed
    const rest: string[] = []
    let anchor = first.anchor
    while (anchor !== undefined) {
      const page = vos.listDkeys(cont, 1n, 5n, anchor, 7)
      rest.push(...page.items.map((k) => dec(k) ?? ''))
      anchor = page.anchor
    }
    expect(rest).toContain('k10x')
    expect(rest).not.toContain('k03x')
    expect(rest.length).toBe(14)
    expect(dec(vos.queryKey(cont, 1n, 5n, 'max').dkey)).toBe('k19')
    expect(dec(vos.queryKey(cont, 1n, 5n, 'min').dkey)).toBe('k00')
  })

  it('keeps B+tree order with many keys (the tree splits and stays shallow)', async () => {
    const vos = await fresh()
    const keys = Array.from({ length: 3000 }, (_, i) => `key-${(i * 7919) % 3000}`)
    for (const k of keys) await vos.update(cont, 1n, 1n, enc(k), [sv('a', k)])
    const listed = vos.listDkeys(cont, 1n, 1n, undefined, 10_000).items.map((k) => dec(k) ?? '')
    expect(listed).toEqual([...keys].sort())
    expect(await single(vos, 1n, 1n, 'key-1234', 'a')).toBe('key-1234')
  })
})

describe('bad input: typed errors and no state change', () => {
  it('refuses bad keys, values, epochs, extents and containers', async () => {
    const vos = await fresh()
    await vos.update(cont, 1n, 5n, enc('d'), [sv('a', 'keep')])
    const before = vos.space()
    const big = new Uint8Array(1025)
    await expectDer(() => vos.update(cont, 1n, 6n, new Uint8Array(0), [sv('a', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, big, [sv('a', 'x')]), 'DER_KEY2BIG')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [{ type: 'single', akey: big, value: enc('x') }]), 'DER_KEY2BIG')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('a', new Uint8Array(0))]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('a', new Uint8Array(64 * 1024 * 1024 + 1))]), 'DER_REC2BIG')
    await expectDer(() => vos.update(cont, 1n, 0n, enc('d'), [sv('a', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, vosEpochMax + 1n, enc('d'), [sv('a', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, -1n, 6n, enc('d'), [sv('a', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n << 128n, 6n, enc('d'), [sv('a', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), []), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('b', 'x'), sv('b', 'y')]), 'DER_INVAL')
    // A valid akey next to a bad one: nothing of the call is applied.
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('a', 'new'), sv('', 'x')]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [{ type: 'array', akey: enc('a'), recordSizeBytes: 1, extents: [{ index: 0, count: 1, data: enc('x') }] }]), 'DER_INVAL')
    const arr = (extents: { index: number; count: number; data?: Uint8Array }[], recordSizeBytes = 1): AkeyUpdate => ({ type: 'array', akey: enc('x'), recordSizeBytes, extents })
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 2 ** 48 - 1, count: 2, data: enc('ab') }])]), 'DER_OVERFLOW')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: Number.MAX_SAFE_INTEGER, count: 1, data: enc('a') }])]), 'DER_OVERFLOW')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: -1, count: 1, data: enc('a') }])]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 0, count: 0, data: enc('') }])]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 0, count: 2, data: enc('a') }])]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 0, count: 2, data: enc('ab') }, { index: 1, count: 1, data: enc('c') }])]), 'DER_INVAL')
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 0, count: 1, data: enc('a') }], 0)]), 'DER_INVAL')
    await vos.update(cont, 1n, 6n, enc('d'), [arr([{ index: 0, count: 1, data: enc('ab') }], 2)])
    await expectDer(() => vos.update(cont, 1n, 7n, enc('d'), [arr([{ index: 0, count: 1, data: enc('abc') }], 3)]), 'DER_REC_SIZE')
    await expectDer(() => vos.fetch(cont, 1n, 0n, enc('d'), [{ type: 'single', akey: enc('a') }]), 'DER_INVAL')
    await expectDer(() => vos.fetch(cont, 1n, 5n, enc('d'), [{ type: 'array', akey: enc('x'), extents: [{ index: 2 ** 48, count: 1 }] }]), 'DER_OVERFLOW')
    await expectDer(() => vos.createContainer('not-a-uuid'), 'DER_INVAL')
    await expectDer(() => vos.createContainer(cont), 'DER_EXIST')
    await expectDer(() => vos.discard(cont, 9n, 8n), 'DER_INVAL')
    expect(await single(vos, 1n, vosEpochMax, 'd', 'a')).toBe('keep')
    expect(vos.space().usedBytes).toBe(before.usedBytes + 2)
    expect(vos.listAkeys(cont, 1n, vosEpochMax, enc('d')).items.map(dec)).toEqual(['a', 'x'])
  })

  it('refuses every operation on a destroyed container and frees its space', async () => {
    const vos = await fresh(memoryStorage())
    await vos.update(cont, 1n, 5n, enc('d'), [sv('a', new Uint8Array(10_000).fill(1))])
    expect(vos.space().usedBytes).toBe(12_288)
    await vos.destroyContainer(cont)
    expect(vos.space().usedBytes).toBe(0)
    await expectDer(() => vos.update(cont, 1n, 6n, enc('d'), [sv('a', 'x')]), 'DER_NONEXIST')
    await expectDer(() => vos.fetch(cont, 1n, 6n, enc('d'), [{ type: 'single', akey: enc('a') }]), 'DER_NONEXIST')
    await expectDer(() => vos.punchObject(cont, 1n, 6n), 'DER_NONEXIST')
    await expectDer(() => vos.listObjects(cont, 6n), 'DER_NONEXIST')
    await expectDer(() => vos.aggregate(cont, 6n), 'DER_NONEXIST')
    await expectDer(() => vos.destroyContainer(cont), 'DER_NONEXIST')
  })
})

describe('checksums', () => {
  it('detects a flipped bit in a stored value and never returns the bad bytes', async () => {
    const storage = memoryStorage()
    const vos = await fresh(storage)
    const value = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff)
    await vos.update(cont, 1n, 5n, enc('d'), [sv('big', value), sv('small', 'inline value')])
    await vos.update(cont, 1n, 5n, enc('d2'), [{ type: 'array', akey: enc('x'), recordSizeBytes: 1000, extents: [{ index: 0, count: 100, data: value }] }])
    expect(await vos.scrub()).toEqual({ values: 3, corrupt: 0 })
    // The single value sits first in the data blob; flip a bit in its second chunk.
    storage.data.flipBit(40_000, 3)
    await expectDer(() => vos.fetch(cont, 1n, 5n, enc('d'), [{ type: 'single', akey: enc('big') }]), 'DER_CSUM')
    expect(await single(vos, 1n, 5n, 'd', 'small')).toBe('inline value')
    // The array's extent follows at block 25 (102,400 bytes); a read of untouched chunks still works.
    const arrayStart = 25 * 4096
    storage.data.flipBit(arrayStart + 70_000, 0)
    const [ok] = await vos.fetch(cont, 1n, 5n, enc('d2'), [{ type: 'array', akey: enc('x'), extents: [{ index: 0, count: 30 }] }])
    expect(ok?.type === 'array' ? [...ok.data] : []).toEqual([...value.subarray(0, 30_000)])
    await expectDer(() => vos.fetch(cont, 1n, 5n, enc('d2'), [{ type: 'array', akey: enc('x'), extents: [{ index: 69, count: 2 }] }]), 'DER_CSUM')
    expect(await vos.scrub()).toEqual({ values: 3, corrupt: 2 })
  })
})

describe('checksum property', () => {
  it('a container with csum none stores no checksums (a flip goes unnoticed there) and keeps the property across reopen', async () => {
    const storage = memoryStorage()
    const vos = await Vos.create({ storage })
    const plain = '00000000-0000-4000-8000-0000000000ab'
    await vos.createContainer(plain, { csum: 'none' })
    await expectDer(() => vos.createContainer(cont, { csum: 'md5' as 'none' }), 'DER_INVAL')
    await vos.update(plain, 1n, 5n, enc('d'), [sv('big', new Uint8Array(10_000).fill(5))])
    storage.data.flipBit(100, 0)
    const [r] = await vos.fetch(plain, 1n, 5n, enc('d'), [{ type: 'single', akey: enc('big') }])
    expect(r?.type === 'single' ? r.value?.[100] : undefined).toBe(4)
    await vos.close()
    const again = await Vos.open({ storage })
    expect(again.index.container(plain).csum).toBe('none')
  })
})

describe('DTX', () => {
  it('keeps prepared writes invisible (DER_INPROGRESS) until commit, and drops them on abort', async () => {
    const vos = await fresh(memoryStorage())
    await vos.update(cont, 1n, 5n, enc('d'), [sv('a', 'committed')])
    await vos.update(cont, 1n, 10n, enc('d'), [sv('a', 'prepared')], { dtxId: 'tx1' })
    expect(vos.dtxState('tx1')).toBe('prepared')
    expect(await single(vos, 1n, 9n, 'd', 'a')).toBe('committed')
    await expectDer(() => vos.fetch(cont, 1n, 10n, enc('d'), [{ type: 'single', akey: enc('a') }]), 'DER_INPROGRESS')
    await expectDer(() => vos.update(cont, 1n, 11n, enc('d'), [sv('a', 'conflict')]), 'DER_INPROGRESS')
    await expectDer(() => vos.update(cont, 1n, 11n, enc('d'), [sv('b', 'other')], { dtxId: 'tx1' }), 'DER_ALREADY')
    await expectDer(() => vos.punchObject(cont, 1n, 12n), 'DER_INPROGRESS')
    await expectDer(() => vos.aggregate(cont, 20n), 'DER_INPROGRESS')
    await vos.commitDtx('tx1')
    expect(vos.dtxState('tx1')).toBe('committed')
    expect(await single(vos, 1n, 10n, 'd', 'a')).toBe('prepared')
    await expectDer(() => vos.commitDtx('tx1'), 'DER_ALREADY')
    await expectDer(() => vos.abortDtx('nope'), 'DER_NONEXIST')

    const used = vos.space().usedBytes
    await vos.update(cont, 1n, 20n, enc('d'), [sv('a', new Uint8Array(20_000).fill(9))], { dtxId: 'tx2' })
    expect(vos.space().usedBytes).toBe(used + 20_480)
    await vos.abortDtx('tx2')
    expect(vos.dtxState('tx2')).toBe('aborted')
    expect(vos.space().usedBytes).toBe(used)
    expect(await single(vos, 1n, 30n, 'd', 'a')).toBe('prepared')
  })

  it('keeps prepared DTXs across a reopen', async () => {
    const storage = memoryStorage()
    const vos = await fresh(storage)
    await vos.update(cont, 1n, 10n, enc('d'), [sv('a', 'v')], { dtxId: 'tx' })
    await vos.close()
    const again = await Vos.open({ storage })
    expect(again.listPreparedDtx()).toEqual(['tx'])
    await expectDer(() => again.fetch(cont, 1n, 10n, enc('d'), [{ type: 'single', akey: enc('a') }]), 'DER_INPROGRESS')
    await again.commitDtx('tx')
    expect(await single(again, 1n, 10n, 'd', 'a')).toBe('v')
  })
})

describe('snapshots, aggregation, discard and space', () => {
  it('aggregation keeps what snapshots and later reads see and frees the rest', async () => {
    const vos = await fresh(memoryStorage())
    const big = (v: number): Uint8Array => new Uint8Array(8192).fill(v)
    for (let e = 1; e <= 10; e++) await vos.update(cont, 1n, BigInt(e), enc('d'), [sv('a', big(e))])
    expect(vos.space().usedBytes).toBe(10 * 8192)
    await vos.createSnapshot(cont, 4n)
    await vos.aggregate(cont, 8n)
    // Kept: the version seen at snapshot 4, the one seen at 8, and 9, 10 above the boundary.
    expect(vos.space().usedBytes).toBe(4 * 8192)
    const at = async (e: bigint): Promise<number | undefined> => {
      const [r] = await vos.fetch(cont, 1n, e, enc('d'), [{ type: 'single', akey: enc('a') }])
      return r?.type === 'single' ? r.value?.[0] : undefined
    }
    expect(await at(4n)).toBe(4)
    expect(await at(8n)).toBe(8)
    expect(await at(9n)).toBe(9)
    expect(await at(vosEpochMax)).toBe(10)
    await expectDer(() => vos.update(cont, 1n, 8n, enc('d'), [sv('a', 'late')]), 'DER_TX_RESTART')
    await vos.discard(cont, 10n, 10n)
    expect(await at(vosEpochMax)).toBe(9)
    expect(vos.space().usedBytes).toBe(3 * 8192)
    // Freed blocks become allocatable again (no leak).
    const allocator = vos.extentAllocator
    expect(allocator?.freeBlocks).toBe((allocator?.blocks ?? 0) - 3 * 2)
  })

  it('refuses an update that does not fit with DER_NOSPACE and changes nothing', async () => {
    const vos = await fresh(undefined, 1000)
    await vos.update(cont, 1n, 1n, enc('d'), [sv('a', new Uint8Array(600))])
    await expectDer(() => vos.update(cont, 1n, 2n, enc('d'), [sv('b', new Uint8Array(100)), sv('c', new Uint8Array(400))]), 'DER_NOSPACE')
    expect(vos.space()).toEqual({ usedBytes: 600, capacityBytes: 1000 })
    expect(vos.containerSpace(cont).usedBytes).toBe(600)
    expect(vos.listAkeys(cont, 1n, 2n, enc('d')).items.map(dec)).toEqual(['a'])
    await vos.punchAkeys(cont, 1n, 3n, enc('d'), [enc('a')])
    await vos.aggregate(cont, 3n)
    expect(vos.space().usedBytes).toBe(0)
    await vos.update(cont, 1n, 4n, enc('d'), [sv('b', new Uint8Array(100)), sv('c', new Uint8Array(400))])
  })

  it('refuses with DER_NOSPACE when the data blob is full, with nothing reserved left behind', async () => {
    const storage = { wal: new MemoryBlobIo(256 * 1024), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(64 * 1024) }
    const vos = await Vos.create({ storage, capacityBytes: 1 << 30 })
    await vos.createContainer(cont)
    await vos.update(cont, 1n, 1n, enc('d'), [sv('a', new Uint8Array(40_000))])
    await expectDer(() => vos.update(cont, 1n, 2n, enc('d'), [sv('b', new Uint8Array(10_000)), sv('c', new Uint8Array(20_000))]), 'DER_NOSPACE')
    expect(vos.extentAllocator?.reservedBlocks).toBe(0)
    expect(vos.extentAllocator?.freeBlocks).toBe(16 - 10)
  })
})

describe('concurrency with the data blob', () => {
  it('never lets a fetch in flight read space that aggregation freed (aging), and reuses it after', async () => {
    // A data blob of 6 blocks; 8 KiB values take 2 blocks each.
    const storage = { wal: new MemoryBlobIo(256 * 1024), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(6 * 4096) }
    let gate: Promise<void> | undefined
    const read = storage.data.read.bind(storage.data)
    storage.data.read = async (offsetBytes: number, lengthBytes: number): Promise<Uint8Array> => {
      const bytes = await read(offsetBytes, lengthBytes)
      if (gate !== undefined) await gate
      return bytes
    }
    const vos = await fresh(storage)
    const big = (v: number): Uint8Array => new Uint8Array(8192).fill(v)
    await vos.update(cont, 1n, 1n, enc('d'), [sv('a', big(1))])
    await vos.update(cont, 1n, 2n, enc('d'), [sv('a', big(2))])
    let open = (): void => undefined
    gate = new Promise<void>((resolve) => (open = resolve))
    // A fetch at epoch 1 reads blocks 0-1 slowly; meanwhile aggregation drops version 1.
    const reading = vos.fetch(cont, 1n, 1n, enc('d'), [{ type: 'single', akey: enc('a') }])
    await vos.aggregate(cont, 2n)
    await vos.update(cont, 1n, 3n, enc('n3'), [sv('a', big(3))]) // blocks 4-5
    // Blocks 0-1 are aging while the read is in flight: not allocatable.
    await expectDer(() => vos.update(cont, 1n, 4n, enc('n4'), [sv('a', big(4))]), 'DER_NOSPACE')
    open()
    gate = undefined
    const [r] = await reading
    expect(r?.type === 'single' ? r.value?.[0] : undefined).toBe(1)
    await vos.update(cont, 1n, 4n, enc('n4'), [sv('a', big(4))]) // now it fits
    expect(await vos.scrub()).toEqual({ values: 3, corrupt: 0 })
  })

  it('batches concurrent updates into one WAL group (group commit)', async () => {
    const storage = memoryStorage()
    const vos = await fresh(storage)
    const before = storage.wal.writes
    await Promise.all(Array.from({ length: 50 }, (_, i) => vos.update(cont, 1n, 1n, enc(`k${i}`), [sv('a', 'v')])))
    expect(storage.wal.writes - before).toBe(1)
  })
})
