// The speed paths keep the wire and the semantics: gather-list encodings equal the reference
// encoders byte for byte, and the served-request table evicts oldest first in O(1).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DedupTable } from '../src/dedup.ts'
import { type RequestMessage, decodeReply, decodeReplyGeneric, decodeRequest, decodeRequestGeneric, encodeReply, encodeReplyParts, encodeRequest, encodeRequestParts } from '../src/wire.ts'

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const safeId = fc.oneof(fc.nat(300), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
const rank = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }))
const body = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.nat(70_000).map((n) => new Uint8Array(n).fill(7)))
const corpc = fc.option(
  fc.record({
    groupName: fc.string({ maxLength: 8 }),
    groupVersion: fc.nat(1000),
    root: fc.nat(64),
    tree: fc.constantFrom('flat' as const, 'kary' as const, 'knomial' as const),
    branchRatio: fc.integer({ min: 1, max: 64 }),
    excluded: fc.array(fc.nat(64), { maxLength: 4 }),
    tag: fc.nat(8),
  }),
  { nil: undefined },
)

describe('gather-list encodings', () => {
  it('request parts join to the reference bytes and decode back (seed 5101)', () => {
    fc.assert(
      fc.property(safeId, fc.integer({ min: 0, max: 0xffff_ffff }), safeId, rank, corpc, body, (rpcId, opcode, timeoutMs, srcRank, c, b) => {
        const m: RequestMessage = c === undefined ? { rpcId, opcode, timeoutMs, srcRank, body: b } : { rpcId, opcode, timeoutMs, srcRank, corpc: c, body: b }
        const parts = encodeRequestParts(m)
        const bytes = joined(parts)
        expect(same(bytes, encodeRequest(m))).toBe(true)
        // The body travels by reference, not copied (on the direct path of plain requests).
        const direct = c === undefined && rpcId < 2 ** 51 && timeoutMs < 2 ** 51 && Math.abs(srcRank) < 2 ** 51
        if (direct && b.length > 0) expect(parts.at(-1)?.buffer).toBe(b.buffer)
        const { body: decodedBody, ...rest } = decodeRequest(bytes)
        const { body: _body, ...expected } = m
        expect(rest).toEqual(expected)
        expect(same(decodedBody, b)).toBe(true)
      }),
      { seed: 5101, numRuns: 400 },
    )
  })

  it('reply parts join to the reference bytes and decode back (seed 5102)', () => {
    fc.assert(
      fc.property(safeId, fc.integer({ min: -0x8000_0000, max: 0 }), fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })), body, (rpcId, status, message, b) => {
        const m = { rpcId, status, message, body: b }
        const bytes = joined(encodeReplyParts(m))
        expect(same(bytes, encodeReply(m))).toBe(true)
        const decoded = decodeReply(bytes)
        expect([decoded.rpcId, decoded.status, decoded.message]).toEqual([rpcId, status, message])
        expect(same(decoded.body, b)).toBe(true)
      }),
      { seed: 5102, numRuns: 400 },
    )
  })
})

/** The outcome of a decoder: its value, or the name of the error it threw. */
function outcome(decode: () => unknown): unknown {
  try {
    return { value: decode() }
  } catch (error) {
    return { error: (error as Error).name }
  }
}

describe('fast decoders', () => {
  it('agree with the generic decoders on valid, mutated and random bytes (seed 5104)', () => {
    const valid = [
      encodeRequest({ rpcId: 7, opcode: 0x42010003, timeoutMs: 60_000, srcRank: -1, body: new Uint8Array([1, 2, 3]) }),
      encodeRequest({ rpcId: 2 ** 50, opcode: 1, timeoutMs: 1, srcRank: 12, body: new Uint8Array(0) }),
      encodeReply({ rpcId: 7, status: 0, message: '', body: new Uint8Array([9]) }),
      encodeReply({ rpcId: 8, status: -1005, message: 'x', body: new Uint8Array(0) }),
    ]
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.uint8Array({ maxLength: 24 }), fc.boolean(), (which, edits, random, useRandom) => {
        const bytes = useRandom ? random : Uint8Array.from(valid[which] as Uint8Array)
        if (!useRandom) for (const [at, value] of edits) bytes[at % bytes.length] = value
        expect(outcome(() => decodeRequest(bytes))).toEqual(outcome(() => decodeRequestGeneric(bytes)))
        expect(outcome(() => decodeReply(bytes))).toEqual(outcome(() => decodeReplyGeneric(bytes)))
      }),
      { seed: 5104, numRuns: 5000 },
    )
  })
})

describe('served-request table', () => {
  it('remembers per connection, evicts the oldest first, forgets a dropped connection', () => {
    const table = new DedupTable(3)
    const a = table.add(1, 10)
    a.reply = [new Uint8Array([1])]
    table.add(2, 10)
    table.add(1, 11)
    expect(table.get(1, 10)).toBe(a)
    expect(table.get(2, 10)).toBeDefined()
    table.add(1, 12) // evicts (1, 10)
    expect(table.get(1, 10)).toBeUndefined()
    expect(table.get(2, 10)).toBeDefined()
    expect(table.get(1, 11)).toBeDefined()
    table.dropConnection(1)
    expect(table.get(1, 11)).toBeUndefined()
    expect(table.get(1, 12)).toBeUndefined()
    expect(table.get(2, 10)).toBeDefined()
    expect(table.size).toBe(3)
    table.add(3, 1) // evicts (2, 10)
    expect(table.get(2, 10)).toBeUndefined()
    expect(() => new DedupTable(0)).toThrow()
  })

  it('matches a model over random operations (seed 5103)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.record({ add: fc.tuple(fc.nat(3), fc.nat(20)) }), fc.record({ drop: fc.nat(3) })), { maxLength: 200 }),
        (capacity, ops) => {
          const table = new DedupTable(capacity)
          const model: [number, number, boolean][] = [] // [connection, rpc, live], oldest first
          for (const op of ops) {
            if ('drop' in op) {
              table.dropConnection(op.drop)
              for (const e of model) if (e[0] === op.drop) e[2] = false
              continue
            }
            const [connection, rpc] = op.add
            if (table.get(connection, rpc) !== undefined) continue
            if (model.length === capacity) {
              const [c, r] = model.shift() as [number, number, boolean]
              for (const e of model) if (e[0] === c && e[1] === r) e[2] = false
            }
            table.add(connection, rpc)
            model.push([connection, rpc, true])
          }
          for (let c = 0; c < 4; c++) {
            for (let r = 0; r < 21; r++) {
              const live = model.some((e) => e[0] === c && e[1] === r && e[2])
              expect(table.get(c, r) !== undefined, `connection ${c} rpc ${r}`).toBe(live)
            }
          }
        },
      ),
      { seed: 5103, numRuns: 300 },
    )
  })
})
