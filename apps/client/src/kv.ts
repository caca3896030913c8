/**
 * The key-value API (`daos_kv_*`) on a KV-type object: each key is a dkey holding one single
 * value under a fixed akey. Every call returns a promise and takes an optional event.
 *
 * @module
 */
import { DerError } from '@x/common'
import { isKvType, oidType } from '@x/protocol'
import { type CallOptions, runWithEvent } from './events.ts'
import { type ListAnchor, type ObjectHandle, startAnchor } from './object.ts'
import { checkBytes, checkCount, checkKey } from './validate.ts'

/** The akey under which a KV object keeps each key's value. */
export const kvAkey: Uint8Array = Uint8Array.of(0x30)

/** A page of keys and the anchor of the next (`anchor.done` at the end). */
export interface KvListPage {
  readonly keys: Uint8Array[]
  readonly anchor: ListAnchor
}

/** A key-value object (see the module comment). */
export class KvObject {
  constructor(
    /** The underlying object. */
    readonly object: ObjectHandle,
  ) {
    if (!isKvType(oidType(object.oid))) throw new DerError('DER_INVAL', `object type ${oidType(object.oid)} is not a KV type`)
  }

  /** Stores `value` under `key` (`daos_kv_put`). */
  put(key: Uint8Array, value: Uint8Array, options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      checkKey(key, 'key')
      checkBytes(value, 'value')
      await this.object.update(key, [{ type: 'single', akey: kvAkey, value }])
    }, options)
  }

  /** The value under `key`, or undefined when there is none (`daos_kv_get`). */
  get(key: Uint8Array, options?: CallOptions): Promise<Uint8Array | undefined> {
    return runWithEvent(async () => {
      checkKey(key, 'key')
      const [v] = await this.object.fetch(key, [{ type: 'single', akey: kvAkey }])
      return v === undefined || v.recordSizeBytes === 0 ? undefined : v.data
    }, options)
  }

  /** Removes `key` (`daos_kv_remove`); removing an absent key succeeds. */
  remove(key: Uint8Array, options?: CallOptions): Promise<void> {
    return runWithEvent(async () => {
      checkKey(key, 'key')
      await this.object.punchDkeys([key])
    }, options)
  }

  /** One page of keys from `anchor` (`daos_kv_list`): at most `maxKeys`, in engine order. */
  list(anchor: ListAnchor = startAnchor, maxKeys = 128, options?: CallOptions): Promise<KvListPage> {
    return runWithEvent(async () => {
      checkCount(maxKeys, 'maxKeys', 1)
      return this.object.listPage(undefined, anchor, maxKeys)
    }, options)
  }

  /** Every key, sorted bytewise. */
  listAll(options?: CallOptions): Promise<Uint8Array[]> {
    return runWithEvent(() => this.object.listDkeys(), options)
  }
}
