import { crc32c, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type BulkDescriptor, type Context, crc32cOf } from '../src/index.ts'
import { errorName, makeCluster, pattern, settle } from './helpers.ts'

describe('bulk transfers', () => {
  it('server GET pulls a multi-segment handle; server PUT pushes into one', async () => {
    const c = await makeCluster(21, { fabric: { latencyMs: 1 } })
    const segments = [pattern(1000, 1), pattern(1, 2), pattern(70_000, 3)]
    const source = c.clientContext.bulkCreate(segments, 'ro', { checksum: true })
    const pulled = c.clientContext.call(c.rpcs.pull, { rank: 0 }, { bulk: source.descriptor })
    const target = c.clientContext.bulkCreate([new Uint8Array(5000), new Uint8Array(3)], 'wo')
    const pushed = c.clientContext.call(c.rpcs.push, { rank: 0 }, { bulk: target.descriptor })
    await c.runtime.runUntilIdle()
    expect(await pulled).toBe(crc32cOf(segments))
    expect(await pushed).toBe(crc32c(pattern(5003, 99)))
    const joined = new Uint8Array(5003)
    joined.set(target.buffers[0] as Uint8Array, 0)
    joined.set(target.buffers[1] as Uint8Array, 5000)
    expect(joined).toEqual(pattern(5003, 99))
  })

  it('verifies checksums when the RPC format asks: DER_CSUM on a mismatch or a missing checksum', async () => {
    const c = await makeCluster(22)
    const data = pattern(4096, 5)
    const good = c.clientContext.bulkCreate(data, 'ro', { checksum: true })
    const bad: BulkDescriptor = { ...good.descriptor, checksum: ((good.descriptor.checksum ?? 0) ^ 1) >>> 0 }
    const none = c.clientContext.bulkCreate(pattern(10, 6), 'ro')
    const ok = settle(c.clientContext.call(c.rpcs.pullChecked, { rank: 0 }, { bulk: good.descriptor }))
    const mismatch = settle(c.clientContext.call(c.rpcs.pullChecked, { rank: 0 }, { bulk: bad }))
    const missing = settle(c.clientContext.call(c.rpcs.pullChecked, { rank: 0 }, { bulk: none.descriptor }))
    await c.runtime.runUntilIdle()
    expect(await ok).toEqual({ ok: true, value: crc32c(data) })
    expect(errorName(await mismatch)).toBe('DER_CSUM')
    expect(errorName(await missing)).toBe('DER_CSUM')
  })

  it('cancels and times out a bulk transfer in flight', async () => {
    const c = await makeCluster(23, { fabric: { latencyMs: 20 } })
    const remote = c.clientContext.bulkCreate(pattern(1 << 20, 7), 'rw')
    const server = c.serverContexts[0] as Context
    const local = server.bulkCreate(new Uint8Array(1 << 20), 'rw')
    const controller = new AbortController()
    const canceled = settle(server.bulkTransfer({ op: 'get', remote: remote.descriptor, local, signal: controller.signal }))
    const timedOut = settle(server.bulkTransfer({ op: 'put', remote: remote.descriptor, local, timeoutMs: 15 }))
    await c.runtime.advance(5)
    controller.abort()
    await c.runtime.runUntilIdle()
    expect(errorName(await canceled)).toBe('DER_CANCELED')
    expect(errorName(await timedOut)).toBe('DER_TIMEDOUT')
    // The same handles still work afterwards.
    const again = server.bulkTransfer({ op: 'get', remote: remote.descriptor, local, checksum: true })
    await c.runtime.runUntilIdle()
    expect((await again).checksum).toBe(crc32c(pattern(1 << 20, 7)))
  })

  it('a handle pointing outside its region, a freed handle and a wrong access give typed errors; the server keeps serving', async () => {
    const c = await makeCluster(24)
    const handle = c.clientContext.bulkCreate(pattern(100, 8), 'ro')
    const outside: BulkDescriptor = { ...handle.descriptor, segments: [{ key: handle.descriptor.segments[0]?.key ?? 0, offset: 50, length: 100 }], totalBytes: 100 }
    const freed = c.clientContext.bulkCreate(pattern(10, 9), 'rw')
    freed.free()
    const results = [
      settle(c.clientContext.call(c.rpcs.pull, { rank: 0 }, { bulk: outside })),
      settle(c.clientContext.call(c.rpcs.pull, { rank: 0 }, { bulk: freed.descriptor })),
      settle(c.clientContext.call(c.rpcs.push, { rank: 0 }, { bulk: handle.descriptor })),
      settle(c.clientContext.call(c.rpcs.pull, { rank: 0 }, { bulk: { ...handle.descriptor, segments: [{ key: 987654, offset: 0, length: 100 }] } })),
    ]
    await c.runtime.runUntilIdle()
    expect((await Promise.all(results)).map(errorName)).toEqual(['DER_INVAL', 'DER_NONEXIST', 'DER_NO_PERM', 'DER_NONEXIST'])
    const still = c.clientContext.call(c.rpcs.echo, { rank: 0 }, new Uint8Array([1, 2, 3]))
    await c.runtime.runUntilIdle()
    expect(await still).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('checks local ranges before any I/O', async () => {
    const c = await makeCluster(25)
    const remote = c.clientContext.bulkCreate(pattern(100, 1), 'rw')
    const server = c.serverContexts[0] as Context
    const local = server.bulkCreate(new Uint8Array(10), 'rw')
    const r = await settle(server.bulkTransfer({ op: 'get', remote: remote.descriptor, local }))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(isDerError(r.error, 'DER_INVAL')).toBe(true)
    expect(() => server.bulkCreate([], 'ro')).toThrow(/non-empty/)
  })
})
