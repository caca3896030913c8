import { type AuthorityOutput, type CapsMessage, CapOp, type CapOpValue, type ClientOutput, type Message, SessionOp } from '../../src/index.ts'

/** A caps message with defaults. */
export function capsMsg(op: CapOpValue, fields: Partial<Omit<CapsMessage, 'kind' | 'op'>>): CapsMessage {
  return { kind: 'caps', op, authority: 0, clientId: 'a', ino: 1, capId: 1, seq: 0, issueSeq: 0, mseq: 0, caps: 1, wanted: 1, dirty: 0, flushTid: 0, sizeBytes: 0, maxSizeBytes: 0, mode: 0, ...fields }
}

/** A session message. */
export function sessionMsg(op: number, clientId = 'a', seq = 0, authority = 0): Message {
  return { kind: 'session', op: op as never, authority, clientId, seq }
}

/** The messages among outputs (to anybody). */
export function sent(outputs: ReadonlyArray<AuthorityOutput | ClientOutput>): Message[] {
  const out: Message[] = []
  for (const o of outputs) if (o.kind === 'send') out.push(o.message)
  return out
}

/** The caps messages among outputs. */
export function sentCaps(outputs: ReadonlyArray<AuthorityOutput | ClientOutput>): CapsMessage[] {
  return sent(outputs).filter((m): m is CapsMessage => m.kind === 'caps')
}

export { CapOp, SessionOp }
