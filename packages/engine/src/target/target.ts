/**
 * Targets: one VOS on a blobstore over one block device, and the set of targets of an engine.
 *
 * @module
 */
import { DerError } from '@x/common'
import { Blobstore, type BlockDevice } from '@x/spdk-io'
import { type SpaceInfo, type SpdkStorageSizes, Vos, createSpdkStorage, openSpdkStorage } from '@x/vos'

/** Options of {@link Target.create}. */
export interface TargetCreateOptions {
  /** The target's index inside its engine. */
  readonly index: number
  /** The device the target's blobstore lives on (formatted by create). */
  readonly device: BlockDevice
  /** Blobstore cluster size (default 64 KiB, small devices in tests). */
  readonly clusterSizeBytes?: number
  /** Sizes of the VOS blobs; default: WAL and meta 1/8 of the device each, data the rest that fits. */
  readonly sizes?: SpdkStorageSizes
}

/** Options of {@link Target.open}. */
export interface TargetOpenOptions {
  readonly index: number
  readonly device: BlockDevice
}

const defaultClusterBytes = 64 * 1024

function defaultSizes(store: Blobstore): SpdkStorageSizes {
  const cluster = store.clusterSizeBytes
  const free = store.freeClusters
  const meta = Math.max(1, Math.floor(free / 8))
  const wal = Math.max(1, Math.floor(free / 8))
  const data = free - meta - wal - 1
  if (data < 1) throw new DerError('DER_NOSPACE', `device too small for a target: ${free} free clusters of ${cluster} bytes`)
  return { walBytes: wal * cluster, metaBytes: meta * cluster, dataBytes: data * cluster }
}

/** One target: a VOS on a blobstore over a device (DAOS's per-xstream VOS pool). */
export class Target {
  private isOpen = true

  private constructor(
    /** The target's index inside its engine. */
    readonly index: number,
    /** The blobstore on the target's device. */
    readonly blobstore: Blobstore,
    /** The target's versioned object store. */
    readonly vos: Vos,
  ) {}

  /** Formats `device` with a blobstore, creates the VOS blobs and an empty VOS. */
  static async create(options: TargetCreateOptions): Promise<Target> {
    checkIndex(options.index)
    const store = await Blobstore.format(options.device, { clusterSizeBytes: options.clusterSizeBytes ?? defaultClusterBytes })
    const storage = await createSpdkStorage(store, options.device, options.sizes ?? defaultSizes(store))
    const vos = await Vos.create({ storage })
    return new Target(options.index, store, vos)
  }

  /** Loads the blobstore of `device` and opens its VOS (recovering from its WAL). */
  static async open(options: TargetOpenOptions): Promise<Target> {
    checkIndex(options.index)
    const store = await Blobstore.load(options.device)
    const vos = await Vos.open({ storage: await openSpdkStorage(store, options.device) })
    return new Target(options.index, store, vos)
  }

  /** Whether the target is open. */
  get opened(): boolean {
    return this.isOpen
  }

  /** Space use of the target's VOS. */
  space(): SpaceInfo {
    return this.vos.space()
  }

  /** Flushes and closes the VOS, then the blobstore. */
  async close(): Promise<void> {
    if (!this.isOpen) throw new DerError('DER_ALREADY', `target ${this.index} is already closed`)
    this.isOpen = false
    await this.vos.close()
    await this.blobstore.close()
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 1023) throw new DerError('DER_INVAL', `bad target index ${index}`)
}

/** Space of a {@link TargetSet}: the sum and each target. */
export interface TargetSetSpace extends SpaceInfo {
  /** Per target, by index. */
  readonly targets: readonly SpaceInfo[]
}

/** The targets of one engine, indexed 0..N-1 (one device each). */
export class TargetSet {
  private constructor(
    /** The engine's rank. */
    readonly rank: number,
    private readonly list: readonly Target[],
  ) {}

  /** Formats one target per device (index = position). */
  static async create(rank: number, devices: readonly BlockDevice[], options: { clusterSizeBytes?: number } = {}): Promise<TargetSet> {
    if (devices.length === 0) throw new DerError('DER_INVAL', 'an engine needs at least one target device')
    const targets: Target[] = []
    for (const [index, device] of devices.entries()) targets.push(await Target.create({ index, device, ...(options.clusterSizeBytes === undefined ? {} : { clusterSizeBytes: options.clusterSizeBytes }) }))
    return new TargetSet(rank, targets)
  }

  /** Opens the targets already formatted on `devices`. */
  static async open(rank: number, devices: readonly BlockDevice[]): Promise<TargetSet> {
    if (devices.length === 0) throw new DerError('DER_INVAL', 'an engine needs at least one target device')
    const targets: Target[] = []
    for (const [index, device] of devices.entries()) targets.push(await Target.open({ index, device }))
    return new TargetSet(rank, targets)
  }

  /** The number of targets. */
  get size(): number {
    return this.list.length
  }

  /** Every target, by index. */
  get targets(): readonly Target[] {
    return this.list
  }

  /** Target `index`; `DER_NONEXIST` when out of range or closed. */
  get(index: number): Target {
    const t = this.list[index]
    if (t === undefined) throw new DerError('DER_NONEXIST', `rank ${this.rank} has no target ${index}`)
    if (!t.opened) throw new DerError('DER_NONEXIST', `target ${index} of rank ${this.rank} is closed`)
    return t
  }

  /** Space of every target and the sum. */
  space(): TargetSetSpace {
    const targets = this.list.map((t) => t.space())
    return { usedBytes: targets.reduce((a, s) => a + s.usedBytes, 0), capacityBytes: targets.reduce((a, s) => a + s.capacityBytes, 0), targets }
  }

  /** Closes every open target. */
  async close(): Promise<void> {
    for (const t of this.list) if (t.opened) await t.close()
  }
}
