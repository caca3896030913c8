// The interaction-test environment: nodes on MemoryStorage, a message queue per node, and the
// command handlers of the datadriven scripts in testdata/*.txt.
import { Random, isDerError } from '@x/common'
import {
  type ConfChange,
  type Message,
  MemoryStorage,
  RawNode,
  decodeConfChange,
  describeEntry,
  describeHardState,
  describeMessage,
  describeSnapshot,
} from '../../src/index.ts'

interface TestNode {
  node: RawNode
  storage: MemoryStorage
  applied: string[]
  config: NodeOptions
}

interface NodeOptions {
  preVote: boolean
  checkQuorum: boolean
  maxSnapshotChunkBytes: number
  maxInflightMsgs: number
}

export interface Command {
  name: string
  args: string[]
  kv: Map<string, string>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function parseIds(value: string | undefined): number[] {
  if (value === undefined || value === '' || value === '()') return []
  return value.replace(/[()]/g, '').split(',').filter((s) => s !== '').map(Number)
}

export function parseCommand(line: string): Command {
  const parts = line.trim().split(/\s+/)
  const name = parts[0] ?? ''
  const args: string[] = []
  const kv = new Map<string, string>()
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=')
    if (eq > 0) kv.set(p.slice(0, eq), p.slice(eq + 1))
    else args.push(p)
  }
  return { name, args, kv }
}

export class InteractionEnv {
  readonly nodes = new Map<number, TestNode>()
  readonly queues = new Map<number, Message[]>()
  private out: string[] = []
  private verbose = true

  private traceLine(line: string): void {
    if (this.verbose) this.out.push(line)
  }

  private makeNode(id: number, storage: MemoryStorage, config: NodeOptions, applied?: number): TestNode {
    const node = new RawNode({
      id,
      storage,
      random: new Random(id * 7919),
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: config.preVote,
      checkQuorum: config.checkQuorum,
      maxSnapshotChunkBytes: config.maxSnapshotChunkBytes,
      maxInflightMsgs: config.maxInflightMsgs,
      randomizedElectionTimeout: false,
      logger: (line) => this.traceLine(`INFO ${line}`),
      ...(applied !== undefined ? { applied } : {}),
    })
    return { node, storage, applied: [], config }
  }

  readonly isolated = new Set<number>()

  handle(cmd: Command): string {
    this.out = []
    try {
      this.dispatch(cmd)
    } catch (e) {
      if (!isDerError(e)) throw e
      this.out.push(`error: ${e.name}: ${e.message}`)
    }
    const out = this.out.join('\n')
    return this.verbose || out.startsWith('error') ? out : ''
  }

  private get(id: number): TestNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  private ids(cmd: Command): number[] {
    return cmd.args.length > 0 ? cmd.args.map(Number) : [...this.nodes.keys()].sort((a, b) => a - b)
  }

  private dispatch(cmd: Command): void {
    switch (cmd.name) {
      case 'log-level':
        this.verbose = cmd.args[0] !== 'none'
        return
      case 'add-nodes': {
        const count = Number(cmd.args[0])
        const voters = parseIds(cmd.kv.get('voters'))
        const learners = parseIds(cmd.kv.get('learners'))
        const config: NodeOptions = {
          preVote: cmd.kv.get('prevote') !== 'false',
          checkQuorum: cmd.kv.get('checkquorum') !== 'false',
          maxSnapshotChunkBytes: Number(cmd.kv.get('snapshot-chunk') ?? 1 << 20),
          maxInflightMsgs: Number(cmd.kv.get('inflight') ?? 256),
        }
        const first = this.nodes.size + 1
        for (let id = first; id < first + count; id++) {
          const storage = MemoryStorage.withVoters(voters, learners)
          this.nodes.set(id, this.makeNode(id, storage, config))
          this.queues.set(id, [])
          this.out.push(`INFO ${id} created: voters=(${voters.join(',')}) learners=(${learners.join(',')})`)
        }
        return
      }
      case 'campaign':
        this.get(Number(cmd.args[0])).node.campaign()
        return
      case 'propose':
        this.get(Number(cmd.args[0])).node.propose(encoder.encode(cmd.args[1] ?? ''))
        return
      case 'propose-conf-change': {
        const cc: ConfChange = { type: cmd.kv.get('type') as ConfChange['type'], nodeId: Number(cmd.kv.get('node')) }
        this.get(Number(cmd.args[0])).node.proposeConfChange(cc)
        return
      }
      case 'transfer-leadership':
        this.get(Number(cmd.kv.get('from'))).node.transferLeadership(Number(cmd.kv.get('to')))
        return
      case 'read-index':
        this.get(Number(cmd.args[0])).node.readIndex(encoder.encode(cmd.args[1] ?? ''))
        return
      case 'tick-heartbeat':
        for (const id of this.ids(cmd)) for (let i = 0; i < Number(cmd.kv.get('n') ?? 1); i++) this.get(id).node.tick()
        return
      case 'tick-election':
        for (const id of this.ids(cmd)) {
          const n = this.get(id).node
          for (let i = 0; i < n.raft.electionTimeout; i++) n.tick()
        }
        return
      case 'isolate':
        for (const id of cmd.args) this.isolated.add(Number(id))
        return
      case 'heal':
        this.isolated.clear()
        return
      case 'process-ready':
        for (const id of this.ids(cmd)) this.processReady(id)
        return
      case 'deliver-msgs': {
        const drop = new Set(parseIds(cmd.kv.get('drop')))
        const skip = new Set(parseIds(cmd.kv.get('skip')))
        for (const id of this.ids(cmd)) this.deliver(id, drop, skip)
        return
      }
      case 'stabilize':
        this.stabilize(this.ids(cmd))
        return
      case 'status':
        this.status(Number(cmd.args[0]))
        return
      case 'raft-log':
        this.raftLog(Number(cmd.args[0]))
        return
      case 'raft-state':
        for (const [id, n] of [...this.nodes].sort((a, b) => a[0] - b[0])) {
          const st = n.node.status()
          this.out.push(`${id}: ${st.softState.role} ${describeHardState(st.hardState)} Lead:${st.softState.lead}`)
        }
        return
      case 'compact': {
        const id = Number(cmd.args[0])
        const index = Number(cmd.args[1])
        const n = this.get(id)
        n.storage.createSnapshot(index, n.node.raft.confState(), encoder.encode(n.applied.slice(0, index).join(',')))
        n.storage.compact(index)
        this.raftLog(id)
        return
      }
      case 'restart': {
        const id = Number(cmd.args[0])
        const n = this.get(id)
        const snapIndex = n.storage.snapshot().metadata.index
        const fresh = this.makeNode(id, n.storage, n.config)
        fresh.applied = n.applied.slice(0, snapIndex)
        this.nodes.set(id, fresh)
        this.queues.set(id, [])
        this.out.push(`INFO ${id} restarted from storage`)
        return
      }
      case 'drop-msgs':
        for (const id of this.ids(cmd)) this.queues.set(id, [])
        return
      case 'app-state': {
        const n = this.get(Number(cmd.args[0]))
        this.out.push(`applied: [${n.applied.join(' ')}]`)
        return
      }
      default:
        throw new Error(`unknown command ${cmd.name}`)
    }
  }

