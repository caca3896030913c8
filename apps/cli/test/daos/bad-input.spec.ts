import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSystem, startTestSystem } from '../support/system.ts'

let sys: TestSystem
/** The state every refused command must leave as it was. */
let baseline: string

beforeAll(async () => {
  sys = await startTestSystem('x-daos-bad-')
  expect((await sys.dmg(['pool', 'create', 'tank', '--size', '16M'])).code).toBe(0)
  expect((await sys.daos(['container', 'create', 'tank', 'c1'])).code).toBe(0)
  expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k', 'v'])).code).toBe(0)
  baseline = await state()
}, 30_000)

afterAll(async () => {
  await sys.stop()
})

/** What a bad daos command could have changed. */
async function state(): Promise<string> {
  const conts = await sys.daos(['-j', 'container', 'list', 'tank'])
  const query = await sys.daos(['-j', 'container', 'query', 'tank', 'c1'])
  const attrs = await sys.daos(['-j', 'container', 'list-attrs', 'tank', 'c1'])
  const keys = await sys.daos(['-j', 'kv', 'list', 'tank', 'c1'])
  const pool = await sys.daos(['-j', 'pool', 'list-attrs', 'tank'])
  return [conts, query, attrs, keys, pool].map((r) => r.stdout).join('\n')
}

describe('daos refuses bad input with a DER name, exit 1 and no state change', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown pool', ['container', 'create', 'nope', 'c2'], /DER_NONEXIST.*nope/],
    ['unknown container', ['container', 'query', 'tank', 'nope'], /DER_NONEXIST.*nope/],
    ['unknown container kv', ['kv', 'get', 'tank', 'nope', 'k'], /DER_NONEXIST/],
    ['missing key', ['kv', 'get', 'tank', 'c1', 'nokey'], /DER_NONEXIST.*nokey/],
    ['empty key', ['kv', 'put', 'tank', 'c1', '', 'v'], /DER_INVAL.*key/],
    ['bad label', ['container', 'create', 'tank', 'bad label'], /DER_INVAL.*label/],
    ['reserved label', ['container', 'create', 'tank', 'x.mine'], /DER_INVAL.*reserved/],
    ['duplicate label', ['container', 'create', 'tank', 'c1'], /DER_EXIST/],
    ['bad type', ['container', 'create', 'tank', 'c2', '--type', 'HDF9'], /DER_INVAL.*--type/],
    ['bad oclass', ['container', 'create', 'tank', 'c2', '--oclass', 'RP_9Z'], /DER_INVAL/],
    ['class too wide', ['container', 'create', 'tank', 'c2', '--oclass', 'RP_3G1'], /DER_INVAL/],
    ['bad property', ['container', 'create', 'tank', 'c2', '--properties', 'cksum:md5'], /DER_INVAL.*cksum/],
    ['unknown property', ['container', 'set-prop', 'tank', 'c1', 'nope:1'], /DER_INVAL/],
    ['malformed property', ['container', 'set-prop', 'tank', 'c1', 'label'], /DER_INVAL.*name:value/],
    ['unknown get-prop', ['container', 'get-prop', 'tank', 'c1', 'nope'], /DER_INVAL.*nope/],
    ['missing attr', ['container', 'get-attr', 'tank', 'c1', 'nope'], /DER_NONEXIST/],
    ['reserved attr', ['container', 'set-attr', 'tank', 'c1', 'x.kv_oid', '1.1'], /DER_INVAL.*reserved/],
    ['del missing attr', ['container', 'del-attr', 'tank', 'c1', 'nope'], /DER_NONEXIST/],
    ['bad epoch', ['container', 'destroy-snap', 'tank', 'c1', '--epc', 'abc'], /DER_INVAL.*--epc/],
    ['bad oid', ['object', 'query', 'tank', 'c1', '1.2.3'], /DER_INVAL.*hi\.lo/],
    ['bad snapshot name', ['container', 'create-snap', 'tank', 'c1', '--snap', 'a b'], /DER_INVAL.*snapshot name/],
  ]
  it.each(cases)('%s', async (_name, args, pattern) => {
    const r = await sys.daos(args)
    expect(r.code, r.stdout + r.stderr).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: daos: DER_[A-Z_]+\(-\d+\): /)
    expect(r.stderr).toMatch(pattern)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(await state()).toBe(baseline)
  })

  it('usage errors exit 2', async () => {
    expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k'])).code).toBe(2)
    expect((await sys.daos(['container'])).code).toBe(2)
    expect((await sys.daos(['object', 'frob'])).code).toBe(2)
  })
})
