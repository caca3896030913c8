import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  containerProperties,
  defaultProperties,
  findProperty,
  parseProperties,
  parseProperty,
  poolProperties,
  propertiesFromWire,
  propertiesToWire,
  validateLabel,
} from '../src/index.ts'

const seed = Number(process.env.X_SEED ?? 20261121)

function expectInval(fn: () => unknown, fragment: string): void {
  try {
    fn()
    expect.unreachable(fragment)
  } catch (error) {
    expect(isDerError(error, 'DER_INVAL'), String(error)).toBe(true)
    expect(String(error)).toContain(fragment)
  }
}

describe('properties', () => {
  it('parses pool properties with DAOS names and canonical values', () => {
    const props = parseProperties('pool', 'label:tank,space_rb:10%,ec_cell_sz:64KiB,rd_fac:2,self_heal:rebuild;exclude,reclaim:TIME,svc_ops_enabled:off', { forCreate: true })
    expect(Object.fromEntries(props)).toEqual({ label: 'tank', space_rb: 10, ec_cell_sz: 65536, rd_fac: 2, self_heal: 'exclude;rebuild', reclaim: 'time', svc_ops_enabled: false })
    expect(parseProperty('pool', 'rf', '1')).toEqual({ name: 'rd_fac', value: 1 })
    expect(parseProperty('pool', 'label', 'my:pool.v2_x-1').value).toBe('my:pool.v2_x-1')
  })

  it('parses container properties, including aliases', () => {
    const props = parseProperties('container', 'cksum:crc32,csum_chunk_size:1MiB,srv_cksum:on,rd_fac:rd_fac2,rd_lvl:rank,layout_type:POSIX', { forCreate: true })
    expect(Object.fromEntries(props)).toEqual({ cksum: 'crc32', cksum_size: 1 << 20, srv_cksum: true, rd_fac: 2, rd_lvl: 'rank', layout_type: 'POSIX' })
    expect(findProperty('container', 'csum').name).toBe('cksum')
  })

  it('gives clear errors and refuses what cannot be set', () => {
    expectInval(() => parseProperties('pool', 'bogus:1'), "unknown pool property 'bogus'")
    expectInval(() => parseProperties('pool', 'rd_fac:5'), 'outside 0-4')
    expectInval(() => parseProperties('pool', 'space_rb:101'), 'outside 0-100')
    expectInval(() => parseProperties('pool', 'ec_cell_sz:512'), 'outside 1024-1073741824')
    expectInval(() => parseProperties('pool', 'ec_cell_sz:lots'), 'not a size')
    expectInval(() => parseProperties('pool', 'reclaim:sometimes'), 'not one of disabled, lazy, time')
    expectInval(() => parseProperties('pool', 'self_heal:none;rebuild'), 'cannot be combined')
    expectInval(() => parseProperties('pool', 'global_version:3'), 'read-only')
    expectInval(() => parseProperties('pool', 'svc_rf:1', { forCreate: false }), 'create time')
    expectInval(() => parseProperties('pool', 'label:a,label:b'), 'given twice')
    expectInval(() => parseProperties('pool', 'label'), 'name:value')
    expectInval(() => parseProperties('pool', ''), 'no pool properties')
    expectInval(() => parseProperties('container', 'cksum:md5'), 'not one of off')
    expectInval(() => parseProperties('container', 'srv_cksum:maybe'), 'not on or off')
    expectInval(() => validateLabel('12345678-1234-1234-1234-123456789abc'), 'UUID')
    expectInval(() => validateLabel('has space'), 'invalid label')
    expectInval(() => validateLabel('x'.repeat(128)), 'invalid label')
  })

  it('round-trips every default through the wire form', () => {
    for (const scope of ['pool', 'container'] as const) {
      const defaults = defaultProperties(scope)
      expect(propertiesFromWire(scope, propertiesToWire(defaults))).toEqual(defaults)
    }
    expect(defaultProperties('pool').get('rd_fac')).toBe(3)
    expect(defaultProperties('container').get('label')).toBe('container_label_not_set')
    expect(poolProperties.length).toBeGreaterThan(20)
    expect(containerProperties.length).toBeGreaterThan(20)
  })

  it('never throws anything but DER_INVAL on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom<'pool' | 'container'>('pool', 'container'), (text, scope) => {
        try {
          parseProperties(scope, text)
        } catch (error) {
          if (!isDerError(error, 'DER_INVAL')) throw new Error(`seed ${seed}: ${String(error)}`)
        }
      }),
      { seed, numRuns: 500 },
    )
  })
})
