import { createRealRuntime } from '@x/common'
import { TcpFabric } from '@x/rdma-transport'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { type Connection, Policies } from '../src/index.ts'
import { messenger, range } from './helpers.ts'

const seed = Number(process.env.X_SEED ?? 8)

function socketOf(connection: Connection): Socket {
  const fabric = connection.transport?.fabric as unknown as { socket: Socket } | undefined
  if (fabric === undefined) throw new Error('no transport')
  return fabric.socket
}

describe('msgr over tcp on 127.0.0.1', () => {
  it('a destroyed socket mid-stream: the session resumes with no loss and no duplicate', async () => {
    const runtime = createRealRuntime({ seed })
    const fabric = new TcpFabric({ runtime })
    const until = async (predicate: () => boolean, timeoutMs = 15_000): Promise<boolean> => {
      const deadline = runtime.clock.monotonicMs() + timeoutMs
      while (!predicate()) {
        if (runtime.clock.monotonicMs() > deadline) return false
        await runtime.timers.sleep(2)
      }
      return true
    }
    try {
      const options = { defaultPolicy: Policies.losslessPeer(), keepaliveIntervalMs: 200, keepaliveTimeoutMs: 3000 }
      const a = await messenger(fabric, runtime, 'engine.1', 'tcp://127.0.0.1:0', options)
      const b = await messenger(fabric, runtime, 'engine.2', 'tcp://127.0.0.1:0', options)
      const ab = a.m.connect(b.m.address.uri, 'engine')
      const total = 6000
      let kills = 0
      for (let burst = 0; burst < 12; burst++) {
        const kill = burst === 3 || burst === 8
        if (kill) expect(await until(() => ab.state === 'open' && ab.transport !== undefined)).toBe(true)
        for (let i = burst * 500; i < (burst + 1) * 500; i++) ab.send({ type: a.numbered, payload: { n: i, from: 'a' }, data: new Uint8Array(i % 2000) })
        if (kill) {
          // Cut the socket under the session while this burst is in flight (sent, not acked).
          expect(ab.unacked, `seed ${seed}: nothing in flight`).toBeGreaterThan(0)
          socketOf(ab).destroy()
          kills++
        }
        await runtime.timers.sleep(5)
      }
      const done = await until(() => b.recorder.messages.length >= total && ab.unacked === 0, 20_000)
      const why = `seed ${seed}: got ${b.recorder.messages.length}, unacked ${ab.unacked}, reconnects ${ab.stats.reconnects}, replayed ${ab.stats.replayed}`
      expect(done, why).toBe(true)
      expect(b.recorder.numbers(), why).toEqual(range(0, total))
      expect(b.recorder.messages.every((m, i) => m.data.length === i % 2000)).toBe(true)
      expect(kills).toBe(2)
      expect(ab.stats.replayed, why).toBeGreaterThan(0)
      expect(ab.stats.reconnects, why).toBeGreaterThanOrEqual(2)
      expect(a.recorder.events.filter((e) => e !== 'connect')).toEqual([])
      await a.m.shutdown()
      await b.m.shutdown()
    } finally {
      await fabric.close()
    }
  }, 40_000)
})
