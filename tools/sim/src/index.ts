/**
 * The deterministic cluster simulator's checkers: independent of the system's own code (they
 * import only `@x/common`) and fed plain recorded histories, so the simulator, the real-process
 * chaos test and hand-written cases all share them.
 *
 * - **History model** ({@link Operation}, {@link HistoryRecorder}): operations with client, call
 *   and return times, input, output and an outcome; `unknown` outcomes (never returned, timed out)
 *   may or may not have taken effect.
 * - **Linearizability** ({@link checkLinearizability}): a Wing & Gong / Lowe / Porcupine search
 *   over plain-object {@link Model}s ({@link kvModel} with put, get, delete and compare-and-set,
 *   partitioned per key; {@link registerModel}), memoizing (linearized set, state) pairs, bounded
 *   by a step budget, reporting the minimal failing window as text.
 * - **No acknowledged write lost** ({@link checkNoAcknowledgedWriteLost}) after healing.
 * - **Replica convergence** ({@link checkReplicaConvergence}): per-replica dumps compare equal.
 * - **Log prefix consistency** ({@link checkLogPrefixConsistency}): committed logs agree at every
 *   common index.
 * - **Liveness** ({@link checkLiveness}): after the heal, every pending operation completes within
 *   a bound.
 *
 * Every checker is pure and deterministic; time bounds are step budgets, and the only wall-time
 * bound reads a `Clock` passed in.
 *
 * @example
 * ```ts
 * import { HistoryRecorder, checkLinearizability, kvModel, type KvInput, type KvOutput } from '@x/sim'
 *
 * const recorder = new HistoryRecorder<KvInput, KvOutput>()
 * const put = recorder.invoke('c1', { kind: 'put', key: 'a', value: '1' }, 0)
 * recorder.ok(put, {}, 10)
 * const get = recorder.invoke('c2', { kind: 'get', key: 'a' }, 20)
 * recorder.ok(get, { value: null }, 30) // a stale read
 * const result = checkLinearizability(kvModel(), recorder.history())
 * console.log(result.verdict, result.violations[0]?.text)
 * ```
 *
 * @packageDocumentation
 */
export { type History, HistoryRecorder, type Operation, type OperationOutcome, validateHistory } from './history.ts'
export {
  type FailingWindow,
  type HistoryPartition,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  type Model,
  type PartitionVerdict,
  checkLinearizability,
  partitionBy,
} from './checkers/linearizability.ts'
export { type KvInput, type KvKeyState, type KvOutput, type RegisterInput, type RegisterOutput, describeKv, kvModel, registerModel } from './checkers/models.ts'
export {
  type FinalEntry,
  type LostWrite,
  type LostWriteKind,
  type LostWritesInput,
  type LostWritesResult,
  type RecordedWrite,
  checkNoAcknowledgedWriteLost,
} from './checkers/lost-writes.ts'
export { type ConvergenceOptions, type ConvergenceResult, type Divergence, type ReplicaView, checkReplicaConvergence } from './checkers/convergence.ts'
export { type LogDivergence, type LogEntry, type LogPrefixResult, checkLogPrefixConsistency } from './checkers/log-prefix.ts'
export { type LivenessOptions, type LivenessResult, type Straggler, checkLiveness } from './checkers/liveness.ts'
