/**
 * `FaultyBlockDevice`: wraps any device and injects faults from a seeded `Random`, reproducibly.
 *
 * @module
 */
import { DerError, Random, type Runtime, type Seed } from '@x/common'
import type { BlockDevice, BlockDeviceCapabilities } from './block-device.ts'
import { AbstractBlockDevice } from './abstract-block-device.ts'

/** Fault probabilities and settings; every field defaults to "off". */
export interface FaultSettings {
  /** Probability that a read fails with `DER_IO`. */
  readonly readErrorRate?: number
  /** Probability that a write fails with `DER_IO` (nothing is written). */
  readonly writeErrorRate?: number
  /** Probability that a read returns data with one bit flipped. */
  readonly bitFlipRate?: number
  /** Probability that a write lands at another LBA (silently). */
  readonly misdirectedWriteRate?: number
  /** Extra latency per operation in ms, uniformly drawn from `[min, max]` (through the runtime's timers). */
  readonly latencyMs?: { readonly min: number; readonly max: number }
  /** Cut the power when the n-th write (1-based, counted since the wrapper was created or last powered on) is submitted. */
  readonly powerCutAtWrite?: number
  /** On a power cut, the probability that an unflushed write is lost entirely (default 0.4). */
  readonly lostWriteRate?: number
  /** On a power cut, the probability that an unflushed multi-block write is torn: only a prefix of its blocks persists (default 0.3). */
  readonly tornWriteRate?: number
}

/** Options of a {@link FaultyBlockDevice}. */
export interface FaultyBlockDeviceOptions {
  /** The device to wrap. */
  readonly inner: BlockDevice
  /** Seed of the fault decisions (every fault is reproducible from it). */
  readonly seed: Seed
  /** Initial fault settings (default: none). */
  readonly faults?: FaultSettings
  /**
   * Keep writes in a volatile write-back cache until `flush` (default true): what a power cut can
   * lose or tear. Without it, writes go straight to the inner device.
   */
  readonly writeBack?: boolean
  /** Runtime whose timers implement injected latency (needed only with `latencyMs`). */
  readonly runtime?: Runtime
  /** Queue depth of the wrapper (default: the inner device's). */
  readonly queueDepth?: number
  /** Close the inner device when the wrapper closes (default true). */
  readonly closeInner?: boolean
  /** Name (default `faulty(<inner name>)`). */
  readonly name?: string
}

/** A fault that happened, for tests to inspect. */
export type FaultEvent =
  | { readonly kind: 'readError' | 'writeError'; readonly lba: number }
  | { readonly kind: 'bitFlip'; readonly lba: number; readonly byteOffset: number; readonly bit: number }
  | { readonly kind: 'misdirectedWrite'; readonly lba: number; readonly actualLba: number }
  | { readonly kind: 'powerCut'; readonly unflushedWrites: number; readonly lost: number; readonly torn: number; readonly persisted: number }

interface CachedWrite {
  readonly lba: number
  readonly data: Uint8Array
  readonly version: number
}

/**
 * Wraps a device and injects faults. With the write-back cache on (the default), writes stay in
 * volatile memory until `flush`; {@link FaultyBlockDevice.powerCut} then decides for each
 * unflushed write, in order and from the seed, whether it persisted, was lost, or was torn, and
 * the device fails all I/O with `DER_IO` until {@link FaultyBlockDevice.powerOn}.
 */
export class FaultyBlockDevice extends AbstractBlockDevice {
  readonly capabilities: BlockDeviceCapabilities
  /** Faults injected so far, oldest first. */
  readonly events: FaultEvent[] = []
  private settings: FaultSettings
  private readonly random: Random
  private readonly inner: BlockDevice
  private readonly writeBack: boolean
  private readonly runtime: Runtime | undefined
  private readonly closeInner: boolean
  private readonly cache = new Map<number, { data: Uint8Array; version: number }>()
  private log: CachedWrite[] = []
  private version = 0
  private writesSeen = 0
  private powered = true
  private cutting: Promise<void> | undefined
  private destageChain: Promise<void> = Promise.resolve()

