// The pool service state machine: every command, every error, no change on error, snapshots.
import { describe, expect, it } from 'vitest'
import { type PoolCommand, PoolServiceMachine, decodePoolCommand, encodePoolCommand } from '../src/index.ts'
import { expectRefused, expectSnapshotRoundTrip, uuidOf } from './support/machines.ts'

const POOL = uuidOf(1, 'c')
const H_RW = uuidOf(1, 'd')
const H_RO = uuidOf(2, 'd')
const C1 = uuidOf(1, 'e')
const C2 = uuidOf(2, 'e')
const CH1 = uuidOf(1, 'f')
const CH2 = uuidOf(2, 'f')

function ready(): PoolServiceMachine {
  const m = new PoolServiceMachine(POOL)
  m.execute({ op: 'init', props: { label: 'tank', rd_fac: '1' }, acl: [] })
  m.execute({ op: 'connect', handle: H_RW, caps: 'rw' })
  m.execute({ op: 'connect', handle: H_RO, caps: 'ro' })
  return m
}

function refuse(m: PoolServiceMachine, c: PoolCommand, code: string): void {
  expectRefused(m, () => m.check(c), code)
  expectRefused(m, () => m.execute(c), code)
  expectRefused(m, () => m.apply(encodePoolCommand(c)), code)
}

