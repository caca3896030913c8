/**
 * Object id allocation of a container (`daos_cont_alloc_oids` + `daos_obj_generate_oid`): ranges
 * of `lo` come from a {@link OidRangeSource} (later the container service; now in memory), and
 * ids are generated with the class, type and the pool's fit.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ObjectClass, type ObjectId, ObjectIdAllocator, type PoolMap, generateObjectId, parseObjectClass, poolMapFit } from '@x/protocol'

function toError(error: unknown): Error {
  return error instanceof Error ? error : new DerError('DER_MISC', String(error))
}

/** Hands out disjoint ranges of object ids; resolves with the first id of `count`. */
export interface OidRangeSource {
  allocate(count: number): Promise<bigint>
}

/** An in-memory range source over `@x/protocol`'s `ObjectIdAllocator`. */
export class MemoryOidRangeSource implements OidRangeSource {
  private readonly allocator: ObjectIdAllocator

  constructor(highestAllocated = 0n) {
    this.allocator = new ObjectIdAllocator(highestAllocated)
  }

  /** The highest id handed out. */
  get highestAllocated(): bigint {
    return this.allocator.highestAllocated
  }

  allocate(count: number): Promise<bigint> {
    try {
      return Promise.resolve(this.allocator.allocate(count))
    } catch (error) {
      return Promise.reject(toError(error))
    }
  }
}

/** Generates object ids from ranges of `rangeSize` ids taken from a source. */
export class OidGenerator {
  private next = 0n
  private end = 0n

  constructor(
    private readonly source: OidRangeSource,
    private readonly rangeSize = 256,
  ) {
    if (!Number.isSafeInteger(rangeSize) || rangeSize < 1) throw new DerError('DER_INVAL', `bad oid range size ${rangeSize}`)
  }

  /** A new id of `type` and class `oclass` (a name such as `RP_3G1`, or a class) for `map`. */
  async generate(oclass: string | ObjectClass, type: number, map: PoolMap): Promise<ObjectId> {
    const cls = typeof oclass === 'string' ? parseObjectClass(oclass) : oclass
    if (this.next >= this.end) {
      const first = await this.source.allocate(this.rangeSize)
      this.next = first
      this.end = first + BigInt(this.rangeSize)
    }
    const lo = this.next++
    return generateObjectId({ lo, type, oclass: cls, fit: poolMapFit(map) })
  }
}
