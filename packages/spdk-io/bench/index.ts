// FileBlockDevice against fio on the same file in the same run: 4 KiB random read and write IOPS
// at queue depth 1 and 32, 1 MiB sequential bandwidth, buffered (page cache) like fio's "buf"
// cases in ../../../../shared/peers/fio-bench.sh, plus direct I/O at QD32 with DmaBufferPool
// buffers. The I/O modes of FileBlockDevice (fs callbacks, FileHandle, sync) are compared to pick
// the default, and a raw `fs.readSync`/`fs.writeSync` loop shows the device layer's own overhead.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchReport } from '@x/bench'
import { Random, createRealRuntime } from '@x/common'
import { DmaBufferPool, FileBlockDevice, type FileIoMode } from '../src/index.ts'

// libuv's pool (default 4 threads) bounds the I/O in flight; it must be sized before first use.
process.env.UV_THREADPOOL_SIZE ??= '32'

const clock = createRealRuntime({ seed: 1 }).clock
const fileBytes = 512 * 1024 * 1024
const caseMs = Number(process.env.SPDK_IO_BENCH_MS ?? 2500)
const dir = mkdtempSync(join(tmpdir(), 'spdk-io-bench-'))
const file = join(dir, 'bench.img')
const report = new BenchReport('spdk-io')

interface Case {
  readonly rw: 'randread' | 'randwrite' | 'read' | 'write'
  readonly bs: number
  readonly qd: number
}

async function runOurs(device: FileBlockDevice, c: Case, buffers: Uint8Array[]): Promise<{ iops: number; bytesPerSecond: number }> {
  const blocksPerIo = c.bs / device.blockSizeBytes
  const slots = Math.floor(device.blockCount / blocksPerIo)
  const random = new Random(c.qd * 31 + c.bs)
  const lbas = Uint32Array.from({ length: 1 << 16 }, () => random.int(slots) * blocksPerIo)
  let ops = 0
  let sequential = 0
  const endMs = clock.monotonicMs() + caseMs
  const worker = async (index: number): Promise<void> => {
    const buffer = buffers[index] as Uint8Array
    let cursor = index * 7919
    while (clock.monotonicMs() < endMs) {
      let lba: number
      if (c.rw === 'randread' || c.rw === 'randwrite') lba = lbas[cursor++ & 0xffff] as number
      else {
        lba = (sequential % slots) * blocksPerIo
        sequential++
      }
      if (c.rw === 'randread' || c.rw === 'read') await device.read(lba, buffer)
      else await device.write(lba, buffer)
      ops++
    }
  }
  const startMs = clock.monotonicMs()
  await Promise.all(Array.from({ length: c.qd }, (_, i) => worker(i)))
  // Like fio's end_fsync=1 for the sequential write case; fio's random write cases do not sync.
  if (c.rw === 'write') await device.flush()
  const seconds = (clock.monotonicMs() - startMs) / 1000
  return { iops: ops / seconds, bytesPerSecond: (ops * c.bs) / seconds }
}

/** Raw `fs.readSync`/`fs.writeSync` at the same queue depth: no device layer at all. */
function runRaw(fd: number, c: Case, buffers: Uint8Array[]): { iops: number } {
  const slots = Math.floor(fileBytes / c.bs)
  const random = new Random(c.qd * 17 + c.bs)
  const offsets = Float64Array.from({ length: 1 << 16 }, () => random.int(slots) * c.bs)
  const buffer = buffers[0] as Uint8Array
  let ops = 0
  let cursor = 0
  const startMs = clock.monotonicMs()
  const endMs = startMs + caseMs
  while (clock.monotonicMs() < endMs) {
    for (let i = 0; i < 64; i++) {
      const position = offsets[cursor++ & 0xffff] as number
      if (c.rw === 'randread') fs.readSync(fd, buffer, 0, c.bs, position)
      else fs.writeSync(fd, buffer, 0, c.bs, position)
      ops++
    }
  }
  return { iops: ops / ((clock.monotonicMs() - startMs) / 1000) }
}

const fioAvailable = spawnSync('fio', ['--version'], { encoding: 'utf8' }).status === 0
if (!fioAvailable) console.log('fio not found: skipping the fio references (apt-get install -y fio); raw node fs is the only reference')

interface FioResult {
  readonly iops: number
  readonly bytesPerSecond: number
}

