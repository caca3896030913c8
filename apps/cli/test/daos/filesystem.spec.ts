// `daos filesystem copy` and `daos fs ls|stat|mkdir|rm` in-process against an in-process daemon:
// a small tree is copied into a POSIX container and back out, byte for byte; the daemon serves
// caps, so the namespace caches under them.
import { createHash } from 'node:crypto'
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ControlClient } from '@x/daemon'
import { openDfsSession } from '@x/dfs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identifiedCaller } from '../../src/daos/commands.ts'
import { type TestSystem, admin, runtime, startTestSystem } from '../support/system.ts'

const seed = Number(process.env.X_SEED ?? 7)
let system: TestSystem

beforeAll(async () => {
  system = await startTestSystem('x-daos-fs-')
  const pool = await system.dmg(['pool', 'create', 'tank', '--size', '16M'])
  expect(pool.code, pool.stderr).toBe(0)
}, 30_000)

afterAll(async () => {
  await system?.stop()
})

function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string): void => {
    const abs = join(root, rel)
    const s = lstatSync(abs)
    if (s.isSymbolicLink()) out[rel] = `link:${readlinkSync(abs)}`
    else if (s.isDirectory()) {
      out[rel] = 'dir'
      for (const n of readdirSync(abs).sort()) walk(join(rel, n))
    } else out[rel] = `file:${(s.mode & 0o777).toString(8)}:${createHash('sha256').update(readFileSync(abs)).digest('hex')}`
  }
  walk('.')
  return out
}

function bytes(n: number, salt: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + salt * 7 + ((i >> 8) ^ seed)) & 0xff))
}

describe('daos filesystem', () => {
  it('copies a tree into a POSIX container and back out byte for byte (seed in X_SEED)', async () => {
    const created = await system.daos(['container', 'create', 'tank', 'posix1', '--type', 'POSIX', '--chunk-size', '64K'])
    expect(created.code, created.stderr).toBe(0)
    const src = join(system.dir, 'src')
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true })
    writeFileSync(join(src, 'empty'), '')
    writeFileSync(join(src, 'small.txt'), 'hello\n', { mode: 0o600 })
    writeFileSync(join(src, 'sub', 'big.bin'), bytes(200_000, 1))
    writeFileSync(join(src, 'sub', 'deeper', 'chunky.bin'), bytes(65_536 * 2 + 17, 2))
    symlinkSync('sub/big.bin', join(src, 'link'))

    const copyIn = await system.daos(['filesystem', 'copy', '--src', src, '--dst', 'daos://tank/posix1/tree'])
    expect(copyIn.code, `seed ${seed}: ${copyIn.stderr}`).toBe(0)
    expect(copyIn.stdout).toMatch(/Files:\s+4/)
    expect(copyIn.stderr, 'no bar when stderr is not a terminal').toBe('')

    const back = join(system.dir, 'back')
    const copyOut = await system.daos(['fs', 'copy', '--src', 'daos://tank/posix1/tree', '--dst', back])
    expect(copyOut.code, `seed ${seed}: ${copyOut.stderr}`).toBe(0)
    expect(snapshot(back), `seed ${seed}`).toEqual(snapshot(src))
  }, 60_000)

  it('stores the chunk size as the container property chunk_size', async () => {
    const prop = await system.daosJson<{ properties: Record<string, string> }>(['container', 'get-prop', 'tank', 'posix1', 'chunk_size'])
    expect(prop.envelope.response?.properties).toEqual({ chunk_size: '65536' })
  })

  it('gets caps from the daemon: a repeated stat is served from the cache, no lookup RPC', async () => {
    const control = new ControlClient({ target: system.daemon.control.address, clock: runtime.clock, timeoutMs: 5000 })
    try {
      const session = await openDfsSession(identifiedCaller(control, admin), 'tank', 'posix1', { runtime, timeoutMs: 5000 })
      try {
        expect(session.caching).toBe('caps')
        const first = await session.dfs.stat('/tree/sub/big.bin', false)
        const lookups = session.dfs.stats.lookupRpcs
        const hits = session.dfs.stats.lookupHits
        expect(lookups, 'the cold walk looks up each component').toBeGreaterThanOrEqual(3)
        const again = await session.dfs.stat('/tree/sub/big.bin', false)
        expect(again.sizeBytes).toBe(first.sizeBytes)
        expect(session.dfs.stats.lookupRpcs, 'the repeat costs no lookup').toBe(lookups)
        expect(session.dfs.stats.lookupHits).toBeGreaterThan(hits)
      } finally {
        await session.close()
      }
    } finally {
      control.close()
    }
  }, 30_000)

  it('lists, stats, makes and removes paths; errors name the errno with exit 1', async () => {
    const ls = await system.daos(['fs', 'ls', 'tank', 'posix1', '/tree'])
    expect(ls.code, ls.stderr).toBe(0)
    expect(ls.stdout.split('\n').filter((l) => l !== '').sort()).toEqual(['empty', 'link', 'small.txt', 'sub'])
    const stat = await system.daos(['fs', 'stat', 'tank', 'posix1', '/tree/sub/big.bin'])
    expect(stat.code, stat.stderr).toBe(0)
    expect(stat.stdout).toMatch(/Size\s+: 200000/)
    expect(stat.stdout).toMatch(/Type\s+: file/)

    expect((await system.daos(['fs', 'mkdir', 'tank', 'posix1', '-p', '/a/b/c'])).code).toBe(0)
    const abc = await system.daos(['fs', 'stat', 'tank', 'posix1', '/a/b/c'])
    expect(abc.stdout).toMatch(/Type\s+: dir/)
    const notEmpty = await system.daos(['fs', 'rm', 'tank', 'posix1', '/a'])
    expect(notEmpty.code).toBe(1)
    expect(notEmpty.stderr).toMatch(/ENOTEMPTY/)
    expect((await system.daos(['fs', 'rm', 'tank', 'posix1', '-r', '/a'])).code).toBe(0)
    const gone = await system.daos(['fs', 'stat', 'tank', 'posix1', '/a'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/ENOENT/)
  }, 60_000)

  it('refuses a KV container and a bad chunk size without touching the pool', async () => {
    expect((await system.daos(['container', 'create', 'tank', 'kv1'])).code).toBe(0)
    const kv = await system.daos(['fs', 'ls', 'tank', 'kv1'])
    expect(kv.code).toBe(1)
    expect(kv.stderr).toMatch(/not POSIX/)
    for (const bad of ['0', '3000', '12K', 'lots', '2G']) {
      const r = await system.daos(['container', 'create', 'tank', `bad${bad.length}`, '--type', 'POSIX', '--chunk-size', bad])
      expect(r.code, bad).toBe(1)
      expect(r.stderr, bad).toMatch(/DER_INVAL/)
    }
    const kvChunk = await system.daos(['container', 'create', 'tank', 'kv2', '--chunk-size', '64K'])
    expect(kvChunk.code).toBe(1)
    expect(kvChunk.stderr).toMatch(/DER_INVAL.*POSIX/)
    const list = await system.daosJson<{ containers: { label: string }[] }>(['container', 'list', 'tank'])
    expect(list.envelope.response?.containers.map((c) => c.label).sort()).toEqual(['kv1', 'posix1'])
  }, 30_000)
})
