import { Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { DispatchQueue, Tag, decodeBanner, decodeFrame, decodeMessageHeader, encodeBanner, encodeFrame, encodeFrameParts, encodeMessageHeader, featureRevision1, parseEntityName, formatEntityName } from '../src/index.ts'
import type { ReceivedMessage } from '../src/index.ts'
import { encodeFramePartsInPlace, frameLength } from '../src/frame.ts'
import { messageHeaderBytes, writeMessageHeader } from '../src/message.ts'

const seed = Number(process.env.X_SEED ?? 5)

describe('frames', () => {
  it('round-trip with 1..4 segments, trailing empty segments dropped', () => {
    const segments = [new Uint8Array([1, 2, 3]), new Uint8Array(100).fill(9), new Uint8Array(0), new Uint8Array(5000).fill(4)]
    const frame = decodeFrame(encodeFrame(Tag.message, segments), 1 << 20)
    expect(frame.tag).toBe(Tag.message)
    expect(frame.segments.map((s) => s.length)).toEqual([3, 100, 0, 5000])
    const short = encodeFrame(Tag.ack, [new Uint8Array(8), new Uint8Array(0)])
    expect(decodeFrame(short, 100).segments).toHaveLength(1)
    expect(short.length).toBe(32 + 8 + 4)
  })

  it('detect a flipped bit anywhere as DER_CSUM or DER_PROTO, never deliver it', () => {
    const bytes = encodeFrame(Tag.message, [new Uint8Array(41).fill(1), new Uint8Array(30).fill(2), new Uint8Array(10).fill(3), new Uint8Array(50).fill(4)])
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 7]) {
        const copy = bytes.slice()
        copy[i] = (copy[i] as number) ^ (1 << bit)
        let error: unknown
        try {
          decodeFrame(copy, 1 << 20)
        } catch (e) {
          error = e
        }
        expect(isDerError(error, 'DER_CSUM') || isDerError(error, 'DER_PROTO'), `byte ${i} bit ${bit}`).toBe(true)
      }
    }
  })

  it('gather-list encoding equals the contiguous one; crcData=false skips only the data crc', () => {
    const segments = [new Uint8Array(41).fill(1), new Uint8Array(30).fill(2), new Uint8Array(0), new Uint8Array(500).fill(4)]
    expect(Buffer.concat(encodeFrameParts(Tag.message, segments))).toEqual(Buffer.from(encodeFrame(Tag.message, segments)))
    const unchecked = encodeFrame(Tag.message, segments, false)
    expect(decodeFrame(unchecked, 1 << 20).segments[3]?.length).toBe(500)
    const dataFlipped = unchecked.slice()
    dataFlipped[32 + 41 + 4 + 30 + 10] = 99
    expect(decodeFrame(dataFlipped, 1 << 20).segments[3]?.[10]).toBe(99)
    const frontFlipped = unchecked.slice()
    frontFlipped[32 + 41 + 4 + 3] = 99
    expect(() => decodeFrame(frontFlipped, 1 << 20)).toThrow(expect.objectContaining({ name: 'DER_CSUM' }))
  })

  it('message frames written in place keep the wire bytes (golden, crcData on and off)', () => {
    const header = { seq: 0x1_0000_0005n, tid: 7n, type: 3, priority: 127, version: 2, ackSeq: 4n, flags: 0, compatVersion: 1 }
    const front = new Uint8Array([1, 2, 3])
    const data = new Uint8Array([9, 8, 7, 6, 5])
    const golden = {
      crc: '1104290000000800030000000800000000000800050000000010000039a19daa0500000001000000070000000000000003007f000200000000000000040000000000000000010000005d069c5701020309080706050e1ef230f100000000a9508e66',
      noDataCrc: '1104290000000800030000000800000000000800050000000010000039a19daa0500000001000000070000000000000003007f000200000000000000040000000000000000010000005d069c5701020309080706052e1ef230f10000000000000000',
    }
    for (const crcData of [true, false]) {
      const want = crcData ? golden.crc : golden.noDataCrc
      const contiguous = encodeFrame(Tag.message, [encodeMessageHeader(header), front, new Uint8Array(0), data], crcData)
      expect(Buffer.from(contiguous).toString('hex')).toBe(want)
      const inPlace = encodeFramePartsInPlace(Tag.message, messageHeaderBytes, writeMessageHeader, header, front, new Uint8Array(0), data, crcData)
      expect(Buffer.concat(inPlace).toString('hex')).toBe(want)
      const decoded = decodeFrame(Buffer.concat(inPlace), 1 << 20)
      expect(decodeMessageHeader(decoded.segments[0] as Uint8Array)).toEqual(header)
      expect(decoded.segments.map((s) => s.length)).toEqual([41, 3, 0, 5])
    }
    // Fewer segments: trailing empty ones are dropped, as encodeFrameParts does.
    for (const [f, m, d] of [[front, new Uint8Array(0), new Uint8Array(0)], [front, data, new Uint8Array(0)], [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]] as const) {
      const inPlace = Buffer.concat(encodeFramePartsInPlace(Tag.message, messageHeaderBytes, writeMessageHeader, header, f, m, d))
      expect(inPlace.toString('hex')).toBe(Buffer.from(encodeFrame(Tag.message, [encodeMessageHeader(header), f, m, d])).toString('hex'))
    }
  })

  it('frames sent back to back split by their preambles; a cut or corrupt run fails typed', () => {
    const random = new Random(seed)
    const frames = Array.from({ length: 20 }, (_, i) =>
      encodeFrame(Tag.message, [new Uint8Array(41).fill(i), random.bytes(random.int(300)), new Uint8Array(0), random.bytes(random.int(3) * 2000)]),
    )
    const run = Buffer.concat(frames)
    const split: number[] = []
    for (let at = 0; at < run.length; ) {
      const length = frameLength(run, at)
      const frame = decodeFrame(run.subarray(at, at + length), 1 << 20)
      split.push(frame.segments[0]?.[0] as number)
      at += length
    }
    expect(split, `seed ${seed}`).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const cut = run.subarray(0, run.length - 7)
    const last = cut.length - (frames[19]?.length as number) + 7
    expect(() => decodeFrame(cut.subarray(last, last + frameLength(cut, last)), 1 << 20)).toThrow(/preamble says/)
  })

  it('refuse oversized segments and random bytes with typed errors (fuzz)', () => {
    expect(() => decodeFrame(encodeFrame(Tag.message, [new Uint8Array(10), new Uint8Array(2000)]), 1000)).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
    const random = new Random(seed)
    for (let i = 0; i < 5000; i++) {
      const bytes = random.bytes(random.int(200))
      if (random.chance(0.3) && bytes.length >= 32) bytes.set(encodeFrame(random.int(30), [random.bytes(random.int(20))]).subarray(0, 32))
      try {
        decodeFrame(bytes, 1 << 16)
      } catch (error) {
        expect(isDerError(error), `seed ${seed} case ${i}: ${String(error)}`).toBe(true)
      }
    }
  })

  it('banner: accepts ours, rejects a wrong magic or missing required features', () => {
    expect(decodeBanner(encodeBanner(1n, 0n), featureRevision1)).toEqual({ supported: 1n, required: 0n })
    const wrong = encodeBanner(1n, 0n)
    wrong[0] = 0x58
    expect(() => decodeBanner(wrong, featureRevision1)).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
    expect(() => decodeBanner(encodeBanner(3n, 2n), featureRevision1)).toThrow(/requires features 0x2/)
    expect(() => decodeBanner(new Uint8Array(3), featureRevision1)).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
  })

  it('message header: 41 bytes, round-trips', () => {
    const header = { seq: 7n, tid: 99n, type: 42, priority: 196, version: 2, ackSeq: 5n, flags: 1, compatVersion: 1 }
    const bytes = encodeMessageHeader(header)
    expect(bytes.length).toBe(41)
    expect(decodeMessageHeader(bytes)).toEqual(header)
    expect(() => decodeMessageHeader(bytes.subarray(1))).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
  })
})

describe('entity names', () => {
  it('parse and format client.4123, engine.3, mon.a; reject the rest', () => {
    for (const text of ['client.4123', 'engine.3', 'mon.a', 'osd.0', 'mgr.x-1']) expect(formatEntityName(parseEntityName(text))).toBe(text)
    for (const bad of ['client', '.1', 'disk.1', 'client.', 'client.a b', `client.${'x'.repeat(65)}`]) {
      expect(() => parseEntityName(bad), bad).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    }
  })
})

describe('dispatch queue', () => {
  it('pops higher priorities first and keeps arrival order within one', () => {
    const queue = new DispatchQueue()
    const make = (priority: number, seq: number) => ({ priority, seq: BigInt(seq) }) as unknown as ReceivedMessage
    const input: [number, number][] = [[64, 1], [196, 2], [127, 3], [196, 4], [64, 5], [255, 6], [127, 7]]
    for (const [priority, seq] of input) queue.push(make(priority, seq), () => {})
    const order: number[] = []
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) order.push(Number(next.message.seq))
    expect(order).toEqual([6, 2, 4, 3, 7, 1, 5])
  })
})
