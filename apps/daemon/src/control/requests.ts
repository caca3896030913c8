/**
 * Validation of control requests as they arrive from the wire: every method has a schema of its
 * fields; a missing, extra or mistyped field is `DER_INVAL` naming the method and the field, before
 * any handler runs (so a bad request changes nothing).
 *
 * @module
 */
import { DerError } from '@x/common'
import type { ControlMethodName, ControlMethods } from './control-api.ts'

/** The kind of one request field (`?`: optional). */
export type RequestFieldKind =
  | 'string'
  | 'string?'
  | 'strings'
  | 'strings?'
  | 'stringMap'
  | 'stringMap?'
  | 'uint'
  | 'uint?'
  | 'uints?'
  | 'bool?'
  | 'identity?'

/** Largest number of items in a list or map field. */
export const maxRequestItems = 4096
/** Longest string field, in characters. */
export const maxRequestStringLength = 64 * 1024

const pool = { id: 'string' } as const
const user = { id: 'string', identity: 'identity?' } as const
const cont = { pool: 'string', cont: 'string', identity: 'identity?' } as const

/** The request schema of every control method. */
export const controlRequestSchemas: { readonly [M in ControlMethodName]: Readonly<Record<string, RequestFieldKind>> } = {
  SystemQuery: { ranks: 'uints?' },
  SystemStop: { ranks: 'uints?', force: 'bool?' },
  SystemStart: { ranks: 'uints?', force: 'bool?' },
  SystemExclude: { ranks: 'uints?', force: 'bool?' },
  GetAttachInfo: {},
  StorageScan: { local: 'bool?' },
  StorageFormat: { force: 'bool?' },
  StorageQueryUsage: { local: 'bool?' },
  PoolCreate: { label: 'string', sizeBytes: 'uint', properties: 'stringMap?', nranks: 'uint?', user: 'string?', group: 'string?', acl: 'strings?' },
  PoolList: {},
  PoolQuery: user,
  PoolDestroy: { id: 'string', force: 'bool?' },
  PoolGetProp: { id: 'string', names: 'strings?' },
  PoolSetProp: { id: 'string', properties: 'stringMap' },
  PoolGetAcl: pool,
  PoolUpdateAcl: { id: 'string', entries: 'strings' },
  PoolDeleteAcl: { id: 'string', principal: 'string' },
  PoolOverwriteAcl: { id: 'string', entries: 'strings' },
  PoolExclude: { id: 'string', rank: 'uint', targetIdx: 'uints?' },
  PoolDrain: { id: 'string', rank: 'uint', targetIdx: 'uints?' },
  PoolReintegrate: { id: 'string', rank: 'uint', targetIdx: 'uints?' },
  PoolEvict: pool,
  PoolConnect: { ...user, caps: 'string?', keepHandle: 'bool?' },
  PoolDisconnect: { id: 'string', handle: 'string' },
  PoolListAttrs: user,
  PoolGetAttr: { ...user, names: 'strings' },
  PoolSetAttr: { ...user, attrs: 'stringMap' },
  ContainerCreate: { pool: 'string', label: 'string', type: 'string?', oclass: 'string?', properties: 'stringMap?', identity: 'identity?' },
  ContainerList: { pool: 'string', identity: 'identity?' },
  ContainerQuery: cont,
  ContainerDestroy: { ...cont, force: 'bool?' },
  ContainerGetProp: { ...cont, names: 'strings?' },
  ContainerSetProp: { ...cont, properties: 'stringMap' },
  ContainerListAttrs: cont,
  ContainerGetAttr: { ...cont, names: 'strings' },
  ContainerSetAttr: { ...cont, attrs: 'stringMap' },
  ContainerDelAttr: { ...cont, names: 'strings' },
  ContainerCreateSnap: { ...cont, name: 'string?' },
  ContainerListSnaps: cont,
  ContainerDestroySnap: { ...cont, snapshot: 'string' },
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new DerError('DER_INVAL', `${where} must be a string`)
  if (value.length > maxRequestStringLength) throw new DerError('DER_INVAL', `${where} is longer than ${maxRequestStringLength} characters`)
  return value
}

function checkStrings(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new DerError('DER_INVAL', `${where} must be a list of strings`)
  if (value.length > maxRequestItems) throw new DerError('DER_INVAL', `${where} has more than ${maxRequestItems} items`)
  return value.map((v, i) => checkString(v, `${where}[${i}]`))
}

function checkUint(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new DerError('DER_INVAL', `${where} must be a non-negative integer, got ${JSON.stringify(value)}`)
  return value
}

const identityName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@$/

function checkField(kind: RequestFieldKind, value: unknown, where: string): unknown {
  switch (kind.replace('?', '')) {
    case 'string':
      return checkString(value, where)
    case 'strings':
      return checkStrings(value, where)
    case 'stringMap': {
      if (!isRecord(value)) throw new DerError('DER_INVAL', `${where} must map names to strings`)
      const entries = Object.entries(value)
      if (entries.length > maxRequestItems) throw new DerError('DER_INVAL', `${where} has more than ${maxRequestItems} entries`)
      const out: Record<string, string> = {}
      for (const [k, v] of entries) out[k] = checkString(v, `${where}.${k}`)
      return out
    }
    case 'uint':
      return checkUint(value, where)
    case 'uints': {
      if (!Array.isArray(value)) throw new DerError('DER_INVAL', `${where} must be a list of non-negative integers`)
      if (value.length > maxRequestItems) throw new DerError('DER_INVAL', `${where} has more than ${maxRequestItems} items`)
      return value.map((v, i) => checkUint(v, `${where}[${i}]`))
    }
    case 'bool':
      if (typeof value !== 'boolean') throw new DerError('DER_INVAL', `${where} must be true or false`)
      return value
    case 'identity': {
      if (!isRecord(value)) throw new DerError('DER_INVAL', `${where} must be {user, groups}`)
      const userName = checkString(value['user'], `${where}.user`)
      if (!identityName.test(userName)) throw new DerError('DER_INVAL', `${where}.user '${userName}' must be name@`)
      const groups = checkStrings(value['groups'] ?? [], `${where}.groups`)
      for (const g of groups) if (!identityName.test(g)) throw new DerError('DER_INVAL', `${where}.groups: '${g}' must be name@`)
      return { user: userName, groups }
    }
  }
  throw new DerError('DER_INVAL', `${where}: unknown field kind ${kind}`)
}

/**
 * Checks a decoded request of `method` against its schema and returns it typed (unknown fields,
 * missing required ones and wrong types are `DER_INVAL`).
 */
export function validateControlRequest<M extends ControlMethodName>(method: M, request: unknown): ControlMethods[M]['request'] {
  const schema = controlRequestSchemas[method]
  const what = `${method} request`
  if (!isRecord(request)) throw new DerError('DER_INVAL', `${what} must be an object`)
  for (const key of Object.keys(request)) if (!Object.hasOwn(schema, key)) throw new DerError('DER_INVAL', `${what}: unknown field '${key}'`)
  const out: Record<string, unknown> = {}
  for (const [field, kind] of Object.entries(schema)) {
    const value = request[field]
    if (value === undefined || value === null) {
      if (!kind.endsWith('?')) throw new DerError('DER_INVAL', `${what}: '${field}' is required`)
      continue
    }
    out[field] = checkField(kind, value, `${what}: ${field}`)
  }
  return out
}
