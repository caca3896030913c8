// Tests that encode sentences of the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", extended version), each citing its section. The randomized
// test (randomized.spec.ts) checks the same properties under faults.
import { Random } from '@x/common'
import { describe, expect, it } from 'vitest'
import { type Entry, MemoryStorage, type Message, RawNode, message } from '../src/index.ts'
import { InteractionEnv, parseCommand } from './support/interaction-env.ts'

function run(env: InteractionEnv, ...commands: string[]): void {
  for (const c of commands) env.handle(parseCommand(c))
}

function role(env: InteractionEnv, id: number): string {
  return env.nodes.get(id)?.node.status().softState.role ?? 'none'
}

function term(env: InteractionEnv, id: number): number {
  return env.nodes.get(id)?.node.status().hardState.term ?? -1
}

function logOf(env: InteractionEnv, id: number): string[] {
  const s = env.nodes.get(id)?.storage
  if (s === undefined) return []
  return s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => `${e.term}/${e.index}/${new TextDecoder().decode(e.data)}`)
}

const entry = (index: number, t: number, data = ''): Entry => ({ term: t, index, type: 'normal', data: new TextEncoder().encode(data) })

describe('Raft paper', () => {
  it('election safety: at most one leader can be elected in a given term (section 5.2)', () => {
    for (let round = 0; round < 20; round++) {
      const env = new InteractionEnv()
      run(env, 'log-level none', 'add-nodes 5 voters=(1,2,3,4,5) prevote=false checkquorum=false')
      const rng = new Random(round)
      // Several nodes campaign at once, repeatedly, with messages delivered in random batches.
      for (let step = 0; step < 6; step++) {
        for (const id of [1, 2, 3, 4, 5]) if (rng.chance(0.5)) run(env, `campaign ${id}`)
        for (const id of rng.shuffle([1, 2, 3, 4, 5])) run(env, `process-ready ${id}`, `deliver-msgs ${id}`)
      }
      run(env, 'stabilize')
      const leadersByTerm = new Map<number, number[]>()
      for (const id of [1, 2, 3, 4, 5]) {
        if (role(env, id) !== 'leader') continue
        leadersByTerm.set(term(env, id), [...(leadersByTerm.get(term(env, id)) ?? []), id])
      }
      for (const [t, leaders] of leadersByTerm) expect(leaders.length, `round ${round}: term ${t} has leaders ${leaders.join(',')}`).toBe(1)
    }
  })

  it('each server votes for at most one candidate in a given term, first-come-first-served (section 5.2)', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    const node = new RawNode({ id: 1, storage, random: new Random(1), preVote: false, checkQuorum: false })
    node.step(message({ type: 'MsgVote', from: 2, to: 1, term: 1 }))
    node.step(message({ type: 'MsgVote', from: 3, to: 1, term: 1 }))
    const votes = node.ready().messages.map((m) => `${m.to}:${m.reject ? 'reject' : 'grant'}`)
    expect(votes).toEqual(['2:grant', '3:reject'])
  })

  it('a candidate that hears from a leader of its term steps down to follower (section 5.2)', () => {
    const env = new InteractionEnv()
    run(env, 'log-level none', 'add-nodes 3 voters=(1,2,3) prevote=false', 'campaign 1', 'process-ready 1', 'drop-msgs')
    expect(role(env, 1)).toBe('candidate')
    env.nodes.get(1)?.node.step(message({ type: 'MsgHeartbeat', from: 2, to: 1, term: 1 }))
    expect(role(env, 1)).toBe('follower')
    expect(env.nodes.get(1)?.node.status().softState.lead).toBe(2)
  })

  it('log matching: a follower refuses entries whose predecessor does not match, and replaces conflicting ones (section 5.3)', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    storage.append([entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 2, 'stale')])
    storage.setHardState({ term: 2, vote: 0, commit: 2 })
    const node = new RawNode({ id: 2, storage, random: new Random(2) })
    // Predecessor (3, term 3) does not match: rejected with a hint, log unchanged.
    node.step(message({ type: 'MsgApp', from: 1, to: 2, term: 3, index: 3, logTerm: 3, entries: [entry(4, 3, 'x')] }))
    let rd = node.ready()
    expect(rd.messages[0]).toMatchObject({ type: 'MsgAppResp', reject: true, rejectHint: 3, logTerm: 2 })
    node.advance(rd)
    // Predecessor (2, term 1) matches: entry 3 of term 2 is replaced.
    node.step(message({ type: 'MsgApp', from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, 'new'), entry(4, 3, 'x')], commit: 4 }))
    rd = node.ready()
    storage.append(rd.entries)
    expect(rd.messages[0]).toMatchObject({ type: 'MsgAppResp', reject: false, index: 4 })
    expect(storage.entries(1, 5).map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '1/2', '3/3', '3/4'])
  })

  it('leader completeness: a voter denies its vote to a candidate whose log is less up-to-date (section 5.4.1)', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3])
    storage.append([entry(1, 1), entry(2, 2)])
    storage.setHardState({ term: 2, vote: 0, commit: 1 })
    const node = new RawNode({ id: 1, storage, random: new Random(3), checkQuorum: false })
    const ask = (from: number, index: number, logTerm: number): boolean => {
      node.step(message({ type: 'MsgVote', from, to: 1, term: 3, index, logTerm }))
      const rd = node.ready()
      node.advance(rd)
      return !(rd.messages[0] as Message).reject
    }
    expect(ask(2, 5, 1)).toBe(false) // longer log, older last term
    expect(ask(2, 1, 2)).toBe(false) // same last term, shorter
    expect(ask(3, 2, 2)).toBe(true) // as up-to-date
  })

  it('leader completeness: a new leader keeps every committed entry, and followers converge on its log (section 5.4)', () => {
    const env = new InteractionEnv()
    run(env, 'log-level none', 'add-nodes 5 voters=(1,2,3,4,5)', 'campaign 1', 'stabilize', 'propose 1 a', 'propose 1 b', 'stabilize')
    // Node 1 commits c with nodes 2 and 3 only, then is cut off with an uncommitted d.
    run(env, 'propose 1 c', 'process-ready 1', 'deliver-msgs 2 3', 'drop-msgs 4 5', 'stabilize 1 2 3', 'propose 1 d', 'process-ready 1', 'drop-msgs', 'isolate 1')
    const committed = logOf(env, 2)
    expect(committed.some((e) => e.endsWith('/c'))).toBe(true)
    // Nodes 4 and 5 (missing c) cannot win; node 2 or 3 does, and everyone ends with c.
    run(env, 'tick-election 4 5', 'stabilize 2 3 4 5', 'tick-election 2', 'stabilize 2 3 4 5')
    const leader = [2, 3, 4, 5].find((id) => role(env, id) === 'leader')
    expect(leader === 2 || leader === 3, `leader ${leader}`).toBe(true)
    run(env, 'heal', `tick-heartbeat ${leader}`, 'stabilize')
    for (const id of [1, 2, 3, 4, 5]) expect(logOf(env, id).slice(0, committed.length), `node ${id}`).toEqual(committed)
    expect(logOf(env, 1).some((e) => e.endsWith('/d')), 'the uncommitted entry d was discarded').toBe(false)
  })

  it('a leader never commits an entry from a previous term by counting replicas (section 5.4.2, figure 8)', () => {
    // Node 1 has (1/1 term 1, 2/2 term 2) and leads term 4 after winning votes from 2 and 3.
    const storage = MemoryStorage.withVoters([1, 2, 3, 4, 5])
    storage.append([entry(1, 1), entry(2, 2)])
    storage.setHardState({ term: 3, vote: 0, commit: 1 })
    const node = new RawNode({ id: 1, storage, random: new Random(4), preVote: false, checkQuorum: false })
    node.campaign()
    node.step(message({ type: 'MsgVoteResp', from: 2, to: 1, term: 4 }))
    node.step(message({ type: 'MsgVoteResp', from: 3, to: 1, term: 4 }))
    expect(node.status().softState.role).toBe('leader')
    expect(node.status().lastIndex).toBe(3) // its empty term-4 entry
    // A majority (1, 2, 3) stores index 2, a term-2 entry: not committed.
    node.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 4, index: 2 }))
    node.step(message({ type: 'MsgAppResp', from: 3, to: 1, term: 4, index: 2 }))
    expect(node.status().hardState.commit).toBe(1)
    // Once the term-4 entry is on a majority, it and everything before it commit.
    node.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 4, index: 3 }))
    expect(node.status().hardState.commit).toBe(1)
    node.step(message({ type: 'MsgAppResp', from: 3, to: 1, term: 4, index: 3 }))
    expect(node.status().hardState.commit).toBe(3)
  })

  it('state machine safety: every node applies the same entry at each index (section 5.4.3)', () => {
    const env = new InteractionEnv()
    run(env, 'log-level none', 'add-nodes 3 voters=(1,2,3) checkquorum=false', 'campaign 1', 'stabilize')
    // Node 3 misses five entries; node 1 is then cut off and node 2 (with 3's vote) takes over.
    for (let i = 0; i < 5; i++) run(env, `propose 1 v${i}`, 'process-ready 1', 'deliver-msgs 2', 'drop-msgs 3', 'stabilize 1 2')
    run(env, 'isolate 1', 'tick-election 2', 'stabilize 2 3', 'propose 2 w', 'stabilize 2 3', 'heal', 'tick-heartbeat 2', 'stabilize')
    const applied = [1, 2, 3].map((id) => env.nodes.get(id)?.applied ?? [])
    const shortest = Math.min(...applied.map((a) => a.length))
    expect(shortest).toBeGreaterThan(6)
    for (const a of applied) expect(a.slice(0, shortest)).toEqual((applied[0] as string[]).slice(0, shortest))
  })
})
