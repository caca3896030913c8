/**
 * Free TCP ports on loopback, chosen at run time: every port is held open until all are chosen,
 * so one call never returns the same port twice.
 *
 * @module
 */
import { createServer, type Server } from 'node:net'
import { DerError } from '@x/common'

function listenEphemeral(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (e) => reject(new DerError('DER_UNREACH', `cannot bind a free port on ${host}: ${e.message}`, { cause: e })))
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

/**
 * Returns `count` distinct TCP ports that were free on `host` (default 127.0.0.1) a moment ago.
 * A port can still be taken by another process before it is used: callers that bind it retry
 * the whole start on `EADDRINUSE`.
 */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0 || count > 1000) throw new DerError('DER_INVAL', `port count must be 0..1000, got ${count}`)
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) servers.push(await listenEphemeral(host))
    return servers.map((s) => {
      const address = s.address()
      if (address === null || typeof address === 'string') throw new DerError('DER_INVAL', 'a listening socket has no port')
      return address.port
    })
  } finally {
    await Promise.all(servers.map(closeServer))
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/**
 * Returns the first port of `length` consecutive ports that were all free on `host` and are not
 * in `avoid` (an engine listens on its fabric port plus one port per target tag). Tries up to
 * 100 candidates; `DER_UNREACH` if none fits.
 */
export async function findFreePortRange(length: number, host = '127.0.0.1', avoid: ReadonlySet<number> = new Set()): Promise<number> {
  if (!Number.isInteger(length) || length < 1 || length > 256) throw new DerError('DER_INVAL', `port range length must be 1..256, got ${length}`)
  for (let attempt = 0; attempt < 100; attempt++) {
    const [base] = await findFreePorts(1, host)
    if (base === undefined || base + length > 65535) continue
    let ok = true
    for (let p = base; p < base + length && ok; p++) ok = !avoid.has(p) && (p === base || (await canBind(p, host)))
    if (ok) return base
  }
  throw new DerError('DER_UNREACH', `no ${length} consecutive free ports on ${host}`)
}
