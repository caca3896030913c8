/**
 * Text reports of simulation runs and campaigns, for the command-line tools.
 *
 * @module
 */
import type { SimResult } from './run.ts'
import { describeEvent } from './schedule.ts'

/** The multi-line report of one run: seed, shape, fault schedule, injected faults, verdicts. */
export function formatRun(result: SimResult, options: { readonly scheduleLines?: number } = {}): string {
  const c = result.config
  const s = result.faults.scheduled
  const f = result.faults
  const w = result.workload
  const lines: string[] = []
  lines.push(`seed ${result.seed}: ${c.engines} engines, ${c.clients} clients, ${c.keys} keys (${c.objectClass}), faults ${c.profile}${c.mutation === 'none' ? '' : `, MUTATION ${c.mutation}`}`)
  lines.push(`  phases: safety ${c.safetyMs} ms (${c.ticks} ticks), liveness ${c.livenessMs} ms; ${result.virtualMs} ms of virtual time in all`)
  lines.push(`  fault schedule: ${s.partitions} partitions (${s.oneWay} one-way, ${s.flapping} flapping), ${s.crashes} crashes, ${s.diskWindows} disk windows, ${s.clockChanges} clock changes`)
  const n = c.network
  if (n.dropRate + n.duplicateRate + n.reorderRate + n.delayRate + n.resetRate > 0) {
    lines.push(`  network: drop ${n.dropRate.toFixed(3)}, duplicate ${n.duplicateRate.toFixed(3)}, reorder ${n.reorderRate.toFixed(3)}, delay ${n.delayRate.toFixed(3)} (<= ${n.maxDelayMs} ms), reset ${n.resetRate.toFixed(4)}`)
  }
  const max = options.scheduleLines ?? 12
  for (const e of result.schedule.slice(0, max)) lines.push(`    ${describeEvent(e)}`)
  if (result.schedule.length > max) lines.push(`    ... ${result.schedule.length - max} more`)
  lines.push(
    `  injected: ${f.dropped} dropped, ${f.duplicated} duplicated, ${f.reordered} reordered, ${f.delayed} delayed, ${f.resets} resets, ${f.partitionedMessages} cut by partitions, ${f.crashes} crashes, ${f.diskFaults} disk faults`,
  )
  lines.push(`  workload: ${w.invoked} operations: ${w.ok} ok, ${w.failed} failed reads, ${w.unknown} writes of unknown outcome`)
  lines.push(`  administration: ${result.admin.submitted} management commands (${result.admin.ok} committed, ${result.admin.failed} failed)`)
  if (result.clientErrors.length > 0) lines.push(`  client errors: ${result.clientErrors.slice(0, 4).map(([name, count]) => `${count}x ${name}`).join('; ')}`)
  lines.push('  checkers:')
  for (const v of result.verdicts) {
    lines.push(`    ${v.name.padEnd(16)} ${v.verdict.toUpperCase().padEnd(12)} (${v.checked} checked)`)
    if (v.verdict !== 'pass' && v.text.length > 0) for (const l of v.text.split('\n').slice(0, 30)) lines.push(`      ${l}`)
  }
  lines.push(result.ok ? `PASS seed ${result.seed}` : `FAIL seed ${result.seed}: replay with \`${result.replay}\``)
  return lines.join('\n')
}

/** The one-line summary of a run that campaigns collect. */
export interface RunSummary {
  readonly seed: number
  readonly ok: boolean
  readonly failing: readonly string[]
  readonly inconclusive: readonly string[]
  readonly operations: number
  readonly faults: number
  readonly crashes: number
  readonly partitions: number
  readonly replay: string
  readonly firstFinding: string
}

/** Condenses a run for a campaign. */
export function summarizeRun(result: SimResult): RunSummary {
  const f = result.faults
  const failing = result.verdicts.filter((v) => v.verdict === 'fail')
  return {
    seed: result.seed,
    ok: result.ok,
    failing: failing.map((v) => v.name),
    inconclusive: result.verdicts.filter((v) => v.verdict === 'inconclusive').map((v) => v.name),
    operations: result.history.length,
    faults: f.dropped + f.duplicated + f.reordered + f.delayed + f.resets + f.partitionedMessages + f.crashes + f.diskFaults + f.scheduled.clockChanges,
    crashes: f.crashes,
    partitions: f.scheduled.partitions,
    replay: result.replay,
    firstFinding: failing[0]?.text.split('\n')[0] ?? '',
  }
}