describe('PoolServiceMachine: init, map, properties', () => {
  it('needs init first, once', () => {
    const m = new PoolServiceMachine(POOL)
    refuse(m, { op: 'connect', handle: H_RW, caps: 'rw' }, 'DER_UNINIT')
    refuse(m, { op: 'init', props: { rd_fac: '9' }, acl: [] }, 'DER_INVAL')
    refuse(m, { op: 'init', props: {}, acl: ['A::OWNER@:rwz'] }, 'DER_INVAL')
    m.execute({ op: 'init', props: { label: 'tank' }, acl: ['A::OWNER@:rw', 'A::EVERYONE@:r'] })
    expect(m.isInitialized).toBe(true)
    expect(m.getAcl()).toEqual(['A::OWNER@:rw', 'A::EVERYONE@:r'])
    refuse(m, { op: 'init', props: {}, acl: [] }, 'DER_ALREADY')
    expect(() => new PoolServiceMachine('nope')).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
  })

  it('takes pool maps whose version strictly increases', () => {
    const m = ready()
    expect(m.execute({ op: 'mapUpdate', version: 1, map: new Uint8Array([1]) })).toEqual({ mapVersion: 1 })
    expect(m.execute({ op: 'mapUpdate', version: 5, map: new Uint8Array([5, 5]) })).toEqual({ mapVersion: 5 })
    refuse(m, { op: 'mapUpdate', version: 5, map: new Uint8Array([6]) }, 'DER_STALE')
    refuse(m, { op: 'mapUpdate', version: 3, map: new Uint8Array([6]) }, 'DER_STALE')
    refuse(m, { op: 'mapUpdate', version: 6, map: new Uint8Array(0) }, 'DER_INVAL')
    expect(m.poolMap().version).toBe(5)
    expect([...m.poolMap().bytes]).toEqual([5, 5])
  })

  it('sets pool properties, refusing unknown, read-only, immutable and bad values', () => {
    const m = ready()
    expect(m.getProps(['rd_fac', 'space_rb'])).toEqual(new Map([['rd_fac', '1'], ['space_rb', '5']]))
    m.execute({ op: 'setProps', props: { reclaim: 'time', self_heal: 'rebuild;exclude' } })
    expect(m.getProps().get('self_heal')).toBe('exclude;rebuild')
    refuse(m, { op: 'setProps', props: { reclaim: 'never' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { svc_rf: '1' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { global_version: '9' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { bogus: '1' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { space_rb: '101' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: { space_rb: '05' } }, 'DER_INVAL')
    refuse(m, { op: 'setProps', props: {} }, 'DER_INVAL')
    expect(() => m.getProps(['bogus'])).toThrow(expect.objectContaining({ name: 'DER_INVAL' }) as Error)
    expect(m.poolQuery()).toMatchObject({ poolUuid: POOL, handles: 2, containers: 0, mapVersion: 0 })
  })
})

describe('PoolServiceMachine: ACL', () => {
  it('updates, deletes and overwrites entries; refuses malformed ones', () => {
    const m = ready()
    expect(m.getAcl()).toEqual(['A::OWNER@:rw', 'A:G:GROUP@:rw'])
    m.execute({ op: 'aclUpdate', entries: ['A::alice@:rcdt', 'A::OWNER@:rwcdtTaAo'] })
    expect(m.getAcl()).toEqual(['A::OWNER@:rwcdtTaAo', 'A::alice@:rcdt', 'A:G:GROUP@:rw'])
    m.execute({ op: 'aclDelete', principal: 'u:alice@' })
    m.execute({ op: 'aclDelete', principal: 'GROUP@' })
    expect(m.getAcl()).toEqual(['A::OWNER@:rwcdtTaAo'])
    refuse(m, { op: 'aclDelete', principal: 'g:staff@' }, 'DER_NONEXIST')
    refuse(m, { op: 'aclDelete', principal: 'alice' }, 'DER_INVAL')
    m.execute({ op: 'aclOverwrite', entries: ['A:G:staff@:r', 'A::EVERYONE@:'] })
    expect(m.getAcl()).toEqual(['A:G:staff@:r', 'A::EVERYONE@:'])
    for (const bad of ['A::OWNER@', 'D::OWNER@:r', 'A:X:OWNER@:r', 'A:G:OWNER@:r', 'A::GROUP@:r', 'A::alice:r', 'A::OWNER@:rr', 'A::OWNER@:rq', 'A::a b@:r']) {
      refuse(m, { op: 'aclUpdate', entries: [bad] }, 'DER_INVAL')
    }
    refuse(m, { op: 'aclOverwrite', entries: ['A::bob@:r', 'A::bob@:w'] }, 'DER_INVAL')
    refuse(m, { op: 'aclUpdate', entries: [] }, 'DER_INVAL')
  })
})

describe('PoolServiceMachine: handles', () => {
  it('connects, reconnects idempotently, refuses conflicts with exclusive handles, disconnects, evicts', () => {
    const m = ready()
    m.execute({ op: 'connect', handle: H_RW, caps: 'rw' })
    refuse(m, { op: 'connect', handle: H_RW, caps: 'ro' }, 'DER_EXIST')
    refuse(m, { op: 'connect', handle: uuidOf(3, 'd'), caps: 'ex' }, 'DER_BUSY')
    refuse(m, { op: 'connect', handle: uuidOf(3, 'd'), caps: 'rx' }, 'DER_INVAL')
    refuse(m, { op: 'connect', handle: 'h', caps: 'rw' }, 'DER_INVAL')
    m.execute({ op: 'disconnect', handle: H_RO })
    refuse(m, { op: 'disconnect', handle: H_RO }, 'DER_NO_HDL')
    m.execute({ op: 'disconnect', handle: H_RW })
    m.execute({ op: 'connect', handle: uuidOf(3, 'd'), caps: 'ex' })
    refuse(m, { op: 'connect', handle: H_RW, caps: 'ro' }, 'DER_BUSY')
    expect(m.handleCaps(uuidOf(3, 'd'))).toBe('ex')
    expect(m.execute({ op: 'evict' })).toEqual({ evicted: 1 })
    expect(m.poolQuery().handles).toBe(0)
    refuse(m, { op: 'evict', handles: [H_RW] }, 'DER_NO_HDL')
  })

  it('refuses a disconnect with open containers; evict closes them', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1' } })
    m.execute({ op: 'contOpen', handle: H_RW, cont: 'c1', contHandle: CH1, mode: 'rw' })
    refuse(m, { op: 'disconnect', handle: H_RW }, 'DER_BUSY')
    expect(m.execute({ op: 'evict', handles: [H_RW] })).toEqual({ evicted: 1 })
    expect(m.containerQuery('c1').handles.size).toBe(0)
    expect(m.poolQuery().handles).toBe(1)
  })
})

describe('PoolServiceMachine: containers', () => {
  it('creates containers with inherited and default properties; refuses duplicates, bad props, ro handles', () => {
    const m = ready()
    expect(m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1', layout_type: 'POSIX' } })).toEqual({ uuid: C1, label: 'c1' })
    const c = m.containerQuery(C1)
    expect([c.props.get('rd_fac'), c.props.get('layout_type'), c.props.get('cksum'), c.props.get('ec_cell_sz')]).toEqual(['1', 'POSIX', 'off', '131072'])
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C2, props: {} })
    expect(m.containerQuery(C2).label).toBe('container_label_not_set')
    expect(m.listContainers().map((x) => x.uuid)).toEqual([C1, C2])
    refuse(m, { op: 'contCreate', handle: H_RW, uuid: C1, props: {} }, 'DER_EXIST')
    refuse(m, { op: 'contCreate', handle: H_RW, uuid: uuidOf(3, 'e'), props: { label: 'c1' } }, 'DER_EXIST')
    refuse(m, { op: 'contCreate', handle: H_RW, uuid: uuidOf(3, 'e'), props: { cksum: 'md5' } }, 'DER_INVAL')
    refuse(m, { op: 'contCreate', handle: H_RW, uuid: uuidOf(3, 'e'), props: { zap: '1' } }, 'DER_INVAL')
    refuse(m, { op: 'contCreate', handle: H_RW, uuid: 'x', props: {} }, 'DER_INVAL')
    refuse(m, { op: 'contCreate', handle: H_RO, uuid: uuidOf(3, 'e'), props: {} }, 'DER_NO_PERM')
    refuse(m, { op: 'contCreate', handle: uuidOf(9, 'd'), uuid: uuidOf(3, 'e'), props: {} }, 'DER_NO_HDL')
  })

  it('opens and closes handles; destroy is DER_BUSY while open unless forced', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1' } })
    expect(m.execute({ op: 'contOpen', handle: H_RO, cont: 'c1', contHandle: CH1, mode: 'ro' })).toEqual({ uuid: C1, label: 'c1', openHandles: 1, snapshots: 0 })
    m.execute({ op: 'contOpen', handle: H_RO, cont: 'c1', contHandle: CH1, mode: 'ro' }) // retry: same handle
    refuse(m, { op: 'contOpen', handle: H_RO, cont: 'c1', contHandle: CH2, mode: 'rw' }, 'DER_NO_PERM')
    refuse(m, { op: 'contOpen', handle: H_RW, cont: 'c1', contHandle: CH1, mode: 'rw' }, 'DER_EXIST')
    refuse(m, { op: 'contOpen', handle: H_RW, cont: 'c1', contHandle: CH2, mode: 'wr' }, 'DER_INVAL')
    refuse(m, { op: 'contOpen', handle: H_RW, cont: 'nope', contHandle: CH2, mode: 'rw' }, 'DER_NONEXIST')
    refuse(m, { op: 'contDestroy', handle: H_RW, cont: 'c1', force: false }, 'DER_BUSY')
    refuse(m, { op: 'contDestroy', handle: H_RO, cont: 'c1', force: true }, 'DER_NO_PERM')
    m.execute({ op: 'contClose', contHandle: CH1 })
    refuse(m, { op: 'contClose', contHandle: CH1 }, 'DER_NO_HDL')
    m.execute({ op: 'contOpen', handle: H_RW, cont: C1, contHandle: CH2, mode: 'rw' })
    m.execute({ op: 'contDestroy', handle: H_RW, cont: C1, force: true })
    expect(m.listContainers()).toEqual([])
    refuse(m, { op: 'contDestroy', handle: H_RW, cont: C1, force: true }, 'DER_NONEXIST')
  })

  it('refuses opening an unclean container with DER_RF', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { status: 'unclean' } })
    refuse(m, { op: 'contOpen', handle: H_RW, cont: C1, contHandle: CH1, mode: 'rw' }, 'DER_RF')
  })

  it('sets container properties: mutable ones only, labels unique', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1' } })
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C2, props: { label: 'c2' } })
    m.execute({ op: 'contSetProps', cont: 'c1', props: { label: 'renamed', max_snapshot: '2' } })
    expect(m.containerQuery(C1).label).toBe('renamed')
    refuse(m, { op: 'contSetProps', cont: 'renamed', props: { label: 'c2' } }, 'DER_EXIST')
    refuse(m, { op: 'contSetProps', cont: 'renamed', props: { cksum: 'crc32' } }, 'DER_INVAL')
    refuse(m, { op: 'contSetProps', cont: 'renamed', props: {} }, 'DER_INVAL')
    refuse(m, { op: 'contSetProps', cont: 'c1', props: { status: 'healthy' } }, 'DER_NONEXIST')
  })

  it('sets, gets, lists and deletes attributes', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1' } })
    m.execute({ op: 'contSetAttrs', cont: 'c1', attrs: { b: new Uint8Array([2]), a: new Uint8Array([1]) } })
    expect(m.listAttrs('c1')).toEqual(['a', 'b'])
    expect(m.getAttrs('c1', ['b'])).toEqual(new Map([['b', new Uint8Array([2])]]))
    expect(() => m.getAttrs('c1', ['zz'])).toThrow(expect.objectContaining({ name: 'DER_NONEXIST' }) as Error)
    refuse(m, { op: 'contSetAttrs', cont: 'c1', attrs: {} }, 'DER_INVAL')
    refuse(m, { op: 'contSetAttrs', cont: 'c1', attrs: { big: new Uint8Array(64 * 1024 + 1) } }, 'DER_INVAL')
    refuse(m, { op: 'contSetAttrs', cont: 'c1', attrs: { ['n'.repeat(257)]: new Uint8Array(1) } }, 'DER_INVAL')
    refuse(m, { op: 'contDelAttrs', cont: 'c1', names: ['a', 'zz'] }, 'DER_NONEXIST')
    refuse(m, { op: 'contDelAttrs', cont: 'c1', names: [] }, 'DER_INVAL')
    m.execute({ op: 'contDelAttrs', cont: 'c1', names: ['a'] })
    expect(m.listAttrs('c1')).toEqual(['b'])
  })

  it('creates, lists and destroys snapshots, trimming to max_snapshot', () => {
    const m = ready()
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1', max_snapshot: '2' } })
    for (const e of [30n, 10n, 20n]) m.execute({ op: 'snapCreate', cont: 'c1', epoch: e })
    expect(m.listSnapshots('c1')).toEqual([20n, 30n])
    refuse(m, { op: 'snapCreate', cont: 'c1', epoch: 30n }, 'DER_EXIST')
    refuse(m, { op: 'snapCreate', cont: 'c1', epoch: 0n }, 'DER_INVAL')
    refuse(m, { op: 'snapDestroy', cont: 'c1', epoch: 10n }, 'DER_NONEXIST')
    m.execute({ op: 'snapDestroy', cont: 'c1', epoch: 20n })
    expect(m.listSnapshots('c1')).toEqual([30n])
    m.execute({ op: 'snapCreate', cont: 'c1', epoch: 1n << 60n })
    expect(m.listSnapshots('c1')).toEqual([30n, 1n << 60n])
  })

  it('round-trips its snapshot with everything in it, and refuses another pool\'s snapshot', () => {
    const m = ready()
    m.execute({ op: 'mapUpdate', version: 3, map: new Uint8Array([1, 2, 3]) })
    m.execute({ op: 'contCreate', handle: H_RW, uuid: C1, props: { label: 'c1' } })
    m.execute({ op: 'contOpen', handle: H_RW, cont: 'c1', contHandle: CH1, mode: 'rw' })
    m.execute({ op: 'contSetAttrs', cont: 'c1', attrs: { a: new Uint8Array([1]) } })
    m.execute({ op: 'snapCreate', cont: 'c1', epoch: 77n })
    m.execute({ op: 'aclUpdate', entries: ['A::bob@:r'] })
    const fresh = new PoolServiceMachine(POOL)
    expectSnapshotRoundTrip(m, fresh)
    expect(fresh.containerQuery('c1')).toEqual(m.containerQuery('c1'))
    expect(fresh.getAcl()).toEqual(m.getAcl())
    expect(fresh.poolQuery()).toEqual(m.poolQuery())
    const other = new PoolServiceMachine(uuidOf(2, 'c'))
    expectRefused(other, () => other.restore(m.snapshot()), 'DER_MISMATCH')
  })

  it('round-trips commands through the codec', () => {
    const cmds: PoolCommand[] = [
      { op: 'snapCreate', cont: 'c', epoch: 1n << 63n },
      { op: 'contSetAttrs', cont: 'c', attrs: { k: new Uint8Array([9]) } },
      { op: 'evict' },
      { op: 'evict', handles: [H_RW] },
    ]
    for (const c of cmds) expect(decodePoolCommand(encodePoolCommand(c))).toEqual(c)
  })
})

