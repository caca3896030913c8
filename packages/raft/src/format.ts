/**
 * Human-readable one-line renderings of entries and messages, used by traces and the interaction
 * tests (after etcd raft's `DescribeMessage`).
 *
 * @module
 */
import { decodeConfChange } from './raft.ts'
import type { Entry, HardState, Message, Snapshot } from './types.ts'

const decoder = new TextDecoder()

function printable(data: Uint8Array): string {
  const text = decoder.decode(data)
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** `term/index EntryNormal "data"` or `term/index EntryConfChange addNode 4`. */
export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    try {
      const cc = decodeConfChange(e.data)
      return `${e.term}/${e.index} EntryConfChange ${cc.type} ${cc.nodeId}`
    } catch {
      return `${e.term}/${e.index} EntryConfChange <malformed>`
    }
  }
  return `${e.term}/${e.index} EntryNormal ${printable(e.data)}`
}

/** `Term:1 Vote:1 Commit:3`. */
export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`
}

/** `Index:5 Term:2 ConfState:Voters:[1 2 3] Learners:[]`. */
export function describeSnapshot(s: Snapshot): string {
  const cs = s.metadata.confState
  return `Index:${s.metadata.index} Term:${s.metadata.term} ConfState:Voters:[${cs.voters.join(' ')}] Learners:[${cs.learners.join(' ')}]`
}

/** `1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal "x"]`. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`
  if (m.commit !== 0) s += ` Commit:${m.commit}`
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`
  if (m.context.length > 0) s += ` Context:${printable(m.context)}`
  if (m.snapshot !== undefined) {
    s += ` Snapshot: ${describeSnapshot(m.snapshot)}`
    if (m.chunk !== undefined) s += ` Chunk:${m.chunk.offsetBytes}+${m.snapshot.data.length}/${m.chunk.totalBytes}`
  }
  return s
}
