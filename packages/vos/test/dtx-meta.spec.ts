import { Decoder, Encoder, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { MemoryBlobIo, Vos, decodeMutation, encodeMutation, vosDtxMetaMaxBytes } from '../src/index.ts'

const cont = '11111111-2222-4333-8444-555555555555'
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

function blobs(): { wal: MemoryBlobIo; meta: MemoryBlobIo; data: MemoryBlobIo } {
  return { wal: new MemoryBlobIo(64 * 1024), meta: new MemoryBlobIo(64 * 1024), data: new MemoryBlobIo(256 * 1024) }
}

describe('DTX meta (kept with a prepared DTX across restarts)', () => {
  it('survives WAL replay and a checkpoint, and goes when the DTX finishes', async () => {
    const storage = blobs()
    const vos = await Vos.create({ storage })
    await vos.createContainer(cont)
    await vos.update(cont, 1n, 5n, bytes('d'), [{ type: 'single', akey: bytes('a'), value: bytes('v') }], { dtxId: 'u#0', dtxMeta: bytes('leader-1') })
    await vos.punchDkey(cont, 1n, 6n, bytes('e'), { dtxId: 'p#0', dtxMeta: bytes('leader-2') })
    await vos.update(cont, 1n, 7n, bytes('f'), [{ type: 'single', akey: bytes('a'), value: bytes('w') }], { dtxId: 'n#0' })
    expect(new TextDecoder().decode(vos.dtxMeta('u#0'))).toBe('leader-1')
    // WAL replay.
    const replayed = await Vos.open({ storage })
    expect(new TextDecoder().decode(replayed.dtxMeta('u#0'))).toBe('leader-1')
    expect(new TextDecoder().decode(replayed.dtxMeta('p#0'))).toBe('leader-2')
    expect(replayed.dtxMeta('n#0')).toBeUndefined()
    // Checkpoint image.
    await replayed.checkpoint()
    const loaded = await Vos.open({ storage })
    expect(new TextDecoder().decode(loaded.dtxMeta('p#0'))).toBe('leader-2')
    expect(loaded.listPreparedDtx().sort()).toEqual(['n#0', 'p#0', 'u#0'])
    await loaded.commitDtx('u#0')
    await loaded.abortDtx('p#0')
    expect(loaded.dtxMeta('u#0')).toBeUndefined()
    await loaded.checkpoint()
    const again = await Vos.open({ storage })
    expect(again.dtxMeta('p#0')).toBeUndefined()
    expect(again.dtxState('u#0')).toBe('committed')
  })

  it('rejects meta without a DTX or too large, with no state change', async () => {
    const vos = await Vos.create()
    await vos.createContainer(cont)
    const write = (opts: { dtxId?: string; dtxMeta?: Uint8Array }): Promise<void> => vos.update(cont, 1n, 5n, bytes('d'), [{ type: 'single', akey: bytes('a'), value: bytes('v') }], opts)
    await expect(write({ dtxMeta: bytes('x') })).rejects.toSatisfy((e) => isDerError(e, 'DER_INVAL'))
    await expect(write({ dtxId: 'x#0', dtxMeta: new Uint8Array(vosDtxMetaMaxBytes + 1) })).rejects.toSatisfy((e) => isDerError(e, 'DER_INVAL'))
    expect(vos.listPreparedDtx()).toEqual([])
  })

  it('mutations without meta keep the version 1 encoding; with meta they round-trip', () => {
    const m = { type: 'punch', cont, oid: 3n, epoch: 9n, seq: 1, dkey: bytes('k'), akeys: undefined, dtx: 'i#0' } as const
    const v1 = new Encoder()
    encodeMutation(v1, m)
    expect(v1.finish()[0]).toBe(1)
    const v2 = new Encoder()
    encodeMutation(v2, { ...m, dtxMeta: bytes('meta') })
    const encoded = v2.finish()
    expect(encoded[0]).toBe(2)
    const back = decodeMutation(new Decoder(encoded))
    expect(back.type === 'punch' && new TextDecoder().decode(back.dtxMeta)).toBe('meta')
  })
})
