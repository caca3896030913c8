import { VirtualRuntime, isDerError } from '@x/common'
import { MemoryBlockDevice } from '@x/spdk-io'
import { describe, expect, it } from 'vitest'
import { TargetSet } from '../../src/target/index.ts'

const seed = Number(process.env.TEST_SEED ?? 0x7a46e7)
const cont = '11111111-2222-4333-8444-555555555555'

describe(`targets (seed ${seed})`, () => {
  it('formats one VOS per device, reports space, and reopens what was written', async () => {
    const runtime = new VirtualRuntime({ seed })
    const devices = [0, 1].map((i) => new MemoryBlockDevice({ name: `t${i}`, blockSizeBytes: 4096, blockCount: 1024, clock: runtime.clock }))
    const set = await TargetSet.create(3, devices)
    expect(set.size).toBe(2)
    const value = runtime.random.bytes(10_000)
    const t1 = set.get(1)
    await t1.vos.createContainer(cont)
    await t1.vos.update(cont, 7n, 5n, new Uint8Array([1]), [{ type: 'single', akey: new Uint8Array([2]), value }])
    const space = set.space()
    expect(space.targets[1]?.usedBytes, `seed ${seed}`).toBeGreaterThanOrEqual(value.length)
    expect(space.targets[0]?.usedBytes, `seed ${seed}`).toBe(0)
    expect(space.capacityBytes, `seed ${seed}`).toBe((space.targets[0]?.capacityBytes ?? 0) + (space.targets[1]?.capacityBytes ?? 0))
    await set.close()
    expect(() => set.get(1)).toThrow(/closed/)
    const reopened = await TargetSet.open(3, devices)
    const [got] = await reopened.get(1).vos.fetch(cont, 7n, 5n, new Uint8Array([1]), [{ type: 'single', akey: new Uint8Array([2]) }])
    expect(got?.type === 'single' ? got.value : undefined, `seed ${seed}`).toEqual(value)
    expect(reopened.get(0).vos.listContainers(), `seed ${seed}`).toEqual([])
    await reopened.close()
  })

  it('refuses bad inputs', async () => {
    await expect(TargetSet.create(0, [])).rejects.toSatisfy((e) => isDerError(e, 'DER_INVAL'))
    const set = await TargetSet.create(0, [new MemoryBlockDevice({ name: 'x', blockSizeBytes: 4096, blockCount: 1024 })])
    expect(() => set.get(5)).toThrow(/no target 5/)
    const tiny = new MemoryBlockDevice({ name: 'tiny', blockSizeBytes: 4096, blockCount: 16 })
    await expect(TargetSet.create(0, [tiny])).rejects.toSatisfy((e) => isDerError(e))
    await set.close()
  })
})
