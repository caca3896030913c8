/**
 * Binary encodings of entries, hard state, snapshots and messages (wire and disk), on `@x/common`'s
 * `Encoder` / `Decoder` with versioned structs. Decoders validate everything: bad bytes throw a
 * `DecodeError` (a `DerError`), never a crash or a half-built value.
 *
 * @module
 */
import { Decoder, Encoder } from '@x/common'
import {
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type Snapshot,
  type SnapshotMetadata,
  emptyBytes,
  isLocalMessage,
  messageTypes,
} from './types.ts'

/** Limits applied when decoding untrusted bytes. */
const limits = { maxItems: 1 << 20 }

function writeEntry(e: Encoder, entry: Entry): void {
  e.varuint(entry.term).varuint(entry.index).u8(entry.type === 'normal' ? 0 : 1).bytes(entry.data)
}

function readEntry(d: Decoder): Entry {
  const term = d.varuint()
  const index = d.varuint()
  const kind = d.u8()
  if (kind > 1) d.malformed(`entry type ${kind}`)
  const data = d.bytes().slice()
  return { term, index, type: kind === 0 ? 'normal' : 'confChange', data }
}

function writeIds(e: Encoder, ids: readonly number[]): void {
  e.varuint(ids.length)
  for (const id of ids) e.varuint(id)
}

function readIds(d: Decoder): number[] {
  return d.array((x) => x.varuint())
}

function writeConfState(e: Encoder, cs: ConfState): void {
  writeIds(e, cs.voters)
  writeIds(e, cs.learners)
}

function readConfState(d: Decoder): ConfState {
  const voters = readIds(d)
  const learners = readIds(d)
  const all = new Set([...voters, ...learners])
  if (all.size !== voters.length + learners.length) d.malformed('conf state lists a node twice')
  if (all.has(0)) d.malformed('conf state lists node 0')
  return { voters, learners }
}

function writeSnapshotMetadata(e: Encoder, m: SnapshotMetadata): void {
  e.varuint(m.index).varuint(m.term)
  writeConfState(e, m.confState)
}

function readSnapshotMetadata(d: Decoder): SnapshotMetadata {
  const index = d.varuint()
  const term = d.varuint()
  const confState = readConfState(d)
  if (index > 0 && term === 0) d.malformed('snapshot with an index but term 0')
  return { index, term, confState }
}

/** Encodes one entry (a versioned struct). */
export function encodeEntry(entry: Entry): Uint8Array {
  return new Encoder(entry.data.length + 16).struct(1, 1, (e) => writeEntry(e, entry)).finish()
}

/** Decodes one entry. */
export function decodeEntry(bytes: Uint8Array): Entry {
  const d = new Decoder(bytes, limits)
  const entry = d.struct(1, (x) => readEntry(x))
  d.expectEnd()
  return entry
}

/** Encodes a hard state. */
export function encodeHardState(hs: HardState): Uint8Array {
  return new Encoder(32).struct(1, 1, (e) => e.varuint(hs.term).varuint(hs.vote).varuint(hs.commit)).finish()
}

/** Decodes a hard state. */
export function decodeHardState(bytes: Uint8Array): HardState {
  const d = new Decoder(bytes, limits)
  const hs = d.struct(1, (x) => ({ term: x.varuint(), vote: x.varuint(), commit: x.varuint() }))
  d.expectEnd()
  return hs
}

/** Encodes a snapshot's metadata (without data). */
export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  return new Encoder(64).struct(1, 1, (e) => writeSnapshotMetadata(e, m)).finish()
}

/** Decodes a snapshot's metadata. */
export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  const d = new Decoder(bytes, limits)
  const m = d.struct(1, (x) => readSnapshotMetadata(x))
  d.expectEnd()
  return m
}

/** Encodes a whole snapshot (metadata and data). */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  return new Encoder(s.data.length + 64)
    .struct(1, 1, (e) => {
      writeSnapshotMetadata(e, s.metadata)
      e.bytes(s.data)
    })
    .finish()
}

/** Decodes a whole snapshot. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const d = new Decoder(bytes, limits)
  const s = d.struct(1, (x) => ({ metadata: readSnapshotMetadata(x), data: x.bytes().slice() }))
  d.expectEnd()
  return s
}

/** Writes a message into an encoder (for framing several messages in one buffer). */
export function writeMessage(e: Encoder, m: Message): void {
  e.struct(1, 1, (x) => {
    x.u8(messageTypes.indexOf(m.type))
    x.varuint(m.to).varuint(m.from).varuint(m.term).varuint(m.logTerm).varuint(m.index).varuint(m.commit)
    x.bool(m.reject).varuint(m.rejectHint).bytes(m.context)
    x.varuint(m.entries.length)
    for (const entry of m.entries) writeEntry(x, entry)
    x.bool(m.snapshot !== undefined)
    if (m.snapshot !== undefined) {
      writeSnapshotMetadata(x, m.snapshot.metadata)
      x.bytes(m.snapshot.data)
      x.varuint(m.chunk?.offsetBytes ?? 0).varuint(m.chunk?.totalBytes ?? m.snapshot.data.length)
    }
  })
}

/** Reads a message written by {@link writeMessage}; refuses local-only types and inconsistent fields. */
export function readMessage(d: Decoder): Message {
  return d.struct(1, (x) => {
    const typeIndex = x.u8()
    const type: MessageType | undefined = messageTypes[typeIndex]
    if (type === undefined) return x.malformed(`unknown message type ${typeIndex}`)
    if (isLocalMessage(type)) x.malformed(`${type} is a local message and never crosses the wire`)
    const to = x.varuint()
    const from = x.varuint()
    if (to === 0 || from === 0) x.malformed('message without sender or receiver')
    const term = x.varuint()
    const logTerm = x.varuint()
    const index = x.varuint()
    const commit = x.varuint()
    const reject = x.bool()
    const rejectHint = x.varuint()
    const context = x.bytes().slice()
    const entries = x.array((y) => readEntry(y))
    for (let i = 1; i < entries.length; i++) {
      if ((entries[i] as Entry).index !== (entries[i - 1] as Entry).index + 1) x.malformed('entries are not contiguous')
    }
    const hasSnapshot = x.bool()
    let snapshot: Snapshot | undefined
    let chunk: Message['chunk']
    if (hasSnapshot) {
      const metadata = readSnapshotMetadata(x)
      const data = x.bytes().slice()
      const offsetBytes = x.varuint()
      const totalBytes = x.varuint()
      if (offsetBytes + data.length > totalBytes) x.malformed('snapshot chunk beyond the snapshot size')
      snapshot = { metadata, data }
      chunk = { offsetBytes, totalBytes }
    }
    if (type === 'MsgSnap' && snapshot === undefined) x.malformed('MsgSnap without a snapshot')
    if (term === 0 && type !== 'MsgReadIndex' && type !== 'MsgReadIndexResp') x.malformed(`${type} with term 0`)
    return {
      type,
      to,
      from,
      term,
      logTerm,
      index,
      entries,
      commit,
      reject,
      rejectHint,
      context: context.length === 0 ? emptyBytes : context,
      ...(snapshot !== undefined ? { snapshot, chunk } : {}),
    }
  })
}

/** Encodes a message for the wire. */
export function encodeMessage(m: Message): Uint8Array {
  const e = new Encoder(256)
  writeMessage(e, m)
  return e.finish()
}

/** Decodes a message from the wire. */
export function decodeMessage(bytes: Uint8Array): Message {
  const d = new Decoder(bytes, limits)
  const m = readMessage(d)
  d.expectEnd()
  return m
}
