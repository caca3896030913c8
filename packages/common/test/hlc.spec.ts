import { describe, expect, it } from 'vitest'
import { HybridLogicalClock, VirtualRuntime, hlcFrom, hlcLogical, hlcPhysicalMs, isDerError } from '../src/index.ts'

describe('HybridLogicalClock', () => {
  it('packs physical milliseconds and a logical counter into 64 bits', () => {
    const t = hlcFrom(1_700_000_000_123, 5)
    expect(hlcPhysicalMs(t)).toBe(1_700_000_000_123)
    expect(hlcLogical(t)).toBe(5)
    expect(t < 1n << 64n).toBe(true)
  })

  it('stays monotonic when the wall clock goes backwards, and catches up after', () => {
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 1_000_000 })
    const hlc = new HybridLogicalClock(runtime.clock)
    const seen: bigint[] = [hlc.now(), hlc.now()]
    runtime.clock.stepRealtime(-60_000)
    for (let i = 0; i < 100; i++) {
      seen.push(hlc.now())
      runtime.advanceSync(1)
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true)
    expect(hlcPhysicalMs(seen.at(-1)!)).toBe(1_000_000) // held at the old physical time, counting logically
    runtime.advanceSync(61_000)
    expect(hlcPhysicalMs(hlc.now())).toBeGreaterThan(1_000_000)
  })

  it('merges received timestamps and issues one above both', () => {
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 1_000_000 })
    const hlc = new HybridLogicalClock(runtime.clock)
    const received = hlcFrom(1_000_500, 9)
    const merged = hlc.update(received)
    expect(merged > received).toBe(true)
    expect(hlc.now() > merged).toBe(true)
  })

  it('refuses a timestamp beyond the drift bound with DER_HLC_SYNC and changes nothing', () => {
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 1_000_000 })
    const hlc = new HybridLogicalClock(runtime.clock, { maxDriftMs: 1000 })
    const before = hlc.now()
    let error: unknown
    try {
      hlc.update(hlcFrom(1_002_000))
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_HLC_SYNC')).toBe(true)
    expect(hlc.last).toBe(before)
    expect(() => hlc.update(hlcFrom(1_000_999))).not.toThrow()
  })
})
