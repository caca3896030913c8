/**
 * Devices from SPDK's JSON configuration (`spdk_tgt --json`), the `bdev` subsystem part.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { BlockDevice } from './block-device.ts'
import { FaultyBlockDevice } from './faulty-block-device.ts'
import { FileBlockDevice } from './file-block-device.ts'
import { MemoryBlockDevice } from './memory-block-device.ts'

/** `bdev_malloc_create`: a memory device. */
export interface MallocBdevConfig {
  readonly method: 'bdev_malloc_create'
  readonly params: { readonly name: string; readonly num_blocks: number; readonly block_size: number }
}

/** `bdev_aio_create` (or `bdev_uring_create`): a file or block device. */
export interface AioBdevConfig {
  readonly method: 'bdev_aio_create' | 'bdev_uring_create'
  readonly params: { readonly name: string; readonly filename: string; readonly block_size?: number }
}

/** `bdev_error_create`: a fault-injecting wrapper named `EE_<base_name>` (faults off until set). */
export interface ErrorBdevConfig {
  readonly method: 'bdev_error_create'
  readonly params: { readonly base_name: string }
}

/** One validated entry of the `bdev` subsystem's `config` array. */
export type BdevConfigEntry = MallocBdevConfig | AioBdevConfig | ErrorBdevConfig

/** Options of {@link createDevicesFromConfig}. */
export interface CreateDevicesOptions {
  /** Queue depth of created devices (default: each device's default). */
  readonly queueDepth?: number
  /** Seed of `bdev_error_create` wrappers (default 0). */
  readonly faultSeed?: number
}

const allowedParams: Record<BdevConfigEntry['method'], { required: readonly string[]; optional: readonly string[] }> = {
  bdev_malloc_create: { required: ['name', 'num_blocks', 'block_size'], optional: [] },
  bdev_aio_create: { required: ['name', 'filename'], optional: ['block_size'] },
  bdev_uring_create: { required: ['name', 'filename'], optional: ['block_size'] },
  bdev_error_create: { required: ['base_name'], optional: [] },
}

