/**
 * Entity names (`client.4123`, `engine.3`, `mon.a`) and messenger addresses (a fabric URI plus a
 * nonce that changes when the process restarts).
 *
 * @module
 */
import { DerError } from '@x/common'

/** Entity types and their wire codes (Ceph's values, plus DAOS's `engine`, `agent` and `ctl`). */
export const entityTypes = { mon: 0x01, mds: 0x02, osd: 0x04, client: 0x08, mgr: 0x10, auth: 0x20, engine: 0x40, agent: 0x80, ctl: 0x100 } as const

/** An entity type name. */
export type EntityType = keyof typeof entityTypes

/** Who an endpoint is: a type and an id (`client.4123`, `mon.a`). */
export interface EntityName {
  readonly type: EntityType
  readonly id: string
}

const idPattern = /^[A-Za-z0-9_-]{1,64}$/

/** Parses `type.id`; throws `DER_INVAL` on anything else. */
export function parseEntityName(text: string): EntityName {
  if (typeof text !== 'string') throw new DerError('DER_INVAL', 'entity name must be a string')
  const dot = text.indexOf('.')
  const type = text.slice(0, dot)
  const id = text.slice(dot + 1)
  if (dot <= 0 || !(type in entityTypes)) throw new DerError('DER_INVAL', `bad entity name '${text}': type must be one of ${Object.keys(entityTypes).join(', ')}`)
  if (!idPattern.test(id)) throw new DerError('DER_INVAL', `bad entity name '${text}': id must match ${idPattern.source}`)
  return { type: type as EntityType, id }
}

/** `type.id`. */
export function formatEntityName(name: EntityName): string {
  return `${name.type}.${name.id}`
}

/** Where a messenger instance lives: its fabric address and the nonce of this incarnation. */
export interface EntityAddr {
  /** The fabric URI (`tcp://127.0.0.1:6800`, `memory://engine-3`). */
  readonly uri: string
  /** Random per messenger instance: a different nonce at the same URI means the peer restarted. */
  readonly nonce: number
}

/** `uri/nonce`, as Ceph prints `v2:127.0.0.1:6800/1234`. */
export function formatEntityAddr(addr: EntityAddr): string {
  return `${addr.uri}/${addr.nonce}`
}
