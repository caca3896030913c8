import { isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { MemoryBlockDevice } from '../src/index.ts'
import { blockDeviceComplianceSuite } from '../src/testing/index.ts'

blockDeviceComplianceSuite(
  'MemoryBlockDevice 4096 x 512',
  { setup: () => Promise.resolve(new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: 512, queueDepth: 8 })), teardown: () => Promise.resolve() },
  { unmapZeroes: true, seed: 11 },
)

blockDeviceComplianceSuite(
  { setup: () => Promise.resolve(new MemoryBlockDevice({ blockSizeBytes: 512, blockCount: 4096, maxTransferBytes: 64 * 1024 })), teardown: () => Promise.resolve() },
  { name: 'MemoryBlockDevice 512 x 4096 (spans chunks)', unmapZeroes: true, seed: 12 },
)

describe('MemoryBlockDevice', () => {
  it('refuses bad geometry with DER_INVAL naming the field', () => {
    for (const [options, field] of [
      [{ blockSizeBytes: 1000, blockCount: 1 }, 'blockSizeBytes'],
      [{ blockSizeBytes: 256, blockCount: 1 }, 'blockSizeBytes'],
      [{ blockSizeBytes: 512, blockCount: 0 }, 'blockCount'],
      [{ blockSizeBytes: 512, blockCount: 8, queueDepth: 0 }, 'queueDepth'],
      [{ blockSizeBytes: 512, blockCount: 8, maxTransferBytes: 100 }, 'maxTransferBytes'],
    ] as const) {
      let caught: unknown
      try {
        new MemoryBlockDevice(options)
      } catch (error) {
        caught = error
      }
      expect(isDerError(caught, 'DER_INVAL'), JSON.stringify(options)).toBe(true)
      expect((caught as Error).message).toContain(field)
    }
  })

  it('is sparse: a large device costs only what is written, and spans 1 MiB chunks', async () => {
    const device = new MemoryBlockDevice({ blockSizeBytes: 4096, blockCount: 1 << 20 })
    expect(device.allocatedBytes).toBe(0)
    const data = new Uint8Array(8192).map((_, i) => i & 0xff)
    await device.write(255, data) // crosses the first 1 MiB boundary
    expect(device.allocatedBytes).toBe(2 << 20)
    const back = new Uint8Array(8192)
    await device.read(255, back)
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true)
    await device.unmap(0, 512)
    expect(device.allocatedBytes).toBe(0)
    await device.close()
  })
})
