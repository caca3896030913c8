import type { Runtime, StructCodec } from '@x/common'
import type { Fabric } from '@x/rdma-transport'
import { type Dispatcher, MessageRegistry, type MessageType, Messenger, type MessengerOptions, type ReceivedMessage } from '../src/index.ts'

export interface Numbered {
  readonly n: number
  readonly from: string
}

export const numberedCodec: StructCodec<Numbered> = {
  name: 'numbered',
  version: 2,
  compat: 1,
  encodeFields: (e, v) => void e.u32(v.n).string(v.from),
  decodeFields: (d, version) => ({ n: d.u32(), from: version >= 2 ? d.string() : '?' }),
}

export function makeRegistry(): { registry: MessageRegistry; numbered: MessageType<Numbered> } {
  const registry = new MessageRegistry()
  const numbered = registry.register({ id: 42, name: 'numbered', codec: numberedCodec })
  return { registry, numbered }
}

/** Records everything a messenger dispatches. */
export class Recorder implements Dispatcher {
  readonly messages: ReceivedMessage[] = []
  readonly events: string[] = []
  dispatch(message: ReceivedMessage): boolean {
    this.messages.push(message)
    return true
  }
  onConnect(): void {
    this.events.push('connect')
  }
  onReset(): void {
    this.events.push('reset')
  }
  onRemoteReset(): void {
    this.events.push('remote-reset')
  }
  onRefused(): void {
    this.events.push('refused')
  }
  numbers(from?: string): number[] {
    return this.messages.filter((m) => from === undefined || (m.payload as Numbered).from === from).map((m) => (m.payload as Numbered).n)
  }
}

export async function messenger(fabric: Fabric, runtime: Runtime, name: string, uri: string | undefined, extra: Partial<MessengerOptions> = {}) {
  const { registry, numbered } = makeRegistry()
  const m = new Messenger({ fabric, runtime, name, registry, keepaliveIntervalMs: 100, keepaliveTimeoutMs: 1000, handshakeTimeoutMs: 1000, ...extra })
  await m.bind(uri)
  const recorder = new Recorder()
  m.addDispatcher(recorder)
  return { m, recorder, numbered }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}
