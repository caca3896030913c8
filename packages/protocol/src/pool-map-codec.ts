/**
 * The versioned binary encoding of a pool map (struct `PoolMap` v1): the version, then each rank
 * in join order with its host and its targets' ids, states and failure sequences. The CRUSH map
 * is derived from it, never sent.
 *
 * @module
 */
import { type Decoder, DecodeError, type Encoder, type StructCodec, decodeStruct, encodeStruct, isDerError } from '@x/common'
import { type PoolMap, type PoolRank, type PoolTarget, poolMapLimits, targetStateCodes, targetStateFromCode, validatePoolMap } from './pool-map.ts'

/** The codec of {@link PoolMap}. Decoding validates the map and throws `DecodeError` on bad input. */
export const poolMapCodec: StructCodec<PoolMap> = {
  name: 'PoolMap',
  version: 1,
  compat: 1,
  encodeFields(e: Encoder, map: PoolMap): void {
    e.u32(map.version)
    e.array(map.ranks, (e2, r) => {
      e2.u32(r.rank).string(r.host)
      e2.array(r.targets, (e3, t) => {
        e3.varuint(t.id).u8(targetStateCodes[t.state]).varuint(t.failSeq)
      })
    })
  },
  decodeFields(d: Decoder): PoolMap {
    const version = d.u32()
    const ranks = d.array((d2): PoolRank => {
      const rank = d2.u32()
      const host = d2.string()
      let index = 0
      const targets = d2.array((d3): PoolTarget => {
        const id = d3.varuint()
        const code = d3.u8()
        if (code >= Object.keys(targetStateCodes).length) d3.malformed(`unknown target state code ${code}`)
        const failSeq = d3.varuint()
        return { id, rank, index: index++, state: targetStateFromCode(code), failSeq }
      })
      return { rank, host, targets }
    })
    const map = { version, ranks }
    try {
      validatePoolMap(map)
    } catch (error) {
      if (isDerError(error, 'DER_INVAL')) throw new DecodeError('malformed', `invalid pool map: ${error.message}`, d.offset)
      throw error
    }
    return map
  },
}

/** The bytes of `map`. */
export function encodePoolMap(map: PoolMap): Uint8Array {
  return encodeStruct(poolMapCodec, map)
}

/** The map in `bytes`; throws `DecodeError` on anything malformed or inconsistent. */
export function decodePoolMap(bytes: Uint8Array): PoolMap {
  return decodeStruct(poolMapCodec, bytes, { maxBytesLength: poolMapLimits.maxHostLength * 4, maxItems: poolMapLimits.maxRanks })
}