function runFio(c: Case, engine: 'psync' | 'libaio', direct: boolean): FioResult | undefined {
  if (!fioAvailable) return undefined
  const args = [
    '--name=job',
    `--filename=${file}`,
    `--size=${fileBytes}`,
    '--time_based',
    `--runtime=${Math.max(1, Math.round(caseMs / 1000))}`,
    '--ramp_time=1',
    '--numjobs=1',
    '--group_reporting',
    '--randrepeat=0',
    '--norandommap',
    '--output-format=json',
    `--bs=${c.bs}`,
    `--rw=${c.rw}`,
    `--ioengine=${engine}`,
    `--iodepth=${c.qd}`,
    direct ? '--direct=1' : '--invalidate=0',
  ]
  if (c.rw === 'write') args.push('--end_fsync=1')
  const result = spawnSync('fio', args, { encoding: 'utf8', timeout: caseMs + 60_000 })
  if (result.status !== 0) {
    console.log(`fio failed (${result.status}): ${result.stderr}`)
    return undefined
  }
  const parsed = JSON.parse(result.stdout) as { jobs: { read: { iops: number; bw_bytes: number; io_bytes: number }; write: { iops: number; bw_bytes: number; io_bytes: number } }[] }
  const job = parsed.jobs[0]
  if (job === undefined) return undefined
  const side = job.write.io_bytes > 0 ? job.write : job.read
  return { iops: side.iops, bytesPerSecond: side.bw_bytes }
}

function buffersFor(c: Case): Uint8Array[] {
  const random = new Random(c.bs)
  return Array.from({ length: c.qd }, () => random.bytes(c.bs))
}

