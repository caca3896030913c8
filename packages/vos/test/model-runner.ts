import fc from 'fast-check'
import { isDerError } from '@x/common'
import { isDeepStrictEqual } from 'node:util'
import { expect } from 'vitest'
import { type AkeyUpdate, MemoryBlobIo, type Recx, Vos, type VosStorage, vosEpochMax } from '../src/index.ts'
import { VosModel, modelMaxIndex, recordSize } from './model.ts'

const cont = '00000000-0000-4000-8000-000000000001'
const oids = [1n, 2n, 3n]
const dkeys = ['a', 'b', 'c']
const singleAkeys = ['s1', 's2']
const arrayAkeys = ['x1', 'x2']
const allAkeys = [...singleAkeys, ...arrayAkeys]
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

// Epochs are offsets from a clock that moves 2 per step (see at()), so writes, reads, snapshots
// and aggregation boundaries keep meeting each other all along a sequence.
const epochArb = fc.integer({ min: -20, max: 4 }).map(BigInt)
// Offsets of 1000 and more pick a snapshot epoch (reads there must survive aggregation).
const readEpochArb = fc.oneof(fc.integer({ min: -24, max: 6 }).map(BigInt), fc.constant(vosEpochMax), fc.integer({ min: 1000, max: 1100 }).map(BigInt))
const aggregateEpochArb = fc.integer({ min: -30, max: -8 }).map(BigInt)
function at(step: number, offset: bigint): bigint {
  if (offset === vosEpochMax) return offset
  const e = BigInt(step * 2) + offset
  return e < 1n ? 1n : e
}
const oidArb = fc.constantFrom(...oids)
const dkeyArb = fc.constantFrom(...dkeys)
const extentArb = fc.record({ index: fc.integer({ min: 0, max: modelMaxIndex - 9 }), count: fc.integer({ min: 1, max: 8 }) })
const holeOrData = fc.record({ index: fc.integer({ min: 0, max: modelMaxIndex - 9 }), count: fc.integer({ min: 1, max: 8 }), hole: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) })

type Step =
  | { t: 'update'; oid: bigint; dkey: string; epoch: bigint; singles: { akey: string; len: number }[]; arrays: { akey: string; extents: { index: number; count: number; hole: boolean }[] }[] }
  | { t: 'punch'; oid: bigint; dkey: string | undefined; akeys: string[] | undefined; epoch: bigint }
  | { t: 'fetch'; oid: bigint; dkey: string; epoch: bigint; recxs: { index: number; count: number }[] }
  | { t: 'list'; oid: bigint; dkey: string; akey: string; epoch: bigint; limit: number }
  | { t: 'aggregate'; epoch: bigint }
  | { t: 'discard'; lo: bigint; span: bigint }
  | { t: 'snapshot'; epoch: bigint }
  | { t: 'snapshotDestroy'; pick: number }
  | { t: 'dtx'; oid: bigint; dkey: string; akey: string; epoch: bigint; len: number; commit: boolean }
  | { t: 'reopen' }

export const stepArb = (withReopen: boolean): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ t: fc.constant('update' as const), oid: oidArb, dkey: dkeyArb, epoch: epochArb, singles: fc.subarray(singleAkeys).chain((ks) => fc.tuple(...ks.map((akey) => fc.integer({ min: 1, max: 12 }).map((len) => ({ akey, len }))))), arrays: fc.subarray(arrayAkeys).chain((ks) => fc.tuple(...ks.map((akey) => fc.array(holeOrData, { minLength: 1, maxLength: 3 }).map((extents) => ({ akey, extents })))) ) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('punch' as const), oid: oidArb, dkey: fc.option(dkeyArb, { nil: undefined }), akeys: fc.option(fc.subarray(allAkeys, { minLength: 1 }), { nil: undefined }), epoch: epochArb }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('fetch' as const), oid: oidArb, dkey: dkeyArb, epoch: readEpochArb, recxs: fc.array(extentArb, { minLength: 1, maxLength: 3 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('list' as const), oid: oidArb, dkey: dkeyArb, akey: fc.constantFrom(...arrayAkeys), epoch: readEpochArb, limit: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('aggregate' as const), epoch: aggregateEpochArb }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('discard' as const), lo: epochArb, span: fc.integer({ min: 0, max: 5 }).map(BigInt) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('snapshot' as const), epoch: epochArb }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('snapshotDestroy' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('dtx' as const), oid: oidArb, dkey: dkeyArb, akey: fc.constantFrom(...singleAkeys), epoch: epochArb, len: fc.integer({ min: 1, max: 12 }), commit: fc.boolean() }) },
    { weight: withReopen ? 1 : 0, arbitrary: fc.constant({ t: 'reopen' as const }) },
  )

