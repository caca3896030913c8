/**
 * Timing loops. Benchmarks run on the real clock (they are not part of the deterministic tests).
 */

/** The result of a timing loop. */
export interface Measurement {
  readonly operations: number
  readonly elapsedMs: number
  readonly operationsPerSecond: number
}

/** Options of {@link measureSync} and {@link measureAsync}. */
export interface MeasureOptions {
  /** Keep going until at least this much time passed (default 1,000 ms). */
  readonly minDurationMs?: number
  /** Untimed calls before measuring (default 3). */
  readonly warmupCalls?: number
  /** Operations one call of the function performs (default 1). */
  readonly operationsPerCall?: number
}

function result(operations: number, elapsedMs: number): Measurement {
  return { operations, elapsedMs, operationsPerSecond: (operations * 1000) / elapsedMs }
}

/** Calls `fn` repeatedly for at least `minDurationMs` and reports its rate. */
export function measureSync(fn: () => unknown, options: MeasureOptions = {}): Measurement {
  const { minDurationMs = 1000, warmupCalls = 3, operationsPerCall = 1 } = options
  for (let i = 0; i < warmupCalls; i++) fn()
  let calls = 0
  const start = performance.now()
  let now = start
  let batch = 1
  while (now - start < minDurationMs) {
    for (let i = 0; i < batch; i++) fn()
    calls += batch
    now = performance.now()
    if (now - start < minDurationMs / 10) batch *= 2
  }
  return result(calls * operationsPerCall, now - start)
}

/** Awaits `fn` repeatedly for at least `minDurationMs` and reports its rate. */
export async function measureAsync(fn: () => Promise<unknown>, options: MeasureOptions = {}): Promise<Measurement> {
  const { minDurationMs = 1000, warmupCalls = 3, operationsPerCall = 1 } = options
  for (let i = 0; i < warmupCalls; i++) await fn()
  let calls = 0
  const start = performance.now()
  let now = start
  while (now - start < minDurationMs) {
    await fn()
    calls++
    now = performance.now()
  }
  return result(calls * operationsPerCall, now - start)
}

/** Percentile (0..100) of a list of samples, by nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}
