import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogRoot, MemoryLogSink, createRealRuntime, parseLogMask } from '@x/common'
import { type Daemon, type ServerConfig, embeddedDefaultConfig, startDaemon } from '../../src/index.ts'

/** A small one-node config under `dir`: 2 targets on 2 file devices of 32 MiB, fabric on port 0. */
export function smallConfig(dir: string): ServerConfig {
  const base = embeddedDefaultConfig(dir)
  const engine = base.engines[0]!
  return {
    ...base,
    engines: [
      {
        ...engine,
        targets: 2,
        fabricIfacePort: 0,
        storage: [
          { class: 'file', path: join(dir, 'engine0', 'bdev0.img'), sizeBytes: 32 << 20 },
          { class: 'file', path: join(dir, 'engine0', 'bdev1.img'), sizeBytes: 32 << 20 },
        ],
      },
    ],
  }
}

/** Starts a daemon on a temp dir with free ports; `cleanup` stops it and removes the dir. */
export async function startTestDaemon(dir = mkdtempSync(join(tmpdir(), 'x-daemon-'))): Promise<{ daemon: Daemon; dir: string; sink: MemoryLogSink; cleanup: () => Promise<void> }> {
  const runtime = createRealRuntime()
  const sink = new MemoryLogSink()
  const log = new LogRoot(sink, runtime.clock, parseLogMask('INFO'))
  const daemon = await startDaemon({ config: smallConfig(dir), dataDir: dir, runtime, log, controlPort: 0, clusterSizeBytes: 16 * 1024 })
  return {
    daemon,
    dir,
    sink,
    cleanup: async () => {
      await daemon.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