  constructor(options: FaultyBlockDeviceOptions) {
    const inner = options.inner
    super({
      name: options.name ?? `faulty(${inner.name})`,
      blockSizeBytes: inner.blockSizeBytes,
      blockCount: inner.blockCount,
      queueDepth: options.queueDepth ?? inner.queueDepth,
      maxTransferBytes: inner.maxTransferBytes,
      alignmentBytes: inner.alignmentBytes,
    })
    this.inner = inner
    this.random = new Random(options.seed)
    this.settings = checkSettings(options.faults ?? {})
    this.writeBack = options.writeBack ?? true
    this.runtime = options.runtime
    this.closeInner = options.closeInner ?? true
    this.capabilities = { ...inner.capabilities }
  }

  /** The wrapped device (writes reach it on flush when the write-back cache is on). */
  get innerDevice(): BlockDevice {
    return this.inner
  }

  /** The current fault settings. */
  get faults(): FaultSettings {
    return this.settings
  }

  /** Replaces the fault settings (validated; `DER_INVAL` names a bad field). */
  setFaults(faults: FaultSettings): void {
    this.settings = checkSettings(faults)
  }

  /** Whether the (simulated) power is on. */
  get poweredOn(): boolean {
    return this.powered
  }

  /** Writes accepted since creation or the last power-on. */
  get writeCount(): number {
    return this.writesSeen
  }

  /** Unflushed writes held in the volatile cache. */
  get unflushedWrites(): number {
    return this.log.length
  }

  /**
   * Simulates a power loss: each unflushed write, oldest first, is persisted, lost or torn
   * (a prefix of its blocks persisted) by seeded draws; the cache is dropped and every later
   * operation fails with `DER_IO` until {@link FaultyBlockDevice.powerOn}.
   */
  powerCut(): Promise<void> {
    this.powered = false
    this.failed = true
    this.cutting ??= this.applyPowerCut()
    return this.cutting
  }

  /** Restores power after a cut: I/O works again and the write counter restarts. */
  async powerOn(): Promise<void> {
    if (this.cutting !== undefined) await this.cutting
    this.cutting = undefined
    this.powered = true
    this.failed = false
    this.writesSeen = 0
    this.settings = { ...this.settings, powerCutAtWrite: undefined }
  }

  protected async doRead(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    await this.delay()
    this.checkPower('read', lba)
    if (this.draw(this.settings.readErrorRate)) {
      this.events.push({ kind: 'readError', lba })
      throw new DerError('DER_IO', `injected read error at lba ${lba} on ${this.name}`, { details: { lba, injected: true } })
    }
    // Capture the cached blocks now: a flush running while the inner read is in flight may move
    // them to the inner device and out of the cache before the read lands.
    const cached = this.cache.size > 0 ? this.cachedBlocks(lba, byteLength / this.blockSizeBytes) : undefined
    await this.inner.read(lba, buffers)
    this.checkPower('read', lba)
    if (cached !== undefined) this.overlay(cached, buffers, byteLength)
    if (this.draw(this.settings.bitFlipRate)) {
      const byteOffset = this.random.int(byteLength)
      const bit = this.random.int(8)
      let at = byteOffset
      for (const buffer of buffers) {
        if (at < buffer.length) {
          buffer[at] = (buffer[at] ?? 0) ^ (1 << bit)
          break
        }
        at -= buffer.length
      }
      this.events.push({ kind: 'bitFlip', lba, byteOffset, bit })
    }
  }

