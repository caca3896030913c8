/**
 * The simulator's network: `@x/rdma-transport`'s {@link MemoryFabric} (seeded loss, delay,
 * duplication, reordering, connection resets) with one-way cuts added on top of its symmetric
 * partitions. The memory provider asks `isPartitioned(from, to)` with the sender first for every
 * message, RMA and connection attempt, so a directed cut drops traffic in one direction only.
 *
 * @module
 */
import { MemoryFabric, type MemoryFabricOptions } from '@x/rdma-transport'

/** A {@link MemoryFabric} whose partitions may be one-way. */
export class SimFabric extends MemoryFabric {
  private readonly oneWay = new Set<string>()

  constructor(options: MemoryFabricOptions) {
    super(options)
  }

  /** Cuts traffic sent from `from` to `to` (the reverse direction still flows). */
  cutOneWay(from: string, to: string): void {
    this.oneWay.add(`${from}\n${to}`)
  }

  /** Heals the one-way cut from `from` to `to`. */
  healOneWay(from: string, to: string): void {
    this.oneWay.delete(`${from}\n${to}`)
  }

  /** Heals every cut, symmetric and one-way. */
  healAll(): void {
    this.oneWay.clear()
    this.heal()
  }

  /** Number of active one-way cuts. */
  get oneWayCuts(): number {
    return this.oneWay.size
  }

  override isPartitioned(from: string, to: string): boolean {
    if (this.oneWay.size > 0 && this.oneWay.has(`${from}\n${to}`)) return true
    return super.isPartitioned(from, to)
  }
}
