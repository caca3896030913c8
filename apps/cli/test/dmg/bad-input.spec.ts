import { type AddressInfo, type Socket, createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseHostList, parseRankSet, parseTargetIndexes, runDmg } from '../../src/index.ts'
import { type TestSystem, runtime, startTestSystem } from '../support/system.ts'

let sys: TestSystem
/** The state every refused command must leave as it was. */
let baseline: string

beforeAll(async () => {
  sys = await startTestSystem('x-dmg-bad-')
  expect((await sys.dmg(['pool', 'create', 'keep', '--size', '8M'])).code).toBe(0)
  baseline = await state()
}, 30_000)

afterAll(async () => {
  await sys.stop()
})

/** Everything a bad command could have changed, as dmg shows it. */
async function state(): Promise<string> {
  const pools = await sys.dmg(['-j', 'pool', 'list', '-v'])
  const props = await sys.dmg(['-j', 'pool', 'get-prop', 'keep'])
  const acl = await sys.dmg(['-j', 'pool', 'get-acl', 'keep'])
  const query = await sys.dmg(['-j', 'pool', 'query', 'keep'])
  const members = await sys.dmg(['-j', 'system', 'query'])
  const q = JSON.parse(query.stdout) as { response: { mapVersion: number; targetStates: unknown } }
  return JSON.stringify([JSON.parse(pools.stdout), JSON.parse(props.stdout), JSON.parse(acl.stdout), q.response.mapVersion, q.response.targetStates, JSON.parse(members.stdout)])
}

const files = {
  '/bad-type.acl': 'A::OWNER@:rw\nD::bob@:r\n',
  '/bad-perm.acl': 'A::OWNER@:rwz\n',
  '/twice.acl': 'A::bob@:r\nA::bob@:rw\n',
  '/empty.acl': '# nothing\n\n',
  '/no-flag.acl': 'A::GROUP@:r\n',
}

describe('dmg refuses bad input with a DER name, exit 1 and no state change', () => {
  const cases: [string, string[], RegExp][] = [
    ['bad label', ['pool', 'create', 'bad label!', '--size', '8M'], /DER_INVAL\(-1003\): .*label/],
    ['UUID as label', ['pool', 'create', '6f1c4c3a-0d1e-4f7b-9a4e-2b1f1f0c0a01', '--size', '8M'], /DER_INVAL.*UUID/],
    ['duplicate label', ['pool', 'create', 'keep', '--size', '8M'], /DER_EXIST\(-1004\)/],
    ['size unit', ['pool', 'create', 'p1', '--size', '12Q'], /DER_INVAL.*--size '12Q'/],
    ['size zero', ['pool', 'create', 'p1', '--size', '0'], /DER_INVAL/],
    ['size too big', ['pool', 'create', 'p1', '--size', '1T'], /DER_NOSPACE\(-1007\)/],
    ['no size', ['pool', 'create', 'p1'], /DER_INVAL.*needs --size/],
    ['unknown property', ['pool', 'create', 'p1', '--size', '8M', '--properties', 'nope:1'], /DER_INVAL.*nope/],
    ['bad property value', ['pool', 'create', 'p1', '--size', '8M', '--properties', 'reclaim:sometimes'], /DER_INVAL.*reclaim/],
    ['malformed property', ['pool', 'create', 'p1', '--size', '8M', '--properties', 'reclaim'], /DER_INVAL.*name:value/],
    ['nranks too many', ['pool', 'create', 'p1', '--size', '8M', '--nranks', '3'], /DER_INVAL.*nranks 3/],
    ['nranks zero', ['pool', 'create', 'p1', '--size', '8M', '--nranks', '0'], /DER_INVAL.*--nranks/],
    ['bad user', ['pool', 'create', 'p1', '--size', '8M', '--user', 'a b'], /DER_INVAL.*--user/],
    ['ACL type D', ['pool', 'create', 'p1', '--size', '8M', '--acl-file', '/bad-type.acl'], /DER_INVAL.*bad-type\.acl.*D::bob@:r/],
    ['ACL permission', ['pool', 'create', 'p1', '--size', '8M', '--acl-file', '/bad-perm.acl'], /DER_INVAL.*unknown permission 'z'/],
    ['ACL principal twice', ['pool', 'create', 'p1', '--size', '8M', '--acl-file', '/twice.acl'], /DER_INVAL.*twice/],
    ['ACL file empty', ['pool', 'create', 'p1', '--size', '8M', '--acl-file', '/empty.acl'], /DER_INVAL.*no ACL entries/],
    ['ACL file missing', ['pool', 'create', 'p1', '--size', '8M', '--acl-file', '/nope.acl'], /DER_NONEXIST\(-1005\).*nope\.acl/],
    ['GROUP@ without G', ['pool', 'update-acl', 'keep', '--acl-file', '/no-flag.acl'], /DER_INVAL.*GROUP@ needs the G flag/],
    ['update-acl bad entry', ['pool', 'update-acl', 'keep', '--entry', 'A::bob:rw'], /DER_INVAL/],
    ['update-acl both', ['pool', 'update-acl', 'keep', '--entry', 'A::bob@:r', '--acl-file', '/twice.acl'], /DER_INVAL.*exactly one/],
    ['delete-acl unknown principal', ['pool', 'delete-acl', 'keep', '--principal', 'u:nobody@'], /DER_NONEXIST/],
    ['delete-acl bad principal', ['pool', 'delete-acl', 'keep', '--principal', 'bob'], /DER_INVAL.*--principal/],
    ['overwrite-acl no file', ['pool', 'overwrite-acl', 'keep'], /DER_INVAL.*--acl-file/],
    ['set-prop unknown', ['pool', 'set-prop', 'keep', 'nope:1'], /DER_INVAL/],
    ['set-prop immutable', ['pool', 'set-prop', 'keep', 'svc_rf:1'], /DER_INVAL/],
    ['set-prop label', ['pool', 'set-prop', 'keep', 'label:other'], /DER_INVAL.*label/],
    ['get-prop unknown', ['pool', 'get-prop', 'keep', 'nope'], /DER_INVAL.*nope/],
    ['unknown pool query', ['pool', 'query', 'nope'], /DER_NONEXIST\(-1005\).*nope/],
    ['unknown pool destroy', ['pool', 'destroy', 'nope'], /DER_NONEXIST/],
    ['unknown pool props', ['pool', 'set-prop', 'nope', 'reclaim:lazy'], /DER_NONEXIST/],
    ['unknown pool exclude', ['pool', 'exclude', 'nope', '--rank', '0'], /DER_NONEXIST/],
    ['exclude unknown rank', ['pool', 'exclude', 'keep', '--rank', '7'], /DER_NONEXIST.*rank 7/],
    ['exclude unknown target', ['pool', 'exclude', 'keep', '--rank', '0', '--target-idx', '9'], /DER_NONEXIST.*target index 9/],
    ['exclude bad rank', ['pool', 'exclude', 'keep', '--rank', 'x'], /DER_INVAL.*--rank 'x'/],
    ['exclude no rank', ['pool', 'exclude', 'keep'], /DER_INVAL.*--rank is required/],
    ['reintegrate UPIN', ['pool', 'reintegrate', 'keep', '--rank', '0'], /DER_ALREADY/],
    ['bad rank set', ['system', 'stop', '--ranks', '3-1'], /DER_INVAL.*reversed/],
    ['unknown rank stop', ['system', 'stop', '--ranks', '4'], /DER_NONEXIST/],
    ['bad host list', ['-l', 'a b', 'system', 'query'], /DER_INVAL.*host list/],
    ['format --force with pools', ['storage', 'format', '--force'], /DER_BUSY\(-1012\)/],
  ]
  it.each(cases)('%s', async (_name, args, pattern) => {
    const r = await sys.dmg(args, { files })
    expect(r.code, r.stdout + r.stderr).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: dmg: DER_[A-Z_]+\(-\d+\): /)
    expect(r.stderr).toMatch(pattern)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(await state()).toBe(baseline)
  })

  it('gives usage errors exit 2 and JSON failures the envelope', async () => {
    expect((await sys.dmg(['pool', 'create'])).code).toBe(2)
    expect((await sys.dmg(['pool', 'frobnicate'])).code).toBe(2)
    expect((await sys.dmg(['pool', 'create', 'x', '--bogus'])).code).toBe(2)
    const usage = await sys.dmg(['pool', 'frobnicate'])
    expect(usage.stderr).toMatch(/^ERROR: dmg: DER_INVAL\(-1003\): unknown command 'frobnicate'/)
    const usageJson = await sys.dmg(['-j', 'pool', 'create'])
    expect(usageJson.code).toBe(2)
    expect(JSON.parse(usageJson.stdout)).toMatchObject({ response: null, status: -1003 })
    const json = await sys.dmgJson(['pool', 'query', 'nope'])
    expect(json.code).toBe(1)
    expect(json.envelope).toMatchObject({ response: null, status: -1005 })
    expect(json.envelope.error).toMatch(/^DER_NONEXIST: /)
  })
})

