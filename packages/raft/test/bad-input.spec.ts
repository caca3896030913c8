// Bad input: messages from unknown nodes, stale terms, misaddressed or forged messages, and
// malformed wire bytes are handled without a crash, a divergent log or a state change.
import { Random, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Entry,
  MemoryStorage,
  type Message,
  RawNode,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  encodeEntry,
  encodeMessage,
  message,
  messageTypes,
} from '../src/index.ts'

const entry = (index: number, t: number, data = ''): Entry => ({ term: t, index, type: 'normal', data: new TextEncoder().encode(data) })

/** A leader of term 2 over voters 1..3 with entries 1..3 committed. */
function leader(): { node: RawNode; storage: MemoryStorage } {
  const storage = MemoryStorage.withVoters([1, 2, 3])
  storage.append([entry(1, 1), entry(2, 1, 'a'), entry(3, 1, 'b')])
  storage.setHardState({ term: 1, vote: 1, commit: 3 })
  const node = new RawNode({ id: 1, storage, random: new Random(1), preVote: false })
  node.campaign()
  node.step(message({ type: 'MsgVoteResp', from: 2, to: 1, term: 2 }))
  expect(node.status().softState.role).toBe('leader')
  drain(node, storage)
  return { node, storage }
}

function drain(node: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = []
  while (node.hasReady()) {
    const rd = node.ready()
    storage.append(rd.entries)
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState)
    out.push(...rd.messages)
    node.advance(rd)
  }
  return out
}

function snapshotOf(node: RawNode): string {
  return JSON.stringify(node.status())
}

describe('bad input to the core', () => {
  it('responses from nodes outside the configuration are ignored by the leader', () => {
    const { node, storage } = leader()
    const before = snapshotOf(node)
    for (const type of ['MsgAppResp', 'MsgHeartbeatResp', 'MsgVoteResp', 'MsgSnapStatus'] as const) {
      node.step(message({ type, from: 9, to: 1, term: 2, index: 100 }))
    }
    expect(snapshotOf(node)).toBe(before)
    expect(drain(node, storage)).toEqual([])
  })

  it('votes from nodes outside the configuration do not count', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    const node = new RawNode({ id: 1, storage, random: new Random(2), preVote: false })
    node.campaign()
    node.step(message({ type: 'MsgVoteResp', from: 7, to: 1, term: 1 }))
    node.step(message({ type: 'MsgVoteResp', from: 8, to: 1, term: 1 }))
    expect(node.status().softState.role).toBe('candidate')
  })

  it('stale-term appends are answered with the current term and change nothing', () => {
    const { node, storage } = leader()
    const before = storage.entries(1, storage.lastIndex() + 1)
    node.step(message({ type: 'MsgApp', from: 2, to: 1, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1, 'evil')], commit: 2 }))
    const out = drain(node, storage)
    expect(out).toEqual([expect.objectContaining({ type: 'MsgAppResp', to: 2, term: 2 })])
    expect(storage.entries(1, storage.lastIndex() + 1)).toEqual(before)
    expect(node.status().softState.role).toBe('leader')
  })

  it('misaddressed messages and local message types are refused with DER_INVAL', () => {
    const { node } = leader()
    const before = snapshotOf(node)
    expect(() => node.step(message({ type: 'MsgApp', from: 2, to: 3, term: 2 }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => node.step(message({ type: 'MsgHup', from: 2, to: 1 }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => node.step(message({ type: 'MsgApp', from: 1, to: 1, term: 2 }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(snapshotOf(node)).toBe(before)
  })

  it('an append that would overwrite committed entries is answered with the commit index; the log is unchanged', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    storage.append([entry(1, 1), entry(2, 1, 'a'), entry(3, 1, 'b')])
    storage.setHardState({ term: 1, vote: 0, commit: 3 })
    const node = new RawNode({ id: 2, storage, random: new Random(3) })
    node.step(message({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2, 'forged')], commit: 3 }))
    const rd = node.ready()
    expect(rd.entries).toEqual([])
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'MsgAppResp', index: 3, reject: false })])
    // Entries that do not follow their predecessor, or claim a term above the message's, are refused.
    expect(() => node.step(message({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 3, logTerm: 1, entries: [entry(5, 2)] }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(() => node.step(message({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 3, logTerm: 1, entries: [entry(4, 7)] }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    expect(storage.entries(1, 4).map((e) => new TextDecoder().decode(e.data))).toEqual(['', 'a', 'b'])
  })

  it('a snapshot message without a snapshot is refused; out-of-order chunks are rejected', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    const node = new RawNode({ id: 2, storage, random: new Random(4) })
    expect(() => node.step(message({ type: 'MsgSnap', from: 1, to: 2, term: 1 }))).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    node.step(
      message({
        type: 'MsgSnap',
        from: 1,
        to: 2,
        term: 1,
        snapshot: { metadata: { index: 10, term: 1, confState: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array(4) },
        chunk: { offsetBytes: 4, totalBytes: 8 },
      }),
    )
    const rd = node.ready()
    expect(rd.snapshot).toBeUndefined()
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'MsgSnapStatus', reject: true })])
  })

  it('random messages thrown at a node never crash it or make it lose committed entries', () => {
    fc.assert(
      fc.property(fc.array(arbitraryMessage(1), { maxLength: 30 }), (messages) => {
        const storage = MemoryStorage.withVoters([1, 2, 3])
        storage.append([entry(1, 1), entry(2, 1, 'a')])
        storage.setHardState({ term: 1, vote: 0, commit: 2 })
        const node = new RawNode({ id: 1, storage, random: new Random(5) })
        for (const m of messages) {
          try {
            node.step(m)
          } catch (e) {
            if (!isDerError(e)) throw e
          }
          drain(node, storage)
        }
        expect(storage.entries(1, 3).map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '1/2'])
      }),
      { numRuns: 300, seed: 42 },
    )
  })
})

