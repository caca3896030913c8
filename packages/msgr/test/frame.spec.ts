import { Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { DispatchQueue, Tag, decodeBanner, decodeFrame, decodeMessageHeader, encodeBanner, encodeFrame, encodeFrameParts, encodeMessageHeader, featureRevision1, parseEntityName, formatEntityName } from '../src/index.ts'
import type { ReceivedMessage } from '../src/index.ts'

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
