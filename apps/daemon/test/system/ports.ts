import { type AddressInfo, createServer } from 'node:net'

/** A free TCP port on 127.0.0.1 (bound, then released: a tiny race, fine for tests). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** `count` distinct free ports, each followed by `span - 1` more that are free too. */
export async function freePortBlocks(count: number, span: number): Promise<number[]> {
  const out: number[] = []
  while (out.length < count) {
    const base = await freePort()
    let ok = base + span < 65535 && !out.some((p) => Math.abs(p - base) < span)
    for (let i = 1; ok && i < span; i++) {
      const server = createServer()
      ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false))
        server.listen(base + i, '127.0.0.1', () => server.close(() => resolve(true)))
      })
    }
    if (ok) out.push(base)
  }
  return out
}