describe('dmg and wrong access points', () => {
  it('a dead address is DER_UNREACH within the deadline', async () => {
    let stderr = ''
    const started = runtime.clock.monotonicMs()
    const code = await runDmg(['-l', '127.0.0.1:9', 'system', 'query'], { stdout: () => {}, stderr: (t) => (stderr += t), clock: runtime.clock, timeoutMs: 1500 })
    expect(code).toBe(1)
    expect(stderr).toMatch(/^ERROR: dmg: DER_UNREACH\(-1006\): cannot reach the control server at 127\.0\.0\.1:9/)
    expect(runtime.clock.monotonicMs() - started).toBeLessThan(5000)
  })

  it('a server that accepts but never answers is DER_UNREACH after the deadline, not a hang', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as AddressInfo).port
    try {
      let stderr = ''
      const started = runtime.clock.monotonicMs()
      const code = await runDmg(['-l', `127.0.0.1:${port}`, 'system', 'query'], { stdout: () => {}, stderr: (t) => (stderr += t), clock: runtime.clock, timeoutMs: 800 })
      expect(code).toBe(1)
      expect(stderr).toMatch(/^ERROR: dmg: DER_UNREACH\(-1006\): cannot reach the control server at 127\.0\.0\.1:\d+: no connection within 800 ms/)
      expect(runtime.clock.monotonicMs() - started).toBeLessThan(4000)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('moves on to the next host of -l when one is dead', async () => {
    const r = await sys.dmg(['-l', `127.0.0.1:9,${sys.daemon.control.address}`, '-j', 'system', 'query'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 0 })
  })
})

describe('argument parsers', () => {
  it('parses rank sets, target indexes and host lists', () => {
    expect(parseRankSet('0,2-4,3')).toEqual([0, 2, 3, 4])
    for (const bad of ['', 'a', '1-', '5-2', '1,,2', '70000']) expect(() => parseRankSet(bad), bad).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(parseTargetIndexes('3,1,1')).toEqual([1, 3])
    expect(parseTargetIndexes(undefined)).toBeUndefined()
    expect(() => parseTargetIndexes('1,x')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(parseHostList('a,b:7,a')).toEqual(['a:10001', 'b:7'])
    for (const bad of ['a:0', 'a:70000', 'a b', ',', 'a:']) expect(() => parseHostList(bad), bad).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })
})
