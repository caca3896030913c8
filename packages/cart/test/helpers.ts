import { DerError, MemoryMetrics, type StructCodec, VirtualRuntime } from '@x/common'
import { MemoryFabric, type MemoryFabricOptions } from '@x/rdma-transport'
import { type BulkDescriptor, Cart, type Context, Protocol, type RpcFormat, defineRpc, readBulkDescriptor, writeBulkDescriptor } from '../src/index.ts'

export const u32Codec: StructCodec<number> = { name: 'u32', version: 1, compat: 1, encodeFields: (e, v) => void e.u32(v), decodeFields: (d) => d.u32() }
export const bytesCodec: StructCodec<Uint8Array> = { name: 'bytes', version: 1, compat: 1, encodeFields: (e, v) => void e.bytes(v), decodeFields: (d) => d.bytes() }
export const stringCodec: StructCodec<string> = { name: 'string', version: 1, compat: 1, encodeFields: (e, v) => void e.string(v), decodeFields: (d) => d.string() }
export const emptyCodec: StructCodec<null> = { name: 'empty', version: 1, compat: 1, encodeFields: () => undefined, decodeFields: () => null }

export interface BulkInput {
  readonly bulk: BulkDescriptor
}
export const bulkInputCodec: StructCodec<BulkInput> = {
  name: 'bulk_in',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => writeBulkDescriptor(e, v.bulk),
  decodeFields: (d) => ({ bulk: readBulkDescriptor(d) }),
}

/** A sum of u32 over ranks plus the list of ranks that answered. */
export interface RankSum {
  readonly sum: number
  readonly ranks: number[]
}
export const rankSumCodec: StructCodec<RankSum> = {
  name: 'rank_sum',
  version: 1,
  compat: 1,
  encodeFields: (e, v) => void e.u32(v.sum).array(v.ranks, (x, r) => x.u32(r)),
  decodeFields: (d) => ({ sum: d.u32(), ranks: d.array((x) => x.u32()) }),
}

export interface TestRpcs {
  readonly protocol: Protocol
  /** Echoes its input. */
  readonly echo: RpcFormat<Uint8Array, Uint8Array>
  /** Replies after `input` ms of the runtime's time. */
  readonly sleep: RpcFormat<number, number>
  /** Never replies. */
  readonly blackhole: RpcFormat<null, null>
  /** Corpc: every rank answers {sum: input + rank, ranks: [rank]}; aggregated by sum. */
  readonly gather: RpcFormat<number, RankSum>
  /** Pulls the client's bulk handle and replies with its crc32c. */
  readonly pull: RpcFormat<BulkInput, number>
  /** Pushes `pattern` bytes into the client's bulk handle. */
  readonly push: RpcFormat<BulkInput, number>
  /** Like pull, but the format asks for checksum verification. */
  readonly pullChecked: RpcFormat<BulkInput, number>
}

export function makeRpcs(version = 1): TestRpcs {
  const echo = defineRpc({ name: 'echo', input: bytesCodec, output: bytesCodec })
  const sleep = defineRpc({ name: 'sleep', input: u32Codec, output: u32Codec })
  const blackhole = defineRpc({ name: 'blackhole', input: emptyCodec, output: emptyCodec })
  const gather = defineRpc({
    name: 'gather',
    input: u32Codec,
    output: rankSumCodec,
    corpc: { aggregate: (a: RankSum, b: RankSum) => ({ sum: a.sum + b.sum, ranks: [...a.ranks, ...b.ranks].sort((x, y) => x - y) }) },
  })
  const pull = defineRpc({ name: 'pull', input: bulkInputCodec, output: u32Codec })
  const push = defineRpc({ name: 'push', input: bulkInputCodec, output: u32Codec })
  const pullChecked = defineRpc({ name: 'pull_checked', input: bulkInputCodec, output: u32Codec, bulkChecksum: true })
  const protocol = new Protocol({ name: 'test', baseOpcode: 0x10000000, version, rpcs: [echo, sleep, blackhole, gather, pull, push, pullChecked] })
  return { protocol, echo, sleep, blackhole, gather, pull, push, pullChecked }
}

