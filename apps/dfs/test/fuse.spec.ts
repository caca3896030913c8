// Through the FUSE mount (skipped with the reason when /dev/fuse is not usable): create, write,
// read back, rename, ls, and fio's verifying workloads (fio is an existing filesystem test tool;
// Debian has no fsx or pjdfstest package) with their pass count.
import { spawn } from 'node:child_process'
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as nodePath from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Runtime } from '@x/common'
import { type Dfs, DfuseMount, fuseUsable } from '../src/index.ts'
import { type TestCluster, startRealCluster } from './support/cluster.ts'

const usable = await fuseUsable()
if (!usable.ok) console.warn(`FUSE tests skipped: ${usable.reason}`)

function run(runtime: Runtime, cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const timer = runtime.timers.schedule(timeoutMs, () => child.kill('SIGKILL'))
    child.on('error', (e) => {
      runtime.timers.cancel(timer)
      resolve({ code: -1, out: String(e) })
    })
    child.on('close', (code) => {
      runtime.timers.cancel(timer)
      resolve({ code: code ?? -1, out })
    })
  })
}

describe.skipIf(!usable.ok)('dfuse mount', () => {
  let c: TestCluster<Runtime>
  let dfs: Dfs
  let mount: DfuseMount
  const mnt = mkdtempSync(nodePath.join(tmpdir(), 'dfuse-'))

  beforeAll(async () => {
    c = await startRealCluster({ seed: 5, blockCount: 65536 })
    dfs = await c.mount({ capsMode: 'caps', clientId: 'dfuse-test', chunkSizeBytes: 1 << 20 })
    mount = new DfuseMount(dfs, mnt)
    await mount.mount()
  }, 30_000)

  afterAll(async () => {
    await mount?.unmount()
    await dfs?.unmount()
    c?.stop()
    rmSync(mnt, { recursive: true, force: true })
  }, 30_000)

  it('create, write, read back, rename, ls, stat, unlink', async () => {
    await fsp.mkdir(nodePath.join(mnt, 'dir'))
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff))
    await fsp.writeFile(nodePath.join(mnt, 'dir', 'a.bin'), data)
    expect(Buffer.compare(await fsp.readFile(nodePath.join(mnt, 'dir', 'a.bin')), data)).toBe(0)
    await fsp.rename(nodePath.join(mnt, 'dir', 'a.bin'), nodePath.join(mnt, 'b.bin'))
    expect((await fsp.readdir(mnt)).sort()).toEqual(['b.bin', 'dir'])
    expect((await fsp.stat(nodePath.join(mnt, 'b.bin'))).size).toBe(200_000)
    await fsp.symlink('b.bin', nodePath.join(mnt, 'link'))
    expect(await fsp.readlink(nodePath.join(mnt, 'link'))).toBe('b.bin')
    expect((await dfs.stat('/b.bin')).sizeBytes, 'the library sees what FUSE wrote').toBe(200_000)
    const ls = await run(c.runtime, 'ls', ['-l', mnt], 10_000)
    expect(ls.code, ls.out).toBe(0)
    expect(ls.out).toMatch(/b\.bin/)
    await fsp.unlink(nodePath.join(mnt, 'link'))
    await fsp.unlink(nodePath.join(mnt, 'b.bin'))
    await fsp.rmdir(nodePath.join(mnt, 'dir'))
    expect(await fsp.readdir(mnt)).toEqual([])
  }, 60_000)

  it('fio verifying workloads pass on the mount', async (ctx) => {
    const probe = await run(c.runtime, 'fio', ['--version'], 5000)
    if (probe.code !== 0) {
      ctx.skip(`fio is not installed (apt-get install -y fio): ${probe.out.trim()}`)
      return
    }
    const jobs = [
      ['--rw=write', '--bs=4k', '--size=2m'],
      ['--rw=randwrite', '--bs=4k', '--size=1m'],
      ['--rw=write', '--bs=1m', '--size=4m'],
      ['--rw=randwrite', '--bs=64k', '--size=2m'],
      ['--rw=randrw', '--bs=16k', '--size=1m'],
      ['--rw=write', '--bs=3k', '--size=1m'],
    ]
    let passed = 0
    const failures: string[] = []
    for (const [i, job] of jobs.entries()) {
      const r = await run(c.runtime, 'fio', ['--name=v' + i, `--directory=${mnt}`, '--ioengine=psync', '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', ...job], 60_000)
      if (r.code === 0 && !/verify: bad|err=\s*[1-9]/.test(r.out)) passed++
      else failures.push(`${job.join(' ')}: ${r.out.slice(-400)}`)
    }
    console.warn(`fio verify on dfuse: ${passed}/${jobs.length} jobs passed`)
    expect(failures).toEqual([])
  }, 240_000)
})
