/**
 * The liveness checker: after faults stop (`healMs`), every operation pending at that moment or
 * called later must complete (return `ok` or a definite failure) within `boundMs` of
 * `max(callMs, healMs)`. Operations whose deadline is after the end of the observation are not
 * judged. Reports the stragglers: never completed, timed out, or completed late.
 *
 * @module
 */
import { DerError } from '@x/common'
import type { History, Operation } from '../history.ts'

/** Options of {@link checkLiveness}. */
export interface LivenessOptions {
  /** When faults stopped and the cluster was healed. */
  readonly healMs: number
  /** How long after `max(callMs, healMs)` each operation may take. */
  readonly boundMs: number
  /** When the observation ended (default: the latest time in the history). */
  readonly endMs?: number
}

/** An operation that did not complete in time. */
export interface Straggler<I, O> {
  /** The operation. */
  readonly operation: Operation<I, O>
  /** When it should have completed by. */
  readonly deadlineMs: number
  /** `pending`: never returned; `timed-out`: the client gave up; `late`: returned after the deadline. */
  readonly kind: 'pending' | 'timed-out' | 'late'
  /** A readable line. */
  readonly text: string
}

/** The result of {@link checkLiveness}. */
export interface LivenessResult<I, O> {
  /** True when there is no straggler. */
  readonly ok: boolean
  /** Operations judged (pending at heal or called after it, with a deadline inside the observation). */
  readonly judged: number
  /** The stragglers, by call time. */
  readonly stragglers: readonly Straggler<I, O>[]
  /** The stragglers as text. */
  readonly text: string
}

/**
 * Checks that the operations after healing completed within the bound.
 *
 * @throws DerError `DER_INVAL` for non-finite or negative times and bounds.
 */
export function checkLiveness<I, O>(history: History<I, O>, options: LivenessOptions): LivenessResult<I, O> {
  const { healMs, boundMs } = options
  if (!Number.isFinite(healMs) || !Number.isFinite(boundMs) || boundMs < 0) throw new DerError('DER_INVAL', `liveness needs a finite healMs and boundMs >= 0, got ${healMs} and ${boundMs}`)
  const latest = history.reduce((m, o) => Math.max(m, o.returnMs ?? o.callMs), healMs)
  const endMs = options.endMs ?? latest
  if (!Number.isFinite(endMs)) throw new DerError('DER_INVAL', 'endMs must be finite')
  let judged = 0
  const stragglers: Straggler<I, O>[] = []
  for (const op of [...history].sort((a, b) => a.callMs - b.callMs || a.id - b.id)) {
    const completed = op.outcome !== 'unknown'
    if (completed && op.returnMs! < healMs) continue // done before the heal
    const deadlineMs = Math.max(op.callMs, healMs) + boundMs
    if (deadlineMs > endMs && !(completed && op.returnMs! > deadlineMs)) continue // not due yet
    judged++
    const head = `#${op.id} client ${op.clientId} called at ${op.callMs}, due by ${deadlineMs}`
    if (!completed) {
      const kind = op.returnMs === undefined ? 'pending' : 'timed-out'
      stragglers.push({ operation: op, deadlineMs, kind, text: `${head}: ${kind === 'pending' ? 'never returned' : `timed out at ${op.returnMs}`}` })
    } else if (op.returnMs! > deadlineMs) {
      stragglers.push({ operation: op, deadlineMs, kind: 'late', text: `${head}: returned at ${op.returnMs} (${op.returnMs! - deadlineMs} late)` })
    }
  }
  return { ok: stragglers.length === 0, judged, stragglers, text: stragglers.map((s) => s.text).join('\n') }
}
