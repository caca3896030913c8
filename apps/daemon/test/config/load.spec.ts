import { isDerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ServerConfig, dumpServerConfig, embeddedDefaultConfig, loadServerConfig, loadServerConfigFile, parseAccessPoint, resolveServerConfig } from '../../src/index.ts'

const testdata = new URL('../../testdata/', import.meta.url)
const exampleText = readFileSync(new URL('daos_server.yml', testdata), 'utf8')

/** The error `loadServerConfig(text)` throws; fails the test if it does not throw a DER_INVAL. */
function loadError(text: string): Error {
  try {
    loadServerConfig(text)
  } catch (e) {
    expect(isDerError(e, 'DER_INVAL'), `expected DER_INVAL, got ${String(e)}`).toBe(true)
    return e as Error
  }
  throw new Error(`expected the config to be refused:\n${text}`)
}

const minimal = `engines:
  - targets: 2
    storage:
      - class: file
        path: /data/bdev0.img
        size: 1G
`

describe('loadServerConfig', () => {
  it('reads the example daos_server.yml into the typed model, resolving relative paths against baseDir', () => {
    const config = loadServerConfig(exampleText, { baseDir: '/etc/x' })
    expect(config).toEqual<ServerConfig>({
      name: 'lab',
      port: 10001,
      accessPoints: [
        { host: 'node1', port: 10001 },
        { host: 'node2', port: 10002 },
        { host: 'fd00::3', port: 10001 },
      ],
      transport: {
        allowInsecure: false,
        caCertPath: '/etc/x/certs/daosCA.crt',
        certPath: '/etc/x/certs/server.crt',
        keyPath: '/etc/x/certs/server.key',
        clientCertDir: '/etc/x/certs/clients',
      },
      provider: 'ofi+tcp',
      controlLogMask: 'ERR',
      controlLogFile: '/var/log/x/control.log',
      controlMetadataPath: '/var/lib/x/control_meta',
      telemetryPort: 9192,
      engines: [
        {
          targets: 8,
          fabricIface: 'eth0',
          fabricIfacePort: 31416,
          logMask: 'ERR,raft=DEBUG',
          logFile: '/var/log/x/engine0.log',
          storage: [
            { class: 'ram', sizeBytes: 16 * 2 ** 30 },
            { class: 'file', path: '/var/lib/x/engine0/bdev0.img', sizeBytes: 1e12 },
          ],
        },
        {
          targets: 4,
          fabricIface: 'eth1',
          fabricIfacePort: 32416,
          logMask: 'INFO',
          logFile: undefined,
          storage: [{ class: 'file', path: '/etc/x/devices/bdev1.img', sizeBytes: 512 * 2 ** 20 }],
        },
      ],
    })
  })

  it('fills in the documented defaults for a minimal config', () => {
    const config = loadServerConfig(minimal)
    expect(config.name).toBe('daos_server')
    expect(config.port).toBe(10001)
    expect(config.accessPoints).toEqual([{ host: '127.0.0.1', port: 10001 }])
    expect(config.transport).toEqual({
      allowInsecure: false,
      caCertPath: '/etc/daos/certs/daosCA.crt',
      certPath: '/etc/daos/certs/server.crt',
      keyPath: '/etc/daos/certs/server.key',
      clientCertDir: '/etc/daos/certs/clients',
    })
    expect(config.provider).toBe('tcp')
    expect(config.controlLogMask).toBe('INFO')
    expect(config.telemetryPort).toBe(9191)
    expect(config.engines[0]).toMatchObject({ targets: 2, fabricIface: '127.0.0.1', fabricIfacePort: 31416, logMask: 'INFO', logFile: undefined })
  })

  it('access points default to the configured control port', () => {
    const config = loadServerConfig(`port: 20001\naccess_points: [a, 'b:3', c]\n${minimal}`)
    expect(config.accessPoints).toEqual([
      { host: 'a', port: 20001 },
      { host: 'b', port: 3 },
      { host: 'c', port: 20001 },
    ])
  })

  it('dump then load gives the same model', () => {
    const config = loadServerConfig(exampleText, { baseDir: '/etc/x' })
    expect(loadServerConfig(dumpServerConfig(config))).toEqual(config)
    const small = loadServerConfig(minimal)
    expect(loadServerConfig(dumpServerConfig(small))).toEqual(small)
  })

  const refused: [string, string, RegExp][] = [
    ['an unknown top-level key', `foo: 1\n${minimal}`, /^foo: unknown key 'foo' .*\(line 1\)$/],
    ['an unknown engine key', minimal.replace('  - targets: 2', '  - targets: 2\n    first_core: 3'), /^engines\[0\]\.first_core: unknown key .*\(line 3\)$/],
    ['an unknown tier key', `${minimal}        bdev_list: [x]\n`, /^engines\[0\]\.storage\[0\]\.bdev_list: unknown key .*\(line 7\)$/],
    ['a ram tier with a path', minimal.replace('class: file', 'class: ram'), /^engines\[0\]\.storage\[0\]\.path: unknown key 'path'/],
    ['a bad size', minimal.replace('size: 1G', 'size: 1Q'), /^engines\[0\]\.storage\[0\]\.size: bad size '1Q'.*\(line 6\)$/],
    ['a tiny size', minimal.replace('size: 1G', 'size: 4KiB'), /^engines\[0\]\.storage\[0\]\.size: 4096 bytes is below the minimum/],
    ['a second tier with a bad size', `${minimal}      - class: file\n        path: /data/b1\n        size: lots\n`, /^engines\[0\]\.storage\[1\]\.size: .*\(line 9\)$/],
    ['an unknown class', minimal.replace('class: file', 'class: nvme'), /^engines\[0\]\.storage\[0\]\.class: unknown storage class 'nvme'/],
    ['a tier without size', minimal.replace('        size: 1G\n', ''), /^engines\[0\]\.storage\[0\]\.size: required/],
    ['a file tier without path', minimal.replace('        path: /data/bdev0.img\n', ''), /^engines\[0\]\.storage\[0\]\.path: required/],
    ['a ram tier after a file tier', `${minimal}      - class: ram\n        size: 1G\n`, /^engines\[0\]\.storage\[1\]\.class: a ram tier must be the first/],
    ['no engines', 'name: x\n', /^engines: required/],
    ['an empty engine list', 'engines: []\n', /^engines: at least one engine/],
    ['an empty document', '', /^engines: required/],
    ['engines as a mapping', 'engines: {targets: 1}\n', /^engines: expected a list, got a mapping/],
    ['zero targets', minimal.replace('targets: 2', 'targets: 0'), /^engines\[0\]\.targets: 0 is out of range 1\.\.64 \(line 2\)$/],
    ['too many targets', minimal.replace('targets: 2', 'targets: 65'), /^engines\[0\]\.targets: 65 is out of range/],
    ['fractional targets', minimal.replace('targets: 2', 'targets: 2.5'), /^engines\[0\]\.targets: expected a whole number/],
    ['targets as a string', minimal.replace('targets: 2', 'targets: "2"'), /^engines\[0\]\.targets: expected a whole number, got '2'/],
    ['missing targets', minimal.replace('  - targets: 2\n    storage:', '  - storage:'), /^engines\[0\]\.targets: required/],
    ['port 0', `port: 0\n${minimal}`, /^port: 0 is out of range 1\.\.65535 \(line 1\)$/],
    ['port 65536', `port: 65536\n${minimal}`, /^port: 65536 is out of range/],
    ['a telemetry port that is the control port', `telemetry_port: 10001\n${minimal}`, /^telemetry_port: 10001 is also the control port/],
    ['a fabric port that is the telemetry port', minimal.replace('  - targets: 2', '  - targets: 2\n    fabric_iface_port: 9191'), /^engines\[0\]\.fabric_iface_port: 9191 is also the telemetry port/],
    ['a bad access point port', `access_points: ['a:70000']\n${minimal}`, /^access_points\[0\]: bad access point 'a:70000'.*\(line 1\)$/],
    ['an access point with junk', `access_points: ['a b']\n${minimal}`, /^access_points\[0\]: bad access point/],
    ['an unbracketed IPv6 access point', `access_points: ['::1']\n${minimal}`, /IPv6 addresses go in brackets/],
    ['two access points', `access_points: [a, b]\n${minimal}`, /^access_points: 2 access points; use 1, 3, 5/],
    ['duplicate access points', `access_points: [a, 'a:10001', b]\n${minimal}`, /^access_points\[1\]: duplicate access point a:10001/],
    ['access points as a string', `access_points: a\n${minimal}`, /^access_points: expected a list/],
    ['allow_insecure as a string', `transport_config:\n  allow_insecure: yes\n${minimal}`, /^transport_config\.allow_insecure: expected true or false, got 'yes' \(line 2\)$/],
    ['an unknown transport key', `transport_config:\n  tls: true\n${minimal}`, /^transport_config\.tls: unknown key/],
    ['an unknown provider', `provider: ofi+verbs\n${minimal}`, /^provider: unknown provider 'ofi\+verbs'/],
    ['a bad log mask', minimal.replace('  - targets: 2', '  - targets: 2\n    log_mask: LOUD'), /^engines\[0\]\.log_mask: unknown log level 'LOUD'.*\(line 3\)$/],
    ['a bad control log mask', `control_log_mask: 'ERR,=x'\n${minimal}`, /^control_log_mask: /],
    ['a long system name', `name: a_very_long_system_name\n${minimal}`, /^name: bad value/],
    ['a shared device file', `${minimal}  - targets: 1\n    storage:\n      - {class: file, path: /data/bdev0.img, size: 1G}\n`, /^engines\[1\]\.storage\[0\]\.path: device file '\/data\/bdev0\.img' is already used by engines\[0\]\.storage\[0\]\.path/],
    ['two engines on one endpoint', `${minimal}  - targets: 1\n    fabric_iface_port: 31416\n    storage:\n      - {class: ram, size: 1G}\n`, /^engines\[1\]\.fabric_iface_port: 127\.0\.0\.1:31416 is already used/],
    ['control_metadata without path', `control_metadata: {}\n${minimal}`, /^control_metadata\.path: required/],
    ['a duplicate key', `port: 1\nport: 2\n${minimal}`, /^YAML syntax error: Map keys must be unique/],
    ['a YAML merge key', 'engines:\n  - <<: {targets: 1}\n    storage: [{class: ram, size: 1G}]\n', /^engines\[0\]\.<<: unknown key/],
    ['a top-level list', '- a\n- b\n', /^\(document\): expected a mapping, got a list/],
    ['an unresolved tag', `name: !secret lab\n${minimal}`, /^YAML syntax error: .*tag/i],
    ['a top-level scalar', 'hello\n', /^\(document\): expected a mapping/],
  ]
  for (const [what, text, pattern] of refused) {
    it(`refuses ${what} with DER_INVAL naming the field`, () => {
      expect(loadError(text).message).toMatch(pattern)
    })
  }

  it('reports the line of a YAML syntax error', () => {
    const error = loadError('name: x\nengines:\n  - targets: [1\n')
    expect(error.message).toMatch(/^YAML syntax error: .* at line 4, column 1$/)
    expect((error as unknown as { details: { line?: number } }).details.line).toBeGreaterThanOrEqual(3)
  })

  it('refuses alias bombs and huge inputs with DER_INVAL', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n')
    expect(loadError(bomb).message.length).toBeGreaterThan(0)
    expect(loadError(`# ${'x'.repeat(2 << 20)}\n`).message).toMatch(/at most/)
  })
})

