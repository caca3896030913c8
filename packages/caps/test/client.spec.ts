import { describe, expect, it } from 'vitest'
import { CAP_FILE_BUFFER, CAP_FILE_CACHE, CAP_FILE_RD, CAP_FILE_WR, CapsClient, FileMode, capsForMode, formatCaps, parseCaps } from '../src/index.ts'
import { CapOp, SessionOp, capsMsg, sent, sentCaps, sessionMsg } from './support/builders.ts'

const T = 60_000

/** A client with an open session (opened at 0, TTL from 0) and inode 1 opened in `mode`, granted `caps` with seq 10. */
function setup(mode: number, caps: string, config: Partial<ConstructorParameters<typeof CapsClient>[0]> = {}): CapsClient {
  const c = new CapsClient({ clientId: 'a', ...config })
  c.openSession(0, 0)
  c.step(1, sessionMsg(SessionOp.OPEN))
  c.open(2, 1, mode)
  c.step(3, capsMsg(CapOp.GRANT, { capId: 1, seq: 10, issueSeq: 10, caps: parseCaps(caps), wanted: capsForMode(mode), maxSizeBytes: 4 << 20 }))
  return c
}

function issuedImplemented(c: CapsClient): string {
  const cap = c.cap(1)
  expect((cap?.issued ?? 0) & ~(cap?.implemented ?? 0)).toBe(0) // issued ⊆ implemented, always
  return `${formatCaps(cap?.issued ?? 0)}/${formatCaps(cap?.implemented ?? 0)}`
}

describe('client handle_cap_grant (T-07)', () => {
  it('grant adds bits without a message; unchanged does nothing', () => {
    const c = setup(FileMode.RD, 'pAsLsXsFscr')
    expect(issuedImplemented(c)).toBe('pAsLsXsFscr/pAsLsXsFscr')
    const out = c.step(4, capsMsg(CapOp.GRANT, { capId: 1, seq: 11, issueSeq: 11, caps: parseCaps('pAsLsXsFscrw'), wanted: capsForMode(FileMode.RD) }))
    expect(out).toContainEqual({ kind: 'wake', ino: 1 })
    expect(issuedImplemented(c)).toBe('pAsLsXsFscrw/pAsLsXsFscrw')
    expect(sent(c.step(5, capsMsg(CapOp.GRANT, { capId: 1, seq: 12, issueSeq: 11, caps: parseCaps('pAsLsXsFscrw') })))).toEqual([])
  })

  it('revoke of Fc with no cached pages: acked at once with the revoke seq', () => {
    const c = setup(FileMode.RD, 'pAsLsXsFscr')
    const out = sentCaps(c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 13, issueSeq: 10, caps: parseCaps('pAsLsXsFsr') })))
    expect(out.map((m) => [m.op, m.seq, formatCaps(m.caps)])).toEqual([[CapOp.UPDATE, 13, 'pAsLsXsFsr']])
    expect(issuedImplemented(c)).toBe('pAsLsXsFsr/pAsLsXsFsr')
  })

  it('a REVOKE that removes nothing in use is still answered (force)', () => {
    const c = setup(FileMode.RD, 'pFscr')
    const out = sentCaps(c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 14, issueSeq: 10, caps: parseCaps('pFscr') })))
    expect(out.map((m) => m.seq)).toEqual([14])
  })

  it('after STALE and a renew, a grant resets the stale cap to p first, then applies the new set', () => {
    const c = setup(FileMode.RD, 'pFscr')
    const stale = c.step(100, sessionMsg(SessionOp.STALE))
    expect(sent(stale)).toEqual([expect.objectContaining({ kind: 'session', op: SessionOp.REQUEST_RENEWCAPS })])
    expect(c.issued(100, 1)).toBe(0)
    const renewSeq = c.session(0)?.renewSeq ?? 0
    c.step(101, sessionMsg(SessionOp.RENEWCAPS, 'a', renewSeq))
    expect(formatCaps(c.issued(101, 1))).toBe('-') // old generation: void until re-issued
    c.step(102, capsMsg(CapOp.GRANT, { capId: 1, seq: 11, issueSeq: 11, caps: parseCaps('pFr') }))
    expect(formatCaps(c.issued(102, 1))).toBe('pFr')
    expect(issuedImplemented(c)).toBe('pFr/pFr')
  })

  it('a grant with seq <= cap.seq on the auth cap never removes bits (export/import race, P11)', () => {
    const c = setup(FileMode.RD, 'pFscr')
    c.step(4, capsMsg(CapOp.GRANT, { capId: 1, seq: 9, issueSeq: 9, caps: parseCaps('pFr') }))
    expect(issuedImplemented(c)).toBe('pFscr/pFscr')
    expect(c.cap(1)?.seq).toBe(10)
  })
})

