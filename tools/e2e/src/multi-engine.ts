/**
 * Helpers for the multi-engine tests: whether the daemons formed one system (the probe the
 * tests skip on while the daemon runs one engine per system), rank lookup, the MS leader when
 * the system says, and bounded waits on `dmg` answers (member states, pool query fields).
 *
 * @module
 */
import { DerError } from '@x/common'
import { waitUntil } from './bounded.ts'
import type { Cluster } from './cluster.ts'

/** A member as `dmg -j system query` reports it (fields the tests read). */
export interface QueriedMember {
  readonly rank: number
  readonly addr: string
  readonly state: string
  readonly [field: string]: unknown
}

/** Members from `dmg -j system query` through daemon `via` (default the first running one). */
export async function queryMembers(cluster: Cluster, via?: number): Promise<QueriedMember[]> {
  const response = (await cluster.dmgOk(['system', 'query'], via === undefined ? {} : { via })) as { members?: QueriedMember[] }
  if (!Array.isArray(response.members)) throw new DerError('DER_PROTO', 'dmg system query: no members list')
  return response.members
}

/**
 * Waits (at most `timeoutMs`) until `dmg system query` shows one joined member per daemon.
 * Resolves `undefined` when it does, or the reason it does not: the message a skipped test shows.
 */
export async function probeMultiEngine(cluster: Cluster, timeoutMs = 20_000, splitMs = 4_000): Promise<string | undefined> {
  const want = cluster.daemons.length
  let seen: QueriedMember[] = []
  let splitSinceMs: number | undefined
  const clock = cluster.runtime.clock
  try {
    const outcome = await waitUntil(
      cluster.runtime,
      async (): Promise<'joined' | 'split' | undefined> => {
        seen = await queryMembers(cluster)
        if (seen.filter((m) => m.state === 'joined').length >= want) return 'joined'
        // Each daemon alone in a system of its own: conclusive once it lasts splitMs.
        const views = await Promise.all(cluster.daemons.map(async (d) => cluster.systemQuery(d.slot.index).catch(() => [])))
        const split = views.every((v, i) => v.length === 1 && v[0]?.addr === cluster.controlAddress(i))
        splitSinceMs = split ? (splitSinceMs ?? clock.monotonicMs()) : undefined
        return splitSinceMs !== undefined && clock.monotonicMs() - splitSinceMs >= splitMs ? 'split' : undefined
      },
      { timeoutMs, intervalMs: 500, what: `${want} joined members` },
    )
    if (outcome === 'joined') return undefined
    throw new DerError('DER_MISC', `each daemon formed a one-member system of its own for ${splitMs} ms`)
  } catch (e) {
    const shown = seen.map((m) => `rank ${m.rank} ${m.addr} ${m.state}`).join(', ')
    return (
      `the daemon cannot run a ${want}-engine system yet: ${want} daemons started with ${Math.min(want, 3)} access points, ` +
      `but \`dmg system query\` shows ${seen.length} member(s) [${shown}] ` +
      `(needs apps/daemon on @x/engine SystemNode: join through the access points): ${(e as Error).message.slice(0, 200)}`
    )
  }
}

/** The rank of daemon `index` (its member's control address), from `dmg system query`. */
export async function rankOf(cluster: Cluster, index: number): Promise<number> {
  const members = await queryMembers(cluster)
  const member = members.find((m) => m.addr === cluster.controlAddress(index))
  if (member === undefined) throw new DerError('DER_NONEXIST', `daemon ${index} (${cluster.controlAddress(index)}) is not a member`)
  return member.rank
}

/**
 * The daemon index of the management-service leader when `dmg system query` says who it is
 * (a `leader` address or rank, or a member flagged `leader`/`msLeader`); undefined otherwise.
 */
