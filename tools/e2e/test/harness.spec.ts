// The harness's pure parts and its process handling, fast: configs the daemon's own validator
// accepts, the seeded chaos schedule, the CLI envelope, pool-connect shapes, the workload's
// checkers (they catch a lost write and a stale read), free ports, and a child that dies with
// kill -9 and is reaped.
import { DerError, Random, VirtualRuntime, createRealRuntime } from '@x/common'
import { loadServerConfig } from '@x/daemon'
import { describe, expect, it } from 'vitest'
import {
  type ClusterLayout,
  KvWorkload,
  ManagedProcess,
  type WorkloadKv,
  accessPointCount,
  accessPoints,
  chaosSchedule,
  daemonConfigYaml,
  findFreePortRange,
  findFreePorts,
  parseEnvelope,
  rankUrisOf,
  repoRoot,
  versionOfValue,
  waitUntil,
} from '../src/index.ts'

function layout(n: number, faultPath = false): ClusterLayout {
  return {
    systemName: 'e2e',
    daemons: Array.from({ length: n }, (_, i) => ({
      index: i,
      host: '127.0.0.1',
      controlPort: 20000 + i * 10,
      telemetryPort: 20001 + i * 10,
      fabricPort: 20002 + i * 10,
      dataDir: `/tmp/e2e-test/engine${i}`,
      configPath: `/tmp/e2e-test/daemon${i}.yml`,
      targets: 2,
      deviceSizeBytes: 256 * 2 ** 20,
      faultPath: faultPath ? `/host${i}` : undefined,
    })),
  }
}

describe('daemon configs', () => {
  it('are accepted by the daemon validator, with distinct endpoints and 3 access points for 3 daemons', () => {
    const l = layout(3)
    for (let i = 0; i < 3; i++) {
      const config = loadServerConfig(daemonConfigYaml(l, i))
      expect(config.port).toBe(20000 + i * 10)
      expect(config.telemetryPort).toBe(20001 + i * 10)
      expect(config.engines[0]).toMatchObject({ targets: 2, fabricIface: '127.0.0.1', fabricIfacePort: 20002 + i * 10 })
      expect(config.engines[0]?.storage[0]).toEqual({ class: 'file', path: `/tmp/e2e-test/engine${i}/bdev0.img`, sizeBytes: 256 * 2 ** 20 })
      expect(config.accessPoints.map((a) => `${a.host}:${a.port}`)).toEqual(['127.0.0.1:20000', '127.0.0.1:20010', '127.0.0.1:20020'])
      expect(config.transport.allowInsecure).toBe(true)
    }
  })

  it('access point counts are odd: 1, 1, 3, 3, 5', () => {
    expect([1, 2, 3, 4, 5, 7].map(accessPointCount)).toEqual([1, 1, 3, 3, 5, 5])
    expect(accessPoints(layout(2))).toEqual(['127.0.0.1:20000'])
    expect(() => accessPointCount(0)).toThrow(DerError)
    expect(() => daemonConfigYaml(layout(1), 3)).toThrow(/no daemon 3/)
  })
})

describe('chaos schedule', () => {
  it('is a function of the seed, pairs every fault with its heal, one engine at a time', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const options = { seed, engines: 3, durationMs: 15_000, faults: 3 }
      const events = chaosSchedule(options)
      expect(chaosSchedule(options), `seed ${seed}`).toEqual(events)
      expect(events, `seed ${seed}`).toHaveLength(6)
      let down: number | undefined
      for (const e of events) {
        expect(e.atMs, `seed ${seed}`).toBeGreaterThanOrEqual(0)
        expect(e.atMs, `seed ${seed}`).toBeLessThan(15_000)
        if (e.action === 'kill9' || e.action === 'pause') {
          expect(down, `seed ${seed}: two engines down at once`).toBeUndefined()
          down = e.engine
        } else {
          expect(e.engine, `seed ${seed}`).toBe(down)
          expect(e.action === 'restart' ? 'kill' : 'pause').toBeTruthy()
          down = undefined
        }
      }
    }
    const a = chaosSchedule({ seed: 1, engines: 3, durationMs: 15_000 })
    const b = chaosSchedule({ seed: 2, engines: 3, durationMs: 15_000 })
    expect(a).not.toEqual(b)
    expect(chaosSchedule({ seed: 5, engines: 3, durationMs: 9000, spare: [0, 1] }).every((e) => e.engine === 2)).toBe(true)
    expect(() => chaosSchedule({ seed: 1, engines: 2, durationMs: 1000 })).toThrow(DerError)
  })
})

