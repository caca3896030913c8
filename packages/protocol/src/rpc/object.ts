/**
 * Object I/O messages: update, fetch, punch, enumerate, query-key. Every request carries the
 * sender's pool map version and every reply the server's, so a stale side learns it at once.
 *
 * @module
 */
import { statusFields } from './common-fields.ts'
import { containerRequestFields } from './container.ts'
import { defineMessage, t } from './schema.ts'

/** The longest dkey or akey. */
export const KEY_MAX_LENGTH = 4096

/** A distributed transaction id: a UUID and the HLC at which the client made it. */
export const dtxIdType = t.struct({ uuid: t.uuid, hlc: t.u64 })

/** Fields of every object request: container fields, the object and shard, epochs, DTX. */
export const objectRequestFields = {
  ...containerRequestFields,
  oid: t.oid,
  shard: t.u32,
  /** The I/O epoch (0 = let the leader choose, now). */
  epoch: t.u64,
  /** The oldest epoch a read may see, for conditional ops (0 = none). */
  epochFirst: t.u64,
  dtx: t.optional(dtxIdType),
} as const

/** Fields of every object reply: status, the server's map version and the epoch used. */
export const objectReplyFields = { ...statusFields, mapVersion: t.u32, epoch: t.u64 } as const

/** A record extent of an array value: `count` records from `index`. */
export const recxType = t.struct({ index: t.u64, count: t.u64 })

/** One I/O descriptor: an akey, its value kind, record size and extents. */
export const iodType = t.struct({
  akey: t.bytes(KEY_MAX_LENGTH),
  type: t.enum(['single', 'array'] as const),
  /** Bytes per record (the whole value's size for a single value; 0 on fetch = any). */
  recordSizeBytes: t.u64,
  recxs: t.array(recxType, 65536),
})

/** Where the leader forwards a replicated or EC update. */
export const forwardTargetType = t.struct({ shard: t.u32, rank: t.u32, targetIndex: t.u32 })

/** `obj update`: values for some akeys under one dkey; data inline, one buffer per iod. */
export const ObjUpdateRequest = defineMessage('ObjUpdateRequest', {
  ...objectRequestFields,
  dkey: t.bytes(KEY_MAX_LENGTH),
  iods: t.array(iodType, 4096),
  data: t.array(t.bytes(), 4096),
  forwardTo: t.array(forwardTargetType, 256),
})
/** Reply of update. */
export const ObjUpdateReply = defineMessage('ObjUpdateReply', { ...objectReplyFields })

/** `obj fetch`: values of some akeys under one dkey. */
export const ObjFetchRequest = defineMessage('ObjFetchRequest', { ...objectRequestFields, dkey: t.bytes(KEY_MAX_LENGTH), iods: t.array(iodType, 4096) })
/** Reply of fetch: per iod, its record size (0 = absent) and its data. */
export const ObjFetchReply = defineMessage('ObjFetchReply', { ...objectReplyFields, recordSizes: t.array(t.u64, 4096), data: t.array(t.bytes(), 4096) })

/** `obj punch`: the whole object, some dkeys, or some akeys of one dkey. */
export const ObjPunchRequest = defineMessage('ObjPunchRequest', {
  ...objectRequestFields,
  scope: t.enum(['object', 'dkeys', 'akeys'] as const),
  dkeys: t.array(t.bytes(KEY_MAX_LENGTH), 4096),
  akeys: t.array(t.bytes(KEY_MAX_LENGTH), 4096),
  forwardTo: t.array(forwardTargetType, 256),
})
/** Reply of punch. */
export const ObjPunchReply = defineMessage('ObjPunchReply', { ...objectReplyFields })

/** `obj enumerate`: dkeys, akeys of a dkey, or extents of an akey, from an anchor. */
export const ObjEnumerateRequest = defineMessage('ObjEnumerateRequest', {
  ...objectRequestFields,
  what: t.enum(['dkeys', 'akeys', 'recxs'] as const),
  dkey: t.optional(t.bytes(KEY_MAX_LENGTH)),
  akey: t.optional(t.bytes(KEY_MAX_LENGTH)),
  anchor: t.bytes(1024),
  maxItems: t.u32,
})
/** Reply of enumerate: keys or extents, the anchor to continue from, whether the end was reached. */
export const ObjEnumerateReply = defineMessage('ObjEnumerateReply', {
  ...objectReplyFields,
  keys: t.array(t.bytes(KEY_MAX_LENGTH)),
  recxs: t.array(t.struct({ recx: recxType, epoch: t.u64, recordSizeBytes: t.u64 })),
  anchor: t.bytes(1024),
  done: t.bool,
})

/** `obj query-key`: the greatest or least dkey, akey or extent (`DAOS_GET_MAX`/`MIN`). */
export const ObjQueryKeyRequest = defineMessage('ObjQueryKeyRequest', {
  ...objectRequestFields,
  dkeyQuery: t.enum(['none', 'max', 'min'] as const),
  akeyQuery: t.enum(['none', 'max', 'min'] as const),
  recxQuery: t.enum(['none', 'max', 'min'] as const),
  dkey: t.optional(t.bytes(KEY_MAX_LENGTH)),
  akey: t.optional(t.bytes(KEY_MAX_LENGTH)),
})
/** Reply of query-key. */
export const ObjQueryKeyReply = defineMessage('ObjQueryKeyReply', {
  ...objectReplyFields,
  dkey: t.optional(t.bytes(KEY_MAX_LENGTH)),
  akey: t.optional(t.bytes(KEY_MAX_LENGTH)),
  recx: t.optional(recxType),
})
