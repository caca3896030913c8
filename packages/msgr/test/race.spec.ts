import { VirtualRuntime } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import { describe, expect, it } from 'vitest'
import { messenger, range } from './helpers.ts'

const seeds = process.env.X_SEED === undefined ? [1, 2, 3, 4, 5] : [Number(process.env.X_SEED)]

describe('connection races', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: two peers dialling each other at once end with one session each, nothing lost`, async () => {
      const runtime = new VirtualRuntime({ seed })
      const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 + runtime.random.float() })
      const a = await messenger(fabric, runtime, 'engine.1', 'memory://e1')
      const b = await messenger(fabric, runtime, 'engine.2', 'memory://e2')
      const ab = a.m.connect('memory://e2')
      const ba = b.m.connect('memory://e1')
      for (let i = 0; i < 100; i++) {
        ab.send({ type: a.numbered, payload: { n: i, from: 'a' } })
        ba.send({ type: b.numbered, payload: { n: i, from: 'b' } })
      }
      const ok = await runtime.runUntil(() => a.recorder.messages.length === 100 && b.recorder.messages.length === 100, 20_000)
      expect(ok, `seed ${seed}: a ${a.recorder.messages.length}, b ${b.recorder.messages.length}`).toBe(true)
      expect(b.recorder.numbers()).toEqual(range(0, 100))
      expect(a.recorder.numbers()).toEqual(range(0, 100))
      expect(a.m.connections).toEqual([ab])
      expect(b.m.connections).toEqual([ba])
      expect(ab.state).toBe('open')
      expect(ba.state).toBe('open')
      // The session survives a reset afterwards: whoever dials now reconnects.
      fabric.resetConnections('memory://e1', 'memory://e2')
      for (let i = 100; i < 150; i++) {
        ab.send({ type: a.numbered, payload: { n: i, from: 'a' } })
        ba.send({ type: b.numbered, payload: { n: i, from: 'b' } })
      }
      expect(await runtime.runUntil(() => a.recorder.messages.length === 150 && b.recorder.messages.length === 150, 20_000), `seed ${seed}`).toBe(true)
      expect(b.recorder.numbers()).toEqual(range(0, 150))
      expect(a.recorder.numbers()).toEqual(range(0, 150))
    })
  }
})
