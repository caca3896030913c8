import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRealRuntime, isDerError } from '@x/common'
import { TcpFabric } from '@x/rdma-transport'
import { MemoryBlockDevice } from '@x/spdk-io'
import { describe, expect, it } from 'vitest'
import { SystemNode, TargetSet, fileStorageFactory } from '../../src/index.ts'

describe('SystemNode on TCP with file storage (real time, 127.0.0.1)', () => {
  it('a one-engine system: join, pool, container, restart with the same identity keeps the pool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-system-'))
    const runtime = createRealRuntime()
    const removed: string[] = []
    const storage = fileStorageFactory({ dir, noSync: true, removeDir: (p) => {
      removed.push(p)
      rmSync(p, { recursive: true, force: true })
    } })
    const devices = [0, 1].map((t) => new MemoryBlockDevice({ name: `t${t}`, blockSizeBytes: 4096, blockCount: 1024 }))
    const start = async (incarnation: number, targets: TargetSet): Promise<{ node: SystemNode; fabric: TcpFabric }> => {
      const fabric = new TcpFabric({ runtime, host: '127.0.0.1' })
      // One access point: itself (its URI is only used by other engines).
      const node = await SystemNode.start({
        runtime,
        fabric,
        listen: () => 'tcp://127.0.0.1:0',
        targets,
        storage,
        identity: { uuid: '6f1c4c3a-0d1e-4f7b-9a4e-2b1f1f0c0a01', incarnation },
        faultDomain: '/localhost',
        controlAddress: '127.0.0.1:10001',
        accessPoints: [{ msId: 1, uri: 'tcp://127.0.0.1:0' }],
        msId: 1,
        membership: false,
        timing: { joinTimeoutMs: 10_000 },
      })
      return { node, fabric }
    }
    try {
      const first = await start(1, await TargetSet.create(0, devices))
      expect(first.node.rank).toBe(0)
      const { pool } = await first.node.poolCreate({ label: 'tank', sizeBytes: 1 << 20 })
      await first.node.containerCreate({ pool: 'tank', label: 'c1' })
      const temp = await first.node.poolCreate({ label: 'temp', sizeBytes: 1 << 20 })
      await first.node.poolDestroy({ id: 'temp' })
      expect(removed.some((p) => p.endsWith(`pool/${temp.pool.uuid}`))).toBe(true)
      await first.node.stop()
      await first.fabric.close()
      storage.release('ms')
      const second = await start(2, await TargetSet.create(0, devices))
      try {
        const list = await second.node.poolList()
        expect(list.pools.map((p) => p.uuid)).toEqual([pool.uuid])
        const conts = await second.node.containerList({ pool: 'tank' })
        expect(conts.containers.map((c) => c.label)).toEqual(['c1'])
        const member = (await second.node.systemQuery()).members[0]
        expect(member?.incarnation).toBe(2)
        const bad = await second.node.poolQuery({ id: 'nosuch' }).then(() => undefined, (e: unknown) => e)
        expect(isDerError(bad, 'DER_NONEXIST')).toBe(true)
      } finally {
        await second.node.stop()
        await second.fabric.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it('the file storage factory refuses bad group names', () => {
    const storage = fileStorageFactory({ dir: '/nonexistent' })
    let error: unknown
    try {
      storage.open('../etc', [1])
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_INVAL')).toBe(true)
  })
})
