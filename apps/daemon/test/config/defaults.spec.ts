import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  dumpServerConfig,
  embeddedDefaultConfig,
  loadServerConfig,
  resolveDataDir,
  serverConfigToYamlData,
  validateServerConfig,
} from '../../src/index.ts'

describe('the embedded default', () => {
  const config = embeddedDefaultConfig('/srv/x-data')

  it('is a one-node system with insecure local access and file-backed devices under the data directory', () => {
    expect(config.name).toBe('daos_server')
    expect(config.port).toBe(10001)
    expect(config.accessPoints).toEqual([{ host: '127.0.0.1', port: 10001 }])
    expect(config.transport.allowInsecure).toBe(true)
    expect(config.provider).toBe('tcp')
    expect(config.telemetryPort).toBe(9191)
    expect(config.engines).toHaveLength(1)
    const engine = config.engines[0]!
    expect(engine.fabricIface).toBe('127.0.0.1')
    expect(engine.targets).toBeGreaterThanOrEqual(2)
    expect(engine.storage.length).toBeGreaterThan(0)
    for (const tier of engine.storage) {
      expect(tier.class).toBe('file')
      if (tier.class === 'file') expect(tier.path.startsWith('/srv/x-data/')).toBe(true)
    }
    expect(config.controlMetadataPath?.startsWith('/srv/x-data/')).toBe(true)
  })

  it('validates: its YAML data passes the strict validator unchanged', () => {
    expect(validateServerConfig(serverConfigToYamlData(config))).toEqual(config)
  })

  it('round-trips through YAML: dump then load gives the same model', () => {
    const text = dumpServerConfig(config)
    expect(parse(text)).toMatchObject({ name: 'daos_server', port: 10001, telemetry_port: 9191, transport_config: { allow_insecure: true } })
    expect(loadServerConfig(text)).toEqual(config)
  })

  it('resolves a relative data directory to an absolute one', () => {
    const relative = embeddedDefaultConfig('rel/data')
    const tier = relative.engines[0]!.storage[0]!
    expect(tier.class === 'file' && tier.path.startsWith('/')).toBe(true)
  })
})

describe('resolveDataDir', () => {
  it('is .x-data under the repository root by default', () => {
    expect(resolveDataDir('/repo')).toBe('/repo/.x-data')
    expect(resolveDataDir('/repo', { X_DATA_DIR: '' })).toBe('/repo/.x-data')
  })
  it('honours $X_DATA_DIR, absolute or relative to the repository root', () => {
    expect(resolveDataDir('/repo', { X_DATA_DIR: '/var/lib/x' })).toBe('/var/lib/x')
    expect(resolveDataDir('/repo', { X_DATA_DIR: 'tmp/data' })).toBe('/repo/tmp/data')
  })
})
