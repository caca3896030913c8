import { Random, drainMicrotasks } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Protocol, defineRpc } from '../src/index.ts'
import { type Cluster, errorName, makeCluster, settle, u32Codec } from './helpers.ts'

/** An integer in [lo, hi]. */
function between(random: Random, lo: number, hi: number): number {
  return lo + random.int(hi - lo + 1)
}

const seeds = Array.from({ length: 12 }, (_, i) => 1000 + i * 7919)

/** Every completion is counted by exactly one of these metrics. */
function completions(c: Cluster): number {
  const opcodes = c.rpcs.protocol.rpcs.map((f) => `0x${f.opcode.toString(16).padStart(8, '0')}`)
  let total = 0
  for (const opcode of opcodes) {
    const labels = { context: '0', opcode }
    total += c.metrics.histogramSnapshot('cart_rpc_latency_ms', labels)?.count ?? 0
    for (const name of ['cart_rpc_timed_out_total', 'cart_rpc_canceled_total', 'cart_rpc_failed_total']) total += c.metrics.value(name, labels)
  }
  return total
}

function sentBy(c: Cluster): number {
  return c.rpcs.protocol.rpcs.reduce((n, f) => n + c.metrics.value('cart_rpc_sent_total', { context: '0', opcode: `0x${f.opcode.toString(16).padStart(8, '0')}` }), 0)
}