  protected async doWrite(lba: number, buffers: readonly Uint8Array[], byteLength: number): Promise<void> {
    await this.delay()
    this.checkPower('write', lba)
    this.writesSeen++
    const data = concat(buffers, byteLength)
    let target = lba
    if (this.draw(this.settings.writeErrorRate)) {
      this.events.push({ kind: 'writeError', lba })
      throw new DerError('DER_IO', `injected write error at lba ${lba} on ${this.name}`, { details: { lba, injected: true } })
    }
    if (this.draw(this.settings.misdirectedWriteRate)) {
      const blocks = byteLength / this.blockSizeBytes
      target = this.random.int(this.blockCount - blocks + 1)
      this.events.push({ kind: 'misdirectedWrite', lba, actualLba: target })
    }
    if (this.settings.powerCutAtWrite !== undefined && this.writesSeen >= this.settings.powerCutAtWrite) {
      // The write was on its way when the power failed: it joins the cache and takes its chances.
      this.cacheWrite(target, data)
      await this.powerCut()
      throw new DerError('DER_IO', `power cut during write ${this.writesSeen} at lba ${lba} on ${this.name}`, { details: { lba, powerCut: true } })
    }
    if (this.writeBack) this.cacheWrite(target, data)
    else await this.inner.write(target, data)
  }

  protected async doFlush(): Promise<void> {
    await this.delay()
    this.checkPower('flush', 0)
    await this.destage()
    this.checkPower('flush', 0)
    await this.inner.flush()
  }

  protected async doWriteZeroes(lba: number, blockCount: number): Promise<void> {
    await this.delay()
    this.checkPower('writeZeroes', lba)
    if (!this.writeBack) {
      await this.inner.writeZeroes(lba, blockCount)
      return
    }
    this.writesSeen++
    const zeroes = new Uint8Array(blockCount * this.blockSizeBytes)
    if (this.settings.powerCutAtWrite !== undefined && this.writesSeen >= this.settings.powerCutAtWrite) {
      this.cacheWrite(lba, zeroes)
      await this.powerCut()
      throw new DerError('DER_IO', `power cut during writeZeroes at lba ${lba} on ${this.name}`, { details: { lba, powerCut: true } })
    }
    this.cacheWrite(lba, zeroes)
  }

  protected async doUnmap(lba: number, blockCount: number): Promise<void> {
    await this.delay()
    this.checkPower('unmap', lba)
    // Unmap is ordered after earlier writes: destage them first, then pass it through.
    await this.destage()
    this.checkPower('unmap', lba)
    await this.inner.unmap(lba, blockCount)
  }

  protected async doClose(): Promise<void> {
    this.cache.clear()
    this.log = []
    if (this.closeInner && !this.inner.closed) await this.inner.close()
  }

  private checkPower(what: string, lba: number): void {
    if (!this.powered) throw new DerError('DER_IO', `${what} at lba ${lba}: ${this.name} has no power`, { details: { lba, powerCut: true } })
  }

  private draw(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random.chance(rate)
  }

  private async delay(): Promise<void> {
    const latency = this.settings.latencyMs
    if (latency === undefined) return
    const ms = latency.min + this.random.float() * (latency.max - latency.min)
    if (this.runtime === undefined) throw new DerError('DER_INVAL', `${this.name}: latencyMs needs a runtime`)
    await this.runtime.timers.sleep(ms)
  }

  private cacheWrite(lba: number, data: Uint8Array): void {
    const version = ++this.version
    this.log.push({ lba, data, version })
    const block = this.blockSizeBytes
    for (let i = 0; i < data.length / block; i++) this.cache.set(lba + i, { data: data.subarray(i * block, (i + 1) * block), version })
  }

  private cachedBlocks(lba: number, blocks: number): (Uint8Array | undefined)[] | undefined {
    let any = false
    const found: (Uint8Array | undefined)[] = []
    for (let i = 0; i < blocks; i++) {
      const data = this.cache.get(lba + i)?.data
      if (data !== undefined) any = true
      found.push(data)
    }
    return any ? found : undefined
  }

