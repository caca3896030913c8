import { VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { SkewedClock } from '../../src/sim/clock.ts'
import { SimFabric } from '../../src/sim/fabric.ts'

describe('SimFabric one-way cuts', () => {
  it('drops messages in the cut direction only, and heals', async () => {
    const runtime = new VirtualRuntime({ seed: 7 })
    const fabric = new SimFabric({ runtime })
    const a = await fabric.open({ listen: 'memory://a' })
    const b = await fabric.open({ listen: 'memory://b' })
    const ab = await runtime.settle(a.connect('memory://b'), 1000)
    await runtime.advance(5)
    const ba = b.connections[0]
    if (ba === undefined) throw new Error('no accepted connection')
    const received: string[] = []
    const td = new TextDecoder()
    const te = new TextEncoder()
    for (const [ep, name] of [[a, 'a'], [b, 'b']] as const) ep.completions.setHandler((c) => c.kind === 'unexpected' && received.push(`${name}:${td.decode(c.data)}`))
    fabric.cutOneWay('memory://a', 'memory://b')
    expect(fabric.isPartitioned('memory://a', 'memory://b')).toBe(true)
    expect(fabric.isPartitioned('memory://b', 'memory://a')).toBe(false)
    ab.send(1, te.encode('lost'))
    ba.send(1, te.encode('back'))
    await runtime.advance(10)
    expect(received).toEqual(['a:back'])
    fabric.healOneWay('memory://a', 'memory://b')
    ab.send(1, te.encode('after'))
    await runtime.advance(10)
    expect(received).toEqual(['a:back', 'b:after'])
    fabric.cutOneWay('memory://b', 'memory://a')
    fabric.partition('memory://a', 'memory://b')
    fabric.healAll()
    expect(fabric.oneWayCuts).toBe(0)
    expect(fabric.isPartitioned('memory://a', 'memory://b')).toBe(false)
  })
})

describe('SkewedClock', () => {
  it('offsets and drifts the wall clock, keeps monotonic time, and resets', async () => {
    const runtime = new VirtualRuntime({ seed: 1 })
    const clock = new SkewedClock(runtime.clock)
    clock.step(250)
    expect(clock.skewMs).toBe(250)
    clock.setDriftPpm(10_000)
    await runtime.advance(1000)
    expect(clock.skewMs).toBe(260)
    expect(clock.monotonicMs()).toBe(runtime.clock.monotonicMs())
    clock.reset()
    expect(clock.skewMs).toBe(0)
  })
})
