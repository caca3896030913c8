import { VirtualRuntime, createRealRuntime } from '@x/common'
import net from 'node:net'
import { MemoryFabric, TcpFabric } from '../src/index.ts'
import { describeFabricCompliance } from '../src/testing/index.ts'

const seed = Number(process.env.X_SEED ?? 1)

describeFabricCompliance({
  name: `memory (seed ${seed})`,
  create() {
    const runtime = new VirtualRuntime({ seed })
    let n = 0
    return Promise.resolve({
      fabric: new MemoryFabric({ runtime, latencyMs: 0.5 }),
      listenAddress: () => `memory://ep-${++n}`,
      unusedAddress: () => 'memory://nobody-home',
      until: (predicate, timeoutMs = 10_000) => runtime.runUntil(predicate, timeoutMs),
      close: async () => {},
    })
  },
})

describeFabricCompliance({
  name: 'tcp on 127.0.0.1',
  create() {
    const runtime = createRealRuntime({ seed })
    return Promise.resolve({
      fabric: new TcpFabric({ runtime, connectTimeoutMs: 5000 }),
      listenAddress: () => 'tcp://127.0.0.1:0',
      unusedAddress: () =>
        new Promise<string>((resolve) => {
          const server = net.createServer().listen(0, '127.0.0.1', () => {
            const port = (server.address() as net.AddressInfo).port
            server.close(() => resolve(`tcp://127.0.0.1:${port}`))
          })
        }),
      until: async (predicate, timeoutMs = 10_000) => {
        const deadline = runtime.clock.monotonicMs() + timeoutMs
        while (!predicate()) {
          if (runtime.clock.monotonicMs() > deadline) return false
          await runtime.timers.sleep(1)
        }
        return true
      },
      close: async () => {},
    })
  },
})
