import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { GROUPS_MAX, checkClassRedundancy, defaultObjectClass, objectClassById, objectClasses, parseObjectClass, resolveGroupCount, shardCount } from '../src/index.ts'

describe('object classes', () => {
  it('carries DAOS numeric ids (OBJ_CLASS_DEF(redun, grp_nr))', () => {
    // enum daos_obj_redun: OR_RP_1 = 1, OR_RP_2 = 8, OR_RP_3 = 9, OR_RS_2P1 = 32, OR_RS_4P2 = 35.
    const expected: Record<string, number> = {
      S1: (1 << 24) | 1,
      S2: (1 << 24) | 2,
      SX: (1 << 24) | 0xffff,
      RP_2G1: (8 << 24) | 1,
      RP_2GX: (8 << 24) | 0xffff,
      RP_3G1: (9 << 24) | 1,
      RP_3GX: (9 << 24) | 0xffff,
      EC_2P1G1: (32 << 24) | 1,
      EC_4P2G1: (35 << 24) | 1,
      EC_2P1GX: (32 << 24) | 0xffff,
    }
    for (const [name, id] of Object.entries(expected)) {
      const c = parseObjectClass(name)
      expect(c.id, name).toBe(id)
      expect(objectClassById(id).name).toBe(name)
    }
  })

  it('describes redundancy, group size and groups', () => {
    expect(parseObjectClass('S1')).toMatchObject({ groupSize: 1, groups: 1, redundancy: { kind: 'none' }, faultTolerance: 0 })
    expect(parseObjectClass('SX')).toMatchObject({ groupSize: 1, groupsMax: true, groups: GROUPS_MAX })
    expect(parseObjectClass('RP_3G1')).toMatchObject({ groupSize: 3, groups: 1, redundancy: { kind: 'replication', replicas: 3 }, faultTolerance: 2 })
    expect(parseObjectClass('EC_4P2G1')).toMatchObject({ groupSize: 6, redundancy: { kind: 'erasure', dataCells: 4, parityCells: 2 }, faultTolerance: 2 })
    expect(parseObjectClass('oc_rp_2gx').name).toBe('RP_2GX')
  })

  it('resolves X to as many groups as fit the targets', () => {
    const fit = { targets: 16, domains: 4 }
    expect(resolveGroupCount(parseObjectClass('SX'), fit)).toBe(16)
    expect(resolveGroupCount(parseObjectClass('RP_3GX'), fit)).toBe(5)
    expect(shardCount(parseObjectClass('RP_3GX'), fit)).toBe(15)
    expect(resolveGroupCount(parseObjectClass('EC_2P1GX'), fit)).toBe(5)
    expect(shardCount(parseObjectClass('S2'), fit)).toBe(2)
    expect(shardCount(parseObjectClass('EC_4P2G1'), { targets: 6, domains: 6 })).toBe(6)
  })

  it('refuses a group wider than the domains (grp_size N > domain_nr M)', () => {
    try {
      resolveGroupCount(parseObjectClass('EC_4P2G1'), { targets: 16, domains: 4 })
      expect.unreachable()
    } catch (error) {
      expect(isDerError(error, 'DER_INVAL')).toBe(true)
      expect(String(error)).toContain('grp_size 6 > domain_nr 4')
    }
  })

  it('gives clear errors for bad names', () => {
    for (const [name, fragment] of [
      ['', 'empty'],
      ['S3', 'S takes'],
      ['RP_7G1', 'replication takes'],
      ['EC_3P1G1', 'EC takes'],
      ['bogus', 'expected S<n>'],
    ] as const) {
      try {
        parseObjectClass(name)
        expect.unreachable(name)
      } catch (error) {
        expect(isDerError(error, 'DER_INVAL'), name).toBe(true)
        expect(String(error)).toContain(fragment)
      }
    }
  })

  it('has unique names and ids', () => {
    expect(new Set(objectClasses.map((c) => c.name)).size).toBe(objectClasses.length)
    expect(new Set(objectClasses.map((c) => c.id)).size).toBe(objectClasses.length)
  })
})

describe('default class selection (OC_UNKNOWN)', () => {
  it('follows DAOS: EC for arrays when enough domains, replication otherwise', () => {
    const pick = (isArray: boolean, rf: number, domains: number, isFlatKv = false): string => defaultObjectClass({ isArray, isFlatKv, redundancyFactor: rf, domains }).name
    expect(pick(false, 0, 4)).toBe('S1')
    expect(pick(true, 0, 4)).toBe('SX')
    expect(pick(false, 0, 4, true)).toBe('SX')
    expect(pick(false, 1, 4)).toBe('RP_2G1')
    expect(pick(true, 1, 3)).toBe('EC_2P1GX')
    expect(pick(true, 1, 2)).toBe('RP_2GX')
    expect(pick(true, 1, 10)).toBe('EC_8P1GX')
    expect(pick(true, 2, 8)).toBe('EC_4P2GX')
    expect(pick(false, 2, 8)).toBe('RP_3G1')
    expect(pick(true, 3, 22)).toBe('EC_16P3GX')
    expect(pick(true, 3, 9)).toBe('RP_4GX')
    expect(pick(true, 4, 30)).toBe('RP_5GX')
    expect(() => pick(false, 2, 2)).toThrow(/grp_size 3 > domain_nr 2/)
    expect(() => pick(false, 5, 9)).toThrow(/0-4/)
  })

  it('refuses a class weaker than the container rd_fac', () => {
    checkClassRedundancy(parseObjectClass('RP_3G1'), 2)
    expect(() => checkClassRedundancy(parseObjectClass('SX'), 1)).toThrow(/SX tolerates 0 failures; the container's rd_fac is 1/)
  })
})
