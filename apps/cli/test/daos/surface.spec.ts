import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSystem, startTestSystem } from '../support/system.ts'

let sys: TestSystem

const alice = { user: 'alice@', groups: ['staff@'] }
const bob = { user: 'bob@', groups: ['staff@', 'users@'] }
const carol = { user: 'carol@', groups: ['users@'] }
const dave = { user: 'dave@', groups: ['guests@'] }

beforeAll(async () => {
  sys = await startTestSystem('x-daos-surface-')
  const created = await sys.dmg(['pool', 'create', 'tank', '--size', '16M'], { identity: alice })
  expect(created.code, created.stderr).toBe(0)
  expect((await sys.daos(['container', 'create', 'tank', 'c1'], { identity: alice })).code).toBe(0)
}, 30_000)

afterAll(async () => {
  await sys.stop()
})

describe('daos command surface', () => {
  it('pool query, list-containers and pool attributes', async () => {
    const query = await sys.daos(['pool', 'query', 'tank'], { identity: alice })
    expect(query.code, query.stderr).toBe(0)
    expect(query.stdout).toMatch(/^Pool [0-9a-f-]{36}, label tank, state ready/)
    const list = await sys.daos(['pool', 'list-containers', 'tank'], { identity: alice })
    expect(list.stdout).toMatch(/^UUID\s+Label\n-+\s+-+\n[0-9a-f-]{36}\s+c1\n$/)
    expect((await sys.daos(['pool', 'list-attrs', 'tank'], { identity: alice })).stdout).toBe('No attributes.\n')
    expect((await sys.daos(['pool', 'set-attr', 'tank', 'owner.note', 'hello world'], { identity: alice })).code).toBe(0)
    expect((await sys.daos(['pool', 'set-attr', 'tank', 'b', '2'], { identity: alice })).code).toBe(0)
    expect((await sys.daos(['pool', 'list-attrs', 'tank'], { identity: alice })).stdout).toBe('b\nowner.note\n')
    const get = await sys.daosJson<{ attrs: Record<string, string> }>(['pool', 'get-attr', 'tank', 'owner.note'], { identity: alice })
    expect(get.envelope.response?.attrs).toEqual({ 'owner.note': 'hello world' })
    const verbose = await sys.daos(['pool', 'list-attrs', 'tank', '-V'], { identity: alice })
    expect(verbose.stdout).toMatch(/owner\.note\s+hello world/)
    // The reserved container holding them stays hidden.
    expect((await sys.daos(['container', 'list', 'tank'], { identity: alice })).stdout).not.toContain('x.pool_attrs')
    const missing = await sys.daos(['pool', 'get-attr', 'tank', 'nope'], { identity: alice })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^ERROR: daos: DER_NONEXIST\(-1005\)/)
    const reserved = await sys.daos(['pool', 'set-attr', 'tank', 'x.kv_oid', '1'], { identity: alice })
    expect(reserved.stderr).toMatch(/DER_INVAL.*reserved/)
  }, 30_000)

  it('container properties, attributes and snapshots', async () => {
    const props = await sys.daosJson<{ properties: Record<string, string> }>(['container', 'get-prop', 'tank', 'c1'], { identity: alice })
    expect(props.envelope.response?.properties).toMatchObject({ label: 'c1' })
    const text = await sys.daos(['container', 'get-prop', 'tank', 'c1', 'label'], { identity: alice })
    expect(text.stdout).toMatch(/^Properties for container c1\nName\s+Value\n-+\s+-+\n.*\(label\)\s+c1\n$/)
    expect((await sys.daos(['container', 'set-prop', 'tank', 'c1', 'max_snapshot:5'], { identity: alice })).stdout).toBe('Properties were successfully set\n')
    const immutable = await sys.daos(['container', 'set-prop', 'tank', 'c1', 'cksum:crc32'], { identity: alice })
    expect(immutable.code).toBe(1)
    expect(immutable.stderr).toMatch(/DER_INVAL/)

    expect((await sys.daos(['container', 'list-attrs', 'tank', 'c1'], { identity: alice })).stdout).toBe('No attributes.\n')
    expect((await sys.daos(['container', 'set-attr', 'tank', 'c1', 'color', 'blue'], { identity: alice })).code).toBe(0)
    expect((await sys.daos(['container', 'get-attr', 'tank', 'c1', 'color'], { identity: alice })).stdout).toMatch(/color\s+blue/)
    expect((await sys.daos(['container', 'list-attrs', 'tank', 'c1'], { identity: alice })).stdout).toBe('color\n')
    expect((await sys.daos(['container', 'del-attr', 'tank', 'c1', 'color'], { identity: alice })).code).toBe(0)
    expect((await sys.daos(['container', 'get-attr', 'tank', 'c1', 'color'], { identity: alice })).code).toBe(1)

    const snap = await sys.daosJson<{ epoch: string; name: string }>(['container', 'create-snap', 'tank', 'c1', '--snap', 'before'], { identity: alice })
    expect(snap.code).toBe(0)
    expect(snap.envelope.response?.epoch).toMatch(/^\d+$/)
    const second = await sys.daos(['container', 'create-snap', 'tank', 'c1'], { identity: alice })
    expect(second.stdout).toMatch(/^snapshot\/epoch \d+ has been created\n$/)
    const dup = await sys.daos(['container', 'create-snap', 'tank', 'c1', '--snap', 'before'], { identity: alice })
    expect(dup.stderr).toMatch(/DER_EXIST/)
    const snaps = await sys.daosJson<{ snapshots: { epoch: string; name: string }[] }>(['container', 'list-snaps', 'tank', 'c1'], { identity: alice })
    expect(snaps.envelope.response?.snapshots.map((s) => s.name)).toEqual(['before', ''])
    expect((await sys.daos(['container', 'destroy-snap', 'tank', 'c1', '--snap', 'before'], { identity: alice })).code).toBe(0)
    const epoch = snaps.envelope.response?.snapshots[1]?.epoch ?? ''
    expect((await sys.daos(['container', 'destroy-snap', 'tank', 'c1', '--epc', epoch], { identity: alice })).code).toBe(0)
    expect((await sys.daos(['container', 'list-snaps', 'tank', 'c1'], { identity: alice })).stdout).toBe('No snapshots.\n')
    expect((await sys.daos(['container', 'destroy-snap', 'tank', 'c1'], { identity: alice })).stderr).toMatch(/DER_INVAL.*exactly one/)
    expect((await sys.daos(['container', 'destroy-snap', 'tank', 'c1', '--epc', '12'], { identity: alice })).stderr).toMatch(/DER_NONEXIST/)
  }, 30_000)

  it('object query shows the placement of the container KV object', async () => {
    const q = await sys.daosJson<{ kvOid: string }>(['container', 'query', 'tank', 'c1'], { identity: alice })
    const oid = q.envelope.response?.kvOid ?? ''
    const layout = await sys.daosJson<{ oid: string; class: string; groups: { shards: { rank: number; target: number }[] }[] }>(['object', 'query', 'tank', 'c1', oid], { identity: alice })
    expect(layout.code).toBe(0)
    expect(layout.envelope.response).toMatchObject({ oid, class: 'S1' })
    expect(layout.envelope.response?.groups[0]?.shards[0]?.rank).toBe(0)
    const text = await sys.daos(['object', 'query', 'tank', 'c1', oid], { identity: alice })
    expect(text.stdout).toMatch(/^oid: \S+ ver 1 class S1 grp_nr: 1\ngrp: 0\n {2}shard 0 \(replica\): rank 0 target [01]\n$/)
    expect((await sys.daos(['object', 'query', 'tank', 'c1', 'nope'], { identity: alice })).stderr).toMatch(/DER_INVAL.*hi\.lo/)
  })
})

