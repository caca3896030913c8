/**
 * The wire form of a {@link RemoteMemory} descriptor (Mercury's serialized bulk handle), for
 * layers that put one in a message.
 *
 * @module
 */
import { type Decoder, DerError, type Encoder } from '@x/common'
import { parseAddress } from './address.ts'
import { maxWireInteger } from './base.ts'
import type { RemoteMemory } from './types.ts'

/** Writes a descriptor as a versioned struct (v1). */
export function encodeRemoteMemory(encoder: Encoder, remote: RemoteMemory): void {
  encoder.struct(1, 1, (e) => e.string(remote.address).u64(BigInt(remote.key)).u64(BigInt(remote.offset)).u64(BigInt(remote.length)))
}

/** Reads a descriptor; throws `DecodeError` on malformed bytes and `DER_INVAL` on bad values. */
export function decodeRemoteMemory(decoder: Decoder): RemoteMemory {
  return decoder.struct(1, (d) => {
    const address = d.string()
    const [key, offset, length] = [d.u64(), d.u64(), d.u64()]
    const limit = BigInt(maxWireInteger)
    if (key === 0n || key > limit || offset > limit || length > limit) throw new DerError('DER_INVAL', 'remote memory descriptor out of range')
    parseAddress(address)
    return { address, key: Number(key), offset: Number(offset), length: Number(length) }
  })
}
