// Two clients on one container under caps: path walks from the dentry cache, coherence of
// buffered writes, and eviction of a client that dies holding caps.
import { describe, expect, it } from 'vitest'
import { CapsAgent, O, isDfsError } from '../src/index.ts'
import { capsTimeouts, startCluster, td, te } from './support/cluster.ts'

const seed = Number(process.env.X_SEED ?? 7)

describe('caps-based caching', () => {
  it('a path walk is served from the dentry cache while the caps hold (one lookup per new component)', async () => {
    const c = await startCluster({ seed })
    const a = await c.mount({ clientId: 'walker' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    await run(a.mkdir('/data'))
    await run(a.mkdir('/data/wsh'))
    for (const n of ['file40', 'file41']) await run((await run(a.open(`/data/wsh/${n}`, O.CREAT | O.WRONLY))).close())
    const b = await c.mount({ clientId: 'other' })
    const before = b.stats.lookupRpcs
    await run(b.stat('/data/wsh/file40'))
    expect(b.stats.lookupRpcs - before, `seed ${seed}: cold walk costs one lookup per component`).toBe(3)
    const mid = b.stats.lookupRpcs
    await run(b.stat('/data/wsh/file41'))
    expect(b.stats.lookupRpcs - mid, `seed ${seed}: a sibling costs exactly one lookup`).toBe(1)
    await run(b.stat('/data/wsh/file41'))
    expect(b.stats.lookupRpcs - mid, `seed ${seed}: a repeated walk costs none`).toBe(1)
    // Another client changes the directory: the caps are revoked and the next walk asks again.
    await run(a.rename('/data/wsh/file41', '/data/wsh/file42'))
    const err = await run(b.stat('/data/wsh/file41')).catch((e: unknown) => e)
    expect(isDfsError(err, 'ENOENT'), `seed ${seed}: the renamed entry is gone for the other client`).toBe(true)
    expect((await run(b.stat('/data/wsh/file42'))).kind).toBe('file')
    await run(a.unmount())
    await run(b.unmount())
    c.stop()
  })

  it('a write by one client is seen by the other after close or sync, never a stale cached read', async () => {
    const c = await startCluster({ seed: seed + 1 })
    const a = await c.mount({ clientId: 'writer' })
    const b = await c.mount({ clientId: 'reader' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    const w = await run(a.open('/f', O.CREAT | O.RDWR))
    await run(w.write(0, te.encode('version-1')))
    await run(w.close())
    const r = await run(b.open('/f', O.RDONLY))
    expect(td.decode(await run(r.read(0, 64)))).toBe('version-1')
    expect(td.decode(await run(r.read(0, 64))), `seed ${seed}: cached read`).toBe('version-1')
    await run(r.close())
    // The writer buffers (it is the only opener: Fb); the reader's cached data must not be served.
    const w2 = await run(a.open('/f', O.RDWR))
    await run(w2.write(0, te.encode('version-x')))
    await c.runtime.advance(500) // the reader's cache interest is gone: the writer becomes the loner
    await run(w2.write(0, te.encode('version-2')))
    expect(a.gate instanceof CapsAgent && a.gate.core.dirtyState(Number((await run(a.stat('/f'))).ino)).dirtyBuffers).toBe(1)
    const r2 = await run(b.open('/f', O.RDONLY))
    expect(td.decode(await run(r2.read(0, 64))), `seed ${seed}: the writer's buffered data is flushed before the read`).toBe('version-2')
    // Both open: MIX, synchronous writes, uncached reads.
    await run(w2.write(0, te.encode('version-3')))
    expect(td.decode(await run(r2.read(0, 64))), `seed ${seed}: synchronous write seen at once`).toBe('version-3')
    await run(w2.write(9, te.encode('+tail')))
    await run(w2.sync())
    expect(td.decode(await run(r2.read(0, 64)))).toBe('version-3+tail')
    expect((await run(b.stat('/f'))).sizeBytes).toBe(14)
    await run(w2.close())
    await run(r2.close())
    await run(a.unmount())
    await run(b.unmount())
    c.stop()
  })

  it('interleaved writers and readers on several files always read the last written data', async () => {
    const c = await startCluster({ seed: seed + 2 })
    const clients = [await c.mount({ clientId: 'x' }), await c.mount({ clientId: 'y' })]
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    const rng = c.runtime.random.fork()
    const truth = new Map<string, string>()
    for (let i = 0; i < 60; i++) {
      const who = clients[rng.int(2)]
      if (who === undefined) throw new Error('no client')
      const name = `/f${rng.int(3)}`
      if (rng.int(2) === 0) {
        const value = `v${i}-${'x'.repeat(rng.int(100))}`
        const f = await run(who.open(name, O.CREAT | O.WRONLY | O.TRUNC))
        await run(f.write(0, te.encode(value)))
        await run(f.close())
        truth.set(name, value)
      } else {
        const f = await run(who.open(name, O.CREAT | O.RDONLY))
        const got = td.decode(await run(f.read(0, 1000)))
        await run(f.close())
        expect(got, `seed ${seed} step ${i}: ${name}`).toBe(truth.get(name) ?? '')
      }
    }
    for (const d of clients) await run(d.unmount())
    c.stop()
  })

  it('a client that dies holding caps is evicted after the revoke timeout and the other proceeds', async () => {
    const c = await startCluster({ seed: seed + 3 })
    const a = await c.mount({ clientId: 'doomed' })
    const b = await c.mount({ clientId: 'survivor' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    const f = await run(a.open('/held', O.CREAT | O.RDWR))
    await run(f.write(0, te.encode('buffered, never flushed')))
    if (!(a.gate instanceof CapsAgent)) throw new Error('caps mount expected')
    a.gate.crash()
    const start = c.runtime.clock.monotonicMs()
    const r = await run(b.open('/held', O.RDONLY))
    const data = await run(r.read(0, 100))
    const waitedMs = c.runtime.clock.monotonicMs() - start
    expect(data.length, `seed ${seed}: the dead client's buffered data is lost`).toBe(0)
    expect(waitedMs, `seed ${seed}: the reader waited for the eviction`).toBeGreaterThanOrEqual(4000)
    expect(waitedMs, `seed ${seed}: but not much longer than the session timeout`).toBeLessThan(capsTimeouts.sessionTimeoutMs + 4000)
    expect(c.caps.flatMap((s) => s.evictions()).map((e) => e.clientId)).toEqual(['doomed'])
    await run(r.close())
    await run(b.unmount())
    c.stop()
  })

  it('a client that vanishes holding only read caps loses them when its session goes stale', async () => {
    const c = await startCluster({ seed: seed + 4 })
    const a = await c.mount({ clientId: 'reader-gone' })
    const b = await c.mount({ clientId: 'writer-stays' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    await run(b.mkdir('/d'))
    await run(a.stat('/d'))
    await run(a.readdirAll('/d'))
    if (!(a.gate instanceof CapsAgent)) throw new Error('caps mount expected')
    a.gate.crash()
    const start = c.runtime.clock.monotonicMs()
    await run(b.mkdir('/d/new'))
    expect(c.runtime.clock.monotonicMs() - start, `seed ${seed}`).toBeLessThan(capsTimeouts.sessionTimeoutMs + 4000)
    expect((await run(b.readdirAll('/d'))).map((e) => e.name)).toEqual(['new'])
    await run(b.unmount())
    c.stop()
  })
})
