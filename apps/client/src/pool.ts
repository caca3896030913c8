/**
 * Pool and container handles of the client: a pool handle owns the object router (pool map,
 * refresh callback, cart context, retry policy); a container handle opens objects, KV objects and
 * arrays, and allocates object ids.
 *
 * @module
 */
import type { Context } from '@x/cart'
import { DerError, type Runtime } from '@x/common'
import { type ObjectClass, type ObjectId, type PoolMap, ObjectType, checkObjectId, checkPlaceable, oidClass, parseObjectClass } from '@x/protocol'
import { type ArrayAttributes, ArrayObject } from './array.ts'
import type { CallOptions } from './events.ts'
import { KvObject } from './kv.ts'
import { ObjectHandle } from './object.ts'
import { MemoryOidRangeSource, OidGenerator, type OidRangeSource } from './oid-allocator.ts'
import { ObjectRouter, type RefreshPoolMap, type RetryPolicy, type RouterStats } from './router.ts'

const zeroUuid = '00000000-0000-0000-0000-000000000000'

/** Options of {@link PoolHandle}. */
export interface PoolHandleOptions {
  /** A cart context with the object protocol registered (`clientObjectProtocol`). */
  readonly context: Context
  readonly runtime: Runtime
  readonly poolUuid: string
  /** The pool handle UUID from pool connect (default zero). */
  readonly handleUuid?: string
  /** The pool map from pool connect. */
  readonly poolMap: PoolMap
  /** Returns the latest map; used on `DER_STALE` and when a leader is unreachable. */
  readonly refreshMap?: RefreshPoolMap
  readonly retry?: RetryPolicy
}

/** Options of {@link PoolHandle.openContainer}. */
export interface ContainerOpenOptions {
  /** The container handle UUID from container open (default zero). */
  readonly handleUuid?: string
  /** Where object id ranges come from (default: in memory). */
  readonly oidSource?: OidRangeSource
}

/** A connected pool (see the module comment). */
export class PoolHandle {
  /** Routes object RPCs of this pool. */
  readonly router: ObjectRouter

  constructor(readonly options: PoolHandleOptions) {
    this.router = new ObjectRouter({
      context: options.context,
      runtime: options.runtime,
      poolUuid: options.poolUuid,
      poolMap: options.poolMap,
      ...(options.refreshMap === undefined ? {} : { refreshMap: options.refreshMap }),
      ...(options.handleUuid === undefined ? {} : { poolHandle: options.handleUuid }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    })
  }

  /** The pool map in use (it moves forward on `DER_STALE`). */
  get poolMap(): PoolMap {
    return this.router.poolMap
  }

  /** Counters of the router's retry paths. */
  get stats(): RouterStats {
    return this.router.stats
  }

  /** Opens container `containerUuid` for object I/O. */
  openContainer(containerUuid: string, options: ContainerOpenOptions = {}): ContainerHandle {
    if (typeof containerUuid !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(containerUuid)) {
      throw new DerError('DER_INVAL', `bad container UUID ${String(containerUuid)}`)
    }
    return new ContainerHandle(this, containerUuid, options)
  }
}

function resolveClass(oclass: string | ObjectClass): ObjectClass {
  if (typeof oclass === 'string') return parseObjectClass(oclass)
  if (typeof oclass !== 'object' || oclass === null) throw new DerError('DER_INVAL', 'bad object class')
  return parseObjectClass(oclass.name)
}

/** An open container: objects, KV and arrays, and object ids. */
export class ContainerHandle {
  private readonly oids: OidGenerator

  constructor(
    /** The pool. */
    readonly pool: PoolHandle,
    /** The container UUID. */
    readonly uuid: string,
    private readonly options: ContainerOpenOptions = {},
  ) {
    this.oids = new OidGenerator(options.oidSource ?? new MemoryOidRangeSource())
  }

  /**
   * A new object id of class `oclass` and `type` (default a KV type); `DER_INVAL` for an unknown
   * class or one the pool cannot place.
   */
  async allocateOid(oclass: string | ObjectClass, type: number = ObjectType.KV_HASHED): Promise<ObjectId> {
    const cls = this.checkClass(oclass)
    return this.oids.generate(cls, type, this.pool.poolMap)
  }

  private checkClass(oclass: string | ObjectClass): ObjectClass {
    const cls = resolveClass(oclass)
    checkPlaceable(this.pool.poolMap, cls)
    return cls
  }

  /**
   * Opens `oid` (`daos_obj_open`). When `oclass` is given it must be the class encoded in the
   * id (`DER_INVAL` otherwise).
   */
  openObject(oid: ObjectId, oclass?: string | ObjectClass): ObjectHandle {
    checkObjectId(oid)
    const encoded = oidClass(oid)
    if (oclass !== undefined && resolveClass(oclass).name !== encoded.name) throw new DerError('DER_INVAL', `object ${oid.hi}.${oid.lo} has class ${encoded.name}, not ${resolveClass(oclass).name}`)
    return new ObjectHandle(this.pool.router, {
      poolUuid: this.pool.options.poolUuid,
      poolHandle: this.pool.options.handleUuid ?? zeroUuid,
      containerUuid: this.uuid,
      containerHandle: this.options.handleUuid ?? zeroUuid,
    }, oid)
  }

  /** Opens a KV object (`daos_kv_open`); `DER_INVAL` when the id's type is not a KV type. */
  openKv(oid: ObjectId): KvObject {
    return new KvObject(this.openObject(oid))
  }

  /** Allocates an id of class `oclass` and opens it as a new KV object. */
  async createKv(oclass: string | ObjectClass): Promise<KvObject> {
    return this.openKv(await this.allocateOid(oclass, ObjectType.KV_HASHED))
  }

  /** Creates an array on `oid` (`daos_array_create`). */
  createArray(oid: ObjectId, attributes: ArrayAttributes, options?: CallOptions): Promise<ArrayObject> {
    return ArrayObject.create(this.openObject(oid), attributes, options)
  }

  /** Opens an existing array (`daos_array_open`). */
  openArray(oid: ObjectId, options?: CallOptions): Promise<ArrayObject> {
    return ArrayObject.open(this.openObject(oid), options)
  }
}
