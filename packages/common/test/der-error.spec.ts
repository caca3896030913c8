import { describe, expect, it } from 'vitest'
import { DerError, derCodes, derInfoByCode, isDerError, isDerName, toDerError } from '../src/index.ts'

describe('DER codes', () => {
  it('carry the numbers DAOS uses', () => {
    expect(derCodes).toMatchObject({
      DER_NO_PERM: -1001,
      DER_INVAL: -1003,
      DER_EXIST: -1004,
      DER_NONEXIST: -1005,
      DER_NOSPACE: -1007,
      DER_TIMEDOUT: -1011,
      DER_MISC: -1025,
      DER_HLC_SYNC: -1037,
      DER_STALE: -2007,
      DER_NOTLEADER: -2008,
      DER_INPROGRESS: -2018,
      DER_NOTREPLICA: -2020,
      DER_CSUM: -2021,
      DER_TX_RESTART: -2025,
      DER_OP_CANCELED: -2027,
      DER_RF: -2031,
    })
  })

  it('are unique', () => {
    const values = Object.values(derCodes)
    expect(new Set(values).size).toBe(values.length)
  })

  it('look up by number, either sign, and fall back to DER_UNKNOWN', () => {
    expect(derInfoByCode(-1005).name).toBe('DER_NONEXIST')
    expect(derInfoByCode(1005).name).toBe('DER_NONEXIST')
    expect(derInfoByCode(-999_999).name).toBe('DER_UNKNOWN')
    expect(isDerName('DER_STALE')).toBe(true)
    expect(isDerName('toString')).toBe(false)
  })
})

describe('DerError', () => {
  it('has the code name as name, the number as code, a message and a cause', () => {
    const cause = new Error('disk')
    const error = new DerError('DER_NOSPACE', 'target 3 is full', { cause, details: { target: 3 } })
    expect(error.name).toBe('DER_NOSPACE')
    expect(error.code).toBe(-1007)
    expect(error.message).toBe('target 3 is full')
    expect(error.cause).toBe(cause)
    expect(error.details).toEqual({ target: 3 })
    expect(error.stack).toBeTypeOf('string')
  })

  it("prints DAOS's DF_RC form", () => {
    expect(String(new DerError('DER_INVAL'))).toBe("DER_INVAL(-1003): 'Invalid parameters'")
    expect(String(new DerError('DER_INVAL', 'bad size'))).toBe("DER_INVAL(-1003): 'Invalid parameters': bad size")
  })

  it('is recognised across package copies by its Symbol.for marker, not instanceof', () => {
    const foreign = Object.assign(Object.create(Error.prototype) as object, { name: 'DER_BUSY', code: -1012, [Symbol.for('@x/common/DerError')]: true })
    expect(isDerError(foreign)).toBe(true)
    expect(isDerError(foreign, 'DER_BUSY')).toBe(true)
    expect(isDerError(foreign, 'DER_INVAL')).toBe(false)
    expect(isDerError(new Error('plain'))).toBe(false)
    expect(isDerError(null)).toBe(false)
  })

  it('round-trips through its wire code and serialises to JSON', () => {
    const back = DerError.fromCode(-2007, 'map v3 < v5')
    expect(back.name).toBe('DER_STALE')
    expect(JSON.parse(JSON.stringify(back))).toEqual({ name: 'DER_STALE', code: -2007, message: 'map v3 < v5', details: {} })
  })

  it('wraps foreign errors as DER_MISC and keeps DerErrors as they are', () => {
    const original = new DerError('DER_EXIST')
    expect(toDerError(original)).toBe(original)
    const wrapped = toDerError(new TypeError('boom'))
    expect(wrapped.name).toBe('DER_MISC')
    expect(wrapped.message).toBe('boom')
    expect(wrapped.cause).toBeInstanceOf(TypeError)
  })
})
