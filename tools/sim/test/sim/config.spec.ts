import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { intFlag, parseFlags, profileFlag } from '../../src/cli/args.ts'
import { drawConfig, validateOptions } from '../../src/sim/config.ts'
import { describeEvent, drawSchedule, summarizeSchedule } from '../../src/sim/schedule.ts'

const derCode = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return isDerError(e) ? e.name : `not a DerError: ${String(e)}`
  }
  return undefined
}

describe('simulation configuration', () => {
  it('is drawn from the seed: equal seeds give equal configurations and schedules, others differ', () => {
    for (const seed of [1, 2, 77, 123456]) {
      expect(drawConfig({ seed }), `seed ${seed}`).toEqual(drawConfig({ seed }))
      expect(drawSchedule(drawConfig({ seed })), `seed ${seed}`).toEqual(drawSchedule(drawConfig({ seed })))
    }
    const shapes = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(drawConfig({ seed }))))
    expect(shapes.size).toBe(8)
  })

  it('honours the profile: none injects nothing, each family only its own faults', () => {
    for (const seed of [3, 9, 31]) {
      const none = drawConfig({ seed, faults: 'none' })
      expect(drawSchedule(none), `seed ${seed}`).toEqual([])
      expect(none.network.dropRate + none.network.duplicateRate + none.network.reorderRate).toBe(0)
      const disk = summarizeSchedule(drawSchedule(drawConfig({ seed, faults: 'disk', ticks: 6000 })))
      expect(disk.partitions + disk.crashes + disk.clockChanges, `seed ${seed}`).toBe(0)
      expect(disk.diskWindows, `seed ${seed}`).toBeGreaterThan(0)
      const crash = summarizeSchedule(drawSchedule(drawConfig({ seed, faults: 'crash', ticks: 6000 })))
      expect(crash.partitions + crash.diskWindows, `seed ${seed}`).toBe(0)
      expect(crash.crashes, `seed ${seed}`).toBeGreaterThan(0)
    }
  })

  it('keeps at most one engine down at a time and every event inside the safety phase', () => {
    for (let seed = 0; seed < 200; seed++) {
      const config = drawConfig({ seed, faults: 'all' })
      const events = drawSchedule(config)
      let upAt = 0
      for (const e of events) {
        expect(e.atMs, `seed ${seed}`).toBeLessThan(config.safetyMs)
        expect(describeEvent(e).length).toBeGreaterThan(0)
        if (e.kind !== 'crash') continue
        expect(e.atMs, `seed ${seed}: crash while another engine is down`).toBeGreaterThanOrEqual(upAt)
        upAt = e.atMs + e.downMs
      }
    }
  })

  it('refuses bad options with DER_INVAL and changes nothing', () => {
    expect(derCode(() => validateOptions({ seed: -1 }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1.5 }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1, ticks: 3 }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1, engines: 2 }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1, faults: 'lots' as never }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1, mutation: 'other' as never }))).toBe('DER_INVAL')
    expect(derCode(() => validateOptions({ seed: 1, ticks: 100, engines: 5, faults: 'net' }))).toBeUndefined()
  })

  it('parses command lines strictly', () => {
    const flags = parseFlags(['--seed', '42', '--faults=net', '--json'], { seed: 'value', faults: 'value', json: 'flag' })
    expect(intFlag(flags, 'seed', 0, 100)).toBe(42)
    expect(profileFlag(flags)).toBe('net')
    expect(flags.get('json')).toBe('true')
    expect(derCode(() => parseFlags(['--nope'], { seed: 'value' }))).toBe('DER_INVAL')
    expect(derCode(() => parseFlags(['--seed'], { seed: 'value' }))).toBe('DER_INVAL')
    expect(derCode(() => parseFlags(['seed'], { seed: 'value' }))).toBe('DER_INVAL')
    expect(derCode(() => intFlag(new Map([['seed', '4x']]), 'seed', 0, 10))).toBe('DER_INVAL')
    expect(derCode(() => intFlag(new Map([['seed', '11']]), 'seed', 0, 10))).toBe('DER_INVAL')
    expect(derCode(() => profileFlag(new Map([['faults', 'some']])))).toBe('DER_INVAL')
  })
})
