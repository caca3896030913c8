import { describe, expect, it } from 'vitest'
import { Capability, formatCaps, parseCaps } from '../src/index.ts'

const caps = parseCaps

describe('authority Capability (T-04, C-SRV-2/4)', () => {
  it('issue, revoke, stale ack, matching ack', () => {
    const c = new Capability(7)
    expect(c.issue(caps('pAsLsXsFscrwb'), 0)).toEqual({ seq: 1, revoke: false })
    expect(c.issue(caps('pAsLsXsFscr'), 10)).toEqual({ seq: 2, revoke: true })
    expect(formatCaps(c.pending)).toBe('pAsLsXsFscr')
    expect(formatCaps(c.issued)).toBe('pAsLsXsFscrwb')
    expect(c.revokes).toHaveLength(1)
    expect(c.revokes[0]?.seq).toBe(1)
    expect(c.revokeStampMs).toBe(10)
    // A stale ack (seq 1) does not complete the revoke of seq 2 (P11).
    c.confirmReceipt(1, caps('pAsLsXsFscrwb'))
    expect(formatCaps(c.issued)).toBe('pAsLsXsFscrwb')
    c.confirmReceipt(2, caps('pAsLsXsFscr'))
    expect(c.issued).toBe(c.pending)
    expect(c.revokes).toHaveLength(0)
    expect(c.revokeStampMs).toBeUndefined()
  })

  it('two back-to-back revokes: acking the first completes only the first', () => {
    const c = new Capability(1)
    c.issue(caps('pFsxcrwb'), 0) // seq 1
    c.issue(caps('pFscrw'), 0) // seq 2 revokes xb
    c.issue(caps('pFr'), 0) // seq 3 revokes scw
    c.confirmReceipt(2, caps('pFscrw'))
    expect(formatCaps(c.issued)).toBe('pFscrw')
    expect(c.revoking).not.toBe(0)
    c.confirmReceipt(3, caps('pFr'))
    expect(formatCaps(c.issued)).toBe('pFr')
    expect(c.revoking).toBe(0)
  })

  it('an add-only issue after a revoke drops obsolete revoke records', () => {
    const c = new Capability(1)
    c.issue(caps('pFscr'), 0)
    c.issue(caps('pFr'), 0)
    expect(c.revokes).toHaveLength(1)
    c.issue(caps('pFscr'), 0)
    expect(c.revokes).toHaveLength(0)
  })

  it('an ack claiming bits never issued is clipped', () => {
    const c = new Capability(1)
    c.issue(caps('pFr'), 0)
    expect(formatCaps(c.confirmReceipt(1, caps('pFrwb')))).toBe('pFr')
    expect(formatCaps(c.issued)).toBe('pFr')
  })

  it('an ack that still holds revoked bits keeps them issued and the revoke timer running', () => {
    const c = new Capability(1)
    c.issue(caps('pFscrwb'), 0)
    c.issue(caps('pFrw'), 5)
    c.confirmReceipt(2, caps('pFscrw')) // still caches (in use)
    expect(formatCaps(c.issued)).toBe('pFscrw')
    expect(c.revokeStampMs).toBe(5)
    c.issue(c.pending, 6) // e.g. a max_size push
    expect(formatCaps(c.issued)).toBe('pFscrw')
  })
})
