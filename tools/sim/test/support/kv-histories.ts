/**
 * Generates KV histories by running a sequential KV model: each operation takes effect at its own
 * instant (10, 20, 30, ...) and gets a random interval around it, so the history is linearizable
 * by construction.
 */
import fc from 'fast-check'
import type { History, KvInput, KvOutput, Operation } from '../../src/index.ts'

/** What happens to one generated operation. */
export type Fate = 'ok' | 'unknown-applied' | 'unknown-skipped' | 'failed'

/** One generated operation before it is run. */
export interface OpSpec {
  readonly kind: 'put' | 'get' | 'delete' | 'cas'
  readonly key: number
  readonly choice: number
  readonly beforeMs: number
  readonly afterMs: number
  readonly fate: Fate
  readonly timedOut: boolean
}

/** An arbitrary operation; `maxSlackMs` bounds how far intervals stretch around their instant. */
export function opSpec(keys: number, maxSlackMs: number, fates: readonly Fate[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'unknown-applied', 'unknown-skipped', 'failed']): fc.Arbitrary<OpSpec> {
  return fc.record({
    kind: fc.constantFrom('put', 'get', 'get', 'delete', 'cas'),
    key: fc.integer({ min: 0, max: keys - 1 }),
    choice: fc.integer({ min: 0, max: 3 }),
    beforeMs: fc.integer({ min: 0, max: maxSlackMs }),
    afterMs: fc.integer({ min: 0, max: maxSlackMs }),
    fate: fc.constantFrom(...fates),
    timedOut: fc.boolean(),
  })
}

/** Runs the specs against a sequential KV store and records the history. */
export function runKv(specs: readonly OpSpec[], clients = 5): History<KvInput, KvOutput> {
  const store = new Map<string, string>()
  const written: string[] = []
  const ops: Operation<KvInput, KvOutput>[] = []
  specs.forEach((spec, i) => {
    const key = `k${spec.key}`
    const atMs = 10 * (i + 1)
    const current = store.get(key) ?? null
    let input: KvInput
    let output: KvOutput
    const applies = spec.fate === 'ok' || spec.fate === 'unknown-applied'
    switch (spec.kind) {
      case 'put':
        input = { kind: 'put', key, value: `v${i}` }
        output = {}
        if (applies) store.set(key, input.value)
        break
      case 'get':
        input = { kind: 'get', key }
        output = { value: current }
        break
      case 'delete':
        input = { kind: 'delete', key }
        output = { existed: current !== null }
        if (applies) store.delete(key)
        break
      case 'cas': {
        const expected = spec.choice === 0 ? current : spec.choice === 1 ? null : (written[(i * 7 + spec.choice) % Math.max(1, written.length)] ?? null)
        const value = spec.choice === 3 ? null : `v${i}`
        input = { kind: 'cas', key, expected, value }
        const swapped = current === expected
        output = { swapped }
        if (applies && swapped) {
          if (value === null) store.delete(key)
          else store.set(key, value)
        }
        break
      }
    }
    if (input.kind !== 'get' && input.kind !== 'delete' && 'value' in input && input.value !== null) written.push(input.value)
    const callMs = atMs - spec.beforeMs
    const returnMs = atMs + spec.afterMs
    const base = { id: i, clientId: i % clients, callMs, input }
    switch (spec.fate) {
      case 'ok':
        ops.push({ ...base, returnMs, output, outcome: 'ok' })
        break
      case 'failed':
        ops.push({ ...base, returnMs, outcome: 'failed' })
        break
      case 'unknown-applied':
      case 'unknown-skipped':
        ops.push({ ...base, ...(spec.timedOut ? { returnMs } : {}), outcome: 'unknown' })
        break
    }
  })
  return ops
}
