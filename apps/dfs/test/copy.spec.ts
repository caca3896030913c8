// `daos filesystem copy` round trips a directory tree byte for byte (local -> daos:// -> local),
// through the commander commands and an in-process cluster.
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as nodePath from 'node:path'
import { Command } from 'commander'
import { afterAll, describe, expect, it } from 'vitest'
import { type DfsSession, formatProgress, parseChunkSize, parseDaosUri, registerFilesystemCommands } from '../src/index.ts'
import { startCluster } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 11)

function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string): void => {
    const abs = nodePath.join(root, rel)
    const s = lstatSync(abs)
    if (s.isSymbolicLink()) out[rel] = `link:${readlinkSync(abs)}`
    else if (s.isDirectory()) {
      out[rel] = `dir:${(s.mode & 0o777).toString(8)}`
      for (const n of readdirSync(abs).sort()) walk(nodePath.join(rel, n))
    } else out[rel] = `file:${(s.mode & 0o777).toString(8)}:${createHash('sha256').update(readFileSync(abs)).digest('hex')}`
  }
  walk('.')
  return out
}

describe('filesystem copy', () => {
  const tmp = mkdtempSync(nodePath.join(tmpdir(), 'dfs-copy-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  it('parses daos URIs', () => {
    expect(parseDaosUri('daos://p/c/a/b')).toEqual({ pool: 'p', cont: 'c', path: '/a/b' })
    expect(parseDaosUri('daos://p/c')).toEqual({ pool: 'p', cont: 'c', path: '/' })
    expect(parseDaosUri('/tmp/x')).toBeUndefined()
    expect(() => parseDaosUri('daos://p')).toThrow(/EINVAL/)
    expect([parseChunkSize('1048576'), parseChunkSize('64K'), parseChunkSize('1MiB'), parseChunkSize('2m')]).toEqual([1 << 20, 65536, 1 << 20, 2 << 20])
    expect(() => parseChunkSize('0')).toThrow(/DER_INVAL|out of range/)
    expect(() => parseChunkSize('1T')).toThrow(/bad chunk size/)
    expect(formatProgress({ filesDone: 1, filesTotal: 2, bytesDone: 1 << 20, bytesTotal: 2 << 20, dirs: 0, symlinks: 0 }, 10)).toBe('[#####.....]  50%  1/2 files  1.0/2.0 MiB')
  })

  it('round-trips a directory tree byte for byte through a container', async () => {
    const src = nodePath.join(tmp, 'src')
    mkdirSync(nodePath.join(src, 'sub', 'deeper'), { recursive: true })
    const rng = (n: number, salt: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + salt * 7 + ((i >> 8) ^ seed)) & 0xff))
    writeFileSync(nodePath.join(src, 'empty'), '')
    writeFileSync(nodePath.join(src, 'small.txt'), 'hello\n', { mode: 0o600 })
    writeFileSync(nodePath.join(src, 'sub', 'big.bin'), rng(300_000, 1))
    writeFileSync(nodePath.join(src, 'sub', 'deeper', 'chunky.bin'), rng(65_536 * 3 + 17, 2))
    symlinkSync('sub/big.bin', nodePath.join(src, 'link'))
    const c = await startCluster({ seed })
    const open = async (): Promise<DfsSession> => {
      const dfs = await c.mountRaw({})
      return { dfs, containerUuid: 'c', poolUuid: 'p', caching: 'caps', close: () => dfs.unmount() }
    }
    let out = ''
    let err = ''
    let failed = 0
    let interactive = true
    const runCommand = async (...args: string[]): Promise<void> => {
      const program = new Command().exitOverride()
      registerFilesystemCommands(program, open, { stdout: (t) => (out += t), stderr: (t) => (err += t), fail: (code) => (failed = code), interactive })
    await c.settle(program.parseAsync(['node', 'daos', ...args]))
    }
    await runCommand('filesystem', 'copy', '--src', src, '--dst', 'daos://pool/cont/')
    expect(failed, err).toBe(0)
    expect(out).toContain('Files:       4')
    expect(err, 'the cli-progress bar on a terminal').toContain('[##############################] 100%  4/4 files')
    interactive = false
    err = ''
    await runCommand('fs', 'ls', 'pool', 'cont', '/src')
    expect(out).toContain('big.bin'.slice(0, 0) + 'small.txt')
    const back = nodePath.join(tmp, 'back')
    await runCommand('fs', 'copy', '--src', 'daos://pool/cont/src', '--dst', back)
    expect(failed, err).toBe(0)
    expect(snapshot(back), `seed ${seed}`).toEqual(snapshot(src))
    expect(err, 'no bar off a terminal').toBe('')
    expect(statSync(nodePath.join(back, 'small.txt')).mode & 0o777).toBe(0o600)
    await runCommand('fs', 'rm', 'pool', 'cont', '/src', '-r')
    out = ''
    await runCommand('fs', 'ls', 'pool', 'cont', '/')
    expect(out).toBe('')
    await runCommand('fs', 'stat', 'pool', 'cont', '/nope')
    expect(failed).toBe(1)
    expect(err).toContain('ENOENT')
    c.stop()
  })
})