async function main(): Promise<void> {
  console.log(`file ${file}, ${fileBytes >> 20} MiB, ${caseMs} ms per case, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}`)
  // Lay the file out fully (so reads never hit holes) and keep it in the page cache.
  const layout = await FileBlockDevice.open({ path: file, create: true, blockSizeBytes: 4096, blockCount: fileBytes / 4096 })
  const chunk = new Random(3).bytes(1 << 20)
  for (let lba = 0; lba < layout.blockCount; lba += 256) await layout.write(lba, chunk)
  await layout.flush()
  await layout.close()

  // Which I/O mechanism is fastest? (4 KiB random reads at QD1 and QD32.)
  const modeIops = new Map<string, number>()
  for (const mode of ['callback', 'promise', 'sync'] as FileIoMode[]) {
    for (const qd of [1, 32]) {
      const device = await FileBlockDevice.open({ path: file, blockSizeBytes: 4096, ioMode: mode, queueDepth: 128 })
      const result = await runOurs(device, { rw: 'randread', bs: 4096, qd }, buffersFor({ rw: 'randread', bs: 4096, qd }))
      await device.close()
      modeIops.set(`${mode} qd${qd}`, result.iops)
      console.log(`  mode ${mode} randread 4k qd${qd}: ${Math.round(result.iops)} IOPS`)
    }
  }
  // Transfers of 64 KiB and more: `auto` (mixed: thread pool, the event loop stays free) against
  // `sync` (fastest raw copy, but each write holds the event loop for its whole memcpy).
  for (const bs of [64 * 1024, 1 << 20]) {
    const c: Case = { rw: 'randwrite', bs, qd: 16 }
    const results = new Map<string, number>()
    for (const mode of ['auto', 'sync'] as FileIoMode[]) {
      const device = await FileBlockDevice.open({ path: file, blockSizeBytes: 4096, ioMode: mode, queueDepth: 128 })
      results.set(mode, (await runOurs(device, c, buffersFor(c))).bytesPerSecond / (1 << 20))
      await device.close()
    }
    report.add({ name: `FileBlockDevice auto (mixed) randwrite ${bs >> 10}k qd16`, unit: 'MiB/s', value: results.get('auto') ?? 0, reference: 'FileBlockDevice sync mode (blocks the event loop)', referenceValue: results.get('sync') ?? 1, higherIsBetter: true })
  }
  const fd = fs.openSync(file, 'r+')
  const bestRaw = (c: Case): { iops: number } => {
    const first = runRaw(fd, c, buffersFor(c))
    const second = runRaw(fd, c, buffersFor(c))
    return first.iops > second.iops ? first : second
  }
  const rawQd1 = bestRaw({ rw: 'randread', bs: 4096, qd: 1 })
  const rawQd32 = bestRaw({ rw: 'randread', bs: 4096, qd: 32 })
  const rawWQd32 = bestRaw({ rw: 'randwrite', bs: 4096, qd: 32 })
  fs.closeSync(fd)
  for (const mode of ['callback', 'promise']) {
    for (const qd of [1, 32]) {
      report.add({ name: `FileBlockDevice ${mode} mode randread 4k qd${qd}`, unit: 'IOPS', value: modeIops.get(`${mode} qd${qd}`) ?? 0, reference: 'FileBlockDevice sync mode (auto for buffered transfers under 64 KiB)', referenceValue: modeIops.get(`sync qd${qd}`) ?? 1, higherIsBetter: true })
    }
  }

  const cases: { label: string; c: Case; fio: [engine: 'psync' | 'libaio', direct: boolean]; raw?: number }[] = [
    { label: 'randread 4k qd1 buf(cached)', c: { rw: 'randread', bs: 4096, qd: 1 }, fio: ['psync', false], raw: rawQd1.iops },
    { label: 'randread 4k qd32 buf(cached)', c: { rw: 'randread', bs: 4096, qd: 32 }, fio: ['libaio', false], raw: rawQd32.iops },
    { label: 'randwrite 4k qd1 buf', c: { rw: 'randwrite', bs: 4096, qd: 1 }, fio: ['psync', false] },
    { label: 'randwrite 4k qd32 buf', c: { rw: 'randwrite', bs: 4096, qd: 32 }, fio: ['libaio', false], raw: rawWQd32.iops },
    { label: 'seqwrite 1M qd1 buf end_fsync', c: { rw: 'write', bs: 1 << 20, qd: 1 }, fio: ['psync', false] },
    { label: 'seqread 1M qd1 buf(cached)', c: { rw: 'read', bs: 1 << 20, qd: 1 }, fio: ['psync', false] },
  ]
  // Best of two alternating runs each: this machine is shared, and a burst of load from
  // elsewhere should not decide a ratio.
  for (const { label, c, fio, raw } of cases) {
    let ours = { iops: 0, bytesPerSecond: 0 }
    let reference: FioResult | undefined
    for (let round = 0; round < 2; round++) {
      const device = await FileBlockDevice.open({ path: file, blockSizeBytes: 4096, queueDepth: 128 })
      const run = await runOurs(device, c, buffersFor(c))
      await device.close()
      if (run.iops > ours.iops) ours = run
      const fioRun = runFio(c, fio[0], fio[1])
      if (fioRun !== undefined && (reference === undefined || fioRun.iops > reference.iops)) reference = fioRun
    }
    const bandwidth = c.bs >= 1 << 20
    const unit = bandwidth ? 'MiB/s' : 'IOPS'
    const value = bandwidth ? ours.bytesPerSecond / (1 << 20) : ours.iops
    if (reference !== undefined) {
      const referenceValue = bandwidth ? reference.bytesPerSecond / (1 << 20) : reference.iops
      report.add({ name: `FileBlockDevice ${label}`, unit, value, reference: `fio ${fio[0]} iodepth=${c.qd}${fio[1] ? ' direct' : ''}`, referenceValue, higherIsBetter: true })
    }
    if (raw !== undefined) report.add({ name: `FileBlockDevice ${label} (layer overhead)`, unit, value, reference: 'raw node fs.readSync/fs.writeSync loop', referenceValue: raw, higherIsBetter: true })
  }

  // Direct I/O at QD32 with address-aligned pool buffers (through the disk, not the page cache).
  const direct = await FileBlockDevice.open({ path: file, blockSizeBytes: 4096, direct: true, queueDepth: 128 }).catch((error: unknown) => {
    console.log(`O_DIRECT unavailable here: ${String(error)}`)
    return undefined
  })
  if (direct !== undefined) {
    const pool = new DmaBufferPool({ bufferSizeBytes: 4096, bufferCount: 32 })
    const buffers = Array.from({ length: 32 }, () => pool.tryAcquire() as Uint8Array)
    for (const rw of ['randread', 'randwrite'] as const) {
      const c: Case = { rw, bs: 4096, qd: 32 }
      let ours = await runOurs(direct, c, buffers)
      let reference = runFio(c, 'libaio', true)
      const again = await runOurs(direct, c, buffers)
      if (again.iops > ours.iops) ours = again
      const fioAgain = runFio(c, 'libaio', true)
      if (fioAgain !== undefined && (reference === undefined || fioAgain.iops > reference.iops)) reference = fioAgain
      if (reference !== undefined) report.add({ name: `FileBlockDevice ${rw} 4k qd32 direct`, unit: 'IOPS', value: ours.iops, reference: 'fio libaio iodepth=32 direct', referenceValue: reference.iops, higherIsBetter: true })
    }
    await direct.close()
  }
  report.write()
}

try {
  await main()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
