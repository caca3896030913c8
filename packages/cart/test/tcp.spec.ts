import { crc32c, createRealRuntime } from '@x/common'
import { TcpFabric } from '@x/rdma-transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cart, type Context, crc32cOf } from '../src/index.ts'
import { type RankProcesses, spawnRanks } from './fixtures/spawn-ranks.ts'
import { makeRpcs, pattern } from './helpers.ts'

const rankCount = 5

describe('over tcp on loopback with several processes', () => {
  let ranks: RankProcesses
  let fabric: TcpFabric
  let cart: Cart
  let context: Context
  const rpcs = makeRpcs()

  beforeAll(async () => {
    ranks = await spawnRanks(rankCount)
    const runtime = createRealRuntime()
    fabric = new TcpFabric({ runtime })
    cart = new Cart({ fabric, runtime, defaultTimeoutMs: 20_000 })
    cart.registerProtocol(rpcs.protocol)
    ranks.addresses.forEach((uri, rank) => cart.primaryGroup.addRank(rank, [uri]))
    context = await cart.createContext({ maxUnexpectedBytes: 8 << 20 })
  }, 30_000)

  afterAll(async () => {
    await cart?.close()
    await fabric?.close()
    await ranks?.stop()
  }, 15_000)

  it('runs a null RPC on every rank', async () => {
    for (let rank = 0; rank < rankCount; rank++) {
      expect(await context.call(rpcs.echo, { rank }, new Uint8Array(0))).toEqual(new Uint8Array(0))
    }
  }, 15_000)

  it('moves 64 MiB each way with checksums', async () => {
    const size = 64 << 20
    const data = pattern(size, 12345)
    const source = context.bulkCreate([data.subarray(0, size / 2), data.subarray(size / 2)], 'ro', { checksum: true })
    expect(await context.call(rpcs.pullChecked, { rank: 1 }, { bulk: source.descriptor })).toBe(crc32c(data))
    source.free()
    const target = context.bulkCreate(new Uint8Array(size), 'wo')
    const pushed = await context.call(rpcs.push, { rank: 2 }, { bulk: target.descriptor })
    expect(crc32cOf(target.buffers)).toBe(pushed)
    expect(pushed).toBe(crc32c(pattern(size, 99)))
    target.free()
  }, 30_000)

  it('runs a corpc over the 5 processes', async () => {
    for (const topology of [{ type: 'knomial', branchRatio: 2 }, { type: 'kary', branchRatio: 2 }, { type: 'flat' }] as const) {
      const result = await context.corpc(rpcs.gather, { topology, root: 2 }, 100)
      expect(result.failures).toEqual([])
      expect(result.output).toEqual({ sum: 500 + 10, ranks: [0, 1, 2, 3, 4] })
    }
    const excluded = await context.corpc(rpcs.gather, { excluded: [3] }, 0)
    expect(excluded.output?.ranks).toEqual([0, 1, 2, 4])
  }, 20_000)
})
