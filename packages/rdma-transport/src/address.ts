/**
 * Fabric addresses as URIs: `tcp://127.0.0.1:31416` and `memory://name`.
 *
 * @module
 */
import { DerError } from '@x/common'

/** A parsed fabric address. */
export type FabricAddress =
  | { readonly provider: 'tcp'; readonly host: string; readonly port: number }
  | { readonly provider: 'memory'; readonly name: string }

const memoryName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const hostName = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * Parses a fabric URI. Throws `DER_INVAL` for anything that is not `tcp://host:port` (port
 * 0..65535; 0 asks the system for one when listening) or `memory://name`.
 */
export function parseAddress(uri: string): FabricAddress {
  if (typeof uri !== 'string' || uri.length > 512) throw new DerError('DER_INVAL', `bad fabric address: not a string of at most 512 characters`)
  const sep = uri.indexOf('://')
  if (sep < 0) throw new DerError('DER_INVAL', `bad fabric address '${uri}': expected provider://...`)
  const provider = uri.slice(0, sep)
  const rest = uri.slice(sep + 3)
  if (provider === 'memory') {
    if (!memoryName.test(rest)) throw new DerError('DER_INVAL', `bad memory address '${uri}': name must match ${memoryName.source}`)
    return { provider, name: rest }
  }
  if (provider === 'tcp') {
    const colon = rest.lastIndexOf(':')
    if (colon <= 0) throw new DerError('DER_INVAL', `bad tcp address '${uri}': expected tcp://host:port`)
    const host = rest.slice(0, colon)
    const portText = rest.slice(colon + 1)
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new DerError('DER_INVAL', `bad tcp address '${uri}': port must be 0..65535`)
    if (/^[\d.]+$/.test(host) ? !ipv4.test(host) : !hostName.test(host)) throw new DerError('DER_INVAL', `bad tcp address '${uri}': bad host '${host}'`)
    return { provider, host, port: Number(portText) }
  }
  throw new DerError('DER_INVAL', `bad fabric address '${uri}': unknown provider '${provider}' (use tcp or memory)`)
}

/** The URI of a parsed address. */
export function formatAddress(address: FabricAddress): string {
  return address.provider === 'tcp' ? `tcp://${address.host}:${address.port}` : `memory://${address.name}`
}
