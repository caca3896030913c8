import { Decoder, DecodeError, Encoder, Random, isDerError } from '@x/common'
import { describe, expect, it } from 'vitest'
import { decodeRemoteMemory, encodeRemoteMemory, formatAddress, parseAddress } from '../src/index.ts'

describe('addresses', () => {
  it('parses and formats tcp and memory URIs', () => {
    expect(parseAddress('tcp://127.0.0.1:31416')).toEqual({ provider: 'tcp', host: '127.0.0.1', port: 31416 })
    expect(parseAddress('memory://engine-3')).toEqual({ provider: 'memory', name: 'engine-3' })
    for (const uri of ['tcp://127.0.0.1:0', 'tcp://localhost:65535', 'memory://a.b_c-1']) expect(formatAddress(parseAddress(uri))).toBe(uri)
  })

  it('rejects malformed URIs with DER_INVAL', () => {
    for (const bad of ['', '127.0.0.1:1', 'tcp://1.2.3.4', 'tcp://1.2.3.4:70000', 'tcp://1.2.3.400:1', 'tcp://:1', 'memory://', 'memory://a b', 'rdma://x', 'tcp://a..b:1']) {
      expect(() => parseAddress(bad), bad).toThrow(expect.objectContaining({ name: 'DER_INVAL' }))
    }
  })
})

describe('remote memory descriptors', () => {
  it('round-trip through their versioned encoding', () => {
    const remote = { address: 'tcp://10.0.0.1:7000', key: 2 ** 47 + 5, offset: 4096, length: 1 << 20 }
    const encoder = new Encoder()
    encodeRemoteMemory(encoder, remote)
    expect(decodeRemoteMemory(new Decoder(encoder.finish()))).toEqual(remote)
  })

  it('reject random bytes with a typed error, never anything else', () => {
    const seed = 11
    const random = new Random(seed)
    for (let i = 0; i < 2000; i++) {
      const bytes = random.bytes(random.int(64))
      try {
        decodeRemoteMemory(new Decoder(bytes))
      } catch (error) {
        expect(error instanceof DecodeError || isDerError(error), `seed ${seed} case ${i}: ${String(error)}`).toBe(true)
      }
    }
  })
})
