/**
 * Output helpers of `dmg`: tables, sizes and DAOS's JSON envelope.
 *
 * @module
 */
import { type DerError, derCodes } from '@x/common'

/** DAOS's `-j` envelope: `{response, error, status}`. */
export interface JsonEnvelope {
  readonly response: unknown
  readonly error: string | null
  readonly status: number
}

/** The envelope of a successful command. */
export function okEnvelope(response: unknown): JsonEnvelope {
  return { response, error: null, status: 0 }
}

/** The envelope of a failed command (status: the DER code). */
export function errorEnvelope(error: DerError): JsonEnvelope {
  return { response: null, error: `${error.name}: ${error.message}`, status: derCodes[error.name] }
}

/** `ERROR: dmg: DER_NONEXIST(-1005): message`. */
export function formatDmgError(error: DerError): string {
  return formatCliError('dmg', error)
}

/** `ERROR: <tool>: DER_NONEXIST(-1005): message`, as `dmg` and `daos` print failures. */
export function formatCliError(tool: string, error: DerError): string {
  return `ERROR: ${tool}: ${error.name}(${derCodes[error.name]}): ${error.message}`
}

/** A plain-text table with a dashed rule under the header, as dmg prints them. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
}

/** Bytes in decimal units as dmg shows them (`1.0 GB`, `512 B`). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}
