/**
 * Shape checks for messages handed to the core, so that a bad message fails before any state
 * changes.
 *
 * @module
 */
import { DerError } from '@x/common'
import { type MemberUpdate, type SwimMessage, memberStates } from './types.ts'

/** The most updates one message may carry (a `sync` carries the whole group). */
export const maxUpdatesPerMessage = 65_536

function bad(message: string): never {
  throw new DerError('DER_INVAL', `swim message: ${message}`)
}

function isU32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff
}

function isIncarnation(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Checks one update; throws `DER_INVAL` naming what is wrong. */
export function checkMemberUpdate(value: unknown, where: string): asserts value is MemberUpdate {
  if (typeof value !== 'object' || value === null) bad(`${where} is not an object`)
  const update = value as MemberUpdate
  if (!isU32(update.member)) bad(`${where}.member is not a u32`)
  if (!isIncarnation(update.incarnation)) bad(`${where}.incarnation is not a non-negative safe integer`)
  if (!memberStates.includes(update.state)) bad(`${where}.state '${String(update.state)}' is unknown`)
  if (!isU32(update.reporter)) bad(`${where}.reporter is not a u32`)
}

function checkUpdates(values: unknown, where: string): void {
  if (!Array.isArray(values) || values.length > maxUpdatesPerMessage) bad(`${where} is not an array of at most ${maxUpdatesPerMessage} updates`)
  const items: readonly unknown[] = values
  items.forEach((u, i) => checkMemberUpdate(u, `${where}[${i}]`))
}

/** Checks a message's shape (ids, incarnations, body fields, update counts); throws `DER_INVAL`. */
export function checkSwimMessage(message: SwimMessage): void {
  if (typeof message !== 'object' || message === null) bad('not an object')
  if (!isU32(message.from)) bad('from is not a u32')
  if (!isU32(message.to)) bad('to is not a u32')
  if (!isIncarnation(message.fromIncarnation)) bad('fromIncarnation is not a non-negative safe integer')
  const body: unknown = message.body
  if (typeof body !== 'object' || body === null) bad('body is not an object')
  const typed = message.body
  switch (typed.type) {
    case 'ping':
    case 'ack':
    case 'nack':
      if (!isU32(typed.seq)) bad(`${typed.type}.seq is not a u32`)
      break
    case 'ping-req':
      if (!isU32(typed.seq)) bad('ping-req.seq is not a u32')
      if (!isU32(typed.target)) bad('ping-req.target is not a u32')
      break
    case 'join':
    case 'gossip':
      break
    case 'sync':
      checkUpdates(typed.members, 'sync.members')
      break
    default:
      bad(`unknown body type '${String((body as { type?: unknown }).type)}'`)
  }
  checkUpdates(message.updates, 'updates')
}
