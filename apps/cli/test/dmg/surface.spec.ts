import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSystem, startTestSystem } from '../support/system.ts'

let sys: TestSystem

beforeAll(async () => {
  sys = await startTestSystem('x-dmg-surface-')
}, 30_000)

afterAll(async () => {
  await sys.stop()
})

describe('dmg command surface on one engine', () => {
  it('storage scan, format and query usage', async () => {
    const scan = await sys.dmg(['storage', 'scan'])
    expect(scan.code, scan.stderr).toBe(0)
    expect(scan.stdout).toMatch(/^Host\s+Rank\s+Storage Total\s+Formatted/)
    expect(scan.stdout).toContain('67.1 MB (2 devices)')
    const verbose = await sys.dmgJson<{ hosts: { tiers: { class: string; targets: number[] }[] }[] }>(['storage', 'scan', '-v'])
    expect(verbose.envelope.response?.hosts[0]?.tiers.map((t) => [t.class, t.targets])).toEqual([
      ['file', [0]],
      ['file', [1]],
    ])
    const format = await sys.dmg(['storage', 'format'])
    expect(format.code).toBe(0)
    expect(format.stdout).toMatch(/formatted/)
    const usage = await sys.dmgJson<{ hosts: { totalBytes: number; freeBytes: number; targets: unknown[] }[] }>(['storage', 'query', 'usage'])
    expect(usage.code).toBe(0)
    expect(usage.envelope.response?.hosts[0]?.targets).toHaveLength(2)
    expect(usage.envelope.response?.hosts[0]?.totalBytes).toBeGreaterThan(0)
    const text = await sys.dmg(['storage', 'query', 'usage'])
    expect(text.stdout).toMatch(/^Host\s+Rank\s+Total\s+Used\s+Free\s+Usage/)
  })

  it('creates a pool owned by --user/--group with an ACL file; properties and ACL commands', async () => {
    const files = { '/acl.txt': '# pool ACL\nA::OWNER@:rw\n\nA:G:GROUP@:r\nA::bob@:r\n' }
    const created = await sys.dmg(['pool', 'create', 'props', '--size', '8M', '--user', 'alice', '--group', 'staff@', '--acl-file', '/acl.txt', '--properties', 'reclaim:disabled'], { files })
    expect(created.code, created.stderr).toBe(0)
    const acl = await sys.dmg(['pool', 'get-acl', 'props'])
    expect(acl.stdout).toBe('# Owner: alice@\n# Owner Group: staff@\n# Entries:\nA::OWNER@:rw\nA::bob@:r\nA:G:GROUP@:r\n')

    const props = await sys.dmgJson<{ properties: Record<string, string> }>(['pool', 'get-prop', 'props'])
    expect(props.envelope.response?.properties).toMatchObject({ reclaim: 'disabled', owner: 'alice@', group: 'staff@', label: 'props' })
    const some = await sys.dmg(['pool', 'get-prop', 'props', 'reclaim,rd_fac'])
    expect(some.stdout).toMatch(/^Name\s+Value\n/)
    expect(some.stdout).toMatch(/\(reclaim\)\s+disabled/)
    expect(some.stdout.trim().split('\n')).toHaveLength(4)

    const set = await sys.dmg(['pool', 'set-prop', 'props', 'reclaim:lazy,space_rb:10'])
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toBe('pool set-prop succeeded\n')
    expect((await sys.dmgJson<{ properties: Record<string, string> }>(['pool', 'get-prop', 'props', 'reclaim,space_rb'])).envelope.response?.properties).toEqual({ reclaim: 'lazy', space_rb: '10' })

    const updated = await sys.dmgJson<{ entries: string[] }>(['pool', 'update-acl', 'props', '--entry', 'A::carol@:rw'])
    expect(updated.envelope.response?.entries).toContain('A::carol@:rw')
    const fromFile = await sys.dmgJson<{ entries: string[] }>(['pool', 'update-acl', 'props', '-a', '/more.txt'], { files: { '/more.txt': 'A::EVERYONE@:r\n' } })
    expect(fromFile.envelope.response?.entries).toContain('A::EVERYONE@:r')
    const deleted = await sys.dmgJson<{ entries: string[] }>(['pool', 'delete-acl', 'props', '--principal', 'u:carol@'])
    expect(deleted.envelope.response?.entries).not.toContain('A::carol@:rw')
    const overwritten = await sys.dmgJson<{ entries: string[] }>(['pool', 'overwrite-acl', 'props', '--acl-file', '/o.txt'], { files: { '/o.txt': 'A::OWNER@:rwcdtTaAo\n' } })
    expect(overwritten.envelope.response?.entries).toEqual(['A::OWNER@:rwcdtTaAo'])
  }, 30_000)

  it('excludes, drains and reintegrates targets; pool query shows their states', async () => {
    expect((await sys.dmg(['pool', 'create', 'maps', '--size', '8M'])).code).toBe(0)
    const before = await sys.dmgJson<{ mapVersion: number; activeTargets: number }>(['pool', 'query', 'maps'])
    expect(before.envelope.response).toMatchObject({ activeTargets: 2 })
    const excluded = await sys.dmgJson<{ mapVersion: number }>(['pool', 'exclude', 'maps', '--rank', '0', '--target-idx', '1'])
    expect(excluded.code).toBe(0)
    expect(excluded.envelope.response?.mapVersion).toBe((before.envelope.response?.mapVersion ?? 0) + 1)
    const query = await sys.dmg(['pool', 'query', 'maps'])
    expect(query.stdout).toContain('- Active targets:1, disabled targets:1')
    expect(query.stdout).toContain('Target states: UPIN=1, DOWN=1')
    const again = await sys.dmg(['pool', 'exclude', 'maps', '--rank', '0', '--target-idx', '1'])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/DER_ALREADY/)
    const reint = await sys.dmg(['pool', 'reintegrate', 'maps', '--rank', '0', '--target-idx', '1', '--wait'])
    expect(reint.code, reint.stderr).toBe(0)
    expect(reint.stdout).toMatch(/^Reintegrate command succeeded \(map version \d+\)\nRebuild idle/)
    const drained = await sys.dmg(['pool', 'drain', 'maps', '--rank', '0'])
    expect(drained.code, drained.stderr).toBe(0)
    expect((await sys.dmg(['pool', 'query', 'maps'])).stdout).toContain('Target states: DRAIN=2')
    const evict = await sys.dmg(['pool', 'evict', 'maps'])
    expect(evict.stdout).toBe('Pool-evict command succeeded (0 handle(s))\n')
  }, 30_000)

  it('draws a progress bar for pool create only on a terminal, never with -j', async () => {
    const tty = await sys.dmg(['pool', 'create', 'bar', '--size', '8M'], { isTTY: true })
    expect(tty.code).toBe(0)
    expect(tty.stderr).toContain('\u001b[1GCreating pool bar [')
    expect(tty.stderr).toContain('100% ready')
    const plain = await sys.dmg(['pool', 'destroy', 'bar'], { isTTY: true })
    expect(plain.stderr).toBe('')
    const json = await sys.dmg(['-j', 'pool', 'create', 'bar2', '--size', '8M'], { isTTY: true })
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 0 })
  }, 30_000)

  it('system query by rank; system stop and start the engine; exclude needs --ranks', async () => {
    const one = await sys.dmgJson<{ members: { rank: number }[] }>(['system', 'query', '--ranks', '0'])
    expect(one.envelope.response?.members.map((m) => m.rank)).toEqual([0])
    const unknown = await sys.dmg(['system', 'query', '--ranks', '5'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/DER_NONEXIST/)
    const stop = await sys.dmg(['system', 'stop'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/^Rank\s+Operation\s+Result\s+State\n.*\n0\s+stop\s+OK\s+Stopped\n$/)
    expect((await sys.dmg(['system', 'query'])).stdout).toMatch(/Stopped\n$/)
    const start = await sys.dmg(['system', 'start', '--ranks', '0'])
    expect(start.code, start.stderr).toBe(0)
    expect((await sys.dmg(['system', 'query'])).stdout).toMatch(/Joined\n$/)
    const noRanks = await sys.dmg(['system', 'exclude'])
    expect(noRanks.code).toBe(1)
    expect(noRanks.stderr).toMatch(/^ERROR: dmg: DER_INVAL\(-1003\): system exclude needs --ranks/)
  }, 30_000)
})
