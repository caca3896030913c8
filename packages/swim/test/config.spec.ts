import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import {
  daosProfile,
  detectionBoundMs,
  lanProfile,
  resolveSwimConfig,
  retransmitLimit,
  suspicionConfirmationsNeeded,
  suspicionMaxTimeoutMs,
  suspicionMinTimeoutMs,
  swimProfiles,
  type SwimConfigInput,
  type SwimProfileName,
} from '../src/index.ts'

describe('profiles', () => {
  it('every built-in profile passes its own validation', () => {
    for (const name of Object.keys(swimProfiles) as SwimProfileName[]) {
      const config = resolveSwimConfig({}, name)
      expect(config).toEqual(swimProfiles[name])
      expect(Object.isFrozen(config)).toBe(true)
    }
  })

  it('the DAOS profile carries CaRT SWIM defaults', () => {
    const config = resolveSwimConfig({}, 'daos')
    expect(config).toMatchObject({ probeIntervalMs: 1000, probeTimeoutMs: 900, indirectChecks: 2, suspicionTimeoutMs: 20_000, maxPiggybackUpdates: 8, outageGuard: true })
    expect(suspicionMinTimeoutMs(config, 256)).toBe(20_000)
    expect(suspicionMaxTimeoutMs(config, 256)).toBe(20_000)
    expect(detectionBoundMs(config, 64)).toBe(1000 + 900 + 900 + 20_000)
  })

  it('WAN and local override only what differs from LAN', () => {
    expect(swimProfiles.wan).toMatchObject({ probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6, indirectChecks: 3 })
    expect(swimProfiles.local).toMatchObject({ probeIntervalMs: 1000, probeTimeoutMs: 200, indirectChecks: 1, suspicionMult: 3, retransmitMult: 2 })
  })

  it('overrides apply field by field, lifeguard too', () => {
    const config = resolveSwimConfig({ probeIntervalMs: 2000, lifeguard: { buddySystem: false } }, 'lan')
    expect(config.probeIntervalMs).toBe(2000)
    expect(config.lifeguard).toEqual({ localHealthAwareness: true, dynamicSuspicion: true, buddySystem: false })
  })
})

describe('formulas', () => {
  it.each([
    [4, 1, 4],
    [4, 9, 4],
    [4, 10, 8],
    [4, 64, 8],
    [4, 256, 12],
    [2, 999, 6],
  ])('retransmitLimit(%i, n=%i) = %i = mult * ceil(log10(n + 1))', (mult, n, expected) => {
    expect(retransmitLimit(mult, n)).toBe(expected)
  })

  it.each([
    [1, 4000, 24_000],
    [10, 4000, 24_000],
    [100, 8000, 48_000],
    [1000, 12_000, 72_000],
  ])('LAN suspicion bounds at n=%i: min %i, max %i', (n, min, max) => {
    expect(suspicionMinTimeoutMs(lanProfile, n)).toBe(min)
    expect(suspicionMaxTimeoutMs(lanProfile, n)).toBe(max)
  })

  it('expects suspicionMult - 2 confirmations, none in groups too small to give them', () => {
    expect(suspicionConfirmationsNeeded(lanProfile, 64)).toBe(2)
    expect(suspicionConfirmationsNeeded(lanProfile, 3)).toBe(0)
    expect(suspicionConfirmationsNeeded(swimProfiles.local, 64)).toBe(1)
    expect(suspicionConfirmationsNeeded(daosProfile, 4)).toBe(2)
  })
})

describe('validation', () => {
  const bad: [string, SwimConfigInput, RegExp][] = [
    ['unknown field', { probeIntervalMillis: 5 } as unknown as SwimConfigInput, /unknown field 'probeIntervalMillis'/],
    ['zero period', { probeIntervalMs: 0 }, /probeIntervalMs must be an integer/],
    ['fractional timeout', { probeTimeoutMs: 1.5 }, /probeTimeoutMs must be an integer/],
    ['NaN', { indirectChecks: Number.NaN }, /indirectChecks/],
    ['string', { retransmitMult: '4' as unknown as number }, /retransmitMult/],
    ['negative fanout', { gossipFanout: -1 }, /gossipFanout/],
    ['timeout not below period', { probeIntervalMs: 1000, probeTimeoutMs: 1000 }, /probeTimeoutMs \(1000\) must be below probeIntervalMs \(1000\)/],
    ['suspicion shorter than a period', { suspicionTimeoutMs: 500 }, /suspicionTimeoutMs \(500\) must be at least one probe interval/],
    ['zero awareness cap', { awarenessMaxMultiplier: 0 }, /awarenessMaxMultiplier/],
    ['outageGuard not boolean', { outageGuard: 'yes' as unknown as boolean }, /outageGuard must be a boolean/],
    ['lifeguard not boolean', { lifeguard: { buddySystem: 1 as unknown as boolean } }, /lifeguard.buddySystem must be a boolean/],
    ['unknown lifeguard field', { lifeguard: { turbo: true } as unknown as SwimConfigInput['lifeguard'] }, /unknown field 'lifeguard.turbo'/],
  ]
  it.each(bad)('refuses %s with DER_INVAL', (_what, input, message) => {
    let caught: unknown
    try {
      resolveSwimConfig(input, 'daos')
    } catch (error) {
      caught = error
    }
    expect(isDerError(caught, 'DER_INVAL'), String(caught)).toBe(true)
    expect((caught as Error).message).toMatch(message)
  })

  it('refuses an unknown profile', () => {
    expect(() => resolveSwimConfig({}, 'mars' as SwimProfileName)).toThrow(/unknown profile 'mars'/)
  })
})