  private processReady(id: number): boolean {
    const n = this.get(id)
    if (!n.node.hasReady()) return false
    const rd = n.node.ready()
    this.out.push(`> ${id} handling Ready`)
    const lines: string[] = []
    if (rd.softState !== undefined) lines.push(`Lead:${rd.softState.lead} State:${rd.softState.role}`)
    if (rd.hardState !== undefined) lines.push(`HardState ${describeHardState(rd.hardState)}`)
    if (rd.entries.length > 0) {
      lines.push('Entries:')
      for (const e of rd.entries) lines.push(`${describeEntry(e)}`)
    }
    if (rd.snapshot !== undefined) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`)
    if (rd.committedEntries.length > 0) {
      lines.push('CommittedEntries:')
      for (const e of rd.committedEntries) lines.push(`${describeEntry(e)}`)
    }
    if (rd.messages.length > 0) {
      lines.push('Messages:')
      for (const m of rd.messages) lines.push(describeMessage(m))
    }
    for (const r of rd.readStates) lines.push(`ReadState Index:${r.index} Context:${decoder.decode(r.requestContext)}`)
    for (const l of lines) this.out.push(`  ${l}`)
    // 1. persist
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot)
    n.storage.append(rd.entries)
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState)
    // 2. send
    for (const m of rd.messages) this.queues.get(m.to)?.push(m)
    // 3. apply
    if (rd.snapshot !== undefined) {
      const data = decoder.decode(rd.snapshot.data)
      n.applied = data === '' ? [] : data.split(',')
      while (n.applied.length < rd.snapshot.metadata.index) n.applied.push('')
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        const cs = n.node.applyConfChange(decodeConfChange(e.data))
        this.out.push(`  INFO ${id} applied conf change; voters=(${cs.voters.join(',')}) learners=(${cs.learners.join(',')})`)
      }
      n.applied.push(e.type === 'normal' ? decoder.decode(e.data) : 'cc')
    }
    n.node.advance(rd)
    return true
  }

  /** Delivers `id`'s queue, dropping messages from `drop` senders and the `skip`-th messages (1-based). */
  private deliver(id: number, drop: Set<number>, skip: Set<number> = new Set()): boolean {
    const queue = this.queues.get(id) ?? []
    if (queue.length === 0) return false
    this.queues.set(id, [])
    const n = this.get(id)
    let cut = 0
    let position = 0
    for (const m of queue) {
      if (skip.has(++position)) {
        this.out.push(`dropped: ${describeMessage(m)}`)
        continue
      }
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) {
        cut++
        continue
      }
      if (drop.has(m.from)) {
        this.out.push(`dropped: ${describeMessage(m)}`)
        continue
      }
      this.out.push(describeMessage(m))
      try {
        n.node.step(m)
      } catch (e) {
        if (!isDerError(e)) throw e
        this.out.push(`  error: ${e.name}: ${e.message}`)
      }
    }
    if (cut > 0) this.out.push(`(${cut} messages to ${id} lost to isolation)`)
    return true
  }

  private stabilize(ids: number[]): void {
    for (let round = 0; round < 1000; round++) {
      let progress = false
      for (const id of ids) progress = this.processReady(id) || progress
      for (const id of ids) {
        const pending = (this.queues.get(id) ?? []).length > 0
        if (pending) {
          this.out.push(`> ${id} receiving messages`)
          this.deliver(id, new Set())
          progress = true
        }
      }
      if (!progress) return
    }
    throw new Error('stabilize: no fixed point after 1000 rounds')
  }

  private status(id: number): void {
    const st = this.get(id).node.status()
    if (st.progress.length === 0) {
      this.out.push(`${id}: ${st.softState.role} (lead ${st.softState.lead}) ${describeHardState(st.hardState)}`)
      return
    }
    for (const p of st.progress) this.out.push(`${p.id}: ${p.state} match=${p.match} next=${p.next}${p.isLearner ? ' learner' : ''}`)
  }

  private raftLog(id: number): void {
    const n = this.get(id)
    const first = n.storage.firstIndex()
    const last = n.storage.lastIndex()
    if (last < first) this.out.push(`log is empty: first index=${first}, last index=${last}`)
    else for (const e of n.storage.entries(first, last + 1)) this.out.push(describeEntry(e))
  }
}
