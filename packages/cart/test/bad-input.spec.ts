import { Decoder, Encoder, isDerError } from '@x/common'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Cart, Protocol, ProtocolRegistry, bulkDescriptorCodec, defineRpc, makeOpcode, splitOpcode } from '../src/index.ts'
import { decodeCorpcBody, decodeReply, decodeRequest, encodeReply, encodeRequest, replyTag, requestTag, statusToError } from '../src/wire.ts'
import { bytesCodec, errorName, makeCluster, makeRpcs, settle, u32Codec } from './helpers.ts'

describe('protocols and bad input', () => {
  it('packs opcodes as base | version << 16 | index and validates protocols', () => {
    expect(makeOpcode(0x02000000, 3, 7)).toBe(0x02030007)
    expect(splitOpcode(0xfe020001)).toEqual({ baseOpcode: 0xfe000000, version: 2, index: 1 })
    const rpc = () => defineRpc({ name: 'x', input: u32Codec, output: u32Codec })
    for (const bad of [
      () => new Protocol({ name: 'p', baseOpcode: 0x01000001, version: 1, rpcs: [rpc()] }),
      () => new Protocol({ name: 'p', baseOpcode: 0x01000000, version: 256, rpcs: [rpc()] }),
      () => new Protocol({ name: 'p', baseOpcode: 0x01000000, version: 1, rpcs: [] }),
    ]) {
      expect(bad).toThrow(/protocol p/)
    }
    const shared = rpc()
    const first = new Protocol({ name: 'a', baseOpcode: 0x01000000, version: 1, rpcs: [shared] })
    expect(() => new Protocol({ name: 'b', baseOpcode: 0x02000000, version: 1, rpcs: [shared] })).toThrow(/already belongs/)
    const registry = new ProtocolRegistry()
    registry.register(first)
    let error: unknown
    try {
      registry.register(first)
    } catch (e) {
      error = e
    }
    expect(isDerError(error, 'DER_EXIST')).toBe(true)
    expect(() => registry.lookup(0x01000001)).toThrow(/not registered/)
  })

  it('answers an unknown opcode or version with DER_UNREG and reports supported versions', async () => {
    const c = await makeCluster(31)
    const v2 = makeRpcs(2)
    c.client.registerProtocol(v2.protocol)
    const other = defineRpc({ name: 'other', input: u32Codec, output: u32Codec })
    const unknownBase = new Protocol({ name: 'other', baseOpcode: 0x55000000, version: 1, rpcs: [other] })
    c.client.registerProtocol(unknownBase)
    const a = settle(c.clientContext.call(v2.echo, { rank: 0 }, new Uint8Array(1)))
    const b = settle(c.clientContext.call(other, { rank: 0 }, 1))
    const versions = c.clientContext.queryProtocol({ rank: 0 }, 0x10000000)
    const none = c.clientContext.queryProtocol({ rank: 0 }, 0x55000000)
    await c.runtime.runUntilIdle()
    expect(errorName(await a)).toBe('DER_UNREG')
    expect(errorName(await b)).toBe('DER_UNREG')
    expect(await versions).toEqual([1])
    expect(await none).toEqual([])
  })

  it('answers a malformed input body with a typed error and keeps serving', async () => {
    const c = await makeCluster(32)
    // A client whose idea of `echo` (same opcode) has another input format.
    const liar = new Cart({ fabric: c.fabric, runtime: c.runtime })
    const liarEcho = defineRpc({ name: 'echo', input: u32Codec, output: bytesCodec })
    liar.registerProtocol(new Protocol({ name: 'test', baseOpcode: 0x10000000, version: 1, rpcs: [liarEcho] }))
    const liarContext = await liar.createContext()
    const bad = settle(liarContext.call(liarEcho, { uri: 'memory://rank-0' }, 0xffffffff))
    await c.runtime.runUntilIdle()
    const outcome = await bad
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(isDerError(outcome.error)).toBe(true)
    expect(['DER_TRUNC', 'DER_PROTO', 'DER_OVERFLOW']).toContain(errorName(outcome))
    const good = c.clientContext.call(c.rpcs.echo, { rank: 0 }, new Uint8Array([9]))
    await c.runtime.runUntilIdle()
    expect(await good).toEqual(new Uint8Array([9]))
  })

  it('drops garbage messages and keeps serving', async () => {
    const c = await makeCluster(33)
    const raw = await c.fabric.open()
    const pending = raw.connect('memory://rank-0')
    await c.runtime.runUntilIdle()
    const connection = await pending
    connection.send(requestTag, new Uint8Array([1, 2, 3]))
    connection.send(replyTag, new Uint8Array([7]))
    connection.send(12345, new Uint8Array([7]))
    connection.send(requestTag, encodeRequest({ rpcId: 1, opcode: 0x10010000, timeoutMs: 10, srcRank: -1, body: new Uint8Array([0xff]) }))
    await c.runtime.runUntilIdle()
    expect(c.metrics.value('cart_malformed_messages_total', { context: '0' })).toBe(3)
    const got = raw.completions.poll().filter((x) => x.kind === 'unexpected' && x.tag === replyTag)
    expect(got.length).toBe(1)
    const reply = decodeReply(got[0]?.data ?? new Uint8Array())
    expect(reply.status).toBeLessThan(0)
    const good = c.clientContext.call(c.rpcs.echo, { rank: 0 }, new Uint8Array([4]))
    await c.runtime.runUntilIdle()
    expect(await good).toEqual(new Uint8Array([4]))
  })

  it('applies the instance-wide message limit to its contexts unless a context sets its own', async () => {
    const c = await makeCluster(35)
    const wide = new Cart({ fabric: c.fabric, runtime: c.runtime, rank: 7, maxUnexpectedBytes: 8 << 20 })
    wide.registerProtocol(c.rpcs.protocol)
    wide.handle(c.rpcs.echo, (rpc) => rpc.input)
    expect(wide.maxUnexpectedBytes).toBe(8 << 20)
    await wide.createContext({ listen: 'memory://rank-7' })
    // The echo's reply is as large as its request, so the caller needs the larger limit too.
    const caller = new Cart({ fabric: c.fabric, runtime: c.runtime, maxUnexpectedBytes: 8 << 20 })
    caller.registerProtocol(c.rpcs.protocol)
    caller.primaryGroup.addRank(7, ['memory://rank-7'])
    const callerContext = await caller.createContext({ listen: 'memory://caller' })
    const fits = settle(callerContext.call(c.rpcs.echo, { rank: 7 }, new Uint8Array(5 << 20)))
    await c.runtime.runUntilIdle()
    // 5 MiB passes the 8 MiB limit of the instance (the default, 4 MiB, refuses it: next test).
    const out = await fits
    expect(out.ok ? out.value.length : errorName(out)).toBe(5 << 20)
    const own = await wide.createContext({ listen: 'memory://rank-7b', maxUnexpectedBytes: 1024 })
    expect(own.address).toBe('memory://rank-7b')
  })

  it('refuses a request above the peer\'s message limit with DER_OVERFLOW', async () => {
    const c = await makeCluster(34)
    const big = settle(c.clientContext.call(c.rpcs.echo, { rank: 0 }, new Uint8Array(5 << 20)))
    await c.runtime.runUntilIdle()
    expect(errorName(await big)).toBe('DER_OVERFLOW')
    const small = c.clientContext.call(c.rpcs.echo, { rank: 0 }, new Uint8Array(3))
    await c.runtime.runUntilIdle()
    expect((await small).length).toBe(3)
  })

  it('maps unknown reply statuses to DER_PROTO', () => {
    expect(statusToError(-999_999, 'x').name).toBe('DER_PROTO')
    expect(statusToError(-1003, '').name).toBe('DER_INVAL')
    expect(() => decodeReply(encodeReply({ rpcId: 1, status: 5, message: '', body: new Uint8Array() }))).toThrow(/status/)
  })

  it('fuzz: decoders throw only typed errors on random bytes', () => {
    const decoders = [decodeRequest, decodeReply, decodeCorpcBody, (b: Uint8Array) => bulkDescriptorCodec.decodeFields(new Decoder(b), 1)]
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(decoders.length - 1), (bytes, which) => {
        try {
          ;(decoders[which] as (b: Uint8Array) => unknown)(bytes)
        } catch (error) {
          if (!isDerError(error)) throw error
        }
      }),
      { seed: 4711, numRuns: 3000 },
    )
    // Mutations of valid messages, too.
    const valid = [
      encodeRequest({ rpcId: 5, opcode: 1, timeoutMs: 100, srcRank: 3, corpc: { groupName: 'g', groupVersion: 2, root: 1, tree: 'kary', branchRatio: 2, excluded: [4], tag: 0 }, body: new Uint8Array(8) }),
      encodeReply({ rpcId: 5, status: -1003, message: 'bad', body: new Uint8Array(3) }),
      new Encoder().struct(1, 1, (e) => void e.string('memory://x').u8(2).varuint(1).varuint(3).varuint(0).varuint(10).bool(false)).finish(),
    ]
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }), (which, at, value) => {
        const bytes = Uint8Array.from(valid[which] as Uint8Array)
        bytes[at % bytes.length] = value
        for (const decode of decoders) {
          try {
            decode(bytes)
          } catch (error) {
            if (!isDerError(error)) throw error
          }
        }
      }),
      { seed: 4712, numRuns: 3000 },
    )
  })
})
