import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRealRuntime } from '@x/common'
import { type ControlServer, type SystemDaemon, loadServerConfigFile, partialControlHandlers, startControlServer, startSystemDaemon } from '@x/daemon'
import { LogRoot, MemoryLogSink, parseLogMask } from '@x/common'
import { type AddressInfo, createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDaos, runDmg } from '../../src/index.ts'

const runtime = createRealRuntime()

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}
const makeCa = (dir: string, name: string): void => openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '2', '-subj', `/CN=${name} CA`])
function makeCert(dir: string, ca: string, name: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`])
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.crt`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`])
}

describe.skipIf(!haveOpenssl())('dmg over mutual TLS (needs openssl)', () => {
  let dir: string
  let server: ControlServer
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'x-dmg-tls-'))
    makeCa(dir, 'good')
    makeCa(dir, 'rogue')
    makeCert(dir, 'good', 'server')
    makeCert(dir, 'good', 'admin')
    makeCert(dir, 'rogue', 'intruder')
    const refuse = (): Promise<never> => Promise.reject(new Error('not in this test'))
    server = await startControlServer({
      port: 0,
      transport: { allowInsecure: false, caCertPath: join(dir, 'good-ca.crt'), certPath: join(dir, 'server.crt'), keyPath: join(dir, 'server.key') },
      timers: runtime.timers,
      handlers: partialControlHandlers({ SystemQuery: () => Promise.resolve({ members: [], mapVersion: 3 }), PoolCreate: refuse }),
    })
  }, 30_000)
  afterAll(async () => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })

  function config(cert: string): string {
    const path = join(dir, `${cert}.yml`)
    writeFileSync(
      path,
      `port: ${server.port}\naccess_points: ['127.0.0.1:${server.port}']\ntransport_config:\n  allow_insecure: false\n  ca_cert: ${join(dir, 'good-ca.crt')}\n  cert: ${join(dir, `${cert}.crt`)}\n  key: ${join(dir, `${cert}.key`)}\nengines:\n  - targets: 1\n    storage:\n      - { class: ram, size: 1GiB }\n`,
    )
    return path
  }

  async function dmg(...args: string[]): Promise<{ code: number; out: string }> {
    let out = ''
    const code = await runDmg(args, { stdout: (t) => (out += t), stderr: (t) => (out += t), clock: runtime.clock, timeoutMs: 3000 })
    return { code, out }
  }

  it('works with the certificate signed by the system CA', async () => {
    const r = await dmg('-o', config('admin'), '-j', 'system', 'query')
    expect(r.code, r.out).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ status: 0, response: { mapVersion: 3 } })
  })

  it('is refused with a certificate of another CA, and without TLS', async () => {
    const rogue = await dmg('-o', config('intruder'), 'system', 'query')
    expect(rogue.code).toBe(1)
    expect(rogue.out).toMatch(/^ERROR: dmg: DER_UNREACH\(-1006\)/)
    const plain = await dmg('-i', '-o', config('admin'), 'system', 'query')
    expect(plain.code).toBe(1)
    expect(plain.out).toMatch(/^ERROR: dmg: DER_UNREACH\(-1006\)/)
  })

  it('refuses daos too without the right certificate', async () => {
    let out = ''
    const code = await runDaos(['-o', config('intruder'), 'container', 'list', 'tank'], { stdout: (t) => (out += t), stderr: (t) => (out += t), runtime, timeoutMs: 3000 })
    expect(code).toBe(1)
    expect(out).toMatch(/^ERROR: daos: DER_UNREACH\(-1006\)/)
  })

  it('a TLS system daemon serves dmg with the system certificate and refuses others, changing nothing', async () => {
    const [control, fabric] = [await freePort(), await freePort()]
    const path = join(dir, 'server.yml')
    writeFileSync(
      path,
      `port: ${control}\naccess_points: ['127.0.0.1:${control}']\ntransport_config:\n  allow_insecure: false\n  ca_cert: ${join(dir, 'good-ca.crt')}\n  cert: ${join(dir, 'server.crt')}\n  key: ${join(dir, 'server.key')}\ncontrol_metadata: { path: ${join(dir, 'meta')} }\nengines:\n  - targets: 1\n    fabric_iface_port: ${fabric}\n    storage:\n      - { class: file, path: ${join(dir, 'bdev0.img')}, size: 32MiB }\n`,
    )
    const daemon: SystemDaemon = await startSystemDaemon({ config: await loadServerConfigFile(path), dataDir: dir, runtime, log: new LogRoot(new MemoryLogSink(), runtime.clock, parseLogMask('ERR')), clusterSizeBytes: 16 * 1024, membership: false })
    try {
      const admin = (name: string): string => {
        const p = join(dir, `${name}-sys.yml`)
        writeFileSync(p, `port: ${control}\naccess_points: ['127.0.0.1:${control}']\ntransport_config:\n  allow_insecure: false\n  ca_cert: ${join(dir, 'good-ca.crt')}\n  cert: ${join(dir, `${name}.crt`)}\n  key: ${join(dir, `${name}.key`)}\nengines:\n  - targets: 1\n    storage:\n      - { class: ram, size: 1GiB }\n`)
        return p
      }
      const refused = await dmg('-o', admin('intruder'), 'pool', 'create', 'secret', '--size', '8M')
      expect(refused.code).toBe(1)
      expect(refused.out).toMatch(/DER_UNREACH/)
      const plain = await dmg('-i', '-o', admin('admin'), 'pool', 'create', 'secret', '--size', '8M')
      expect(plain.code).toBe(1)
      const list = await dmg('-o', admin('admin'), '-j', 'pool', 'list')
      expect(list.code, list.out).toBe(0)
      expect(JSON.parse(list.out)).toMatchObject({ status: 0, response: { pools: [] } })
      const created = await dmg('-o', admin('admin'), 'pool', 'create', 'secret', '--size', '8M')
      expect(created.code, created.out).toBe(0)
    } finally {
      await daemon.stop()
    }
  }, 60_000)

  it('names a missing certificate file', async () => {
    const path = config('admin')
    writeFileSync(path, `transport_config:\n  allow_insecure: false\n  ca_cert: ${join(dir, 'nope.crt')}\nengines:\n  - targets: 1\n    storage:\n      - { class: ram, size: 1GiB }\n`)
    const r = await dmg('-o', path, 'system', 'query')
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^ERROR: dmg: DER_NONEXIST\(-1005\): transport_config\.ca_cert/)
  })
})
