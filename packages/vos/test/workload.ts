// A crash-test workload: numbered updates in concurrent batches (so group commit batches them),
// each writing an inline value, a data-blob value and an array extent under its own dkey.
import { isDerError } from '@x/common'
import { expect } from 'vitest'
import { type Vos, vosEpochMax } from '../src/index.ts'

export const cont = '00000000-0000-4000-8000-0000000000c1'
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

export function valueOf(i: number, what: 'small' | 'big' | 'array'): Uint8Array {
  const length = what === 'small' ? 16 + (i % 7) : what === 'big' ? 5000 + i * 13 : 8 * (1 + (i % 5))
  return Uint8Array.from({ length }, (_, k) => (i * 131 + k * (what === 'big' ? 7 : 3) + (what === 'array' ? 1 : 0)) & 0xff)
}

/** Runs the workload; returns the numbers of the acknowledged updates (errors after a cut are expected). */
export async function runWorkload(vos: Vos, count: number, batch = 4): Promise<Set<number>> {
  const acknowledged = new Set<number>()
  for (let start = 0; start < count; start += batch) {
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(batch, count - start) }, (_, j) => {
        const i = start + j
        return vos
          .update(cont, BigInt(1 + (i % 3)), BigInt(i + 1), enc(`k${i}`), [
            { type: 'single', akey: enc('small'), value: valueOf(i, 'small') },
            { type: 'single', akey: enc('big'), value: valueOf(i, 'big') },
            { type: 'array', akey: enc('arr'), recordSizeBytes: 8, extents: [{ index: i, count: valueOf(i, 'array').length / 8, data: valueOf(i, 'array') }] },
          ])
          .then(() => acknowledged.add(i))
      }),
    )
    if (results.some((r) => r.status === 'rejected')) {
      for (const r of results) if (r.status === 'rejected' && !isDerError(r.reason)) throw r.reason as Error
      break
    }
  }
  return acknowledged
}

/**
 * Checks a recovered VOS: every acknowledged update is there with the right bytes; every other
 * update is either all there (right bytes) or not at all; no read fails its checksum.
 */
export async function verifyWorkload(vos: Vos, count: number, acknowledged: ReadonlySet<number>, where: string): Promise<number> {
  let present = 0
  for (let i = 0; i < count; i++) {
    const results = await vos.fetch(cont, BigInt(1 + (i % 3)), vosEpochMax, enc(`k${i}`), [
      { type: 'single', akey: enc('small') },
      { type: 'single', akey: enc('big') },
      { type: 'array', akey: enc('arr'), extents: [{ index: i, count: valueOf(i, 'array').length / 8 }] },
    ])
    const [small, big, arr] = results
    const got = [small?.type === 'single' ? small.value : undefined, big?.type === 'single' ? big.value : undefined, arr?.type === 'array' && arr.holes.length === 0 ? arr.data : undefined]
    const there = got.filter((g) => g !== undefined).length
    if (acknowledged.has(i)) expect(there, `${where}: acknowledged update ${i} is missing parts`).toBe(3)
    else expect(there === 0 || there === 3, `${where}: unacknowledged update ${i} is half visible (${there} of 3 parts)`).toBe(true)
    if (there === 3) {
      present++
      expect([...(got[0] ?? [])], `${where}: update ${i} small`).toEqual([...valueOf(i, 'small')])
      expect(Buffer.compare(got[1] ?? new Uint8Array(), valueOf(i, 'big')), `${where}: update ${i} big`).toBe(0)
      expect([...(got[2] ?? [])], `${where}: update ${i} array`).toEqual([...valueOf(i, 'array')])
    }
  }
  return present
}