describe('exactly-once completion (seeded)', () => {
  it.each(seeds)('a late reply racing its timeout completes the RPC once (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { fabric: { latencyMs: 5 } })
    const random = new Random(seed)
    const results: Promise<{ outcome: string; at: number; start: number; timeoutMs: number; delay: number; value?: number }>[] = []
    for (let i = 0; i < 200; i++) {
      const delay = between(random, 0, 20)
      // Round trip is 2 * 5 ms plus the handler's delay: aim the timeout right at it.
      const timeoutMs = Math.max(1, 10 + delay + between(random, -2, 2))
      const start = c.runtime.nowMs
      const controller = new AbortController()
      if (random.chance(0.1)) c.runtime.timers.schedule(between(random, 0, 30), () => controller.abort())
      results.push(
        settle(c.clientContext.call(c.rpcs.sleep, { rank: 0 }, delay, { timeoutMs, signal: controller.signal })).then((o) => ({
          outcome: errorName(o),
          at: c.runtime.nowMs,
          start,
          timeoutMs,
          delay,
          ...(o.ok ? { value: o.value } : {}),
        })),
      )
      if (random.chance(0.5)) await c.runtime.advance(between(random, 0, 3))
    }
    await c.runtime.runUntilIdle()
    const settled = await Promise.all(results)
    for (const r of settled) {
      expect(['OK', 'DER_TIMEDOUT', 'DER_CANCELED'], `seed ${seed}`).toContain(r.outcome)
      if (r.outcome === 'OK') expect(r.value, `seed ${seed}`).toBe(r.delay)
      if (r.outcome === 'DER_TIMEDOUT') expect(r.at - r.start, `seed ${seed}`).toBe(r.timeoutMs)
      expect(r.at - r.start, `seed ${seed}: completed after its deadline`).toBeLessThanOrEqual(r.timeoutMs)
    }
    expect(completions(c), `seed ${seed}: one completion per RPC`).toBe(200)
    expect(sentBy(c), `seed ${seed}`).toBe(200)
    expect(c.clientContext.inflightCount, `seed ${seed}`).toBe(0)
    expect(c.metrics.value('cart_rpc_inflight', { context: '0' }), `seed ${seed}`).toBe(0)
    const late = c.metrics.value('cart_rpc_late_replies_total', { context: '0' })
    const failedEarly = settled.filter((r) => r.outcome !== 'OK').length
    expect(late, `seed ${seed}: late replies are those of RPCs completed early`).toBeLessThanOrEqual(failedEarly)
    expect(late, `seed ${seed}: the race was exercised`).toBeGreaterThan(0)
    expect(settled.filter((r) => r.outcome === 'OK').length, `seed ${seed}: some replies won`).toBeGreaterThan(0)
    expect(settled.filter((r) => r.outcome === 'DER_TIMEDOUT').length, `seed ${seed}: some timeouts won`).toBeGreaterThan(0)
  })

  it.each(seeds)('duplicated, reordered and dropped packets: one completion, one execution (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { ranks: 2, fabric: { latencyMs: 1, faults: { duplicateRate: 0.2, reorderRate: 0.2, dropRate: 0.05, maxDelayMs: 15 } } })
    const once = defineRpc({ name: 'once', input: u32Codec, output: u32Codec })
    const protocol = new Protocol({ name: 'once', baseOpcode: 0x30000000, version: 1, rpcs: [once] })
    const executions = new Map<number, number>()
    for (const server of c.servers) {
      server.registerProtocol(protocol)
      server.handle(once, (rpc) => {
        executions.set(rpc.input, (executions.get(rpc.input) ?? 0) + 1)
        return rpc.input ^ 0xabcd
      })
    }
    c.client.registerProtocol(protocol)
    const results = Array.from({ length: 300 }, (_, i) => settle(c.clientContext.call(once, { rank: i % 2 }, i, { timeoutMs: 200 })))
    await c.runtime.runUntilIdle()
    const settled = await Promise.all(results)
    settled.forEach((o, i) => {
      expect(['OK', 'DER_TIMEDOUT'], `seed ${seed} rpc ${i}`).toContain(errorName(o))
      if (o.ok) expect(o.value, `seed ${seed} rpc ${i}`).toBe(i ^ 0xabcd)
    })
    for (const [id, count] of executions) expect(count, `seed ${seed}: rpc ${id} executed more than once`).toBe(1)
    const stats = c.fabric.stats
    expect(stats.duplicated + stats.reordered, `seed ${seed}: faults were injected`).toBeGreaterThan(0)
    expect(c.clientContext.inflightCount, `seed ${seed}`).toBe(0)
    const okCount = settled.filter((o) => o.ok).length
    expect(okCount, `seed ${seed}: most RPCs survive`).toBeGreaterThan(200)
  })

  it.each(seeds.slice(0, 6))('a peer crash completes every RPC in flight with DER_UNREACH before its timeout (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { ranks: 2, fabric: { latencyMs: 1 } })
    const random = new Random(seed)
    const crashAt = between(random, 5, 40)
    const start = c.runtime.nowMs
    const toCrashed = Array.from({ length: 100 }, () => settle(c.clientContext.call(c.rpcs.sleep, { rank: 0 }, 50 + between(random, 0, 50), { timeoutMs: 10_000 })))
    const toHealthy = Array.from({ length: 20 }, () => settle(c.clientContext.call(c.rpcs.sleep, { rank: 1 }, 60, { timeoutMs: 10_000 })))
    c.runtime.timers.schedule(crashAt, () => c.fabric.crash('memory://rank-0'))
    await c.runtime.runUntil(() => c.clientContext.inflightCount === 0, 20_000)
    expect(c.runtime.nowMs - start, `seed ${seed}`).toBeLessThan(1000)
    for (const o of await Promise.all(toCrashed)) expect(errorName(o), `seed ${seed}`).toBe('DER_UNREACH')
    for (const o of await Promise.all(toHealthy)) expect(errorName(o), `seed ${seed}`).toBe('OK')
    // Afterwards the client keeps working with the healthy rank, and gets typed errors for the dead one.
    const after = settle(c.clientContext.call(c.rpcs.sleep, { rank: 1 }, 1))
    const dead = settle(c.clientContext.call(c.rpcs.sleep, { rank: 0 }, 1))
    await c.runtime.runUntilIdle()
    expect(errorName(await after), `seed ${seed}`).toBe('OK')
    expect(errorName(await dead), `seed ${seed}`).toBe('DER_UNREACH')
  })

  it('completes thousands of concurrent RPCs over four ranks', async () => {
    const seed = 4242
    const c = await makeCluster(seed, { ranks: 4, fabric: { latencyMs: 1, faults: { reorderRate: 0.1, maxDelayMs: 5 } } })
    const count = 5000
    const results = Array.from({ length: count }, (_, i) => settle(c.clientContext.call(c.rpcs.sleep, { rank: i % 4 }, i % 7)))
    expect(c.clientContext.inflightCount).toBe(count)
    await c.runtime.runUntilIdle()
    const settled = await Promise.all(results)
    settled.forEach((o, i) => {
      expect(o.ok, `seed ${seed} rpc ${i}: ${errorName(o)}`).toBe(true)
      if (o.ok) expect(o.value).toBe(i % 7)
    })
    expect(completions(c), `seed ${seed}`).toBe(count)
    expect((c.servers).length).toBe(4)
  })

  it.each([31, 32, 33])('manual progress: completions run only in progress(), once each, under faults (seed %i)', async (seed) => {
    const c = await makeCluster(seed, { ranks: 2, clientProgress: 'manual', fabric: { latencyMs: 1, faults: { duplicateRate: 0.1, reorderRate: 0.1, dropRate: 0.02, maxDelayMs: 5 } } })
    const random = new Random(seed)
    const settledCount = { value: 0 }
    const calls = Array.from({ length: 1000 }, (_, i) => {
      const controller = new AbortController()
      if (random.chance(0.05)) c.runtime.timers.schedule(between(random, 0, 20), () => controller.abort())
      return settle(c.clientContext.call(c.rpcs.sleep, { rank: i % 2 }, between(random, 0, 10), { timeoutMs: between(random, 5, 40), signal: controller.signal })).then((o) => {
        settledCount.value++
        return o
      })
    })
    let afterProgress = 0
    let progressed = 0
    for (let step = 0; step < 200 && c.clientContext.inflightCount > 0; step++) {
      await c.runtime.advance(1)
      expect(settledCount.value, `seed ${seed}: settled outside progress()`).toBe(afterProgress)
      progressed += c.clientContext.progress()
      await drainMicrotasks()
      afterProgress = settledCount.value
    }
    c.clientContext.progress()
    expect(progressed, `seed ${seed}`).toBeGreaterThan(1000)
    const settled = await Promise.all(calls)
    expect(settled.length, `seed ${seed}`).toBe(1000)
    for (const o of settled) expect(['OK', 'DER_TIMEDOUT', 'DER_CANCELED'], `seed ${seed}`).toContain(errorName(o))
    expect(completions(c), `seed ${seed}`).toBe(1000)
    expect(c.clientContext.inflightCount, `seed ${seed}`).toBe(0)
  })
})