  private overlay(cached: readonly (Uint8Array | undefined)[], buffers: readonly Uint8Array[], byteLength: number): void {
    const block = this.blockSizeBytes
    const blocks = byteLength / block
    let bufferIndex = 0
    let bufferOffset = 0
    for (let i = 0; i < blocks; i++) {
      const data = cached[i]
      // Copy block i (which may span buffers) from the captured cache content.
      let copied = 0
      while (copied < block) {
        const buffer = buffers[bufferIndex]
        if (buffer === undefined) return
        const length = Math.min(block - copied, buffer.length - bufferOffset)
        if (data !== undefined) buffer.set(data.subarray(copied, copied + length), bufferOffset)
        copied += length
        bufferOffset += length
        if (bufferOffset === buffer.length) {
          bufferIndex++
          bufferOffset = 0
        }
      }
    }
  }

  /** Writes the cached writes to the inner device in order and drops them from the cache. */
  private destage(): Promise<void> {
    // One destage at a time: two interleaved destages could write an older version of a block
    // after a newer one.
    const run = this.destageChain.then(() => this.destageNow())
    this.destageChain = run.catch(() => undefined)
    return run
  }

  private async destageNow(): Promise<void> {
    if (this.log.length === 0) return
    const entries = this.log
    this.log = []
    for (const entry of entries) {
      // After a power cut nothing more reaches the media; the rest was unflushed, hence lost.
      if (!this.powered) return
      await this.inner.write(entry.lba, entry.data)
    }
    const block = this.blockSizeBytes
    for (const entry of entries) {
      for (let i = 0; i < entry.data.length / block; i++) {
        const cached = this.cache.get(entry.lba + i)
        if (cached !== undefined && cached.version <= entry.version) this.cache.delete(entry.lba + i)
      }
    }
  }

  private async applyPowerCut(): Promise<void> {
    const entries = this.log
    this.log = []
    this.cache.clear()
    const lostRate = this.settings.lostWriteRate ?? 0.4
    const tornRate = this.settings.tornWriteRate ?? 0.3
    let lost = 0
    let torn = 0
    let persisted = 0
    const block = this.blockSizeBytes
    for (const entry of entries) {
      const draw = this.random.float()
      const blocks = entry.data.length / block
      if (draw < lostRate) {
        lost++
      } else if (draw < lostRate + tornRate && blocks > 1) {
        torn++
        const keep = 1 + this.random.int(blocks - 1)
        await this.inner.write(entry.lba, entry.data.subarray(0, keep * block))
      } else {
        persisted++
        await this.inner.write(entry.lba, entry.data)
      }
    }
    this.events.push({ kind: 'powerCut', unflushedWrites: entries.length, lost, torn, persisted })
  }
}

function concat(buffers: readonly Uint8Array[], byteLength: number): Uint8Array {
  const data = new Uint8Array(byteLength)
  let offset = 0
  for (const buffer of buffers) {
    data.set(buffer, offset)
    offset += buffer.length
  }
  return data
}

function checkSettings(faults: FaultSettings): FaultSettings {
  for (const field of ['readErrorRate', 'writeErrorRate', 'bitFlipRate', 'misdirectedWriteRate', 'lostWriteRate', 'tornWriteRate'] as const) {
    const value = faults[field]
    if (value !== undefined && (!Number.isFinite(value) || value < 0 || value > 1)) {
      throw new DerError('DER_INVAL', `faults.${field} must be a probability from 0 to 1, got ${String(value)}`)
    }
  }
  if ((faults.lostWriteRate ?? 0.4) + (faults.tornWriteRate ?? 0.3) > 1) throw new DerError('DER_INVAL', 'faults.lostWriteRate + faults.tornWriteRate must be at most 1')
  const latency = faults.latencyMs
  if (latency !== undefined && (!Number.isFinite(latency.min) || !Number.isFinite(latency.max) || latency.min < 0 || latency.max < latency.min)) {
    throw new DerError('DER_INVAL', `faults.latencyMs must have 0 <= min <= max, got ${JSON.stringify(latency)}`)
  }
  const cut = faults.powerCutAtWrite
  if (cut !== undefined && (!Number.isSafeInteger(cut) || cut < 1)) throw new DerError('DER_INVAL', `faults.powerCutAtWrite must be an integer >= 1, got ${String(cut)}`)
  return { ...faults }
}
