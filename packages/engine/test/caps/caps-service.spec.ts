import { CAP_FILE_BUFFER, CAP_FILE_CACHE, CapOp, CapsClient, FileMode, type Message, SessionOp, decodeMessage, encodeMessage } from '@x/caps'
import { Cart } from '@x/cart'
import { DecodeError, Decoder, Encoder, VirtualRuntime, isDerError } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CapsService, allocOidsInputCodec, capsAllocOidsRpc, capsExchangeInputCodec, capsExchangeRpc, capsProtocol } from '../../src/caps/index.ts'

const pool = '0f0e0d0c-0b0a-4908-8706-050403020100'
const cont = '11111111-2222-4333-8444-555555555555'
const seed = Number(process.env.X_SEED ?? 14)

async function setup() {
  const runtime = new VirtualRuntime({ seed })
  const fabric = new MemoryFabric({ runtime })
  const server = new Cart({ fabric, runtime, rank: 3 })
  server.primaryGroup.addRank(3, ['memory://caps-3'])
  const service = new CapsService({ cart: server, rank: 3, authority: { sessionTimeoutMs: 4000, revokeEvictionTimeoutMs: 2000, revokeWarningMs: 1000 }, firstOid: 100n, tickMs: 100 })
  await runtime.settle(server.createContext({ listen: 'memory://caps-3' }), 5000)
  const client = new Cart({ fabric, runtime })
  client.registerProtocol(capsProtocol)
  client.primaryGroup.addRank(3, ['memory://caps-3'])
  const context = await runtime.settle(client.createContext(), 5000)
  const exchange = (clientId: string, messages: Message[], waitMs = 0) =>
    runtime.settle(context.call(capsExchangeRpc, { rank: 3 }, { poolUuid: pool, containerUuid: cont, clientId, messages: messages.map(encodeMessage), waitMs }, { timeoutMs: waitMs + 5000 }), 60_000)
  return { runtime, service, context, exchange }
}

describe('caps service', () => {
  it('opens sessions, grants, revokes through a long poll, and evicts a silent client', async () => {
    const { runtime, service, exchange } = await setup()
    const now = () => runtime.clock.monotonicMs()
    const a = new CapsClient({ clientId: 'a', sessionTimeoutMs: 4000, renewIntervalMs: 1000 })
    const deliver = async (core: CapsClient, id: string, outs: ReturnType<CapsClient['openSession']>) => {
      const sends = outs.flatMap((o) => (o.kind === 'send' ? [o.message] : []))
      const reply = await exchange(id, sends)
      for (const bytes of reply.messages) core.step(now(), decodeMessage(bytes))
      return reply.messages.map((b) => decodeMessage(b))
    }
    const opened = await deliver(a, 'a', a.openSession(now(), 3))
    expect(opened.map((m) => m.kind === 'session' && m.op)).toEqual([SessionOp.OPEN])
    const grant = await deliver(a, 'a', a.open(now(), 42, FileMode.RDWR, 3))
    expect(grant[0]?.kind === 'caps' && grant[0].op === CapOp.GRANT && (grant[0].caps & CAP_FILE_BUFFER) !== 0, `seed ${seed}`).toBe(true)
    // b asks for the same inode: a is revoked; a never answers (it is dead).
    const b = new CapsClient({ clientId: 'b', sessionTimeoutMs: 4000, renewIntervalMs: 1000 })
    await deliver(b, 'b', b.openSession(now(), 3))
    await deliver(b, 'b', b.open(now(), 42, FileMode.RD, 3))
    expect(service.authority(pool, cont)?.revokingCaps(now()).map((r) => r.clientId)).toEqual(['a'])
    // b's long poll returns once the authority has evicted a and granted b.
    const start = now()
    let cached = false
    while (!cached && now() - start < 20_000) {
      await deliver(b, 'b', b.tick(now())) // renews b's lease
      const got = await exchange('b', [], 1000)
      for (const bytes of got.messages) b.step(now(), decodeMessage(bytes))
      cached = (b.issued(now(), 42) & CAP_FILE_CACHE) !== 0
    }
    expect(cached, `seed ${seed}: b was granted Fc`).toBe(true)
    expect(now() - start).toBeGreaterThanOrEqual(2000)
    expect(service.evictions().map((e) => e.clientId)).toEqual(['a'])
    service.stop()
  })

  it('allocates disjoint object-id ranges per container', async () => {
    const { runtime, service, context } = await setup()
    const call = (count: number, c = cont) => runtime.settle(context.call(capsAllocOidsRpc, { rank: 3 }, { poolUuid: pool, containerUuid: c, count }), 5000)
    expect((await call(10)).first).toBe(100n)
    expect((await call(5)).first).toBe(110n)
    expect((await call(5, '22222222-2222-4333-8444-555555555555')).first).toBe(100n)
    const err = await call(0).catch((e: unknown) => e)
    expect(isDerError(err), 'a zero count is refused').toBe(true)
    service.stop()
  })

  it('refuses messages of another client and decodes garbage only into DecodeError', async () => {
    const { service, exchange } = await setup()
    const spoof: Message = { kind: 'session', op: SessionOp.REQUEST_OPEN, authority: 3, clientId: 'mallory', seq: 0 }
    const err = await exchange('alice', [spoof]).catch((e: unknown) => e)
    expect(isDerError(err, 'DER_INVAL')).toBe(true)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const codec of [capsExchangeInputCodec, allocOidsInputCodec]) {
          try {
            const d = new Decoder(bytes)
            d.struct(1, (s, v) => codec.decodeFields(s, v))
          } catch (e) {
            if (!(e instanceof DecodeError) && !isDerError(e)) throw e
          }
        }
      }),
      { seed },
    )
    const e = new Encoder()
    e.struct(1, 1, (s) => capsExchangeInputCodec.encodeFields(s, { poolUuid: pool, containerUuid: cont, clientId: 'x', waitMs: 10, messages: [] }))
    const round = new Decoder(e.finish()).struct(1, (s, v) => capsExchangeInputCodec.decodeFields(s, v))
    expect(round.clientId).toBe('x')
    service.stop()
  })
})
