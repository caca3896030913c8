/**
 * Shared primitives of the `@x` storage system, each in its own module:
 *
 * - **Errors**: {@link DerError} with DAOS's DER codes and numbers (`DER_INVAL` is -1003), identity
 *   checks that hold across package copies ({@link isDerError}), and {@link assert} for invariants.
 * - **Runtime**: {@link Clock}, {@link Timers} and a seeded {@link Random}, real
 *   ({@link createRealRuntime}) or virtual ({@link VirtualRuntime}, whose time moves only when told
 *   to, firing timers in a deterministic order).
 * - **Encoding**: {@link Encoder} and {@link Decoder} for little-endian integers, varints, bytes,
 *   strings, arrays, maps and optionals, and versioned structs in the manner of Ceph's
 *   `ENCODE_START(version, compat)`. Bad input always gives a {@link DecodeError}.
 * - **Checksums**: {@link crc32c}, native SSE4.2 where available, portable slicing-by-8 otherwise.
 * - **HLC**: {@link HybridLogicalClock} timestamps, monotonic even when the wall clock steps back.
 * - **Logging and metrics facades**: {@link LogRoot} with DAOS-style masks (`ERR,raft=DEBUG`), and
 *   {@link MetricsRegistry} for counters, gauges and histograms.
 *
 * @example
 * ```ts
 * import { Decoder, Encoder, VirtualRuntime, crc32c } from '@x/common'
 *
 * const runtime = new VirtualRuntime({ seed: 42 })
 * runtime.timers.schedule(100, () => console.log('fired at', runtime.nowMs))
 * runtime.advanceSync(100) // prints "fired at 100"
 *
 * const bytes = new Encoder().struct(2, 1, (e) => e.string('pool').u64(7n)).finish()
 * const [name, id] = new Decoder(bytes).struct(2, (d) => [d.string(), d.u64()] as const)
 * console.log(name, id, crc32c(bytes).toString(16))
 * ```
 *
 * @packageDocumentation
 */
export { AssertionError, assert, maybe, unreachable } from './assert.ts'
export { type DerCodeInfo, type DerName, derCodes, derInfo, derInfoByCode, isDerName } from './errors/der-codes.ts'
export { DerError, type DerErrorOptions, isDerError, toDerError } from './errors/der-error.ts'
export { type Clock, type Runtime, type TimerHandle, type TimerOptions, type Timers, sleepWith } from './runtime/runtime.ts'
export { Random, type Seed, seedToBigInt } from './runtime/random.ts'
export { type RealRuntimeInit, createRealRuntime, drainMicrotasks } from './runtime/real-runtime.ts'
export { VirtualClock, VirtualRuntime, type VirtualRuntimeInit } from './runtime/virtual-runtime.ts'
export { Encoder } from './encoding/encoder.ts'
export { Decoder, type DecoderLimits } from './encoding/decoder.ts'
export { DecodeError, type DecodeFailure } from './encoding/decode-error.ts'
export { type StructCodec, decodeStruct, encodeStruct, readStruct, writeStruct } from './encoding/struct-codec.ts'
export { crc32c, crc32cIsNative, crc32cJs, crc32cNative, crc32cNativeThresholdBytes } from './checksum/crc32c.ts'
export { type HlcOptions, type HlcTimestamp, HybridLogicalClock, hlcFrom, hlcLogical, hlcLogicalBits, hlcPhysicalMs } from './hlc/hlc.ts'
export {
  type LogLevel,
  type LogMask,
  type LogRecord,
  type LogSink,
  LogRoot,
  Logger,
  MemoryLogSink,
  logLevels,
  nullLogSink,
  parseLogMask,
  silentLogger,
} from './log/logger.ts'
export {
  type Counter,
  type Gauge,
  type Histogram,
  type HistogramDefinition,
  type HistogramSnapshot,
  type Labels,
  type MetricDefinition,
  type MetricsRegistry,
  MemoryMetrics,
  exponentialBuckets,
  nullMetrics,
} from './metrics/metrics.ts'
