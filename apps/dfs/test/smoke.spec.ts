import { describe, expect, it } from 'vitest'
import { O, isDfsError } from '../src/index.ts'
import { startCluster, td, te } from './support/cluster.ts'

describe('dfs smoke', () => {
  it('mkdir, create, write, read, stat, readdir, rename, unlink', async () => {
    const c = await startCluster({ seed: 1 })
    const dfs = await c.mount({ capsMode: 'caps' })
    const run = <T>(p: Promise<T>): Promise<T> => c.settle(p)
    await run(dfs.mkdir('/a'))
    const f = await run(dfs.open('/a/f', O.CREAT | O.RDWR, 0o640))
    await run(f.write(0, te.encode('hello world')))
    expect(td.decode(await run(f.read(0, 100)))).toBe('hello world')
    await run(f.close())
    const st = await run(dfs.stat('/a/f'))
    expect(st.sizeBytes).toBe(11)
    expect(st.mode & 0o777).toBe(0o640)
    expect((await run(dfs.readdirAll('/a'))).map((e) => e.name)).toEqual(['f'])
    await run(dfs.rename('/a/f', '/g'))
    const err = await run(dfs.stat('/a/f')).catch((e: unknown) => e)
    expect(isDfsError(err, 'ENOENT')).toBe(true)
    await run(dfs.unlink('/g'))
    await run(dfs.rmdir('/a'))
    expect(await run(dfs.readdirAll('/'))).toEqual([])
    await run(dfs.unmount())
    c.stop()
  })
})