describe('pool ACL enforcement for the daos caller', () => {
  it('the owner may connect; others are DER_NO_PERM until the ACL names them', async () => {
    expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k', 'v'], { identity: alice })).code).toBe(0)
    // Alice owns the pool; her primary group staff@ is the owner group (GROUP@:rw by default).
    const groupMember = await sys.daos(['kv', 'get', 'tank', 'c1', 'k'], { identity: bob })
    expect(groupMember.code, groupMember.stderr).toBe(0)
    expect(groupMember.stdout).toBe('v\n')
    for (const args of [
      ['pool', 'query', 'tank'],
      ['container', 'list', 'tank'],
      ['container', 'create', 'tank', 'c2'],
      ['kv', 'get', 'tank', 'c1', 'k'],
      ['kv', 'put', 'tank', 'c1', 'k', 'w'],
    ]) {
      const denied = await sys.daos(args, { identity: carol })
      expect(denied.code, args.join(' ')).toBe(1)
      expect(denied.stderr).toMatch(/^ERROR: daos: DER_NO_PERM\(-1001\): .*carol@/)
    }
    expect((await sys.daos(['container', 'list', 'tank'], { identity: alice })).stdout).not.toContain('c2')

    // A named group gets read access: carol (users@) can read but not write.
    expect((await sys.dmg(['pool', 'update-acl', 'tank', '--entry', 'A:G:users@:r'])).code).toBe(0)
    expect((await sys.daos(['kv', 'get', 'tank', 'c1', 'k'], { identity: carol })).stdout).toBe('v\n')
    expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k', 'w'], { identity: carol })).stderr).toMatch(/DER_NO_PERM/)
    // A named user entry wins over the groups: bob (staff@, users@) is denied with an empty entry.
    expect((await sys.dmg(['pool', 'update-acl', 'tank', '--entry', 'A::bob@:'])).code).toBe(0)
    expect((await sys.daos(['kv', 'get', 'tank', 'c1', 'k'], { identity: bob })).stderr).toMatch(/DER_NO_PERM/)
    // EVERYONE@ covers the rest.
    expect((await sys.daos(['pool', 'query', 'tank'], { identity: dave })).stderr).toMatch(/DER_NO_PERM/)
    expect((await sys.dmg(['pool', 'update-acl', 'tank', '--entry', 'A::EVERYONE@:rw'])).code).toBe(0)
    expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k2', 'from dave'], { identity: dave })).code).toBe(0)
    // Deleting OWNER@ locks the owner out too (no implicit pool access).
    expect((await sys.dmg(['pool', 'overwrite-acl', 'tank', '--acl-file', '/a'], { files: { '/a': 'A:G:GROUP@:r\n' } })).code).toBe(0)
    expect((await sys.daos(['kv', 'get', 'tank', 'c1', 'k2'], { identity: alice })).stdout).toBe('from dave\n')
    expect((await sys.daos(['kv', 'put', 'tank', 'c1', 'k3', 'x'], { identity: alice })).stderr).toMatch(/DER_NO_PERM/)
    expect((await sys.daos(['pool', 'query', 'tank'], { identity: dave })).stderr).toMatch(/DER_NO_PERM/)
  }, 60_000)
})
