// Random command sequences against both state machines: the leader-side check and apply always
// agree, a refused command never changes the state, and snapshots restore to equal states.
import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManagementMachine, type MgmtCommand, type PoolCommand, PoolServiceMachine, type ServiceMachine, decodeMgmtCommand, decodePoolCommand, encodeMgmtCommand, encodePoolCommand } from '../src/index.ts'
import { uuidOf } from './support/machines.ts'

const rank = fc.integer({ min: 0, max: 4 })
const ranks = fc.array(rank, { minLength: 0, maxLength: 3 })
const small = fc.integer({ min: 1, max: 4 })

const mgmtCommand: fc.Arbitrary<MgmtCommand> = fc.oneof(
  fc.record({ op: fc.constant('join' as const), uuid: small.map((n) => uuidOf(n)), addr: small.map((n) => `10.0.0.${n}:1`), fabricUri: fc.constant('tcp://x'), faultDomain: fc.constantFrom('/h1', '/h2', 'bad'), incarnation: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constantFrom('exclude' as const, 'stop' as const, 'start' as const), ranks }),
  fc.record({ op: fc.constant('markErrored' as const), rank, incarnation: fc.integer({ min: 0, max: 3 }), info: fc.constantFrom('', 'died') }),
  fc.record({ op: fc.constant('setProps' as const), props: fc.dictionary(fc.constantFrom('self_heal', 'pool_scrub_mode', 'daos_version', 'x'), fc.constantFrom('exclude', 'off', 'lazy', '3', 'none')) }),
  fc.record({ op: fc.constant('poolCreate' as const), uuid: small.map((n) => uuidOf(n, 'b')), label: fc.constantFrom('a', 'b', 'c d'), sizeBytes: fc.integer({ min: 0, max: 3 }), svcRanks: ranks, tgtRanks: ranks }),
  fc.record({ op: fc.constantFrom('poolReady' as const, 'poolDestroy' as const, 'poolRemove' as const), uuid: small.map((n) => uuidOf(n, 'b')) }),
)

const cont = fc.constantFrom(uuidOf(1, 'e'), uuidOf(2, 'e'), 'c1', 'c2')
const handle = small.map((n) => uuidOf(n, 'd'))
const props = fc.dictionary(fc.constantFrom('label', 'max_snapshot', 'cksum', 'status', 'bogus'), fc.constantFrom('c1', 'c2', '1', 'crc32', 'unclean', 'healthy'))

const poolCommand: fc.Arbitrary<PoolCommand> = fc.oneof(
  fc.record({ op: fc.constant('init' as const), props: fc.constantFrom<Record<string, string>>({}, { rd_fac: '9' }), acl: fc.constant<string[]>([]) }),
  fc.record({ op: fc.constant('mapUpdate' as const), version: fc.integer({ min: 0, max: 6 }), map: fc.uint8Array({ maxLength: 3 }) }),
  fc.record({ op: fc.constant('setProps' as const), props: fc.dictionary(fc.constantFrom('reclaim', 'svc_rf', 'space_rb'), fc.constantFrom('lazy', '1', '200')) }),
  fc.record({ op: fc.constantFrom('aclUpdate' as const, 'aclOverwrite' as const), entries: fc.array(fc.constantFrom('A::OWNER@:rw', 'A::bob@:r', 'A:G:GROUP@:', 'A::bad'), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('aclDelete' as const), principal: fc.constantFrom('u:bob@', 'OWNER@', 'GROUP@', 'x') }),
  fc.record({ op: fc.constant('connect' as const), handle, caps: fc.constantFrom('ro', 'rw', 'ex', 'zz') }),
  fc.record({ op: fc.constant('disconnect' as const), handle }),
  fc.record({ op: fc.constant('evict' as const), handles: fc.option(fc.array(handle, { maxLength: 2 }), { nil: undefined }) }),
  fc.record({ op: fc.constant('contCreate' as const), handle, uuid: fc.constantFrom(uuidOf(1, 'e'), uuidOf(2, 'e')), props }),
  fc.record({ op: fc.constant('contDestroy' as const), handle, cont, force: fc.boolean() }),
  fc.record({ op: fc.constant('contOpen' as const), handle, cont, contHandle: small.map((n) => uuidOf(n, 'f')), mode: fc.constantFrom('ro', 'rw') }),
  fc.record({ op: fc.constant('contClose' as const), contHandle: small.map((n) => uuidOf(n, 'f')) }),
  fc.record({ op: fc.constant('contSetProps' as const), cont, props }),
  fc.record({ op: fc.constant('contSetAttrs' as const), cont, attrs: fc.dictionary(fc.constantFrom('a', 'b'), fc.uint8Array({ maxLength: 2 })) }),
  fc.record({ op: fc.constant('contDelAttrs' as const), cont, names: fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }) }),
  fc.record({ op: fc.constantFrom('snapCreate' as const, 'snapDestroy' as const), cont, epoch: fc.bigInt({ min: 0n, max: 4n }) }),
)

function outcome(run: () => unknown): string {
  try {
    run()
    return 'ok'
  } catch (e) {
    if (!isDerError(e)) throw e
    return e.name
  }
}

function exercise<C>(make: () => ServiceMachine & { check(c: C): void; execute(c: C): unknown }, commands: readonly C[], encode: (c: C) => Uint8Array, decode: (b: Uint8Array) => C): void {
  const m = make()
  for (const c of commands) {
    expect(decode(encode(c))).toEqual(c)
    const before = Buffer.from(m.snapshot())
    const checked = outcome(() => m.check(c))
    expect(Buffer.from(m.snapshot()).equals(before), 'check() changed the state').toBe(true)
    const applied = outcome(() => m.apply(encode(c)))
    expect(applied, `check said ${checked}, apply said ${applied} for ${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`).toBe(checked)
    if (applied !== 'ok') expect(Buffer.from(m.snapshot()).equals(before), `refused ${applied} but the state changed`).toBe(true)
  }
  const copy = make()
  copy.restore(m.snapshot())
  expect(Buffer.from(copy.snapshot()).equals(Buffer.from(m.snapshot()))).toBe(true)
}

describe('random command sequences', () => {
  it('management machine', () => {
    fc.assert(fc.property(fc.array(mgmtCommand, { maxLength: 40 }), (cmds) => exercise(() => new ManagementMachine(), cmds, encodeMgmtCommand, decodeMgmtCommand)), { numRuns: 150, seed: 31 })
  })

  it('pool service machine', () => {
    const pool = uuidOf(1, 'c')
    const start: PoolCommand[] = [{ op: 'init', props: {}, acl: [] }]
    fc.assert(fc.property(fc.array(poolCommand, { maxLength: 40 }), (cmds) => exercise(() => new PoolServiceMachine(pool), [...start, ...cmds], encodePoolCommand, decodePoolCommand)), { numRuns: 150, seed: 32 })
  })
})
