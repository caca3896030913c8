/**
 * `Random`: a seeded, fast, forkable pseudo-random stream (xoshiro128**), identical on every
 * machine for the same seed: all arithmetic is 32-bit integer math.
 *
 * @module
 */
import { assert } from '../assert.ts'

/** A seed: a safe non-negative integer, a bigint, or a string (hashed). */
export type Seed = number | bigint | string

const mask64 = (1n << 64n) - 1n

/** splitmix64, the standard seeder for the xoshiro family. */
function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & mask64
  let z = next
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64
  return { state: next, value: z ^ (z >> 31n) }
}

/** The 64-bit value of a seed: numbers and bigints as they are, strings by FNV-1a 64. */
export function seedToBigInt(seed: Seed): bigint {
  if (typeof seed === 'bigint') return seed & mask64
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a safe non-negative integer, got ${seed}`)
    return BigInt(seed)
  }
  let hash = 0xcbf29ce484222325n
  for (const byte of new TextEncoder().encode(seed)) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & mask64
  }
  return hash
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/**
 * A deterministic random stream. `fork()` derives an independent child stream, so components
 * can each own one without their draws depending on each other's order.
 */
export class Random {
  /** The seed this stream started from (children report their derived seed). */
  readonly seed: bigint
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: Seed) {
    this.seed = seedToBigInt(seed)
    let state = this.seed
    const words: number[] = []
    for (let i = 0; i < 2; i++) {
      const step = splitmix64(state)
      state = step.state
      words.push(Number(step.value & 0xffffffffn), Number(step.value >> 32n))
    }
    ;[this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number]
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1 // the all-zero state is a fixed point
  }

  /**
   * A stream that starts from the raw xoshiro128** state words, for checking the generator
   * against the reference implementation's published outputs.
   */
  static fromState(state: readonly [number, number, number, number]): Random {
    const random = new Random(0)
    ;[random.s0, random.s1, random.s2, random.s3] = state.map((word) => word >>> 0) as [number, number, number, number]
    return random
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 = (this.s2 ^ this.s0) >>> 0
    this.s3 = (this.s3 ^ this.s1) >>> 0
    this.s1 = (this.s1 ^ this.s2) >>> 0
    this.s0 = (this.s0 ^ this.s3) >>> 0
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.uint32() >>> 5 // 27 bits
    const low = this.uint32() >>> 6 // 26 bits
    return (high * 67108864 + low) / 9007199254740992
  }

  /** An integer in [0, maxExclusive), without modulo bias. `maxExclusive` is at most 2^32. */
  int(maxExclusive: number): number {
    assert(Number.isInteger(maxExclusive) && maxExclusive > 0 && maxExclusive <= 0x1_0000_0000, `int(): bad bound ${maxExclusive}`)
    if (maxExclusive === 0x1_0000_0000) return this.uint32()
    // Rejection sampling on the largest multiple of the bound below 2^32.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % maxExclusive)
    for (;;) {
      const value = this.uint32()
      if (value < limit) return value % maxExclusive
    }
  }

  /** An integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number {
    assert(Number.isInteger(min) && Number.isInteger(max) && max >= min, `intBetween(): bad range [${min}, ${max}]`)
    return min + this.int(max - min + 1)
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick(): empty array')
    return items[this.int(items.length)] as T
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const swap = items[i] as T
      items[i] = items[j] as T
      items[j] = swap
    }
    return items
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i += 4) {
      let word = this.uint32()
      for (let j = i; j < Math.min(i + 4, length); j++) {
        out[j] = word & 0xff
        word >>>= 8
      }
    }
    return out
  }

  /** An exponentially distributed value with the given mean (for delays and arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean
  }

  /** An independent child stream whose seed is drawn from this one. */
  fork(): Random {
    const high = BigInt(this.uint32())
    const low = BigInt(this.uint32())
    return new Random((high << 32n) | low)
  }
}
