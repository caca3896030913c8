/**
 * Object ids: 128 bits as two unsigned 64-bit halves, with DAOS's layout of `hi`:
 * bits 63-56 the object type (`daos_otype_t`), 55-48 the redundancy id, 47-32 the group count
 * (X resolved at generation), 31-0 user bits; all of `lo` is the user's. Container-scoped
 * allocation hands out ranges of `lo` the way `daos_cont_alloc_oids` does.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type ClassFit, GROUPS_MAX, type ObjectClass, objectClassByRedun, resolveGroupCount } from './object-class.ts'

const u64Max = (1n << 64n) - 1n
const u32Max = 0xffff_ffffn

/** A 128-bit object id. */
export interface ObjectId {
  /** The high word: type, class and group count, and 32 user bits. */
  readonly hi: bigint
  /** The low word: user bits. */
  readonly lo: bigint
}

/** Object types (`daos_otype_t`), the top byte of `oid.hi`. */
export const ObjectType = {
  /** Default: multi-level, hashed dkeys and akeys. */
  MULTI_HASHED: 0,
  /** Object index table of a snapshot. */
  OIT: 1,
  DKEY_UINT64: 2,
  AKEY_UINT64: 3,
  MULTI_UINT64: 4,
  DKEY_LEXICAL: 5,
  AKEY_LEXICAL: 6,
  MULTI_LEXICAL: 7,
  /** Flat KV, hashed keys. */
  KV_HASHED: 8,
  KV_UINT64: 9,
  KV_LEXICAL: 10,
  /** Array with a metadata dkey. */
  ARRAY: 11,
  /** Array without a metadata dkey. */
  ARRAY_ATTR: 12,
  /** Byte array (a DFS file). */
  ARRAY_BYTE: 13,
  OIT_V2: 14,
} as const
/** An object type number (0-14). */
export type ObjectTypeId = (typeof ObjectType)[keyof typeof ObjectType]
const maxObjectType = 14

/** Whether objects of this type are flat KV objects (one level of keys). */
export function isKvType(type: number): boolean {
  return type === ObjectType.KV_HASHED || type === ObjectType.KV_UINT64 || type === ObjectType.KV_LEXICAL
}
/** Whether objects of this type are arrays (DAOS's `daos_is_array_type`). */
export function isArrayType(type: number): boolean {
  return type === ObjectType.ARRAY || type === ObjectType.ARRAY_ATTR || type === ObjectType.ARRAY_BYTE
}
/** Whether the dkeys of this type are unsigned 64-bit integers. */
export function isDkeyUint64Type(type: number): boolean {
  return type === ObjectType.DKEY_UINT64 || type === ObjectType.MULTI_UINT64 || type === ObjectType.KV_UINT64 || isArrayType(type)
}
/** Whether the dkeys of this type are ordered lexically. */
export function isDkeyLexicalType(type: number): boolean {
  return type === ObjectType.DKEY_LEXICAL || type === ObjectType.MULTI_LEXICAL || type === ObjectType.KV_LEXICAL
}

/** Throws `DER_INVAL` unless `oid` is two integers in the unsigned 64-bit range. */
export function checkObjectId(oid: ObjectId): void {
  if (typeof oid !== 'object' || oid === null || typeof oid.hi !== 'bigint' || typeof oid.lo !== 'bigint') {
    throw new DerError('DER_INVAL', 'object id must be {hi, lo} with bigint halves')
  }
  if (oid.hi < 0n || oid.hi > u64Max || oid.lo < 0n || oid.lo > u64Max) throw new DerError('DER_INVAL', `object id half out of the u64 range: ${oid.hi}.${oid.lo}`)
}

/** The object type of `oid`. */
export function oidType(oid: ObjectId): number {
  return Number((oid.hi >> 56n) & 0xffn)
}
/** The redundancy id of `oid`. */
export function oidRedunId(oid: ObjectId): number {
  return Number((oid.hi >> 48n) & 0xffn)
}
/** The (resolved) group count stored in `oid`. */
export function oidGroupCount(oid: ObjectId): number {
  return Number((oid.hi >> 32n) & 0xffffn)
}
/** The 32 user bits of `oid.hi`. */
export function oidUserHi(oid: ObjectId): number {
  return Number(oid.hi & u32Max)
}

/**
 * The class of `oid`: the named class with its redundancy and stored group count, or, when the
 * stored count is not one of the named ones (X resolved to 5 groups, say), the X class of that
 * redundancy. Throws `DER_INVAL` for an unknown redundancy or a zero group count.
 */
export function oidClass(oid: ObjectId): ObjectClass {
  const redun = oidRedunId(oid)
  const groups = oidGroupCount(oid)
  if (groups === 0) throw new DerError('DER_INVAL', `object id ${formatObjectId(oid)} has no groups (not generated with a class)`)
  const exact = objectClassByRedun(redun, groups) ?? objectClassByRedun(redun, GROUPS_MAX)
  if (exact === undefined) throw new DerError('DER_INVAL', `object id ${formatObjectId(oid)} has unknown redundancy id ${redun}`)
  return exact
}

/** Checks everything placement needs from `oid`: range, type, a known class, a group count. */
export function validateObjectId(oid: ObjectId): void {
  checkObjectId(oid)
  const type = oidType(oid)
  if (type > maxObjectType) throw new DerError('DER_INVAL', `object id ${formatObjectId(oid)} has unknown object type ${type}`)
  oidClass(oid)
}

