import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { Group } from '../src/index.ts'
import { errorName, makeCluster, settle } from './helpers.ts'

describe('groups, contexts and metrics', () => {
  it('versions the membership and looks up (rank, tag)', () => {
    const group = new Group('daos_server')
    expect(group.version).toBe(0)
    group.addRank(0, ['memory://a0', 'memory://a1'])
    group.addRank(3, ['memory://b0'])
    expect(group.version).toBe(2)
    expect(group.lookup(0, 1)).toBe('memory://a1')
    expect(group.ranks()).toEqual([0, 3])
    const errors: unknown[] = []
    for (const bad of [() => group.lookup(1), () => group.lookup(3, 1), () => group.update(2, []), () => group.removeRank(7), () => group.addRank(-1, ['x'])]) {
      try {
        bad()
      } catch (error) {
        errors.push(error)
      }
    }
    expect(errors.map((e) => (isDerError(e) ? e.name : 'other'))).toEqual(['DER_OOG', 'DER_NONEXIST', 'DER_GRPVER', 'DER_OOG', 'DER_INVAL'])
    group.update(10, [{ rank: 5, uris: ['memory://c0'] }])
    expect(group.version).toBe(10)
    expect(group.ranks()).toEqual([5])
    group.removeRank(5)
    expect(group.version).toBe(11)
  })

  it('addresses RPCs by tag to a rank\'s second context and keeps per-context metrics apart', async () => {
    const c = await makeCluster(51)
    const server = c.servers[0]
    if (server === undefined) throw new Error('no server')
    const second = await server.createContext({ listen: 'memory://rank-0-ctx-1' })
    expect(second.tag).toBe(1)
    for (const cart of [server, c.client]) cart.primaryGroup.addRank(0, ['memory://rank-0', 'memory://rank-0-ctx-1'])
    const clientSecond = await c.client.createContext()
    const a = c.clientContext.call(c.rpcs.echo, { rank: 0, tag: 1 }, new Uint8Array([1]))
    const b = clientSecond.call(c.rpcs.echo, { rank: 0, tag: 0 }, new Uint8Array([2]))
    const d = clientSecond.call(c.rpcs.echo, { rank: 0, tag: 1 }, new Uint8Array([3]))
    await c.runtime.runUntilIdle()
    expect([await a, await b, await d]).toEqual([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])])
    const echo = '0x10010000'
    expect(c.metrics.value('cart_rpc_sent_total', { context: '0', opcode: echo })).toBe(1)
    expect(c.metrics.value('cart_rpc_sent_total', { context: '1', opcode: echo })).toBe(2)
    // Server side: context 1 of rank 0 got two requests, context 0 one (client and server share the registry).
    expect(c.metrics.value('cart_rpc_received_total', { context: '1', opcode: echo })).toBe(2)
    expect(c.metrics.value('cart_rpc_received_total', { context: '0', opcode: echo })).toBe(1)
  })

  it('a request aborted before sending never goes out', async () => {
    const c = await makeCluster(52)
    const request = c.clientContext.createRequest(c.rpcs.echo, { rank: 0 }, new Uint8Array(1))
    request.abort()
    expect(errorName(await settle(request.send()))).toBe('DER_CANCELED')
    expect(c.metrics.value('cart_rpc_received_total', { context: '0', opcode: '0x10010000' })).toBe(0)
  })

  it('a corpc whose handlers never reply still completes, listing every rank', async () => {
    const seed = 53
    const c = await makeCluster(seed, { ranks: 4 })
    const start = c.runtime.nowMs
    const result = settle(c.clientContext.corpc(c.rpcs.blackhole, { topology: { type: 'kary', branchRatio: 2 } }, null, { timeoutMs: 1000 }))
    await c.runtime.runUntilIdle()
    const r = await result
    expect(r.ok, `seed ${seed}`).toBe(true)
    if (r.ok) {
      expect(r.value.output).toBeUndefined()
      expect(r.value.failures.map((f) => [f.rank, f.error.name]).sort()).toEqual([
        [0, 'DER_TIMEDOUT'],
        [1, 'DER_TIMEDOUT'],
        [2, 'DER_TIMEDOUT'],
        [3, 'DER_TIMEDOUT'],
      ])
    }
    expect(c.runtime.nowMs - start).toBeLessThan(1000)
  })
})
