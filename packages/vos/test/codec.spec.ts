import fc from 'fast-check'
import { Decoder, Encoder, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { MemoryBlobIo, type Mutation, VosIndex, decodeIndex, decodeMutation, defaultVosLimits, encodeIndex, encodeMutation, encodeWalGroup, readCheckpoint, scanWal, walBlockBytes } from '../src/index.ts'

const seed = process.env.X_SEED === undefined ? undefined : Number(process.env.X_SEED)
const cont = '00000000-0000-4000-8000-0000000000dd'

const sample: Mutation[] = [
  { type: 'containerCreate', cont, csum: 'crc32c' },
  { type: 'containerCreate', cont: '00000000-0000-4000-8000-0000000000de', csum: 'none' },
  {
    type: 'update',
    cont,
    oid: (1n << 100n) + 5n,
    epoch: 42n,
    seq: 1,
    dkey: new Uint8Array([1, 2]),
    dtx: 'tx',
    akeys: [
      { type: 'single', akey: new Uint8Array([3]), data: { ref: { kind: 'inline', bytes: new Uint8Array([9, 9]) }, lengthBytes: 2, csums: [123] } },
      { type: 'array', akey: new Uint8Array([4]), recordSizeBytes: 8, extents: [{ lo: 0, hi: 4, data: { ref: { kind: 'blob', offsetBytes: 8192, allocatedBytes: 4096 }, lengthBytes: 32, csums: [7] } }, { lo: 9, hi: 12, data: undefined }] },
    ],
  },
  { type: 'punch', cont, oid: 3n, epoch: 50n, seq: 2, dkey: new Uint8Array([1]), akeys: [new Uint8Array([2])], dtx: undefined },
  { type: 'aggregate', cont, epoch: 60n },
  { type: 'discard', cont, lo: 70n, hi: 80n },
  { type: 'dtxCommit', id: 'tx' },
]

function encodeAll(ms: readonly Mutation[]): Uint8Array {
  const e = new Encoder()
  for (const m of ms) encodeMutation(e, m)
  return e.finish()
}

describe('codecs', () => {
  it('round-trips mutations and an index image', () => {
    const bytes = encodeAll(sample)
    const d = new Decoder(bytes)
    for (const m of sample) expect(decodeMutation(d)).toEqual(m)
    d.expectEnd()
    const index = new VosIndex(defaultVosLimits)
    index.apply(sample[0] as Mutation)
    index.apply(sample[1] as Mutation)
    index.apply(sample[2] as Mutation)
    index.apply(sample[3] as Mutation)
    const e = new Encoder()
    encodeIndex(e, index)
    const image = e.finish()
    const copy = decodeIndex(new Decoder(image), new VosIndex(defaultVosLimits))
    const again = new Encoder()
    encodeIndex(again, copy)
    expect(again.finish()).toEqual(image)
    expect(copy.usedBytes).toBe(index.usedBytes)
    expect([...copy.dtxActive.keys()]).toEqual(['tx'])
  })

  it('decoders refuse mutated and random input with DecodeError only (fuzz)', () => {
    const good = encodeAll(sample)
    const index = new VosIndex(defaultVosLimits)
    for (const m of sample.slice(0, 4)) index.apply(m)
    const e = new Encoder()
    encodeIndex(e, index)
    const image = e.finish()
    fc.assert(
      fc.property(fc.constantFrom(good, image), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (base, edits, cut) => {
        const bytes = base.slice(0, Math.max(1, base.length - (cut % 8)))
        for (const [at, v] of edits) bytes[at % bytes.length] = v
        for (const decode of [() => decodeMutation(new Decoder(bytes)), () => decodeIndex(new Decoder(bytes), new VosIndex(defaultVosLimits))]) {
          try {
            decode()
          } catch (error) {
            if (!isDerError(error)) throw error
          }
        }
      }),
      { numRuns: 2000, seed },
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeMutation(new Decoder(bytes))
        } catch (error) {
          if (!isDerError(error)) throw error
        }
      }),
      { numRuns: 2000, seed },
    )
  })

  it('scanWal and readCheckpoint give typed errors or clean results on random blobs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 4 * walBlockBytes, maxLength: 4 * walBlockBytes }), fc.nat(), async (junk, n) => {
        const blob = new MemoryBlobIo(4 * walBlockBytes)
        await blob.write(0, junk)
        await blob.write(walBlockBytes * (n % 3), encodeWalGroup(1 + (n % 2), new Uint8Array([1, 2, 3])))
        await blob.sync()
        for (const run of [() => scanWal(blob, 1), () => readCheckpoint(blob)]) {
          try {
            await run()
          } catch (error) {
            if (!isDerError(error)) throw error
          }
        }
      }),
      { numRuns: 200, seed },
    )
  })
})
