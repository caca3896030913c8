// Grant/revoke decisions per second: one decision = the allowed sets for every client of an inode
// (allowedCaps) plus the next pending set of each cap (decideIssue), for 2 and 8 clients with a mix
// of readers and writers. The reference is a naive implementation of the same rules measured in
// the same run: per-bit loops over every pair of clients instead of per-class masks and a
// precomputed conflict table. Both are checked to agree before timing.
import { BenchReport, measureSync } from '@x/bench'
import { Random } from '@x/common'
import {
  CAP_ANY,
  CAP_AUTH_EXCL,
  CAP_AUTH_SHARED,
  CAP_FILE_ANY,
  CAP_FILE_BUFFER,
  CAP_FILE_EXCL,
  CAP_FILE_WR,
  CAP_LINK_EXCL,
  CAP_LINK_SHARED,
  CAP_PIN,
  CAP_XATTR_EXCL,
  CAP_XATTR_SHARED,
  type CapMask,
  type ClientWant,
  FileMode,
  MIX_FILE_CAPS,
  SYNC_FILE_CAPS,
  allowedCaps,
  capsConflict,
  capsForMode,
  decideIssue,
} from '../src/index.ts'

interface Holder {
  readonly want: ClientWant
  readonly pending: CapMask
  readonly issued: CapMask
}

/** Ours: one allowedCaps, then decideIssue per client with the union of the others' issued. */
function decideFast(holders: readonly Holder[]): CapMask[] {
  const allowed = allowedCaps(holders.map((h) => h.want))
  return holders.map((h) => {
    let others = 0
    for (const o of holders) if (o !== h) others |= o.issued
    return decideIssue({ pending: h.pending, wanted: h.want.wanted, allowed: allowed.get(h.want.clientId) ?? CAP_PIN, othersIssued: others })
  })
}

const bits = Array.from({ length: 16 }, (_, i) => 1 << i).filter((b) => (b & CAP_ANY) !== 0)
const classes: ReadonlyArray<readonly [number, number]> = [
  [CAP_AUTH_SHARED, CAP_AUTH_EXCL],
  [CAP_LINK_SHARED, CAP_LINK_EXCL],
  [CAP_XATTR_SHARED, CAP_XATTR_EXCL],
]

/** Naive: the same rules bit by bit, pair by pair. */
function decideNaive(holders: readonly Holder[]): CapMask[] {
  return holders.map((h) => {
    let allowed = CAP_PIN
    const eligible = holders.filter((o) => o.want.eligible)
    const fileInterested = eligible.filter((o) => bits.some((b) => (b & CAP_FILE_ANY) !== 0 && (o.want.wanted & b) !== 0))
    if (fileInterested.length === 1) allowed |= fileInterested[0] === h ? CAP_FILE_ANY : 0
    else allowed |= fileInterested.some((o) => (o.want.wanted & (CAP_FILE_WR | CAP_FILE_BUFFER | CAP_FILE_EXCL)) !== 0) ? MIX_FILE_CAPS : SYNC_FILE_CAPS
    for (const [s, x] of classes) {
      const interested = eligible.filter((o) => (o.want.wanted & (s | x)) !== 0)
      if (interested.length === 1) allowed |= interested[0] === h ? s | x : 0
      else allowed |= s
    }
    if ((h.pending & ~allowed) !== 0) return (h.pending & allowed) | CAP_PIN
    let next = h.pending | CAP_PIN
    for (const b of bits) {
      if ((h.want.wanted & allowed & b) === 0) continue
      let ok = true
      for (const o of holders) {
        if (o === h) continue
        for (const ob of bits) if ((o.issued & ob) !== 0 && capsConflict(ob, b)) ok = false
      }
      if (ok) next |= b
    }
    return next
  })
}

function workload(clients: number, seed: number): Holder[][] {
  const random = new Random(seed)
  const modes = [FileMode.RD, FileMode.WR, FileMode.RDWR, FileMode.PIN, FileMode.RD]
  return Array.from({ length: 64 }, () =>
    Array.from({ length: clients }, (_, i) => {
      const wanted = capsForMode(random.pick(modes))
      const pending = (random.uint32() & CAP_ANY & wanted) | CAP_PIN
      return { want: { clientId: `c${i}`, wanted, eligible: random.chance(0.9) }, pending, issued: pending | (random.chance(0.2) ? random.uint32() & CAP_ANY : 0) }
    }),
  )
}

const report = new BenchReport('caps')
for (const clients of [2, 8]) {
  const cases = workload(clients, 11 + clients)
  for (const c of cases) {
    const a = decideFast(c)
    const b = decideNaive(c)
    if (a.join() !== b.join()) throw new Error(`naive and fast decisions disagree for ${clients} clients: ${a.join()} vs ${b.join()}`)
  }
  for (let w = 0; w < 20_000; w++) {
    decideFast(cases[w % cases.length] ?? [])
    decideNaive(cases[w % cases.length] ?? [])
  }
  let i = 0
  const fast = measureSync(() => decideFast(cases[i++ % cases.length] ?? []), { minDurationMs: 700 })
  i = 0
  const naive = measureSync(() => decideNaive(cases[i++ % cases.length] ?? []), { minDurationMs: 700 })
  report.add({ name: `grant/revoke decision, ${clients} clients per inode`, unit: 'decisions/s', value: fast.operationsPerSecond, reference: 'naive per-bit pairwise rules (same run)', referenceValue: naive.operationsPerSecond, higherIsBetter: true })
}
report.write()
