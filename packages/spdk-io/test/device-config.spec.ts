import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FaultyBlockDevice, FileBlockDevice, MemoryBlockDevice, createDevicesFromConfig, parseDeviceConfig } from '../src/index.ts'

function expectInval(run: () => unknown, field: string): void {
  let error: unknown
  try {
    run()
  } catch (e) {
    error = e
  }
  expect(isDerError(error, 'DER_INVAL'), `expected DER_INVAL for ${field}, got ${String(error)}`).toBe(true)
  expect((error as Error).message).toContain(field)
}

describe('SPDK JSON device config', () => {
  it('creates malloc, aio and error bdevs from the SPDK form', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spdk-io-config-'))
    try {
      const file = join(dir, 'aio0.img')
      writeFileSync(file, Buffer.alloc(4096 * 16))
      const config = {
        subsystems: [
          { subsystem: 'accel', config: [] },
          {
            subsystem: 'bdev',
            config: [
              { method: 'bdev_set_options', params: { bdev_io_pool_size: 65535 } },
              { method: 'bdev_malloc_create', params: { name: 'Malloc0', num_blocks: 32768, block_size: 4096 } },
              { method: 'bdev_aio_create', params: { name: 'aio0', filename: file, block_size: 4096 } },
              { method: 'bdev_error_create', params: { base_name: 'Malloc0' } },
            ],
          },
        ],
      }
      const devices = await createDevicesFromConfig(JSON.stringify(config))
      expect([...devices.keys()]).toEqual(['Malloc0', 'aio0', 'EE_Malloc0'])
      const malloc = devices.get('Malloc0')
      expect(malloc).toBeInstanceOf(MemoryBlockDevice)
      expect(malloc?.blockCount).toBe(32768)
      expect(malloc?.blockSizeBytes).toBe(4096)
      const aio = devices.get('aio0')
      expect(aio).toBeInstanceOf(FileBlockDevice)
      expect(aio?.blockCount).toBe(16)
      const error = devices.get('EE_Malloc0')
      expect(error).toBeInstanceOf(FaultyBlockDevice)
      await error?.write(1, new Uint8Array(4096).fill(4))
      const back = new Uint8Array(4096)
      await malloc?.read(1, back)
      expect(back[0]).toBe(4)
      for (const device of devices.values()) await device.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names the bad field in every refusal', () => {
    const wrap = (config: unknown[]): unknown => ({ subsystems: [{ subsystem: 'bdev', config }] })
    expectInval(() => parseDeviceConfig('{nope'), 'not valid JSON')
    expectInval(() => parseDeviceConfig([]), '(root)')
    expectInval(() => parseDeviceConfig({ subsystems: 3 }), 'subsystems')
    expectInval(() => parseDeviceConfig({ subsystems: [{ config: [] }] }), 'subsystems[0].subsystem')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 0, block_size: 512 } }])), 'subsystems[0].config[0].params.num_blocks')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 1000 } }])), 'params.block_size')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_malloc_create', params: { num_blocks: 8, block_size: 512 } }])), 'params.name')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 512, color: 'red' } }])), 'params.color')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_nvme_attach_controller', params: {} }])), 'config[0].method')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_aio_create', params: { name: 'a', filename: '' } }])), 'params.filename')
    expectInval(() => parseDeviceConfig(wrap([{ method: 'bdev_error_create', params: { base_name: 'nope' } }])), 'params.base_name')
    expectInval(
      () =>
        parseDeviceConfig(
          wrap([
            { method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 512 } },
            { method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 512 } },
          ]),
        ),
      'config[1].params.name',
    )
  })

  it('closes what it created when a later entry fails', async () => {
    const config = {
      subsystems: [
        {
          subsystem: 'bdev',
          config: [
            { method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 512 } },
            { method: 'bdev_aio_create', params: { name: 'a', filename: join(tmpdir(), 'spdk-io-surely-missing.img') } },
          ],
        },
      ],
    }
    let error: unknown
    await createDevicesFromConfig(config).catch((e: unknown) => {
      error = e
    })
    expect(isDerError(error, 'DER_NONEXIST')).toBe(true)
  })

  it('throws only DER_INVAL on arbitrary JSON (fuzz)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseDeviceConfig({ subsystems: [{ subsystem: 'bdev', config: [value] }] })
          parseDeviceConfig(value)
        } catch (error) {
          return isDerError(error, 'DER_INVAL')
        }
        return true
      }),
      { seed: 42, numRuns: 500 },
    )
  })
})
