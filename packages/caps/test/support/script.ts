/**
 * Golden timeline scripts: a tiny language driving {@link Sim}, one command per line.
 *
 * ```
 * # comment
 * authority sessionTimeoutMs=60000 revokeEvictionTimeoutMs=30000
 * client sessionTimeoutMs=60000
 * latency 1
 * store-latency 2
 * hide renewcaps
 * add a [noack] [drift=PPM]
 * @10 a open INO r|w|rw
 * @20 a write INO OFFSET LENGTH
 * @30 b read INO [busyMs]
 * @40 b stat INO
 * @50 a close INO r|w|rw
 * @60 a crash | a partition MS | a evict
 * end MS
 * ```
 */
import { DerError } from '@x/common'
import { Sim, type SimOptions, modes } from './sim.ts'

/** Runs a script; returns the simulation (trace, violations). */
export function runScript(text: string): Sim {
  const authority: Record<string, number> = {}
  const client: Record<string, number> = {}
  let latencyMs = 1
  let storeLatencyMs = 2
  const hide: RegExp[] = []
  const adds: Array<{ id: string; noack: boolean; driftPpm: number }> = []
  const steps: Array<{ atMs: number; words: string[]; line: number }> = []
  let endMs = 0
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const words = line.split(/\s+/)
    const head = words[0] ?? ''
    const kv = (target: Record<string, number>): void => {
      for (const w of words.slice(1)) {
        const [k, v] = w.split('=')
        if (k === undefined || v === undefined || !Number.isFinite(Number(v))) throw new DerError('DER_INVAL', `line ${index + 1}: bad option ${w}`)
        target[k] = Number(v)
      }
    }
    if (head === 'authority') kv(authority)
    else if (head === 'client') kv(client)
    else if (head === 'latency') latencyMs = Number(words[1])
    else if (head === 'store-latency') storeLatencyMs = Number(words[1])
    else if (head === 'hide') hide.push(new RegExp(words.slice(1).join(' ')))
    else if (head === 'add') {
      const drift = words.find((w) => w.startsWith('drift='))
      adds.push({ id: words[1] ?? '', noack: words.includes('noack'), driftPpm: drift === undefined ? 0 : Number(drift.slice(6)) })
    } else if (head === 'end') endMs = Number(words[1])
    else if (head.startsWith('@')) steps.push({ atMs: Number(head.slice(1)), words: words.slice(1), line: index + 1 })
    else throw new DerError('DER_INVAL', `line ${index + 1}: unknown command ${head}`)
  })
  const options: SimOptions = { seed: 1, authority, client, latencyMs, storeLatencyMs, trace: true, opTimeoutMs: 10 * 60_000 }
  const sim = new Sim(options)
  for (const a of adds) sim.addClient(a.id, { injectReleaseFailure: a.noack }, a.driftPpm)
  for (const step of steps) {
    const [id = '', verb = '', ...args] = step.words
    const n = args.map(Number)
    const mode = (s: string | undefined): number => {
      const m = modes[s as keyof typeof modes]
      if (m === undefined) throw new DerError('DER_INVAL', `line ${step.line}: bad mode ${s}`)
      return m
    }
    sim.at(step.atMs, () => {
      switch (verb) {
        case 'open':
          sim.open(id, n[0] ?? 0, mode(args[1]))
          break
        case 'close':
          sim.close(id, n[0] ?? 0, mode(args[1]))
          break
        case 'read':
          sim.startOp(id, 'read', n[0] ?? 0, 0, 0, n[1] ?? 0)
          break
        case 'write':
          sim.startOp(id, 'write', n[0] ?? 0, n[1] ?? 0, n[2] ?? 0)
          break
        case 'stat':
          sim.startOp(id, 'stat', n[0] ?? 0)
          break
        case 'chmod':
          sim.startOp(id, 'chmod', n[0] ?? 0)
          break
        case 'getmode':
          sim.startOp(id, 'getmode', n[0] ?? 0)
          break
        case 'crash':
          sim.crash(id)
          break
        case 'partition':
          sim.partition(id, n[0] ?? 0)
          break
        case 'evict':
          sim.evict(id)
          break
        default:
          throw new DerError('DER_INVAL', `line ${step.line}: unknown verb ${verb}`)
      }
    })
  }
  sim.run(endMs)
  const kept = sim.trace.filter((l) => !hide.some((h) => h.test(l)))
  sim.trace.length = 0
  sim.trace.push(...kept)
  return sim
}
