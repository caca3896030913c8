import { describe, expect, it } from 'vitest'
import { CapsAuthority, CapsClient, FileMode, type Message, capsForMode, formatCaps, parseCaps } from '../src/index.ts'
import { CapOp, SessionOp, capsMsg, sent, sentCaps, sessionMsg } from './support/builders.ts'

/** A client with sessions to ranks 0 and 1 and inode 1 granted by rank 0 (cap id 1). */
function setup(): { client: CapsClient; mds0: CapsAuthority; mds1: CapsAuthority; toClient: (ms: Message[], t?: number) => Message[] } {
  const client = new CapsClient({ clientId: 'a' })
  const mds0 = new CapsAuthority({ rank: 0 })
  const mds1 = new CapsAuthority({ rank: 1 })
  const toClient = (ms: Message[], t = 10): Message[] => ms.flatMap((m) => sent(client.step(t, m)))
  for (const [rank, mds] of [[0, mds0], [1, mds1]] as const) {
    for (const m of sent(client.openSession(0, rank))) toClient(sent(mds.step(0, m)), 0)
  }
  for (const m of sent(client.open(1, 1, FileMode.RD))) toClient(sent(mds0.step(1, m)), 1)
  expect(formatCaps(client.issued(2, 1))).toBe('pFscr')
  return { client, mds0, mds1, toClient }
}

describe('export/import between authorities (T-48, C-CLI-14, C-SRV-16)', () => {
  it('EXPORT before IMPORT: a placeholder for the new rank takes the auth role; IMPORT fills it', () => {
    const { client, mds0, mds1, toClient } = setup()
    const { outputs, exported } = mds0.exportInode(5, 1, 1)
    expect(sentCaps(outputs).map((m) => [m.op, m.peer?.authority])).toEqual([[CapOp.EXPORT, 1]])
    toClient(sent(outputs))
    expect(client.authRank(1)).toBe(1)
    expect(client.cap(1, 0)).toBeUndefined()
    expect(formatCaps(client.issued(10, 1))).toBe('-') // the placeholder has no cap id yet
    const imp = sent(mds1.importInode(6, exported))
    const replies = toClient(imp)
    expect(client.cap(1, 1)?.capId).toBe(mds1.cap(1, 'a')?.capId)
    expect(client.cap(1, 1)?.mseq).toBe(1)
    expect(formatCaps(client.issued(10, 1))).toBe('pFscr')
    // Whatever the client sends next goes to rank 1 with the new mseq, and is accepted.
    for (const m of replies) expect(mds1.step(11, m).some((o) => o.kind === 'refused')).toBe(false)
  })

  it('IMPORT before EXPORT: the import removes the old cap; the late EXPORT is ignored', () => {
    const { client, mds0, mds1, toClient } = setup()
    const { outputs, exported } = mds0.exportInode(5, 1, 1)
    toClient(sent(mds1.importInode(6, exported)))
    expect(client.cap(1, 0)).toBeUndefined()
    expect(client.authRank(1)).toBe(1)
    expect(formatCaps(client.issued(10, 1))).toBe('pFscr')
    toClient(sent(outputs))
    expect(client.authRank(1)).toBe(1)
    expect(formatCaps(client.issued(10, 1))).toBe('pFscr')
  })

  it('a GRANT from the new rank between EXPORT and IMPORT keeps the bits', () => {
    const { client, mds0, toClient } = setup()
    toClient(sent(mds0.exportInode(5, 1, 1).outputs))
    toClient([capsMsg(CapOp.GRANT, { authority: 1, capId: 9, seq: 1, mseq: 1, caps: parseCaps('pFr'), wanted: capsForMode(FileMode.RD) })])
    expect(formatCaps(client.cap(1, 1)?.issued ?? 0)).toBe('pFscr')
  })

  it('the new rank drops an UPDATE with the old mseq (T-48d)', () => {
    const { mds0, mds1 } = setup()
    const { exported } = mds0.exportInode(5, 1, 1)
    mds1.importInode(6, exported)
    const capId = mds1.cap(1, 'a')?.capId ?? 0
    const out = mds1.step(7, capsMsg(CapOp.UPDATE, { authority: 1, capId, seq: 1, mseq: 0, caps: 1, wanted: 1 }))
    expect(out).toEqual([expect.objectContaining({ kind: 'refused', reason: expect.stringContaining('mseq') })])
    expect(formatCaps(mds1.cap(1, 'a')?.issued ?? 0)).toBe('pFscr')
  })

  it('an IMPORT for an inode the client does not have is released at once (T-48f)', () => {
    const { client } = setup()
    const out = sentCaps(client.step(20, capsMsg(CapOp.IMPORT, { authority: 1, ino: 99, capId: 4, seq: 1, mseq: 1, peer: { authority: 0, capId: 3, seq: 1, mseq: 0 } })))
    expect(out.map((m) => [m.op, m.ino, m.capId, m.authority])).toEqual([[CapOp.RELEASE, 99, 4, 1]])
  })

  it('refuses to export an inode with revokes in flight, or import one twice', () => {
    const { mds0, mds1 } = setup()
    mds0.step(3, sessionMsg(SessionOp.REQUEST_OPEN, 'b'))
    mds0.step(4, { kind: 'open', authority: 0, clientId: 'b', ino: 1, wanted: capsForMode(FileMode.WR) })
    expect(() => mds0.exportInode(5, 1, 1)).toThrow(expect.objectContaining({ name: 'DER_BUSY' }))
    expect(() => mds0.exportInode(5, 42, 1)).toThrow(expect.objectContaining({ name: 'DER_NONEXIST' }))
    const e = { ino: 5, fromRank: 0, sizeBytes: 0, mode: 0, caps: [] }
    mds1.importInode(6, e)
    expect(() => mds1.importInode(7, e)).toThrow(expect.objectContaining({ name: 'DER_EXIST' }))
  })
})
