// Golden interaction tests: scripts in testdata/*.script drive a small simulated group; the
// trace of every message and event must match testdata/*.trace exactly (regenerate with
// `vitest -u` and read the diff before committing it).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type MemberUpdate, type SwimMessage, type SwimProfileName, resolveSwimConfig } from '../src/index.ts'
import { SwimCluster } from '../src/testing/index.ts'

const testdata = join(import.meta.dirname, '..', 'testdata')

function formatUpdate(u: MemberUpdate): string {
  return `${u.state} ${u.member}@${u.incarnation} by ${u.reporter}`
}

function formatMessage(m: SwimMessage): string {
  const body = m.body
  let head: string
  switch (body.type) {
    case 'ping':
    case 'ack':
    case 'nack':
      head = `${body.type}#${body.seq}`
      break
    case 'ping-req':
      head = `ping-req#${body.seq} target=${body.target}`
      break
    case 'sync':
      head = `sync [${body.members.map(formatUpdate).join(', ')}]`
      break
    case 'join':
    case 'gossip':
      head = body.type
      break
  }
  const updates = m.updates.length > 0 ? ` +[${m.updates.map(formatUpdate).join(', ')}]` : ''
  return `${m.from}@${m.fromIncarnation} -> ${m.to} ${head}${updates}`
}

function runScript(script: string): string {
  const lines: string[] = []
  let cluster: SwimCluster | undefined
  const time = (ms: number): string => (ms / 1000).toFixed(4).padStart(8)
  for (const raw of script.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const [command, ...args] = line.split(/\s+/)
    if (command === 'cluster') {
      const options = Object.fromEntries(args.map((a) => a.split('=') as [string, string]))
      const { size, seed, profile, loss, ...overrides } = options
      const config = resolveSwimConfig(Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, Number(v)])), (profile ?? 'daos') as SwimProfileName)
      cluster = new SwimCluster({
        size: Number(size),
        seed: Number(seed),
        config,
        lossRate: Number(loss ?? 0),
        onSend: (m, dropped, atMs) => lines.push(`${time(atMs)} ${dropped ? 'DROP ' : ''}${formatMessage(m)}`),
        onEvent: (e) => lines.push(`${time(e.atMs)} EVENT at ${e.observer}: ${e.type} ${e.member}@${e.incarnation}`),
      })
      continue
    }
    if (cluster === undefined) throw new Error(`script must start with 'cluster', got '${line}'`)
    lines.push(`${time(cluster.nowMs)} ## ${line}`)
    const numbers = args.map(Number)
    switch (command) {
      case 'run':
        cluster.run(numbers[0] ?? 0)
        break
      case 'crash':
      case 'stop':
        cluster.crash(numbers[0] ?? -1)
        break
      case 'restart':
        cluster.restart(numbers[0] ?? -1, numbers[1] ?? 0, numbers.slice(2))
        break
      case 'add':
        cluster.addMember(numbers[0] ?? -1, numbers.slice(1))
        break
      case 'leave':
        cluster.leave(numbers[0] ?? -1)
        break
      case 'partition':
        cluster.partition((args[0] ?? '').split('|').map((g) => g.split(',').map(Number)))
        break
      case 'heal':
        cluster.heal()
        break
      default:
        throw new Error(`unknown script command '${command}'`)
    }
  }
  return lines.join('\n') + '\n'
}

describe('golden interaction traces', () => {
  const scripts = readdirSync(testdata).filter((f) => f.endsWith('.script'))
  it('has scripts', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(4)
  })
  for (const file of scripts) {
    it(file, async () => {
      const trace = runScript(readFileSync(join(testdata, file), 'utf8'))
      await expect(trace).toMatchFileSnapshot(join(testdata, file.replace(/\.script$/, '.trace')))
    })
  }
})