/** Inputs of {@link encodeObjectId}. */
export interface ObjectIdFields {
  /** The object type. */
  readonly type: number
  /** The class. */
  readonly oclass: ObjectClass
  /** The group count to store (required for X classes; must equal the class's for fixed ones). */
  readonly groups?: number
  /** The 32 user bits of `hi` (default 0). */
  readonly userHi?: number
  /** The low word. */
  readonly lo: bigint
}

/** Builds an id from its fields (DAOS's `daos_obj_set_oid`). Throws `DER_INVAL` on bad fields. */
export function encodeObjectId(fields: ObjectIdFields): ObjectId {
  const { type, oclass, lo } = fields
  const userHi = fields.userHi ?? 0
  if (!Number.isInteger(type) || type < 0 || type > maxObjectType) throw new DerError('DER_INVAL', `bad object type ${type}`)
  if (!Number.isInteger(userHi) || userHi < 0 || userHi > 0xffff_ffff) throw new DerError('DER_INVAL', `user bits of hi must be a u32, got ${userHi}`)
  if (typeof lo !== 'bigint' || lo < 0n || lo > u64Max) throw new DerError('DER_INVAL', `oid.lo must be a u64, got ${String(lo)}`)
  const groups = fields.groups ?? (oclass.groupsMax ? undefined : oclass.groups)
  if (groups === undefined) throw new DerError('DER_INVAL', `class ${oclass.name} needs a resolved group count`)
  if (!Number.isInteger(groups) || groups < 1 || groups >= GROUPS_MAX) throw new DerError('DER_INVAL', `bad group count ${groups}`)
  if (!oclass.groupsMax && groups !== oclass.groups) throw new DerError('DER_INVAL', `class ${oclass.name} has ${oclass.groups} groups, not ${groups}`)
  const hi = (BigInt(type) << 56n) | (BigInt(oclass.redunId) << 48n) | (BigInt(groups) << 32n) | BigInt(userHi)
  return { hi, lo }
}

/**
 * Generates the id of a new object (DAOS's `daos_obj_generate_oid`): `lo` from the container's
 * allocator, the type, the class and its group count resolved against the pool (X becomes as
 * many groups as fit). Throws `DER_INVAL` when the class needs more domains than the pool has.
 */
export function generateObjectId(options: { lo: bigint; type: number; oclass: ObjectClass; fit: ClassFit; userHi?: number }): ObjectId {
  const groups = resolveGroupCount(options.oclass, options.fit)
  return encodeObjectId({ type: options.type, oclass: options.oclass, groups, lo: options.lo, ...(options.userHi === undefined ? {} : { userHi: options.userHi }) })
}

/** DAOS's `DF_OID` form: `hi.lo` in decimal. */
export function formatObjectId(oid: ObjectId): string {
  return `${oid.hi}.${oid.lo}`
}
/** The hex form: `0x<hi>.0x<lo>`. */
export function formatObjectIdHex(oid: ObjectId): string {
  return `0x${oid.hi.toString(16)}.0x${oid.lo.toString(16)}`
}

const halfPattern = /^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$/

/**
 * Parses `hi.lo` where each half is decimal (as DAOS prints) or `0x` hex. Throws `DER_INVAL`
 * with the reason on anything else.
 */
export function parseObjectId(text: string): ObjectId {
  if (typeof text !== 'string') throw new DerError('DER_INVAL', 'object id must be a string')
  const parts = text.trim().split('.')
  if (parts.length !== 2) throw new DerError('DER_INVAL', `object id '${text}' must be two halves 'hi.lo'`)
  const [hiText, loText] = parts as [string, string]
  const half = (s: string, which: string): bigint => {
    if (!halfPattern.test(s)) throw new DerError('DER_INVAL', `object id '${text}': ${which} '${s}' is not a decimal or 0x-hex number`)
    const value = BigInt(s)
    if (value > u64Max) throw new DerError('DER_INVAL', `object id '${text}': ${which} exceeds 64 bits`)
    return value
  }
  return { hi: half(hiText, 'hi'), lo: half(loText, 'lo') }
}

/** Whether two ids are equal. */
export function objectIdEquals(a: ObjectId, b: ObjectId): boolean {
  return a.hi === b.hi && a.lo === b.lo
}

/**
 * A container's id allocator (`daos_cont_alloc_oids`): hands out disjoint ranges of `lo`.
 * Its state is one number, the next free id (`alloc_oid` is one less), which the container
 * service persists. Id 0 is never handed out.
 */
export class ObjectIdAllocator {
  private nextLo: bigint

  /** Starts after `highestAllocated` (0 for a new container). */
  constructor(highestAllocated = 0n) {
    if (typeof highestAllocated !== 'bigint' || highestAllocated < 0n || highestAllocated >= u64Max) {
      throw new DerError('DER_INVAL', `bad highest allocated object id ${String(highestAllocated)}`)
    }
    this.nextLo = highestAllocated + 1n
  }

  /** The highest id handed out so far (the container property `alloc_oid`). */
  get highestAllocated(): bigint {
    return this.nextLo - 1n
  }

  /** Reserves `count` consecutive ids and returns the first. Throws `DER_NOSPACE` when exhausted. */
  allocate(count: bigint | number = 1n): bigint {
    const n = BigInt(count)
    if (n < 1n) throw new DerError('DER_INVAL', `allocate at least one id, not ${n}`)
    if (this.nextLo + n - 1n > u64Max) throw new DerError('DER_NOSPACE', 'the container has no object ids left')
    const first = this.nextLo
    this.nextLo += n
    return first
  }
}