function bad(path: string, message: string): never {
  throw new DerError('DER_INVAL', `device config: ${path}: ${message}`, { details: { field: path } })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Validates an SPDK JSON config (text or parsed) and returns its bdev entries in order. Every
 * problem throws `DER_INVAL` whose message names the field (`subsystems[0].config[1].params.block_size`).
 * Subsystems other than `bdev` are ignored; unknown methods and unknown params are refused.
 */
export function parseDeviceConfig(input: unknown): BdevConfigEntry[] {
  let config = input
  if (typeof input === 'string') {
    try {
      config = JSON.parse(input) as unknown
    } catch (error) {
      throw new DerError('DER_INVAL', `device config: not valid JSON: ${(error as Error).message}`, { cause: error })
    }
  }
  if (!isRecord(config)) bad('(root)', 'must be an object with "subsystems"')
  const subsystems = config.subsystems
  if (!Array.isArray(subsystems)) bad('subsystems', 'must be an array')
  const entries: BdevConfigEntry[] = []
  const names = new Set<string>()
  subsystems.forEach((subsystem: unknown, s) => {
    const at = `subsystems[${s}]`
    if (!isRecord(subsystem)) bad(at, 'must be an object')
    if (typeof subsystem.subsystem !== 'string') bad(`${at}.subsystem`, 'must be a string')
    if (subsystem.subsystem !== 'bdev') return
    const list = subsystem.config ?? []
    if (!Array.isArray(list)) bad(`${at}.config`, 'must be an array')
    list.forEach((item: unknown, c) => {
      const here = `${at}.config[${c}]`
      if (!isRecord(item)) bad(here, 'must be an object')
      const method = item.method
      if (typeof method !== 'string') bad(`${here}.method`, 'must be a string')
      // SPDK writes bdev-layer options into the same list; they do not create devices.
      if (method === 'bdev_set_options' || method === 'bdev_wait_for_examine' || method === 'bdev_nvme_set_options') return
      const rule = (allowedParams as Record<string, (typeof allowedParams)[keyof typeof allowedParams] | undefined>)[method]
      if (rule === undefined) bad(`${here}.method`, `unsupported method '${method}' (supported: ${Object.keys(allowedParams).join(', ')})`)
      const params = item.params
      if (!isRecord(params)) bad(`${here}.params`, 'must be an object')
      for (const key of Object.keys(params)) if (!rule.required.includes(key) && !rule.optional.includes(key)) bad(`${here}.params.${key}`, 'unknown parameter')
      for (const key of rule.required) if (params[key] === undefined) bad(`${here}.params.${key}`, 'is required')
      const str = (key: string): string => {
        const value = params[key]
        if (typeof value !== 'string' || value.length === 0) bad(`${here}.params.${key}`, 'must be a non-empty string')
        return value
      }
      const blockSize = (key: string): number => {
        const value = params[key]
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 512 || value > 65536 || (value & (value - 1)) !== 0) {
          bad(`${here}.params.${key}`, `must be a power of two from 512 to 65536, got ${JSON.stringify(value)}`)
        }
        return value
      }
      let entry: BdevConfigEntry
      if (method === 'bdev_malloc_create') {
        const numBlocks = params.num_blocks
        if (typeof numBlocks !== 'number' || !Number.isSafeInteger(numBlocks) || numBlocks < 1) bad(`${here}.params.num_blocks`, `must be an integer >= 1, got ${JSON.stringify(numBlocks)}`)
        entry = { method, params: { name: str('name'), num_blocks: numBlocks, block_size: blockSize('block_size') } }
      } else if (method === 'bdev_aio_create' || method === 'bdev_uring_create') {
        entry = params.block_size === undefined ? { method, params: { name: str('name'), filename: str('filename') } } : { method, params: { name: str('name'), filename: str('filename'), block_size: blockSize('block_size') } }
      } else {
        const base = str('base_name')
        if (!names.has(base)) bad(`${here}.params.base_name`, `no device named '${base}' is defined before it`)
        entry = { method: 'bdev_error_create', params: { base_name: base } }
      }
      const name = entry.method === 'bdev_error_create' ? `EE_${entry.params.base_name}` : entry.params.name
      if (names.has(name)) bad(`${here}.params.name`, `device '${name}' is defined twice`)
      names.add(name)
      entries.push(entry)
    })
  })
  return entries
}

/**
 * Creates the devices of an SPDK JSON config, keyed by bdev name. A file for `bdev_aio_create` must
 * exist; `block_size` defaults to 512 as in SPDK. On any failure the devices created so far are
 * closed and the error is rethrown.
 */
export async function createDevicesFromConfig(input: unknown, options: CreateDevicesOptions = {}): Promise<Map<string, BlockDevice>> {
  const entries = parseDeviceConfig(input)
  const devices = new Map<string, BlockDevice>()
  const queue = options.queueDepth === undefined ? {} : { queueDepth: options.queueDepth }
  try {
    for (const entry of entries) {
      switch (entry.method) {
        case 'bdev_malloc_create':
          devices.set(entry.params.name, new MemoryBlockDevice({ name: entry.params.name, blockSizeBytes: entry.params.block_size, blockCount: entry.params.num_blocks, ...queue }))
          break
        case 'bdev_aio_create':
        case 'bdev_uring_create':
          devices.set(entry.params.name, await FileBlockDevice.open({ name: entry.params.name, path: entry.params.filename, blockSizeBytes: entry.params.block_size ?? 512, ...queue }))
          break
        case 'bdev_error_create': {
          const base = devices.get(entry.params.base_name)
          if (base === undefined) bad('base_name', `no device '${entry.params.base_name}'`)
          devices.set(`EE_${entry.params.base_name}`, new FaultyBlockDevice({ inner: base, seed: options.faultSeed ?? 0, writeBack: false, closeInner: false, name: `EE_${entry.params.base_name}` }))
          break
        }
      }
    }
  } catch (error) {
    for (const device of [...devices.values()].reverse()) if (!device.closed) await device.close().catch(() => undefined)
    throw error
  }
  return devices
}
