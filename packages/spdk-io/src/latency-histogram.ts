/**
 * A bounded latency histogram with exponential bucket bounds in microseconds.
 *
 * @module
 */
import type { LatencyHistogramSnapshot } from './block-device.ts'

/** Default bucket bounds: 1 µs doubling up to about 33 s, then an unbounded bucket. */
export const defaultLatencyBoundsUs: readonly number[] = [...Array.from({ length: 26 }, (_, i) => 2 ** i), Infinity]

/** Counts latencies into fixed buckets; memory does not grow with the number of observations. */
export class LatencyHistogram {
  private readonly counts: number[]
  private count = 0
  private sumUs = 0
  private maxUs = 0

  private readonly powersOfTwo: boolean

  constructor(private readonly boundsUs: readonly number[] = defaultLatencyBoundsUs) {
    this.counts = new Array<number>(boundsUs.length).fill(0)
    this.powersOfTwo = boundsUs.every((bound, i) => bound === 2 ** i || (i === boundsUs.length - 1 && bound === Infinity))
  }

  /** Records one latency in microseconds. */
  observe(latencyUs: number): void {
    const value = latencyUs > 0 ? latencyUs : 0
    let index = this.powersOfTwo && value > 1 ? Math.min(Math.ceil(Math.log2(value)), this.boundsUs.length - 1) : 0
    // Exact for any bounds: step to the first bucket whose bound is >= value.
    while (index > 0 && value <= (this.boundsUs[index - 1] ?? 0)) index--
    while (index < this.boundsUs.length - 1 && value > (this.boundsUs[index] ?? Infinity)) index++
    this.counts[index] = (this.counts[index] ?? 0) + 1
    this.count++
    this.sumUs += value
    if (value > this.maxUs) this.maxUs = value
  }

  /** A copy of the current state. */
  snapshot(): LatencyHistogramSnapshot {
    return { boundsUs: this.boundsUs, counts: [...this.counts], count: this.count, sumUs: this.sumUs, maxUs: this.maxUs }
  }

  /** The latency (upper bucket bound, µs) below which fraction `p` (0..1) of observations fall. */
  static percentileUs(snapshot: LatencyHistogramSnapshot, p: number): number {
    if (snapshot.count === 0) return 0
    const target = Math.max(1, Math.ceil(p * snapshot.count))
    let seen = 0
    for (let i = 0; i < snapshot.counts.length; i++) {
      seen += snapshot.counts[i] ?? 0
      if (seen >= target) return Math.min(snapshot.boundsUs[i] ?? Infinity, snapshot.maxUs)
    }
    return snapshot.maxUs
  }
}
