/**
 * End-to-end tests with real processes: a harness that runs the assembled system (daemons,
 * `dmg`, `daos`, the `@x/client` library) on loopback, the tests of issue 12 (README flow,
 * three engines with RP_3GX and EC_2P1G1, kill -9 during writes, MS leader restart) and issue
 * 13's real-process chaos test, and the system benchmark against a real 3-OSD Ceph cluster.
 *
 * - {@link Cluster}: writes one daemon config per engine ({@link daemonConfigYaml}: distinct
 *   ports, or distinct loopback hosts, free ports chosen at run time, file devices in a temp
 *   directory), spawns each daemon as a real process, waits until its control port answers,
 *   runs `dmg`/`daos` with `-j` ({@link runCli}), and injects faults: kill -9, SIGSTOP/SIGCONT,
 *   graceful stop, restart. {@link Cluster.close} always ends every process and removes the
 *   temp directory; children also die with the harness (an orphan guard on their stdin).
 * - {@link ClientSession}: pool connect and container query over the control API, then object
 *   I/O through `@x/client` over `TcpFabric`.
 * - {@link KvWorkload} and {@link chaosSchedule}: a history of KV operations for `@x/sim`'s
 *   linearizability and lost-write checkers, and a seeded fault schedule.
 *
 * Every wait is bounded ({@link withTimeout}, {@link waitUntil}) on the injected `Runtime`.
 *
 * @example
 * ```ts
 * import { Cluster } from '@x/e2e'
 *
 * const cluster = await Cluster.start({ engines: 3 })
 * try {
 *   await cluster.dmgOk(['pool', 'create', 'tank', '--size', '256M'])
 *   await cluster.daosOk(['container', 'create', 'tank', 'c1', '--oclass', 'RP_3GX'])
 *   const session = await cluster.openClient('tank', 'c1')
 *   await session.containerKv().put(new TextEncoder().encode('k'), new TextEncoder().encode('v'))
 *   await session.close()
 *   await cluster.kill9(1)
 * } finally {
 *   await cluster.close()
 * }
 * ```
 *
 * @packageDocumentation
 */
export { type WaitUntilOptions, waitUntil, withTimeout } from './bounded.ts'
export { type CliResult, type CliTool, type RunCliOptions, cliNodeArgs, expectOk, parseEnvelope, runCli } from './cli-runner.ts'
export { ClientSession, type ClientSessionOptions, ControlFailover, rankUrisOf } from './client-session.ts'
export { type Addressing, Cluster, type ClusterOptions, type DaemonHandle, type DaemonLog, type DaemonState, daemonAcceptsFaultPath, formatLogs } from './cluster.ts'
export { type ClusterLayout, type DaemonSlot, accessPointCount, accessPoints, daemonConfigYaml, deviceFilePath } from './daemon-config.ts'
export { ManagedProcess, type ManagedProcessOptions, type ProcessExit, killAllManagedProcesses, orphanGuardPath } from './managed-process.ts'
export { findFreePortRange, findFreePorts } from './ports.ts'
export { daemonMainPath, daemonNodeArgs, repoRoot } from './repo.ts'
export { type ChaosAction, type ChaosEvent, type ChaosScheduleOptions, chaosSchedule, describeSchedule } from './chaos-schedule.ts'
export { KvWorkload, type KvWorkloadOptions, type KvWorkloadVerdict, type WorkloadKv, versionOfValue } from './kv-workload.ts'
export { type QueriedMember, msLeaderIndex, probeMultiEngine, queryMembers, rankOf, rebuildStateOf, rejoinAndReintegrate, waitForDmg } from './multi-engine.ts'
