/**
 * `StructCodec`: a named, versioned struct format, and the helpers that turn values into bytes
 * and back.
 *
 * @module
 */
import { Decoder, type DecoderLimits } from './decoder.ts'
import { Encoder } from './encoder.ts'

/**
 * How one struct type is encoded. `version` is what this code writes (HEAD); `compat` is the
 * oldest decoder version that can read it (COMPAT). `decode` receives the writer's version and
 * must read only the fields that version wrote.
 */
export interface StructCodec<T> {
  readonly name: string
  readonly version: number
  readonly compat: number
  encodeFields(encoder: Encoder, value: T): void
  decodeFields(decoder: Decoder, version: number): T
}

/** Writes `value` as a versioned struct into `encoder`. */
export function writeStruct<T>(encoder: Encoder, codec: StructCodec<T>, value: T): void {
  encoder.struct(codec.version, codec.compat, (e) => codec.encodeFields(e, value))
}

/** Reads a versioned struct of this codec's type from `decoder`. */
export function readStruct<T>(decoder: Decoder, codec: StructCodec<T>): T {
  return decoder.struct(codec.version, (d, version) => codec.decodeFields(d, version))
}

/** The bytes of `value` as a versioned struct. */
export function encodeStruct<T>(codec: StructCodec<T>, value: T): Uint8Array {
  const encoder = new Encoder()
  writeStruct(encoder, codec, value)
  return encoder.finish()
}

/** The value of a versioned struct that must fill `bytes` exactly. Throws `DecodeError` on bad input. */
export function decodeStruct<T>(codec: StructCodec<T>, bytes: Uint8Array, limits?: DecoderLimits): T {
  const decoder = new Decoder(bytes, limits)
  const value = readStruct(decoder, codec)
  decoder.expectEnd()
  return value
}
