/**
 * Hybrid logical clock timestamps: 64 bits, the physical wall-clock milliseconds in the high 48
 * bits and a logical counter in the low 16. They order events like Lamport clocks and stay close
 * to real time, and they never go backwards, even when the wall clock does.
 *
 * @module
 */
import { assert } from '../assert.ts'
import { DerError } from '../errors/der-error.ts'
import type { Clock } from '../runtime/runtime.ts'

/** An HLC timestamp (64-bit unsigned). */
export type HlcTimestamp = bigint

/** Bits of the logical counter. */
export const hlcLogicalBits = 16n
const logicalMask = (1n << hlcLogicalBits) - 1n

/** The timestamp of wall-clock `physicalMs` with logical counter `logical`. */
export function hlcFrom(physicalMs: number, logical = 0): HlcTimestamp {
  assert(Number.isSafeInteger(physicalMs) && physicalMs >= 0, `hlcFrom(): bad physicalMs ${physicalMs}`)
  assert(Number.isInteger(logical) && logical >= 0 && BigInt(logical) <= logicalMask, `hlcFrom(): bad logical ${logical}`)
  return (BigInt(physicalMs) << hlcLogicalBits) | BigInt(logical)
}

/** The wall-clock milliseconds of a timestamp. */
export function hlcPhysicalMs(timestamp: HlcTimestamp): number {
  return Number(timestamp >> hlcLogicalBits)
}

/** The logical counter of a timestamp. */
export function hlcLogical(timestamp: HlcTimestamp): number {
  return Number(timestamp & logicalMask)
}

/** Options of {@link HybridLogicalClock}. */
export interface HlcOptions {
  /**
   * The largest amount a received timestamp may be ahead of the local wall clock (DAOS's
   * epsilon; default 1,000 ms). A timestamp further ahead is refused with `DER_HLC_SYNC`.
   */
  readonly maxDriftMs?: number
}

/** A hybrid logical clock over a {@link Clock}'s wall time. */
export class HybridLogicalClock {
  private lastTimestamp: HlcTimestamp = 0n
  private readonly maxDriftMs: number

  constructor(
    private readonly clock: Clock,
    options: HlcOptions = {},
  ) {
    this.maxDriftMs = options.maxDriftMs ?? 1000
    assert(this.maxDriftMs >= 0, 'maxDriftMs must be >= 0')
  }

  /** The last timestamp this clock issued or merged. */
  get last(): HlcTimestamp {
    return this.lastTimestamp
  }

  /** A new timestamp, greater than every one this clock issued or merged before. */
  now(): HlcTimestamp {
    const physical = hlcFrom(Math.max(0, Math.floor(this.clock.realtimeMs())))
    this.lastTimestamp = physical > this.lastTimestamp ? physical : this.lastTimestamp + 1n
    return this.lastTimestamp
  }

  /**
   * Merges a timestamp received from a peer and returns a new local timestamp above both. Throws
   * `DER_HLC_SYNC` (changing nothing) when `received` is more than `maxDriftMs` ahead of the local
   * wall clock.
   */
  update(received: HlcTimestamp): HlcTimestamp {
    const localMs = Math.floor(this.clock.realtimeMs())
    const aheadMs = hlcPhysicalMs(received) - localMs
    if (aheadMs > this.maxDriftMs) {
      throw new DerError('DER_HLC_SYNC', `received timestamp is ${aheadMs} ms ahead of the local clock (limit ${this.maxDriftMs} ms)`, {
        details: { received: received.toString(), localMs, maxDriftMs: this.maxDriftMs },
      })
    }
    if (received > this.lastTimestamp) this.lastTimestamp = received
    return this.now()
  }
}
