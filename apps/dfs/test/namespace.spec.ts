// Operations the local reference cannot check (it runs as root, and node:fs has no xattrs):
// permissions, extended attributes, readdir anchors, name limits, codecs under fuzzing.
import { DecodeError, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Entry, O, XATTR, decodeAttr, decodeEntry, decodeSuperblock, decodeTimes, encodeAttr, encodeEntry, errnoOf, isDfsError } from '../src/index.ts'
import { startCluster, te } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 3)

async function errno(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (e) {
    return errnoOf(e)
  }
}

describe('namespace details', () => {
  it('checks permissions for other users (EACCES, EPERM) and lets root through', async () => {
    const c = await startCluster({ seed })
    const root = await c.mount({ capsMode: 'exclusive' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    const alice = root.as({ uid: 1000, gid: 1000 })
    const bob = root.as({ uid: 1001, gid: 1001 })
    await run(root.mkdir('/home', 0o755))
    await run(root.mkdir('/home/alice', 0o700))
    await run(root.chown('/home/alice', 1000, 1000))
    await run((await run(alice.open('/home/alice/secret', O.CREAT | O.WRONLY, 0o600))).close())
    expect(await run(errno(bob.stat('/home/alice/secret'))), `seed ${seed}`).toBe('EACCES')
    expect(await run(errno(bob.mkdir('/home/bob')))).toBe('EACCES')
    expect(await run(errno(bob.chmod('/home/alice', 0o777)))).toBe('EPERM')
    await run(alice.chmod('/home/alice', 0o755))
    expect(await run(errno(bob.open('/home/alice/secret', O.RDONLY)))).toBe('EACCES')
    expect(await run(errno(bob.chmod('/home/alice/secret', 0o777)))).toBe('EPERM')
    expect(await run(errno(alice.chown('/home/alice/secret', 1001, -1)))).toBe('EPERM')
    expect(await run(errno(root.open('/home/alice/secret', O.RDONLY).then((f) => f.close())))).toBe('ok')
    c.stop()
  })

  it('extended attributes with CREATE/REPLACE, ENODATA, listing', async () => {
    const c = await startCluster({ seed })
    const d = await c.mount({ capsMode: 'caps' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    await run((await run(d.open('/f', O.CREAT | O.WRONLY))).close())
    await run(d.setxattr('/f', 'user.a', te.encode('1')))
    expect(await run(errno(d.setxattr('/f', 'user.a', te.encode('2'), XATTR.CREATE)))).toBe('EEXIST')
    expect(await run(errno(d.setxattr('/f', 'user.b', te.encode('2'), XATTR.REPLACE)))).toBe('ENODATA')
    await run(d.setxattr('/f', 'user.b', te.encode('22')))
    expect(await run(d.listxattr('/f'))).toEqual(['user.a', 'user.b'])
    expect(new TextDecoder().decode(await run(d.getxattr('/f', 'user.b')))).toBe('22')
    await run(d.removexattr('/f', 'user.a'))
    expect(await run(errno(d.getxattr('/f', 'user.a')))).toBe('ENODATA')
    expect(await run(errno(d.removexattr('/f', 'user.a')))).toBe('ENODATA')
    const other = await c.mount({ capsMode: 'caps' })
    expect(await run(other.listxattr('/f')), 'another client sees them').toEqual(['user.b'])
    c.stop()
  })

  it('readdir pages resume from their anchors and list every entry once', async () => {
    const c = await startCluster({ seed })
    const d = await c.mount({ capsMode: 'none' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    await run(d.mkdir('/many'))
    const names = Array.from({ length: 37 }, (_, i) => `n${i}`)
    for (const n of names) await run(d.mkdir(`/many/${n}`))
    const seen: string[] = []
    let page = await run(d.readdir('/many', undefined, 5))
    seen.push(...page.entries.map((e) => e.name))
    while (!page.anchor.done) {
      page = await run(d.readdir('/many', page.anchor, 5))
      seen.push(...page.entries.map((e) => e.name))
    }
    expect(seen.sort(), `seed ${seed}`).toEqual([...names].sort())
    c.stop()
  })

  it('refuses bad names, paths, modes and flags before any I/O', async () => {
    const c = await startCluster({ seed })
    const d = await c.mount({ capsMode: 'exclusive' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    expect(await run(errno(d.mkdir(`/${'x'.repeat(256)}`)))).toBe('ENAMETOOLONG')
    expect(await run(errno(d.mkdir(`/${'y/'.repeat(2100)}`)))).toBe('ENAMETOOLONG')
    expect(await run(errno(d.mkdir('/a\0b')))).toBe('EINVAL')
    expect(await run(errno(d.mkdir('/m', 0o170000)))).toBe('EINVAL')
    await expect(d.open('/f', 3)).rejects.toSatisfy((e: unknown) => isDfsError(e, 'EINVAL'))
    expect(await run(errno(d.rmdir('/')))).toBe('EBUSY')
    expect(await run(errno(d.rename('/', '/x')))).toBe('EBUSY')
    const f = await run(d.open('/ro', O.CREAT | O.RDONLY))
    expect(await run(errno(f.write(0, te.encode('x'))))).toBe('EBADF')
    await run(f.close())
    expect(await run(errno(f.read(0, 1)))).toBe('EBADF')
    expect(isDerError(await run(d.open('/nope', O.RDONLY).catch((e: unknown) => e)), 'DER_NONEXIST')).toBe(true)
    c.stop()
  })

  it('record codecs round-trip and refuse garbage with DecodeError only', () => {
    const attr = { mode: 0o100644, uid: 1, gid: 2, nlink: 3, xattrs: new Map([['user.k', Uint8Array.of(1, 2)]]) }
    expect(decodeAttr(encodeAttr(attr))).toEqual(attr)
    const entry: Entry = { kind: 'symlink', oid: { hi: 5n, lo: 6n }, target: '../x', attr, times: { atimeMs: 1, mtimeMs: 2, ctimeMs: 3 } }
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        for (const decode of [decodeAttr, decodeEntry, decodeTimes, decodeSuperblock]) {
          try {
            decode(bytes)
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e
          }
        }
      }),
      { seed, numRuns: 3000 },
    )
  })
})