describe('revoke ordering: writeback, then invalidate, then ack (C-CLI-4)', () => {
  it('Fb: the ack waits for the writeback and carries the size and dirty Fx', () => {
    const c = setup(FileMode.RDWR, 'pAsxXsxFsxcrwb')
    const got = c.getCaps(4, 1, CAP_FILE_WR, CAP_FILE_BUFFER, 4096)
    expect(got.result).toEqual({ ok: true, got: CAP_FILE_WR | CAP_FILE_BUFFER })
    c.addDirtyBuffers(1, 2)
    c.noteWrite(4, 1, 4096)
    c.putCaps(4, 1, CAP_FILE_WR | CAP_FILE_BUFFER)
    const out = c.step(5, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pAsXsFr') }))
    expect(out).toContainEqual({ kind: 'writeback', ino: 1 })
    expect(sent(out)).toEqual([])
    expect(c.summaryLine(5, 1)).toBe('caps(summary): used pFb issued pAsXsFr implemented pAsxXsxFsxcrwb revoking AxXxFsxcwb mds_wanted pAsxXsxFsxcrwb file_wanted pAsxXsxFsxcrwb retain pAsxLsxXsxFsxcrwbal')
    expect(sent(c.writebackDone(6, 1, 1))).toEqual([]) // one buffer still dirty
    const ack = sentCaps(c.writebackDone(7, 1, 1))
    expect(ack.map((m) => [m.op, m.seq, formatCaps(m.caps), formatCaps(m.dirty), m.sizeBytes])).toEqual([[CapOp.UPDATE, 11, 'pAsXsFr', 'Fx', 4096]])
    expect(c.dirtyState(1)).toMatchObject({ dirty: 0, flushing: parseCaps('Fx'), owedAck: false })
    c.step(8, capsMsg(CapOp.FLUSH_ACK, { capId: 1, seq: 11, dirty: parseCaps('Fx'), flushTid: ack[0]?.flushTid ?? 0 }))
    expect(c.dirtyState(1).flushing).toBe(0)
  })

  it('Fc with a busy cache: invalidation is queued and the owed ack is sent when it finishes, though the file stays open (T-16, E-9)', () => {
    const c = setup(FileMode.RD, 'pFscr')
    c.setCachedPages(1, 3)
    c.holdCacheBusy(1)
    const out = c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pFsr') }))
    expect(sent(out)).toEqual([])
    expect(c.dirtyState(1).owedAck).toBe(true)
    const done = c.releaseCacheBusy(5, 1)
    expect(done[0]).toEqual({ kind: 'invalidate', ino: 1 })
    expect(sentCaps(done).map((m) => [m.seq, formatCaps(m.caps)])).toEqual([[11, 'pFsr']])
  })

  it('variant: the authority re-grants Fc before the deferred invalidation finishes; the ack is still sent', () => {
    const c = setup(FileMode.RD, 'pFscr')
    c.setCachedPages(1, 3)
    c.holdCacheBusy(1)
    c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pFsr') }))
    const genBefore = c.rdcacheGen(1)
    const acks = [...sentCaps(c.step(5, capsMsg(CapOp.GRANT, { capId: 1, seq: 12, issueSeq: 12, caps: parseCaps('pFscr') }))), ...sentCaps(c.releaseCacheBusy(6, 1))]
    expect(acks.map((m) => m.seq)).toEqual([12])
    expect(c.rdcacheGen(1)).toBe(genBefore + 1) // the re-granted Fc starts a new cache generation
    expect(c.dirtyState(1).owedAck).toBe(false)
  })

  it('variant: data re-cached before the worker runs: the ack follows once the cache is dropped (never silence)', () => {
    const c = setup(FileMode.RD, 'pFscr')
    c.setCachedPages(1, 3)
    c.holdCacheBusy(1)
    c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pFsr') }))
    c.holdCacheBusy(1)
    expect(sent(c.releaseCacheBusy(5, 1))).toEqual([])
    const final = c.releaseCacheBusy(6, 1)
    expect(sentCaps(final).map((m) => m.seq)).toEqual([11])
  })

  it('Fb|Fw -> Fw: a new write waits while buffered data from before the revoke is written back (T-17)', () => {
    const c = setup(FileMode.RDWR, 'pAsxXsxFsxcrwb')
    c.addDirtyBuffers(1, 1)
    c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pAsXsFrw'), maxSizeBytes: 4 << 20 }))
    expect(c.getCaps(5, 1, CAP_FILE_WR, CAP_FILE_BUFFER, 10).result).toEqual({ ok: false, reason: 'wait' })
    c.writebackDone(6, 1, 1)
    expect(c.getCaps(7, 1, CAP_FILE_WR, CAP_FILE_BUFFER, 10).result).toEqual({ ok: true, got: CAP_FILE_WR })
  })

  it('fault knob: a client with injectReleaseFailure never acks', () => {
    const c = setup(FileMode.RD, 'pFscr', { injectReleaseFailure: true })
    expect(sent(c.step(4, capsMsg(CapOp.REVOKE, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pFsr') })))).toEqual([])
    expect(sent(c.tick(5))).toEqual([])
  })
})

describe('max_size (C-CLI-13, T-20)', () => {
  it('asks once for more, waits, and proceeds on the grant', () => {
    const c = setup(FileMode.WR, 'pAsxXsxFxwb')
    const first = c.getCaps(4, 1, CAP_FILE_WR, CAP_FILE_BUFFER, (4 << 20) + 1)
    expect(first.result).toEqual({ ok: false, reason: 'max-size' })
    expect(sentCaps(first.outputs).map((m) => m.maxSizeBytes)).toEqual([(4 << 20) + 1])
    const again = c.getCaps(5, 1, CAP_FILE_WR, CAP_FILE_BUFFER, (4 << 20) + 1)
    expect(again.result).toEqual({ ok: false, reason: 'max-size' })
    expect(sent(again.outputs)).toEqual([]) // no duplicate request
    expect(() => c.noteWrite(5, 1, (4 << 20) + 1)).toThrow(expect.objectContaining({ name: 'DER_OVERFLOW' }))
    c.step(6, capsMsg(CapOp.GRANT, { capId: 1, seq: 11, issueSeq: 10, caps: parseCaps('pAsxXsxFxwb'), maxSizeBytes: 12 << 20 }))
    expect(c.sizes(1)).toMatchObject({ maxSizeBytes: 12 << 20, wantedMaxSizeBytes: 0, requestedMaxSizeBytes: 0 })
    expect(c.getCaps(7, 1, CAP_FILE_WR, CAP_FILE_BUFFER, (4 << 20) + 1).result.ok).toBe(true)
  })
})

describe('sessions and leases (C-CLI-12, T-45, T-46)', () => {
  it('renews every renewIntervalMs; the TTL counts from the send time, not the ack time', () => {
    const c = new CapsClient({ clientId: 'a', clockDriftBoundPpm: 0 })
    c.openSession(0, 0)
    c.step(10, sessionMsg(SessionOp.OPEN))
    expect(c.session(0)?.capTtlMs).toBe(T)
    expect(sent(c.tick(14_999))).toEqual([])
    const renew = sent(c.tick(15_000))
    expect(renew).toEqual([expect.objectContaining({ kind: 'session', op: SessionOp.REQUEST_RENEWCAPS, seq: 1 })])
    c.step(20_000, sessionMsg(SessionOp.RENEWCAPS, 'a', 1)) // ack delayed by 5 s
    expect(c.session(0)?.capTtlMs).toBe(15_000 + T)
  })

  it('ignores an ack of an older renew', () => {
    const c = new CapsClient({ clientId: 'a', clockDriftBoundPpm: 0 })
    c.openSession(0, 0)
    c.step(1, sessionMsg(SessionOp.OPEN))
    c.tick(15_000)
    c.tick(30_000)
    c.step(30_001, sessionMsg(SessionOp.RENEWCAPS, 'a', 1))
    expect(c.session(0)?.capTtlMs).toBe(T)
    c.step(30_002, sessionMsg(SessionOp.RENEWCAPS, 'a', 2))
    expect(c.session(0)?.capTtlMs).toBe(30_000 + T)
  })

  it('shortens the TTL by the drift bound', () => {
    const c = new CapsClient({ clientId: 'a', clockDriftBoundPpm: 1000 })
    c.openSession(0, 0)
    c.step(1, sessionMsg(SessionOp.OPEN))
    expect(c.session(0)?.capTtlMs).toBe(T - 60)
  })

  it('does not use caps once the TTL passed: reads wait (T-54)', () => {
    const c = setup(FileMode.RD, 'pFscr', { clockDriftBoundPpm: 0 })
    expect(c.getCaps(T - 1, 1, CAP_FILE_RD, CAP_FILE_CACHE).result.ok).toBe(true)
    c.putCaps(T - 1, 1, CAP_FILE_RD | CAP_FILE_CACHE)
    expect(c.getCaps(T, 1, CAP_FILE_RD, CAP_FILE_CACHE).result).toEqual({ ok: false, reason: 'stale' })
    expect(c.implemented(T, 1)).toBe(0)
  })

  it('on CLOSE (eviction) drops every cap and reports lost dirty data', () => {
    const c = setup(FileMode.RDWR, 'pAsxXsxFsxcrwb')
    c.addDirtyBuffers(1, 1)
    const out = c.step(4, sessionMsg(SessionOp.CLOSE))
    expect(out).toContainEqual({ kind: 'session-closed', authority: 0, lostDirtyInodes: [1] })
    expect(c.getCaps(5, 1, CAP_FILE_RD, 0).result).toEqual({ ok: false, reason: 'closed' })
    expect(() => c.openSession(6, 0)).toThrow(expect.objectContaining({ name: 'DER_SHUTDOWN' }))
  })

  it('answers a cap for an inode it does not have with a release (T-49); refuses bad input without change', () => {
    const c = new CapsClient({ clientId: 'a' })
    c.openSession(0, 0)
    c.step(1, sessionMsg(SessionOp.OPEN))
    const out = sentCaps(c.step(2, capsMsg(CapOp.REVOKE, { ino: 77, capId: 5, seq: 3 })))
    expect(out.map((m) => [m.op, m.ino, m.capId])).toEqual([[CapOp.RELEASE, 77, 5]])
    expect(() => c.step(3, capsMsg(CapOp.GRANT, { clientId: 'someone-else' }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => c.step(3, { kind: 'caps' })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => c.tick(1)).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => new CapsClient({ clientId: '' })).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
  })
})

describe('observability (T-60)', () => {
  it("prints S1's idle summary line", () => {
    const c = setup(FileMode.RD, 'pAsLsXsFscr')
    c.close(4, 1, FileMode.RD)
    expect(c.summaryLine(5, 1)).toBe('caps(summary): used - issued p implemented p revoking - mds_wanted p file_wanted - retain p')
  })
})

describe('dirty caps and flush acks (C-CLI-10, T-15)', () => {
  it('fsync sends FLUSH with a tid; an ack clears only flushes up to its tid and keeps bits a later flush carries', () => {
    const c = setup(FileMode.RDWR, 'pAsxXsxFsxcrwb')
    c.noteWrite(4, 1, 100)
    expect(c.dirtyState(1).dirty).toBe(parseCaps('Fx'))
    const f1 = sentCaps(c.flushDirty(5, 1))
    expect(f1.map((m) => [m.op, formatCaps(m.dirty), m.sizeBytes])).toEqual([[CapOp.FLUSH, 'Fx', 100]])
    c.noteWrite(6, 1, 200)
    const f2 = sentCaps(c.flushDirty(7, 1))
    const [tid1, tid2] = [f1[0]?.flushTid ?? 0, f2[0]?.flushTid ?? 0]
    expect(tid2).toBeGreaterThan(tid1)
    expect(sent(c.flushDirty(8, 1))).toEqual([]) // nothing dirty: nothing to flush
    c.step(9, capsMsg(CapOp.FLUSH_ACK, { capId: 1, dirty: parseCaps('Fx'), flushTid: tid1 }))
    expect(c.dirtyState(1).flushing).toBe(parseCaps('Fx'))
    c.step(10, capsMsg(CapOp.FLUSH_ACK, { capId: 1, dirty: parseCaps('Fx'), flushTid: tid2 }))
    expect(c.dirtyState(1)).toMatchObject({ dirty: 0, flushing: 0 })
  })

  it('the authority applies the flushed size and acknowledges with the same tid', async () => {
    const { CapsAuthority } = await import('../src/index.ts')
    const mds = new CapsAuthority()
    mds.step(0, sessionMsg(SessionOp.REQUEST_OPEN))
    mds.step(1, { kind: 'open', authority: 0, clientId: 'a', ino: 1, wanted: capsForMode(FileMode.RDWR) })
    const out = sentCaps(mds.step(2, capsMsg(CapOp.FLUSH, { capId: 1, seq: 1, issueSeq: 1, caps: parseCaps('pAsxXsxFsxcrwb'), wanted: capsForMode(FileMode.RDWR), dirty: parseCaps('Fx'), flushTid: 9, sizeBytes: 300 })))
    expect(out.map((m) => [m.op, m.flushTid, formatCaps(m.dirty)])).toEqual([[CapOp.FLUSH_ACK, 9, 'Fx']])
    expect(mds.sizeBytes(1)).toBe(300)
  })
})

describe('lost requests', () => {
  it('re-sends a lost session open and a lost open request', () => {
    const c = new CapsClient({ clientId: 'a', renewIntervalMs: 1000, sessionTimeoutMs: 4000 })
    c.openSession(0, 0) // lost
    expect(sent(c.tick(999))).toEqual([])
    expect(sent(c.tick(1000))).toEqual([expect.objectContaining({ kind: 'session', op: SessionOp.REQUEST_OPEN })])
    c.step(1001, sessionMsg(SessionOp.OPEN))
    expect(c.session(0)?.capTtlMs).toBe(1000 + 4000 - 4)
    c.open(1002, 1, FileMode.RD) // lost
    expect(sent(c.getCaps(1500, 1, CAP_FILE_RD, 0).outputs)).toEqual([])
    expect(sent(c.getCaps(2002, 1, CAP_FILE_RD, 0).outputs)).toEqual([expect.objectContaining({ kind: 'open', ino: 1 })])
  })
})

describe('local attribute changes under Ax (C-CLI-10, P5)', () => {
  it('chmod without Ax is refused; under Ax it is local and dirty, and the revoke ack flushes it', () => {
    const reader = setup(FileMode.RD, 'pFscr')
    expect(() => reader.setModeLocally(4, 1, 0o600)).toThrow(expect.objectContaining({ name: 'DER_NO_PERM' }))
    const c = setup(FileMode.RDWR, 'pAsxXsxFsxcrwb')
    expect(sent(c.setModeLocally(4, 1, 0o600))).toEqual([]) // no request
    expect(c.dirtyState(1).dirty).toBe(parseCaps('Ax'))
    // A grant carrying the authority's old mode does not overwrite the local change.
    c.step(5, capsMsg(CapOp.GRANT, { capId: 1, seq: 11, issueSeq: 11, caps: parseCaps('pAsxXsxFsxcrwb'), mode: 0o644, maxSizeBytes: 4 << 20 }))
    expect(c.mode(1)).toBe(0o600)
    const ack = sentCaps(c.step(6, capsMsg(CapOp.REVOKE, { capId: 1, seq: 12, issueSeq: 11, caps: parseCaps('pAsXsFsxcrwb'), maxSizeBytes: 4 << 20 })))
    expect(ack.map((m) => [m.seq, formatCaps(m.dirty), m.mode])).toEqual([[12, 'Ax', 0o600]])
  })
})
