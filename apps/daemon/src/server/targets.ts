/**
 * An engine's devices and targets: opens (or formats, the first time) one block device per
 * target from the engine's storage tiers (a tier shared by several targets is split into
 * per-target files `<path>.t<i>`), and a `@x/engine` `TargetSet` on them.
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { DerError, type Logger } from '@x/common'
import { TargetSet } from '@x/engine'
import { type BlockDevice, FileBlockDevice, MemoryBlockDevice } from '@x/spdk-io'
import type { EngineConfig } from '../config/model.ts'

/** An engine's opened targets and their devices. */
export interface EngineTargets {
  readonly targets: TargetSet
  readonly devices: readonly BlockDevice[]
  /** Whether this call formatted the targets (false: reopened formatted ones). */
  readonly formattedNow: boolean
  /** Closes the targets, then the devices. */
  close(): Promise<void>
}

/** Options of {@link openEngineTargets}. */
export interface OpenTargetsOptions {
  readonly engine: EngineConfig
  /** Where the format marker lives (`engine0-formatted.json`). */
  readonly metadataDir: string
  readonly logger: Logger
  /** Block size of the devices (default 4096). */
  readonly blockSizeBytes?: number
  /** Blobstore cluster size of newly formatted targets. */
  readonly clusterSizeBytes?: number
  /** The rank recorded in the target set (default 0). */
  readonly rank?: number
}

/** Opens or formats the engine's targets. */
export async function openEngineTargets(options: OpenTargetsOptions): Promise<EngineTargets> {
  const { engine, metadataDir, logger } = options
  mkdirSync(metadataDir, { recursive: true })
  const blockSizeBytes = options.blockSizeBytes ?? 4096
  const marker = join(metadataDir, 'engine0-formatted.json')
  const formatted = existsSync(marker)
  const tiers = engine.storage
  if (tiers.length === 0) throw new DerError('DER_INVAL', 'engines[0].storage: no storage tier')
  const targetCount = engine.targets
  const devices: BlockDevice[] = []
  try {
    for (let t = 0; t < targetCount; t++) {
      const tierIndex = t % tiers.length
      const tier = tiers[tierIndex]!
      const sharing = Math.ceil((targetCount - tierIndex) / tiers.length)
      const blockCount = Math.floor(tier.sizeBytes / sharing / blockSizeBytes)
      if (tier.class === 'ram') {
        devices.push(new MemoryBlockDevice({ name: `engine0-target${t}`, blockSizeBytes, blockCount }))
      } else {
        const path = sharing === 1 ? tier.path : `${tier.path}.t${t}`
        mkdirSync(dirname(path), { recursive: true })
        devices.push(await FileBlockDevice.open({ path, blockSizeBytes, blockCount, create: !formatted || !existsSync(path) }))
      }
    }
    const ramOnly = tiers.every((tier) => tier.class === 'ram')
    let targets: TargetSet
    const rank = options.rank ?? 0
    if (formatted && !ramOnly) {
      logger.info('opening targets', { targets: targetCount })
      targets = await TargetSet.open(rank, devices)
    } else {
      logger.info('formatting targets', { targets: targetCount, devices: tiers.length })
      targets = await TargetSet.create(rank, devices, options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes })
      if (!ramOnly) writeFileSync(marker, JSON.stringify({ targets: targetCount }))
    }
    return {
      targets,
      devices,
      formattedNow: !formatted || ramOnly,
      async close() {
        await targets.close()
        for (const device of devices) await device.close()
      },
    }
  } catch (e) {
    for (const device of devices) await device.close().catch(() => undefined)
    throw e
  }
}