describe('CLI envelopes and pool connect answers', () => {
  it('parses the -j envelope and refuses anything else', () => {
    expect(parseEnvelope('{"response":{"a":1},"error":null,"status":0}')).toEqual({ status: 0, response: { a: 1 }, error: null })
    expect(parseEnvelope('{"response":null,"error":"DER_NONEXIST: x","status":-1005}')).toEqual({ status: -1005, response: null, error: 'DER_NONEXIST: x' })
    expect(() => parseEnvelope('ERROR: boom')).toThrow(/not a JSON envelope/)
    expect(() => parseEnvelope('{"response":1}')).toThrow(/no numeric status/)
  })

  it('reads rank URIs from the one-engine and multi-engine shapes', () => {
    expect([...rankUrisOf({ rank: 0, uris: ['tcp://a:1', 'tcp://a:2'] })]).toEqual([[0, ['tcp://a:1', 'tcp://a:2']]])
    expect([...rankUrisOf({ ranks: [{ rank: 1, uris: ['u1'] }, { rank: 2, uris: ['u2'] }] })]).toEqual([[1, ['u1']], [2, ['u2']]])
    expect([...rankUrisOf({ rankUris: { '3': ['u3'] } })]).toEqual([[3, ['u3']]])
    expect(() => rankUrisOf({ rank: -1, uris: ['x'] })).toThrow(/no rank URIs/)
    expect(() => rankUrisOf({ rank: 0, uris: [] })).toThrow(/no rank URIs/)
  })
})

/** An in-memory KV with a delay per call; `loseEvery` drops every n-th put after acknowledging it. */
function fakeKv(runtime: VirtualRuntime, random: Random, loseEvery = 0): WorkloadKv {
  const data = new Map<string, Uint8Array>()
  let puts = 0
  return {
    async put(key, value) {
      await runtime.timers.sleep(1 + random.int(5))
      puts++
      if (loseEvery > 0 && puts % loseEvery === 0) return
      data.set(new TextDecoder().decode(key), value)
    },
    async get(key) {
      await runtime.timers.sleep(1 + random.int(5))
      return data.get(new TextDecoder().decode(key))
    },
  }
}

async function runFake(seed: number, loseEvery: number, runMs = 500): Promise<ReturnType<KvWorkload['check']>> {
  const runtime = new VirtualRuntime({ seed })
  const kv = fakeKv(runtime, new Random(seed), loseEvery)
  const workload = new KvWorkload({ runtime, clients: 3, keysPerClient: 2 })
  const running = workload.run(kv)
  await runtime.advance(runMs)
  workload.stop()
  await runtime.runUntilIdle()
  await running
  const reading = workload.readBack(kv)
  await runtime.runUntilIdle()
  return workload.check(await reading)
}

describe('KV workload and checkers', () => {
  it('a correct store passes both checkers', async () => {
    for (const seed of [1, 2, 3]) {
      const verdict = await runFake(seed, 0)
      expect(verdict.ok, `seed ${seed}: ${verdict.text}`).toBe(true)
      expect(verdict.counts.ok, `seed ${seed}`).toBeGreaterThan(100)
    }
  })

  it('a store that drops acknowledged puts is caught', async () => {
    for (const seed of [1, 2, 3]) {
      const verdict = await runFake(seed, 7, 200)
      expect(verdict.ok, `seed ${seed}: ${verdict.text}`).toBe(false)
      expect(verdict.linearizability.verdict, `seed ${seed}`).toBe('violation')
    }
  })

  it('values carry their version', () => {
    expect(versionOfValue('c1/k2/v17')).toBe(17)
    expect(() => versionOfValue('junk')).toThrow(DerError)
  })
})

describe('processes and ports', () => {
  it('finds distinct free ports', async () => {
    const ports = await findFreePorts(5)
    expect(new Set(ports).size).toBe(5)
    for (const p of ports) expect(p).toBeGreaterThan(0)
    const avoid = new Set(ports)
    const base = await findFreePortRange(5, '127.0.0.1', avoid)
    for (let p = base; p < base + 5; p++) expect(avoid.has(p)).toBe(false)
    await expect(findFreePortRange(0)).rejects.toThrow(DerError)
  })

  it('kill -9 ends a child, SIGSTOP/SIGCONT freeze and thaw it, and the exit is reported', async () => {
    const runtime = createRealRuntime()
    const child = ManagedProcess.spawn({ name: 'sleeper', args: ['-e', 'process.stdout.write("up\\n"); setInterval(() => process.stdout.write("tick\\n"), 50)'], cwd: repoRoot, runtime })
    await waitUntil(runtime, () => (child.stdout.includes('tick') ? true : undefined), { timeoutMs: 10_000, what: 'the child ticking' })
    expect(child.signal('SIGSTOP')).toBe(true)
    expect(child.signal('SIGCONT')).toBe(true)
    const exit = await child.kill9()
    expect(exit.signal).toBe('SIGKILL')
    expect(child.alive).toBe(false)
    expect(child.stdout.startsWith('up\n')).toBe(true)
    expect(child.tailText(3)).toContain('tick')
  })

  it('a child dies with its harness (the orphan guard closes over stdin)', async () => {
    const runtime = createRealRuntime()
    const child = ManagedProcess.spawn({ name: 'guarded', args: ['-e', 'setInterval(() => {}, 1000)'], cwd: repoRoot, runtime })
    await runtime.timers.sleep(300)
    expect(child.alive).toBe(true)
    ;(child as unknown as { child: { stdin: { end(): void } } }).child.stdin.end()
    const exit = await child.waitExit(10_000)
    expect(exit.signal).toBe('SIGKILL')
  })
})
