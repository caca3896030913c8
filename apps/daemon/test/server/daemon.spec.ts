import { createRealRuntime, isDerError } from '@x/common'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlClient, type ControlHandlers, controlClientTlsCredentials, partialControlHandlers, startControlServer, startDaemon } from '../../src/index.ts'
import { haveOpenssl, makeCa, makeCert } from './certs.ts'
import { smallConfig, startTestDaemon } from './helpers.ts'
import { LogRoot, MemoryLogSink, parseLogMask } from '@x/common'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const runtime = createRealRuntime()
const insecure = { allowInsecure: true, caCertPath: '', certPath: '', keyPath: '' }
const stubHandlers: ControlHandlers = partialControlHandlers({
  SystemQuery: () => Promise.resolve({ members: [], mapVersion: 0 }),
  PoolCreate: () => Promise.reject(new Error('untyped')),
  PoolList: () => Promise.resolve({ pools: [] }),
  ContainerList: () => Promise.resolve({ containers: [] }),
})
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function expectDer(promise: Promise<unknown>, name: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isDerError(error) ? error.name : error).toBe(name)
}

describe('daemon over the control API', () => {
  it('joins the local rank, creates, lists, queries and destroys a pool', async () => {
    const t = await startTestDaemon()
    cleanups.push(t.cleanup)
    const client = new ControlClient({ target: t.daemon.control.address, clock: runtime.clock })
    cleanups.push(() => client.close())
    const system = await client.call('SystemQuery', {})
    expect(system.members).toHaveLength(1)
    expect(system.members[0]).toMatchObject({ rank: 0, state: 'joined', addr: t.daemon.control.address })

    const created = await client.call('PoolCreate', { label: 'tank', sizeBytes: 10_000_000, properties: {} })
    expect(created.pool).toMatchObject({ label: 'tank', state: 'ready', sizeBytes: 10_000_000, svcRanks: [0], tgtRanks: [0] })
    await expectDer(client.call('PoolCreate', { label: 'tank', sizeBytes: 10_000_000, properties: {} }), 'DER_EXIST')
    await expectDer(client.call('PoolCreate', { label: 'bad label!', sizeBytes: 10_000_000, properties: {} }), 'DER_INVAL')
    await expectDer(client.call('PoolCreate', { label: 'p2', sizeBytes: 10_000_000, properties: { nope: 'x' } }), 'DER_INVAL')
    await expectDer(client.call('PoolCreate', { label: 'huge', sizeBytes: 2 ** 50, properties: {} }), 'DER_NOSPACE')
    expect(t.sink.records.filter((r) => r.level === 'error' || r.level === 'fatal').map((r) => r.message)).toEqual([])
    expect(t.daemon.engine.objectServiceRunning(created.pool.uuid)).toBe(true)
    const list = await client.call('PoolList', {})
    expect(list.pools.map((p) => p.label)).toEqual(['tank'])

    const query = await client.call('PoolQuery', { id: 'tank' })
    expect(query.pool.uuid).toBe(created.pool.uuid)
    expect(query.mapVersion).toBe(1)
    expect(query.totalTargets).toBe(2)
    expect(query.space.capacityBytes).toBeGreaterThan(0)
    expect((await client.call('PoolQuery', { id: created.pool.uuid })).pool.label).toBe('tank')
    await expectDer(client.call('PoolQuery', { id: 'nope' }), 'DER_NONEXIST')

    await client.call('PoolDestroy', { id: 'tank', force: false })
    expect((await client.call('PoolList', {})).pools).toEqual([])
    await expectDer(client.call('PoolDestroy', { id: 'tank', force: false }), 'DER_NONEXIST')
  }, 30_000)

  it('keeps the rank and its pools across a restart on the same data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-daemon-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const first = await startTestDaemon(dir)
    const client1 = new ControlClient({ target: first.daemon.control.address, clock: runtime.clock })
    const before = await client1.call('SystemQuery', {})
    const pool = await client1.call('PoolCreate', { label: 'keep', sizeBytes: 1_000_000, properties: { reclaim: 'disabled' } })
    client1.close()
    await first.daemon.stop()

    const second = await startTestDaemon(dir)
    cleanups.push(() => second.daemon.stop())
    const client2 = new ControlClient({ target: second.daemon.control.address, clock: runtime.clock })
    cleanups.push(() => client2.close())
    const after = await client2.call('SystemQuery', {})
    expect(after.members).toHaveLength(1)
    expect(after.members[0]?.uuid).toBe(before.members[0]?.uuid)
    const query = await client2.call('PoolQuery', { id: 'keep' })
    expect(query.pool.uuid).toBe(pool.pool.uuid)
    expect(query.properties['reclaim']).toBe('disabled')
  }, 30_000)

  it('refuses to start with TLS required and unreadable certificates, and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-daemon-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const base = smallConfig(dir)
    const config = { ...base, transport: { ...base.transport, allowInsecure: false, caCertPath: join(dir, 'missing-ca.crt') } }
    const log = new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('INFO'))
    const error = await startDaemon({ config, dataDir: dir, runtime, log, controlPort: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isDerError(error, 'DER_NONEXIST')).toBe(true)
    expect((error as Error).message).toContain('transport_config.ca_cert')
    expect(readdirSync(dir)).toEqual([])
  })

  it.skipIf(!haveOpenssl())('serves mutual TLS: the right client certificate works, others are refused (needs openssl)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-daemon-tls-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    makeCa(dir, 'good')
    makeCa(dir, 'rogue')
    makeCert(dir, 'good', 'server')
    makeCert(dir, 'good', 'admin')
    makeCert(dir, 'rogue', 'intruder')
    const server = await startControlServer({
      port: 0,
      transport: { allowInsecure: false, caCertPath: join(dir, 'good-ca.crt'), certPath: join(dir, 'server.crt'), keyPath: join(dir, 'server.key') },
      timers: runtime.timers,
      handlers: { ...stubHandlers, SystemQuery: () => Promise.resolve({ members: [], mapVersion: 7 }) },
    })
    cleanups.push(() => server.close())
    const pem = (name: string): Buffer => readFileSync(join(dir, name))
    const client = (cert: string): ControlClient =>
      new ControlClient({ target: server.address, clock: runtime.clock, timeoutMs: 3000, credentials: controlClientTlsCredentials({ caCert: pem('good-ca.crt'), cert: pem(`${cert}.crt`), key: pem(`${cert}.key`) }) })
    const admin = client('admin')
    expect((await admin.call('SystemQuery', {})).mapVersion).toBe(7)
    admin.close()
    const intruder = client('intruder')
    await expectDer(intruder.call('SystemQuery', {}), 'DER_UNREACH')
    intruder.close()
    const plain = new ControlClient({ target: server.address, clock: runtime.clock, timeoutMs: 3000 })
    await expectDer(plain.call('SystemQuery', {}), 'DER_UNREACH')
    plain.close()
  }, 30_000)

  it('answers DER_UNREACH when no control server listens', async () => {
    const server = await startControlServer({ port: 0, transport: insecure, timers: runtime.timers, handlers: stubHandlers })
    const address = server.address
    const client = new ControlClient({ target: address, clock: runtime.clock, timeoutMs: 3000 })
    await expectDer(client.call('PoolCreate', { label: 'a', sizeBytes: 1, properties: {} }), 'DER_MISC')
    client.close()
    await server.close()
    const late = new ControlClient({ target: address, clock: runtime.clock, timeoutMs: 3000 })
    await expectDer(late.call('SystemQuery', {}), 'DER_UNREACH')
    late.close()
  })
})
