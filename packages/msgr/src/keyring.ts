/**
 * Keyrings: the shared secrets of the `hmac` authentication method, in Ceph's keyring file format:
 *
 * ```
 * [client.admin]
 *     key = AQBbase64...==
 * ```
 *
 * @module
 */
import { DerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { formatEntityName, parseEntityName } from './entity.ts'

/** Secrets by entity name (`client.admin`). */
export type Keyring = ReadonlyMap<string, Uint8Array>

/** Smallest accepted secret. */
export const minKeyBytes = 16

/** Parses keyring text; throws `DER_INVAL` with the line number on anything malformed. */
export function parseKeyring(text: string): Keyring {
  const keys = new Map<string, Uint8Array>()
  let section: string | undefined
  const seen = new Set<string>()
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = raw.trim()
    const where = `keyring line ${index + 1}`
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const header = /^\[([^\]]+)\]$/.exec(line)
    if (header !== null) {
      section = formatEntityName(parseEntityName((header[1] as string).trim()))
      if (seen.has(section)) throw new DerError('DER_INVAL', `${where}: duplicate section [${section}]`)
      seen.add(section)
      return
    }
    const eq = line.indexOf('=')
    if (eq < 0) throw new DerError('DER_INVAL', `${where}: expected 'name = value'`)
    if (section === undefined) throw new DerError('DER_INVAL', `${where}: setting outside a [section]`)
    const name = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (name !== 'key') return // caps and other settings are not ours
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) throw new DerError('DER_INVAL', `${where}: key is not base64`)
    const key = new Uint8Array(Buffer.from(value, 'base64'))
    if (key.length < minKeyBytes) throw new DerError('DER_INVAL', `${where}: key of ${key.length} bytes is shorter than ${minKeyBytes}`)
    keys.set(section, key)
  })
  return keys
}

/** Reads and parses a keyring file. */
export function loadKeyring(path: string): Keyring {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new DerError('DER_NONEXIST', `cannot read keyring ${path}: ${(error as Error).message}`, { cause: error })
  }
  return parseKeyring(text)
}

/** Keyring text for the given secrets (for tools and tests). */
export function formatKeyring(keys: Keyring): string {
  return [...keys].map(([name, key]) => `[${name}]\n\tkey = ${Buffer.from(key).toString('base64')}\n`).join('')
}
