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
 * **The cluster simulator** ({@link runSimulation}), in the manner of TigerBeetle's VOPR: one
 * seed reproduces a whole run. {@link drawConfig} draws the cluster's shape (3-5 engines, 2-4
 * clients, 2-5 keys, RP_2G1 or RP_3G1) and every fault rate from the seed; {@link drawSchedule}
 * draws the timed faults of the safety phase for a {@link FaultProfile} (`none`, `net`, `disk`,
 * `crash`, `all`): message loss, delay, duplication, reordering and connection resets on the
 * memory fabric; partitions (an engine isolated, engines split, one-way cuts, a client cut off;
 * steady or flapping); engine crashes (device power cut: unflushed writes lost or torn) and
 * restarts (targets reopened from the WAL); slow disks, read errors, bit flips and write errors;
 * clock offsets and drift per engine. {@link SimCluster} runs `@x/engine` engines (a VOS target
 * each on a `FaultyBlockDevice`, an `ObjectService` on `@x/cart`) and `ObjectClient`s on one
 * {@link SimFabric} under one `VirtualRuntime`. The KV workload ({@link KvWorkload}) records its
 * history as it goes; after the safety phase everything is healed, a liveness phase follows, every
 * key is read back from every replica, and the checkers judge: linearizability, no acknowledged
 * write lost (each replica reads every acknowledged write back at its epoch), replica convergence,
 * liveness (after the heal, every operation succeeds within a bound). A management service
 * ({@link SimManagementGroup}: a Raft group on three engines) takes member joins from an
 * administrator meanwhile, and its replicas' committed logs must be prefix-consistent. A mutation
 * (`ack-before-replicated`) breaks a safety rule on purpose to prove the checkers catch it.
 * `pnpm sim --seed S` and `pnpm sim:campaign --seeds K` are the command-line tools.
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
export { type FaultProfile, type Mutation, type NetworkFaultRates, type SimConfig, type SimOptions, drawConfig, faultProfiles, tickMs, validateOptions } from './sim/config.ts'
export { type DiskFault, type FaultEvent, type PartitionMode, type ScheduleSummary, describeEvent, drawSchedule, summarizeSchedule } from './sim/schedule.ts'
export { SimFabric } from './sim/fabric.ts'
export { SkewedClock, skewedRuntime } from './sim/clock.ts'
export { type SimClient, SimCluster, type SimEngine, clientAddress, engineAddress, simContainerUuid, simPoolUuid } from './sim/cluster.ts'
export { type AdminStats, SimManagementGroup } from './sim/mgmt.ts'
export { KvWorkload, type WorkloadStats, type WorkloadWrite, dkeyOf, keyName, valueAkey } from './sim/workload.ts'
export { type CheckerVerdict, type FaultsInjected, type SimHooks, type SimResult, replayCommand, runSimulation } from './sim/run.ts'
export { type RunSummary, formatRun, summarizeRun } from './sim/report.ts'
