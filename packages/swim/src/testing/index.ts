/**
 * Test support for `@x/swim`: {@link SwimCluster}, a seeded simulated group on a virtual clock
 * and a lossy, delaying, partitionable network, and measured scenarios on it
 * ({@link measureCrashDetection}, {@link measureFalsePositives}) shared by tests and benchmarks.
 *
 * @packageDocumentation
 */
export { type ObservedEvent, SwimCluster, type SwimClusterOptions } from './swim-cluster.ts'
export {
  type CrashDetection,
  type CrashDetectionOptions,
  type FalsePositiveOptions,
  type FalsePositiveRun,
  measureCrashDetection,
  measureFalsePositives,
} from './scenarios.ts'
