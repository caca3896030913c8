import { VirtualRuntime, isDerError } from '@x/common'
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { GracefulShutdown, exitCodes } from '../src/index.ts'

const seed = 77

describe('GracefulShutdown', () => {
  it('runs stop hooks in reverse registration order, awaiting each one', async () => {
    const runtime = new VirtualRuntime({ seed })
    const shutdown = new GracefulShutdown({ timers: runtime.timers, hookTimeoutMs: 1000 })
    const order: string[] = []
    shutdown.register('telemetry', () => void order.push('telemetry'))
    shutdown.register('engine', async () => {
      await runtime.timers.sleep(300)
      order.push('engine')
    })
    shutdown.register('control', () => void order.push('control'))
    const done = shutdown.shutdown('test')
    await runtime.runUntilIdle()
    const report = await done
    expect(order, `seed ${seed}`).toEqual(['control', 'engine', 'telemetry'])
    expect(report).toEqual({
      reason: 'test',
      clean: true,
      outcomes: [
        { name: 'control', status: 'stopped' },
        { name: 'engine', status: 'stopped' },
        { name: 'telemetry', status: 'stopped' },
      ],
    })
    expect(runtime.nowMs).toBe(300)
  })

  it('bounds each hook by the timeout, reports failures, and still runs the hooks after them', async () => {
    const runtime = new VirtualRuntime({ seed })
    const shutdown = new GracefulShutdown({ timers: runtime.timers, hookTimeoutMs: 500 })
    const order: string[] = []
    shutdown.register('last', () => void order.push('last'))
    shutdown.register('throws', () => {
      throw new Error('cannot stop')
    })
    shutdown.register('rejects', () => Promise.reject(new Error('nope')))
    shutdown.register('hangs', () => new Promise<void>(() => {}))
    const done = shutdown.shutdown()
    await runtime.runUntilIdle()
    const report = await done
    expect(report.clean).toBe(false)
    expect(report.outcomes.map((o) => [o.name, o.status])).toEqual([
      ['hangs', 'timed-out'],
      ['rejects', 'failed'],
      ['throws', 'failed'],
      ['last', 'stopped'],
    ])
    expect(isDerError(report.outcomes[0]?.error, 'DER_TIMEDOUT')).toBe(true)
    expect(report.outcomes[1]?.error?.message).toBe('nope')
    expect(order).toEqual(['last'])
    expect(runtime.nowMs, `seed ${seed}`).toBe(500)
  })

  it('runs once: a second call returns the same report, and late registrations are refused', async () => {
    const runtime = new VirtualRuntime({ seed })
    const shutdown = new GracefulShutdown({ timers: runtime.timers })
    let runs = 0
    const unregister = shutdown.register('gone', () => void runs++)
    shutdown.register('kept', () => void runs++)
    unregister()
    const first = shutdown.shutdown('a')
    const second = shutdown.shutdown('b')
    expect(second).toBe(first)
    await runtime.runUntilIdle()
    expect((await first).reason).toBe('a')
    expect(runs).toBe(1)
    expect(shutdown.started).toBe(true)
    expect(() => shutdown.register('late', () => {})).toThrowError(expect.objectContaining({ name: 'DER_SHUTDOWN' }))
  })

  it('refuses a bad timeout with DER_INVAL', () => {
    const runtime = new VirtualRuntime({ seed })
    expect(() => new GracefulShutdown({ timers: runtime.timers, hookTimeoutMs: 0 })).toThrowError(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  describe('signal handlers (on a fake process)', () => {
    const setup = (hook: () => void | Promise<void>) => {
      const runtime = new VirtualRuntime({ seed })
      const shutdown = new GracefulShutdown({ timers: runtime.timers, hookTimeoutMs: 1000 })
      shutdown.register('hook', hook)
      const emitter = new EventEmitter()
      const exits: number[] = []
      const remove = shutdown.installSignalHandlers(emitter, (code) => exits.push(code))
      return { runtime, emitter, exits, remove }
    }

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal} stops the hooks and exits 0`, async () => {
        let stopped = false
        const { runtime, emitter, exits } = setup(() => {
          stopped = true
        })
        emitter.emit(signal)
        await runtime.runUntilIdle()
        expect(stopped).toBe(true)
        expect(exits).toEqual([exitCodes.clean])
      })
    }

    it('exits 1 when a hook failed, and 130 at once on a second signal', async () => {
      const { runtime, emitter, exits } = setup(() => runtime.timers.sleep(2000))
      emitter.emit('SIGTERM')
      await runtime.advance(10)
      emitter.emit('SIGINT')
      expect(exits).toEqual([exitCodes.forced])
      await runtime.runUntilIdle()
      expect(exits).toEqual([exitCodes.forced, exitCodes.unclean])
    })

    it('removes its handlers', () => {
      const { emitter, remove } = setup(() => {})
      expect(emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGTERM')).toBe(2)
      remove()
      expect(emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGTERM')).toBe(0)
    })
  })
})
