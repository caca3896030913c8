import { DerError, isDerError } from '@x/common'
import * as grpc from '@grpc/grpc-js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { controlMethodNames, controlServiceDefinition, decodeControlMessage, derToGrpcStatus, encodeControlMessage, grpcErrorToDer } from '../../src/index.ts'

describe('control API', () => {
  it('defines one unary method per name', () => {
    expect(Object.keys(controlServiceDefinition).sort()).toEqual([...controlMethodNames].sort())
  })

  it('round-trips messages as JSON objects', () => {
    const message = { label: 'tank', sizeBytes: 1_000_000_000, properties: { reclaim: 'disabled' } }
    expect(decodeControlMessage(encodeControlMessage(message))).toEqual(message)
  })

  it('refuses non-objects and garbage with DER_PROTO (fuzzed)', () => {
    for (const text of ['', 'null', '[1]', '"x"', '{', '42']) {
      expect(() => decodeControlMessage(Buffer.from(text))).toThrow(expect.objectContaining({ name: 'DER_PROTO' }))
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const value = decodeControlMessage(Buffer.from(bytes))
          expect(typeof value).toBe('object')
        } catch (e) {
          expect(isDerError(e, 'DER_PROTO')).toBe(true)
        }
      }),
      { seed: 12, numRuns: 300 },
    )
  })

  it('carries DER names through gRPC status and back', () => {
    const status = derToGrpcStatus(new DerError('DER_NONEXIST', 'pool nope does not exist'))
    expect(status.code).toBe(grpc.status.NOT_FOUND)
    const back = grpcErrorToDer({ code: status.code, details: status.details, metadata: status.metadata }, 'h:1')
    expect(back.name).toBe('DER_NONEXIST')
    expect(back.message).toBe('pool nope does not exist')
    expect(derToGrpcStatus(new Error('boom')).metadata?.get('x-der-name')).toEqual(['DER_MISC'])
    expect(grpcErrorToDer({ code: grpc.status.UNAVAILABLE, details: 'x' }, '127.0.0.1:9').name).toBe('DER_UNREACH')
    expect(grpcErrorToDer({ code: grpc.status.DEADLINE_EXCEEDED }, '127.0.0.1:9').name).toBe('DER_TIMEDOUT')
  })
})
