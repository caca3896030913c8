// DFS rates and bandwidth through the library and through the FUSE mount, each against the same
// operations on a local tmpfs directory (/dev/shm) measured in the same run. The container lives
// on an in-process two-engine cluster (memory devices, MemoryFabric) on the real clock; the
// library mount has caps (one client: it is the loner and caches and buffers).
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs'
import * as nodePath from 'node:path'
import { BenchReport } from '@x/bench'
import { createRealRuntime } from '@x/common'
import { type Dfs, DfuseMount, O, fuseUsable } from '../src/index.ts'
import { startRealCluster } from '../test/support/cluster.ts'

const clock = createRealRuntime().clock
const files = Number(process.env.DFS_BENCH_FILES ?? 500)
const megabytes = Number(process.env.DFS_BENCH_MB ?? 64)
const chunk = new Uint8Array(1 << 20).map((_, i) => (i * 131) & 0xff)

async function rate(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = clock.monotonicMs()
  for (let i = 0; i < count; i++) await op(i)
  return count / ((clock.monotonicMs() - start) / 1000)
}

async function bandwidth(op: () => Promise<void>): Promise<number> {
  const start = clock.monotonicMs()
  await op()
  return megabytes / ((clock.monotonicMs() - start) / 1000)
}

interface Side {
  create(i: number): Promise<unknown>
  stat(i: number): Promise<unknown>
  unlink(i: number): Promise<unknown>
  write(): Promise<void>
  read(): Promise<void>
}

function localSide(dir: string): Side {
  const p = (i: number): string => nodePath.join(dir, `f${i}`)
  const big = nodePath.join(dir, 'big')
  return {
    create: async (i) => (await fsp.open(p(i), 'wx', 0o644)).close(),
    stat: (i) => fsp.stat(p(i)),
    unlink: (i) => fsp.unlink(p(i)),
    async write() {
      const f = await fsp.open(big, 'w')
      for (let i = 0; i < megabytes; i++) await f.write(chunk, 0, chunk.length, i * chunk.length)
      await f.sync()
      await f.close()
    },
    async read() {
      const f = await fsp.open(big, 'r')
      const buf = new Uint8Array(chunk.length)
      for (let i = 0; i < megabytes; i++) await f.read(buf, 0, buf.length, i * buf.length)
      await f.close()
    },
  }
}

function librarySide(dfs: Dfs, dir: string): Side {
  const p = (i: number): string => `${dir}/f${i}`
  const big = `${dir}/big`
  return {
    create: async (i) => (await dfs.open(p(i), O.CREAT | O.EXCL | O.WRONLY, 0o644)).close(),
    stat: (i) => dfs.stat(p(i)),
    unlink: (i) => dfs.unlink(p(i)),
    async write() {
      const f = await dfs.open(big, O.CREAT | O.WRONLY | O.TRUNC)
      for (let i = 0; i < megabytes; i++) await f.write(i * chunk.length, chunk)
      await f.sync()
      await f.close()
    },
    async read() {
      const f = await dfs.open(big, O.RDONLY)
      for (let i = 0; i < megabytes; i++) await f.read(i * chunk.length, chunk.length)
      await f.close()
    },
  }
}

async function compare(report: BenchReport, what: string, side: Side, reference: Side, referenceName: string): Promise<void> {
  const ops: [string, (s: Side) => Promise<number>, string][] = [
    ['create', (s) => rate(files, (i) => s.create(i)), 'ops/s'],
    ['stat', (s) => rate(files, (i) => s.stat(i)), 'ops/s'],
    ['unlink', (s) => rate(files, (i) => s.unlink(i)), 'ops/s'],
    ['1MiB sequential write', (s) => bandwidth(() => s.write()), 'MB/s'],
    ['1MiB sequential read', (s) => bandwidth(() => s.read()), 'MB/s'],
  ]
  for (const [name, measure, unit] of ops) {
    const referenceValue = await measure(reference)
    const value = await measure(side)
    const r = report.add({ name: `${what} ${name}`, unit, value, reference: referenceName, referenceValue, higherIsBetter: true })
    console.log(`${r.name}: ${value.toFixed(1)} ${unit} vs ${referenceValue.toFixed(1)} ${unit} (${referenceName}) = ${(value / referenceValue).toFixed(3)}x`)
  }
}

const report = new BenchReport('dfs')
const shm = mkdtempSync('/dev/shm/dfs-bench-')
const cluster = await startRealCluster({ seed: 1, blockCount: 1 << 17 })
const dfs = await cluster.mount({ capsMode: 'caps', clientId: 'bench', chunkSizeBytes: 1 << 20 })
try {
  await dfs.mkdir('/lib')
  await fsp.mkdir(nodePath.join(shm, 'lib'))
  await compare(report, 'library', librarySide(dfs, '/lib'), localSide(nodePath.join(shm, 'lib')), 'node:fs on tmpfs')
  const usable = await fuseUsable()
  if (!usable.ok) console.warn(`FUSE bench skipped: ${usable.reason}`)
  else {
    const mnt = mkdtempSync('/tmp/dfuse-bench-')
    const mount = new DfuseMount(dfs, mnt)
    await mount.mount()
    try {
      await fsp.mkdir(nodePath.join(mnt, 'fuse'))
      await fsp.mkdir(nodePath.join(shm, 'fuse'))
      await compare(report, 'fuse', localSide(nodePath.join(mnt, 'fuse')), localSide(nodePath.join(shm, 'fuse')), 'node:fs on tmpfs')
    } finally {
      await mount.unmount()
      rmSync(mnt, { recursive: true, force: true })
    }
  }
} finally {
  await dfs.unmount()
  cluster.stop()
  rmSync(shm, { recursive: true, force: true })
}
report.write()
process.exit(0)
