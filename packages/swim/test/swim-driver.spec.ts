import { Random, VirtualRuntime } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type MemberId, type MembershipEvent, SwimDriver, SwimNode, resolveSwimConfig } from '../src/index.ts'

describe('SwimDriver', () => {
  it('runs a group over a byte transport, detects a stopped member, and drops bad bytes', () => {
    const seed = 77
    const runtime = new VirtualRuntime({ seed })
    const config = resolveSwimConfig({ suspicionTimeoutMs: 3000 }, 'daos')
    const ids = [0, 1, 2, 3]
    const drivers = new Map<MemberId, SwimDriver>()
    const events: (MembershipEvent & { observer: MemberId })[] = []
    for (const id of ids) {
      const node = new SwimNode({ self: id, members: ids, config, random: new Random(seed + id), nowMs: runtime.nowMs })
      drivers.set(id, new SwimDriver({
        node,
        runtime,
        transport: { send: (to, bytes) => void runtime.timers.schedule(2, () => drivers.get(to)?.receive(bytes)) },
        onEvent: (e) => events.push({ ...e, observer: id }),
      }))
    }
    for (const d of drivers.values()) d.start()
    runtime.advanceSync(5000)
    expect(events, `seed ${seed}`).toEqual([])

    const refused: string[] = []
    const victim = drivers.get(1) as SwimDriver
    const probe = new SwimDriver({ node: victim.node, runtime, transport: { send: () => undefined }, onRefused: (e) => refused.push(e.name) })
    probe.start()
    probe.receive(Uint8Array.from([1, 1, 3, 0, 0, 0, 9]))
    probe.receive(new Uint8Array(0))
    probe.stop()
    expect(probe.refusedPayloads).toBe(2)
    expect(refused).toEqual(['DER_TRUNC', 'DER_TRUNC'])

    drivers.get(2)?.stop()
    runtime.advanceSync(15_000)
    const dead = events.filter((e) => e.type === 'dead')
    expect(dead.map((e) => [e.observer, e.member]).sort(), `seed ${seed}`).toEqual([[0, 2], [1, 2], [3, 2]])
  })
})
