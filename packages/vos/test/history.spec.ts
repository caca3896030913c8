// Object history export (objectHistory) and idempotent replay (applyHistory): what rebuild and
// reintegration copy between targets.
import { Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type AkeyUpdate, type ObjectHistory, Vos, createMemoryStorage } from '../src/index.ts'

const cont = '00000000-0000-4000-8000-0000000000aa'
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const seed = Number(process.env.X_SEED ?? 0x4157)

/** Everything a reader can see of `oid`, at each of `epochs`. */
async function snapshot(vos: Vos, oid: bigint, epochs: readonly bigint[]): Promise<string> {
  const out: string[] = []
  if (!vos.listContainers().includes(cont)) return ''
  for (const epoch of epochs) {
    const dkeys = vos.listDkeys(cont, oid, epoch).items
    out.push(`@${epoch} dkeys=${dkeys.map((d) => Buffer.from(d).toString()).join(',')}`)
    for (const dkey of dkeys) {
      for (const akey of vos.listAkeys(cont, oid, epoch, dkey).items) {
        const [single] = await vos.fetch(cont, oid, epoch, dkey, [{ type: 'single', akey }])
        const [array] = await vos.fetch(cont, oid, epoch, dkey, [{ type: 'array', akey, extents: [{ index: 0, count: 48 }] }])
        out.push(`  ${Buffer.from(dkey).toString()}/${Buffer.from(akey).toString()} sv=${single?.type === 'single' && single.value !== undefined ? Buffer.from(single.value).toString('hex') : '-'} arr=${array?.type === 'array' && array.recordSizeBytes > 0 ? Buffer.from(array.data).toString('hex') : '-'}`)
      }
    }
  }
  return out.join('\n')
}

async function exportAll(vos: Vos, oid: bigint, maxDkeys: number): Promise<ObjectHistory[]> {
  const pages: ObjectHistory[] = []
  let after: Uint8Array | undefined
  do {
    const page = await vos.objectHistory(cont, oid, { maxDkeys, ...(after === undefined ? {} : { after }) })
    pages.push(page)
    after = page.anchor
  } while (after !== undefined)
  return pages
}

