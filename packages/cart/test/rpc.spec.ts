import { DerError, LogRoot, MemoryLogSink, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Cart, Protocol, defineRpc } from '../src/index.ts'
import { errorName, makeCluster, settle, u32Codec } from './helpers.ts'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('request and reply', () => {
  it('round-trips an echo RPC by rank and by URI', async () => {
    const c = await makeCluster(1)
    const byRank = c.clientContext.call(c.rpcs.echo, { rank: 0 }, bytes('hello'))
    const byUri = c.clientContext.call(c.rpcs.echo, { uri: 'memory://rank-0' }, bytes('world'))
    await c.runtime.runUntilIdle()
    expect(new TextDecoder().decode(await byRank)).toBe('hello')
    expect(new TextDecoder().decode(await byUri)).toBe('world')
    expect(c.metrics.value('cart_rpc_sent_total', { context: '0', opcode: '0x10010000' })).toBe(2)
    expect(c.metrics.value('cart_rpc_received_total', { context: '0', opcode: '0x10010000' })).toBe(2)
    expect(c.metrics.histogramSnapshot('cart_rpc_latency_ms', { context: '0', opcode: '0x10010000' })?.count).toBe(2)
  })

  it('times out with DER_TIMEDOUT using the default and the per-call timeouts', async () => {
    const c = await makeCluster(2, { defaultTimeoutMs: 1000 })
    const start = c.runtime.nowMs
    const byDefault = settle(c.clientContext.call(c.rpcs.blackhole, { rank: 0 }, null))
    const perCall = settle(c.clientContext.call(c.rpcs.blackhole, { rank: 0 }, null, { timeoutMs: 50 }))
    let perCallAt = -1
    void perCall.then(() => (perCallAt = c.runtime.nowMs))
    await c.runtime.runUntilIdle()
    expect(errorName(await perCall)).toBe('DER_TIMEDOUT')
    expect(perCallAt - start).toBe(50)
    expect(errorName(await byDefault)).toBe('DER_TIMEDOUT')
    expect(c.runtime.nowMs - start).toBe(1000)
    expect(c.metrics.value('cart_rpc_timed_out_total', { context: '0', opcode: '0x10010002' })).toBe(2)
  })

  it('uses CaRT\'s 60 s default timeout', async () => {
    const c = await makeCluster(3)
    const start = c.runtime.nowMs
    const r = settle(c.clientContext.call(c.rpcs.blackhole, { rank: 0 }, null))
    await c.runtime.runUntilIdle()
    expect(errorName(await r)).toBe('DER_TIMEDOUT')
    expect(c.runtime.nowMs - start).toBe(60_000)
  })

  it('cancels with DER_CANCELED through abort() and an AbortSignal, and ignores the late reply', async () => {
    const c = await makeCluster(4)
    const request = c.clientContext.createRequest(c.rpcs.sleep, { rank: 0 }, 100)
    const first = settle(request.send())
    const controller = new AbortController()
    const second = settle(c.clientContext.call(c.rpcs.sleep, { rank: 0 }, 100, { signal: controller.signal }))
    await c.runtime.advance(10)
    request.abort()
    controller.abort()
    await c.runtime.runUntilIdle()
    expect(errorName(await first)).toBe('DER_CANCELED')
    expect(errorName(await second)).toBe('DER_CANCELED')
    expect(c.metrics.value('cart_rpc_late_replies_total', { context: '0' })).toBe(2)
    expect(c.clientContext.inflightCount).toBe(0)
    const again = await settle(request.send())
    expect(errorName(again)).toBe('DER_ALREADY')
  })

  it('refuses a second reply with DER_ALREADY and lets handlers reply asynchronously', async () => {
    const c = await makeCluster(5)
    const twice = defineRpc({ name: 'twice', input: u32Codec, output: u32Codec })
    const later = defineRpc({ name: 'later', input: u32Codec, output: u32Codec })
    const protocol = new Protocol({ name: 'extra', baseOpcode: 0x20000000, version: 1, rpcs: [twice, later] })
    const server = c.servers[0] as Cart
    server.registerProtocol(protocol)
    c.client.registerProtocol(protocol)
    let secondError: unknown
    server.handle(twice, (rpc) => {
      rpc.reply(rpc.input + 1)
      try {
        rpc.reply(rpc.input + 2)
      } catch (error) {
        secondError = error
      }
    })
    server.handle(later, (rpc) => {
      server.runtime.timers.schedule(30, () => rpc.reply(rpc.input * 3))
    })
    const a = c.clientContext.call(twice, { rank: 0 }, 10)
    const b = c.clientContext.call(later, { rank: 0 }, 7)
    await c.runtime.runUntilIdle()
    expect(await a).toBe(11)
    expect(await b).toBe(21)
    expect(isDerError(secondError, 'DER_ALREADY')).toBe(true)
  })

  it('sends handler errors back as typed errors', async () => {
    const c = await makeCluster(6)
    const boom = defineRpc({ name: 'boom', input: u32Codec, output: u32Codec })
    const protocol = new Protocol({ name: 'boom', baseOpcode: 0x21000000, version: 1, rpcs: [boom] })
    const server = c.servers[0] as Cart
    server.registerProtocol(protocol)
    c.client.registerProtocol(protocol)
    server.handle(boom, (rpc) => {
      if (rpc.input === 0) throw new DerError('DER_NOSPACE', 'full')
      return Promise.reject(new Error('plain error'))
    })
    const a = settle(c.clientContext.call(boom, { rank: 0 }, 0))
    const b = settle(c.clientContext.call(boom, { rank: 0 }, 1))
    await c.runtime.runUntilIdle()
    expect(errorName(await a)).toBe('DER_NOSPACE')
    expect(errorName(await b)).toBe('DER_MISC')
  })

  it('reports DER_OOG for a rank outside the group and DER_UNREACH for a dead address', async () => {
    const c = await makeCluster(7)
    const a = settle(c.clientContext.call(c.rpcs.echo, { rank: 9 }, bytes('x')))
    const b = settle(c.clientContext.call(c.rpcs.echo, { uri: 'memory://nobody' }, bytes('x')))
    await c.runtime.runUntilIdle()
    expect(errorName(await a)).toBe('DER_OOG')
    expect(errorName(await b)).toBe('DER_UNREACH')
  })

  it('completes only inside progress() in manual mode', async () => {
    const c = await makeCluster(8, { clientProgress: 'manual' })
    let done = false
    const p = c.clientContext.call(c.rpcs.echo, { rank: 0 }, bytes('m')).then((v) => {
      done = true
      return v
    })
    await c.runtime.advance(100)
    expect(done).toBe(false)
    let handled = 0
    for (let i = 0; i < 10 && !done; i++) {
      handled += c.clientContext.progress()
      await c.runtime.advance(1)
    }
    expect(handled).toBeGreaterThan(0)
    expect(done).toBe(true)
    expect(new TextDecoder().decode(await p)).toBe('m')
  })

  it('changes the log mask at run time', async () => {
    const c = await makeCluster(9)
    c.client.setLogMask('ERR,cart=DEBUG')
    expect(c.client.log.enabled('cart', 'debug')).toBe(true)
    c.client.setLogMask('ERR')
    expect(c.client.log.enabled('cart', 'debug')).toBe(false)
    expect(() => c.client.setLogMask('cart=LOUD')).toThrow(DerError)
  })

  it('writes debug records only while the mask lets them through', async () => {
    const c = await makeCluster(10)
    const sink = new MemoryLogSink()
    const log = new LogRoot(sink, c.runtime.clock, 'ERR')
    const client = new Cart({ fabric: c.fabric, runtime: c.runtime, log })
    client.registerProtocol(c.rpcs.protocol)
    client.primaryGroup.addRank(0, ['memory://rank-0'])
    const context = await client.createContext()
    const first = settle(context.call(c.rpcs.blackhole, { rank: 0 }, null, { timeoutMs: 10 }))
    await c.runtime.runUntilIdle()
    await first
    expect(sink.records).toEqual([])
    client.setLogMask('ERR,cart=DEBUG')
    const second = settle(context.call(c.rpcs.blackhole, { rank: 0 }, null, { timeoutMs: 10 }))
    await c.runtime.runUntilIdle()
    await second
    expect(sink.records.map((r) => [r.level, r.subsystem, r.fields.error])).toEqual([['debug', 'cart', 'DER_TIMEDOUT']])
  })
})
