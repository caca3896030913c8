/**
 * Sequential models for the linearizability checker: a single register, and a KV store with put,
 * get, delete and conditional put (compare-and-set), partitioned per key.
 *
 * @module
 */
import { type Model, partitionBy } from './linearizability.ts'

/** An input of the {@link registerModel}: write a value, or read. */
export type RegisterInput = { readonly kind: 'write'; readonly value: string } | { readonly kind: 'read' }

/** An output of the {@link registerModel}: a read's value (`null` before any write); writes answer `{}`. */
export interface RegisterOutput {
  /** The value read. */
  readonly value?: string | null
}

/** A single read/write register starting at `initial` (`null`: never written). */
export function registerModel(initial: string | null = null): Model<string | null, RegisterInput, RegisterOutput> {
  return {
    name: 'register',
    init: () => initial,
    step(state, input, output) {
      if (input.kind === 'write') return [true, input.value]
      return [output === undefined || output.value === state, state]
    },
    hash: (state) => (state === null ? '\u0000' : `=${state}`),
    readOnly: (input) => input.kind === 'read',
    describe(input, output) {
      const answer = output === undefined ? '?' : input.kind === 'read' ? JSON.stringify(output.value ?? null) : 'ok'
      return input.kind === 'write' ? `write ${JSON.stringify(input.value)} -> ${answer}` : `read -> ${answer}`
    },
  }
}

/** An input of the {@link kvModel}. `cas` writes `value` (null: deletes) if the key holds `expected` (null: absent). */
export type KvInput =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string | null }

/**
 * An output of the {@link kvModel}: `get` answers `value` (null: absent); `cas` answers `swapped`;
 * `delete` may answer `existed` (checked when present); `put` answers `{}`.
 */
export interface KvOutput {
  /** The value a get read (null: absent). */
  readonly value?: string | null
  /** Whether a cas swapped. */
  readonly swapped?: boolean
  /** Whether a delete found the key. */
  readonly existed?: boolean
}

/** The state of one key of the {@link kvModel}: its value, null when absent. */
export type KvKeyState = string | null

/** Describes a KV operation: `put "a"="1" -> ok`, `get "a" -> "1"`, `cas "a" "1"->"2" -> swapped`. */
export function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const q = (v: string | null | undefined): string => JSON.stringify(v ?? null)
  const unknown = output === undefined
  switch (input.kind) {
    case 'put':
      return `put ${q(input.key)}=${q(input.value)} -> ${unknown ? '?' : 'ok'}`
    case 'get':
      return `get ${q(input.key)} -> ${unknown ? '?' : q(output.value)}`
    case 'delete':
      return `delete ${q(input.key)} -> ${unknown ? '?' : output.existed === undefined ? 'ok' : output.existed ? 'existed' : 'absent'}`
    case 'cas':
      return `cas ${q(input.key)} ${q(input.expected)}->${q(input.value)} -> ${unknown ? '?' : output.swapped === true ? 'swapped' : 'not swapped'}`
  }
}

/**
 * A KV store with put, get, delete and compare-and-set, every key starting absent. Partitioned per
 * key: operations on different keys never constrain each other.
 */
export function kvModel(): Model<KvKeyState, KvInput, KvOutput> {
  return {
    name: 'kv',
    init: () => null,
    step(state, input, output) {
      switch (input.kind) {
        case 'put':
          return [true, input.value]
        case 'get':
          return [output === undefined || (output.value ?? null) === state, state]
        case 'delete':
          return [output?.existed === undefined || output.existed === (state !== null), null]
        case 'cas': {
          const matches = state === input.expected
          const ok = output === undefined || output.swapped === matches
          return [ok, matches ? input.value : state]
        }
      }
    },
    partition: partitionBy((input) => input.key),
    readOnly: (input) => input.kind === 'get',
    hash: (state) => (state === null ? '\u0000' : `=${state}`),
    describe: describeKv,
  }
}