describe(`object history (seed ${seed})`, () => {
  it('exports every committed version and punch, leaves prepared ones out, and replays idempotently', async () => {
    const src = await Vos.create({ storage: createMemoryStorage(), inlineThresholdBytes: 16 })
    await src.createContainer(cont)
    const oid = 7n
    await src.update(cont, oid, 10n, enc('d1'), [{ type: 'single', akey: enc('a'), value: enc('v10') }, { type: 'array', akey: enc('arr'), recordSizeBytes: 2, extents: [{ index: 0, count: 4, data: enc('abcdefgh') }, { index: 8, count: 1, data: enc('zz') }] }])
    await src.update(cont, oid, 20n, enc('d1'), [{ type: 'single', akey: enc('a'), value: enc('a value longer than sixteen bytes') }])
    await src.update(cont, oid, 15n, enc('d1'), [{ type: 'array', akey: enc('arr'), recordSizeBytes: 2, extents: [{ index: 2, count: 2 }] }]) // hole, out of epoch order
    await src.update(cont, oid, 12n, enc('d2'), [{ type: 'single', akey: enc('x'), value: enc('x12') }, { type: 'single', akey: enc('y'), value: enc('y12') }])
    await src.punchAkeys(cont, oid, 25n, enc('d2'), [enc('x')])
    await src.update(cont, oid, 13n, enc('d3'), [{ type: 'single', akey: enc('k'), value: enc('k13') }])
    await src.punchDkey(cont, oid, 30n, enc('d3'))
    await src.punchObject(cont, oid, 40n)
    await src.update(cont, oid, 50n, enc('d4'), [{ type: 'single', akey: enc('late'), value: enc('after the punch') }])
    await src.update(cont, oid, 60n, enc('d4'), [{ type: 'single', akey: enc('late'), value: enc('prepared') }], { dtxId: 'dtx-1' })

    const pages = await exportAll(src, oid, 2)
    expect(pages.length).toBe(2)
    expect(pages[0]?.punches.map((p) => p.epoch)).toEqual([40n])
    expect(pages[1]?.punches).toEqual([])
    expect(pages.flatMap((p) => p.preparedDtx)).toEqual(['dtx-1'])
    const d1 = pages[0]?.dkeys.find((d) => Buffer.from(d.dkey).toString() === 'd1')
    expect(d1?.akeys.find((a) => Buffer.from(a.akey).toString() === 'a')?.singles.map((s) => s.epoch)).toEqual([10n, 20n])
    expect(d1?.akeys.find((a) => Buffer.from(a.akey).toString() === 'arr')?.extents.map((e) => [e.index, e.count, e.epoch, e.data === undefined])).toEqual([
      [0, 4, 10n, false],
      [2, 2, 15n, true],
      [8, 1, 10n, false],
    ])

    const epochs = [5n, 10n, 12n, 14n, 15n, 20n, 25n, 30n, 39n, 40n, 50n, 55n]
    await src.abortDtx('dtx-1')
    const dst = await Vos.create()
    const first = { applied: 0, skipped: 0 }
    // Pages in reverse order: replay does not depend on the order pages arrive in.
    for (const page of [...pages].reverse()) {
      const r = await dst.applyHistory(cont, oid, page)
      first.applied += r.applied
      first.skipped += r.skipped
    }
    expect(first.skipped).toBe(0)
    expect(await snapshot(dst, oid, epochs)).toBe(await snapshot(src, oid, epochs))
    // A retried replay writes nothing.
    for (const page of pages) expect((await dst.applyHistory(cont, oid, page)).applied).toBe(0)
    expect(await snapshot(dst, oid, epochs)).toBe(await snapshot(src, oid, epochs))
  })

  it('replay onto stale content converges (reintegration): newer versions win, held ones are skipped', async () => {
    const src = await Vos.create()
    await src.createContainer(cont)
    const stale = await Vos.create()
    await stale.createContainer(cont)
    const oid = 9n
    for (const vos of [src, stale]) await vos.update(cont, oid, 10n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('old') }])
    await src.update(cont, oid, 20n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('new') }])
    await src.punchDkey(cont, oid, 30n, enc('gone'))
    const pages = await exportAll(src, oid, 64)
    const r = await stale.applyHistory(cont, oid, pages[0] as ObjectHistory)
    expect(r).toEqual({ applied: 2, skipped: 1 })
    expect(await snapshot(stale, oid, [15n, 25n, 35n])).toBe(await snapshot(src, oid, [15n, 25n, 35n]))
  })

  it('a replay meeting prepared data stops with DER_INPROGRESS and completes when retried', async () => {
    const src = await Vos.create()
    await src.createContainer(cont)
    await src.update(cont, 3n, 10n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('v') }])
    const dst = await Vos.create()
    await dst.createContainer(cont)
    await dst.update(cont, 3n, 20n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('live') }], { dtxId: 'live-1' })
    const [page] = await exportAll(src, 3n, 64)
    const error = await dst.applyHistory(cont, 3n, page as ObjectHistory).then(() => undefined, (e: unknown) => e)
    expect(isDerError(error, 'DER_INPROGRESS')).toBe(true)
    await dst.commitDtx('live-1')
    expect(await dst.applyHistory(cont, 3n, page as ObjectHistory)).toEqual({ applied: 1, skipped: 0 })
    expect(await snapshot(dst, 3n, [15n, 25n])).toContain('sv=6c697665')
  })

  it('lists stored objects, punched ones included, and validates its input', async () => {
    const vos = await Vos.create()
    await vos.createContainer(cont)
    await vos.update(cont, 1n, 10n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('v') }])
    await vos.punchObject(cont, 1n, 20n)
    await vos.update(cont, 2n, 10n, enc('d'), [{ type: 'single', akey: enc('a'), value: enc('v') }])
    expect(vos.listObjects(cont, 30n).items).toEqual([2n])
    expect(vos.listStoredObjects(cont).items).toEqual([1n, 2n])
    const page = vos.listStoredObjects(cont, undefined, 1)
    expect(page.items).toEqual([1n])
    expect(vos.listStoredObjects(cont, page.anchor).items).toEqual([2n])
    expect(() => vos.listStoredObjects(cont, { kind: 'key', after: enc('x') })).toThrow(/object anchor/)
    await expect(vos.objectHistory(cont, 1n, { maxDkeys: 0 })).rejects.toThrow(/limit/)
    await expect(vos.objectHistory('not-a-uuid', 1n)).rejects.toThrow()
    expect(await vos.objectHistory(cont, 99n)).toEqual({ punches: [], dkeys: [], anchor: undefined, preparedDtx: [] })
  })

  it('random histories replay to the same reads at every epoch', async () => {
    for (let round = 0; round < 30; round++) {
      const random = new Random(seed + round)
      // Engines give every write of an object its own epoch: replay identifies a version by its
      // place and epoch, so two writes at one epoch and place would be taken for one.
      const epochPool = random.shuffle(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)))
      const src = await Vos.create({ storage: createMemoryStorage(), inlineThresholdBytes: 8 })
      await src.createContainer(cont)
      const oid = 5n
      const epochs = new Set<bigint>()
      for (let i = 0; i < 40; i++) {
        const epoch = epochPool[i] as bigint
        epochs.add(epoch)
        const dkey = enc(`d${random.int(4)}`)
        const roll = random.int(10)
        try {
          if (roll < 4) {
            const akeys: AkeyUpdate[] = [{ type: 'single', akey: enc(`s${random.int(3)}`), value: random.bytes(1 + random.int(20)) }]
            await src.update(cont, oid, epoch, dkey, akeys)
          } else if (roll < 8) {
            const index = random.int(40)
            const count = 1 + random.int(8)
            const hole = random.chance(0.2)
            await src.update(cont, oid, epoch, dkey, [{ type: 'array', akey: enc('arr'), recordSizeBytes: 3, extents: [hole ? { index, count } : { index, count, data: random.bytes(count * 3) }] }])
          } else if (roll === 8) await src.punchAkeys(cont, oid, epoch, dkey, [enc(`s${random.int(3)}`)])
          else if (random.chance(0.7)) await src.punchDkey(cont, oid, epoch, dkey)
          else await src.punchObject(cont, oid, epoch)
        } catch (error) {
          if (!isDerError(error)) throw error
        }
      }
      const dst = await Vos.create()
      const pages = await exportAll(src, oid, 1 + random.int(3))
      for (const page of random.shuffle(pages)) await dst.applyHistory(cont, oid, page)
      for (const page of pages) expect((await dst.applyHistory(cont, oid, page)).applied, `seed ${seed + round}`).toBe(0)
      const at = [...epochs, 0n, 300n].filter((e) => e > 0n).sort((a, b) => (a < b ? -1 : 1))
      expect(await snapshot(dst, oid, at), `seed ${seed + round}`).toBe(await snapshot(src, oid, at))
    }
  })
})
