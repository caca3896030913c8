import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Acl,
  checkPermissions,
  defaultContainerAclEntries,
  effectivePermissions,
  formatAcl,
  formatAclEntry,
  formatPermissions,
  formatPrincipal,
  mergeAclEntries,
  parseAclEntries,
  parseAclEntry,
  parsePrincipal,
  removeAclEntry,
  validatePoolAcl,
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

describe('ACL', () => {
  it('parses and formats DAOS entries', () => {
    for (const text of ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:rwtT', 'A::EVERYONE@:', 'A::alice@:rw', 'A:G:admins@:rwcd', 'A::bob@example.com:t']) {
      expect(formatAclEntry(parseAclEntry(text))).toBe(text)
    }
    expect(formatPermissions(parseAclEntry('A::OWNER@:oAaTtdcwr').permissions)).toBe('rwcdtTaAo')
    expect(formatAcl({ owner: 'alice@', ownerGroup: 'staff@', entries: defaultContainerAclEntries() })).toBe(
      '# Owner: alice@\n# Owner Group: staff@\n# Entries:\nA::OWNER@:rwdtTaAo\nA:G:GROUP@:rwtT',
    )
    const file = '# comment\n\nA::OWNER@:rw\nA:G:GROUP@:r\n'
    expect(parseAclEntries(file).map(formatAclEntry)).toEqual(['A::OWNER@:rw', 'A:G:GROUP@:r'])
  })

  it('parses standalone principals', () => {
    for (const text of ['OWNER@', 'GROUP@', 'EVERYONE@', 'u:alice@', 'g:admins@']) expect(formatPrincipal(parsePrincipal(text))).toBe(text)
    expectInval(() => parsePrincipal('alice'), 'expected OWNER@')
    expectInval(() => parsePrincipal('u:alice'), 'invalid principal name')
  })

  it('gives clear errors for bad entries', () => {
    expectInval(() => parseAclEntry('A:OWNER@:rw'), 'TYPE:FLAGS:PRINCIPAL:PERMS')
    expectInval(() => parseAclEntry('D::OWNER@:rw'), "unknown access type 'D'")
    expectInval(() => parseAclEntry('U::OWNER@:rw'), 'not supported')
    expectInval(() => parseAclEntry('A:X:OWNER@:rw'), "unknown flag 'X'")
    expectInval(() => parseAclEntry('A::GROUP@:rw'), 'needs the G flag')
    expectInval(() => parseAclEntry('A:G:OWNER@:rw'), 'not a group')
    expectInval(() => parseAclEntry('A::alice:rw'), 'invalid principal')
    expectInval(() => parseAclEntry('A::alice@:rz'), "unknown permission 'z'")
    expectInval(() => parseAclEntry('A::alice@:rr'), 'repeated')
    expectInval(() => parseAclEntries('A::alice@:r\nA::alice@:w'), 'twice')
    expectInval(() => validatePoolAcl(parseAclEntries('A::alice@:rT')), "'T' applies to containers only")
  })

  it('enforces DAOS order: owner, named user, groups (union), everyone', () => {
    const acl: Acl = {
      owner: 'alice@',
      ownerGroup: 'staff@',
      entries: parseAclEntries('A::OWNER@:rw\nA::bob@:r\nA:G:GROUP@:t\nA:G:ops@:c\nA::EVERYONE@:\nA::carol@:'),
    }
    const perms = (user: string, groups: string[]): string => formatPermissions(effectivePermissions(acl, { user, groups }, 'pool'))
    expect(perms('alice@', ['staff@'])).toBe('rwcdt')
    expect(perms('bob@', ['staff@', 'ops@'])).toBe('rt')
    expect(perms('dave@', ['staff@', 'ops@'])).toBe('ct')
    expect(perms('erin@', ['other@'])).toBe('')
    expect(perms('carol@', ['staff@'])).toBe('')
    expect(() => checkPermissions(acl, { user: 'erin@', groups: [] }, 'pool', ['r'])).toThrow(/lacks pool permission 'r'/)
    try {
      checkPermissions(acl, { user: 'erin@', groups: [] }, 'pool', ['t'])
    } catch (error) {
      expect(isDerError(error, 'DER_NO_PERM')).toBe(true)
    }
    checkPermissions(acl, { user: 'alice@', groups: [] }, 'pool', ['c', 'd'])
  })

  it('updates and deletes entries per principal', () => {
    const base = parseAclEntries('A::OWNER@:rw\nA::bob@:r')
    const merged = mergeAclEntries(base, parseAclEntries('A::bob@:rw\nA:G:ops@:r'))
    expect(merged.map(formatAclEntry)).toEqual(['A::OWNER@:rw', 'A::bob@:rw', 'A:G:ops@:r'])
    expect(removeAclEntry(merged, parsePrincipal('u:bob@')).map(formatAclEntry)).toEqual(['A::OWNER@:rw', 'A:G:ops@:r'])
    expect(() => removeAclEntry(merged, parsePrincipal('g:nobody@'))).toThrow(/no entry/)
  })

  it('parse and format round-trip for arbitrary entries, and junk gives only DER_INVAL', () => {
    const entryArb = fc
      .tuple(
        fc.constantFrom('A::OWNER@', 'A:G:GROUP@', 'A::EVERYONE@', 'A::user1@', 'A:G:grp.x@'),
        fc.subarray(['r', 'w', 'c', 'd', 't', 'T', 'a', 'A', 'o']),
      )
      .map(([head, perms]) => `${head}:${perms.join('')}`)
    fc.assert(
      fc.property(entryArb, (text) => {
        expect(formatAclEntry(parseAclEntry(formatAclEntry(parseAclEntry(text))))).toBe(text)
      }),
      { seed, numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        try {
          parseAclEntries(text)
        } catch (error) {
          if (!isDerError(error, 'DER_INVAL')) throw new Error(`seed ${seed}: ${String(error)}`)
        }
      }),
      { seed, numRuns: 500 },
    )
  })
})