export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Installs the test handlers on a server instance. */
export function installHandlers(cart: Cart, rpcs: TestRpcs, options: { failGatherOn?: ReadonlySet<number> } = {}): void {
  cart.registerProtocol(rpcs.protocol)
  cart.handle(rpcs.echo, (rpc) => rpc.input)
  cart.handle(rpcs.sleep, (rpc) => cart.runtime.timers.sleep(rpc.input).then(() => rpc.input))
  cart.handle(rpcs.blackhole, () => undefined)
  cart.handle(rpcs.gather, (rpc) => {
    const rank = cart.rank ?? -1
    if (options.failGatherOn?.has(rank) === true) throw new DerError('DER_IO', `rank ${rank} fails on purpose`)
    return { sum: rpc.input + rank, ranks: [rank] }
  })
  const pullInto = async (rpc: Parameters<Parameters<typeof cart.handle<BulkInput, number>>[1]>[0]): Promise<number> => {
    const local = rpc.context.bulkCreate(new Uint8Array(rpc.input.bulk.totalBytes), 'rw')
    try {
      const result = await rpc.bulkGet(rpc.input.bulk, local, { checksum: true })
      return result.checksum ?? 0
    } finally {
      local.free()
    }
  }
  cart.handle(rpcs.pull, pullInto)
  cart.handle(rpcs.pullChecked, pullInto)
  cart.handle(rpcs.push, async (rpc) => {
    const local = rpc.context.bulkCreate(pattern(rpc.input.bulk.totalBytes, 99), 'ro')
    try {
      return (await rpc.bulkPut(rpc.input.bulk, local, { checksum: true })).checksum ?? 0
    } finally {
      local.free()
    }
  })
}

export interface Cluster {
  readonly seed: number
  readonly runtime: VirtualRuntime
  readonly fabric: MemoryFabric
  readonly metrics: MemoryMetrics
  readonly servers: Cart[]
  readonly serverContexts: Context[]
  readonly client: Cart
  readonly clientContext: Context
  readonly rpcs: TestRpcs
}

export interface ClusterOptions {
  readonly ranks?: number
  readonly fabric?: Omit<MemoryFabricOptions, 'runtime'>
  readonly defaultTimeoutMs?: number
  readonly failGatherOn?: ReadonlySet<number>
  readonly clientProgress?: 'auto' | 'manual'
}

export async function makeCluster(seed: number, options: ClusterOptions = {}): Promise<Cluster> {
  const runtime = new VirtualRuntime({ seed })
  const fabric = new MemoryFabric({ runtime, ...options.fabric })
  const metrics = new MemoryMetrics()
  const rpcs = makeRpcs()
  const n = options.ranks ?? 1
  const servers: Cart[] = []
  const serverContexts: Context[] = []
  const timeout = options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }
  for (let rank = 0; rank < n; rank++) {
    const cart = new Cart({ fabric, runtime, rank, metrics, ...timeout })
    installHandlers(cart, rpcs, options.failGatherOn === undefined ? {} : { failGatherOn: options.failGatherOn })
    servers.push(cart)
    serverContexts.push(await cart.createContext({ listen: `memory://rank-${rank}` }))
  }
  const client = new Cart({ fabric, runtime, metrics, ...timeout })
  client.registerProtocol(rpcs.protocol)
  const clientContext = await client.createContext({ listen: 'memory://client', ...(options.clientProgress === undefined ? {} : { progress: options.clientProgress }) })
  for (const cart of [...servers, client]) {
    for (let rank = 0; rank < n; rank++) cart.primaryGroup.addRank(rank, [`memory://rank-${rank}`])
  }
  return { seed, runtime, fabric, metrics, servers, serverContexts, client, clientContext, rpcs }
}

/** Settles a promise into a tagged outcome, so tests can count completions. */
export function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}

/** The DER name of an error, or 'OK'. */
export function errorName(outcome: { ok: boolean; error?: unknown }): string {
  if (outcome.ok) return 'OK'
  const e = outcome.error as { name?: string }
  return e.name ?? 'unknown'
}
