// SWIM on the simulated network with DAOS's default timings: detection and dissemination times
// of a crashed member (against the configured bound), false positives with and without
// Lifeguard (classic SWIM with the same timings is the reference), and message cost.
// Simulated time, not wall time: the numbers do not depend on the machine.
// X_SWIM_BENCH_QUICK=1 runs fewer trials and shorter runs.
import { BenchReport, percentile } from '@x/bench'
import { type SwimConfig, detectionBoundMs, lifeguardOff, resolveSwimConfig } from '../src/index.ts'
import { type FalsePositiveRun, measureCrashDetection, measureFalsePositives } from '../src/testing/index.ts'

const quick = process.env.X_SWIM_BENCH_QUICK === '1'
const report = new BenchReport('swim')
const daos = resolveSwimConfig({}, 'daos')
const classic = (profile: 'daos' | 'local'): SwimConfig => resolveSwimConfig({ lifeguard: lifeguardOff }, profile)

// 1. Detection and dissemination of a crashed member, DAOS timings.
for (const [size, trials] of [[64, quick ? 10 : 60], [256, quick ? 5 : 30]] as const) {
  const first: number[] = []
  const all: number[] = []
  for (let trial = 0; trial < trials; trial++) {
    const r = measureCrashDetection({ size, seed: 1000 * size + trial, config: daos })
    if (r.firstDeadMs === undefined || r.allDeadMs === undefined) throw new Error(`size ${size} seed ${1000 * size + trial}: crash not detected`)
    if (r.falseDeaths > 0) throw new Error(`size ${size} seed ${1000 * size + trial}: ${r.falseDeaths} false deaths`)
    first.push(r.firstDeadMs)
    all.push(r.allDeadMs)
  }
  const bound = detectionBoundMs(daos, size)
  const reference = 'configured bound (period + ping timeout + iping timeout + 20 s suspicion)'
  for (const [label, samples] of [['detection (first dead)', first], ['full dissemination (all survivors)', all]] as const) {
    for (const p of [50, 99] as const) {
      report.add({ name: `${label} p${p}, n=${size}, daos`, unit: 'ms', value: percentile(samples, p), reference, referenceValue: bound, higherIsBetter: false })
    }
  }
}

// 2. False positives on a healthy group at 5% and 20% loss, with and without Lifeguard. A false
// death (suspicion) is one member wrongly declared dead (suspected) at one incarnation, counted
// once however many members declared it. 'local' is memberlist's aggressive loopback profile,
// where classic SWIM does produce false deaths at 5% loss.
const fpSize = 32
const fpDurationMs = quick ? 300_000 : 1_200_000
function perHour(run: FalsePositiveRun, count: number): number {
  return count / run.memberHours
}
for (const profile of ['daos', 'local'] as const) {
  for (const lossRate of [0.05, 0.2]) {
    const seed = `${profile}-${lossRate}`
    const withLifeguard = measureFalsePositives({ size: fpSize, seed, config: resolveSwimConfig({}, profile), lossRate, durationMs: fpDurationMs })
    const without = measureFalsePositives({ size: fpSize, seed, config: classic(profile), lossRate, durationMs: fpDurationMs })
    const label = `${profile}, ${lossRate * 100}% loss, n=${fpSize}`
    const deaths = perHour(withLifeguard, withLifeguard.falseDeaths)
    const deathsWithout = perHour(without, without.falseDeaths)
    if (deathsWithout > 0) {
      report.add({ name: `false deaths/member-hour, ${label}, Lifeguard`, unit: '1/member-h', value: deaths, reference: 'classic SWIM, same timings', referenceValue: deathsWithout, higherIsBetter: false })
    } else {
      // Both zero: the reference is the false suspicions of the same run, so the ratio is the
      // fraction of false suspicions that became deaths.
      report.add({ name: `false deaths/member-hour, ${label}, Lifeguard (classic SWIM: 0 too)`, unit: '1/member-h', value: deaths, reference: 'false suspicions/member-hour, same run', referenceValue: perHour(withLifeguard, withLifeguard.falseSuspicions), higherIsBetter: false })
    }
    report.add({ name: `false suspicions/member-hour, ${label}, Lifeguard`, unit: '1/member-h', value: perHour(withLifeguard, withLifeguard.falseSuspicions), reference: 'classic SWIM, same timings', referenceValue: perHour(without, without.falseSuspicions), higherIsBetter: false })
  }
}

// 3. One slow member (every message to it arrives 2 s late): accusations it raises against healthy members.
{
  const slowMembers = new Map([[3, 2000]])
  const options = { size: 16, seed: 'slow', lossRate: 0, durationMs: quick ? 300_000 : 1_200_000, slowMembers }
  const withLifeguard = measureFalsePositives({ ...options, config: daos })
  const without = measureFalsePositives({ ...options, config: classic('daos') })
  const hours = options.durationMs / 3_600_000
  report.add({ name: 'suspicions raised by one slow member per hour, daos, Lifeguard', unit: '1/h', value: withLifeguard.suspicionsBySlowMembers / hours, reference: 'classic SWIM, same timings', referenceValue: without.suspicionsBySlowMembers / hours, higherIsBetter: false })
  report.add({ name: 'false deaths/member-hour with one slow member, daos, Lifeguard', unit: '1/member-h', value: perHour(withLifeguard, withLifeguard.falseDeaths), reference: 'false suspicions/member-hour, same run', referenceValue: perHour(withLifeguard, withLifeguard.falseSuspicions), higherIsBetter: false })
}

// 4. Message cost per member per protocol period (DAOS timings, 64 members).
for (const lossRate of [0, 0.05]) {
  const options = { size: 64, seed: `cost-${lossRate}`, lossRate, durationMs: quick ? 60_000 : 300_000 }
  const ours = measureFalsePositives({ ...options, config: daos })
  const plain = measureFalsePositives({ ...options, config: resolveSwimConfig({ lifeguard: lifeguardOff, gossipFanout: 0 }, 'daos') })
  report.add({ name: `messages/member/period, n=64, ${lossRate * 100}% loss, daos`, unit: 'msgs', value: ours.messagesPerMemberPerPeriod, reference: 'classic SWIM, piggyback only', referenceValue: plain.messagesPerMemberPerPeriod, higherIsBetter: false })
  report.add({ name: `bytes/member/period, n=64, ${lossRate * 100}% loss, daos`, unit: 'B', value: ours.bytesPerMemberPerPeriod, reference: 'classic SWIM, piggyback only', referenceValue: plain.bytesPerMemberPerPeriod, higherIsBetter: false })
}

report.write()
