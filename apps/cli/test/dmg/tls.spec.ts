import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRealRuntime } from '@x/common'
import { type ControlServer, startControlServer } from '@x/daemon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDmg } from '../../src/index.ts'

const runtime = createRealRuntime()

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
      handlers: { SystemQuery: () => Promise.resolve({ members: [], mapVersion: 3 }), PoolCreate: refuse, PoolList: refuse, PoolQuery: refuse, PoolDestroy: refuse, PoolConnect: refuse, ContainerCreate: refuse, ContainerList: refuse, ContainerQuery: refuse, ContainerDestroy: refuse },
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

  it('names a missing certificate file', async () => {
    const path = config('admin')
    writeFileSync(path, `transport_config:\n  allow_insecure: false\n  ca_cert: ${join(dir, 'nope.crt')}\nengines:\n  - targets: 1\n    storage:\n      - { class: ram, size: 1GiB }\n`)
    const r = await dmg('-o', path, 'system', 'query')
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^ERROR: dmg: DER_NONEXIST\(-1005\): transport_config\.ca_cert/)
  })
})
