// One member of the benchmark's 3-node group: a RaftDriver on FileStorage, talking to its peers
// over loopback TCP with length-prefixed frames. Controlled by the parent through IPC.
import { mkdirSync } from 'node:fs'
import { type Socket, createConnection, createServer } from 'node:net'
import { createRealRuntime } from '@x/common'
import { type Entry, FileStorage, type Message, RaftDriver, decodeMessage, encodeMessage } from '../src/index.ts'

interface Init {
  type: 'init'
  id: number
  ports: Record<number, number>
  /** Port of the client endpoint: frames `u32 length | u32 request id | data` are proposed, and answered `u32 4 | u32 request id` once applied here (length 8 with a trailing u32 1 on failure). */
  clientPort: number
  dir: string
}
interface Load {
  type: 'load'
  concurrency: number
  valueBytes: number
  warmupMs: number
  durationMs: number
}
type Command = Init | Load | { type: 'connect' } | { type: 'campaign' } | { type: 'stop' }

const runtime = createRealRuntime()
let driver: RaftDriver | undefined
let storage: FileStorage | undefined
const peers = new Map<number, Socket>()
let applied = 0

function reply(value: object): void {
  process.send?.(value)
}

function frameMessages(messages: readonly Message[]): Buffer {
  const parts = messages.map(encodeMessage)
  const total = parts.reduce((n, p) => n + 4 + p.length, 0)
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const p of parts) {
    out.writeUInt32LE(p.length, at)
    out.set(p, at + 4)
    at += 4 + p.length
  }
  return out
}

function send(messages: readonly Message[]): void {
  const byPeer = new Map<number, Message[]>()
  for (const m of messages) {
    const list = byPeer.get(m.to) ?? []
    list.push(m)
    byPeer.set(m.to, list)
  }
  for (const [to, list] of byPeer) peers.get(to)?.write(frameMessages(list))
}

function accept(socket: Socket): void {
  socket.setNoDelay(true)
  let buffered: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    let at = 0
    while (buffered.length - at >= 4) {
      const length = buffered.readUInt32LE(at)
      if (buffered.length - at - 4 < length) break
      const bytes = buffered.subarray(at + 4, at + 4 + length)
      at += 4 + length
      try {
        driver?.receive(decodeMessage(bytes))
      } catch (e) {
        console.error(`worker: dropped a bad frame: ${String(e)}`)
      }
    }
    buffered = buffered.subarray(at)
  })
  socket.on('error', () => socket.destroy())
}

/** The client endpoint: proposes each request and answers when it is applied here. */
function serveClient(socket: Socket): void {
  socket.setNoDelay(true)
  let buffered: Buffer = Buffer.alloc(0)
  const answers: Buffer[] = []
  let flushing = false
  const answer = (requestId: number, ok: boolean): void => {
    const out = Buffer.allocUnsafe(ok ? 8 : 12)
    out.writeUInt32LE(ok ? 4 : 8, 0)
    out.writeUInt32LE(requestId, 4)
    if (!ok) out.writeUInt32LE(1, 8)
    answers.push(out)
    if (!flushing) {
      flushing = true
      queueMicrotask(() => {
        flushing = false
        socket.write(Buffer.concat(answers.splice(0)))
      })
    }
  }
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    let at = 0
    while (buffered.length - at >= 8) {
      const length = buffered.readUInt32LE(at)
      if (buffered.length - at - 4 < length) break
      const requestId = buffered.readUInt32LE(at + 4)
      const data = buffered.subarray(at + 8, at + 4 + length)
      at += 4 + length
      const d = driver
      if (d === undefined) {
        answer(requestId, false)
        continue
      }
      d.propose(data).then(
        () => answer(requestId, true),
        () => answer(requestId, false),
      )
    }
    buffered = buffered.subarray(at)
  })
  socket.on('error', () => socket.destroy())
}

async function runLoad(cmd: Load): Promise<void> {
  const d = driver as RaftDriver
  const value = new Uint8Array(cmd.valueBytes).fill(0x61)
  const latencies: number[] = []
  const start = runtime.clock.monotonicMs()
  const measureFrom = start + cmd.warmupMs
  const end = measureFrom + cmd.durationMs
  let commits = 0
  let errors = 0
  const client = async (): Promise<void> => {
    while (runtime.clock.monotonicMs() < end) {
      const t0 = runtime.clock.monotonicMs()
      try {
        await d.propose(value)
      } catch {
        errors++
        continue
      }
      const t1 = runtime.clock.monotonicMs()
      if (t0 >= measureFrom && t1 <= end) {
        latencies.push(t1 - t0)
        commits++
      }
    }
  }
  await Promise.all(Array.from({ length: cmd.concurrency }, client))
  latencies.sort((a, b) => a - b)
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  reply({ type: 'result', commits, commitsPerSecond: commits / (cmd.durationMs / 1000), p50Ms: pct(50), p99Ms: pct(99), errors })
}

process.on('message', (raw: unknown) => {
  const cmd = raw as Command
  switch (cmd.type) {
    case 'init': {
      mkdirSync(cmd.dir, { recursive: true })
      const ids = Object.keys(cmd.ports).map(Number)
      storage = FileStorage.open(cmd.dir, { initialConfState: { voters: ids, learners: [] } })
      driver = new RaftDriver({
        id: cmd.id,
        runtime,
        storage,
        send,
        tickMs: 50,
        raft: { electionTicks: 20, heartbeatTicks: 2, maxInflightMsgs: 256 },
        stateMachine: {
          restore: () => {},
          apply: (e: Entry) => {
            applied = e.index
          },
        },
        onFatal: (e) => console.error(`worker ${cmd.id}: fatal: ${String(e)}`),
      })
      const server = createServer(accept)
      let listening = 0
      const onListening = (): void => {
        if (++listening === 2) reply({ type: 'ready' })
      }
      server.listen(cmd.ports[cmd.id], '127.0.0.1', onListening)
      createServer(serveClient).listen(cmd.clientPort, '127.0.0.1', onListening)
      return
    }
    case 'connect': {
      const init = initCommand
      let pending = 0
      for (const [idText, port] of Object.entries(init?.ports ?? {})) {
        const id = Number(idText)
        if (id === init?.id) continue
        pending++
        const socket = createConnection({ port, host: '127.0.0.1' }, () => {
          socket.setNoDelay(true)
          if (--pending === 0) {
            driver?.start()
            reply({ type: 'connected' })
          }
        })
        socket.on('error', (e) => console.error(`worker: peer ${id}: ${e.message}`))
        peers.set(id, socket)
      }
      return
    }
    case 'campaign': {
      const d = driver as RaftDriver
      d.campaign()
      const poll = runtime.timers.repeat(20, () => {
        if (d.status().softState.role === 'leader' && applied >= d.status().lastIndex) {
          runtime.timers.cancel(poll)
          reply({ type: 'leader' })
        }
      })
      return
    }
    case 'load':
      void runLoad(cmd)
      return
    case 'stop':
      driver?.stop()
      storage?.close()
      for (const s of peers.values()) s.destroy()
      process.exit(0)
  }
})

let initCommand: Init | undefined
process.on('message', (raw: unknown) => {
  if ((raw as Command).type === 'init') initCommand = raw as Init
})