/** Deep equality; only a mismatch goes through expect (which is slow) to get a readable diff. */
function same(actual: unknown, expected: unknown, where: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, where).toEqual(expected)
}

async function errorName(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run()
    return undefined
  } catch (error) {
    if (!isDerError(error)) throw error
    return error.name
  }
}

function pattern(op: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (op * 31 + i * 7 + 1) & 0xff)
}

function withEpochs(step: Step, n: number): Step {
  switch (step.t) {
    case 'update':
    case 'punch':
    case 'dtx':
    case 'aggregate':
    case 'snapshot':
      return { ...step, epoch: at(n, step.epoch) }
    case 'discard':
      return { ...step, lo: at(n, step.lo) }
    default:
      return step
  }
}

/** Runs one sequence against the VOS and the model; throws on the first difference. */
export async function runSequence(steps: Step[], persistent: boolean): Promise<void> {
  let storage: VosStorage | undefined = persistent ? { wal: new MemoryBlobIo(64 * 1024), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(4 * 1024 * 1024) } : undefined
  const options = { inlineThresholdBytes: persistent ? 6 : 4096, maxGroupBytes: 8192 }
  let vos = await Vos.create({ ...options, storage })
  await vos.createContainer(cont)
  const model = new VosModel()
  let opNumber = 0
  for (const [n, rawStep] of steps.entries()) {
    let step = withEpochs(rawStep, n)
    if (step.t === 'fetch' || step.t === 'list') {
      let epoch = at(n, step.epoch)
      if (step.epoch >= 1000n && step.epoch !== vosEpochMax) {
        const choices = [...model.safe, ...model.snapshots]
        epoch = choices[Number(step.epoch - 1000n) % Math.max(1, choices.length)] ?? epoch
      }
      step = { ...step, epoch }
    }
    const where = `step ${n} ${JSON.stringify(step, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`
    opNumber++
    switch (step.t) {
      case 'update': {
        if (step.singles.length + step.arrays.length === 0) break
        const akeys: AkeyUpdate[] = []
        const seq = model.seq + 1
        const pendingOps: (() => void)[] = []
        for (const s of step.singles) {
          const value = pattern(opNumber, s.len)
          akeys.push({ type: 'single', akey: enc(s.akey), value })
          pendingOps.push(() => model.add({ kind: 'single', id: model.nextId++, epoch: step.epoch, seq, oid: step.oid, dkey: step.dkey, akey: s.akey, value }))
        }
        for (const a of step.arrays) {
          const sorted = [...a.extents].sort((x, y) => x.index - y.index)
          const extents: { index: number; count: number; hole: boolean }[] = []
          for (const e of sorted) {
            const last = extents[extents.length - 1]
            if (last === undefined || e.index >= last.index + last.count) extents.push(e)
          }
          const updates = extents.map((e, i) => ({ index: e.index, count: e.count, data: e.hole ? undefined : pattern(opNumber * 7 + i, e.count * recordSize) }))
          akeys.push({ type: 'array', akey: enc(a.akey), recordSizeBytes: recordSize, extents: updates })
          for (const u of updates) pendingOps.push(() => model.add({ kind: 'extent', id: model.nextId++, epoch: step.epoch, seq, oid: step.oid, dkey: step.dkey, akey: a.akey, lo: u.index, hi: u.index + u.count, data: u.data }))
        }
        const expected = step.epoch <= model.aggregated ? 'DER_TX_RESTART' : undefined
        const got = await errorName(() => vos.update(cont, step.oid, step.epoch, enc(step.dkey), akeys))
        same(got, expected, where)
        if (got === undefined) {
          model.seq = seq
          for (const p of pendingOps) p()
        }
        break
      }
      case 'punch': {
        const expected = step.epoch <= model.aggregated ? 'DER_TX_RESTART' : undefined
        const dkey = step.dkey
        const got = await errorName(() =>
          dkey === undefined ? vos.punchObject(cont, step.oid, step.epoch) : step.akeys === undefined ? vos.punchDkey(cont, step.oid, step.epoch, enc(dkey)) : vos.punchAkeys(cont, step.oid, step.epoch, enc(dkey), step.akeys.map(enc)),
        )
        same(got, expected, where)
        if (got === undefined) {
          const seq = ++model.seq
          if (dkey === undefined || step.akeys === undefined) model.add({ kind: 'punch', id: model.nextId++, epoch: step.epoch, seq, oid: step.oid, dkey, akey: undefined })
          else for (const akey of step.akeys) model.add({ kind: 'punch', id: model.nextId++, epoch: step.epoch, seq, oid: step.oid, dkey, akey })
        }
        break
      }
      case 'fetch': {
        if (!model.isSafe(step.epoch)) break
        const recxs: Recx[] = step.recxs.map((r) => ({ index: r.index, count: r.count }))
        const results = await vos.fetch(cont, step.oid, step.epoch, enc(step.dkey), [...singleAkeys.map((akey) => ({ type: 'single' as const, akey: enc(akey) })), ...arrayAkeys.map((akey) => ({ type: 'array' as const, akey: enc(akey), extents: recxs }))])
        for (const r of results) {
          const akey = dec(r.akey)
          if (r.type === 'single') {
            const m = model.single(step.oid, step.dkey, akey, step.epoch)
            same({ value: r.value === undefined ? undefined : [...r.value], epoch: r.epoch }, { value: m.value === undefined ? undefined : [...m.value], epoch: m.epoch }, `${where} akey ${akey}`)
          } else {
            const m = model.array(step.oid, step.dkey, akey, step.epoch, recxs)
            same(r.holes, m.holes, `${where} akey ${akey} holes`)
            if (r.recordSizeBytes !== 0) same([...r.data], [...m.data], `${where} akey ${akey} data`)
            else same(m.any, false, `${where} akey ${akey}: VOS has no array, model has data`)
          }
        }
        break
      }
      case 'list': {
        if (!model.isSafe(step.epoch)) break
        const collect = <T>(page: (anchor: Parameters<typeof vos.listDkeys>[3]) => { items: T[]; anchor: Parameters<typeof vos.listDkeys>[3] }): T[] => {
          const out: T[] = []
          let anchor: Parameters<typeof vos.listDkeys>[3]
          for (let guard = 0; guard < 1000; guard++) {
            const p = page(anchor)
            if (p.items.length > step.limit) expect(p.items.length, where).toBeLessThanOrEqual(step.limit)
            out.push(...p.items)
            anchor = p.anchor
            if (anchor === undefined) return out
          }
          throw new Error(`${where}: enumeration does not end`)
        }
        const objects = collect((a) => vos.listObjects(cont, step.epoch, a, step.limit))
        same(objects, model.objects(step.epoch, oids, dkeys, allAkeys), `${where} objects`)
        const dk = collect((a) => vos.listDkeys(cont, step.oid, step.epoch, a, step.limit)).map(dec)
        same(dk, model.dkeys(step.oid, step.epoch, dkeys, allAkeys), `${where} dkeys`)
        const ak = collect((a) => vos.listAkeys(cont, step.oid, step.epoch, enc(step.dkey), a, step.limit)).map(dec)
        same(ak, model.akeys(step.oid, step.dkey, step.epoch, allAkeys), `${where} akeys`)
        const ext = collect((a) => vos.listExtents(cont, step.oid, step.epoch, enc(step.dkey), enc(step.akey), a, step.limit))
        const modelExt = model.extents(step.oid, step.dkey, step.akey, step.epoch)
        same(ext, modelExt, `${where} extents`)
        const maxDkey = vos.queryKey(cont, step.oid, step.epoch, 'max').dkey
        same(maxDkey === undefined ? undefined : dec(maxDkey), dk[dk.length - 1], `${where} max dkey`)
        const minAkey = vos.queryKey(cont, step.oid, step.epoch, 'min', enc(step.dkey)).akey
        same(minAkey === undefined ? undefined : dec(minAkey), ak[0], `${where} min akey`)
        const maxRecx = vos.queryKey(cont, step.oid, step.epoch, 'max', enc(step.dkey), enc(step.akey)).recx
        same(maxRecx, modelExt[modelExt.length - 1], `${where} max recx`)
        break
      }
      case 'aggregate':
        await vos.aggregate(cont, step.epoch)
        model.aggregate(step.epoch)
        break
      case 'discard': {
        const hi = step.lo + step.span
        const expected = step.lo <= model.aggregated ? 'DER_INVAL' : undefined
        const got = await errorName(() => vos.discard(cont, step.lo, hi))
        same(got, expected, where)
        if (got === undefined) model.discard(step.lo, hi)
        break
      }
      case 'snapshot': {
        const expected = step.epoch <= model.aggregated ? 'DER_INVAL' : model.snapshots.includes(step.epoch) ? 'DER_EXIST' : undefined
        const got = await errorName(() => vos.createSnapshot(cont, step.epoch))
        same(got, expected, where)
        if (got === undefined) model.snapshots.push(step.epoch)
        same(vos.listSnapshots(cont), [...model.snapshots].sort((a, b) => (a < b ? -1 : 1)), where)
        break
      }
      case 'snapshotDestroy': {
        const snap = model.snapshots[step.pick % Math.max(1, model.snapshots.length)]
        if (snap === undefined) break
        await vos.destroySnapshot(cont, snap)
        model.snapshots = model.snapshots.filter((s) => s !== snap)
        break
      }
      case 'dtx': {
        // A prepared write: readers that meet it are told to wait, a conflicting writer too;
        // then it is committed (visible from then on, as an ordinary write) or aborted (gone).
        const id = `tx-${n}-${opNumber}`
        const value = pattern(opNumber, step.len)
        const akey = enc(step.akey)
        const expected = step.epoch <= model.aggregated ? 'DER_TX_RESTART' : undefined
        const got = await errorName(() => vos.update(cont, step.oid, step.epoch, enc(step.dkey), [{ type: 'single', akey, value }], { dtxId: id }))
        same(got, expected, where)
        if (got !== undefined) break
        const seq = ++model.seq
        const meets = !model.hasNewer(step.oid, step.dkey, step.akey, step.epoch)
        const read = await errorName(() => vos.fetch(cont, step.oid, vosEpochMax, enc(step.dkey), [{ type: 'single', akey }]))
        same(read, meets ? 'DER_INPROGRESS' : undefined, `${where} read of a prepared write`)
        same(await errorName(() => vos.update(cont, step.oid, vosEpochMax - 1n, enc(step.dkey), [{ type: 'single', akey, value }])), 'DER_INPROGRESS', `${where} conflicting writer`)
        if (step.commit) {
          await vos.commitDtx(id)
          model.add({ kind: 'single', id: model.nextId++, epoch: step.epoch, seq, oid: step.oid, dkey: step.dkey, akey: step.akey, value })
        } else await vos.abortDtx(id)
        break
      }
      case 'reopen': {
        if (storage === undefined) break
        await vos.close()
        vos = await Vos.open({ ...options, storage })
        break
      }
    }
  }
  if (storage !== undefined) {
    // Whatever was acknowledged survives a power cut that loses every unsynced write.
    await vos.flush()
    storage = { wal: (storage.wal as MemoryBlobIo).powerCut(), meta: (storage.meta as MemoryBlobIo).powerCut(), data: (storage.data as MemoryBlobIo).powerCut() }
    const reopened = await Vos.open({ ...options, storage })
    for (const oid of oids) {
      for (const dkey of dkeys) {
        const before = await vos.fetch(cont, oid, vosEpochMax, enc(dkey), singleAkeys.map((akey) => ({ type: 'single' as const, akey: enc(akey) })))
        const after = await reopened.fetch(cont, oid, vosEpochMax, enc(dkey), singleAkeys.map((akey) => ({ type: 'single' as const, akey: enc(akey) })))
        expect(after).toEqual(before)
      }
    }
  }
}