describe('parseAccessPoint', () => {
  it('reads host, host:port, [v6] and [v6]:port', () => {
    expect(parseAccessPoint('node-1.example.com', 10001)).toEqual({ host: 'node-1.example.com', port: 10001 })
    expect(parseAccessPoint('10.0.0.1:10005', 10001)).toEqual({ host: '10.0.0.1', port: 10005 })
    expect(parseAccessPoint('[::1]', 10001)).toEqual({ host: '::1', port: 10001 })
    expect(parseAccessPoint('[fe80::1]:7', 10001)).toEqual({ host: 'fe80::1', port: 7 })
  })
  for (const bad of ['', ':1', 'a:', 'a:0', 'a:x', '[::1', '[::1]x', '[abc]', '-a', 'a_b', 'a..b']) {
    it(`refuses '${bad}'`, () => {
      expect(() => parseAccessPoint(bad, 10001)).toThrowError(/bad access point/)
    })
  }
})

describe('loadServerConfigFile', () => {
  it('resolves relative paths against the file, and names the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x-daemon-config-'))
    try {
      const path = join(dir, 'server.yml')
      await writeFile(path, minimal.replace('/data/bdev0.img', 'dev/bdev0.img'))
      const config = await loadServerConfigFile(path)
      expect(config.engines[0]?.storage[0]).toEqual({ class: 'file', path: join(dir, 'dev/bdev0.img'), sizeBytes: 1e9 })
      await writeFile(path, `bogus: 1\n${minimal}`)
      await expect(loadServerConfigFile(path)).rejects.toThrowError(`${path}: bogus: unknown key`)
      await expect(loadServerConfigFile(join(dir, 'missing.yml'))).rejects.toSatisfy((e: unknown) => isDerError(e, 'DER_NONEXIST'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('resolveServerConfig', () => {
  it('uses the embedded default under the data directory when no config file is given', async () => {
    const resolved = await resolveServerConfig({ repoRoot: '/repo', env: { X_DATA_DIR: 'data' } })
    expect(resolved).toEqual({ config: embeddedDefaultConfig('/repo/data'), source: 'embedded', dataDir: '/repo/data' })
    expect((await resolveServerConfig({ repoRoot: '/repo' })).dataDir).toBe('/repo/.x-data')
  })

  it('loads the given file otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x-daemon-config-'))
    try {
      const path = join(dir, 'server.yml')
      await writeFile(path, minimal)
      const resolved = await resolveServerConfig({ configPath: path, repoRoot: '/repo' })
      expect(resolved).toEqual({ config: loadServerConfig(minimal), source: path, dataDir: undefined })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
