import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { controlMethodNames, controlRequestSchemas, validateControlRequest } from '../../src/index.ts'

function derName(f: () => unknown): string | undefined {
  try {
    f()
    return undefined
  } catch (e) {
    return isDerError(e) ? e.name : `not a DerError: ${String(e)}`
  }
}

describe('control request validation', () => {
  it('has a schema for every method', () => {
    expect(Object.keys(controlRequestSchemas).sort()).toEqual([...controlMethodNames].sort())
  })

  it('accepts well-formed requests and drops nothing it knows', () => {
    expect(validateControlRequest('PoolCreate', { label: 'tank', sizeBytes: 5, properties: { a: 'b' }, acl: ['A::OWNER@:rw'], user: 'alice@' })).toEqual({
      label: 'tank',
      sizeBytes: 5,
      properties: { a: 'b' },
      acl: ['A::OWNER@:rw'],
      user: 'alice@',
    })
    expect(validateControlRequest('ContainerQuery', { pool: 'p', cont: 'c', identity: { user: 'bob@', groups: ['staff@'] } })).toEqual({ pool: 'p', cont: 'c', identity: { user: 'bob@', groups: ['staff@'] } })
    expect(validateControlRequest('SystemQuery', {})).toEqual({})
  })

  it('refuses unknown, missing and mistyped fields with DER_INVAL naming them', () => {
    const cases: [Parameters<typeof validateControlRequest>[0], unknown, RegExp][] = [
      ['PoolCreate', { label: 'x' }, /'sizeBytes' is required/],
      ['PoolCreate', { label: 'x', sizeBytes: -1 }, /sizeBytes must be a non-negative integer/],
      ['PoolCreate', { label: 'x', sizeBytes: 1.5 }, /sizeBytes/],
      ['PoolCreate', { label: 7, sizeBytes: 1 }, /label must be a string/],
      ['PoolCreate', { label: 'x', sizeBytes: 1, extra: 1 }, /unknown field 'extra'/],
      ['PoolCreate', { label: 'x', sizeBytes: 1, properties: { a: 1 } }, /properties\.a must be a string/],
      ['PoolCreate', { label: 'x', sizeBytes: 1, acl: 'A::OWNER@:rw' }, /acl must be a list/],
      ['PoolExclude', { id: 'p', rank: 0, targetIdx: [1, -1] }, /targetIdx\[1\]/],
      ['ContainerQuery', { pool: 'p', cont: 'c', identity: { user: 'bob' } }, /identity\.user 'bob' must be name@/],
      ['ContainerQuery', { pool: 'p', cont: 'c', identity: { user: 'bob@', groups: ['a b@'] } }, /groups/],
      ['SystemStop', { ranks: 'all' }, /ranks must be a list/],
      ['PoolDestroy', { id: 'p', force: 'yes' }, /force must be true or false/],
      ['PoolList', [], /must be an object/],
    ]
    for (const [method, request, pattern] of cases) {
      let message = ''
      expect(
        derName(() => {
          try {
            validateControlRequest(method, request)
          } catch (e) {
            message = (e as Error).message
            throw e
          }
        }),
        JSON.stringify(request),
      ).toBe('DER_INVAL')
      expect(message).toMatch(pattern)
    }
  })

  it('never throws anything but DER_INVAL on arbitrary JSON (fuzzed)', () => {
    const seed = Number(process.env['X_SEED'] ?? 12)
    fc.assert(
      fc.property(fc.constantFrom(...controlMethodNames), fc.jsonValue(), (method, value) => {
        const outcome = derName(() => validateControlRequest(method, value))
        return outcome === undefined || outcome === 'DER_INVAL'
      }),
      { seed, numRuns: 3000 },
    )
  })
})