describe('PoolServiceMachine: ACL enforcement on connect', () => {
  it('grants by owner, named user, groups (union) and everyone, in DAOS order', () => {
    const m = new PoolServiceMachine(POOL)
    m.execute({ op: 'init', props: { owner: 'alice@', group: 'staff@' }, acl: ['A::OWNER@:rw', 'A::bob@:r', 'A:G:GROUP@:r', 'A:G:ops@:cd', 'A::EVERYONE@:'] })
    const connect = (n: number, caps: string, user: string, groups: string[] = []): PoolCommand => ({ op: 'connect', handle: uuidOf(n, 'd'), caps, user, groups })
    m.execute(connect(1, 'rw', 'alice@'))
    m.execute(connect(2, 'ro', 'bob@', ['ops@']))
    refuse(m, connect(3, 'rw', 'bob@', ['ops@']), 'DER_NO_PERM') // the named entry wins over groups
    m.execute(connect(4, 'rw', 'carol@', ['staff@', 'ops@'])) // r from GROUP@ + c,d from ops@
    refuse(m, connect(5, 'rw', 'dave@', ['staff@']), 'DER_NO_PERM')
    m.execute(connect(5, 'ro', 'dave@', ['staff@']))
    refuse(m, connect(6, 'ro', 'eve@'), 'DER_NO_PERM') // EVERYONE@ has nothing
    refuse(m, { op: 'connect', handle: uuidOf(7, 'd'), caps: 'ro', groups: ['staff@'] }, 'DER_INVAL')
    m.execute({ op: 'connect', handle: uuidOf(8, 'd'), caps: 'ro' }) // no identity: a trusted internal connect
    expect(m.poolQuery().handles).toBe(5)
  })
})
