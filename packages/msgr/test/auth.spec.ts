import { VirtualRuntime } from '@x/common'
import { MemoryFabric } from '@x/rdma-transport'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatKeyring, hmacAuth, loadKeyring, noneAuth, parseKeyring } from '../src/index.ts'
import { messenger } from './helpers.ts'

const seed = Number(process.env.X_SEED ?? 4)
const keyringPath = fileURLToPath(new URL('../testdata/keyring', import.meta.url))

describe('keyrings', () => {
  it('load a Ceph-format keyring file', () => {
    const keyring = loadKeyring(keyringPath)
    expect([...keyring.keys()]).toEqual(['client.admin', 'engine.1'])
    expect(keyring.get('engine.1')?.length).toBe(36)
    expect(parseKeyring(formatKeyring(keyring))).toEqual(keyring)
  })

  it('reject malformed keyrings with the line number', () => {
    const cases: [string, RegExp][] = [
      ['key = AAAA', /line 1: setting outside/],
      ['[client.x]\nkey = not base64!', /line 2: key is not base64/],
      ['[client.x]\nkey = AAAA', /shorter than 16/],
      ['[nope]\n', /bad entity name/],
      ['[client.x]\njunk', /line 2: expected/],
      ['[client.x]\n[client.x]', /duplicate/],
    ]
    for (const [text, message] of cases) expect(() => parseKeyring(text), text).toThrow(message)
    expect(() => loadKeyring('/nonexistent/keyring')).toThrow(expect.objectContaining({ name: 'DER_NONEXIST' }))
  })
})

describe('authentication', () => {
  async function setup(clientKeyring: string, serverKeyring: string, clientName = 'client.admin') {
    const runtime = new VirtualRuntime({ seed })
    const fabric = new MemoryFabric({ runtime, latencyMs: 0.1 })
    const server = await messenger(fabric, runtime, 'engine.1', 'memory://e1', { auth: { client: hmacAuth(parseKeyring(serverKeyring)), server: [hmacAuth(parseKeyring(serverKeyring))] } })
    const client = await messenger(fabric, runtime, clientName, undefined, { auth: { client: hmacAuth(parseKeyring(clientKeyring)), server: [noneAuth] } })
    return { runtime, fabric, server, client }
  }

  const good = '[client.admin]\nkey = QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\n'
  const other = '[client.admin]\nkey = WllYV1ZVVFNSUVBPTk1MS0pJSEdGRURD\n'

  it('hmac: a client holding the shared key gets in, both ways', async () => {
    const { runtime, server, client } = await setup(good, good)
    const session = client.m.connect('memory://e1')
    session.send({ type: client.numbered, payload: { n: 1, from: 'c' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 1, 5000), `seed ${seed}`).toBe(true)
    expect(server.m.stats.authFailures).toBe(0)
  })

  it('hmac: a wrong key is refused, counted and logged; the server carries on', async () => {
    const { runtime, fabric, server, client } = await setup(other, good)
    const session = client.m.connect('memory://e1')
    session.send({ type: client.numbered, payload: { n: 1, from: 'c' } })
    expect(await runtime.runUntil(() => session.state === 'closed', 5000), `seed ${seed}`).toBe(true)
    expect(client.recorder.events).toEqual(['refused'])
    expect(server.m.stats.authFailures).toBe(1)
    expect(server.recorder.messages).toHaveLength(0)
    const ok = await messenger(fabric, runtime, 'client.admin', undefined, { auth: { client: hmacAuth(parseKeyring(good)) } })
    ok.m.connect('memory://e1').send({ type: ok.numbered, payload: { n: 2, from: 'ok' } })
    expect(await runtime.runUntil(() => server.recorder.messages.length === 1, 5000)).toBe(true)
  })

  it('hmac: an unknown entity and a method the server does not allow are refused', async () => {
    const { runtime, fabric, server, client } = await setup('[client.bob]\nkey = QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\n', good, 'client.bob')
    const session = client.m.connect('memory://e1')
    expect(await runtime.runUntil(() => session.state === 'closed', 5000)).toBe(true)
    expect(server.m.stats.authFailures).toBe(1)
    const plain = await messenger(fabric, runtime, 'client.7', undefined)
    const refused = plain.m.connect('memory://e1')
    expect(await runtime.runUntil(() => refused.state === 'closed', 5000)).toBe(true)
    expect(plain.recorder.events).toEqual(['refused'])
    expect(server.m.stats.authFailures).toBe(2)
  })
})
