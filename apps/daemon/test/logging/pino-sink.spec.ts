import { VirtualRuntime, isDerError } from '@x/common'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DaemonLogging, PinoLogSink } from '../../src/index.ts'

/** An in-memory pino destination: one JSON object per line. */
class LineStream {
  readonly lines: string[] = []
  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line !== '') this.lines.push(line)
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

describe('PinoLogSink', () => {
  it('writes records as JSON lines with level, the record time, subsystem, message and fields', () => {
    const stream = new LineStream()
    const runtime = new VirtualRuntime({ seed: 1, realtimeStartMs: 1_700_000_000_000 })
    const logging = new DaemonLogging({ sink: new PinoLogSink({ destination: stream, base: {} }), clock: runtime.clock, logMask: 'DEBUG' })
    const log = logging.root.logger('raft', { rank: 2 })
    log.info('became leader', { term: 7n, level: 'x', msg: 'y' })
    runtime.advanceSync(5)
    log.debug('heartbeat')
    expect(stream.records()).toEqual([
      { level: 'info', time: 1_700_000_000_000, subsys: 'raft', rank: 2, term: 7, field_level: 'x', field_msg: 'y', msg: 'became leader' },
      { level: 'debug', time: 1_700_000_000_005, subsys: 'raft', rank: 2, msg: 'heartbeat' },
    ])
  })

  it('applies the config log mask and changes it at run time, resetting to the configured one', () => {
    const stream = new LineStream()
    const runtime = new VirtualRuntime({ seed: 2 })
    const logging = new DaemonLogging({ sink: new PinoLogSink({ destination: stream, base: {} }), clock: runtime.clock, logMask: 'ERR,raft=DEBUG' })
    const raft = logging.root.logger('raft')
    const vos = logging.root.logger('vos')
    const emitAll = (): void => {
      raft.debug('r-debug')
      raft.trace('r-trace')
      vos.warn('v-warn')
      vos.error('v-error')
    }
    const messages = (): unknown[] => stream.records().map((r) => r.msg)

    emitAll()
    expect(messages()).toEqual(['r-debug', 'v-error'])

    logging.setLogMask('WARN')
    expect(logging.logMask).toBe('WARN')
    emitAll()
    expect(messages()).toEqual(['r-debug', 'v-error', 'v-warn', 'v-error'])

    expect(() => logging.setLogMask('LOUD')).toThrowError(/bad log mask/)
    expect(logging.logMask).toBe('WARN')

    logging.setLogMask()
    expect(logging.logMask).toBe('ERR,raft=DEBUG')
    emitAll()
    expect(messages()).toEqual(['r-debug', 'v-error', 'v-warn', 'v-error', 'r-debug', 'v-error'])
  })

  it('refuses a bad configured mask with DER_INVAL', () => {
    expect(() => new DaemonLogging({ sink: new PinoLogSink({ destination: new LineStream() }), clock: new VirtualRuntime({ seed: 3 }).clock, logMask: 'NOPE' })).toThrowError(
      expect.objectContaining({ name: 'DER_INVAL' }),
    )
  })

  it('writes to a file (creating its directory), and drops records after close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x-daemon-log-'))
    try {
      const file = join(dir, 'logs', 'engine0.log')
      const sink = new PinoLogSink({ destination: { file } })
      const runtime = new VirtualRuntime({ seed: 4 })
      const logging = new DaemonLogging({ sink, clock: runtime.clock, logMask: 'INFO' })
      logging.root.logger('mgmt').info('started', { targets: 4 })
      logging.root.logger('mgmt').debug('hidden')
      sink.close()
      logging.root.logger('mgmt').error('after close')
      expect(sink.droppedRecords).toBe(1)
      const lines = (await readFile(file, 'utf8')).trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', subsys: 'mgmt', msg: 'started', targets: 4, pid: process.pid })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('never throws from write, even when the stream fails', () => {
    const sink = new PinoLogSink({
      destination: {
        write() {
          throw new Error('disk full')
        },
      },
    })
    expect(() => sink.write({ level: 'error', subsystem: 'x', message: 'm', fields: {}, timeMs: 0 })).not.toThrow()
    expect(sink.droppedRecords).toBe(1)
    expect(isDerError(new Error('x'))).toBe(false)
  })
})
