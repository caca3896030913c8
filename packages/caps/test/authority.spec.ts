import { describe, expect, it } from 'vitest'
import { CapsAuthority, FileMode, capsForMode, formatCaps, parseCaps } from '../src/index.ts'
import { CapOp, SessionOp, capsMsg, sent, sentCaps, sessionMsg } from './support/builders.ts'

function openClient(mds: CapsAuthority, nowMs: number, clientId: string): void {
  mds.step(nowMs, sessionMsg(SessionOp.REQUEST_OPEN, clientId))
}

function snapshot(mds: CapsAuthority): string {
  const rows: string[] = []
  for (const ino of mds.inodeNumbers()) {
    for (const [id, c] of mds.caps(ino)) rows.push(`${ino}/${id}: ${c.capId} ${formatCaps(c.pending)} ${formatCaps(c.issued)} ${formatCaps(c.wanted)} ${c.lastSent} ${c.lastIssue} ${c.revokes.length}`)
    rows.push(`size ${mds.sizeBytes(ino)}`)
  }
  for (const id of ['a', 'b', 'ghost']) rows.push(`${id}: ${JSON.stringify(mds.session(id) ?? null)}`)
  return rows.join('\n')
}

describe('authority', () => {
  it('grants the loner set on open and revokes it for a second client (C-SRV-3, op REVOKE iff bits removed)', () => {
    const mds = new CapsAuthority()
    openClient(mds, 0, 'a')
    openClient(mds, 0, 'b')
    const g = sentCaps(mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) }))
    expect(g.map((m) => [m.op, formatCaps(m.caps), m.seq, m.maxSizeBytes])).toEqual([[CapOp.GRANT, 'pAsxXsxFsxcrwb', 1, 4 << 20]])
    const r = sentCaps(mds.step(2, { kind: 'open', authority: 0, clientId: 'b', ino: 1, wanted: capsForMode(FileMode.RD) }))
    expect(r.map((m) => [m.clientId, m.op, formatCaps(m.caps), m.seq])).toEqual([
      ['a', CapOp.REVOKE, 'pAsxXsxFrw', 2],
      ['b', CapOp.GRANT, 'p', 1],
    ])
    // b gets Fr only after a's ack with the revoke's seq.
    const after = sentCaps(mds.step(3, capsMsg(CapOp.UPDATE, { clientId: 'a', capId: 1, seq: 2, issueSeq: 1, caps: parseCaps('pAsxXsxFrw'), wanted: capsForMode(FileMode.RDWR), sizeBytes: 10 })))
    expect(after.map((m) => [m.clientId, formatCaps(m.caps), m.sizeBytes])).toEqual([['b', 'pFr', 10]])
  })

  it('a stale ack does not complete a newer revoke (P11)', () => {
    const mds = new CapsAuthority()
    openClient(mds, 0, 'a')
    openClient(mds, 0, 'b')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) })
    mds.step(2, { kind: 'open', authority: 0, clientId: 'b', ino: 1, wanted: capsForMode(FileMode.RD) })
    const out = mds.step(3, capsMsg(CapOp.UPDATE, { clientId: 'a', capId: 1, seq: 1, caps: parseCaps('pAsxXsxFsxcrwb'), wanted: capsForMode(FileMode.RDWR) }))
    expect(sentCaps(out).filter((m) => m.clientId === 'b')).toEqual([])
    expect(formatCaps(mds.cap(1, 'a')?.issued ?? 0)).toBe('pAsxXsxFsxcrwb')
  })

  it('release racing a newer issue is ignored; a matching release removes the cap (T-05)', () => {
    const mds = new CapsAuthority()
    openClient(mds, 0, 'a')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RD) })
    mds.step(2, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RD) }) // issue seq 2
    const last = mds.cap(1, 'a')?.lastIssue ?? 0
    expect(last).toBe(2)
    const refused = mds.step(3, capsMsg(CapOp.RELEASE, { capId: 1, seq: 1, issueSeq: 1 }))
    expect(refused.some((o) => o.kind === 'refused')).toBe(true)
    expect(mds.cap(1, 'a')).toBeDefined()
    mds.step(4, capsMsg(CapOp.RELEASE, { capId: 99, seq: 2, issueSeq: 2 }))
    expect(mds.cap(1, 'a')).toBeDefined()
    mds.step(5, capsMsg(CapOp.RELEASE, { capId: 1, seq: 2, issueSeq: 2 }))
    expect(mds.cap(1, 'a')).toBeUndefined()
  })

  it('drops UPDATEs with a wrong cap id or an older mseq without any state change (T-06)', () => {
    const mds = new CapsAuthority()
    openClient(mds, 0, 'a')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) })
    const before = snapshot(mds)
    expect(mds.step(2, capsMsg(CapOp.UPDATE, { capId: 2, seq: 1, caps: 1, wanted: 1 }))).toEqual([expect.objectContaining({ kind: 'refused' })])
    expect(snapshot(mds)).toBe(before)
  })

  it('refuses messages from unknown and evicted clients, and a re-open of an evicted client (fencing)', () => {
    const mds = new CapsAuthority({ sessionTimeoutMs: 1000 })
    const out = mds.step(0, capsMsg(CapOp.UPDATE, { clientId: 'ghost' }))
    expect(out[0]).toMatchObject({ kind: 'refused', clientId: 'ghost' })
    expect(sent(out)).toEqual([expect.objectContaining({ kind: 'session', op: SessionOp.REJECT })])
    expect(mds.session('ghost')).toBeUndefined()
    openClient(mds, 0, 'a')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) })
    const ev = mds.evict(10, 'a')
    expect(ev).toContainEqual(expect.objectContaining({ kind: 'evict', clientId: 'a' }))
    expect(mds.isFenced('a')).toBe(true)
    // Caps are reclaimed only when a's lease surely ran out (last renew 0 + T 1000).
    expect(mds.cap(1, 'a')).toBeDefined()
    mds.tick(999)
    expect(mds.cap(1, 'a')).toBeDefined()
    mds.tick(1000)
    expect(mds.cap(1, 'a')).toBeUndefined()
    const before = snapshot(mds)
    for (const m of [capsMsg(CapOp.UPDATE, { capId: 1, seq: 1 }), sessionMsg(SessionOp.REQUEST_RENEWCAPS, 'a', 3), { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: 1 }]) {
      const o = mds.step(1001, m)
      expect(o.some((x) => x.kind === 'refused')).toBe(true)
    }
    expect(sent(mds.step(1002, sessionMsg(SessionOp.REQUEST_OPEN, 'a')))).toEqual([expect.objectContaining({ op: SessionOp.REJECT })])
    expect(snapshot(mds)).toBe(before)
  })

  it('refuses malformed input and backwards time with DER_INVAL and no state change', () => {
    const mds = new CapsAuthority()
    openClient(mds, 5, 'a')
    const before = snapshot(mds)
    for (const bad of [null, {}, { kind: 'caps' }, capsMsg(CapOp.UPDATE, { seq: -1 }), capsMsg(CapOp.UPDATE, { authority: 3 })]) {
      expect(() => mds.step(6, bad)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    }
    expect(() => mds.tick(4)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => mds.step(4, sessionMsg(SessionOp.REQUEST_RENEWCAPS))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(snapshot(mds)).toBe(before)
    expect(() => new CapsAuthority({ sessionTimeoutMs: 0 })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })

  it('grows max_size on request, journaled before the GRANT that carries it (C-SRV-11)', () => {
    const mds = new CapsAuthority()
    openClient(mds, 0, 'a')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.WR) })
    expect(mds.rangeBytes(1, 'a')).toBe(4 << 20)
    const out = sentCaps(mds.step(2, capsMsg(CapOp.UPDATE, { capId: 1, seq: 1, issueSeq: 1, caps: parseCaps('pAsxXsxFxwb'), wanted: capsForMode(FileMode.WR), sizeBytes: 10 << 20, maxSizeBytes: (10 << 20) + 1 })))
    expect(out.map((m) => [m.op, m.maxSizeBytes, m.seq])).toEqual([[CapOp.GRANT, 24 << 20, 2]])
    expect(mds.rangeBytes(1, 'a')).toBe(24 << 20)
  })

  it('stale session: a reader loses its caps silently, a writer is evicted; a renew resumes a reader (C-SRV-13)', () => {
    const mds = new CapsAuthority({ sessionTimeoutMs: 1000, sessionAutocloseMs: 5000 })
    openClient(mds, 0, 'a')
    openClient(mds, 0, 'w')
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RD) })
    mds.step(1, { kind: 'open', authority: 0, clientId: 'w', ino: 2, wanted: capsForMode(FileMode.WR) })
    const out = mds.tick(1000)
    expect(out).toContainEqual(expect.objectContaining({ kind: 'evict', clientId: 'w' }))
    expect(sent(out)).toContainEqual(expect.objectContaining({ kind: 'session', clientId: 'a', op: SessionOp.STALE }))
    expect(mds.session('a')?.state).toBe('stale')
    expect(formatCaps(mds.cap(1, 'a')?.issued ?? 0)).toBe('p')
    const resumed = mds.step(1500, sessionMsg(SessionOp.REQUEST_RENEWCAPS, 'a', 7))
    expect(mds.session('a')?.state).toBe('open')
    expect(sent(resumed).map((m) => (m.kind === 'caps' ? formatCaps(m.caps) : `${m.kind}:${m.kind === 'session' ? m.seq : ''}`))).toEqual(['pFscr', 'session:7'])
    mds.tick(2500) // stale again
    expect(mds.tick(7500)).toContainEqual(expect.objectContaining({ kind: 'evict', clientId: 'a', reason: 'session autoclose' }))
  })

  it('warns about, then evicts, a client that does not answer a revoke (C-SRV-12)', () => {
    const mds = new CapsAuthority({ revokeWarningMs: 100, revokeEvictionTimeoutMs: 300, sessionTimeoutMs: 10_000 })
    openClient(mds, 0, 'a')
    openClient(mds, 0, 'b')
    mds.step(0, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) })
    mds.step(10, { kind: 'open', authority: 0, clientId: 'b', ino: 1, wanted: capsForMode(FileMode.RD) })
    expect(mds.revokingCaps(50)).toEqual([{ clientId: 'a', ino: 1, pending: 'pAsxXsxFrw', issued: 'pAsxXsxFsxcrwb', ageMs: 40 }])
    expect(mds.tick(109)).toEqual([])
    expect(mds.tick(110)).toEqual([expect.objectContaining({ kind: 'warning', clientId: 'a', ino: 1, ageMs: 100 })])
    expect(mds.tick(200)).toEqual([])
    mds.step(250, sessionMsg(SessionOp.REQUEST_RENEWCAPS, 'a', 1)) // a keeps renewing
    const ev = mds.tick(310)
    expect(ev).toContainEqual(expect.objectContaining({ kind: 'evict', clientId: 'a' }))
    // b waits until a's lease (renewed at 250) is over.
    mds.step(5000, sessionMsg(SessionOp.REQUEST_RENEWCAPS, 'b', 1))
    expect(mds.tick(10_249).filter((o) => o.kind === 'send' && o.to === 'b')).toEqual([])
    // a had a writable range: file caps wait for the size probe (T-19).
    expect(mds.tick(10_250)).toEqual([{ kind: 'recover-size', ino: 1, upToBytes: 4 << 20 }])
    expect(mds.needsRecover(1)).toBe(true)
    expect(sentCaps(mds.sizeRecovered(10_260, 1, 1234)).map((m) => [m.clientId, formatCaps(m.caps), m.sizeBytes])).toEqual([['b', 'pFscr', 1234]])
  })
})