export async function msLeaderIndex(cluster: Cluster): Promise<number | undefined> {
  const response = (await cluster.dmgOk(['system', 'query'])) as Record<string, unknown> & { members?: QueriedMember[] }
  const members = response.members ?? []
  const byAddr = (addr: unknown): number | undefined => cluster.daemons.findIndex((d) => cluster.controlAddress(d.slot.index) === addr)
  for (const key of ['leader', 'msLeader', 'leaderAddr']) {
    const value = response[key]
    if (typeof value === 'string') {
      const index = byAddr(value)
      if (index !== undefined && index >= 0) return index
    }
    if (typeof value === 'number') {
      const member = members.find((m) => m.rank === value)
      const index = member === undefined ? -1 : (byAddr(member.addr) ?? -1)
      if (index >= 0) return index
    }
  }
  const flagged = members.find((m) => m.leader === true || m.msLeader === true || m.isLeader === true)
  if (flagged !== undefined) {
    const index = byAddr(flagged.addr)
    if (index !== undefined && index >= 0) return index
  }
  return undefined
}

/** Polls `dmg -j <args>` until `accept(response)` returns true (bounded); returns the last response. */
export async function waitForDmg(cluster: Cluster, args: readonly string[], accept: (response: unknown) => boolean, options: { timeoutMs: number; what: string }): Promise<unknown> {
  let last: unknown
  await waitUntil(
    cluster.runtime,
    async () => {
      const r = await cluster.dmg(args)
      last = r.status === 0 ? withoutProperties(r.response) : r.error
      return r.status === 0 && accept(r.response) ? true : undefined
    },
    { timeoutMs: options.timeoutMs, intervalMs: 1000, what: options.what },
  ).catch((e: unknown) => {
    throw new DerError('DER_TIMEDOUT', `${options.what}: not seen within ${options.timeoutMs} ms; last answer: ${JSON.stringify(last)?.slice(0, 1200)}`, { cause: e })
  })
  return last
}

function withoutProperties(response: unknown): unknown {
  if (response === null || typeof response !== 'object' || !('properties' in response)) return response
  const { properties: _properties, ...rest } = response as Record<string, unknown>
  return rest
}

/** The rebuild state of a `dmg pool query` answer (`rebuild.state`), if it reports one. */
export function rebuildStateOf(response: unknown): string | undefined {
  if (response === null || typeof response !== 'object') return undefined
  const rebuild = (response as { rebuild?: unknown }).rebuild
  if (rebuild === null || typeof rebuild !== 'object') return undefined
  const state = (rebuild as { state?: unknown; status?: unknown }).state
  return typeof state === 'string' ? state : undefined
}

/**
 * After daemon `index` came back: waits until it is a joined member, then, if the pool still has
 * disabled targets, runs `dmg pool reintegrate POOL --rank R` and waits until every target is
 * active and (when `waitRebuild`) rebuild is not busy; bounded by `timeoutMs` per step.
 */
export async function rejoinAndReintegrate(cluster: Cluster, pool: string, index: number, timeoutMs = 45_000, waitRebuild = true): Promise<void> {
  const addr = cluster.controlAddress(index)
  await waitForDmg(cluster, ['system', 'query'], (r) => ((r as { members?: QueriedMember[] }).members ?? []).some((m) => m.addr === addr && m.state === 'joined'), {
    timeoutMs,
    what: `daemon ${index} (${addr}) joined`,
  })
  const query = (await cluster.dmgOk(['pool', 'query', pool])) as { disabledTargets?: number }
  if ((query.disabledTargets ?? 0) === 0) return
  const rank = await rankOf(cluster, index)
  await cluster.dmgOk(['pool', 'reintegrate', pool, '--rank', String(rank)])
  await waitForDmg(cluster, ['pool', 'query', pool], (r) => (r as { disabledTargets?: number }).disabledTargets === 0 && (!waitRebuild || rebuildStateOf(r) !== 'busy'), {
    timeoutMs,
    what: `pool ${pool}: rank ${rank} reintegrated`,
  })
}
