// Helpers shared by the state-machine tests.
import { isDerError } from '@x/common'
import { expect } from 'vitest'
import type { ServiceMachine } from '../../src/index.ts'

/** Expects `run` to throw a DerError named `code`, and the machine's snapshot to be unchanged. */
export function expectRefused(machine: ServiceMachine, run: () => unknown, code: string): void {
  const before = machine.snapshot()
  let thrown: unknown
  try {
    run()
  } catch (e) {
    thrown = e
  }
  expect(isDerError(thrown) ? thrown.name : String(thrown), `expected ${code}`).toBe(code)
  expect(Buffer.from(machine.snapshot()).equals(Buffer.from(before)), `state changed by a refused command (${code})`).toBe(true)
}

/** Expects snapshot -> restore into `fresh` -> snapshot to give the same bytes. */
export function expectSnapshotRoundTrip(machine: ServiceMachine, fresh: ServiceMachine): void {
  const bytes = machine.snapshot()
  fresh.restore(bytes)
  expect(Buffer.from(fresh.snapshot()).equals(Buffer.from(bytes))).toBe(true)
}

/** A deterministic UUID from a number. */
export function uuidOf(n: number, prefix = 'a'): string {
  const hex = n.toString(16).padStart(12, '0')
  return `${prefix.repeat(8)}-0000-4000-8000-${hex}`
}
