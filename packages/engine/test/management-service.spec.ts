// The management service state machine: every command, every error, no change on error, snapshots.
import { DecodeError, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { ManagementMachine, type MgmtCommand, decodeJoinResult, decodeMgmtCommand, encodeMgmtCommand } from '../src/index.ts'
import { expectRefused, expectSnapshotRoundTrip, uuidOf } from './support/machines.ts'

type JoinCommand = Extract<MgmtCommand, { op: 'join' }>

function join(n: number, incarnation = 1, extra: Partial<JoinCommand> = {}): JoinCommand {
  return { op: 'join', uuid: uuidOf(n), addr: `10.0.0.${n}:10001`, fabricUri: `tcp://10.0.0.${n}:31416`, faultDomain: `/host${n}`, incarnation, ...extra }
}

function system(n: number): ManagementMachine {
  const m = new ManagementMachine()
  for (let i = 1; i <= n; i++) m.execute(join(i))
  return m
}

function refuse(m: ManagementMachine, c: MgmtCommand, code: string): void {
  expectRefused(m, () => m.check(c), code)
  expectRefused(m, () => m.execute(c), code)
  expectRefused(m, () => m.apply(encodeMgmtCommand(c)), code)
}

describe('ManagementMachine: members', () => {
  it('assigns ranks in order, keeps requested ranks, and answers system query sorted by rank', () => {
    const m = new ManagementMachine()
    expect(m.execute(join(1))).toEqual({ rank: 0, mapVersion: 1 })
    expect(m.execute(join(2, 1, { rank: 5 }))).toEqual({ rank: 5, mapVersion: 2 })
    expect(decodeJoinResult(m.apply(encodeMgmtCommand(join(3))))).toEqual({ rank: 1, mapVersion: 3 })
    expect(m.systemQuery().map((x) => [x.rank, x.state, x.incarnation])).toEqual([[0, 'joined', 1], [1, 'joined', 1], [5, 'joined', 1]])
    expect(m.systemQuery([5])[0]?.uuid).toBe(uuidOf(2))
    expect(() => m.systemQuery([9])).toThrow(expect.objectContaining({ name: 'DER_NONEXIST' }) as Error)
  })

  it('rejoins with a newer incarnation, is idempotent on the same one, refuses stale ones', () => {
    const m = system(2)
    expect(m.execute(join(1))).toEqual({ rank: 0, mapVersion: 2 }) // same incarnation, joined: no change
    m.execute({ op: 'exclude', ranks: [0] })
    refuse(m, join(1), 'DER_STALE') // excluded: a rejoin needs a new incarnation
    expect(m.execute(join(1, 2, { addr: '10.0.1.1:10001' }))).toEqual({ rank: 0, mapVersion: 4 })
    const member = m.systemQuery([0])[0]
    expect([member?.state, member?.incarnation, member?.addr]).toEqual(['joined', 2, '10.0.1.1:10001'])
    refuse(m, join(1, 1), 'DER_STALE')
    refuse(m, join(1, 3, { rank: 7 }), 'DER_INVAL')
  })

  it('refuses bad joins: bad uuid, address in use, rank taken, bad fault domain, zero incarnation', () => {
    const m = system(2)
    refuse(m, { ...join(3), uuid: 'not-a-uuid' }, 'DER_INVAL')
    refuse(m, { ...join(3), addr: '10.0.0.1:10001' }, 'DER_EXIST')
    refuse(m, join(3, 1, { rank: 1 }), 'DER_EXIST')
    refuse(m, { ...join(3), faultDomain: 'host3' }, 'DER_INVAL')
    refuse(m, { ...join(3), addr: '' }, 'DER_INVAL')
    refuse(m, { ...join(3), fabricUri: '' }, 'DER_INVAL')
    refuse(m, join(3, 0), 'DER_INVAL')
  })

  it('excludes, stops, starts and marks errored; unknown ranks and repeated ranks are refused', () => {
    const m = system(3)
    expect(m.execute({ op: 'stop', ranks: [0, 1] })).toEqual({ mapVersion: 4 })
    expect(m.systemQuery().map((x) => x.state)).toEqual(['stopped', 'stopped', 'joined'])
    expect(m.execute({ op: 'start', ranks: [0] })).toEqual({ mapVersion: 5 })
    expect(m.execute({ op: 'start', ranks: [0] })).toEqual({ mapVersion: 5 }) // already joined: no change
    m.execute({ op: 'exclude', ranks: [2] })
    expect(m.execute({ op: 'stop', ranks: [2] })).toEqual({ mapVersion: 6 }) // excluded stays excluded
    refuse(m, { op: 'start', ranks: [2] }, 'DER_INVAL')
    refuse(m, { op: 'exclude', ranks: [9] }, 'DER_NONEXIST')
    refuse(m, { op: 'stop', ranks: [0, 9] }, 'DER_NONEXIST')
    refuse(m, { op: 'stop', ranks: [] }, 'DER_INVAL')
    refuse(m, { op: 'exclude', ranks: [0, 0] }, 'DER_INVAL')
    m.execute({ op: 'markErrored', rank: 0, incarnation: 1, info: 'engine died' })
    expect(m.systemQuery([0])[0]).toMatchObject({ state: 'errored', info: 'engine died' })
    refuse(m, { op: 'markErrored', rank: 0, incarnation: 0, info: 'old' }, 'DER_STALE')
    refuse(m, { op: 'markErrored', rank: 8, incarnation: 1, info: 'x' }, 'DER_NONEXIST')
    refuse(m, { op: 'markErrored', rank: 0, incarnation: 1, info: '' }, 'DER_INVAL')
  })
})

describe('ManagementMachine: properties', () => {
  it('sets valid system properties in canonical form and refuses bad ones', () => {
    const m = new ManagementMachine()
    expect(m.getProps(['self_heal']).get('self_heal')).toBe('exclude;pool_exclude;pool_rebuild')
    m.execute({ op: 'setProps', props: { self_heal: 'pool_rebuild;exclude', pool_scrub_mode: 'timed' } })
    expect(m.getProps().get('self_heal')).toBe('exclude;pool_rebuild')
    expect(m.getProps().get('pool_scrub_mode')).toBe('timed')
    refuse(m, { op: 'setProps', props: { pool_scrub_mode: 'sometimes' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { daos_version: '9' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { no_such: '1' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { pool_scrub_thresh: '-1' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { self_heal: 'exclude;exclude' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: {} }, 'DER_INVAL')
    expect(() => m.getProps(['nope'])).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
  })
})

describe('ManagementMachine: pools', () => {
  const create = (n: number, label: string, extra: Partial<Extract<MgmtCommand, { op: 'poolCreate' }>> = {}): MgmtCommand => ({ op: 'poolCreate', uuid: uuidOf(n, 'b'), label, sizeBytes: 1 << 30, svcRanks: [0], tgtRanks: [0, 1, 2], ...extra })

  it('creates, readies, lists, queries, destroys and removes pools', () => {
    const m = system(3)
    expect(m.execute(create(1, 'tank'))).toMatchObject({ state: 'creating', label: 'tank' })
    m.execute(create(2, 'alpha', { svcRanks: [2, 1, 0], tgtRanks: [2, 1, 0] }))
    expect(m.execute({ op: 'poolReady', uuid: uuidOf(1, 'b') })).toMatchObject({ state: 'ready' })
    expect(m.execute({ op: 'poolReady', uuid: uuidOf(1, 'b') })).toMatchObject({ state: 'ready' })
    expect(m.poolList().map((p) => p.label)).toEqual(['alpha', 'tank'])
    expect(m.poolQuery('alpha').svcRanks).toEqual([0, 1, 2])
    expect(m.poolQuery(uuidOf(1, 'b').toUpperCase()).label).toBe('tank')
    refuse(m, { op: 'poolRemove', uuid: uuidOf(1, 'b') }, 'DER_BUSY')
    m.execute({ op: 'poolDestroy', uuid: uuidOf(1, 'b') })
    refuse(m, { op: 'poolReady', uuid: uuidOf(1, 'b') }, 'DER_BUSY')
    expect(m.execute({ op: 'poolRemove', uuid: uuidOf(1, 'b') })).toBe(null)
    expect(() => m.poolQuery('tank')).toThrow(expect.objectContaining({ name: 'DER_NONEXIST' }) as Error)
    refuse(m, { op: 'poolDestroy', uuid: uuidOf(1, 'b') }, 'DER_NONEXIST')
    refuse(m, { op: 'poolRemove', uuid: 'tank' }, 'DER_NONEXIST')
  })

  it('refuses duplicate uuids and labels, bad labels, sizes and ranks', () => {
    const m = system(3)
    m.execute(create(1, 'tank'))
    m.execute({ op: 'stop', ranks: [2] })
    refuse(m, create(1, 'other'), 'DER_EXIST')
    refuse(m, create(2, 'tank'), 'DER_EXIST')
    refuse(m, create(2, 'bad label'), 'DER_INVAL')
    refuse(m, create(2, 'x'.repeat(128)), 'DER_INVAL')
    refuse(m, create(2, uuidOf(9)), 'DER_INVAL')
    refuse(m, create(2, 'ok', { uuid: 'zz' }), 'DER_INVAL')
    refuse(m, create(2, 'ok', { sizeBytes: 0 }), 'DER_INVAL')
    refuse(m, create(2, 'ok', { tgtRanks: [] }), 'DER_INVAL')
    refuse(m, create(2, 'ok', { tgtRanks: [0, 7] }), 'DER_NONEXIST')
    refuse(m, create(2, 'ok', { tgtRanks: [0, 2] }), 'DER_INVAL') // rank 2 stopped
    refuse(m, create(2, 'ok', { svcRanks: [1], tgtRanks: [0] }), 'DER_INVAL')
  })

  it('round-trips its snapshot, and refuses corrupt snapshots without changing', () => {
    const m = system(4)
    m.execute(create(1, 'tank'))
    m.execute({ op: 'exclude', ranks: [3] })
    m.execute({ op: 'setProps', props: { pool_scrub_mode: 'lazy' } })
    const fresh = new ManagementMachine()
    expectSnapshotRoundTrip(m, fresh)
    expect(fresh.systemQuery()).toEqual(m.systemQuery())
    expect(fresh.poolList()).toEqual(m.poolList())
    expect(fresh.systemMapVersion).toBe(m.systemMapVersion)
    const bytes = m.snapshot()
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const before = fresh.snapshot()
      expect(() => fresh.restore(bytes.subarray(0, cut))).toThrow()
      expect(Buffer.from(fresh.snapshot()).equals(Buffer.from(before))).toBe(true)
    }
  })
})

describe('mgmt command codec', () => {
  it('round-trips commands and refuses unknown operations, missing, extra and mistyped fields', () => {
    const c = join(1, 3, { rank: 4 })
    expect(decodeMgmtCommand(encodeMgmtCommand(c))).toEqual(c)
    expect(() => encodeMgmtCommand({ op: 'nope' } as unknown as MgmtCommand)).toThrow(DecodeError)
    expect(() => encodeMgmtCommand({ op: 'exclude' } as unknown as MgmtCommand)).toThrow(DecodeError)
    expect(() => encodeMgmtCommand({ op: 'exclude', ranks: [1], extra: 1 } as unknown as MgmtCommand)).toThrow(DecodeError)
    expect(() => encodeMgmtCommand({ op: 'exclude', ranks: ['1'] } as unknown as MgmtCommand)).toThrow(DecodeError)
    const m = new ManagementMachine()
    const bytes = encodeMgmtCommand(c)
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        m.apply(bytes.subarray(0, cut))
        expect.unreachable(`truncated command at ${cut} accepted`)
      } catch (e) {
        expect(isDerError(e), String(e)).toBe(true)
      }
    }
    expect(m.systemQuery()).toEqual([])
  })
})