function arbitraryMessage(to: number): fc.Arbitrary<Message> {
  const small = fc.integer({ min: 0, max: 6 })
  return fc
    .record({
      type: fc.constantFrom(...messageTypes.filter((t) => !['MsgHup', 'MsgBeat', 'MsgCheckQuorum', 'MsgProp', 'MsgSnap'].includes(t))),
      from: fc.integer({ min: 2, max: 9 }),
      term: small,
      logTerm: small,
      index: small,
      commit: small,
      reject: fc.boolean(),
      rejectHint: small,
      entries: fc.array(fc.record({ term: small, data: fc.uint8Array({ maxLength: 4 }) }), { maxLength: 3 }),
    })
    .map((r) => message({ ...r, to, entries: r.entries.map((e, i) => ({ term: e.term, index: r.index + 1 + i, type: 'normal' as const, data: e.data })) }))
}

describe('wire and disk codecs', () => {
  it('messages round-trip', () => {
    fc.assert(
      fc.property(arbitraryMessage(1), (m) => {
        const wire = m.type === 'MsgUnreachable' || m.term === 0 ? { ...m, type: 'MsgApp' as const, term: 1 } : m
        expect(decodeMessage(encodeMessage(wire))).toEqual(wire)
      }),
      { numRuns: 500, seed: 7 },
    )
  })

  it('random and mutated bytes decode to a valid value or a DerError, never anything else', () => {
    const valid = encodeMessage(message({ type: 'MsgApp', from: 1, to: 2, term: 3, index: 4, logTerm: 2, entries: [entry(5, 3, 'xyz')], commit: 4 }))
    const decoders = [decodeMessage, decodeEntry, decodeHardState, decodeSnapshot, decodeConfChange]
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (random, at, flip) => {
        const mutated = valid.slice()
        mutated[at] = (mutated[at] as number) ^ flip
        for (const bytes of [random, mutated, valid.subarray(0, at)]) {
          for (const decode of decoders) {
            try {
              decode(bytes)
            } catch (e) {
              expect(isDerError(e), String(e)).toBe(true)
            }
          }
        }
      }),
      { numRuns: 1000, seed: 11 },
    )
  })

  it('local message types never decode from the wire', () => {
    const bytes = encodeMessage(message({ type: 'MsgHup', from: 1, to: 2, term: 1 }))
    expect(() => decodeMessage(bytes)).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
    expect(decodeEntry(encodeEntry(entry(3, 2, 'q')))).toEqual(entry(3, 2, 'q'))
  })
})
